from __future__ import annotations

import click
import sqlalchemy as sa

from okno.cli.common import load_settings, runtime_for
from okno.jobs.models import Job, JobStatus
from okno.jobs.registry import retry_dead


@click.group()
def jobs() -> None:
    """The background job outbox: list, retry dead jobs, run due jobs now."""


@jobs.command("list")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), help="Only jobs in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_jobs(status: str | None, limit: int) -> None:
    """Show jobs, newest first, with counts per state."""
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.read() as session:
            counts: dict[str, int] = {
                str(status): int(count)
                for status, count in session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status))
            }
            click.echo("  ".join(f"{s.value}: {counts.get(s.value, 0)}" for s in JobStatus))
            query = sa.select(Job).order_by(Job.id.desc()).limit(limit)
            if status:
                query = query.where(Job.status == status)
            for job in session.scalars(query):
                error = (job.last_error or "").strip().splitlines()[-1:] or [""]
                click.echo(
                    f"{job.id:>8}  {job.status:<8} {job.name:<32} attempts {job.attempts}/{job.max_attempts}"
                    f"  run_at {job.run_at:%Y-%m-%d %H:%M:%S}Z  {error[0][:80]}"
                )
    finally:
        runtime.close()


@jobs.command("retry")
@click.argument("job_id", required=False, type=int)
@click.option("--all-dead", is_flag=True, help="Retry every dead job.")
def retry(job_id: int | None, all_dead: bool) -> None:
    """Put a dead job (or, with --all-dead, every dead job) back in the queue."""
    if (job_id is None) == (not all_dead):
        raise click.UsageError("give a JOB_ID or --all-dead")
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.write() as session:
            count = retry_dead(session, job_id)
    finally:
        runtime.close()
    if job_id is not None and count == 0:
        raise click.ClickException(f"job {job_id} is not dead (or does not exist)")
    click.echo(f"{count} job(s) queued again")


@jobs.command("run")
def run() -> None:
    """Run every job that is due now, then exit (for cron-style setups and debugging)."""
    runtime = runtime_for(load_settings())
    try:
        runtime.worker.schedule_periodic()
        report = runtime.worker.run_pending()
    finally:
        runtime.close()
    click.echo(f"{report.done} done, {report.failed} failed")

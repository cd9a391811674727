from __future__ import annotations

import os
import signal
import threading
from types import FrameType

import click
import uvicorn

from okno.cli.common import configure_logging, load_settings, runtime_for


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Web processes.")
@click.option("--no-worker", is_flag=True, help="Do not run jobs in this process (run `okno worker` instead).")
def serve(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve the web app and the API (and, unless --no-worker, run background jobs)."""
    settings = load_settings(embedded_worker=False if no_worker else None)
    if workers > 1 and settings.realtime_backend == "memory":
        raise click.ClickException(
            "several processes on SQLite need the cross-process realtime bus: set OKNO_REDIS_URL (or use PostgreSQL)"
        )
    runtime_for(settings).close()  # refuse to start on a missing or old schema
    configure_logging(settings.log_level)
    if no_worker:
        os.environ["OKNO_EMBEDDED_WORKER"] = "false"
    click.echo(f"Okno listening on http://{host}:{port} (API docs at /api/docs)")
    uvicorn.run(
        "okno.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@click.command()
def worker() -> None:
    """Run background jobs from the outbox until stopped (SIGINT/SIGTERM); run as many as you like."""
    settings = load_settings()
    configure_logging(settings.log_level)
    runtime = runtime_for(settings)
    runtime.bus.start()
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        runtime.worker.stop()
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    thread = runtime.worker.start_thread(poll_seconds=settings.worker_poll_seconds)
    click.echo(f"worker {runtime.worker.name} running")
    done.wait()
    thread.join(timeout=30)
    runtime.close()

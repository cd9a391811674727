"""Routing replay: the arrival times of a real incident log, routed by two worker processes on PostgreSQL.

The UCI "Incident management process enriched event log" (../shared/data/uci-incident-event-log,
read from its zip, never copied) gives each incident's ``opened_at``. Those arrivals are replayed
in time order on the injectable clock (one clock shared by every process) through the real ticket
service and the real routing reaction, with two worker processes (the outbox ``Worker`` that
``okno worker`` runs) and 20 simulated agents:

- two teams: *Service desk* (least loaded, prefer a language match) with agents 0–11 and *Second
  line* (round robin, only a language match) with agents 8–19 (8–11 are on both);
- a day shift (07:00–19:00 UTC) and a night shift (every fourth agent), changing presence at the
  shift boundaries (so chats of the leaving shift go back to the queue after the grace period);
- languages ru/en/ro, 70 % of arrivals to the Service desk, channels from ``contact_type`` (email,
  self service = portal; phone and the rest drawn 60/40 chat or email), priorities from the log;
- random handle times (seeded): chats lognormal around 20 minutes, emails around 2 hours; the agent
  solves the ticket that long after routing gave it to them (if it is still theirs).

The replay moves in steps of at most ``--step-minutes`` of simulated time: first the step's events
(solutions, presence changes, arrivals) are committed in time order, each at its own instant, while
the workers wait; then the clock stands at the step's end and the two workers route until the
outbox is empty. Measured:

- ``decisions_per_s``: routing's assignments per second of real time spent routing (the second
  phases, from waking the workers to an empty outbox: the routing reactions, drains, hand-backs and
  the reactions to them);
- ``assign_latency_p50_ms`` / ``p99``: real time from waking the workers to the commit of each
  arriving ticket's assignment (tickets that had to wait for room are not counted);
- ``max_load_over_capacity``: the worst (load − capacity) of any agent on any channel at any point,
  replaying every committed assignment and status change in order (0: never exceeded);
- ``max_wait_while_capacity_s``: at every step's end (routing done), each unassigned ticket that an
  eligible agent (online, on its team, below capacity on its channel, speaking its language on the
  strict team) could have taken counts the simulated time until it no longer could (0: never).

    python bench/routing_replay.py [--quick] [--postgres-url URL] [--arrivals N] [--step-minutes M]

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import heapq
import json
import multiprocessing as mp
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bulk import fresh_database, percentile
from _routing_world import (
    LOAD,
    Arrival,
    Replay,
    SharedClock,
    arrivals,
    max_load_over_capacity,
    set_up,
    shift_boundaries,
)


class AssignmentTimes:
    """A commit listener in each worker: when routing's assignments commit, in real (monotonic) time."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def before_commit(self, session: Any) -> None:
        return None

    def after_commit(self, info: dict[str, Any]) -> None:
        from okno.tickets.events import PENDING_EVENTS_KEY

        now = time.monotonic()
        routed = [
            e.ticket_id
            for e in info.get(PENDING_EVENTS_KEY, [])
            if e.kind == "assigned" and (e.data or {}).get("reason") == "routed"
        ]
        if routed:
            self.out.put((now, routed))


def settings_for(url: str, data_dir: Path) -> Any:
    from okno.config import Settings

    # Presence is driven by the shifts: heartbeats never run out in simulated time.
    return Settings(database_url=url, data_dir=data_dir, presence_timeout_seconds=10**9, realtime="memory")


def worker_process(
    index: int,
    url: str,
    data_dir: str,
    clock_value: Any,
    signals: tuple[Any, Any, Any, Any, Any],
    out: Any,
    profile_dir: str | None = None,
) -> None:
    """One ``okno worker``: the outbox worker on the shared clock, routing only while the driver allows it."""
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        try:
            worker_process(index, url, data_dir, clock_value, signals, out)
        finally:
            profiler.disable()
            profiler.dump_stats(str(Path(profile_dir) / f"worker{index}.prof"))
        return
    allowed, wake, idle, emptied, stop = signals
    from okno.db import Database, make_engine
    from okno.jobs import catalog  # noqa: F401
    from okno.jobs.registry import JobContext
    from okno.jobs.worker import Worker
    from okno.storage import FileStorage

    engine = make_engine(url, pool_size=2)
    db = Database(engine, clock=SharedClock(clock_value), listeners=[AssignmentTimes(out)])  # type: ignore[arg-type]
    settings = settings_for(url, Path(data_dir))
    worker = Worker(
        db, context=JobContext(settings=settings, storage=FileStorage(Path(data_dir) / "files")), name=f"w{index}"
    )
    jobs, cpu_at_start = 0, time.process_time()
    while not stop.is_set():
        if not allowed.is_set():
            idle.set()
            allowed.wait(0.1)
            continue
        idle.clear()
        if not allowed.is_set():
            continue  # paused meanwhile: the driver waits for ``idle`` before it changes the world
        report = worker.run_pending()
        jobs += report.done + report.failed
        if not (report.done or report.failed):
            emptied.set()
            wake.wait(0.05)  # the driver wakes both at once; a worker that enqueues runs its jobs itself
            wake.clear()
    out.put(("worker", index, jobs, time.process_time() - cpu_at_start))
    engine.dispose()


def run_burst(replay: Replay, after: datetime, size: int, world_phase: Any, routing_phase: Any) -> dict[str, Any]:
    """The log's busiest day, all at once: every agent on, every open ticket solved, then its arrivals in one step."""
    from okno.accounts import presence
    from okno.accounts.models import PresenceStatus
    from okno.tickets.models import Ticket

    everyone = arrivals(None)
    busiest = Counter(a.at.date() for a in everyone).most_common(1)[0][0]
    day = [a for a in everyone if a.at.date() == busiest][:size]
    at = (after + timedelta(days=1)).replace(hour=10, minute=0)
    replay.completions.clear()
    world: list[tuple[datetime, int, str, Any]] = []
    with replay.db.read() as session:
        open_tickets = session.execute(
            sa.select(Ticket.id, Ticket.assignee_id).where(Ticket.assignee_id.is_not(None), Ticket.status.in_(LOAD))
        ).all()
    world += [(at, 1, "solve", (ticket_id, agent_id)) for ticket_id, agent_id in open_tickets]
    base = max(replay.ticket_of_arrival, default=0) + 1
    world += [
        (
            at + timedelta(seconds=1),
            2,
            "arrive",
            Arrival(**{**a.__dict__, "index": base + n, "at": at + timedelta(seconds=1)}),
        )
        for n, a in enumerate(day)
    ]
    replay.clock.set(at)
    with replay.db.write() as session:
        for user_id in replay.desk.agent_ids:
            presence.set_status(session, replay.desk.actors[user_id], PresenceStatus.online)
    replay.all_online = True
    arrived = world_phase(world)
    deciding, took, assigned, found, left = routing_phase(at + timedelta(seconds=2), arrived)
    return {
        "day": busiest.isoformat(),
        "arrivals": len(day),
        "assigned": assigned,
        "waiting": left,
        "deciding_s": round(deciding, 2),
        "outbox_s": round(took, 2),
        "decisions_per_s": round(assigned / deciding, 1) if deciding else 0.0,
        "decisions_per_outbox_s": round(assigned / took, 1) if took else 0.0,
        "assign_latency_p50_ms": round(percentile(found, 0.50), 1) if found else 0.0,
        "assign_latency_p99_ms": round(percentile(found, 0.99), 1) if found else 0.0,
    }


def outbox_busy(db: Any) -> bool:
    from okno.jobs.models import Job, JobStatus

    with db.read() as session:
        now = db.clock.now()
        return (
            session.scalar(sa.select(Job.id).where(Job.status == JobStatus.queued, Job.run_at <= now).limit(1))
            is not None
        )


def run(
    url: str,
    limit: int | None,
    step_minutes: float,
    progress: bool,
    profile_dir: str | None = None,
    burst_size: int = 0,
) -> dict[str, Any]:
    from okno.db import Database, make_engine
    from okno.jobs import catalog  # noqa: F401
    from okno.jobs.registry import JobContext
    from okno.jobs.worker import Worker
    from okno.schema import upgrade
    from okno.storage import FileStorage

    load_at_start = round(os.getloadavg()[0], 2)
    items = arrivals(limit)
    ctx = mp.get_context("spawn")
    clock_value = ctx.RawValue("d", items[0].at.timestamp() - 3600)
    clock = SharedClock(clock_value)
    engine = make_engine(url, pool_size=4)
    upgrade(engine)
    db = Database(engine, clock=clock)  # type: ignore[arg-type]
    data_dir = Path(tempfile.mkdtemp(prefix="okno-routing-replay-"))
    scheduler = Worker(
        db, context=JobContext(settings=settings_for(url, data_dir), storage=FileStorage(data_dir / "files"))
    )
    desk = set_up(db)
    replay = Replay(db, clock, desk)
    allowed, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    wakes, idles, emptied = ([ctx.Event() for _ in range(2)] for _ in range(3))
    workers = [
        ctx.Process(
            target=worker_process,
            args=(
                i,
                url,
                str(data_dir),
                clock_value,
                (allowed, wakes[i], idles[i], emptied[i], stop),
                out,
                profile_dir,
            ),
            daemon=True,
        )
        for i in range(2)
    ]
    for process in workers:
        process.start()
    routing_s, deciding_s, latencies, waited, step_count = 0.0, 0.0, [], 0, 0

    def world_phase(world: list[tuple[datetime, int, str, Any]]) -> set[int]:
        """The workers paused: the events, each committed at its own instant, in time order."""
        allowed.clear()
        for idle in idles:
            idle.wait()
        arrived: set[int] = set()
        for at, _order, what, item in sorted(world, key=lambda w: (w[0], w[1])):
            if what == "arrive":
                ticket_id = replay.arrive(item)
                replay.ticket_of_arrival[item.index] = ticket_id
                arrived.add(ticket_id)
            elif what == "solve":
                replay.solve(item[0], item[1], at)
            else:
                replay.shift_change(at)
        return arrived

    def routing_phase(end: datetime, arrived: set[int]) -> tuple[float, float, int, list[float], int]:
        """The clock stands at ``end``; the two workers route until the outbox is empty.

        Returns the time until the last assignment, the time until the outbox was empty, the number
        of assignments, the latency of each arrival routed in it, and how many arrivals wait.
        """
        clock.set(end)
        scheduler.schedule_periodic()
        for found_nothing in emptied:
            found_nothing.clear()
        woke = time.monotonic()
        allowed.set()
        for wake in wakes:
            wake.set()
        # Done when both workers found nothing to take, and nothing is due: asked then, not polled,
        # so that the driver takes no CPU from the workers and the database meanwhile.
        while True:
            if not all(found_nothing.wait(1.0) for found_nothing in emptied):
                if not all(process.is_alive() for process in workers):
                    raise RuntimeError("a worker process stopped")
                continue
            if not outbox_busy(db):
                break
            for found_nothing in emptied:
                found_nothing.clear()
            for wake in wakes:
                wake.set()
        took = time.monotonic() - woke
        found: list[float] = []
        deciding, assigned = 0.0, 0
        while not out.empty():
            message = out.get()
            if message[0] == "worker":
                out.put(message)  # a worker that stopped early: counted at the end
                break
            committed, ticket_ids = message
            deciding = max(deciding, committed - woke)
            assigned += len(ticket_ids)
            for ticket_id in ticket_ids:
                if ticket_id in arrived:
                    found.append((committed - woke) * 1000)
                    arrived.discard(ticket_id)
        replay.collect_assignments()
        replay.check_waiting(end)
        return deciding, took, assigned, found, len(arrived)

    step = timedelta(minutes=step_minutes)
    started = time.perf_counter()
    last_end = clock.now()
    pending = list(items)
    pending.reverse()  # popped from the end, oldest first
    burst: dict[str, Any] = {}
    try:
        while pending or replay.completions:
            # The next step starts at the next thing that happens: an arrival, a solution or a shift change.
            upcoming = [pending[-1].at] if pending else []
            upcoming += [replay.completions[0][0]] if replay.completions else []
            upcoming += shift_boundaries(last_end, max(upcoming) + timedelta(days=1))[:1]
            end = max(min(upcoming), last_end) + step
            world: list[tuple[datetime, int, str, Any]] = [
                (at, 0, "shift", None) for at in shift_boundaries(last_end, end)
            ]
            while replay.completions and replay.completions[0][0] < end:
                due, ticket_id, agent_id, _attempt = heapq.heappop(replay.completions)
                world.append((max(due, last_end), 1, "solve", (ticket_id, agent_id)))
            while pending and pending[-1].at < end:
                arrival = pending.pop()
                world.append((arrival.at, 2, "arrive", arrival))
            deciding, took, _assigned, found, left = routing_phase(end, world_phase(world))
            deciding_s += deciding
            routing_s += took
            latencies += found
            waited += left
            last_end = end
            step_count += 1
            if progress and step_count % 500 == 0:
                print(
                    f"  {end:%Y-%m-%d %H:%M}  {len(replay.ticket_of_arrival)} arrivals, {len(latencies)} routed at "
                    f"once, {replay.queued_max} most waiting, {routing_s:.1f} s routing",
                    file=sys.stderr,
                )
        if burst_size:
            burst = run_burst(replay, last_end, burst_size, world_phase, routing_phase)
    finally:
        stop.set()
        allowed.set()
        for process in workers:
            process.join(timeout=30)
    jobs_run, worker_cpu_s = 0, 0.0
    while not out.empty():
        message = out.get()
        if message[0] == "worker":
            jobs_run += message[2]
            worker_cpu_s += message[3]
    wall_s = time.perf_counter() - started
    over, ratio = max_load_over_capacity(db)
    with db.read() as session:
        from okno.jobs.models import Job, JobStatus
        from okno.tickets.models import TicketEvent

        routed = session.scalar(
            sa.select(sa.func.count()).where(
                TicketEvent.kind == "assigned", TicketEvent.data["reason"].as_string() == "routed"
            )
        )
        handed_back = session.scalar(
            sa.select(sa.func.count()).where(
                TicketEvent.kind == "assigned", TicketEvent.data["reason"].as_string() == "agent_unavailable"
            )
        )
        dead = session.scalar(sa.select(sa.func.count()).where(Job.status == JobStatus.dead))
        jobs_by_name = dict(session.execute(sa.select(Job.name, sa.func.count()).group_by(Job.name)).all())
    engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)
    decisions = int(routed or 0)
    return {
        "arrivals": len(items),
        "simulated": f"{items[0].at:%Y-%m-%d %H:%M} .. {items[-1].at:%Y-%m-%d %H:%M}",
        "decisions": decisions,
        "handed_back": int(handed_back or 0),
        "routed_at_once": len(latencies),
        "waited_for_room": waited,
        "most_waiting": replay.queued_max,
        "deciding_s": round(deciding_s, 2),
        "outbox_s": round(routing_s, 2),
        "wall_s": round(wall_s, 2),
        "decisions_per_s": round(decisions / deciding_s, 1) if deciding_s else 0.0,
        "decisions_per_outbox_s": round(decisions / routing_s, 1) if routing_s else 0.0,
        "decisions_per_wall_s": round(decisions / wall_s, 1),
        "assign_latency_p50_ms": round(percentile(latencies, 0.50), 1) if latencies else 0.0,
        "assign_latency_p99_ms": round(percentile(latencies, 0.99), 1) if latencies else 0.0,
        "max_load_over_capacity": over,
        "max_load_ratio": round(ratio, 2),
        "max_wait_while_capacity_s": round(max(replay.waits_while_capacity.values(), default=0.0), 1),
        "wait_while_capacity_checks": replay.violations,
        "dead_jobs": int(dead or 0),
        "jobs_run": jobs_run,
        "jobs_by_name": {str(name): int(count) for name, count in sorted(jobs_by_name.items())},
        "worker_cpu_ms_per_decision": round(worker_cpu_s * 1000 / decisions, 2) if decisions else 0.0,
        "burst": burst,
        "step_minutes": step_minutes,
        "steps": step_count,
        # The machine may be shared: its load while the replay ran says how far the figures are from an idle one.
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_start": load_at_start,
            "load_avg_at_end": round(os.getloadavg()[0], 2),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the first 400 arrivals (for the test suite)")
    parser.add_argument("--json", action="store_true", help="only the JSON line (it is always the last line)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OKNO_BENCH_POSTGRES_URL") or os.environ.get("OKNO_TEST_POSTGRES_URL", ""),
    )
    parser.add_argument("--arrivals", type=int, default=None, help="replay only the first N arrivals")
    parser.add_argument("--step-minutes", type=float, default=60.0, help="simulated minutes per step")
    parser.add_argument("--profile", metavar="DIR", help="write each worker's cProfile (CPU time) into DIR")
    parser.add_argument(
        "--burst", type=int, default=None, help="arrivals of the busiest day replayed at once at the end (0: none)"
    )
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("routing is measured on PostgreSQL: give --postgres-url or set OKNO_TEST_POSTGRES_URL")
    limit = args.arrivals or (400 if args.quick else None)
    with fresh_database("postgres", args.postgres_url, Path("/tmp")) as url:
        burst = args.burst if args.burst is not None else (300 if args.quick else 1000)
        figures = run(url, limit, args.step_minutes, progress=not args.json, profile_dir=args.profile, burst_size=burst)
    if not args.json:
        f, b = figures, figures["burst"]
        print(f"routing replay: {f['arrivals']} arrivals ({f['simulated']}), {f['decisions']} assignments by routing")
        print(
            f"  decisions/s {f['decisions_per_s']} ({f['deciding_s']} s assigning; "
            f"{f['decisions_per_outbox_s']}/s counting until every reaction was done, {f['outbox_s']} s)"
        )
        print(f"  latency p50 {f['assign_latency_p50_ms']} ms, p99 {f['assign_latency_p99_ms']} ms")
        print(
            f"  load over capacity {f['max_load_over_capacity']} (highest load/capacity {f['max_load_ratio']}), "
            f"waited while someone had room {f['max_wait_while_capacity_s']} s, {f['handed_back']} chats handed back"
        )
        print(f"  worker CPU {f['worker_cpu_ms_per_decision']} ms per decision, {f['jobs_run']} jobs")
        if b:
            print(
                f"  burst of {b['arrivals']} ({b['day']}): {b['assigned']} assigned at {b['decisions_per_s']}/s, "
                f"p50 {b['assign_latency_p50_ms']} ms, p99 {b['assign_latency_p99_ms']} ms, outbox empty after "
                f"{b['outbox_s']} s"
            )
    print(json.dumps(figures))
    return 0 if figures["dead_jobs"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

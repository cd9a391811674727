"""API load benchmark: a real `okno serve` on 127.0.0.1, on SQLite and (when configured) PostgreSQL.

Per database, on a fresh database each (`okno init`, an admin, a token, then `okno serve`):
  0. ceiling: GET /healthz (one SELECT 1) in a closed loop at concurrency 16:
     no request that does more can go faster on this machine                 -> healthz_per_s
  1. throughput: ticket creations in a closed loop at concurrency 16           -> create_per_s
  2. latency: an open loop at 200 requests/s, 40% creations, 30% replies,
     30% list calls; latency counts from each request's scheduled start        -> p50/p95/p99_ms
  3. list at scale: N tickets bulk-loaded straight into the tables, then the
     "My teams" view of an agent on 2 teams, first page and ~20 pages in       -> list_p95_ms
  4. the outbox backlog (queued jobs) at the end                               -> outbox_backlog

Errors are non-2xx answers and failures of the closed loop and the lists (a run with any fails);
requests of the overloaded open loop that met a connection the server had already closed are
counted apart as dropped_connections.

The load generator shares the machine (and its CPUs) with the server and the database:
on a small machine the figures are conservative.

    python bench/api_load.py [--quick] [--json] [--postgres-url URL] [--bulk-tickets N]

OKNO_BENCH_SERVE_LOG=PATH keeps the served processes' log there.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http1 import ConnectionLost, Http1Pool, Reply

OKNO = str(Path(sys.executable).with_name("okno")) if Path(sys.executable).with_name("okno").exists() else "okno"
CONCURRENCY = 16
OPEN_LOOP_RATE = 200.0
# Connections the open loop keeps at most, as a proxy in front of the server would: beyond them a
# request waits in the client, and that wait counts in its latency (from its scheduled start). With
# hundreds of connections, an overloaded SQLite server spent its time on writers queued for the lock.
OPEN_LOOP_CONNECTIONS = 64
TEAMS = 4
SPREAD_S = 90 * 86400  # last_activity_at spread over 90 days
# Bulk-loaded tickets stand for a desk in its steady state, where the default time-based rules have
# nothing due: new and open tickets have an owner (nobody is told of them as unassigned), and the
# pending ones went pending within two days (no reminder yet). Otherwise the rules would work
# through hundreds of thousands of tickets during the list phase and measure that instead.
PENDING_SPREAD_S = 2 * 86400
ADMIN = {"email": "bench-admin@example.com", "password": "benchpass123"}
AGENT = {"email": "bench-agent@example.com", "password": "bench-agent-pass1"}


class Errors:
    """Non-2xx responses and transport failures, counted per phase, with a few samples to print."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.samples: list[str] = []

    def add(self, phase: str, detail: str) -> None:
        self.counts[phase] += 1
        if len(self.samples) < 20:
            self.samples.append(f"{phase}: {detail[:300]}")

    def check(self, phase: str, response: httpx.Response | Reply) -> bool:
        if isinstance(response, Reply):
            ok, request, status = response.ok, f"{response.method} {response.path}", response.status
        else:
            ok, status = response.is_success, response.status_code
            request = f"{response.request.method} {response.request.url.path}"
        if not ok:
            self.add(phase, f"{request} -> {status} {response.text}")
        return ok


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in the units given; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def ticket_body(n: int) -> dict[str, Any]:
    return {
        "subject": f"Order {n} has not arrived",
        "customer": {"email": f"c{n}@example.com", "name": f"Customer {n}"},
        "message": {"body": f"Hello, my order {n} is late. Could you check where it is?"},
        "tags": ["bench"],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def okno(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([OKNO, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"okno {' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def fresh_database(kind: str, postgres_url: str, directory: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database, dropped afterwards (SQLite: a file in the temp dir)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    name = f"okno_bench_{os.getpid()}"
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def serving(env: dict[str, str], workers: int, log_path: Path) -> Iterator[str]:
    """`okno serve` in its own process group; yields its base URL once /healthz answers 200."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [OKNO, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env={**env, "OKNO_LOG_LEVEL": "warning"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"okno serve did not start: {log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # the group: the web processes of --workers too
                    process.wait()


async def closed_loop(
    base: str, token: str, seconds: float, warmup: float, errors: Errors
) -> tuple[float, list[int], int]:
    """Creations at concurrency 16 on one pool of connections; returns (creations/s, ticket ids, next number)."""
    numbers = itertools.count(1)
    ids: list[int] = []
    async with Http1Pool(base, headers={"Authorization": f"Bearer {token}"}, size=CONCURRENCY) as client:

        async def worker(until: float) -> int:
            done = 0
            while time.perf_counter() < until:
                try:
                    response = await client.post("/api/v1/tickets", ticket_body(next(numbers)))
                except (OSError, ConnectionLost, TimeoutError) as exc:
                    errors.add("create", repr(exc))
                    continue
                if response.status == 201:
                    done += 1
                    ids.append(response.json()["id"])
                else:
                    errors.check("create", response)
            return done

        until = time.perf_counter() + warmup
        await asyncio.gather(*(worker(until) for _ in range(CONCURRENCY)))
        started = time.perf_counter()
        done = sum(await asyncio.gather(*(worker(started + seconds) for _ in range(CONCURRENCY))))
        elapsed = time.perf_counter() - started
    return done / elapsed, ids, next(numbers)


async def health_loop(base: str, seconds: float, errors: Errors) -> float:
    """GET /healthz (one SELECT 1) at concurrency 16: the served processes' ceiling on this machine,
    what no request that reads or writes more can exceed; returns answers/s."""
    done = 0
    async with Http1Pool(base, headers={}, size=CONCURRENCY) as client:

        async def worker(until: float) -> None:
            nonlocal done
            while time.perf_counter() < until:
                response = await client.get("/healthz")
                done += errors.check("health", response)

        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(CONCURRENCY)))
        return done / (time.perf_counter() - started)


async def open_loop(
    base: str, token: str, seconds: float, ticket_ids: list[int], first_number: int, errors: Errors
) -> dict[str, float]:
    """Requests start at t0 + i/rate whatever the server does; latency counts from that scheduled start."""
    rng = random.Random(7)
    total = int(seconds * OPEN_LOOP_RATE)
    plan = [(rng.random(), rng.choice(ticket_ids) if ticket_ids else 0) for _ in range(total)]
    latencies: list[float] = []
    late_starts: list[float] = []
    last_done = 0.0
    # Waiting for a free connection is part of a request's latency, not a failure.
    headers = {"Authorization": f"Bearer {token}"}
    async with Http1Pool(base, headers=headers, size=OPEN_LOOP_CONNECTIONS) as client:
        t0 = time.perf_counter() + 0.2

        async def one(i: int, roll: float, ticket_id: int) -> None:
            nonlocal last_done
            scheduled = t0 + i / OPEN_LOOP_RATE
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            late_starts.append((time.perf_counter() - scheduled) * 1000)
            try:
                if roll < 0.4 or not ticket_id:
                    response = await client.post("/api/v1/tickets", ticket_body(first_number + i))
                elif roll < 0.7:
                    body = {"body": "Thanks for waiting: we are on it.", "kind": "reply"}
                    response = await client.post(f"/api/v1/tickets/{ticket_id}/messages", body)
                else:
                    response = await client.get("/api/v1/tickets", params={"limit": 25})
            except (ConnectionLost, ConnectionResetError) as exc:
                # Over capacity, a connection the server closed (keep-alive expiry) can meet a request
                # sent on it: a transport failure of the overloaded loop, reported beside the errors.
                errors.add("dropped", repr(exc))
                return
            except (OSError, TimeoutError) as exc:
                errors.add("mix", repr(exc))
                return
            last_done = time.perf_counter()
            latencies.append((last_done - scheduled) * 1000)
            errors.check("mix", response)

        await asyncio.gather(*(asyncio.create_task(one(i, roll, tid)) for i, (roll, tid) in enumerate(plan)))
    return {
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "achieved_rate": round(len(latencies) / max(last_done - t0, 1e-9), 1),
        "client_lag_p99_ms": round(percentile(late_starts, 0.99), 1),
    }


def sqlite_stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores DateTime on SQLite (UTC, naive)


def bulk_load(kind: str, url: str, count: int, team_ids: list[int]) -> float:
    """Inserts `count` tickets into the real tables, statuses new/open/pending, spread over 90 days
    (the pending ones over two), each with an owner."""
    started = time.perf_counter()
    if kind == "postgres":
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            customers = [row[0] for row in conn.execute("SELECT id FROM customers ORDER BY id LIMIT 2000")]
            owner = conn.execute("SELECT id FROM users WHERE email = %s", (ADMIN["email"],)).fetchall()[0][0]
            base = int(conn.execute("SELECT coalesce(max(number), 1000) FROM tickets").fetchall()[0][0])
            chunk = 250_000
            for lo in range(1, count + 1, chunk):
                conn.execute(
                    """
                    INSERT INTO tickets (number, subject, status, priority, channel, team_id, assignee_id,
                        customer_id, customer_plan, custom_fields, created_at, status_changed_at, updated_at,
                        last_activity_at)
                    SELECT %(base)s + g, 'Bulk ticket ' || g, status, 'normal', 'email',
                        (%(teams)s::bigint[])[1 + mod(g, %(n_teams)s)], %(owner)s,
                        (%(customers)s::bigint[])[1 + mod(g * 7, %(n_customers)s)], 'free', '{}'::jsonb,
                        created, created, active, active
                    FROM (SELECT g, status, active, CASE WHEN status = 'pending' THEN active
                              ELSE active - mod(g, 240) * interval '1 hour' END AS created
                          FROM (SELECT g, status, now() - random() * CASE WHEN status = 'pending'
                                    THEN %(pending_spread)s ELSE %(spread)s END * interval '1 second' AS active
                                FROM (SELECT g, (ARRAY['new','open','pending'])[1 + mod(g, 3)] AS status
                                      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g) AS numbered
                               ) AS timed) AS s
                    """,
                    {
                        "base": base,
                        "teams": team_ids,
                        "n_teams": len(team_ids),
                        "owner": owner,
                        "customers": customers,
                        "n_customers": len(customers),
                        "spread": SPREAD_S,
                        "pending_spread": PENDING_SPREAD_S,
                        "lo": lo,
                        "hi": min(lo + chunk - 1, count),
                    },
                )
            conn.execute("SELECT setval('ticket_number_seq', (SELECT max(number) FROM tickets) + 1)")
            conn.execute("ANALYZE")
        return time.perf_counter() - started
    db = sqlite3.connect(urlsplit(url).path[1:], timeout=60, isolation_level=None)  # sqlite:////abs -> /abs
    try:
        db.execute("PRAGMA synchronous=NORMAL")
        customers = [row[0] for row in db.execute("SELECT id FROM customers ORDER BY id LIMIT 2000")]
        owner = db.execute("SELECT id FROM users WHERE email = ?", (ADMIN["email"],)).fetchone()[0]
        base = int(db.execute("SELECT coalesce(max(number), 1000) FROM tickets").fetchone()[0])
        rng, now, statuses, batch = random.Random(11), datetime.now(UTC), ("new", "open", "pending"), 50_000
        for lo in range(1, count + 1, batch):
            rows = []
            for g in range(lo, min(lo + batch, count + 1)):
                status = statuses[g % 3]
                pending = status == "pending"
                active = now - timedelta(seconds=rng.random() * (PENDING_SPREAD_S if pending else SPREAD_S))
                stamp = sqlite_stamp(active)
                created = stamp if pending else sqlite_stamp(active - timedelta(hours=g % 240))
                rows.append(
                    (
                        base + g,
                        f"Bulk ticket {g}",
                        status,
                        team_ids[g % len(team_ids)],
                        owner,
                        customers[(g * 7) % len(customers)],
                        created,
                        created,
                        stamp,
                        stamp,
                    )
                )
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO tickets (number, subject, status, priority, channel, team_id, assignee_id, "
                "customer_id, customer_plan, custom_fields, created_at, status_changed_at, updated_at, "
                "last_activity_at) VALUES (?, ?, ?, 'normal', 'email', ?, ?, ?, 'free', '{}', ?, ?, ?, ?)",
                rows,
            )
            db.execute("COMMIT")
        db.execute(
            "UPDATE okno_sequences SET value = (SELECT max(number) FROM tickets) + 1 WHERE name = 'ticket_number_seq'"
        )
        db.execute("ANALYZE")
    finally:
        db.close()
    return time.perf_counter() - started


def list_at_scale(base: str, token: str, team_ids: list[int], samples: int, errors: Errors) -> dict[str, float]:
    """The "My teams" view of an agent on two teams: the first page, and a page ~20 pages deep."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as admin:
        created = admin.post(
            "/api/v1/users", json={**AGENT, "name": "Bench Agent", "role": "agent", "team_ids": team_ids[:2]}
        )
        issued = admin.post("/api/v1/auth/tokens", json=AGENT)
        if not (errors.check("list", created) and errors.check("list", issued)):
            return {"list_p95_ms": 0.0, "list_first_page_p95_ms": 0.0, "list_deep_page_p95_ms": 0.0}
    view: list[tuple[str, str | int | float | bool | None]] = [
        *(("team_id", team) for team in team_ids[:2]),
        *(("status", status) for status in ("new", "open", "pending")),
        ("sort", "-last_activity_at"),
        ("limit", 25),
    ]
    figures: dict[str, float] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {issued.json()['token']}"}, timeout=60) as http:
        cursor: str | None = None
        for _ in range(20):
            page = http.get("/api/v1/tickets", params=[*view, *([("cursor", cursor)] if cursor else [])])
            if not errors.check("list", page) or not page.json()["next_cursor"]:
                break
            cursor = page.json()["next_cursor"]
        for label, params in (("first", view), ("deep", [*view, *([("cursor", cursor)] if cursor else [])])):
            timings: list[float] = []
            for _ in range(samples):
                started = time.perf_counter()
                response = http.get("/api/v1/tickets", params=params)
                timings.append((time.perf_counter() - started) * 1000)
                if errors.check("list", response) and len(response.json()["items"]) != 25:
                    errors.add("list", f"{label} page has {len(response.json()['items'])} items, not 25")
            figures[f"list_{label}_page_p50_ms"] = round(percentile(timings, 0.50), 1)
            figures[f"list_{label}_page_p95_ms"] = round(percentile(timings, 0.95), 1)
    figures["list_p95_ms"] = max(figures["list_first_page_p95_ms"], figures["list_deep_page_p95_ms"])
    return figures


def outbox_backlog(env: dict[str, str]) -> int:
    """Queued jobs, from the first line of `okno jobs list` ("queued: 3  done: ...")."""
    counts = {name: int(n) for name, n in re.findall(r"(\w+): (\d+)", okno(env, "jobs", "list", "--limit", "1"))}
    return counts.get("queued", 0)


@dataclass(frozen=True)
class Installation:
    env: dict[str, str]  # for `okno` commands on it
    url: str  # its database
    token: str  # an API token of its admin (ADMIN)
    directory: Path  # its temporary directory


@contextmanager
def fresh_installation(kind: str, postgres_url: str) -> Iterator[Installation]:
    """`okno init` on a fresh database with an admin and their API token; everything dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="okno-bench-") as tmp, fresh_database(kind, postgres_url, Path(tmp)) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
        env.update(OKNO_DATABASE_URL=url, OKNO_DATA_DIR=str(Path(tmp) / "data"))
        okno(env, "init")
        admin = ["--email", ADMIN["email"], "--name", "Bench", "--role", "admin", "--password", ADMIN["password"]]
        okno(env, "createuser", *admin)
        token = okno(env, "token", "create", "--email", ADMIN["email"]).strip()
        yield Installation(env, url, token, Path(tmp))


def serve_log(directory: Path) -> Path:
    return Path(os.environ.get("OKNO_BENCH_SERVE_LOG", directory / "serve.log"))


def bench_arguments(description: str | None, quick: str) -> argparse.ArgumentParser:
    """--quick (explained by `quick`), --json and --postgres-url, as every served benchmark takes them."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", action="store_true", help="end the output with one line of JSON with the figures")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OKNO_BENCH_POSTGRES_URL") or os.environ.get("OKNO_TEST_POSTGRES_URL") or "",
        help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test (a database okno_bench_<pid> is made)",
    )
    return parser


def bench_one(kind: str, postgres_url: str, *, quick: bool, bulk: int, errors: Errors) -> dict[str, Any]:
    phase_s, warmup_s, samples = (2.0, 0.5, 50) if quick else (20.0, 3.0, 200)
    workers = 2 if kind == "postgres" else 1  # several processes on SQLite need Redis
    result: dict[str, Any] = {"workers": workers, "bulk_tickets": bulk}
    with fresh_installation(kind, postgres_url) as installation:
        env, url, token = installation.env, installation.url, installation.token
        with serving(env, workers, serve_log(installation.directory)) as base:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
                teams = [http.post("/api/v1/teams", json={"name": f"Bench team {i}"}) for i in range(TEAMS)]
                if not all(errors.check("setup", team) for team in teams):
                    raise RuntimeError("could not create the teams")
                team_ids = [team.json()["id"] for team in teams]

            ceiling = result["healthz_per_s"] = round(asyncio.run(health_loop(base, phase_s / 4, errors)), 1)
            print(f"[{kind}] ceiling: GET /healthz, closed loop x{CONCURRENCY}: {ceiling}/s", flush=True)

            rate, ticket_ids, next_number = asyncio.run(closed_loop(base, token, phase_s, warmup_s, errors))
            result["create_per_s"] = round(rate, 1)
            print(f"[{kind}] creations, closed loop x{CONCURRENCY} for {phase_s:.0f} s: {rate:.1f}/s", flush=True)

            result.update(asyncio.run(open_loop(base, token, phase_s, ticket_ids[-2000:], next_number, errors)))
            print(
                f"[{kind}] open loop at {OPEN_LOOP_RATE:.0f}/s for {phase_s:.0f} s "
                f"(achieved {result['achieved_rate']}/s, client lag p99 {result['client_lag_p99_ms']} ms): "
                + ", ".join(f"{q} {result[f'{q}_ms']} ms" for q in ("p50", "p95", "p99", "max")),
                flush=True,
            )
            result["outbox_backlog_after_load"] = outbox_backlog(env)

            result["bulk_load_s"] = round(bulk_load(kind, url, bulk, team_ids), 1) if bulk else 0.0
            print(f"[{kind}] bulk-loaded {bulk:,} tickets in {result['bulk_load_s']} s (then ANALYZE)", flush=True)
            result.update(list_at_scale(base, token, team_ids, samples, errors))
            print(
                f"[{kind}] My teams (2 of {TEAMS} teams), {samples} sequential requests each: first page "
                f"p50 {result['list_first_page_p50_ms']} / p95 {result['list_first_page_p95_ms']} ms; ~20 pages in "
                f"p50 {result['list_deep_page_p50_ms']} / p95 {result['list_deep_page_p95_ms']} ms",
                flush=True,
            )
            result["outbox_backlog"] = outbox_backlog(env)
            print(
                f"[{kind}] outbox backlog (queued): {result['outbox_backlog_after_load']} right after the "
                f"open loop, {result['outbox_backlog']} at the end",
                flush=True,
            )
    phases = ("setup", "health", "create", "mix", "list")
    result["errors_by_phase"] = {phase: errors.counts[phase] for phase in phases}
    result["errors"] = sum(result["errors_by_phase"].values())
    result["dropped_connections"] = errors.counts["dropped"]
    return result


def main() -> int:
    parser = bench_arguments(__doc__, "short phases and a small bulk load (test suite)")
    parser.add_argument(
        "--bulk-tickets", type=int, help="tickets to bulk-load (default: quick 5k; full: PG 1M, SQLite 100k)"
    )
    args = parser.parse_args()
    # Killed (by `timeout`, say): leave through the finally blocks, which stop the served processes.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    if shutil.which(OKNO) is None:
        print(f"cannot find the okno command ({OKNO})", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}", flush=True)
    kinds = ["sqlite", *(["postgres"] if args.postgres_url else [])]
    failed = False
    for kind in kinds:
        default_bulk = 5_000 if args.quick else (1_000_000 if kind == "postgres" else 100_000)
        bulk = default_bulk if args.bulk_tickets is None else args.bulk_tickets
        errors = Errors()
        figures[kind] = bench_one(kind, args.postgres_url, quick=args.quick, bulk=bulk, errors=errors)
        if figures[kind]["dropped_connections"]:
            dropped = figures[kind]["dropped_connections"]
            print(f"[{kind}] {dropped} request(s) of the open loop met a connection the server had closed")
        if figures[kind]["errors"]:
            failed = True
            print(f"[{kind}] {figures[kind]['errors']} error(s); the first ones:", file=sys.stderr)
            for sample in errors.samples:
                print(f"  {sample}", file=sys.stderr)
    headline = figures.get("postgres", figures["sqlite"])
    figures.update({key: headline[key] for key in ("create_per_s", "p99_ms", "list_p95_ms")})
    if args.json:
        print(json.dumps(figures), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""API load benchmark: a real `okno serve` on 127.0.0.1, on SQLite and (when configured) PostgreSQL.

Phases, per database, on a fresh database each:
  1. throughput: ticket creations in a closed loop at concurrency 16        -> create_per_s
  2. latency: an open loop of creations, replies and list calls at 200/s    -> p50/p95/p99_ms
  3. list at scale: the "My teams" view by last activity, first page and a
     page deep in, after bulk-loading N tickets straight into the database   -> list_p95_ms
  4. the outbox backlog left at the end                                     -> outbox_backlog

The load generator runs on the same machine as the server (and the database), so on a small
machine it takes a share of the CPU the server would otherwise have: figures are conservative.

    python bench/api_load.py [--quick] [--json] [--postgres-url URL] [--bulk-tickets N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.served import admin_token, okno_env, run, serving  # noqa: E402

CONCURRENCY = 16
OPEN_LOOP_RATE = 200
GOALS = {"create_per_s": 400, "p99_ms": 60, "list_p95_ms": 50}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def new_ticket(n: int) -> dict[str, Any]:
    return {
        "subject": f"Order {n} has not arrived",
        "customer": {"email": f"bench{n}@example.com", "name": f"Customer {n}"},
        "message": {"body": "Hello, my parcel is late. Could you check?"},
        "tags": ["bench"],
    }


async def closed_loop(base: str, token: str, seconds: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    done, errors, counter = 0, 0, iter(range(10**9))
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                response = await http.post("/api/v1/tickets", json=new_ticket(next(counter)))
                if response.status_code == 201:
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return {"create_per_s": round(done / elapsed, 1), "create_errors": errors}


async def open_loop(base: str, token: str, seconds: float, ticket_ids: list[int]) -> dict[str, Any]:
    """Requests start on schedule whatever the server does; latency counts from the scheduled start."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    total = int(seconds * OPEN_LOOP_RATE)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30, limits=httpx.Limits(max_connections=200)
    ) as http:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = start + i / OPEN_LOOP_RATE
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            roll = rng.random()
            try:
                if roll < 0.4:
                    response = await http.post("/api/v1/tickets", json=new_ticket(10**6 + i))
                elif roll < 0.7:
                    ticket_id = rng.choice(ticket_ids)
                    response = await http.post(
                        f"/api/v1/tickets/{ticket_id}/messages", json={"body": "We are checking.", "kind": "reply"}
                    )
                else:
                    response = await http.get("/api/v1/tickets", params={"limit": 25})
            except httpx.TransportError:
                errors += 1
                return
            latencies.append((time.perf_counter() - scheduled) * 1000)
            if response.status_code >= 300:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    return {
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "achieved_rate": round(total / elapsed, 1),
        "mix_errors": errors,
    }


def bulk_load(url: str, count: int, team_ids: list[int], customer_id: int) -> float:
    """Inserts tickets straight into the tables (with their customer), fast; returns seconds taken."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    """
                INSERT INTO tickets (number, subject, status, priority, channel, team_id, customer_id,
                    customer_plan, custom_fields, created_at, updated_at, last_activity_at)
                SELECT 5000000 + g, 'Bulk ticket ' || g, (ARRAY['new','open','pending','solved','closed'])[1 + g % 5],
                    'normal', 'email', (:teams)[1 + g % cardinality(:teams)], :customer, 'free', '{}'::jsonb,
                    now() - (g % 7776000) * interval '1 second', now() - (g % 7776000) * interval '1 second',
                    now() - ((g::bigint * 7919) % 7776000) * interval '1 second'
                FROM generate_series(1, :count) AS g
                """
                ),
                {"teams": team_ids, "customer": customer_id, "count": count},
            )
            conn.execute(sa.text("SELECT setval('ticket_number_seq', 5000000 + :count + 1)"), {"count": count})
        else:
            statuses = ["new", "open", "pending", "solved", "closed"]
            for offset in range(0, count, 20_000):
                rows = []
                for g in range(offset + 1, min(offset + 20_000, count) + 1):
                    at = (now - timedelta(seconds=g % 7_776_000)).replace(tzinfo=None).isoformat(" ")
                    active = (now - timedelta(seconds=(g * 7919) % 7_776_000)).replace(tzinfo=None).isoformat(" ")
                    rows.append(
                        {
                            "number": 5_000_000 + g,
                            "subject": f"Bulk ticket {g}",
                            "status": statuses[g % 5],
                            "team": team_ids[g % len(team_ids)],
                            "customer": customer_id,
                            "at": at,
                            "active": active,
                        }
                    )
                conn.execute(
                    sa.text(
                        "INSERT INTO tickets (number, subject, status, priority, channel, team_id, customer_id, "
                        "customer_plan, custom_fields, created_at, updated_at, last_activity_at) VALUES "
                        "(:number, :subject, :status, 'normal', 'email', :team, :customer, 'free', '{}', "
                        ":at, :at, :active)"
                    ),
                    rows,
                )
            conn.execute(
                sa.text("UPDATE okno_sequences SET value = :v WHERE name = 'ticket_number_seq'"),
                {"v": 5_000_000 + count + 1},
            )
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return time.perf_counter() - started


def list_at_scale(base: str, token: str, team_ids: list[int], samples: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as admin:
        agent = admin.post(
            "/api/v1/users",
            json={
                "email": "bench-agent@example.com",
                "name": "Bench Agent",
                "password": "bench-agent-pw1",
                "team_ids": team_ids[:2],
                "limited_to_teams": True,
            },
        )
        agent.raise_for_status()
        issued = admin.post(
            "/api/v1/auth/tokens", json={"email": "bench-agent@example.com", "password": "bench-agent-pw1"}
        )
        issued.raise_for_status()
    params = {"team_id": team_ids[:2], "status": ["new", "open", "pending"], "sort": "-last_activity_at", "limit": 25}
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {issued.json()['token']}"}, timeout=30) as http:
        cursor = None
        for _ in range(20):  # walk twenty pages in
            page = http.get("/api/v1/tickets", params={**params, **({"cursor": cursor} if cursor else {})}).json()
            cursor = page["next_cursor"]
        for label, extra in (("first_page", {}), ("deep_page", {"cursor": cursor} if cursor else {})):
            timings = []
            for _ in range(samples):
                started = time.perf_counter()
                response = http.get("/api/v1/tickets", params={**params, **extra})
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            figures[f"list_{label}_p95_ms"] = round(percentile(timings, 0.95), 1)
    figures["list_p95_ms"] = max(figures["list_first_page_p95_ms"], figures["list_deep_page_p95_ms"])
    return figures


@contextmanager
def fresh_database(kind: str, postgres_url: str, directory: Path):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    name = f"okno_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.engine.make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_one(kind: str, postgres_url: str, *, phase_seconds: float, bulk: int, samples: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, postgres_url, Path(tmp)) as url:
        env = okno_env(url, Path(tmp) / "data")
        assert run(env, "init").returncode == 0
        token = admin_token(env)
        workers = ["--workers", "2"] if kind == "postgres" else []
        with serving(env, *workers) as (base, _process):
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
                team_ids = [http.post("/api/v1/teams", json={"name": f"Team {i}"}).json()["id"] for i in range(10)]
                seed = [http.post("/api/v1/tickets", json=new_ticket(-i)).json() for i in range(1, 51)]
            asyncio.run(closed_loop(base, token, 1.0))  # warm-up
            result: dict[str, Any] = asyncio.run(closed_loop(base, token, phase_seconds))
            print(f"[{kind}] creations, closed loop x{CONCURRENCY}: {result['create_per_s']}/s", flush=True)
            result.update(asyncio.run(open_loop(base, token, phase_seconds, [t["id"] for t in seed])))
            print(
                f"[{kind}] open loop {OPEN_LOOP_RATE}/s (achieved {result['achieved_rate']}/s): "
                f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms",
                flush=True,
            )
            result["bulk_load_s"] = round(bulk_load(url, bulk, team_ids, seed[0]["customer"]["id"]), 1)
            result["bulk_tickets"] = bulk
            result.update(list_at_scale(base, token, team_ids, samples))
            print(
                f"[{kind}] My teams at {bulk:,} tickets: first page p95 {result['list_first_page_p95_ms']} ms, "
                f"deep page p95 {result['list_deep_page_p95_ms']} ms",
                flush=True,
            )
        jobs = run(env, "jobs", "list", "--limit", "1").stdout.splitlines()[0]
        counts = dict(part.split(": ") for part in jobs.split("  "))
        result["outbox_backlog"] = int(counts.get("queued", 0)) + int(counts.get("running", 0))
        result["errors"] = result["create_errors"] + result["mix_errors"]
        print(f"[{kind}] outbox backlog at the end: {result['outbox_backlog']}", flush=True)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short phases and a small bulk load (for the test suite)")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON with every figure")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OKNO_BENCH_POSTGRES_URL") or os.environ.get("OKNO_TEST_POSTGRES_URL", ""),
    )
    parser.add_argument("--bulk-tickets", type=int, help="tickets to bulk-load for the list phase")
    args = parser.parse_args()
    phase_seconds = 2.0 if args.quick else 20.0
    samples = 30 if args.quick else 200
    figures: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "goals": GOALS,
    }
    kinds = ["sqlite"] + (["postgres"] if args.postgres_url else [])
    for kind in kinds:
        bulk = args.bulk_tickets or (20_000 if args.quick else (1_000_000 if kind == "postgres" else 100_000))
        figures[kind] = bench_one(kind, args.postgres_url, phase_seconds=phase_seconds, bulk=bulk, samples=samples)
    headline = figures.get("postgres", figures["sqlite"])
    figures.update({key: headline[key] for key in ("create_per_s", "p99_ms", "list_p95_ms")})
    if args.json:
        print(json.dumps(figures))
    return 1 if any(figures[kind]["errors"] for kind in kinds) else 0


if __name__ == "__main__":
    sys.exit(main())

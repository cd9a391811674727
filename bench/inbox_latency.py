"""Agent workspace benchmark: page render times at scale, and live delivery to many open pages.

A real `okno serve` on 127.0.0.1 with a fresh database (SQLite: one process; PostgreSQL: two web
processes, live events crossing between them through the database), per database:

  1. a help desk of 4 teams and 5 agents, each agent on 2 of the 4 teams (limited to them), made
     through the API; one *template* ticket worked through the API (customer message, reply,
     internal note, assignment, priority, tags, team change), then N tickets bulk-loaded straight
     into the tables, each with a copy of the template's conversation (bench/_bulk.py);
  2. render times, signed in as an agent through the real sign-in form (cookie session):
     - the inbox, *My teams* by last activity (`/inbox?view=my_teams`): the first page, and a page
       twenty pages in through the cursor;
     - the ticket page (`/tickets/{id}`) of tickets picked at random among those the agent may see.
     Measured by the client as the time from sending a request on a kept-alive connection to having
     the whole response: the server's work plus one loopback round trip (tens of microseconds).
     The server's own figure from its `Server-Timing: app;dur=` header is reported beside it, and
     the CPU time the web processes spent per page (from /proc: it does not grow when other work
     on a busy machine delays the server, while the response times do);
  3. delivery: 200 pages connected to `/live` (WebSockets carrying the session cookies of four
     other agents and this site's Origin); one agent posts replies through the ticket page's form;
     latency runs from just before each POST is sent to the moment each page receives the event.

Goals: inbox and ticket page p95 < 100 ms; delivery p99 < 300 ms. The client runs on the same
machine as the server and the database, taking a share of the CPU: figures are conservative.
Top-level figures are the worst over the databases measured.

    python bench/inbox_latency.py [--quick] [--json] [--postgres-url URL]
                                  [--tickets-postgres N] [--tickets-sqlite N] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import websockets
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._bulk import BULK_NUMBER_BASE, fresh_database, load_help_desk, percentile  # noqa: E402
from tests.served import admin_token, okno_env, run, serving  # noqa: E402

GOALS = {"inbox_p95_ms": 100, "ticket_p95_ms": 100, "delivery_p99_ms": 300}
AGENTS = 5
PASSWORD = "bench-agent-password"
DEEP_PAGES = 20
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SEEN = re.compile(r'name="seen_message_id" value="(\d+)"')
NEXT_PAGE = re.compile(r'href="/inbox\?view=my_teams&amp;cursor=([^"]+)"')
SERVER_TIMING = re.compile(r"\bapp;dur=([0-9.]+)")


@dataclass
class Sizes:
    tickets: int
    samples: int
    pages: int
    replies: int


@dataclass
class Timings:
    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        out = {f"p{q}_ms": round(percentile(self.client_ms, q / 100), 1) for q in (50, 95, 99)}
        if self.server_ms:
            out.update({f"server_p{q}_ms": round(percentile(self.server_ms, q / 100), 1) for q in (50, 95, 99)})
        return out


def timed_get(http: httpx.Client, url: str, timings: Timings | None) -> httpx.Response:
    started = time.perf_counter()
    response = http.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
    if timings is not None:
        timings.client_ms.append(elapsed)
        server = SERVER_TIMING.search(response.headers.get("server-timing", ""))
        if server:
            timings.server_ms.append(float(server.group(1)))
    return response


# --- the help desk -------------------------------------------------------------------------------


def build_desk(base: str, token: str) -> dict[str, Any]:
    """Teams and agents, a worked template ticket and a ticket to reply to, all through the API."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:

        def call(method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
            response = api.request(method, url, json=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
            return dict(response.json())

        teams = [call("POST", "/api/v1/teams", {"name": f"Team {name}"})["id"] for name in ("A", "B", "C", "D")]
        agents = []
        for i in range(AGENTS):
            # Everyone is on the first team (where the live replies go) and on one other.
            mine = [teams[0], teams[1 + i % 3]]
            user = {
                "email": f"agent{i}@bench.example.com",
                "name": f"Agent {i}",
                "password": PASSWORD,
                "team_ids": mine,
                "limited_to_teams": True,
            }
            agents.append({**call("POST", "/api/v1/users", user), "teams": mine})
        customer = {"email": "template@example.com", "name": "Mira Template"}
        template = call(
            "POST",
            "/api/v1/tickets",
            {
                "subject": "Parcel arrived damaged",
                "customer": customer,
                "channel": "email",
                "team_id": teams[1],
                "message": {"body": "Hello,\n\nmy parcel arrived with a broken corner. Can you help?\n\nMira"},
            },
        )
        tid = template["id"]
        call("POST", f"/api/v1/tickets/{tid}/messages", {"kind": "note", "body": "Second damaged parcel this week."})
        call("PATCH", f"/api/v1/tickets/{tid}", {"assignee_id": agents[0]["id"], "priority": "high"})
        call("PATCH", f"/api/v1/tickets/{tid}", {"add_tags": ["damaged", "shipping"]})
        reply = "Hello Mira,\n\nsorry about that. Could you send a photo of the box? We will replace it at once."
        call("POST", f"/api/v1/tickets/{tid}/messages", {"kind": "reply", "body": reply})
        call("PATCH", f"/api/v1/tickets/{tid}", {"team_id": teams[0]})
        call("POST", f"/api/v1/tickets/{tid}/messages", {"kind": "note", "body": "Photo received, replacement sent."})
        call("PATCH", f"/api/v1/tickets/{tid}", {"status": "pending"})
        live = call(
            "POST",
            "/api/v1/tickets",
            {
                "subject": "Where is my order?",
                "customer": {"email": "live@example.com", "name": "Ola Live"},
                "team_id": teams[0],
                "message": {"body": "It has been two weeks."},
            },
        )
    return {"teams": teams, "agents": agents, "template_id": tid, "live_ticket_id": live["id"]}


def sign_in(base: str, email: str) -> httpx.Client:
    """Signs in through the sign-in form, as a browser does: the form's CSRF token, then the session cookie."""
    http = httpx.Client(base_url=base, timeout=30)
    form = http.get("/sign-in")
    token = CSRF.search(form.text)
    if form.status_code != 200 or token is None:
        raise RuntimeError(f"sign-in form: {form.status_code}")
    done = http.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1), "next": "/inbox"}
    )
    if done.status_code != 303 or "okno_session" not in http.cookies:
        raise RuntimeError(f"sign-in of {email}: {done.status_code}")
    return http


def visible_ticket_ids(url: str, teams: list[int], wanted: int) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ids = list(
                conn.execute(
                    sa.select(sa.text("id"))
                    .select_from(sa.text("tickets"))
                    .where(sa.text("number > :base"), sa.text("team_id IN (:a, :b)"))
                    .order_by(sa.text("id"))
                    .limit(200_000),
                    {"base": BULK_NUMBER_BASE, "a": teams[0], "b": teams[1]},
                ).scalars()
            )
    finally:
        engine.dispose()
    return random.Random(13).sample(ids, min(wanted, len(ids)))


# --- render times --------------------------------------------------------------------------------


def render_times(http: httpx.Client, ticket_ids: list[int], samples: int, server_pid: int) -> dict[str, Any]:
    first = "/inbox?view=my_teams"
    deep = first
    for _ in range(DEEP_PAGES):
        found = NEXT_PAGE.search(timed_get(http, deep, None).text)
        if found is None:
            break
        deep = f"{first}&cursor={found.group(1)}"
    for _ in range(5):  # warm-up: templates compiled, connections pooled
        timed_get(http, first, None)
        timed_get(http, f"/tickets/{ticket_ids[-1]}", None)
    kinds = {
        "inbox_first_page": lambda i: first,
        "inbox_deep_page": lambda i: deep,
        "ticket_page": lambda i: f"/tickets/{ticket_ids[i % len(ticket_ids)]}",
    }
    figures: dict[str, Any] = {}
    for name, path in kinds.items():
        timings = Timings()
        cpu_before = tree_cpu_seconds(server_pid)
        for i in range(samples):
            timed_get(http, path(i), timings)
        figures[name] = timings.figures()
        # What a page costs the server in CPU, whatever else the machine is doing at the time.
        figures[name]["server_cpu_ms_per_page"] = round((tree_cpu_seconds(server_pid) - cpu_before) * 1000 / samples, 1)
    figures["deep_page_is_deep"] = deep != first
    figures["inbox_p95_ms"] = max(figures["inbox_first_page"]["p95_ms"], figures["inbox_deep_page"]["p95_ms"])
    figures["ticket_p95_ms"] = figures["ticket_page"]["p95_ms"]
    return figures


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and all its children (the web processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


# --- delivery ------------------------------------------------------------------------------------


async def delivery(
    base: str, viewers: list[httpx.Client], replier: httpx.Client, ticket_id: int, pages: int, replies: int
) -> dict[str, Any]:
    uri = base.replace("http://", "ws://") + "/live"
    errors = 0
    try:  # the handshake must refuse another site's page carrying a valid cookie
        async with connect(uri, origin="http://evil.example", additional_headers=_cookie(viewers[0])):  # type: ignore[arg-type]
            errors += 1
    except websockets.exceptions.InvalidStatus as refused:
        if refused.response.status_code != 403:
            errors += 1

    async def open_page(i: int) -> ClientConnection:
        return await connect(uri, origin=base, additional_headers=_cookie(viewers[i % len(viewers)]), max_queue=None)  # type: ignore[arg-type]

    sockets: list[ClientConnection] = []
    for start in range(0, pages, 20):
        sockets += await asyncio.gather(*(open_page(i) for i in range(start, min(start + 20, pages))))

    latencies: list[float] = []
    state: dict[str, Any] = {"t0": 0.0, "got": 0, "done": asyncio.Event(), "seen": set()}

    async def listen(index: int, ws: ClientConnection) -> None:
        async for raw in ws:
            event = json.loads(raw)
            if event["ticket_id"] != ticket_id or event["kind"] != "reply_sent":
                continue
            if (index, event["id"]) in state["seen"]:
                continue
            state["seen"].add((index, event["id"]))
            latencies.append((time.perf_counter() - state["t0"]) * 1000)
            state["got"] += 1
            if state["got"] == pages:
                state["done"].set()

    listeners = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(sockets)]
    page = replier.get(f"/tickets/{ticket_id}")
    csrf, seen = CSRF.search(page.text), SEEN.search(page.text)
    assert csrf is not None and seen is not None
    posts: list[float] = []
    missed = 0
    async with httpx.AsyncClient(base_url=base, cookies=replier.cookies, timeout=30) as http:
        for r in range(replies):
            state.update(got=0, done=asyncio.Event())
            state["t0"] = time.perf_counter()
            response = await http.post(
                f"/tickets/{ticket_id}/messages",
                data={
                    "csrf_token": csrf.group(1),
                    "seen_message_id": seen.group(1),
                    "kind": "reply",
                    "body": f"Thanks for waiting. Update {r + 1}: the parcel is on its way.",
                },
            )
            posts.append((time.perf_counter() - state["t0"]) * 1000)
            if response.status_code != 303:
                errors += 1
            try:
                await asyncio.wait_for(state["done"].wait(), timeout=10)
            except TimeoutError:
                missed += pages - state["got"]
            await asyncio.sleep(0.05)  # replies are seconds apart in life; this keeps them from overlapping
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "pages": pages,
        "replies": replies,
        "deliveries": len(latencies),
        "missed": missed,
        "delivery_p50_ms": round(percentile(latencies, 0.50), 1),
        "delivery_p99_ms": round(percentile(latencies, 0.99), 1),
        "delivery_max_ms": round(max(latencies, default=float("nan")), 1),
        "reply_post_p50_ms": round(percentile(posts, 0.50), 1),
        "delivery_errors": errors,
    }


def _cookie(http: httpx.Client) -> dict[str, str]:
    return {"Cookie": f"okno_session={http.cookies['okno_session']}"}


# --- one database --------------------------------------------------------------------------------


def bench_one(kind: str, postgres_url: str, sizes: Sizes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, postgres_url, Path(tmp)) as url:
        env = okno_env(url, Path(tmp) / "data")
        initialised = run(env, "init")
        if initialised.returncode != 0:
            raise RuntimeError(initialised.stderr)
        token = admin_token(env)
        workers = ["--workers", "2"] if kind == "postgres" else []
        # Two web processes start slowly on a crowded machine: give them time.
        with serving(env, *workers, start_timeout=180) as (base, process):
            desk = build_desk(base, token)
            agent_ids = [a["id"] for a in desk["agents"]]
            print(f"[{kind}] bulk-loading {sizes.tickets:,} tickets with their conversations…", flush=True)
            result: dict[str, Any] = {"tickets": sizes.tickets}
            result.update(
                load_help_desk(
                    url,
                    sizes.tickets,
                    team_ids=desk["teams"],
                    assignee_ids=agent_ids,
                    template_ticket_id=desk["template_id"],
                )
            )
            print(f"[{kind}] loaded {result['loaded']} in {result['load_s']} s (+{result['analyse_s']} s analyse)")
            browsers = [sign_in(base, a["email"]) for a in desk["agents"]]
            try:
                agent = desk["agents"][0]
                ticket_ids = visible_ticket_ids(url, agent["teams"], sizes.samples)
                result.update(render_times(browsers[0], ticket_ids, sizes.samples, process.pid))
                print(
                    f"[{kind}] as an agent on 2 of 4 teams, {sizes.samples} samples each, client-measured: "
                    f"inbox first page {result['inbox_first_page']}, deep page {result['inbox_deep_page']}, "
                    f"ticket page {result['ticket_page']}",
                    flush=True,
                )
                result.update(
                    asyncio.run(
                        delivery(base, browsers[1:], browsers[0], desk["live_ticket_id"], sizes.pages, sizes.replies)
                    )
                )
                print(
                    f"[{kind}] delivery to {sizes.pages} live pages over {sizes.replies} replies: "
                    f"p50 {result['delivery_p50_ms']} ms, p99 {result['delivery_p99_ms']} ms, "
                    f"max {result['delivery_max_ms']} ms, missed {result['missed']}",
                    flush=True,
                )
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(f"okno serve exited with {process.returncode}") from None
                raise
            finally:
                for browser in browsers:
                    browser.close()
        result["errors"] = result["delivery_errors"] + result["missed"] + (0 if result["deep_page_is_deep"] else 1)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small numbers (for the test suite)")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON with every figure")
    parser.add_argument("--postgres-url", default=os.environ.get("OKNO_TEST_POSTGRES_URL", ""))
    parser.add_argument("--tickets-postgres", type=int, default=1_000_000)
    parser.add_argument("--tickets-sqlite", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="measure one database only")
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
            "processor": _processor(),
            # The machine is shared: how busy it was when the run started (and, below, when it ended).
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "goals": GOALS,
    }
    kinds = ["sqlite"] + (["postgres"] if args.postgres_url else [])
    if args.only:
        if args.only not in kinds:
            parser.error("--only postgres needs --postgres-url (or OKNO_TEST_POSTGRES_URL)")
        kinds = [args.only]
    for kind in kinds:
        tickets = args.tickets_postgres if kind == "postgres" else args.tickets_sqlite
        sizes = (
            Sizes(tickets=min(tickets, 3_000), samples=20, pages=20, replies=5)
            if args.quick
            else Sizes(tickets=tickets, samples=300, pages=200, replies=50)
        )
        figures[kind] = bench_one(kind, args.postgres_url, sizes)
    for key in ("inbox_p95_ms", "ticket_p95_ms", "delivery_p99_ms"):
        figures[key] = max(figures[kind][key] for kind in kinds)
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["errors"] = sum(figures[kind]["errors"] for kind in kinds)
    print(
        f"worst over {', '.join(kinds)}: inbox p95 {figures['inbox_p95_ms']} ms, "
        f"ticket p95 {figures['ticket_p95_ms']} ms, delivery p99 {figures['delivery_p99_ms']} ms "
        f"(goals {GOALS})",
        flush=True,
    )
    if args.json:
        print(json.dumps(figures))
    return 1 if figures["errors"] else 0


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())

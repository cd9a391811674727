"""Chat widget benchmark: round-trip latency with many visitors connected at once.

A real `okno serve` on 127.0.0.1 with a fresh database (SQLite: one process; PostgreSQL: two web
processes, live events crossing between them through the database), per database:

  1. a chat widget (`okno widget add`) allowing the origin `https://shop.example`, an admin who is
     online (so conversations are live, not offline), and N visitors, each made as the widget makes
     one (`POST /widget/{key}/visitors` with the page's Origin) from an address of its own
     (127.1.x.y: the chat throttles per client address, as it would 500 visitors' browsers);
  2. N WebSockets to `/widget/{key}/ws?token=…`, connected with staggered starts over a ramp
     (N / 10 seconds, at least one interval); each starts a conversation (`start`) as it connects;
  3. from one interval after the ramp, for the duration, each sends a `message` frame every
     interval, the N widgets' sends spread evenly over it (N / interval messages a second), while
     the agent answers through the API (`POST /api/v1/tickets/{id}/messages`, a reply) in random
     conversations, AGENT_REPLIES_PER_S a second. The server's CPU time in this phase (until the
     last answer) is reported per message that came back (visitors' and agent's).

What is measured, on the client's clock:
  - **round trip** (`chat_rtt_*`): from just before a `message` frame is sent to the moment the same
    socket receives that message back as a `message` frame: the server has written it in one
    committed unit of work, published the event on the realtime bus, passed it through the
    connection's permission filter and read the message back for the widget. The `sent`
    acknowledgement (the answer to the frame, after the commit) is timed too (`chat_ack_*`).
  - **agent → visitor** (`agent_delivery_*`): from just before the agent's reply is POSTed to the
    moment the visitor's socket receives it.
A message (or reply) not back within 10 s, an `error` frame, a refused handshake and a socket closed
early are errors. The goal (issue 5): round trip p99 < 200 ms with 500 widgets, one message every
10 s each. The client shares the machine with the server and the database: figures are conservative,
and the load average is printed beside them.

    python bench/chat_roundtrip.py [--quick] [--json] [--postgres-url URL] [--widgets N]
                                   [--interval S] [--duration S] [--only sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api_load import Errors, bench_arguments, fresh_installation, okno, percentile, serve_log, serving  # noqa: E402
from bench.inbox_latency import tree_cpu_seconds  # noqa: E402

ORIGIN = "https://shop.example"
GOAL_RTT_P99_MS = 200
LOST_AFTER_S = 10.0
STARTS_PER_S = 10.0  # the ramp: conversations started a second, at most
AGENT_REPLIES_PER_S = 2.0
CONNECT_CONCURRENCY = 25


def client_address(i: int) -> str:
    """A loopback address of widget i's own (Linux routes all of 127.0.0.0/8 to lo)."""
    return f"127.1.{i // 250}.{i % 250 + 1}"


@dataclass
class Run:
    """What the widgets saw, shared by their tasks (one event loop: no locks)."""

    errors: Errors = field(default_factory=Errors)
    pending: dict[str, float] = field(default_factory=dict)  # body -> send time, visitor messages and agent replies
    rtt_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)
    conversations: dict[int, int] = field(default_factory=dict)  # widget -> conversation id
    interval: float = 10.0
    sent: int = 0
    replies: int = 0
    stopping: bool = False
    server_cpu_s: float = 0.0  # from the first message until the last answer came (or was given up)
    finished: asyncio.Event = field(default_factory=asyncio.Event)


async def new_visitor(base: str, key: str, origin: str, i: int, run: Run) -> str | None:
    transport = httpx.AsyncHTTPTransport(local_address=client_address(i))
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=60) as http:
        try:
            body, headers = {"name": f"Visitor {i}"}, {"Origin": origin}
            answer = await http.post(f"/widget/{key}/visitors", json=body, headers=headers)
        except httpx.HTTPError as exc:
            run.errors.add("visitor", repr(exc))
            return None
    if not run.errors.check("visitor", answer):
        return None
    token: str = answer.json()["token"]
    return token


async def widget(
    base: str, key: str, origin: str, i: int, token: str, start_at: float, first_send: float, until: float, run: Run
) -> None:
    """One visitor's page: connect, start a conversation, then a message every interval until `until`."""
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    url = base.replace("http://", "ws://", 1) + f"/widget/{key}/ws?token={token}"
    try:
        async with connect(url, origin=origin, local_addr=(client_address(i), 0), open_timeout=60) as ws:  # type: ignore[arg-type]
            history = json.loads(await ws.recv())
            if history.get("type") != "history":
                run.errors.add("ws", f"widget {i}: first frame {history}")
                return
            await ws.send(json.dumps({"type": "start", "body": f"Hello from widget {i}", "ref": "start"}))
            started = await asyncio.wait_for(started_frame(ws), 60)
            if started.get("type") != "started":
                run.errors.add("ws", f"widget {i}: {started}")
                return
            run.conversations[i] = started["conversation_id"]
            reader = asyncio.create_task(read_frames(ws, i, run))
            try:
                await send_messages(ws, i, first_send, until, run)
                await run.finished.wait()  # the answers to the last messages are still on their way
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
    except (OSError, TimeoutError) as exc:
        run.errors.add("ws", f"widget {i}: {exc!r}")
    except Exception as exc:  # a refused handshake, a socket closed early
        if not run.stopping:
            run.errors.add("ws", f"widget {i}: {exc!r}")


async def started_frame(ws: ClientConnection) -> dict[str, Any]:
    """The answer to `start` (frames about the new conversation may come first)."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame.get("type") in {"started", "error"}:
            return frame


async def send_messages(ws: ClientConnection, i: int, first_send: float, until: float, run: Run) -> None:
    for n in itertools.count():
        scheduled = first_send + n * run.interval
        if scheduled >= until:
            return
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        conversation = run.conversations[i]
        body = f"Widget {i} message {n}: where is my order?"
        now = time.perf_counter()
        run.lag_ms.append((now - scheduled) * 1000)
        run.pending[body] = now
        run.sent += 1
        await ws.send(json.dumps({"type": "message", "conversation_id": conversation, "body": body, "ref": body}))


async def read_frames(ws: ClientConnection, i: int, run: Run) -> None:
    async for raw in ws:
        at = time.perf_counter()
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "sent":
            started = run.pending.get(frame.get("ref") or "")
            if started is not None:
                run.ack_ms.append((at - started) * 1000)
        elif kind == "message":
            text = frame["message"]["text"]
            started = run.pending.pop(text, None)
            if started is None:
                continue  # the conversation's first message, or an echo already counted
            if frame["message"]["from"] == "agent":
                run.delivery_ms.append((at - started) * 1000)
            else:
                run.rtt_ms.append((at - started) * 1000)
        elif kind == "error":
            run.errors.add("ws", f"widget {i}: {frame}")


async def agent(base: str, token: str, since: float, until: float, run: Run) -> None:
    """Keeps the agent online; from `since`, replies in random conversations, AGENT_REPLIES_PER_S a second."""
    rng = random.Random(5)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        last_presence = 0.0
        for n in itertools.count():
            now = time.perf_counter()
            if now >= until:
                return
            if now - last_presence > 30:
                run.errors.check("agent", await http.put("/api/v1/presence/me", json={"status": "online"}))
                last_presence = now
            await asyncio.sleep(1 / AGENT_REPLIES_PER_S)
            if now < since or not run.conversations:
                continue
            conversation = run.conversations[rng.choice(sorted(run.conversations))]
            body = f"Agent reply {n}: it ships tomorrow."
            run.pending[body] = time.perf_counter()
            run.replies += 1
            answer = await http.post(f"/api/v1/tickets/{conversation}/messages", json={"body": body, "kind": "reply"})
            run.errors.check("agent", answer)


async def measure(
    base: str,
    key: str,
    origin: str,
    sizes: tuple[int, float, float, float],
    agent_token: str | None,
) -> Run:
    widgets, interval_s, duration_s, ramp_s = sizes
    run = Run(interval=interval_s)
    if agent_token:  # online before the first conversation starts: the chats are live, not offline
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            headers = {"Authorization": f"Bearer {agent_token}"}
            run.errors.check("agent", await http.put("/api/v1/presence/me", json={"status": "online"}, headers=headers))
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one_visitor(i: int) -> str | None:
        async with gate:
            return await new_visitor(base, key, origin, i, run)

    tokens = await asyncio.gather(*(one_visitor(i) for i in range(widgets)))
    # Widget i connects and starts its conversation at t0 + i*ramp/N; the messages begin an interval
    # after the ramp, widget i's at `messages` + i*interval/N: spread evenly, N / interval a second.
    t0 = time.perf_counter() + 0.5
    messages = t0 + ramp_s + interval_s
    until = messages + duration_s
    n = max(widgets, 1)
    tasks = [
        asyncio.create_task(
            widget(base, key, origin, i, tok, t0 + i * ramp_s / n, messages + i * interval_s / n, until, run)
        )
        for i, tok in enumerate(tokens)
        if tok is not None
    ]
    if agent_token:
        tasks.append(asyncio.create_task(agent(base, agent_token, messages, until, run)))
    await asyncio.sleep(max(0.0, messages - time.perf_counter()))
    cpu_before = server_cpu_seconds()
    await asyncio.sleep(max(0.0, until - time.perf_counter()))
    deadline = time.perf_counter() + LOST_AFTER_S
    while run.pending and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    run.server_cpu_s = server_cpu_seconds() - cpu_before
    run.stopping = True
    run.finished.set()
    for lost in list(run.pending)[:5]:
        run.errors.add("lost", f"never came back: {lost!r}")
    run.errors.counts["lost"] += max(0, len(run.pending) - 5)
    await asyncio.gather(*tasks, return_exceptions=True)
    return run


def measure_chat(
    base_url: str,
    widget_key: str,
    origin: str,
    *,
    widgets: int,
    interval_s: float,
    duration_s: float,
    agent_token: str | None = None,
    ramp_s: float | None = None,
) -> dict[str, float | int]:
    """N widgets connected at once, each a message every `interval_s` for `duration_s` after the ramp
    (`ramp_s`, by default N / STARTS_PER_S but at least an interval, in which they connect and start
    their conversations); with an agent's API token (which is kept online), agent replies too. See the
    module's docstring for what is timed. The server's CPU time is that of this process's children."""
    ramp = max(interval_s, widgets / STARTS_PER_S) if ramp_s is None else ramp_s
    sizes = (widgets, interval_s, duration_s, ramp)
    run = asyncio.run(measure(base_url, widget_key, origin, sizes, agent_token))
    figures: dict[str, float | int] = {
        "chat_widgets": len(run.conversations),
        "chat_messages": run.sent,
        "chat_rtt_p50_ms": round(percentile(run.rtt_ms, 0.50), 1),
        "chat_rtt_p99_ms": round(percentile(run.rtt_ms, 0.99), 1),
        "chat_rtt_max_ms": round(max(run.rtt_ms, default=0.0), 1),
        "chat_ack_p50_ms": round(percentile(run.ack_ms, 0.50), 1),
        "chat_ack_p99_ms": round(percentile(run.ack_ms, 0.99), 1),
        "client_lag_p99_ms": round(percentile(run.lag_ms, 0.99), 1),
        "chat_errors": sum(run.errors.counts.values()),
        "server_cpu_ms_per_message": round(run.server_cpu_s * 1000 / max(len(run.rtt_ms) + len(run.delivery_ms), 1), 1),
    }
    if agent_token:
        figures.update(
            agent_replies=run.replies,
            agent_delivery_p50_ms=round(percentile(run.delivery_ms, 0.50), 1),
            agent_delivery_p99_ms=round(percentile(run.delivery_ms, 0.99), 1),
        )
    for sample in run.errors.samples[:10]:
        print(f"  error: {sample}", file=sys.stderr)
    return figures


def server_cpu_seconds() -> float:
    """CPU time of this process's children so far: `okno serve` and its web processes."""
    children = Path(f"/proc/self/task/{os.getpid()}/children").read_text().split()
    return sum(tree_cpu_seconds(int(pid)) for pid in children)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def add_widget(env: dict[str, str]) -> str:
    """`okno widget add` for the shop's pages; returns the widget's key."""
    added = okno(env, "widget", "add", "--name", "Shop", "--origin", ORIGIN)
    found = re.search(r"^Key: (\S+)$", added, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no widget key in: {added}")
    return found.group(1)


def bench_one(kind: str, postgres_url: str, *, widgets: int, interval_s: float, duration_s: float) -> dict[str, Any]:
    workers = 2 if kind == "postgres" else 1  # several processes on SQLite need Redis
    result: dict[str, Any] = {"workers": workers}
    with fresh_installation(kind, postgres_url) as installation:
        key = add_widget(installation.env)
        with serving(installation.env, workers, serve_log(installation.directory)) as base:
            result["load_before"] = load_average()
            result.update(
                measure_chat(
                    base,
                    key,
                    ORIGIN,
                    widgets=widgets,
                    interval_s=interval_s,
                    duration_s=duration_s,
                    agent_token=installation.token,
                )
            )
            result["load_after"] = load_average()
    print(
        f"[{kind}] {result['chat_widgets']} widgets, a message every {interval_s:g} s each for {duration_s:g} s "
        f"({result['chat_messages']} messages, {result['agent_replies']} agent replies, "
        f"{result['chat_errors']} errors): "
        f"round trip p50 {result['chat_rtt_p50_ms']} / p99 {result['chat_rtt_p99_ms']} ms "
        f"(ack p99 {result['chat_ack_p99_ms']} ms); agent -> visitor p50 {result['agent_delivery_p50_ms']} / "
        f"p99 {result['agent_delivery_p99_ms']} ms; server CPU {result['server_cpu_ms_per_message']} ms a message; "
        f"load average {result['load_before']} -> {result['load_after']}",
        flush=True,
    )
    return result


def main() -> int:
    parser = bench_arguments(__doc__, "20 widgets, a message every 2 s, for 6 s (test suite)")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--widgets", type=int, help="widgets connected at once (default 500; quick 20)")
    parser.add_argument("--interval", type=float, help="seconds between one widget's messages (default 10; quick 2)")
    parser.add_argument("--duration", type=float, help="seconds of messages after the ramp (default 60; quick 6)")
    args = parser.parse_args()
    # Killed (by `timeout`, say): leave through the finally blocks, which stop the served processes.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    widgets = args.widgets or (20 if args.quick else 500)
    interval_s = args.interval or (2.0 if args.quick else 10.0)
    duration_s = args.duration or (6.0 if args.quick else 60.0)
    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}", flush=True)
    kinds = [k for k in ("sqlite", *(["postgres"] if args.postgres_url else [])) if args.only in (None, k)]
    for kind in kinds:
        sizes = {"widgets": widgets, "interval_s": interval_s, "duration_s": duration_s}
        figures[kind] = bench_one(kind, args.postgres_url, **sizes)
    headline = figures.get("postgres", figures[kinds[0]])
    figures.update({key: value for key, value in headline.items() if key.startswith(("chat_", "agent_"))})
    figures["chat_errors"] = sum(figures[kind]["chat_errors"] for kind in kinds)
    if args.json:
        print(json.dumps(figures), flush=True)
    return 1 if figures["chat_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

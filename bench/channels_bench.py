"""Channels benchmark: mail in through the SMTP receiver and through IMAP, and the chat round trip.

One fresh installation (PostgreSQL by default, SQLite with --sqlite) served as in production with
separate job workers: `okno serve --no-worker` with OKNO_SMTP_RECEIVER_PORT set (the receiver runs
beside the web processes: two on PostgreSQL, one on SQLite) and --workers `okno worker` processes
(default 2). Two mailboxes, support@shop.example (receiving by SMTP) and help@shop.example (by IMAP);
acknowledgements of new tickets go out to an SMTP sink in this process.

1. SMTP: N distinct mails (bench/_mail_corpus.py: varied senders, English and Russian in three
   charsets, HTML, attachments, replies that thread into earlier tickets), and 10 % of them sent
   again byte for byte later on, over C concurrent SMTP connections in a closed loop.
   - smtp_accepted_per_s: 250 answers a second (each one means the raw mail is committed), repeats included;
   - smtp_250_p50_ms / p99: one mail's transaction, from MAIL FROM to the 250 after its data;
   - smtp_filed_per_s: distinct mails a second, from the first MAIL FROM until the workers have filed
     the last one as a message on a ticket (the `channels.email.process` jobs);
   - smtp_file_latency_p50_ms / p99: per mail, from stored to filed (its row's received/processed times).
2. IMAP: M distinct mails, and 10 % again under the same Message-ID, appended to a private Dovecot's
   INBOX (tests/channels/dovecot.py). One fetch job is queued, as the poll does; timed from a worker
   claiming it: imap_fetched_per_s (every appended mail, repeats included, until the fetch jobs of 25
   that queue one another are done) and imap_filed_per_s (distinct mails, until all are filed).
3. Chat: bench/chat_roundtrip.py's measurement on the same server: W widgets connected at once, each
   a message every I s, and an agent replying -> chat_rtt_p50_ms / p99 (see that script for what is timed).

Each mail phase checks the exactly-once promise: stored mails == messages filed == distinct mails,
none quarantined, no dead job; a run that breaks it fails (exit 1), as does a refused mail or a chat
error. Goals, on the 2-core machine: ≥ 100 mails/s taken in through the SMTP receiver (accepted, each
committed before its 250; filing follows in the workers and is reported beside), chat p99 < 200 ms.
The clients share the machine with the server, the workers and the database: figures are conservative,
and the load average at the start and the end is printed beside them.

    python bench/channels_bench.py [--quick] [--json] [--postgres-url URL | --sqlite] [--workers K]
        [--mails N] [--imap-mails M] [--connections C] [--widgets W] [--interval I] [--duration S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._mail_corpus import Mail, corpus, with_duplicates  # noqa: E402
from bench.api_load import (  # noqa: E402
    OKNO,
    Errors,
    bench_arguments,
    free_port,
    fresh_installation,
    percentile,
    serve_log,
    serving,
)
from bench.chat_roundtrip import GOAL_RTT_P99_MS, ORIGIN, measure_chat, server_cpu_seconds  # noqa: E402
from bench.inbox_latency import tree_cpu_seconds  # noqa: E402
from tests.channels.dovecot import DOVECOT, MISSING, Dovecot, dovecot_server  # noqa: E402

from okno.accounts.permissions import Actor  # noqa: E402
from okno.channels.email import imap, mailboxes  # noqa: E402
from okno.channels.email.models import InboundEmail, InboundStatus  # noqa: E402
from okno.channels.email.schemas import MailboxCreate  # noqa: E402
from okno.channels.widget import service as widget_service  # noqa: E402
from okno.channels.widget.schemas import WidgetCreate  # noqa: E402
from okno.config import Settings  # noqa: E402
from okno.crypto import Sealer  # noqa: E402
from okno.db import Database, make_engine  # noqa: E402
from okno.jobs import catalog  # noqa: E402, F401 (every job registered, to queue one)
from okno.jobs.models import Job, JobStatus  # noqa: E402
from okno.jobs.registry import enqueue  # noqa: E402
from okno.runtime import Runtime  # noqa: E402
from okno.tickets.models import Message, MessageKind  # noqa: E402

SMTP_MAILBOX = "support@shop.example"
IMAP_MAILBOX = "help@shop.example"
GOAL_SMTP_PER_S = 100
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FILED_TIMEOUT_S = 600.0
POLL_S = 0.02


class Sink:
    """The mailboxes' outgoing server: takes the acknowledgements and keeps only their number."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received += 1
        return "250 2.0.0 Queued"


@dataclass
class Desk:
    """The served installation: what the phases need to reach it."""

    env: dict[str, str]
    engine: sa.Engine
    base: str
    smtp_port: int
    workers: list[subprocess.Popen[bytes]]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def workers_cpu_s(self) -> float:
        return sum(tree_cpu_seconds(process.pid) for process in self.workers)


def set_up_channels(settings: Settings, sink_port: int, dovecot: Dovecot | None) -> tuple[int, int | None, str]:
    """The two mailboxes and the chat widget, as `okno mailbox add` and `okno widget add` make them
    (in one unit of work here: each command would start Python and import Okno again)."""
    sending = {"smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none"}
    sealer, actor = Sealer(settings.resolved_secret_key()), Actor.system("bench")
    runtime = Runtime.build(settings)
    with runtime.db.write() as session:
        by_smtp = MailboxCreate(address=SMTP_MAILBOX, display_name="Shop support", receiving="smtp", **sending)
        smtp_mailbox = mailboxes.add_mailbox(session, actor, data=by_smtp, sealer=sealer).id
        imap_mailbox = None
        if dovecot is not None:
            by_imap = MailboxCreate(
                address=IMAP_MAILBOX, display_name="Shop help", receiving="imap", imap_host=dovecot.host,
                imap_port=dovecot.port, imap_security="none", imap_username=dovecot.user,
                imap_password=dovecot.password, **sending,
            )  # fmt: skip
            imap_mailbox = mailboxes.add_mailbox(session, actor, data=by_imap, sealer=sealer).id
        shop = WidgetCreate(name="Shop", allowed_origins=[ORIGIN], team_id=None)
        widget_key = widget_service.create_widget(session, actor, data=shop).key
    runtime.close()
    return smtp_mailbox, imap_mailbox, widget_key


@contextmanager
def job_workers(env: dict[str, str], count: int, log_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`okno worker` processes, stopped (SIGTERM, as an operator would) afterwards."""
    with log_path.open("ab") as log:
        processes = [
            subprocess.Popen(
                [OKNO, "worker"],
                env={**env, "OKNO_LOG_LEVEL": "warning"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for _ in range(count)
        ]
        try:
            yield processes
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def send_all(port: int, order: list[Mail], connections: int, errors: Errors) -> tuple[float, list[float]]:
    """Every mail over `connections` SMTP connections, each sending its next as soon as it has a 250."""
    queue, lock, latencies = iter(order), threading.Lock(), []

    def connection() -> list[float]:
        timings = []
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            client.ehlo("mx.shop.example")
            while True:
                with lock:
                    mail = next(queue, None)
                if mail is None:
                    return timings
                started = time.perf_counter()
                try:
                    client.sendmail(mail.sender, [SMTP_MAILBOX], mail.raw)
                except smtplib.SMTPException as exc:
                    errors.add("smtp", f"{mail.message_id}: {exc!r}")
                    client.rset()
                    continue
                timings.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        for timings in pool.map(lambda _: connection(), range(connections)):
            latencies += timings
    return time.perf_counter() - started, latencies


def jobs_active(desk: Desk, name: str | None = None) -> int:
    """Jobs queued and due (a job being run is still queued until it is done): of one name, or all."""
    due = sa.and_(Job.status == JobStatus.queued, Job.run_at <= datetime.now(UTC))
    query = sa.select(sa.func.count()).select_from(Job).where(due)
    if name is not None:
        query = query.where(Job.name == name)
    with desk.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def statuses(desk: Desk, mailbox_id: int) -> dict[str, int]:
    query = (
        sa.select(InboundEmail.status, sa.func.count())
        .where(InboundEmail.mailbox_id == mailbox_id)
        .group_by(InboundEmail.status)
    )
    with desk.engine.connect() as conn:
        return {str(status): int(count) for status, count in conn.execute(query)}


def wait_filed(desk: Desk, mailbox_id: int, distinct: int) -> float:
    """Until none of the mailbox's mails waits to be filed (and `distinct` are stored); returns when."""
    deadline = time.perf_counter() + FILED_TIMEOUT_S
    while True:
        counts = statuses(desk, mailbox_id)
        if counts.get(InboundStatus.queued, 0) == 0 and sum(counts.values()) >= distinct:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"mail not filed within {FILED_TIMEOUT_S:.0f} s: {counts}")
        time.sleep(POLL_S)


def wait_outbox_empty(desk: Desk) -> float:
    """Seconds until the reactions to the filed mails (acknowledgements, routing, notifications) are done too."""
    started = time.perf_counter()
    while jobs_active(desk) and time.perf_counter() - started < FILED_TIMEOUT_S:
        time.sleep(0.1)
    return round(time.perf_counter() - started, 2)


def file_latencies_ms(desk: Desk, mailbox_id: int) -> list[float]:
    query = sa.select(InboundEmail.received_at, InboundEmail.processed_at).where(
        InboundEmail.mailbox_id == mailbox_id, InboundEmail.processed_at.is_not(None)
    )
    with desk.engine.connect() as conn:
        return [(filed - stored).total_seconds() * 1000 for stored, filed in conn.execute(query)]


def exactly_once(desk: Desk, mailbox_id: int, tag: str, distinct: int) -> tuple[dict[str, int], list[str]]:
    """Stored mails, messages filed from them and the tickets they are on; what breaks the promise."""
    counts = statuses(desk, mailbox_id)
    filed = sa.select(
        sa.func.count(), sa.func.count(sa.distinct(Message.external_id)), sa.func.count(sa.distinct(Message.ticket_id))
    ).where(Message.kind == MessageKind.inbound, Message.external_id.like(f"<{tag}.%"))
    with desk.engine.connect() as conn:
        messages, message_ids, tickets = conn.execute(filed).one()
        dead = conn.execute(
            sa.select(sa.func.count()).select_from(Job).where(Job.status == JobStatus.dead)
        ).scalar_one()
    check = {
        "distinct": distinct,
        "stored": sum(counts.values()),
        "filed": counts.get(InboundStatus.processed, 0),
        "quarantined": counts.get(InboundStatus.quarantined, 0),
        "messages": int(messages),
        "tickets": int(tickets),
        "dead_jobs": int(dead),
    }
    problems = [
        f"{what} {check[what]} != {distinct} distinct mails"
        for what in ("stored", "filed", "messages")
        if check[what] != distinct
    ]
    problems += [f"{message_ids} distinct Message-IDs among {messages} messages"] if message_ids != messages else []
    problems += [f"{what}: {check[what]}" for what in ("quarantined", "dead_jobs") if check[what]]
    return check, problems


def smtp_phase(desk: Desk, mailbox_id: int, mails: list[Mail], connections: int, errors: Errors) -> dict[str, Any]:
    order = with_duplicates(mails, seed=2)
    cpu_all, cpu_workers = server_cpu_seconds(), desk.workers_cpu_s()
    started = time.perf_counter()
    sending_s, latencies = send_all(desk.smtp_port, order, connections, errors)
    if errors.counts["smtp"]:
        raise RuntimeError(f"{errors.counts['smtp']} mails refused; the first: {errors.samples[:3]}")
    filed_s = wait_filed(desk, mailbox_id, len(mails)) - started
    workers_cpu = desk.workers_cpu_s() - cpu_workers
    serve_cpu = server_cpu_seconds() - cpu_all - workers_cpu
    outbox_s = wait_outbox_empty(desk)
    check, problems = exactly_once(desk, mailbox_id, "smtp", len(mails))
    file_ms = file_latencies_ms(desk, mailbox_id)
    return {
        "smtp_mails": len(mails),
        "smtp_sent": len(order),
        "smtp_connections": connections,
        "smtp_accepted": len(latencies),
        "smtp_accepted_per_s": round(len(latencies) / sending_s, 1),
        "smtp_250_p50_ms": round(percentile(latencies, 0.50), 1),
        "smtp_250_p99_ms": round(percentile(latencies, 0.99), 1),
        "smtp_filed_per_s": round(len(mails) / filed_s, 1),
        "smtp_file_latency_p50_ms": round(percentile(file_ms, 0.50), 1),
        "smtp_file_latency_p99_ms": round(percentile(file_ms, 0.99), 1),
        "smtp_serve_cpu_ms_per_mail": round(serve_cpu * 1000 / len(order), 2),
        "smtp_worker_cpu_ms_per_mail": round(workers_cpu * 1000 / len(mails), 2),
        "smtp_outbox_empty_after_s": outbox_s,
        "smtp_check": check,
        "smtp_problems": problems,
    }


def imap_phase(desk: Desk, dovecot: Dovecot, mailbox_id: int, mails: list[Mail]) -> dict[str, Any]:
    # A repeat is the same mail delivered twice (a second path through the provider): other bytes, same Message-ID.
    seen: set[str] = set()
    order = []
    for mail in with_duplicates(mails, seed=4):
        again = mail.message_id in seen
        seen.add(mail.message_id)
        order.append(b"X-Delivered-Again: backup-mx.shop.example\r\n" + mail.raw if again else mail.raw)
    dovecot.deliver(*order)
    db = Database(desk.engine)
    earlier = desk.scalar("SELECT coalesce(max(id), 0) FROM jobs")
    with db.write() as session:
        enqueue(session, imap.FETCH_JOB, {"mailbox_id": mailbox_id})
    ours = "FROM jobs WHERE name = :name AND id > :earlier"
    while not desk.scalar(f"SELECT count(*) {ours} AND status <> 'queued'", name=imap.FETCH_JOB, earlier=earlier):
        time.sleep(POLL_S / 4)
    started, claimed, cpu_workers = time.perf_counter(), datetime.now(UTC), desk.workers_cpu_s()
    polls = 1
    while jobs_active(desk, imap.FETCH_JOB) or unseen(dovecot):
        time.sleep(0.5)  # a batch is marked seen just after its commit
        if not jobs_active(desk, imap.FETCH_JOB) and unseen(dovecot):
            with db.write() as session:  # the next poll: one poll drains at most 40 batches
                enqueue(session, imap.FETCH_JOB, {"mailbox_id": mailbox_id})
            polls += 1
    with desk.engine.connect() as conn:  # when the last fetch job finished, on the workers' clock
        last = conn.execute(
            sa.select(sa.func.max(Job.finished_at)).where(Job.name == imap.FETCH_JOB, Job.id > earlier)
        ).scalar_one()
    fetched_s = (last - claimed).total_seconds()
    filed_s = wait_filed(desk, mailbox_id, len(mails)) - started
    workers_cpu = desk.workers_cpu_s() - cpu_workers
    outbox_s = wait_outbox_empty(desk)
    check, problems = exactly_once(desk, mailbox_id, "imap", len(mails))
    file_ms = file_latencies_ms(desk, mailbox_id)
    return {
        "imap_mails": len(mails),
        "imap_appended": len(order),
        "imap_polls": polls,
        "imap_fetched_per_s": round(len(order) / fetched_s, 1),
        "imap_filed_per_s": round(len(mails) / filed_s, 1),
        "imap_file_latency_p50_ms": round(percentile(file_ms, 0.50), 1),
        "imap_file_latency_p99_ms": round(percentile(file_ms, 0.99), 1),
        "imap_worker_cpu_ms_per_mail": round(workers_cpu * 1000 / len(mails), 2),
        "imap_outbox_empty_after_s": outbox_s,
        "imap_check": check,
        "imap_problems": problems,
    }


def unseen(dovecot: Dovecot) -> int:
    return sum("\\Seen" not in flags for flags in dovecot.flags())


def run(kind: str, postgres_url: str, sizes: argparse.Namespace) -> dict[str, Any]:
    errors = Errors()
    sink = Sink()
    outgoing = Controller(sink, hostname="127.0.0.1", port=free_port())
    outgoing.start()
    web_processes = 2 if kind == "postgres" else 1  # several processes on SQLite need Redis
    figures: dict[str, Any] = {"database": kind, "web_processes": web_processes, "workers": sizes.workers}
    smtp_mails = corpus(sizes.mails, mailbox=SMTP_MAILBOX, tag="smtp", seed=1)
    imap_mails = corpus(sizes.imap_mails, mailbox=IMAP_MAILBOX, tag="imap", seed=3)
    try:
        with fresh_installation(kind, postgres_url) as installation, dovecot_or_none() as dovecot:
            env = installation.env
            engine = make_engine(installation.url, pool_size=2)
            settings = Settings(database_url=installation.url, data_dir=Path(env["OKNO_DATA_DIR"]))
            smtp_mailbox, imap_mailbox, widget_key = set_up_channels(settings, outgoing.port, dovecot)
            smtp_port = free_port()
            served = {**env, "OKNO_SMTP_RECEIVER_PORT": str(smtp_port), "OKNO_EMBEDDED_WORKER": "false"}
            log = serve_log(installation.directory)
            with serving(served, web_processes, log) as base, job_workers(served, sizes.workers, log) as workers:
                desk = Desk(served, engine, base, smtp_port, workers)
                figures.update(smtp_phase(desk, smtp_mailbox, smtp_mails, sizes.connections, errors))
                report_smtp(figures)
                if dovecot is not None and imap_mailbox is not None:
                    figures.update(imap_phase(desk, dovecot, imap_mailbox, imap_mails))
                    report_imap(figures)
                chat = measure_chat(
                    base, widget_key, ORIGIN, widgets=sizes.widgets, interval_s=sizes.interval,
                    duration_s=sizes.duration, agent_token=installation.token,
                )  # fmt: skip
                figures.update(chat)
                report_chat(figures, sizes)
            engine.dispose()
    finally:
        outgoing.stop()
    figures["acknowledgements_sent"] = sink.received
    return figures


@contextmanager
def dovecot_or_none() -> Iterator[Dovecot | None]:
    if DOVECOT is None:
        print(f"IMAP left out: {MISSING}", flush=True)
        yield None
        return
    with dovecot_server(user=IMAP_MAILBOX) as dovecot:
        yield dovecot


def report_smtp(f: dict[str, Any]) -> None:
    goal = "met" if f["smtp_accepted_per_s"] >= GOAL_SMTP_PER_S else "MISSED"
    print(
        f"SMTP: {f['smtp_mails']} mails + {f['smtp_sent'] - f['smtp_mails']} repeats over {f['smtp_connections']} "
        f"connections: {f['smtp_accepted_per_s']} accepted/s (goal {GOAL_SMTP_PER_S}/s: {goal}; 250 p50 "
        f"{f['smtp_250_p50_ms']} / p99 {f['smtp_250_p99_ms']} ms); {f['smtp_filed_per_s']} filed/s by "
        f"{f['workers']} workers, stored -> filed p50 {f['smtp_file_latency_p50_ms']} / p99 "
        f"{f['smtp_file_latency_p99_ms']} ms; CPU {f['smtp_serve_cpu_ms_per_mail']} ms a mail in okno serve, "
        f"{f['smtp_worker_cpu_ms_per_mail']} ms in the workers; outbox empty {f['smtp_outbox_empty_after_s']} s "
        f"later; {f['smtp_check']}",
        flush=True,
    )


def report_imap(f: dict[str, Any]) -> None:
    print(
        f"IMAP: {f['imap_mails']} mails + {f['imap_appended'] - f['imap_mails']} repeats in the folder: "
        f"{f['imap_fetched_per_s']} fetched/s ({f['imap_polls']} poll(s)), {f['imap_filed_per_s']} filed/s, "
        f"stored -> filed p50 {f['imap_file_latency_p50_ms']} / p99 {f['imap_file_latency_p99_ms']} ms; worker CPU "
        f"{f['imap_worker_cpu_ms_per_mail']} ms a mail; {f['imap_check']}",
        flush=True,
    )


def report_chat(f: dict[str, Any], sizes: argparse.Namespace) -> None:
    goal = "met" if f["chat_rtt_p99_ms"] < GOAL_RTT_P99_MS else "MISSED"
    print(
        f"chat: {f['chat_widgets']} widgets, a message every {sizes.interval:g} s each for {sizes.duration:g} s "
        f"({f['chat_messages']} messages, {f['chat_errors']} errors): round trip p50 {f['chat_rtt_p50_ms']} / "
        f"p99 {f['chat_rtt_p99_ms']} ms (goal < {GOAL_RTT_P99_MS} ms: {goal})",
        flush=True,
    )


def main() -> int:
    parser = bench_arguments(__doc__, "60 mails by SMTP, 40 by IMAP, 20 widgets for 4 s (test suite)")
    parser.add_argument("--sqlite", action="store_true", help="on SQLite instead of PostgreSQL")
    parser.add_argument("--workers", type=int, default=2, help="`okno worker` processes (default 2)")
    parser.add_argument("--mails", type=int, help="distinct mails sent by SMTP (default 2000; quick 60)")
    parser.add_argument("--imap-mails", type=int, help="distinct mails fetched by IMAP (default 900; quick 40)")
    parser.add_argument("--connections", type=int, help="concurrent SMTP connections (default 8; quick 4)")
    parser.add_argument("--widgets", type=int, help="chat widgets connected at once (default 500; quick 20)")
    parser.add_argument("--interval", type=float, help="seconds between one widget's messages (default 10; quick 2)")
    parser.add_argument("--duration", type=float, help="seconds of chat messages after the ramp (default 60; quick 4)")
    args = parser.parse_args()
    # Stopped from outside (a timeout): the served processes, Dovecot and the database go too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    for name, full, quick in (
        ("mails", 2000, 60), ("imap_mails", 900, 40), ("connections", 8, 4),
        ("widgets", 500, 20), ("interval", 10.0, 2.0), ("duration", 60.0, 4.0),
    ):  # fmt: skip
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}", flush=True)
    load_at_start = round(os.getloadavg()[0], 2)
    kind = "sqlite" if args.sqlite else "postgres"
    figures = run(kind, args.postgres_url or DEFAULT_POSTGRES_URL, args)
    figures["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_at_start": load_at_start,
        "load_avg_at_end": round(os.getloadavg()[0], 2),
    }
    problems = figures.get("smtp_problems", []) + figures.get("imap_problems", [])
    print(f"load average {figures['machine']['load_avg_at_start']} -> {figures['machine']['load_avg_at_end']}")
    for problem in problems:
        print(f"EXACTLY ONCE BROKEN: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(figures), flush=True)
    return 1 if problems or figures["chat_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

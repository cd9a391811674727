from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from types import FrameType

import click
import uvicorn

from okno.channels.email import imap_idle
from okno.channels.email.smtp_receiver import MailReceiver, Protocol
from okno.cli.common import configure_logging, load_settings, runtime_for
from okno.config import Settings
from okno.runtime import freeze_startup_objects

APP = "okno.app:create_app_from_environment"


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


# The largest WebSocket message a client may send (the chat widget's are below 25 000 characters,
# the workspace's far smaller): uvicorn refuses bigger ones before they are read into memory.
WS_MAX_BYTES = 128 * 1024


def _serve_process(host: str, port: int, log_level: str) -> None:
    """One web process with its own listening socket; the kernel spreads connections over them."""
    config = uvicorn.Config(APP, factory=True, log_level=log_level, proxy_headers=True, ws_max_size=WS_MAX_BYTES)
    uvicorn.Server(config).run(sockets=[_bind(host, port, reuse_port=True)])


def _supervise(host: str, port: int, workers: int, log_level: str) -> None:
    """Runs the web processes, restarts one that dies, and stops them all on SIGINT/SIGTERM.

    Each process binds the port itself with SO_REUSEPORT: with one shared socket, Linux hands
    most connections to whichever process waited last, leaving the others idle.
    """
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_serve_process, args=(host, port, log_level), daemon=False)
        process.start()
        return process

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes = [start() for _ in range(workers)]
    while not stopping.wait(0.5):
        for index, process in enumerate(processes):
            if not process.is_alive():
                click.echo(f"web process {process.pid} exited ({process.exitcode}); starting another", err=True)
                processes[index] = start()
    for process in processes:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        process.join(timeout=max(deadline - time.monotonic(), 0.1))
        if process.is_alive():
            process.kill()


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
    log_level = settings.log_level.lower()
    with _mail_intake(settings):
        if workers == 1:
            # uvicorn shuts down on SIGTERM and then raises it again under the handler it found:
            # this one exits through the block above, which closes the receivers and IDLE connections.
            signal.signal(signal.SIGTERM, _exit)
            uvicorn.run(
                APP,
                factory=True,
                host=host,
                port=port,
                log_level=log_level,
                proxy_headers=True,
                ws_max_size=WS_MAX_BYTES,
            )
        else:
            _supervise(host, port, workers, log_level)


def _exit(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


@contextlib.contextmanager
def _mail_intake(settings: Settings) -> Iterator[None]:
    """The SMTP and LMTP receivers, as configured, and the IMAP IDLE supervisor, beside the web processes.

    In this process, not in each web process: one receiver per port, and one supervisor among
    this process and the workers (they share the IDLE lock).
    """
    configured: tuple[tuple[Protocol, str, int | None], ...] = (
        ("smtp", settings.smtp_receiver_host, settings.smtp_receiver_port),
        ("lmtp", settings.lmtp_receiver_host, settings.lmtp_receiver_port),
    )
    runtime = runtime_for(settings)
    with contextlib.ExitStack() as intake:
        intake.callback(runtime.close)
        for protocol, host, port in configured:
            if port is None:
                continue
            receiver = MailReceiver(
                runtime.db, protocol=protocol, host=host, port=port, max_message_bytes=settings.max_email_bytes
            )
            intake.enter_context(receiver)
            click.echo(f"Receiving mail by {protocol.upper()} on {host}:{port}")
        intake.enter_context(imap_idle.watching(runtime.db, settings))
        yield


@click.command()
def worker() -> None:
    """Run background jobs from the outbox until stopped (SIGINT/SIGTERM); run as many as you like."""
    settings = load_settings()
    configure_logging(settings.log_level)
    # The bus is not started: a worker only publishes (which needs no listener) and has no live
    # viewers, so listening would decode every event of every process for nothing.
    runtime = runtime_for(settings)
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        runtime.worker.stop()
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    freeze_startup_objects()
    thread = runtime.worker.start_thread(poll_seconds=settings.worker_poll_seconds)
    click.echo(f"worker {runtime.worker.name} running")
    with imap_idle.watching(runtime.db, settings):
        done.wait()
    thread.join(timeout=30)
    runtime.close()

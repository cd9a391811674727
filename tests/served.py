"""Running the real ``okno`` command against a fresh database, as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from okno.accounts import service as accounts_service
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.accounts.schemas import UserCreate
from okno.db import Database, make_engine

OKNO = str(Path(sys.executable).with_name("okno"))


def okno_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    env.update(OKNO_DATABASE_URL=database_url, OKNO_DATA_DIR=str(data_dir), OKNO_LOG_LEVEL="warning", **extra)
    return env


def run(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OKNO, *args], env=env, capture_output=True, text=True, input=input, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_token(env: dict[str, str]) -> str:
    """An admin and their API token in the served database, made in this process.

    What ``okno createuser`` and ``okno token create`` do (``tests/test_cli.py`` runs those), without
    starting two ``okno`` processes for every served test.
    """
    engine = make_engine(env["OKNO_DATABASE_URL"])
    try:
        with Database(engine).write() as session:
            data = UserCreate(email="root@example.com", name="Root", role=Role.admin, password="root-password-1")
            admin = accounts_service.create_user(session, Actor.system("tests"), data=data)
            _row, token = accounts_service.issue_token(session, admin, name="tests")
    finally:
        engine.dispose()
    return token


@contextmanager
def serving(
    env: dict[str, str], *extra_args: str, start_timeout: float = 30
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    # A file, not a pipe: nobody reads a pipe while the server runs, and a full one would block it.
    log = tempfile.NamedTemporaryFile(prefix="okno-serve-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [OKNO, "serve", "--port", str(port), *extra_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"okno serve did not start: {Path(log.name).read_text()[-4000:]}")
            time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)

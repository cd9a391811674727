"""A private Dovecot IMAP server for the tests and the benchmarks (Debian's dovecot-imapd, installed by scripts/test).

Its own configuration, base_dir, instance name, state and Maildir in a temporary directory, on a
free 127.0.0.1 port, so it never meets a system Dovecot. One user with a plain password from a
passwd-file. Mail is delivered by IMAP APPEND as that user (so files belong to the mail user),
and it is stopped afterwards. Started as root (Dovecot drops to the unprivileged users itself).
Free of pytest, so `bench/channels_bench.py` starts it too: callers look at ``DOVECOT`` first
(the tests' fixture fails without it in CI and skips elsewhere); one that cannot start raises
``RuntimeError`` with its log.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.served import free_port

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
MISSING = "dovecot is not installed (scripts/test installs Debian's dovecot-imapd)"
MAIL_USER = "nobody"  # Dovecot refuses to give mail access as root

CONFIG = """\
base_dir = {root}/run
instance_name = okno-test-{port}
state_dir = {root}/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
last_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        client.select("INBOX")
        return client

    def deliver(self, *raws: bytes) -> None:
        """Appends the mails to INBOX over one connection, in order."""
        client = self.client()
        try:
            for raw in raws:
                status, detail = client.append("INBOX", "", None, raw)  # no flags: it arrives unseen
                if status != "OK":
                    raise RuntimeError(f"APPEND refused: {detail}")
        finally:
            client.logout()

    def flags(self) -> list[str]:
        """The flags of each message in INBOX, in order."""
        client = self.client()
        try:
            status, data = client.fetch("1:*", "(FLAGS)")
            if status != "OK" or data == [None]:
                return []
            return [item.decode() for item in data if isinstance(item, bytes)]
        finally:
            client.logout()

    def mark_all_unseen(self) -> None:
        """What the server holds after a crash between the commit and the \\Seen flag."""
        client = self.client()
        try:
            client.store("1:*", "-FLAGS", r"(\Seen)")
        finally:
            client.logout()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def dovecot_server(
    user: str = "support@shop.example", password: str = "imap-secret", *, capability: str | None = None
) -> Iterator[Dovecot]:
    """The server; ``capability`` replaces what it advertises (e.g. a server without IDLE)."""
    if DOVECOT is None:
        raise RuntimeError(MISSING)
    account = pwd.getpwnam(MAIL_USER)
    # Not under pytest's tmp_path: Dovecot's unprivileged processes must traverse the directory.
    root = Path(tempfile.mkdtemp(prefix="okno-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    os.chown(root / "mail", account.pw_uid, account.pw_gid)
    (root / "users").write_text(
        f"{user}:{{PLAIN}}{password}:{account.pw_uid}:{account.pw_gid}::{root}/mail/{user}::\n", encoding="utf-8"
    )
    config = root / "dovecot.conf"
    settings = CONFIG.format(root=root, port=port, uid=account.pw_uid)
    if capability is not None:
        settings += f"imap_capability = {capability}\n"
    config.write_text(settings, encoding="utf-8")
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    server = Dovecot("127.0.0.1", port, user, password, root)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(server: Dovecot, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{output}\n{server.log()}")
        try:
            server.client().logout()
            return
        except (OSError, imaplib.IMAP4.error) as exc:
            last_error = exc
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not accept a login within 20 s ({last_error}):\n{server.log()}")

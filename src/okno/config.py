"""All settings in one place: environment variables with the ``OKNO_`` prefix.

Built by the app factory or the CLI, never at import time, so tests and commands can
hand in their own. Every secret also has a ``*_FILE`` variant (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_FILE_VARIANTS = ("database_url", "secret_key", "redis_url")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OKNO_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means a SQLite file `okno.db` in the working directory; "
        "PostgreSQL: `postgresql+psycopg://user:pass@host/db`.",
    )
    secret_key: str = Field(
        default="",
        description="Installation secret for signing and encrypting stored credentials. "
        "Empty means a key generated once and kept in `<data_dir>/secret_key`.",
    )
    data_dir: Path = Field(
        default=Path("okno-data"),
        description="Where attachments and the generated secret key live.",
    )
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public URL of this installation.")
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest JSON request body accepted (413 above it)."
    )
    max_attachment_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Largest attachment accepted (413 above it)."
    )
    orphan_attachment_hours: float = Field(
        default=24.0, gt=0, description="Uploaded attachments never linked to a message are swept after this."
    )
    embedded_worker: bool = Field(
        default=True, description="Run the job worker inside `okno serve` (off when `okno worker` runs)."
    )
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="Idle worker's polling interval.")
    realtime: Literal["auto", "memory", "postgres", "redis"] = Field(
        default="auto",
        description="Realtime bus: `auto` picks PostgreSQL NOTIFY on PostgreSQL, Redis when "
        "`OKNO_REDIS_URL` is set, else in-process (one process only).",
    )
    redis_url: str = Field(default="", description="Redis URL for the cross-process realtime bus.")
    login_max_failures: int = Field(
        default=10, ge=1, description="Failed logins per address within the window before refusing."
    )
    login_window_seconds: int = Field(default=900, ge=1, description="Window for counting failed logins.")
    portal_form_min_seconds: float = Field(
        default=3.0,
        ge=0,
        description="The public web form is refused (and served again) when sent sooner than this after it was "
        "shown: people read and type, bots post at once.",
    )
    presence_timeout_seconds: int = Field(
        default=90, ge=15, description="An agent whose pages sent no heartbeat for this long is offline."
    )
    away_after_idle_seconds: int = Field(
        default=600, ge=60, description="An online agent with no keyboard or mouse activity this long becomes away."
    )
    routing_grace_seconds: int = Field(
        default=120,
        ge=0,
        description="How long an agent may be away or offline before their unanswered chats go back to the "
        "routing queue.",
    )
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0, description="How long a SQLite writer waits.")
    db_pool_size: int = Field(default=10, ge=1, description="Connections per process (PostgreSQL).")
    log_level: str = Field(default="info", description="Log level for `okno serve` and `okno worker`.")
    smtp_receiver_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="When set, `okno serve` also receives mail by SMTP on this port (for mail forwarded to Okno).",
    )
    smtp_receiver_host: str = Field(default="127.0.0.1", description="Address the SMTP receiver listens on.")
    lmtp_receiver_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="When set, `okno serve` also receives mail by LMTP on this port (for a local mail server "
        "that delivers to Okno by LMTP).",
    )
    lmtp_receiver_host: str = Field(default="127.0.0.1", description="Address the LMTP receiver listens on.")
    max_email_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest mail the SMTP and LMTP receivers accept (552 above it); larger attachments inside are "
        "dropped later, with a note, by the attachment limit.",
    )
    imap_poll_seconds: int = Field(
        default=60, ge=10, description="How often mailboxes that receive by IMAP are checked for new mail."
    )
    imap_idle: bool = Field(
        default=True,
        description="Keep a connection in IMAP IDLE to each IMAP mailbox whose server offers it, so new mail is "
        "fetched within seconds; polling goes on beside it.",
    )
    ack_expected_response: str | None = Field(
        default=None,
        max_length=200,
        description="The expected first response named in the acknowledgement of a new ticket (e.g. 'within "
        "4 hours'); unset: 'within one business day', in the customer's language.",
    )
    chat_unread_email_seconds: int = Field(
        default=600,
        ge=0,
        description="An agent's chat reply that the visitor has not read in the widget this long after it was sent "
        "goes to their email address, when one is known.",
    )
    rule_regex_timeout_ms: int = Field(
        default=50,
        ge=1,
        le=5000,
        description="Longest a rule's regular expression may search one text; a slower search counts as no match, "
        "and a pattern that is slow on long texts is refused when the rule is saved.",
    )
    sla_warning_minutes: int = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="How long before an SLA target is due its ticket's assignee and team supervisors are warned "
        "(once per target; 0: no warnings).",
    )
    auto_replies_per_hour: int = Field(
        default=3, ge=0, description="Most automatic replies sent to one sender address per hour (0: none at all)."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        ge=1,
        le=60,
        description="The longest one webhook request may take, connecting, sending and reading the answer "
        "together; slower receivers count as failed and are tried again later.",
    )

    @model_validator(mode="before")
    @classmethod
    def _read_file_variants(cls, values: Any) -> Any:
        """``OKNO_SECRET_KEY_FILE=/run/secrets/key`` stands for ``OKNO_SECRET_KEY`` and wins over it."""
        if not isinstance(values, dict):
            return values
        for name in _FILE_VARIANTS:
            path = os.environ.get(f"OKNO_{name.upper()}_FILE")
            if path and not values.get(name):
                values[name] = Path(path).read_text(encoding="utf-8").strip()
        return values

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path('okno.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def realtime_backend(self) -> Literal["memory", "postgres", "redis"]:
        if self.realtime != "auto":
            return self.realtime
        if self.effective_database_url.startswith("postgresql"):
            return "postgres"
        return "redis" if self.redis_url else "memory"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            key_file.chmod(0o600)
        return key_file.read_text(encoding="utf-8").strip()

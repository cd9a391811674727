"""The benchmarks run in their --quick mode, so they cannot rot; their figures are not asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.channels.dovecot import DOVECOT

BENCH = Path(__file__).resolve().parents[2] / "bench"


def quick_figures(script: str, timeout: int) -> dict[str, Any]:
    """Runs a benchmark with --quick --json; it must succeed, and its last line is its figures."""
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.timeout(320)  # a fresh served database per kind, its loops, a bulk load and the lists
def test_api_load_quick() -> None:
    figures = quick_figures("api_load.py", timeout=300)
    for key in ("create_per_s", "p99_ms", "list_p95_ms"):
        assert figures[key] > 0
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("OKNO_TEST_POSTGRES_URL") else [])
    for kind in kinds:
        assert figures[kind]["errors"] == 0 and figures[kind]["outbox_backlog"] >= 0
        assert figures[kind]["healthz_per_s"] > figures[kind]["create_per_s"]


@pytest.mark.timeout(400)  # a fresh served database per kind, loaded, signed in, 20 live pages
def test_inbox_latency_quick() -> None:
    figures = quick_figures("inbox_latency.py", timeout=380)
    assert figures["errors"] == 0
    assert figures["machine"]["cpus"] > 0
    for key in ("inbox_p95_ms", "ticket_p95_ms", "delivery_p99_ms"):
        assert figures[key] > 0
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("OKNO_TEST_POSTGRES_URL") else [])
    for kind in kinds:
        one = figures[kind]
        assert one["errors"] == 0 and one["missed"] == 0
        assert one["loaded"]["tickets"] >= one["tickets"] > 0
        assert one["deliveries"] == one["pages"] * one["replies"] > 0
        for key in ("inbox_p95_ms", "ticket_p95_ms", "delivery_p50_ms", "delivery_p99_ms"):
            assert one[key] > 0
        for page in ("inbox_first_page", "inbox_deep_page", "ticket_page"):
            assert all(one[page][q] > 0 for q in ("p50_ms", "p95_ms", "p99_ms"))


@pytest.mark.timeout(600)  # a fresh PostgreSQL database, two worker processes, 400 arrivals and a burst
def test_routing_replay_quick() -> None:
    if not os.environ.get("OKNO_TEST_POSTGRES_URL"):
        pytest.skip("routing is measured on PostgreSQL: set OKNO_TEST_POSTGRES_URL")
    result = subprocess.run(
        [sys.executable, str(BENCH / "routing_replay.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=580,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["decisions"] > 0 and figures["decisions_per_s"] > 0 and figures["assign_latency_p99_ms"] > 0
    # The two properties routing promises, checked on the whole replay:
    assert figures["max_load_over_capacity"] == 0
    assert figures["max_wait_while_capacity_s"] == 0
    assert figures["dead_jobs"] == 0
    assert figures["burst"]["assigned"] > 0


def test_business_hours_quick() -> None:
    figures = quick_figures("business_hours.py", timeout=120)
    assert figures["calls_per_s"] > 0 and figures["add_p99_us"] > 0 and figures["between_p99_us"] > 0
    for name in ("moscow_office", "bucharest_office", "weekend_nights", "always"):
        assert figures[name]["warm"]["calls"] > figures[name]["cold"]["calls"] > 0


@pytest.mark.timeout(300)  # a fresh served database per kind, 20 widgets connected
def test_chat_roundtrip_quick() -> None:
    figures = quick_figures("chat_roundtrip.py", timeout=280)
    assert figures["chat_errors"] == 0
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("OKNO_TEST_POSTGRES_URL") else [])
    for kind in kinds:
        one = figures[kind]
        assert one["chat_widgets"] == 20 and one["chat_messages"] == 20 * 3
        assert one["agent_replies"] > 0
        for key in ("chat_rtt_p50_ms", "chat_rtt_p99_ms", "chat_ack_p99_ms", "agent_delivery_p99_ms"):
            assert one[key] > 0


@pytest.mark.timeout(200)  # one served installation, two workers, a private Dovecot, 20 widgets
def test_channels_bench_quick() -> None:
    postgres = os.environ.get("OKNO_TEST_POSTGRES_URL")
    result = subprocess.run(
        [sys.executable, str(BENCH / "channels_bench.py"), "--quick", "--json", *([] if postgres else ["--sqlite"])],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["database"] == ("postgres" if postgres else "sqlite")
    # Every mail stored once and filed once, however often it came:
    phases = ["smtp", *(["imap"] if DOVECOT else [])]
    for phase in phases:
        check = figures[f"{phase}_check"]
        assert check["stored"] == check["filed"] == check["messages"] == check["distinct"] > 0
        assert check["quarantined"] == 0 and check["dead_jobs"] == 0 and figures[f"{phase}_problems"] == []
        assert 0 < check["tickets"] < check["distinct"]  # the replies went onto their tickets
    assert figures["smtp_accepted"] == figures["smtp_sent"] > figures["smtp_mails"]
    assert figures["chat_errors"] == 0 and figures["chat_messages"] == figures["chat_widgets"] * 2 > 0
    for key in ("smtp_accepted_per_s", "smtp_filed_per_s", "smtp_250_p99_ms", "chat_rtt_p99_ms"):
        assert figures[key] > 0
    assert figures["machine"]["cpus"] > 0 and "load_avg_at_end" in figures["machine"]

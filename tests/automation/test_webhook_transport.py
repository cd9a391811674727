"""One webhook request: the address checked is the address connected to; limits hold."""

from __future__ import annotations

import time

import pytest

from okno.automation.webhooks import transport
from tests.automation.webhook_receiver import Receiver


def post(url: str, *, allow_private: bool = True, **options: object) -> transport.Outcome:
    values: dict[str, object] = {"timeout_seconds": 5.0, "max_response_bytes": 64 * 1024} | options
    return transport.post(url, b"{}", {"Content-Type": "application/json"}, allow_private=allow_private, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.20.30.40/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",  # 169.254.169.254, written in hex
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://0x7f.1/hook",
        "http://localhost:9/hook",
    ],
)
def test_private_targets_are_refused_before_any_connection(url: str) -> None:
    outcome = post(url, allow_private=False)
    assert outcome.refused and not outcome.retry and outcome.address is None and outcome.status_code is None


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    outcome = post(
        "http://hooks.example.test/hook", allow_private=False, resolve=lambda host, port: ["93.184.215.14", "10.0.0.7"]
    )
    assert outcome.refused and outcome.error is not None and "10.0.0.7" in outcome.error


def test_the_connection_goes_to_the_checked_address_under_the_original_name(receiver: Receiver) -> None:
    answers: list[list[str]] = [["127.0.0.1"], ["10.9.9.9"]]  # a rebinding DNS: another answer the second time
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked) - 1, 1)]

    outcome = post(receiver.url(host="hooks.example.test"), resolve=rebinding)
    assert outcome.delivered and outcome.address == "127.0.0.1"
    assert asked == ["hooks.example.test"]  # resolved once, by the check; the client never resolves again
    (hit,) = receiver.received
    assert hit.headers["host"] == f"hooks.example.test:{receiver.port}"


def test_ipv4_mapped_addresses_connect_as_ipv4(receiver: Receiver) -> None:
    outcome = post(receiver.url(host="[::ffff:127.0.0.1]"))
    assert outcome.delivered and outcome.address == "127.0.0.1"


def test_a_slow_receiver_is_cut_off_at_the_deadline(receiver: Receiver) -> None:
    started = time.monotonic()
    outcome = post(receiver.url("/drip"), timeout_seconds=1.0)
    assert time.monotonic() - started < 3
    assert outcome.retry and outcome.error is not None and outcome.error.startswith("timed out")


def test_only_the_start_of_a_long_answer_is_read(receiver: Receiver) -> None:
    receiver.answers["/big"] = lambda: (200, {}, b"x" * (4 * 1024 * 1024))
    outcome = post(receiver.url("/big"), max_response_bytes=1024)
    assert outcome.delivered and outcome.body_excerpt == "x" * transport.EXCERPT_CHARS


def test_nothing_listening_is_a_failure_to_retry() -> None:
    outcome = post("http://127.0.0.1:9/hook")
    assert outcome.retry and not outcome.refused and outcome.error is not None

"""The public form's signed timestamp, case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from okno.channels.portal.form_token import MAX_AGE_SECONDS, Verdict, issue, verify

SERVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = issue("secret", SERVED)


@pytest.mark.parametrize(
    ("token", "secret", "seconds_later", "verdict"),
    [
        (TOKEN, "secret", 10, Verdict.ok),
        (TOKEN, "secret", 3, Verdict.ok),  # exactly the minimum
        (TOKEN, "secret", 2, Verdict.too_fast),
        (TOKEN, "secret", -5, Verdict.too_fast),  # from the future: not a person's typing
        (TOKEN, "secret", MAX_AGE_SECONDS + 1, Verdict.stale),
        (TOKEN, "another installation", 10, Verdict.forged),
        (str(int(SERVED.timestamp()) - 60) + TOKEN[TOKEN.index(".") :], "secret", 10, Verdict.forged),  # moved back
        ("", "secret", 10, Verdict.forged),
        ("123", "secret", 10, Verdict.forged),
        ("abc.def", "secret", 10, Verdict.forged),
        ("9" * 40 + ".x", "secret", 10, Verdict.forged),
    ],
)
def test_verdicts(token: str, secret: str, seconds_later: int, verdict: Verdict) -> None:
    assert verify(secret, token, SERVED + timedelta(seconds=seconds_later), min_seconds=3) == verdict

"""The chat's token buckets, at hand-computed instants."""

from __future__ import annotations

import pytest

from okno.channels.chat.throttle import Buckets, Rate

# A burst of 3, then one token every 2 seconds.
RATE = Rate(burst=3, seconds_per_token=2.0)


@pytest.mark.parametrize(
    ("instants", "expected"),
    [
        ([0, 0, 0], [True, True, True]),  # the burst
        ([0, 0, 0, 0], [True, True, True, False]),  # then empty
        ([0, 0, 0, 0, 1.9], [True, True, True, False, False]),  # 0.95 of a token is not one
        ([0, 0, 0, 0, 2.0], [True, True, True, False, True]),  # one token back after 2 s
        ([0, 0, 0, 6.0, 6.0, 6.0, 6.0], [True, True, True, True, True, True, False]),  # refilled, never past 3
        ([0, 100, 100, 100, 100], [True, True, True, True, False]),  # a long pause still gives only the burst
    ],
)
def test_a_bucket_gives_its_burst_then_one_token_per_period(instants: list[float], expected: list[bool]) -> None:
    buckets = Buckets()
    assert [buckets.allow("visitor:1", RATE, now) for now in instants] == expected


def test_several_buckets_take_a_token_only_when_all_have_one() -> None:
    buckets = Buckets()
    one = Rate(burst=1, seconds_per_token=10.0)
    assert buckets.allow_all([("visitor", RATE), ("client", one)], 0.0)
    # The client's bucket is empty: nothing is taken from the visitor's either.
    assert not buckets.allow_all([("visitor", RATE), ("client", one)], 1.0)
    assert [buckets.allow("visitor", RATE, 1.0) for _ in range(3)] == [True, True, False]


def test_keys_are_separate_and_the_oldest_are_forgotten() -> None:
    buckets = Buckets(capacity=2)
    single = Rate(burst=1, seconds_per_token=60.0)
    assert buckets.allow("a", single, 0) and not buckets.allow("a", single, 0)
    assert buckets.allow("b", single, 0) and buckets.allow("c", single, 0)
    assert buckets.allow("a", single, 0)  # "a" was the least recently used: forgotten, full again

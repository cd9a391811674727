"""Token buckets for the chat's live traffic: messages, typing and read marks.

Counting every chat message in the database (``accounts.rate_limits``) would add a write to
each one; the live traffic is throttled in the process instead, per visitor and per client
address across all of a process's connections, which bounds what one browser (or one
address) can push through. Starting conversations, asking for codes and for transcripts are
counted in the database, shared by every process. Pure: "now" is handed in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    burst: int
    seconds_per_token: float


MESSAGES_PER_VISITOR = Rate(burst=10, seconds_per_token=1.5)
MESSAGES_PER_CLIENT = Rate(burst=60, seconds_per_token=0.25)
TYPING = Rate(burst=3, seconds_per_token=2.0)
READS = Rate(burst=10, seconds_per_token=0.5)


class Buckets:
    """Many token buckets by key, the least recently used forgotten past ``capacity``."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, rate: Rate, now: float) -> bool:
        """Takes a token from the key's bucket if it has one."""
        return self.allow_all([(key, rate)], now)

    def allow_all(self, checks: list[tuple[str, Rate]], now: float) -> bool:
        """All of the buckets must have a token; none is taken unless all do."""
        with self._lock:
            states = []
            for key, rate in checks:
                tokens, then = self._state.get(key, (float(rate.burst), now))
                tokens = min(float(rate.burst), tokens + max(0.0, now - then) / rate.seconds_per_token)
                states.append((key, tokens))
            allowed = all(tokens >= 1 for _key, tokens in states)
            for key, tokens in states:
                self._state.pop(key, None)
                self._state[key] = (tokens - 1 if allowed else tokens, now)
            while len(self._state) > self.capacity:
                self._state.popitem(last=False)
            return allowed

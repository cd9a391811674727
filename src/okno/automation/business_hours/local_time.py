"""Local wall-clock time and UTC in an IANA zone: the conversions business hours rely on (pure).

A wall-clock time that does not exist (skipped by a spring-forward change) is read as the moment of
the change; one that occurs twice (autumn) as its first occurrence. Both keep intervals in order.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = timedelta(days=1)


def zone(name: str) -> ZoneInfo:
    """The IANA zone by name; ValueError for a name that is not one."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    if not name or name != name.strip():
        raise ValueError(name)
    return ZoneInfo(name)


def to_utc(local: datetime, tz: tzinfo) -> datetime:
    """A local wall-clock time as a UTC instant (first occurrence; a skipped time as the moment of the jump)."""
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if aware.utcoffset() == aware.replace(fold=1).utcoffset():
        return utc  # the usual case: the wall-clock time exists exactly once
    if utc.astimezone(tz).replace(tzinfo=None) == local:
        return utc  # occurs twice (autumn): fold=0 is the first occurrence
    # Skipped by a spring-forward change: find the moment of the jump, the first instant whose wall
    # clock reads ``local`` or later; it lies between the two readings of the time.
    low = int(aware.replace(fold=1).timestamp())
    high = int(utc.timestamp())
    while low < high:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= local:
            high = mid
        else:
            low = mid + 1
    return datetime.fromtimestamp(low, UTC)


@functools.lru_cache(maxsize=256)
def offset_change_days(time_zone: str, year: int) -> tuple[date, ...]:
    """Local dates of ``year`` during which the UTC offset changes (and the day after each)."""
    tz = zone(time_zone)
    first = datetime(year, 1, 1, tzinfo=tz)
    days: list[date] = []
    previous = first.utcoffset()
    count = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    for i in range(1, count + 1):
        offset = (first + timedelta(days=i)).utcoffset()  # wall-clock arithmetic: the next local midnight
        if offset != previous:
            changed = date(year, 1, 1) + timedelta(days=i - 1)
            days.extend((changed, changed + DAY))
            previous = offset
    return tuple(days)

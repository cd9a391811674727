"""Business-time arithmetic micro benchmark: add_business_time and business_time_between, no database.

Random instants over three years and random deltas of business time up to 90 days, on calendars
shaped like real ones: office hours with a country's holidays (Europe/Moscow, no daylight saving),
office hours with holidays, working Saturdays and daylight-saving changes (Europe/Bucharest),
weekend night shifts across midnight (Europe/Bucharest) and 24/7 (America/New_York).
Every result is checked: business_time_between(start, add_business_time(start, d)) == d.

Figures per calendar and overall: calls per second and p50/p99 microseconds of each operation,
on warm calendars (each calendar keeps the open intervals of the days it has seen) and cold
ones (a new calendar for every call: the cost of building the intervals day by day).

    python bench/business_hours.py [--quick] [--json] [--calls N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from okno.automation.business_hours.calendar import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)

WORKDAYS = range(5)
RUSSIAN = [(1, d) for d in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
ROMANIAN = [(1, 1), (1, 2), (1, 6), (1, 7), (1, 24), (5, 1), (6, 1), (8, 15), (11, 30), (12, 1), (12, 25), (12, 26)]

CALENDARS = {
    "moscow_office": BusinessCalendar.build(
        "Europe/Moscow",
        {d: ["09:00-18:00"] for d in WORKDAYS},
        yearly_holidays=RUSSIAN,
        holidays={date(2026, 1, 9), date(2026, 3, 9), date(2026, 5, 11), date(2026, 12, 31)},
    ),
    "bucharest_office": BusinessCalendar.build(
        "Europe/Bucharest",
        {d: ["09:00-13:00", "14:00-17:00"] for d in WORKDAYS},
        yearly_holidays=ROMANIAN,
        holidays={date(2026, 4, 10), date(2026, 4, 13), date(2027, 4, 30), date(2027, 5, 3)},
        special_days={date(2026, 3, 28): ["10:00-14:00"], date(2026, 10, 24): ["10:00-14:00"]},
    ),
    "weekend_nights": BusinessCalendar.build("Europe/Bucharest", {4: ["22:00-06:00"], 5: ["22:00-06:00"]}),
    "always": BusinessCalendar.build("America/New_York", {d: ["00:00-00:00"] for d in range(7)}),
}
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 3 * 365 * 24 * 60
MAX_DELTA_MINUTES = 90 * 24 * 60


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cases(count: int, seed: int) -> list[tuple[datetime, timedelta]]:
    rng = random.Random(seed)
    return [
        (START + timedelta(minutes=rng.randrange(SPAN_MINUTES)), timedelta(minutes=rng.randrange(MAX_DELTA_MINUTES)))
        for _ in range(count)
    ]


def fresh(cal: BusinessCalendar) -> BusinessCalendar:
    return BusinessCalendar(cal.time_zone, cal.week, cal.holidays, cal.yearly_holidays, cal.special_days, cal.name)


def measure(cal: BusinessCalendar, work: list[tuple[datetime, timedelta]], *, cold: bool) -> dict[str, Any]:
    add_us: list[float] = []
    between_us: list[float] = []
    clock = time.perf_counter
    started = clock()
    for start, delta in work:
        used = fresh(cal) if cold else cal
        t0 = clock()
        end = add_business_time(used, start, delta)
        t1 = clock()
        used = fresh(cal) if cold else cal
        t2 = clock()
        back = business_time_between(used, start, end)
        t3 = clock()
        if back != delta:
            raise AssertionError(f"{cal.time_zone}: {start} + {delta} = {end}, but between gives {back}")
        add_us.append((t1 - t0) * 1e6)
        between_us.append((t3 - t2) * 1e6)
    elapsed = clock() - started
    return {
        "calls": 2 * len(work),
        "calls_per_s": round(2 * len(work) / elapsed),
        "add_p50_us": round(percentile(add_us, 0.5), 1),
        "add_p99_us": round(percentile(add_us, 0.99), 1),
        "between_p50_us": round(percentile(between_us, 0.5), 1),
        "between_p99_us": round(percentile(between_us, 0.99), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few hundred calls per calendar (test suite)")
    parser.add_argument("--json", action="store_true", help="end the output with one line of JSON with the figures")
    parser.add_argument("--calls", type=int, default=0, help="pairs of calls per calendar (default 20000, quick 300)")
    args = parser.parse_args()
    count = args.calls or (300 if args.quick else 20_000)
    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}", flush=True)
    print(f"{count} random (start, delta <= 90 days) pairs per calendar; every result checked by inverting it")
    all_add: list[float] = []
    all_between: list[float] = []
    total_calls = 0
    total_seconds = 0.0
    for seed, (name, cal) in enumerate(CALENDARS.items()):
        work = cases(count, seed)
        t0 = time.perf_counter()
        warm = measure(cal, work, cold=False)
        total_seconds += time.perf_counter() - t0
        total_calls += warm["calls"]
        cold = measure(cal, work[: max(20, count // 10)], cold=True)
        figures[name] = {"warm": warm, "cold": cold}
        all_add.append(warm["add_p99_us"])
        all_between.append(warm["between_p99_us"])
        print(
            f"{name:>17}: {warm['calls_per_s']:>7} calls/s warm; add p50 {warm['add_p50_us']} µs p99 "
            f"{warm['add_p99_us']} µs; between p50 {warm['between_p50_us']} µs p99 {warm['between_p99_us']} µs; "
            f"cold add p99 {cold['add_p99_us']} µs",
            flush=True,
        )
    figures["calls_per_s"] = round(total_calls / total_seconds)
    figures["add_p99_us"] = max(all_add)
    figures["between_p99_us"] = max(all_between)
    print(
        f"overall: {figures['calls_per_s']} calls/s; worst p99: add {figures['add_p99_us']} µs, "
        f"between {figures['between_p99_us']} µs"
    )
    if args.json:
        print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

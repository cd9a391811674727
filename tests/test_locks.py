"""Installation-wide locks (``Database.try_hold``): one holder at a time, free again once released or
once the holding process dies, on both databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from okno.db import Database, make_engine
from tests import databases

HOLD_UNTIL_KILLED = """
import sys, time
from okno.db import Database, make_engine
lock = Database(make_engine(sys.argv[1])).try_hold("imap-idle")
print("held" if lock else "refused", flush=True)
time.sleep(60)
"""


def test_one_holder_at_a_time_until_released(idle_template: databases.Template, tmp_path: Path) -> None:
    url = idle_template.fresh_url(tmp_path)
    first, second = Database(make_engine(url)), Database(make_engine(url))
    try:
        held = first.try_hold("imap-idle")
        assert held is not None and held.held()
        assert second.try_hold("imap-idle") is None
        other = second.try_hold("another-role")
        assert other is not None  # locks of other names are independent
        other.release()

        held.release()
        taken = second.try_hold("imap-idle")
        assert taken is not None and taken.held()
        taken.release()
    finally:
        first.dispose()
        second.dispose()


def test_a_lock_dies_with_its_holder(idle_template: databases.Template, tmp_path: Path) -> None:
    url = idle_template.fresh_url(tmp_path)
    db = Database(make_engine(url))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_KILLED, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert db.try_hold("imap-idle") is None
        holder.kill()  # no release: the process is gone
        holder.wait(10)
        taken = db.try_hold("imap-idle")
        assert taken is not None
        taken.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        db.dispose()

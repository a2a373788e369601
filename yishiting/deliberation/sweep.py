"""The deliberation's clocks in the one deadline sweep (`requests.sweep.run_pass` calls
`run_pass` here): a compelled meeting's convene deadline and the publicity deadlines of
resolutions and implementation results.

Like the requests' clocks, each row keeps its earliest pending deadline in an indexed
`next_due_at` column, so a pass reads only what is due; `actions.do_late` acts on one row
guarded by that column, so two sweeps never act twice.
"""

from __future__ import annotations

from datetime import datetime

from yishiting.deliberation import actions
from yishiting.deliberation.models import Meeting, Project


def run_pass(now: datetime, limit: int = 200) -> int:
    """Act on every deliberation clock due by `now`; returns how many were acted on."""
    acted = 0
    rows: list[Meeting | Project] = [
        *Meeting.objects.filter(next_due_at__lte=now).select_related("hall")[:limit],
        *Project.objects.filter(next_due_at__lte=now).select_related("hall")[:limit],
    ]
    for row in sorted(rows, key=lambda r: r.next_due_at or now):
        if row.next_due_at is not None:
            acted += actions.do_late(row, due_at=row.next_due_at, now=now)
    return acted

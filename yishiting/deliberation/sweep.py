"""The deliberation's clocks in the one deadline sweep (`requests.sweep.run_pass` calls
`run_pass` here): a compelled meeting's convene deadline and the publicity deadlines of
resolutions and implementation results.

Like the requests' clocks, each row keeps its earliest pending deadline in an indexed
`next_due_at` column; an idle pass is one query over both tables' partial indexes, whatever
their size. `actions.do_late` acts on one row guarded by that column, so two sweeps never
act twice.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import CharField, Value

from yishiting.deliberation import actions
from yishiting.deliberation.models import Meeting, Project


def due(now: datetime, limit: int = 200) -> list[tuple[str, int]]:
    """(kind, id) of the meetings and projects with a clock due at `now`, earliest first."""
    kind = CharField(max_length=8)
    meetings = (
        Meeting.objects.filter(next_due_at__lte=now)
        .annotate(kind=Value("meeting", output_field=kind))
        .values_list("kind", "pk", "next_due_at")
        .order_by()
    )
    projects = (
        Project.objects.filter(next_due_at__lte=now)
        .annotate(kind=Value("project", output_field=kind))
        .values_list("kind", "pk", "next_due_at")
        .order_by()
    )
    rows = meetings.union(projects, all=True).order_by("next_due_at")[:limit]
    return [(k, pk) for k, pk, _at in rows]


def run_pass(now: datetime, limit: int = 200) -> int:
    """Act on every deliberation clock due by `now`; returns how many were acted on."""
    acted = 0
    for kind, pk in due(now, limit):
        row: Meeting | Project | None = (
            Meeting.objects.select_related("hall").filter(pk=pk).first()
            if kind == "meeting"
            else Project.objects.select_related("hall").filter(pk=pk).first()
        )
        if row is not None and row.next_due_at is not None and row.next_due_at <= now:
            acted += actions.do_late(row, due_at=row.next_due_at, now=now)
    return acted

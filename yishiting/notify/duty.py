"""The duty roster (值班表) as the notification rules need it: who is on duty, whether an
instant is off-hours, and which coming off-hours stretches nobody covers."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from yishiting.orgs.models import DutyShift, User, calendar_overrides
from yishiting.requests import clocks

LOOKAHEAD_DAYS = 14


def calendar() -> clocks.WorkCalendar:
    """The statutory calendar with the admins' overrides."""
    return clocks.WorkCalendar(calendar_overrides())


def _working(
    d: date, cal: clocks.WorkCalendar, hours: clocks.WorkingHours = clocks.DEFAULT_HOURS
) -> list[tuple[datetime, datetime]]:
    """The working periods of local day `d` (none on a rest day)."""
    if not cal.is_workday(d):
        return []
    return [
        (
            datetime.combine(d, start, tzinfo=clocks.LOCAL_TZ),
            datetime.combine(d, end, tzinfo=clocks.LOCAL_TZ),
        )
        for start, end in hours.periods
    ]


def is_off_hours(
    at: datetime,
    cal: clocks.WorkCalendar | None = None,
    hours: clocks.WorkingHours = clocks.DEFAULT_HOURS,
) -> bool:
    """Outside working hours (the county's, or a department's `hours`), or on a weekend or
    holiday (调休 working days count as work)."""
    cal = cal or calendar()
    local = at.astimezone(clocks.LOCAL_TZ)
    return not any(lo <= local < hi for lo, hi in _working(local.date(), cal, hours))


def on_duty(county_code: str, at: datetime) -> list[User]:
    """Whoever has a shift covering `at` in the county."""
    ids = DutyShift.on_duty(county_code, at)
    users = User.objects.in_bulk(ids) if ids else {}
    return [users[i] for i in ids if i in users]


def off_hours_periods(
    start: datetime, end: datetime, cal: clocks.WorkCalendar | None = None
) -> list[tuple[datetime, datetime]]:
    """The off-hours stretches between `start` and `end`, in order: the complement of the
    working periods."""
    cal = cal or calendar()
    day = start.astimezone(clocks.LOCAL_TZ).date()
    last = end.astimezone(clocks.LOCAL_TZ).date()
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    while day <= last:
        for lo, hi in _working(day, cal):
            if hi <= cursor or lo >= end:
                continue
            if lo > cursor:
                out.append((cursor, lo))
            cursor = max(cursor, hi)
        day += timedelta(days=1)
    if cursor < end:
        out.append((cursor, end))
    return out


def _merge(periods: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(periods):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        elif hi > lo:
            merged.append((lo, hi))
    return merged


def uncovered(
    county_code: str, start: datetime | None = None, days: int = LOOKAHEAD_DAYS
) -> list[tuple[datetime, datetime]]:
    """Off-hours stretches in the next `days` days that no duty shift covers."""
    start = start or timezone.now()
    end = start + timedelta(days=days)
    shifts = _merge(
        [
            (max(s, start), min(e, end))
            for s, e in DutyShift.objects.filter(
                county__code=county_code, ends_at__gt=start, starts_at__lt=end
            ).values_list("starts_at", "ends_at")
        ]
    )
    gaps: list[tuple[datetime, datetime]] = []
    for lo, hi in off_hours_periods(start, end):
        cursor = lo
        for s, e in shifts:
            if e <= cursor or s >= hi:
                continue
            if s > cursor:
                gaps.append((cursor, s))
            cursor = max(cursor, e)
        if cursor < hi:
            gaps.append((cursor, hi))
    return [(a, b) for a, b in gaps if b - a >= timedelta(minutes=1)]

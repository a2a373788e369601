"""System checks for what admins must keep up to date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.checks import Warning, register
from django.db import DatabaseError
from django.utils import timezone

from yishiting.orgs.models import calendar_overrides
from yishiting.requests.clocks import WorkCalendar

# How far ahead the holiday calendar must be known: deadlines run weeks ahead.
HORIZON = timedelta(days=60)


@register("yishiting")
def holiday_calendar_check(**kwargs: Any) -> list[Warning]:
    """Warn when the next 60 days fall in a year with no holiday calendar (§4)."""
    try:
        cal = WorkCalendar(calendar_overrides())
    except DatabaseError:  # not migrated yet
        return []
    today = timezone.localdate()
    for offset in range(0, HORIZON.days + 1, 7):
        cal.is_workday(today + timedelta(days=offset))
    return [
        Warning(
            f"no holiday calendar for {year}: weekends count as rest days",
            hint="enter the year's holidays and make-up working days in the admin (节假日调整)",
            id="yishiting.W001",
        )
        for year in sorted(cal.unknown_years)
    ]

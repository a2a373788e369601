"""Deadline arithmetic for the SLA clocks (PRODUCT.md §4): pure functions, no database."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "DEFAULT_HOURS",
    "LOCAL_TZ",
    "MAX_REST_RUN_DAYS",
    "Basis",
    "WorkCalendar",
    "WorkingHours",
    "add",
    "elapsed",
]

# Working days and hours are those of the county, whatever zone a caller's datetime carries.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Overrides could in theory mark every day as a rest day; a deadline search must then stop
# with a clear error instead of spinning forever. No real calendar has a rest run this long.
MAX_REST_RUN_DAYS = 400

_ONE_SECOND = timedelta(seconds=1)
_ONE_DAY = timedelta(days=1)

# Admins type these in Chinese input methods too, so full-width separators are accepted.
_TIME = r"([0-9]{1,2})[:：]([0-9]{2})(?:[:：]([0-9]{2}))?"
_PERIOD_RE = re.compile(rf"^\s*{_TIME}\s*[-－–~～]\s*{_TIME}\s*$")
_SEPARATOR_RE = re.compile(r"[,，;；]")


class Basis(StrEnum):
    """How a clock's time runs."""

    CALENDAR = "calendar"
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"


def _fmt(t: time) -> str:
    """Format a time of day as HH:MM, or HH:MM:SS when it has seconds."""
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")


def _clock(hour: str, minute: str, second: str | None, chunk: str) -> time:
    """Build a time of day from parsed fields, with a message naming the offending text."""
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        raise ValueError(
            f"{chunk.strip()!r}: {hour}:{minute} is not a time of day (00:00–23:59); "
            "round-the-clock work uses the working_days basis instead"
        )
    return time(h, m, s)


@dataclass(frozen=True)
class WorkingHours:
    """A department's daily working periods, in county local time."""

    periods: tuple[tuple[time, time], ...]

    def __post_init__(self) -> None:
        """Reject empty, inverted, unsorted or overlapping periods."""
        if not self.periods:
            raise ValueError("working hours need at least one period, e.g. '08:30-12:00'")
        previous: tuple[time, time] | None = None
        for start, end in self.periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working hours are local wall-clock times; drop the tzinfo")
            if start.microsecond or end.microsecond:
                raise ValueError("working hours are whole seconds")
            if end <= start:
                raise ValueError(
                    f"period {_fmt(start)}-{_fmt(end)} must end after it starts "
                    "(periods cannot run past midnight)"
                )
            if previous is not None:
                if start < previous[0]:
                    raise ValueError(
                        f"periods out of order: {_fmt(start)}-{_fmt(end)} "
                        f"comes after {_fmt(previous[0])}-{_fmt(previous[1])}"
                    )
                if start < previous[1]:
                    raise ValueError(
                        f"periods {_fmt(previous[0])}-{_fmt(previous[1])} and "
                        f"{_fmt(start)}-{_fmt(end)} overlap"
                    )
            previous = (start, end)

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Parse '08:30-12:00,13:30-17:30' (any order); ValueError on bad text."""
        if not text or not text.strip():
            raise ValueError("working hours are empty; expected e.g. '08:30-12:00,13:30-17:30'")
        periods: list[tuple[time, time]] = []
        for chunk in _SEPARATOR_RE.split(text):
            match = _PERIOD_RE.match(chunk)
            if match is None:
                raise ValueError(
                    f"cannot read {chunk.strip()!r} as a period; "
                    "expected HH:MM-HH:MM, e.g. '08:30-12:00,13:30-17:30'"
                )
            h1, m1, s1, h2, m2, s2 = match.groups()
            periods.append((_clock(h1, m1, s1, chunk), _clock(h2, m2, s2, chunk)))
        # Sorting here lets an admin list periods in any order; overlaps still fail below.
        periods.sort()
        return cls(tuple(periods))

    def __str__(self) -> str:
        """Return the canonical text form accepted by parse."""
        return ",".join(f"{_fmt(start)}-{_fmt(end)}" for start, end in self.periods)


DEFAULT_HOURS = WorkingHours.parse("08:30-12:00,13:30-17:30")


class WorkCalendar:
    """China's statutory calendar with admin overrides."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        """Build a calendar; overrides map a date to True (working) or False (rest)."""
        self.overrides: dict[date, bool] = {
            _as_date(d): bool(working) for d, working in (overrides or {}).items()
        }
        # A year the admins have entered holidays for is no longer unknown: its other days
        # rightly follow the Mon–Fri rule, so warning about it would be noise.
        self.override_years: frozenset[int] = frozenset(d.year for d in self.overrides)
        self.unknown_years: set[int] = set()

    def is_workday(self, d: date) -> bool:
        """Whether d is a working day: override, else statutory calendar, else Mon–Fri."""
        d = _as_date(d)
        override = self.overrides.get(d)
        if override is not None:
            return override
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            # The State Council publishes each year late; a deadline must never be refused.
            if d.year not in self.override_years:
                self.unknown_years.add(d.year)
            return d.weekday() < 5


def _as_date(d: date) -> date:
    """Strip the time from a datetime, because datetime never equals date in lookups."""
    return d.date() if isinstance(d, datetime) else d


def _require_aware(name: str, value: datetime) -> None:
    """Raise ValueError unless value is a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _local_instant(d: date, t: time) -> datetime:
    """The UTC instant of wall time t on local date d."""
    return datetime.combine(d, t, tzinfo=LOCAL_TZ).astimezone(UTC)


def _day_intervals(
    d: date, basis: Basis, hours: WorkingHours
) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals (UTC, half-open) of working day d."""
    if basis is Basis.WORKING_DAYS:
        yield _local_instant(d, time()), _local_instant(d + _ONE_DAY, time())
    else:
        for start, end in hours.periods:
            yield _local_instant(d, start), _local_instant(d, end)


def _intervals_from(
    start: datetime, basis: Basis, calendar: WorkCalendar, hours: WorkingHours
) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals (UTC) ending after start, in order, one day at a time."""
    day = start.astimezone(LOCAL_TZ).date()
    rest_run = 0
    while True:
        if calendar.is_workday(day):
            rest_run = 0
            for lo, hi in _day_intervals(day, basis, hours):
                if hi > start:
                    yield lo, hi
        else:
            rest_run += 1
            if rest_run > MAX_REST_RUN_DAYS:
                raise ValueError(
                    f"no working day in the {MAX_REST_RUN_DAYS} days before {day}; "
                    "check the calendar overrides"
                )
        day += _ONE_DAY


def add(
    start: datetime,
    seconds: int,
    basis: Basis,
    calendar: WorkCalendar,
    hours: WorkingHours = DEFAULT_HOURS,
) -> datetime:
    """The deadline: `seconds` of clock time after `start` on that basis."""
    _require_aware("start", start)
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}")
    basis = Basis(basis)
    start_utc = start.astimezone(UTC)
    remaining = timedelta(seconds=seconds)
    if basis is Basis.CALENDAR:
        # Through UTC, because same-zone aware arithmetic is wall-clock, not elapsed, time.
        return (start_utc + remaining).astimezone(start.tzinfo)
    for lo, hi in _intervals_from(start_utc, basis, calendar, hours):
        begin = max(lo, start_utc)
        available = hi - begin
        # "<=" so a deadline on a boundary is the end of the period that used it up,
        # not the start of the next one.
        if remaining <= available:
            return (begin + remaining).astimezone(start.tzinfo)
        remaining -= available
    raise AssertionError("unreachable: the interval generator never ends")  # pragma: no cover


def elapsed(
    start: datetime,
    end: datetime,
    basis: Basis,
    calendar: WorkCalendar,
    hours: WorkingHours = DEFAULT_HOURS,
) -> int:
    """Clock seconds between start and end on that basis (0 if end <= start)."""
    _require_aware("start", start)
    _require_aware("end", end)
    basis = Basis(basis)
    start_utc = start.astimezone(UTC)
    end_utc = end.astimezone(UTC)
    if end_utc <= start_utc:
        return 0
    if basis is Basis.CALENDAR:
        return (end_utc - start_utc) // _ONE_SECOND
    total = timedelta()
    day = start_utc.astimezone(LOCAL_TZ).date()
    last = end_utc.astimezone(LOCAL_TZ).date()
    while day <= last:
        if calendar.is_workday(day):
            for lo, hi in _day_intervals(day, basis, hours):
                overlap = min(hi, end_utc) - max(lo, start_utc)
                if overlap > timedelta():
                    total += overlap
        day += _ONE_DAY
    # Floor, so a partial second never counts; exact whenever add produced `end`.
    return total // _ONE_SECOND

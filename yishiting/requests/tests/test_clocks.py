"""Tests of the SLA clock arithmetic (PRODUCT.md §4); pure Python, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yishiting.requests.clocks import (
    DEFAULT_HOURS,
    LOCAL_TZ,
    Basis,
    WorkCalendar,
    WorkingHours,
    add,
    elapsed,
)

HOUR = 3600
DAY = 86400


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A county-local aware datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


class CountingCalendar(WorkCalendar):
    """A calendar that counts lookups, to prove the arithmetic steps by day, not by minute."""

    def __init__(self) -> None:
        """Start with no lookups."""
        super().__init__()
        self.lookups = 0

    def is_workday(self, d: date) -> bool:
        """Count, then defer to the real calendar."""
        self.lookups += 1
        return super().is_workday(d)


# --- National Day 2025: Oct 1–8 off, Sun Sep 28 and Sat Oct 11 are make-up working days ---


def test_package_knows_national_day_2025() -> None:
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, make-up day
    assert not chinese_calendar.is_workday(date(2025, 9, 27))
    assert all(not chinese_calendar.is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert chinese_calendar.is_workday(date(2025, 10, 9))
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, make-up day
    assert not chinese_calendar.is_workday(date(2025, 10, 12))
    cal = WorkCalendar()
    assert cal.is_workday(date(2025, 10, 11))
    assert not cal.is_workday(date(2025, 10, 3))
    assert cal.unknown_years == set()


def test_three_working_days_over_national_day_end_on_make_up_saturday() -> None:
    # Tue Sep 30 10:00 → 14 h left that day, Oct 1–8 skipped, Thu 9 + Fri 10 = 48 h,
    # the last 10 h fall on make-up Saturday Oct 11.
    deadline = add(at(2025, 9, 30, 10), 3 * DAY, Basis.WORKING_DAYS, WorkCalendar())
    assert deadline == at(2025, 10, 11, 10)


def test_fifteen_working_days_over_national_day() -> None:
    # Fri Sep 26 09:00: 15 h that day; full days Sep 28, 29, 30, Oct 9, 10, 11, 13–17,
    # 20, 21, 22 (14 days); the remaining 9 h on Thu Oct 23.
    deadline = add(at(2025, 9, 26, 9), 15 * DAY, Basis.WORKING_DAYS, WorkCalendar())
    assert deadline == at(2025, 10, 23, 9)


def test_claim_clock_sleeps_through_national_day() -> None:
    deadline = add(at(2025, 9, 30, 17, 15), 30 * 60, Basis.WORKING_HOURS, WorkCalendar())
    assert deadline == at(2025, 10, 9, 8, 45)


def test_make_up_sunday_counts_as_working_hours() -> None:
    deadline = add(at(2025, 9, 27, 10), HOUR, Basis.WORKING_HOURS, WorkCalendar())
    assert deadline == at(2025, 9, 28, 9, 30)


def test_elapsed_over_national_day() -> None:
    cal = WorkCalendar()
    start, end = at(2025, 9, 30, 17), at(2025, 10, 9, 9)
    assert elapsed(start, end, Basis.WORKING_HOURS, cal) == 3600
    # Working days between Sep 30 00:00 and Oct 12 00:00: Sep 30, Oct 9, 10, 11.
    assert elapsed(at(2025, 9, 30), at(2025, 10, 12), Basis.WORKING_DAYS, cal) == 4 * DAY
    assert elapsed(start, end, Basis.CALENDAR, cal) == 8 * DAY + 16 * HOUR


def test_calendar_basis_ignores_holidays() -> None:
    deadline = add(at(2025, 9, 30, 12), DAY, Basis.CALENDAR, WorkCalendar())
    assert deadline == at(2025, 10, 1, 12)


# --- midnight, lunch, end of day ---


def test_working_days_across_midnight() -> None:
    deadline = add(at(2025, 6, 16, 22), 4 * HOUR, Basis.WORKING_DAYS, WorkCalendar())
    assert deadline == at(2025, 6, 17, 2)


def test_calendar_across_midnight() -> None:
    deadline = add(at(2025, 6, 16, 23, 50), 20 * 60, Basis.CALENDAR, WorkCalendar())
    assert deadline == at(2025, 6, 17, 0, 10)


def test_working_hours_across_midnight() -> None:
    cal = WorkCalendar()
    assert add(at(2025, 6, 16, 17), HOUR, Basis.WORKING_HOURS, cal) == at(2025, 6, 17, 9)
    assert elapsed(at(2025, 6, 16, 17), at(2025, 6, 17, 9), Basis.WORKING_HOURS, cal) == HOUR


def test_working_days_start_on_rest_day_begins_next_working_midnight() -> None:
    deadline = add(at(2025, 6, 14, 15), 2 * HOUR, Basis.WORKING_DAYS, WorkCalendar())
    assert deadline == at(2025, 6, 16, 2)


def test_working_days_thursday_to_tuesday() -> None:
    deadline = add(at(2025, 6, 19, 10), 3 * DAY, Basis.WORKING_DAYS, WorkCalendar())
    assert deadline == at(2025, 6, 24, 10)


def test_across_lunch_break() -> None:
    cal = WorkCalendar()
    assert add(at(2025, 6, 17, 11, 45), 30 * 60, Basis.WORKING_HOURS, cal) == at(
        2025, 6, 17, 13, 45
    )
    # Started during lunch: the clock starts at 13:30.
    assert add(at(2025, 6, 17, 12, 10), 30 * 60, Basis.WORKING_HOURS, cal) == at(2025, 6, 17, 14)
    assert elapsed(at(2025, 6, 17, 11), at(2025, 6, 17, 14), Basis.WORKING_HOURS, cal) == 5400
    assert elapsed(at(2025, 6, 17, 12), at(2025, 6, 17, 13, 30), Basis.WORKING_HOURS, cal) == 0


def test_deadline_on_boundary_is_end_of_period() -> None:
    cal = WorkCalendar()
    # 08:30 + 3.5 h is 12:00, not 13:30.
    assert add(at(2025, 6, 17, 8, 30), 3 * HOUR + 1800, Basis.WORKING_HOURS, cal) == at(
        2025, 6, 17, 12
    )
    # Friday 17:00 + 30 min is Friday 17:30, not Monday 08:30.
    assert add(at(2025, 6, 20, 17), 30 * 60, Basis.WORKING_HOURS, cal) == at(2025, 6, 20, 17, 30)
    # A full working Friday ends at Saturday 00:00, not Monday 00:00.
    assert add(at(2025, 6, 20), DAY, Basis.WORKING_DAYS, cal) == at(2025, 6, 21)


def test_claim_clock_after_hours_friday_ends_monday() -> None:
    deadline = add(at(2025, 6, 20, 17, 30), 30 * 60, Basis.WORKING_HOURS, WorkCalendar())
    assert deadline == at(2025, 6, 23, 9)


def test_zero_seconds() -> None:
    cal = WorkCalendar()
    inside = at(2025, 6, 17, 10, 5)
    assert add(inside, 0, Basis.WORKING_HOURS, cal) == inside
    assert add(inside, 0, Basis.CALENDAR, cal) == inside
    # Outside working time the clock, even an empty one, starts at the next working moment.
    assert add(at(2025, 6, 17, 12, 10), 0, Basis.WORKING_HOURS, cal) == at(2025, 6, 17, 13, 30)
    # Working periods are half-open: 17:30 is already after hours, so nothing runs until
    # Monday 08:30 (and elapsed agrees: no working time lies between them).
    friday_close = at(2025, 6, 20, 17, 30)
    assert add(friday_close, 0, Basis.WORKING_HOURS, cal) == at(2025, 6, 23, 8, 30)
    assert elapsed(friday_close, at(2025, 6, 23, 8, 30), Basis.WORKING_HOURS, cal) == 0


def test_elapsed_is_zero_when_end_not_after_start() -> None:
    cal = WorkCalendar()
    for basis in Basis:
        assert elapsed(at(2025, 6, 17, 10), at(2025, 6, 17, 10), basis, cal) == 0
        assert elapsed(at(2025, 6, 17, 11), at(2025, 6, 17, 10), basis, cal) == 0


def test_basis_accepts_stored_string() -> None:
    deadline = add(at(2025, 6, 17, 11, 45), 1800, "working_hours", WorkCalendar())  # type: ignore[arg-type]
    assert deadline == at(2025, 6, 17, 13, 45)


# --- time zones: working time is judged in Asia/Shanghai whatever the input zone ---


def test_utc_input_is_judged_in_county_time_and_returned_in_utc() -> None:
    # Sun 2025-06-15 23:00 UTC is Mon 07:00 in the county: the clock starts at 08:30 local.
    start = datetime(2025, 6, 15, 23, tzinfo=UTC)
    deadline = add(start, 30 * 60, Basis.WORKING_HOURS, WorkCalendar())
    assert deadline == datetime(2025, 6, 16, 1, tzinfo=UTC)
    assert deadline.tzinfo is UTC


def test_result_keeps_start_zone() -> None:
    ny = ZoneInfo("America/New_York")
    start = datetime(2025, 6, 16, 22, tzinfo=ny)  # Tue 10:00 in the county
    deadline = add(start, HOUR, Basis.WORKING_HOURS, WorkCalendar())
    assert deadline.tzinfo is ny
    assert deadline == at(2025, 6, 17, 11)


# --- departments with other hours ---


def test_department_with_other_hours() -> None:
    hours = WorkingHours.parse("09:00-17:00")
    cal = WorkCalendar()
    assert add(at(2025, 6, 20, 16, 30), HOUR, Basis.WORKING_HOURS, cal, hours) == at(
        2025, 6, 23, 9, 30
    )
    # 17:00 is closing time here, so a claim at 17:00 Friday starts Monday 09:00.
    assert add(at(2025, 6, 20, 17), 30 * 60, Basis.WORKING_HOURS, cal, hours) == at(
        2025, 6, 23, 9, 30
    )
    assert add(at(2025, 6, 20, 8), 8 * HOUR, Basis.WORKING_HOURS, cal, hours) == at(2025, 6, 20, 17)
    # No lunch break in these hours: 12:00–13:30 counts.
    assert (
        elapsed(at(2025, 6, 17, 12), at(2025, 6, 17, 13, 30), Basis.WORKING_HOURS, cal, hours)
        == 5400
    )
    assert (
        elapsed(at(2025, 6, 16, 8), at(2025, 6, 17, 18), Basis.WORKING_HOURS, cal, hours)
        == 16 * HOUR
    )


# --- beyond the package, and admin overrides ---


def test_year_beyond_package_counts_weekends_and_is_recorded() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))
    cal = WorkCalendar()
    assert not cal.is_workday(date(2027, 1, 2))  # Saturday
    assert not cal.is_workday(date(2027, 1, 3))  # Sunday
    assert cal.is_workday(date(2027, 1, 4))  # Monday
    assert cal.is_workday(date(2027, 1, 1))  # Friday; nobody entered New Year's Day yet
    assert cal.unknown_years == {2027}
    assert add(at(2027, 1, 8, 17, 30), 30 * 60, Basis.WORKING_HOURS, cal) == at(2027, 1, 11, 9)


def test_year_before_package_falls_back_too() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2003, 1, 6))  # Monday
    assert not cal.is_workday(date(2003, 1, 5))  # Sunday
    assert cal.unknown_years == {2003}


def test_admin_entered_2027_holiday_is_respected() -> None:
    cal = WorkCalendar({date(2027, 1, 1): False, date(2027, 2, 20): True})
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 2, 20))  # a make-up Saturday
    # Thu Dec 31 2026 10:00 + 1 working day: 14 h on Thursday, Fri Jan 1 off, weekend off,
    # the last 10 h on Monday Jan 4.
    assert add(at(2026, 12, 31, 10), DAY, Basis.WORKING_DAYS, cal) == at(2027, 1, 4, 10)
    without = WorkCalendar()
    assert add(at(2026, 12, 31, 10), DAY, Basis.WORKING_DAYS, without) == at(2027, 1, 1, 10)
    # A year the admins have entered is not reported as unknown.
    assert cal.is_workday(date(2027, 3, 1))
    assert cal.unknown_years == set()


def test_override_wins_over_package() -> None:
    cal = WorkCalendar({date(2025, 10, 8): True, datetime(2025, 6, 17, tzinfo=LOCAL_TZ): False})
    assert cal.is_workday(date(2025, 10, 8))
    assert not cal.is_workday(date(2025, 6, 17))
    assert not cal.is_workday(datetime(2025, 6, 17, 12, tzinfo=LOCAL_TZ))
    assert add(at(2025, 6, 16, 17), HOUR, Basis.WORKING_HOURS, cal) == at(2025, 6, 18, 9)


def test_calendar_with_no_working_day_fails_clearly() -> None:
    start = date(2025, 1, 1)
    cal = WorkCalendar({start + timedelta(days=i): False for i in range(800)})
    with pytest.raises(ValueError, match="no working day"):
        add(at(2025, 1, 1), HOUR, Basis.WORKING_DAYS, cal)


# --- input validation ---


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 6, 17, 10)  # noqa: DTZ001
    cal = WorkCalendar()
    with pytest.raises(ValueError, match="timezone-aware"):
        add(naive, 60, Basis.WORKING_HOURS, cal)
    with pytest.raises(ValueError, match="timezone-aware"):
        add(naive, 60, Basis.CALENDAR, cal)
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        elapsed(at(2025, 6, 17, 9), naive, Basis.WORKING_DAYS, cal)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        elapsed(naive, at(2025, 6, 17, 11), Basis.WORKING_DAYS, cal)


def test_negative_seconds_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        add(at(2025, 6, 17, 10), -1, Basis.CALENDAR, WorkCalendar())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("garbage", "cannot read 'garbage'"),
        ("08:30-12:00,", "cannot read ''"),
        ("08:30-", "cannot read"),
        ("8.30-12.00", "cannot read"),
        ("12:00-08:30", "must end after it starts"),
        ("12:00-12:00", "must end after it starts"),
        ("08:30-12:00,11:00-13:00", "overlap"),
        ("25:00-26:00", "not a time of day"),
        ("08:30-24:00", "not a time of day"),
        ("08:61-09:00", "not a time of day"),
    ],
)
def test_working_hours_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours.parse(text)


def test_working_hours_parse_and_str() -> None:
    assert DEFAULT_HOURS.periods == ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))
    assert str(DEFAULT_HOURS) == "08:30-12:00,13:30-17:30"
    assert WorkingHours.parse(" 13:30 - 17:30 , 8:30-12:00 ") == DEFAULT_HOURS
    assert WorkingHours.parse("08：30－12：00，13：30－17：30") == DEFAULT_HOURS
    assert str(WorkingHours.parse("09:00-17:00")) == "09:00-17:00"
    # Touching periods are allowed; they only meet, they do not overlap.
    assert str(WorkingHours.parse("08:00-12:00,12:00-16:00")) == "08:00-12:00,12:00-16:00"
    odd = WorkingHours.parse("00:00-06:00,22:00-23:59:59")
    assert WorkingHours.parse(str(odd)) == odd


def test_working_hours_constructor_validates() -> None:
    with pytest.raises(ValueError, match="out of order"):
        WorkingHours(((time(13, 30), time(17, 30)), (time(8, 30), time(12))))
    with pytest.raises(ValueError, match="at least one period"):
        WorkingHours(())


# --- efficiency: step by day, never by second or minute ---


def test_long_clocks_step_by_day() -> None:
    cal = CountingCalendar()
    add(at(2025, 9, 26, 9), 15 * DAY, Basis.WORKING_DAYS, cal)
    assert cal.lookups <= 30  # 28 calendar days Sep 26 – Oct 23
    cal.lookups = 0
    add(at(2025, 9, 26, 9), 15 * int(7.5 * HOUR), Basis.WORKING_HOURS, cal)
    assert cal.lookups <= 30
    cal.lookups = 0
    elapsed(at(2025, 9, 1), at(2025, 10, 1), Basis.WORKING_HOURS, cal)
    assert cal.lookups == 31


# --- properties ---

PROPERTY_CALENDAR = WorkCalendar({date(2027, 1, 1): False, date(2027, 2, 20): True})
ZONES = [LOCAL_TZ, UTC, ZoneInfo("America/New_York")]
starts = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2027, 12, 31, 23, 59, 59),  # noqa: DTZ001
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)
hours_choices = st.sampled_from(
    [
        DEFAULT_HOURS,
        WorkingHours.parse("09:00-17:00"),
        WorkingHours.parse("00:00-06:00,22:00-23:59:59"),
    ]
)
spans = st.integers(min_value=0, max_value=20 * DAY)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=spans, basis=st.sampled_from(list(Basis)), hours=hours_choices)
def test_elapsed_inverts_add(start: datetime, n: int, basis: Basis, hours: WorkingHours) -> None:
    deadline = add(start, n, basis, PROPERTY_CALENDAR, hours)
    assert deadline.tzinfo is start.tzinfo
    assert deadline.timestamp() >= start.timestamp()
    assert elapsed(start, deadline, basis, PROPERTY_CALENDAR, hours) == n


@settings(max_examples=300, deadline=None)
@given(start=starts, a=spans, b=spans, basis=st.sampled_from(list(Basis)), hours=hours_choices)
def test_add_is_monotonic(
    start: datetime, a: int, b: int, basis: Basis, hours: WorkingHours
) -> None:
    low, high = sorted((a, b))
    first = add(start, low, basis, PROPERTY_CALENDAR, hours)
    second = add(start, high, basis, PROPERTY_CALENDAR, hours)
    # Compare instants: Python compares two datetimes of one zone by wall time, ignoring
    # fold, so in a DST zone 01:00 (EDT) and 01:00 (EST) would look equal.
    if low == high:
        assert first.timestamp() == second.timestamp()
    else:
        assert first.timestamp() < second.timestamp()
        assert elapsed(first, second, basis, PROPERTY_CALENDAR, hours) == high - low

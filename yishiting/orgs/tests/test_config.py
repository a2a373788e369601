"""The per-process copies of the configuration (orgs.config): a change through any interface,
or committed by another process, is seen by the next read; an unchanged stamp costs one query."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yishiting.notify import rules as notify_rules
from yishiting.notify.models import RobotBinding
from yishiting.orgs import config
from yishiting.orgs.models import (
    CalendarDay,
    ClockPolicy,
    ConfigStamp,
    CountyRules,
    DutyShift,
    Priority,
    calendar_overrides,
)
from yishiting.testing import County


def _policy() -> ClockPolicy:
    return ClockPolicy.objects.create(priority=Priority.NORMAL, first_response_seconds=300)


def _first_response() -> int:
    return ClockPolicy.for_request(None, Priority.NORMAL).first_response_seconds


def _behind_the_orms_back(sql: str, params: list[object]) -> None:
    """What another process's commit looks like from here: rows change, no signal fires."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_an_unchanged_configuration_is_read_once_and_then_costs_one_query() -> None:
    _policy()
    assert _first_response() == 300
    with CaptureQueriesContext(connection) as ctx:
        assert _first_response() == 300
    assert [q["sql"] for q in ctx.captured_queries] == [
        "SELECT stamp FROM orgs_configstamp WHERE id = 1"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["save", "update", "bulk_update", "delete"])
def test_every_write_through_the_orm_is_seen_by_the_next_read(how: str) -> None:
    policy = _policy()
    assert _first_response() == 300
    policy.first_response_seconds = 120
    if how == "save":
        policy.save()
    elif how == "update":
        ClockPolicy.objects.filter(pk=policy.pk).update(first_response_seconds=120)
    elif how == "bulk_update":
        ClockPolicy.objects.bulk_update([policy], ["first_response_seconds"])
    else:
        policy.delete()
    # deleted: the built-in default of §4 (300 s) comes back, from a fresh read
    assert _first_response() == (300 if how == "delete" else 120)
    assert ClockPolicy.for_request(None, Priority.NORMAL).pk == (
        None if how == "delete" else policy.pk
    )


@pytest.mark.django_db
def test_a_change_committed_by_another_process_is_seen_once_its_stamp_moves() -> None:
    policy = _policy()
    assert _first_response() == 300
    _behind_the_orms_back(
        "UPDATE orgs_clockpolicy SET first_response_seconds = %s WHERE id = %s", [60, policy.pk]
    )
    # Another process writes the stamp in the same transaction as the rows (config.bump).
    _behind_the_orms_back("UPDATE orgs_configstamp SET stamp = %s WHERE id = 1", ["elsewhere"])
    assert _first_response() == 60


@pytest.mark.django_db
def test_the_copy_is_what_the_process_reads_while_the_stamp_stands() -> None:
    """The other side of the test above: without a new stamp this process keeps its copy,
    which is why every write path must move the stamp."""
    policy = _policy()
    assert _first_response() == 300
    _behind_the_orms_back(
        "UPDATE orgs_clockpolicy SET first_response_seconds = %s WHERE id = %s", [60, policy.pk]
    )
    assert _first_response() == 300


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_never_taken_for_a_later_committed_one(county: County) -> None:
    policy = _policy()
    assert _first_response() == 300
    with pytest.raises(RuntimeError), transaction.atomic():
        policy.first_response_seconds = 1
        policy.save()
        assert _first_response() == 1  # the writer sees its own change inside its transaction
        raise RuntimeError
    assert _first_response() == 300
    # A later commit elsewhere: a new stamp of its own, never the rolled-back one.
    _behind_the_orms_back(
        "UPDATE orgs_clockpolicy SET first_response_seconds = %s WHERE id = %s", [90, policy.pk]
    )
    config.bump()
    assert _first_response() == 90


@pytest.mark.django_db
def test_without_the_stamp_row_every_read_goes_to_the_table() -> None:
    ConfigStamp.objects.all().delete()
    policy = _policy()  # the bump puts the row back
    assert ConfigStamp.objects.count() == 1
    ConfigStamp.objects.all().delete()
    assert _first_response() == 300
    _behind_the_orms_back(
        "UPDATE orgs_clockpolicy SET first_response_seconds = %s WHERE id = %s", [45, policy.pk]
    )
    assert _first_response() == 45


@pytest.mark.django_db
def test_calendar_rules_robots_and_roster_follow_their_tables(county: County) -> None:
    day = date(2026, 10, 10)  # a Saturday
    assert day not in calendar_overrides()
    CalendarDay.objects.create(date=day, is_workday=True, note="调休")
    assert calendar_overrides()[day] is True

    assert CountyRules.for_county(county.county.code).reminder_percent == 80
    CountyRules.objects.filter(county=county.county).update(reminder_percent=70)
    assert CountyRules.for_county(county.county.code).reminder_percent == 70

    assert notify_rules.robots(hall=county.village) == []
    bot = RobotBinding.objects.create(
        hall=county.village, kind="wecom", webhook_url="https://qyapi.weixin.qq.com/x?key=k"
    )
    assert notify_rules.robots(hall=county.village) == [bot]
    bot.enabled = False
    bot.save()
    assert notify_rules.robots(hall=county.village) == []

    now = timezone.now()
    assert DutyShift.on_duty(county.county.code, now) == []
    DutyShift.objects.bulk_create(
        [
            DutyShift(
                county=county.county,
                user=county["duty1"],
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
            )
        ]
    )
    assert DutyShift.on_duty(county.county.code, now) == [county["duty1"].pk]
    assert DutyShift.on_duty(county.county.code, now + timedelta(hours=2)) == []
    # Before the copy's window (shifts that ended more than a day ago): read from the table.
    DutyShift.objects.create(
        county=county.county,
        user=county["dispatcher1"],
        starts_at=now - timedelta(days=3, hours=1),
        ends_at=now - timedelta(days=3) + timedelta(hours=1),
    )
    assert DutyShift.on_duty(county.county.code, now - timedelta(days=3)) == [
        county["dispatcher1"].pk
    ]


@pytest.mark.django_db
def test_one_request_reads_the_stamp_once_and_again_after_its_own_change() -> None:
    _policy()
    assert _first_response() == 300  # the copy is made
    seen: list[int] = []

    def view(request: object) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            for _ in range(5):
                seen.append(_first_response())
        reads = [q["sql"] for q in ctx.captured_queries]
        ClockPolicy.objects.filter(priority=Priority.NORMAL).update(first_response_seconds=120)
        with CaptureQueriesContext(connection) as ctx:
            seen.append(_first_response())  # its own change: read again
            seen.append(_first_response())
        return reads + [q["sql"] for q in ctx.captured_queries]

    queries = config.OneStampMiddleware(view)(object())
    assert seen == [300] * 5 + [120, 120]
    stamp_reads = [q for q in queries if "orgs_configstamp" in q]
    assert len(stamp_reads) == 2  # once for the five reads, once after the change
    # outside a request, every read checks the stamp again
    with CaptureQueriesContext(connection) as ctx:
        _first_response()
        _first_response()
    assert sum("orgs_configstamp" in q["sql"] for q in ctx.captured_queries) == 2

"""Who is told (PRODUCT.md §4), the 50% / 80% warnings of every clock, the duty roster and the
feedback loop, all in time travel (explicit `now=`, no sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yishiting.notify import duty, housekeeping, queries
from yishiting.notify.models import Notification
from yishiting.orgs.models import DutyShift, Membership, Role
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)  # Tuesday 09:00, working hours


def told(kind: str | None = None, **filters) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    qs = Notification.objects.filter(**filters)
    if kind:
        qs = qs.filter(kind=kind)
    return sorted((n.user.username if n.user else n.destination, n.channel) for n in qs)


def warnings_of(pk: int) -> list[tuple[str, int, str]]:
    return sorted(
        (n.title, n.user.username if n.user else "", n.channel)
        for n in Notification.objects.filter(request_id=pk, kind="warning")
    )


def submit(c: County, now: datetime = T0) -> Request:
    return A.do_submit(actor=c["resident1"], hall=c.village, text="路灯坏了", now=now)


def test_first_response_warns_at_50_and_80_percent_then_escalates(county: County) -> None:
    r = submit(county)
    assert [(w["clock"], w["pct"], w["at"]) for w in r.warnings] == [
        ("respond_by", 50, (T0 + timedelta(seconds=150)).isoformat()),
        ("respond_by", 80, (T0 + timedelta(seconds=240)).isoformat()),
    ]
    assert r.next_due_at == T0 + timedelta(seconds=150)
    assert sweep.run_pass(T0 + timedelta(seconds=149)) == (0, 0)
    assert sweep.run_pass(T0 + timedelta(seconds=150)) == (0, 1)
    assert warnings_of(r.pk) == [("提醒：响应时限已过半", "liaison1", "in_app")]
    assert sweep.run_pass(T0 + timedelta(seconds=240)) == (0, 1)
    assert ("催办：响应时限已过80%", "liaison1", "in_app") in warnings_of(r.pk)
    # The warnings change nothing a person acts on: the version stays.
    assert Request.objects.get(pk=r.pk).version == 1
    assert sweep.run_pass(T0 + timedelta(minutes=5)) == (1, 0)
    r = Request.objects.get(pk=r.pk)
    assert (r.status, r.hall, r.version) == ("escalated", county.township, 2)
    # The parent's 5-minute clock warns in its turn, the township's manager this time.
    assert sweep.run_pass(T0 + timedelta(minutes=7, seconds=30)) == (0, 1)
    assert told("warning", user__username="manager1") == [("manager1", "in_app")]


def test_the_reminder_follows_the_countys_reminder_percent(county: County) -> None:
    """催办 at CountyRules.reminder_percent (default 80): a county that sets 70 is reminded at
    70% of the 5-minute clock, beside the fixed 50% warning."""
    from yishiting.orgs.models import CountyRules

    CountyRules.objects.filter(county=county.county).update(reminder_percent=70)
    r = submit(county)
    assert [(w["pct"], w["at"]) for w in r.warnings] == [
        (50, (T0 + timedelta(seconds=150)).isoformat()),
        (70, (T0 + timedelta(seconds=210)).isoformat()),
    ]
    assert sweep.run_pass(T0 + timedelta(seconds=209)) == (0, 1)
    assert sweep.run_pass(T0 + timedelta(seconds=210)) == (0, 1)
    assert ("催办：响应时限已过70%", "liaison1", "in_app") in warnings_of(r.pk)


def test_a_sweep_that_was_down_gives_one_warning_per_clock_not_both(county: County) -> None:
    r = submit(county)
    assert sweep.run_pass(T0 + timedelta(seconds=290)) == (0, 1)
    assert warnings_of(r.pk) == [("催办：响应时限已过80%", "liaison1", "in_app")]


def test_claim_resolution_rating_and_supervision_clocks_warn(county: County) -> None:
    c = county
    r = submit(c)
    r = A.do_escalate(r, actor=c["liaison1"], now=T0)
    r = A.do_acknowledge(r, actor=c["manager1"], now=T0)
    r = A.do_escalate(r, actor=c["manager1"], now=T0)
    r = A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", now=T0)
    # claim: 30 working minutes → 15 and 24 minutes
    assert [(w["clock"], w["pct"]) for w in r.warnings] == [("claim_by", 50), ("claim_by", 80)]
    assert datetime.fromisoformat(r.warnings[0]["at"]) == T0 + timedelta(minutes=15)
    sweep.run_pass(T0 + timedelta(minutes=24))
    assert ("催办：签收时限已过80%", "dept1", "in_app") in warnings_of(r.pk)
    r = A.do_claim(r.pk, actor=c["dept1"], now=T0 + timedelta(minutes=25))
    # resolution: 50% and 80% of the working time to resolve_by
    assert [(w["clock"], w["pct"]) for w in r.warnings] == [("resolve_by", 50), ("resolve_by", 80)]
    assert all(datetime.fromisoformat(w["at"]) < r.resolve_by for w in r.warnings)
    r = A.do_supervise(
        r.pk, actor=c["leader1"], until=T0 + timedelta(hours=5), now=T0 + timedelta(hours=1)
    )
    sup = [w for w in r.warnings if w["clock"] == "supervise_by"]
    assert [datetime.fromisoformat(w["at"]) for w in sup] == [
        T0 + timedelta(hours=3),
        T0 + timedelta(hours=4, minutes=12),
    ]
    sweep.run_pass(T0 + timedelta(hours=3))
    assert ("提醒：督办时限已过半", "dept1", "in_app") in warnings_of(r.pk)
    r = A.do_resolve(r.pk, actor=c["dept1"], note="已修复", now=T0 + timedelta(hours=3, minutes=30))
    # rating window: 7 days → the reporter is asked to rate at 3.5 and 5.6 days
    assert [datetime.fromisoformat(w["at"]) - r.resolved_at for w in r.warnings] == [
        timedelta(days=3.5),
        timedelta(days=5.6),
    ]
    sweep.run_pass(r.resolved_at + timedelta(days=4))
    assert ("请评价办理结果", "resident1", "in_app") in warnings_of(r.pk)


def test_two_sweeps_record_each_warning_once(county: County) -> None:
    r = submit(county)
    stale = Request.objects.get(pk=r.pk)
    assert sweep.run_pass(T0 + timedelta(seconds=150)) == (0, 1)
    # A second sweep that read the row before the first one wrote: refused, nothing doubled.
    with pytest.raises(Exception):  # noqa: B017
        A.do_warn(stale, now=T0 + timedelta(seconds=150))
    assert len(warnings_of(r.pk)) == 1


def test_a_warning_reads_who_to_tell_before_it_takes_the_write_lock(county: County) -> None:
    r = submit(county)
    with CaptureQueriesContext(connection) as queries:
        A.do_warn(r.pk, now=T0 + timedelta(seconds=150))
    sql = [q["sql"] for q in queries]
    begin = next(i for i, q in enumerate(sql) if q.startswith(("SAVEPOINT", "BEGIN")))
    # Inside the transaction: the guarded update and the outbox (its key check, its rows).
    inside = [q for q in sql[begin + 1 :] if not q.startswith("RELEASE")]
    assert inside[0].startswith("UPDATE"), inside
    assert all(q.startswith("INSERT") or "notify_notification" in q for q in inside[1:]), inside
    assert ("提醒：响应时限已过半", "liaison1", "in_app") in warnings_of(r.pk)


def test_submit_and_dispatch_in_working_hours_tell_the_hall_and_the_department(
    county: County,
) -> None:
    c = county
    r = submit(c)
    assert told("submit", request=r) == [("liaison1", "in_app")]
    r = A.do_escalate(r, actor=c["liaison1"], now=T0)
    assert told("escalate", request=r) == [("manager1", "in_app")]
    r = A.do_acknowledge(r, actor=c["manager1"], now=T0)
    r = A.do_escalate(r, actor=c["manager1"], now=T0)
    assert told("escalate", request=r) == [("dispatcher1", "in_app"), ("manager1", "in_app")]
    r = A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", now=T0)
    assert told("dispatch", request=r) == [("dept1", "in_app")]


def shifts(c: County) -> None:
    """duty1 until 20:00, then duty2 until the next morning."""
    duty2 = c["dept2"].__class__.objects.create(
        username="duty2", display_name="钱伟", phone="13700000000"
    )
    Membership.objects.create(user=duty2, role=Role.DUTY, hall=c.county)
    DutyShift.objects.create(
        county=c.county,
        user=c["duty1"],
        starts_at=datetime(2025, 6, 10, 17, 30, tzinfo=LOCAL_TZ),
        ends_at=datetime(2025, 6, 10, 20, 0, tzinfo=LOCAL_TZ),
    )
    DutyShift.objects.create(
        county=c.county,
        user=duty2,
        starts_at=datetime(2025, 6, 10, 20, 0, tzinfo=LOCAL_TZ),
        ends_at=datetime(2025, 6, 11, 8, 30, tzinfo=LOCAL_TZ),
    )


def test_duty_hand_over_a_breach_after_the_boundary_goes_to_the_new_officer(county: County) -> None:
    shifts(county)
    r = submit(county, datetime(2025, 6, 10, 19, 58, tzinfo=LOCAL_TZ))
    assert told("duty", request=r) == [("duty1", "in_app")]  # duty1 has no phone: no SMS
    sweep.run_pass(datetime(2025, 6, 10, 20, 3, tzinfo=LOCAL_TZ))
    r = Request.objects.get(pk=r.pk)
    assert r.status == "escalated"
    escalation = Event.objects.get(request=r, verb="escalate")
    assert told("duty", event=escalation) == [("duty2", "in_app"), ("duty2", "sms")]


def test_in_working_hours_nobody_on_duty_is_told(county: County) -> None:
    shifts(county)
    submit(county)
    assert told("duty") == []


def test_a_holiday_week_is_off_hours_and_uncovered_without_shifts(county: County) -> None:
    # National Day 2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked.
    assert duty.is_off_hours(datetime(2025, 10, 3, 10, 0, tzinfo=LOCAL_TZ))
    assert not duty.is_off_hours(datetime(2025, 9, 28, 10, 0, tzinfo=LOCAL_TZ))
    assert not duty.is_off_hours(datetime(2025, 10, 11, 10, 0, tzinfo=LOCAL_TZ))
    start = datetime(2025, 9, 30, 17, 30, tzinfo=LOCAL_TZ)
    gaps = duty.uncovered(county.county.code, start, days=10)
    assert gaps[0] == (start, datetime(2025, 10, 9, 8, 30, tzinfo=LOCAL_TZ))
    DutyShift.objects.create(
        county=county.county,
        user=county["duty1"],
        starts_at=start,
        ends_at=datetime(2025, 10, 9, 8, 30, tzinfo=LOCAL_TZ),
    )
    gaps = duty.uncovered(county.county.code, start, days=10)
    assert gaps[0][0] == datetime(2025, 10, 9, 12, 0, tzinfo=LOCAL_TZ)
    # A request on a holiday: the duty officer is told; the claim clock waits for work days.
    r = submit(county, datetime(2025, 10, 3, 10, 0, tzinfo=LOCAL_TZ))
    assert told("duty", request=r) == [("duty1", "in_app")]


def test_admins_are_warned_once_of_an_uncovered_stretch(county: County) -> None:
    now = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
    first = housekeeping.duty_gaps_notice(now)
    assert first > 0
    assert housekeeping.duty_gaps_notice(now) == 0
    assert told("duty_gap")[0] == ("admin", "in_app")


def test_feedback_loop_resolve_close_unrated_visit_and_rebound(county: County) -> None:
    c = county
    r = submit(c)
    A.do_cosign(r.pk, actor=c["resident2"], now=T0)
    r = A.do_acknowledge(r.pk, actor=c["liaison1"], now=T0)
    r = A.do_start(r, actor=c["liaison1"], now=T0)
    r = A.do_resolve(r, actor=c["liaison1"], note="已更换灯泡", now=T0 + timedelta(hours=1))
    assert told("resolve", request=r) == [
        ("resident1", "in_app"),
        ("resident1", "sms"),
        ("resident2", "in_app"),
        ("resident2", "sms"),
    ]
    sweep.run_pass(T0 + timedelta(days=8))
    r = Request.objects.get(pk=r.pk)
    assert (r.status, r.rating) == ("closed", "")
    assert Event.objects.get(request=r, verb="close").data == {"unrated": True}
    assert told("visit", request=r) == [("liaison1", "in_app")]
    assert list(queries.return_visits(c["liaison1"])) == [r]
    assert list(queries.return_visits(c["liaison2"])) == []
    A.do_visit(
        r, actor=c["liaison1"], rating="satisfied", channel="phone", now=T0 + timedelta(days=9)
    )
    assert list(queries.return_visits(c["liaison1"])) == []
    r = A.do_reopen(r.pk, actor=c["resident1"], reason="又坏了", now=T0 + timedelta(days=20))
    assert Event.objects.get(request=r, verb="reopen").data == {"rebound": True}
    assert told("reopen", request=r) == [("liaison1", "in_app")]

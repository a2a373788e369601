"""转办 (forward) and the off-hours 5-minute forward clock (PRODUCT.md §2, §4), with explicit
times: no sleeping, every call gets now=."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import transaction

from yishiting.core.errors import ForbiddenError, IllegalTransitionError, InvalidError
from yishiting.notify.models import Notification, RobotBinding
from yishiting.orgs.models import Department, DutyShift, Hall, HallKind
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db

# Tuesday 2025-06-10: 21:00 is off-hours, 10:00 working hours.
NIGHT = datetime(2025, 6, 10, 21, 0, tzinfo=LOCAL_TZ)
DAY = datetime(2025, 6, 10, 10, 0, tzinfo=LOCAL_TZ)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def shift(county: County) -> DutyShift:
    """duty1 on duty from 17:30 to 08:30 the next morning."""
    return DutyShift.objects.create(
        county=county.county,
        user=county["duty1"],
        starts_at=datetime(2025, 6, 10, 17, 30, tzinfo=LOCAL_TZ),
        ends_at=datetime(2025, 6, 11, 8, 30, tzinfo=LOCAL_TZ),
    )


def at_assignment(c: County, now: datetime) -> Request:
    """A request escalated up to the assignment hall at `now`."""
    r = A.do_submit(actor=c["resident1"], hall=c.village, text="村口路灯坏了", now=now - 4 * MINUTE)
    r = A.do_acknowledge(r, actor=c["liaison1"], now=now - 3 * MINUTE)
    r = A.do_escalate(r, actor=c["liaison1"], now=now - 2 * MINUTE)
    r = A.do_acknowledge(r, actor=c["manager1"], now=now - MINUTE)
    r = A.do_escalate(r, actor=c["manager1"], now=now)
    assert (r.status, r.hall.kind) == ("escalated", HallKind.ASSIGNMENT)
    return r


def dispatched(c: County, now: datetime) -> Request:
    """A request dispatched to 住建局 at `now`."""
    r = at_assignment(c, now - MINUTE)
    return A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", now=now)


def told(**filters: object) -> list[tuple[str, str, str]]:
    rows = Notification.objects.filter(**filters).select_related("user")
    return sorted((n.user.username if n.user else n.destination, n.channel, n.title) for n in rows)


# --- the clock --------------------------------------------------------------------------------


def test_an_off_hours_dispatch_gets_five_minutes_to_forward(
    county: County, shift: DutyShift
) -> None:
    r = dispatched(county, NIGHT)
    assert r.forward_by == NIGHT + 5 * MINUTE
    dispatch = Event.objects.get(request_id=r.pk, seq=r.version)
    duty = Notification.objects.get(event=dispatch, kind="duty", channel="in_app")
    assert duty.user == county["duty1"] and "请在 06-10 21:05 前转办" in duty.body
    assert r.next_due_at == NIGHT + timedelta(seconds=150)  # the 50% warning comes first
    assert [(w["clock"], w["pct"]) for w in r.warnings if w["clock"] == "forward_by"] == [
        ("forward_by", 50),
        ("forward_by", 80),
    ]


def test_a_dispatch_in_working_hours_has_no_forward_clock(county: County) -> None:
    r = dispatched(county, DAY)
    assert r.forward_by is None
    assert not [w for w in r.warnings if w["clock"] == "forward_by"]


def test_the_forward_clock_follows_the_departments_own_working_hours(
    county: County, shift: DutyShift
) -> None:
    """A department that works until 22:00 is at work at 21:00: nothing to forward. One that
    stops at 17:00 is not at 17:15, although the county's default hours run to 17:30."""
    Department.objects.filter(code="zhujian").update(working_hours="08:00-22:00")
    assert dispatched(county, NIGHT).forward_by is None
    Department.objects.filter(code="zhujian").update(working_hours="09:00-17:00")
    late_afternoon = datetime(2025, 6, 10, 17, 15, tzinfo=LOCAL_TZ)
    assert dispatched(county, late_afternoon).forward_by == late_afternoon + 5 * MINUTE
    Department.objects.filter(code="zhujian").update(working_hours="08:30-12:00,13:30-17:30")
    assert dispatched(county, late_afternoon).forward_by is None  # the default: still at work


def test_forwarding_stops_the_clock(county: County, shift: DutyShift) -> None:
    r = dispatched(county, NIGHT)
    r = A.do_forward(
        r, actor=county["duty1"], to="dept1", note="请连夜处理", now=NIGHT + 3 * MINUTE
    )
    assert (r.status, r.forward_by, r.overdue) == ("dispatched", None, False)
    assert not [w for w in r.warnings if w["clock"] == "forward_by"]
    assert sweep.run_once(now=NIGHT + 10 * MINUTE) == 0
    assert not Event.objects.filter(request_id=r.pk, verb="breach").exists()


def test_claiming_stops_the_clock(county: County, shift: DutyShift) -> None:
    r = dispatched(county, NIGHT)
    r = A.do_claim(r, actor=county["dept1"], now=NIGHT + 2 * MINUTE)
    assert (r.status, r.forward_by) == ("claimed", None)
    assert sweep.run_once(now=NIGHT + 10 * MINUTE) == 0


def test_the_half_time_warning_goes_to_the_duty_officer(county: County, shift: DutyShift) -> None:
    r = dispatched(county, NIGHT)
    assert sweep.run_pass(NIGHT + timedelta(seconds=150)) == (0, 1)
    assert told(request_id=r.pk, kind="warning") == [("duty1", "in_app", "提醒：转办时限已过半")]


def test_a_missed_forward_is_a_breach_acted_on_once(county: County, shift: DutyShift) -> None:
    r = dispatched(county, NIGHT)
    assert sweep.run_once(now=NIGHT + 5 * MINUTE - timedelta(seconds=1)) == 0
    assert sweep.run_once(now=NIGHT + 5 * MINUTE) == 1
    assert sweep.run_once(now=NIGHT + 5 * MINUTE) == 0  # a second sweep finds nothing
    assert sweep.run_once(now=NIGHT + 30 * MINUTE) == 0
    breaches = list(Event.objects.filter(request_id=r.pk, verb="breach"))
    assert [(e.data, e.created_at) for e in breaches] == [
        ({"clocks": ["forward_by"]}, NIGHT + 5 * MINUTE)
    ]
    r = Request.objects.get(pk=r.pk)
    assert (r.status, r.overdue) == ("dispatched", True)
    # the duty officer and the dispatcher are told
    breach = breaches[0]
    people = {name for name, _, _ in told(event=breach)}
    assert {"duty1", "dispatcher1"} <= people
    # a late forward is still possible, and records it
    r = A.do_forward(r, actor=county["duty1"], to="zhujian", now=NIGHT + 31 * MINUTE)
    assert r.forward_by is None


# --- the verb ---------------------------------------------------------------------------------


def test_the_duty_officer_on_shift_forwards_to_an_officer(county: County, shift: DutyShift) -> None:
    county["dept1"].phone = "13600000001"
    county["dept1"].save()
    r = dispatched(county, NIGHT)
    version = r.version
    r = A.do_forward(r, actor=county["duty1"], to="dept1", note="群众反映紧急", now=NIGHT + MINUTE)
    assert r.version == version + 1
    event = Event.objects.get(request_id=r.pk, seq=r.version)
    assert (event.verb, event.actor, event.from_status, event.to_status) == (
        "forward",
        county["duty1"],
        "dispatched",
        "dispatched",
    )
    assert event.data["to"] == "dept1" and event.data["to_kind"] == "officer"
    assert event.note == "群众反映紧急"
    assert not event.public  # it names officers: internal, like their names elsewhere
    assert told(event=event) == [
        ("dept1", "in_app", "紧急转办"),
        ("dept1", "sms", "紧急转办"),
    ]


def test_a_forward_to_a_department_tells_every_officer_and_robot(
    county: County, shift: DutyShift
) -> None:
    robot = RobotBinding.objects.create(
        department=county.dept, kind="wecom", webhook_url="http://127.0.0.1:9/hook"
    )
    r = dispatched(county, NIGHT)
    r = A.do_forward(r, actor=county["duty1"], to="zhujian", now=NIGHT + MINUTE)
    event = Event.objects.get(request_id=r.pk, seq=r.version)
    assert event.data["to_kind"] == "department"
    rows = told(event=event)
    assert ("dept1", "in_app", "紧急转办") in rows
    assert [n.binding_id for n in Notification.objects.filter(event=event, user=None)] == [robot.pk]
    assert all("紧急" in title for _, _, title in rows)


def test_the_notifications_are_written_in_the_forwards_transaction(
    county: County, shift: DutyShift
) -> None:
    r = dispatched(county, NIGHT)
    before = Notification.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        A.do_forward(r, actor=county["duty1"], to="dept1", now=NIGHT + MINUTE)
        assert Notification.objects.count() > before  # written with the event
        raise RuntimeError("the caller's transaction rolls back")
    assert Notification.objects.count() == before
    assert not Event.objects.filter(request_id=r.pk, verb="forward").exists()


def test_a_dispatcher_forwards_in_working_hours(county: County) -> None:
    r = dispatched(county, DAY)
    r = A.do_forward(r, actor=county["dispatcher1"], to="gongdian", now=DAY + MINUTE)
    assert r.status == "dispatched"
    # and from claimed, on hold, and escalated at the assignment hall
    r = A.do_claim(r, actor=county["dept1"], now=DAY + 2 * MINUTE)
    r = A.do_forward(r, actor=county["dispatcher1"], to="dept1", now=DAY + 3 * MINUTE)
    r = A.do_hold(r, actor=county["dept1"], reason="等配件", now=DAY + 4 * MINUTE)
    r = A.do_forward(r, actor=county["dispatcher1"], to="dept1", now=DAY + 5 * MINUTE)
    assert r.status == "on_hold"
    top = at_assignment(county, DAY)
    top = A.do_forward(top, actor=county["dispatcher1"], to="zhujian", now=DAY + MINUTE)
    assert top.status == "escalated"


def test_the_duty_officer_out_of_shift_is_refused(county: County, shift: DutyShift) -> None:
    r = dispatched(county, DAY)
    with pytest.raises(ForbiddenError):
        A.do_forward(r, actor=county["duty1"], to="dept1", now=DAY + MINUTE)
    # scope comes first: a bad target out of shift is still 403
    with pytest.raises(ForbiddenError):
        A.do_forward(r, actor=county["duty1"], to="nobody", now=DAY + MINUTE)
    assert Request.objects.get(pk=r.pk).version == r.version
    assert not Event.objects.filter(request_id=r.pk, verb="forward").exists()


def test_other_people_may_not_forward(county: County, shift: DutyShift) -> None:
    r = dispatched(county, NIGHT)
    for who in ("resident1", "liaison1", "dept1", "leader1"):
        with pytest.raises(ForbiddenError):
            A.do_forward(r, actor=county[who], to="dept1", now=NIGHT + MINUTE)


def test_forward_is_refused_from_states_the_table_does_not_allow(county: County) -> None:
    submitted = A.do_submit(actor=county["resident1"], hall=county.village, text="路灯", now=DAY)
    with pytest.raises(IllegalTransitionError):
        A.do_forward(submitted, actor=county["dispatcher1"], to="dept1", now=DAY)
    # escalated, but to a township: not at the assignment hall
    r = A.do_acknowledge(submitted, actor=county["liaison1"], now=DAY + MINUTE)
    r = A.do_escalate(r, actor=county["liaison1"], now=DAY + 2 * MINUTE)
    assert r.hall == county.township
    with pytest.raises(IllegalTransitionError):
        A.do_forward(r, actor=county["dispatcher1"], to="dept1", now=DAY + 3 * MINUTE)
    # resolved
    r = A.do_claim(dispatched(county, DAY), actor=county["dept1"], now=DAY + MINUTE)
    r = A.do_resolve(r, actor=county["dept1"], note="已修好", now=DAY + 2 * MINUTE)
    # state is checked before input: a bad target on a resolved request is 409
    with pytest.raises(IllegalTransitionError):
        A.do_forward(r, actor=county["dispatcher1"], to="nobody", now=DAY + 3 * MINUTE)


def test_forward_needs_a_department_or_officer_of_the_county(county: County) -> None:
    other = Hall.objects.create(code="990000", name="邻县", kind=HallKind.COUNTY)
    Department.objects.create(code="linxian", name="邻县住建局", county=other)
    r = dispatched(county, DAY)
    for to in ("", "   ", None, "nobody", "resident1", "liaison1", "linxian", 7):
        with pytest.raises(InvalidError):
            A.do_forward(r, actor=county["dispatcher1"], to=to, now=DAY + MINUTE)  # type: ignore[arg-type]
    assert Request.objects.get(pk=r.pk).version == r.version

"""The handling rules of a 12345 office (PRODUCT.md §3.1, docs/handling-rules.md) at the level of
the actions, with explicit times: each rule at its default and at a changed county setting.

Written from the design doc, not from the code: where they disagree, the doc wins here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from yishiting.core.errors import (
    ActionError,
    ForbiddenError,
    IllegalTransitionError,
    InvalidError,
)
from yishiting.orgs.models import CountyRules, Hall, HallKind, Membership, Role, User
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.testing import County, next_deadline

pytestmark = pytest.mark.django_db

# Tuesday 2025-06-10, 09:00: an ordinary working week (Mon 16th is a working day too).
T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REASON_CODES = ["not_ours", "incomplete", "duplicate", "other"]


def at(*, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def fresh(req: Request) -> Request:
    return Request.objects.select_related("hall", "department").get(pk=req.pk)


def events(req: Request) -> list[Event]:
    return list(Event.objects.filter(request_id=req.pk).order_by("seq"))


def last(req: Request) -> Event:
    return events(req)[-1]


def refused(
    kind: type[ActionError], req: Request, call: Any, *args: Any, **kwargs: Any
) -> ActionError:
    """`call` is refused with `kind` and changes nothing at all."""
    before = fresh(req)
    count = Event.objects.filter(request_id=req.pk).count()
    with pytest.raises(ActionError) as info:
        call(req.pk, *args, **kwargs)
    assert isinstance(info.value, kind), (type(info.value).__name__, info.value.message)
    after = fresh(req)
    assert after.version == before.version
    assert (after.status, after.hall_id, after.department_id, after.pending_review) == (
        before.status,
        before.hall_id,
        before.department_id,
        before.pending_review,
    )
    assert Event.objects.filter(request_id=req.pk).count() == count
    return info.value


# --- building requests at explicit times ---------------------------------------------------


def submitted(c: County, now: datetime) -> Request:
    return A.do_submit(actor=c["resident1"], hall=c.village, text="小区门口污水外溢", now=now)


def dispatched(c: County, now: datetime = T0, department: str = "zhujian") -> Request:
    """Dispatched by dispatcher1 at `now`, after the road up the tree just before."""
    r = submitted(c, now - 10 * MINUTE)
    r = A.do_acknowledge(r, actor=c["liaison1"], now=now - 9 * MINUTE)
    r = A.do_escalate(r, actor=c["liaison1"], now=now - 8 * MINUTE)
    r = A.do_acknowledge(r, actor=c["manager1"], now=now - 7 * MINUTE)
    r = A.do_escalate(r, actor=c["manager1"], now=now - 6 * MINUTE)
    assert r.hall_id == c.assignment.pk
    r = A.do_dispatch(r, actor=c["dispatcher1"], department=department, now=now)
    assert r.status == "dispatched"
    return r


def resolved_by_department(c: County, now: datetime = T0) -> Request:
    r = dispatched(c, now - 2 * HOUR)
    r = A.do_claim(r, actor=c["dept1"], now=now - HOUR)
    r = A.do_resolve(r, actor=c["dept1"], note="已疏通管道", now=now)
    assert (r.status, r.department.code) == ("resolved", "zhujian")
    return r


def resolved_locally(c: County, now: datetime = T0) -> Request:
    r = submitted(c, now - 3 * MINUTE)
    r = A.do_acknowledge(r, actor=c["liaison1"], now=now - 2 * MINUTE)
    r = A.do_start(r, actor=c["liaison1"], now=now - MINUTE)
    r = A.do_resolve(r, actor=c["liaison1"], note="已清理", now=now)
    assert (r.status, r.department_id, r.hall_id) == ("resolved", None, c.village.pk)
    return r


def do_return(c: County, req: Request, now: datetime, by: str = "dept1", **kw: Any) -> Request:
    kw.setdefault("reason_code", "not_ours")
    kw.setdefault("reason", "此事不归本部门")
    return A.do_return(req.pk, actor=c[by], now=now, **kw)


def rules(c: County, **values: Any) -> CountyRules:
    """Change the county's settings (the test county may already have a row of defaults)."""
    row, _ = CountyRules.objects.update_or_create(county=c.county, defaults=values)
    return row


# --- returns (退单) ---------------------------------------------------------------------------


def test_a_return_goes_back_to_the_assignment_hall_waiting_for_review(county: County) -> None:
    r = dispatched(county)
    r = do_return(county, r, at(hours=2), reason_code="incomplete", reason="地址不详")
    r = fresh(r)
    assert (r.status, r.hall_id, r.department_id, r.pending_review) == (
        "escalated",
        county.assignment.pk,
        None,
        "return",
    )
    event = last(r)
    assert (event.verb, event.note, event.actor_id) == ("return", "地址不详", county["dept1"].pk)
    # the code is kept with the event, for the monthly notice's per-department count
    assert "incomplete" in event.data.values()


def test_a_return_needs_a_reason_code_and_a_reason(county: County) -> None:
    r = dispatched(county)
    now = at(hours=1)
    refused(InvalidError, r, A.do_return, actor=county["dept1"], reason="不归我们", now=now)
    for bad in ("", "not_mine", "NOT_OURS", "非本部门职责"):
        refused(
            InvalidError,
            r,
            A.do_return,
            actor=county["dept1"],
            reason="不归我们",
            reason_code=bad,
            now=now,
        )
    refused(
        InvalidError,
        r,
        A.do_return,
        actor=county["dept1"],
        reason="  ",
        reason_code="not_ours",
        now=now,
    )


@pytest.mark.parametrize("code", REASON_CODES)
def test_every_reason_code_is_accepted(county: County, code: str) -> None:
    r = do_return(county, dispatched(county), at(hours=1), reason_code=code)
    assert (r.status, r.pending_review) == ("escalated", "return")
    assert code in last(r).data.values()


def test_only_the_departments_officer_returns(county: County) -> None:
    r = dispatched(county)
    for who in ("dept2", "dispatcher1", "manager1", "liaison1", "leader1", "resident1"):
        refused(
            ForbiddenError,
            r,
            A.do_return,
            actor=county[who],
            reason="x",
            reason_code="other",
            now=at(hours=1),
        )


def test_return_window_default_two_working_days(county: County) -> None:
    # dispatched Tuesday 09:00: Wednesday afternoon is inside the window...
    inside = do_return(county, dispatched(county), at(days=1, hours=7))
    assert inside.status == "escalated"
    # ... a claimed request too ...
    claimed = A.do_claim(dispatched(county), actor=county["dept1"], now=at(hours=1))
    assert do_return(county, claimed, at(days=1, hours=8)).status == "escalated"
    # ... but on the third working day (Friday) the window has closed
    late = dispatched(county)
    refused(
        IllegalTransitionError,
        late,
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(days=3, hours=1),
    )
    # and so it has a week later
    refused(
        IllegalTransitionError,
        late,
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(days=7),
    )


def test_return_window_counts_working_days_not_calendar_days(county: County) -> None:
    # dispatched Friday 2025-06-13 10:00: Monday afternoon is 1 working day later
    friday = datetime(2025, 6, 13, 10, 0, tzinfo=LOCAL_TZ)
    r = do_return(county, dispatched(county, friday), datetime(2025, 6, 16, 15, 0, tzinfo=LOCAL_TZ))
    assert r.status == "escalated"
    # dispatched before 端午 (Sat 31 May – Mon 2 June 2025): Tuesday 3 June is working day 1
    before_holiday = datetime(2025, 5, 30, 10, 0, tzinfo=LOCAL_TZ)
    r = do_return(
        county,
        dispatched(county, before_holiday),
        datetime(2025, 6, 3, 15, 0, tzinfo=LOCAL_TZ),
    )
    assert r.status == "escalated"
    # ... and Thursday 5 June is past the second working day
    late = dispatched(county, before_holiday)
    refused(
        IllegalTransitionError,
        late,
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=datetime(2025, 6, 5, 10, 0, tzinfo=LOCAL_TZ),
    )


def test_return_window_is_a_county_setting(county: County) -> None:
    rules(county, return_window_days=5)
    # Friday is day 3: inside a 5-day window
    r = do_return(county, dispatched(county), at(days=3, hours=1))
    assert (r.status, r.pending_review) == ("escalated", "return")
    # the Tuesday after (day 5) is still inside; the Wednesday after (day 6) is not
    assert do_return(county, dispatched(county), at(days=7, hours=-1)).status == "escalated"
    refused(
        IllegalTransitionError,
        dispatched(county),
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(days=8, hours=1),
    )


def test_a_one_day_window(county: County) -> None:
    rules(county, return_window_days=1)
    assert do_return(county, dispatched(county), at(hours=5)).status == "escalated"
    refused(
        IllegalTransitionError,
        dispatched(county),
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(days=2, hours=1),  # Thursday
    )


def test_another_countys_rules_do_not_apply(county: County) -> None:
    other = Hall.objects.create(code="130600", name="邻县", kind=HallKind.COUNTY)
    CountyRules.objects.update_or_create(
        county=other, defaults={"return_window_days": 10, "max_returns": 5}
    )
    refused(
        IllegalTransitionError,
        dispatched(county),
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(days=3, hours=1),
    )


def test_dispatch_waits_for_the_review_of_a_return(county: County) -> None:
    r = do_return(county, dispatched(county), at(hours=1))
    refused(
        IllegalTransitionError,
        r,
        A.do_dispatch,
        actor=county["dispatcher1"],
        department="gongdian",
        now=at(hours=2),
    )


def test_acknowledging_a_return_does_not_bypass_review(county: County) -> None:
    """A return waits for the dispatcher's review (redispatch or uphold); only review_return
    clears it. Acknowledging the returned request first must not turn the review into a plain
    dispatch: either the acknowledge is refused, or the dispatch after it still is."""
    r = do_return(county, dispatched(county), at(hours=1))
    try:
        r = A.do_acknowledge(r.pk, actor=county["dispatcher1"], now=at(hours=2))
    except IllegalTransitionError:
        return
    assert r.pending_review == "return", "acknowledge cleared a return waiting for review"
    refused(
        IllegalTransitionError,
        r,
        A.do_dispatch,
        actor=county["dispatcher1"],
        department="zhujian",
        now=at(hours=3),
    )


# --- review of a return (派单异议审核) --------------------------------------------------------


def test_review_return_redispatch(county: County) -> None:
    r = do_return(county, dispatched(county), at(hours=1))
    r = A.do_review_return(
        r.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="gongdian",
        reason="属供电公司职责",
        now=at(hours=2),
    )
    r = fresh(r)
    assert (r.status, r.department.code, r.pending_review, r.hall_id) == (
        "dispatched",
        "gongdian",
        "",
        county.assignment.pk,
    )
    assert r.claim_by is not None
    event = last(r)
    assert event.verb == "review_return" and event.data["decision"] == "redispatch"
    # the new department may claim it; the old one is no longer involved
    refused(ForbiddenError, r, A.do_claim, actor=county["dept1"], now=at(hours=3))
    assert A.do_claim(r.pk, actor=county["dept2"], now=at(hours=3)).status == "claimed"


def test_review_return_uphold_sends_it_back_and_the_department_cannot_return_again(
    county: County,
) -> None:
    r = do_return(county, dispatched(county), at(hours=1))
    r = A.do_review_return(
        r.pk, actor=county["dispatcher1"], decision="uphold", reason="属住建职责", now=at(hours=2)
    )
    r = fresh(r)
    assert (r.status, r.department.code, r.pending_review) == ("dispatched", "zhujian", "")
    assert last(r).data["decision"] == "uphold"
    # inside the window and below max_returns, but upheld: no second return
    for now in (at(hours=3), at(days=1)):
        refused(
            IllegalTransitionError,
            r,
            A.do_return,
            actor=county["dept1"],
            reason="还是不归我们",
            reason_code="other",
            now=now,
        )
    r = A.do_claim(r.pk, actor=county["dept1"], now=at(hours=4))
    refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept1"],
        reason="还是不归我们",
        reason_code="other",
        now=at(hours=5),
    )


def test_upheld_stays_upheld_for_that_department_only(county: County) -> None:
    """zhujian's return is upheld; later the request goes to gongdian, which may return it."""
    rules(county, max_returns=3)
    r = do_return(county, dispatched(county), at(hours=1))
    r = A.do_review_return(r.pk, actor=county["dispatcher1"], decision="uphold", now=at(hours=2))
    # the dispatcher moves it on by hand-down and back up, then to gongdian
    r = A.do_hand_down(
        r.pk,
        actor=county["dispatcher1"],
        hall=county.township,
        reason="镇里先核实",
        now=at(hours=3),
    )
    r = A.do_acknowledge(r.pk, actor=county["manager1"], now=at(hours=4))
    r = A.do_escalate(r.pk, actor=county["manager1"], now=at(hours=5))
    r = A.do_dispatch(r.pk, actor=county["dispatcher1"], department="gongdian", now=at(hours=6))
    r = do_return(county, r, at(hours=7), by="dept2")
    assert r.pending_review == "return"
    # ... and zhujian, dispatched it again, still may not
    r = A.do_review_return(
        r.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="zhujian",
        now=at(hours=8),
    )
    refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(hours=9),
    )


def test_review_return_is_the_dispatchers(county: County) -> None:
    r = do_return(county, dispatched(county), at(hours=1))
    for who in ("dept1", "dept2", "manager1", "liaison1", "leader1", "duty1", "resident1"):
        refused(
            ForbiddenError,
            r,
            A.do_review_return,
            actor=county[who],
            decision="uphold",
            now=at(hours=2),
        )


def test_review_return_needs_a_decision_and_a_return(county: County) -> None:
    r = do_return(county, dispatched(county), at(hours=1))
    for decision in (None, "", "maybe", "redo"):
        refused(
            InvalidError,
            r,
            A.do_review_return,
            actor=county["dispatcher1"],
            decision=decision,
            now=at(hours=2),
        )
    # redispatch names the department
    refused(
        InvalidError,
        r,
        A.do_review_return,
        actor=county["dispatcher1"],
        decision="redispatch",
        now=at(hours=2),
    )
    refused(
        InvalidError,
        r,
        A.do_review_return,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="nope",
        now=at(hours=2),
    )
    # nothing to review on a request that was never returned
    plain = dispatched(county)
    refused(
        IllegalTransitionError,
        plain,
        A.do_review_return,
        actor=county["dispatcher1"],
        decision="uphold",
        now=at(hours=2),
    )


def _bounce(c: County, r: Request, now: datetime, by: str, to: str) -> Request:
    """`by` returns it; the dispatcher re-dispatches it to `to`."""
    r = do_return(c, r, now, by=by)
    return A.do_review_return(
        r.pk, actor=c["dispatcher1"], decision="redispatch", department=to, now=now + MINUTE
    )


def test_max_returns_default_two(county: County) -> None:
    r = dispatched(county)
    r = _bounce(county, r, at(hours=1), "dept1", "gongdian")
    r = _bounce(county, r, at(hours=2), "dept2", "zhujian")
    assert fresh(r).department.code == "zhujian"
    # returned twice: only the dispatcher routes it now (dept1 was not upheld, still in window)
    refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept1"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(hours=3),
    )
    # the dispatcher still can: down to the township
    r = A.do_hand_down(
        r.pk, actor=county["dispatcher1"], hall=county.township, reason="镇里协调", now=at(hours=4)
    )
    assert (r.status, r.hall_id) == ("escalated", county.township.pk)


def test_max_returns_one(county: County) -> None:
    rules(county, max_returns=1)
    r = _bounce(county, dispatched(county), at(hours=1), "dept1", "gongdian")
    refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept2"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(hours=2),
    )


def test_max_returns_three(county: County) -> None:
    rules(county, max_returns=3)
    r = _bounce(county, dispatched(county), at(hours=1), "dept1", "gongdian")
    r = _bounce(county, r, at(hours=2), "dept2", "zhujian")
    r = do_return(county, r, at(hours=3))  # the third is allowed
    assert r.pending_review == "return"
    r = A.do_review_return(
        r.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="gongdian",
        now=at(hours=4),
    )
    refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept2"],
        reason="不归我们",
        reason_code="not_ours",
        now=at(hours=5),
    )


# --- hand-down (下沉) -------------------------------------------------------------------------


def _held(c: County) -> Request:
    r = A.do_claim(dispatched(c), actor=c["dept1"], now=at(hours=1))
    return A.do_hold(r.pk, actor=c["dept1"], reason="等停电", now=at(hours=2))


def _arrived(c: County, now: datetime) -> Request:
    """Escalated from the village through the township into the assignment hall."""
    r = submitted(c, now)
    r = A.do_escalate(r, actor=c["liaison1"], now=now + MINUTE)
    r = A.do_acknowledge(r, actor=c["manager1"], now=now + 2 * MINUTE)
    return A.do_escalate(r, actor=c["manager1"], now=now + 3 * MINUTE)


@pytest.mark.parametrize(
    "stage", ["dispatched", "claimed", "on_hold", "escalated", "returned", "acknowledged"]
)
def test_hand_down_by_the_dispatcher(county: County, stage: str) -> None:
    if stage == "dispatched":
        r = dispatched(county)
    elif stage == "claimed":
        r = A.do_claim(dispatched(county), actor=county["dept1"], now=at(hours=1))
    elif stage == "on_hold":
        r = _held(county)
    elif stage == "returned":
        r = do_return(county, dispatched(county), at(hours=1))
        stage = "escalated"
    elif stage == "escalated":
        r = _arrived(county, at(hours=1))
    else:
        r = A.do_acknowledge(
            _arrived(county, at(hours=1)), actor=county["dispatcher1"], now=at(hours=2)
        )
    assert fresh(r).status == stage
    for who in ("dept1", "dept2", "manager1", "liaison1", "leader1", "duty1", "resident1"):
        refused(
            ForbiddenError,
            r,
            A.do_hand_down,
            actor=county[who],
            hall=county.village,
            reason="村里能办",
            now=at(hours=3),
        )
    r = A.do_hand_down(
        r.pk, actor=county["dispatcher1"], hall=county.village, reason="村里能办", now=at(hours=3)
    )
    r = fresh(r)
    assert (r.status, r.hall_id, r.department_id, r.pending_review) == (
        "escalated",
        county.village.pk,
        None,
        "",
    )
    assert r.respond_by is not None and r.claim_by is None and r.resolve_by is None
    event = last(r)
    assert (event.verb, event.note, event.public) == ("hand_down", "村里能办", True)
    # now it is the village's: its liaison answers, the department no longer acts
    refused(ForbiddenError, r, A.do_claim, actor=county["dept1"], now=at(hours=4))
    assert A.do_acknowledge(r.pk, actor=county["liaison1"], now=at(hours=4)).status == (
        "acknowledged"
    )


def test_a_county_level_manager_does_not_route_department_work(county: County) -> None:
    """A manager of the county hall manages its whole subtree, the assignment hall included;
    routing department work is still the dispatcher's alone (§2, §3.1)."""
    boss = User.objects.create(username="manager0", display_name="县级管理员")
    Membership.objects.create(user=boss, role=Role.MANAGER, hall=county.county)
    r = dispatched(county)
    refused(
        ForbiddenError,
        r,
        A.do_hand_down,
        actor=boss,
        hall=county.village,
        reason="x",
        now=at(hours=1),
    )
    r = do_return(county, r, at(hours=1))
    refused(ForbiddenError, r, A.do_review_return, actor=boss, decision="uphold", now=at(hours=2))
    done = rate(county, resolved_by_department(county, at(hours=3)), "dissatisfied", at(hours=4))
    refused(
        ForbiddenError,
        done,
        A.do_review_rating,
        actor=boss,
        decision="redo",
        until=at(days=3),
        now=at(hours=5),
    )


def test_hand_down_target_and_reason(county: County) -> None:
    r = dispatched(county)
    d = county["dispatcher1"]
    now = at(hours=1)
    for hall in (county.county, county.assignment, county.county.code, "nope", None):
        refused(ActionError, r, A.do_hand_down, actor=d, hall=hall, reason="下沉", now=now)
    e = refused(ActionError, r, A.do_hand_down, actor=d, hall=county.county, reason="下沉", now=now)
    assert e.status in (409, 422)
    for reason in ("", "   "):
        refused(
            InvalidError, r, A.do_hand_down, actor=d, hall=county.village, reason=reason, now=now
        )
    # a hall of another county
    other = Hall.objects.create(code="130600", name="邻县", kind=HallKind.COUNTY)
    town = Hall.objects.create(code="130600001", name="邻镇", kind=HallKind.TOWNSHIP, parent=other)
    village = Hall.objects.create(
        code="130600001001", name="邻村", kind=HallKind.VILLAGE, parent=town
    )
    for hall in (town, village):
        refused(ActionError, r, A.do_hand_down, actor=d, hall=hall, reason="下沉", now=now)
    # a township and a village of this county are fine
    r = A.do_hand_down(r.pk, actor=d, hall=county.township2, reason="西关镇负责", now=now)
    assert fresh(r).hall_id == county.township2.pk


def test_hand_down_only_from_the_assignment_hall(county: County) -> None:
    r = A.do_acknowledge(submitted(county, T0), actor=county["liaison1"], now=at(minutes=1))
    refused(
        IllegalTransitionError,
        r,
        A.do_hand_down,
        actor=county["dispatcher1"],
        hall=county.village2,
        reason="下沉",
        now=at(minutes=2),
    )
    # nor from a resolved request
    done = resolved_by_department(county, at(hours=5))
    refused(
        IllegalTransitionError,
        done,
        A.do_hand_down,
        actor=county["dispatcher1"],
        hall=county.village,
        reason="下沉",
        now=at(hours=6),
    )


def test_nothing_but_hand_down_pushes_department_work_down(county: County) -> None:
    for r in (
        dispatched(county),
        A.do_claim(dispatched(county), actor=county["dept1"], now=at(hours=1)),
        _held(county),
    ):
        for who in ("dept1", "dispatcher1", "manager1", "liaison1"):
            with pytest.raises((ForbiddenError, IllegalTransitionError)):
                A.do_escalate(r.pk, actor=county[who], now=at(hours=3))
        # the sweep does not move it either
        sweep.run_once(now=at(days=30))
        assert fresh(r).hall_id == county.assignment.pk
    # a return leaves it in the assignment hall
    r = do_return(county, dispatched(county, at(days=40)), at(days=40, hours=1))
    assert fresh(r).hall_id == county.assignment.pk


# --- 不满意: review, redo, appeal ---------------------------------------------------------------


def rate(c: County, r: Request, rating: str, now: datetime) -> Request:
    return A.do_rate(r.pk, actor=c["resident1"], rating=rating, now=now)


def test_dissatisfied_waits_for_review_and_the_sweep_never_closes_it(county: County) -> None:
    r = rate(county, resolved_by_department(county), "dissatisfied", at(hours=1))
    r = fresh(r)
    assert (r.status, r.pending_review, r.rating, r.rate_by) == (
        "resolved",
        "rating",
        "dissatisfied",
        None,
    )
    assert sweep.run_once(now=at(days=60)) == 0
    assert fresh(r).status == "resolved"
    # the reporter does not reopen it meanwhile, and nobody closes it by hand
    refused(
        IllegalTransitionError,
        r,
        A.do_reopen,
        actor=county["resident1"],
        reason="还是堵",
        now=at(days=1),
    )
    r = A.do_appeal(r.pk, actor=county["dept1"], reason="诉求超出法定职责", now=at(days=1))
    assert fresh(r).pending_review == "appeal"
    assert fresh(r).rate_by is None
    assert sweep.run_once(now=at(days=120)) == 0
    assert fresh(r).status == "resolved"


def test_redo_of_department_work(county: County) -> None:
    r = rate(county, resolved_by_department(county), "dissatisfied", at(hours=1))
    until = at(days=2, hours=3)
    for who in ("manager1", "dept1", "liaison1", "leader1", "resident1"):
        refused(
            ForbiddenError,
            r,
            A.do_review_rating,
            actor=county[who],
            decision="redo",
            until=until,
            now=at(hours=2),
        )
    r = A.do_review_rating(
        r.pk,
        actor=county["dispatcher1"],
        decision="redo",
        until=until,
        reason="请重新疏通",
        now=at(hours=2),
    )
    r = fresh(r)
    assert (r.status, r.department.code, r.pending_review, r.resolve_by) == (
        "claimed",
        "zhujian",
        "",
        until,
    )
    assert next_deadline(r) == until and r.rate_by is None
    assert last(r).data["decision"] == "redo"
    # the handler fixes it again and the reporter rates the new result
    r = A.do_resolve(r.pk, actor=county["dept1"], note="已彻底疏通", now=at(days=1))
    r = rate(county, r, "satisfied", at(days=1, hours=1))
    assert (r.status, r.rating) == ("closed", "satisfied")


def test_redo_deadline_is_watched(county: County) -> None:
    r = rate(county, resolved_by_department(county), "dissatisfied", at(hours=1))
    until = at(days=1)
    r = A.do_review_rating(
        r.pk, actor=county["dispatcher1"], decision="redo", until=until, now=at(hours=2)
    )
    assert sweep.run_once(now=until - MINUTE) == 0
    assert sweep.run_once(now=until) == 1
    r = fresh(r)
    assert r.overdue and last(r).verb == "breach"


def test_redo_of_local_work_by_the_hall_manager(county: County) -> None:
    r = rate(county, resolved_locally(county), "dissatisfied", at(hours=1))
    until = at(days=3)
    for who in ("liaison1", "dispatcher1", "dept1", "leader1"):
        refused(
            ForbiddenError,
            r,
            A.do_review_rating,
            actor=county[who],
            decision="redo",
            until=until,
            now=at(hours=2),
        )
    r = A.do_review_rating(
        r.pk, actor=county["manager1"], decision="redo", until=until, now=at(hours=2)
    )
    r = fresh(r)
    assert (r.status, r.hall_id, r.department_id, r.resolve_by, r.pending_review) == (
        "in_progress",
        county.village.pk,
        None,
        until,
        "",
    )


def test_redo_needs_a_future_until(county: County) -> None:
    r = rate(county, resolved_by_department(county), "dissatisfied", at(hours=1))
    d = county["dispatcher1"]
    refused(InvalidError, r, A.do_review_rating, actor=d, decision="redo", now=at(hours=2))
    for until in (at(hours=1), at(hours=2)):
        refused(
            InvalidError,
            r,
            A.do_review_rating,
            actor=d,
            decision="redo",
            until=until,
            now=at(hours=2),
        )
    for decision in (None, "", "uphold", "close"):
        refused(
            InvalidError,
            r,
            A.do_review_rating,
            actor=d,
            decision=decision,
            until=at(days=2),
            reason="x",
            now=at(hours=2),
        )


def test_review_rating_needs_something_to_review(county: County) -> None:
    r = resolved_by_department(county)
    refused(
        IllegalTransitionError,
        r,
        A.do_review_rating,
        actor=county["dispatcher1"],
        decision="redo",
        until=at(days=2),
        now=at(hours=1),
    )
    # an appeal decision needs an appeal
    r = rate(county, r, "dissatisfied", at(hours=1))
    for decision in ("approve_appeal", "deny_appeal"):
        refused(
            IllegalTransitionError,
            r,
            A.do_review_rating,
            actor=county["dispatcher1"],
            decision=decision,
            reason="理由",
            now=at(hours=2),
        )


def test_appeal_only_by_the_handler(county: County) -> None:
    r = rate(county, resolved_by_department(county), "dissatisfied", at(hours=1))
    for who in ("dept2", "liaison1", "manager1", "dispatcher1", "resident1"):
        refused(
            ForbiddenError, r, A.do_appeal, actor=county[who], reason="无法满足", now=at(hours=2)
        )
    refused(InvalidError, r, A.do_appeal, actor=county["dept1"], reason="  ", now=at(hours=2))
    r = A.do_appeal(
        r.pk, actor=county["dept1"], reason="要求拆除合法建筑，无法满足", now=at(hours=2)
    )
    r = fresh(r)
    assert (r.status, r.pending_review) == ("resolved", "appeal")
    assert last(r).note == "要求拆除合法建筑，无法满足"
    # one appeal at a time
    refused(
        IllegalTransitionError,
        r,
        A.do_appeal,
        actor=county["dept1"],
        reason="再申请",
        now=at(hours=3),
    )


def test_appeal_of_local_work(county: County) -> None:
    r = rate(county, resolved_locally(county), "dissatisfied", at(hours=1))
    refused(
        ForbiddenError, r, A.do_appeal, actor=county["dept1"], reason="无法满足", now=at(hours=2)
    )
    refused(
        ForbiddenError, r, A.do_appeal, actor=county["liaison2"], reason="无法满足", now=at(hours=2)
    )
    r = A.do_appeal(r.pk, actor=county["liaison1"], reason="无法满足", now=at(hours=2))
    assert fresh(r).pending_review == "appeal"
    # the hall manager decides local appeals
    refused(
        ForbiddenError,
        r,
        A.do_review_rating,
        actor=county["dispatcher1"],
        decision="approve_appeal",
        reason="属实",
        now=at(hours=3),
    )
    r = A.do_review_rating(
        r.pk, actor=county["manager1"], decision="approve_appeal", reason="属实", now=at(hours=3)
    )
    assert (fresh(r).status, fresh(r).appeal_approved) == ("closed", True)


def test_appeal_needs_a_dissatisfied_rating(county: County) -> None:
    r = resolved_by_department(county)
    refused(
        IllegalTransitionError, r, A.do_appeal, actor=county["dept1"], reason="x", now=at(hours=1)
    )
    closed = rate(county, resolved_by_department(county), "satisfied", at(hours=1))
    refused(
        IllegalTransitionError,
        closed,
        A.do_appeal,
        actor=county["dept1"],
        reason="x",
        now=at(hours=2),
    )


def appealed(c: County) -> Request:
    r = rate(c, resolved_by_department(c), "dissatisfied", at(hours=1))
    return A.do_appeal(r.pk, actor=c["dept1"], reason="要求超出法定职责", now=at(hours=2))


def test_approve_appeal_closes_with_appeal_approved(county: County) -> None:
    r = appealed(county)
    refused(
        InvalidError,
        r,
        A.do_review_rating,
        actor=county["dispatcher1"],
        decision="approve_appeal",
        now=at(hours=3),
    )
    refused(
        ForbiddenError,
        r,
        A.do_review_rating,
        actor=county["manager1"],
        decision="approve_appeal",
        reason="属实",
        now=at(hours=3),
    )
    r = A.do_review_rating(
        r.pk,
        actor=county["dispatcher1"],
        decision="approve_appeal",
        reason="经核实，诉求超出法定职责",
        now=at(hours=3),
    )
    r = fresh(r)
    assert (r.status, r.appeal_approved, r.pending_review, r.closed_at) == (
        "closed",
        True,
        "",
        at(hours=3),
    )
    event = last(r)
    assert (event.verb, event.note, event.public, event.actor_id) == (
        "review_rating",
        "经核实，诉求超出法定职责",
        True,
        county["dispatcher1"].pk,
    )
    assert event.data["decision"] == "approve_appeal"


def test_deny_appeal_goes_back_to_the_rating_review(county: County) -> None:
    r = appealed(county)
    refused(
        InvalidError,
        r,
        A.do_review_rating,
        actor=county["dispatcher1"],
        decision="deny_appeal",
        reason="",
        now=at(hours=3),
    )
    r = A.do_review_rating(
        r.pk,
        actor=county["dispatcher1"],
        decision="deny_appeal",
        reason="属职责范围",
        now=at(hours=3),
    )
    r = fresh(r)
    assert (r.status, r.pending_review, r.appeal_approved, r.rate_by) == (
        "resolved",
        "rating",
        False,
        None,
    )
    assert sweep.run_once(now=at(days=60)) == 0
    # the reporter has rated already; the review goes on: redo
    refused(
        IllegalTransitionError,
        r,
        A.do_rate,
        actor=county["resident1"],
        rating="satisfied",
        now=at(hours=4),
    )
    r = A.do_review_rating(
        r.pk, actor=county["dispatcher1"], decision="redo", until=at(days=3), now=at(hours=4)
    )
    assert (fresh(r).status, fresh(r).resolve_by) == ("claimed", at(days=3))


def test_nothing_rates_or_reopens_while_an_appeal_waits(county: County) -> None:
    r = appealed(county)
    refused(
        IllegalTransitionError,
        r,
        A.do_rate,
        actor=county["resident1"],
        rating="satisfied",
        now=at(hours=3),
    )
    refused(
        IllegalTransitionError,
        r,
        A.do_reopen,
        actor=county["resident1"],
        reason="x",
        now=at(hours=3),
    )


def test_the_reporter_rates_once_per_resolution(county: County) -> None:
    r = rate(county, resolved_by_department(county), "dissatisfied", at(hours=1))
    refused(
        IllegalTransitionError,
        r,
        A.do_rate,
        actor=county["resident1"],
        rating="satisfied",
        now=at(hours=2),
    )
    # after a reopen and a new fix, the reporter rates the new fix
    r = rate(county, resolved_locally(county), "satisfied", at(hours=1))
    r = A.do_reopen(r.pk, actor=county["resident1"], reason="又堵了", now=at(days=2))
    r = A.do_resolve(r.pk, actor=county["liaison1"], note="再次清理", now=at(days=3))
    r = rate(county, r, "basically_satisfied", at(days=3, hours=1))
    assert (r.status, r.rating) == ("closed", "basically_satisfied")


# --- return visits (回访) ---------------------------------------------------------------------


def test_visit_records_rating_and_channel_and_the_reporter_wins(county: County) -> None:
    r = resolved_by_department(county)
    r = A.do_visit(
        r.pk, actor=county["liaison1"], rating="satisfied", channel="phone", now=at(hours=1)
    )
    r = fresh(r)
    assert (r.status, r.rating, r.rating_channel, r.pending_review) == (
        "resolved",
        "satisfied",
        "phone",
        "",
    )
    assert r.rate_by is not None  # still the reporter's to rate
    event = last(r)
    assert event.verb == "visit" and event.data["channel"] == "phone"
    assert event.data["rating"] == "satisfied"
    # the reporter's own later rating wins
    r = rate(county, r, "basically_satisfied", at(hours=2))
    r = fresh(r)
    assert (r.status, r.rating, r.rating_channel) == ("closed", "basically_satisfied", "self")
    # and no visit overrides it afterwards
    refused(
        IllegalTransitionError,
        r,
        A.do_visit,
        actor=county["liaison1"],
        rating="dissatisfied",
        channel="in_person",
        now=at(hours=3),
    )


def test_visit_dissatisfied_goes_to_review(county: County) -> None:
    r = resolved_by_department(county)
    r = A.do_visit(
        r.pk,
        actor=county["dispatcher1"],
        rating="dissatisfied",
        channel="in_person",
        now=at(hours=1),
    )
    r = fresh(r)
    assert (r.status, r.pending_review, r.rating_channel, r.rate_by) == (
        "resolved",
        "rating",
        "in_person",
        None,
    )
    assert sweep.run_once(now=at(days=60)) == 0
    # the reporter's own rating still wins over the visit
    r = rate(county, r, "satisfied", at(days=1))
    assert (fresh(r).status, fresh(r).rating, fresh(r).pending_review) == (
        "closed",
        "satisfied",
        "",
    )


def test_a_second_visit_does_not_drop_the_review(county: County) -> None:
    """A 不满意 taken on a visit waits for review; a later 满意 on the phone neither closes the
    review (only review_rating, an appeal or the reporter's own rating do) nor leaves the
    request resolved with no review and no rating window (it would never close)."""
    r = resolved_by_department(county)
    r = A.do_visit(
        r.pk, actor=county["liaison1"], rating="dissatisfied", channel="phone", now=at(hours=1)
    )
    r = A.do_visit(
        r.pk, actor=county["liaison1"], rating="satisfied", channel="phone", now=at(hours=2)
    )
    r = fresh(r)
    assert r.status == "resolved"
    assert r.pending_review == "rating", r.pending_review
    assert r.rate_by is None


def test_a_visit_does_not_drop_an_appeal(county: County) -> None:
    r = resolved_by_department(county)
    r = A.do_visit(
        r.pk, actor=county["liaison1"], rating="dissatisfied", channel="phone", now=at(hours=1)
    )
    r = A.do_appeal(r.pk, actor=county["dept1"], reason="无法满足", now=at(hours=2))
    r = A.do_visit(
        r.pk, actor=county["liaison1"], rating="satisfied", channel="phone", now=at(hours=3)
    )
    r = fresh(r)
    assert (r.status, r.pending_review, r.rate_by) == ("resolved", "appeal", None)


def test_who_may_visit(county: County) -> None:
    r = resolved_by_department(county)  # first taken by 东关村, now at the assignment hall
    for who in ("liaison2", "liaison3", "dept1", "dept2", "leader1", "duty1", "resident2"):
        refused(
            ForbiddenError,
            r,
            A.do_visit,
            actor=county[who],
            rating="satisfied",
            channel="phone",
            now=at(hours=1),
        )
    # 首接负责: the first hall's liaison and manager, and the dispatcher
    for i, who in enumerate(("liaison1", "manager1", "dispatcher1")):
        r = A.do_visit(
            r.pk, actor=county[who], rating="satisfied", channel="phone", now=at(hours=2 + i)
        )
        assert last(r).actor_id == county[who].pk


def test_visit_arguments(county: County) -> None:
    r = resolved_by_department(county)
    v = county["liaison1"]
    for channel in (None, "", "wechat", "self"):
        refused(
            InvalidError,
            r,
            A.do_visit,
            actor=v,
            rating="satisfied",
            channel=channel,
            now=at(hours=1),
        )
    for rating in (None, "", "ok"):
        refused(
            InvalidError, r, A.do_visit, actor=v, rating=rating, channel="phone", now=at(hours=1)
        )
    # not before the work is done
    refused(
        IllegalTransitionError,
        dispatched(county),
        A.do_visit,
        actor=county["dispatcher1"],
        rating="satisfied",
        channel="phone",
        now=at(hours=1),
    )


def test_visit_on_a_request_closed_unrated(county: County) -> None:
    r = resolved_by_department(county)
    assert sweep.run_once(now=at(days=8)) == 1
    assert fresh(r).status == "closed" and not fresh(r).rating
    r = A.do_visit(
        r.pk, actor=county["liaison1"], rating="dissatisfied", channel="phone", now=at(days=9)
    )
    r = fresh(r)
    assert (r.status, r.rating, r.rating_channel, r.pending_review) == (
        "closed",
        "dissatisfied",
        "phone",
        "",
    )


# --- county settings --------------------------------------------------------------------------


def test_county_rules_defaults(county: County) -> None:
    # a county without a row of its own gets the defaults
    CountyRules.objects.filter(county=county.county).delete()
    defaults = CountyRules.for_county(county.county.code)
    assert (
        defaults.return_window_days,
        defaults.max_returns,
        defaults.reminder_percent,
        defaults.basic_satisfied_weight,
    ) == (2, 2, 80, Decimal("1"))
    # and a new row starts at them
    row = CountyRules.objects.create(county=county.county)
    row.refresh_from_db()
    assert (row.return_window_days, row.max_returns, row.reminder_percent) == (2, 2, 80)
    assert row.basic_satisfied_weight == Decimal("1.00")
    row.full_clean()
    # one row per county
    with pytest.raises(IntegrityError), transaction.atomic():
        CountyRules.objects.create(county=county.county)


def test_county_rules_changed_values(county: County) -> None:
    rules(
        county,
        return_window_days=5,
        max_returns=1,
        reminder_percent=70,
        basic_satisfied_weight=Decimal("0.9"),
    )
    got = CountyRules.for_county(county.county.code)
    assert (got.return_window_days, got.max_returns, got.reminder_percent) == (5, 1, 70)
    assert got.basic_satisfied_weight == Decimal("0.90")
    # another county keeps the defaults
    other = Hall.objects.create(code="130600", name="邻县", kind=HallKind.COUNTY)
    assert CountyRules.for_county(other.code).reminder_percent == 80
    assert CountyRules.for_county(other.code).return_window_days == 2


@pytest.mark.parametrize(
    "field,bad,good",
    [
        ("return_window_days", [0], [1, 10]),
        ("max_returns", [0], [1, 5]),
        ("reminder_percent", [0, 150], [50, 80, 95]),
        (
            "basic_satisfied_weight",
            [Decimal("-0.1"), Decimal("1.5")],
            [Decimal("0"), Decimal("0.9"), Decimal("1")],
        ),
    ],
)
def test_county_rules_validation(
    county: County, field: str, bad: list[Any], good: list[Any]
) -> None:
    row = CountyRules.for_county(county.county.code)
    for value in good:
        setattr(row, field, value)
        row.full_clean()
    for value in bad:
        setattr(row, field, value)
        with pytest.raises(ValidationError) as info:
            row.full_clean()
        assert field in info.value.message_dict


def test_county_rules_are_in_the_admin_with_an_explanation() -> None:
    assert admin.site.is_registered(CountyRules)
    for name in ("return_window_days", "max_returns", "reminder_percent", "basic_satisfied_weight"):
        assert str(CountyRules._meta.get_field(name).help_text).strip(), name

"""The deadline sweep (PRODUCT.md §4) with explicit times: no sleeping, every call gets now=."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yishiting.orgs.models import ClockPolicy, DutyShift
from yishiting.requests import actions as A
from yishiting.requests import clocks, sweep
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.testing import County, next_deadline, png_bytes

# Tuesday 2025-06-10, 09:00 in the county: an ordinary working week.
T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


def events(req: Request) -> list[Event]:
    return list(Event.objects.filter(request_id=req.pk).order_by("seq"))


def last(req: Request) -> Event:
    return events(req)[-1]


def calendar() -> clocks.WorkCalendar:
    return clocks.WorkCalendar()


def submitted(c: County, now: datetime = T0) -> Request:
    return A.do_submit(actor=c["resident1"], hall=c.village, text="村口路灯坏了三天了", now=now)


def claimed(c: County, now: datetime = T0) -> Request:
    """A request taken by 住建局 at `now` (every earlier step a minute before)."""
    r = submitted(c, now - 6 * MINUTE)
    r = A.do_acknowledge(r, actor=c["liaison1"], now=now - 5 * MINUTE)
    r = A.do_escalate(r, actor=c["liaison1"], now=now - 4 * MINUTE)
    r = A.do_acknowledge(r, actor=c["manager1"], now=now - 3 * MINUTE)
    r = A.do_escalate(r, actor=c["manager1"], now=now - 2 * MINUTE)
    r = A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", now=now - MINUTE)
    r = A.do_claim(r, actor=c["dept1"], now=now)
    assert r.status == "claimed"
    return r


def resolved(c: County, now: datetime) -> Request:
    r = A.do_acknowledge(submitted(c, now - 2 * MINUTE), actor=c["liaison1"], now=now - MINUTE)
    r = A.do_start(r, actor=c["liaison1"], now=now - MINUTE)
    r = A.do_resolve(r, actor=c["liaison1"], note="已修好", now=now)
    assert r.status == "resolved"
    return r


# --- first response and parent response ---------------------------------------------------


def test_missed_first_response_escalates_at_exactly_respond_by(county: County) -> None:
    r = submitted(county)
    assert r.respond_by == at(5) == next_deadline(r)
    assert sweep.run_once(now=at(5) - SECOND) == 0
    assert Request.objects.get(pk=r.pk).status == "submitted"

    assert sweep.run_once(now=at(5)) == 1
    r.refresh_from_db()
    assert (r.status, r.hall_id, r.version) == ("escalated", county.township.pk, 2)
    event = last(r)
    assert (event.verb, event.actor_id, event.created_at) == ("escalate", None, at(5))
    assert event.data == {
        "hall": county.township.code,
        "from_hall": county.village.code,
        "auto": True,
    }
    # the automatic escalation is not a response by a person
    assert r.first_responded_at is None
    # the parent's clock now runs from the escalation
    assert r.respond_by == at(10) == next_deadline(r)

    # a second pass at the same time finds nothing left to do
    assert sweep.run_once(now=at(5)) == 0
    assert len(events(r)) == 2


def test_missed_parent_response_is_one_breach_and_overdue(county: County) -> None:
    r = A.do_escalate(submitted(county), actor=county["liaison1"], now=at(1))
    assert (r.status, r.hall_id, r.respond_by, r.overdue) == (
        "escalated",
        county.township.pk,
        at(6),
        False,
    )
    assert sweep.run_once(now=at(6) - SECOND) == 0
    assert sweep.run_once(now=at(6)) == 1
    r.refresh_from_db()
    # no further automatic escalation: the parent's miss is recorded, the request stays put
    assert (r.status, r.hall_id, r.overdue, next_deadline(r)) == (
        "escalated",
        county.township.pk,
        True,
        None,
    )
    breach = last(r)
    assert (breach.verb, breach.actor_id, breach.data) == (
        "breach",
        None,
        {"clocks": ["respond_by"]},
    )
    assert sweep.run_once(now=at(60)) == 0
    assert [e.verb for e in events(r)].count("breach") == 1
    # overdue stays visible until someone acts; answering clears it
    r = A.do_acknowledge(r, actor=county["manager1"], now=at(61))
    assert r.overdue is False


# --- claim and resolution clocks ---------------------------------------------------------


def test_missed_claim_clock_breaches(county: County) -> None:
    r = claimed(county)
    # back one step: a fresh dispatch to watch its claim clock
    r = A.do_return(
        r, actor=county["dept1"], reason_code="not_ours", reason="非本部门职责", now=at(1)
    )
    r = A.do_review_return(
        r, actor=county["dispatcher1"], decision="redispatch", department="gongdian", now=at(3)
    )
    policy = ClockPolicy.for_request(None, "normal")
    expected = clocks.add(
        at(3),
        policy.claim_seconds,
        clocks.Basis(policy.claim_basis),
        calendar(),
        county.dept2.hours(),
    )
    assert r.claim_by == expected == next_deadline(r)
    assert sweep.run_once(now=expected - SECOND) == 0
    assert sweep.run_once(now=expected) == 1
    r.refresh_from_db()
    assert (r.status, r.overdue) == ("dispatched", True)
    assert last(r).data == {"clocks": ["claim_by"]}


def test_claimed_request_past_resolve_by_breaches(county: County) -> None:
    r = claimed(county)
    policy = ClockPolicy.for_request(None, "normal")
    due = clocks.add(
        T0,
        policy.resolution_seconds,
        clocks.Basis(policy.resolution_basis),
        calendar(),
        county.dept.hours(),
    )
    assert due == datetime(2025, 6, 13, 9, 0, tzinfo=LOCAL_TZ)  # 3 working days: Friday
    assert r.resolve_by == due == next_deadline(r) and not r.overdue

    assert sweep.run_once(now=due - SECOND) == 0
    assert sweep.run_once(now=due) == 1
    r.refresh_from_db()
    assert (r.status, r.overdue, next_deadline(r), r.resolve_by) == ("claimed", True, None, due)
    breach = last(r)
    assert (breach.verb, breach.actor_id, breach.from_status, breach.to_status) == (
        "breach",
        None,
        "claimed",
        "claimed",
    )
    assert breach.data == {"clocks": ["resolve_by"]}
    assert sweep.run_once(now=due + timedelta(days=3)) == 0
    # resolving late is recorded as late
    photo = io.BytesIO(png_bytes())
    photo.name = "fix.png"
    r = A.do_resolve(r, actor=county["dept1"], note="已修复", photos=[photo], now=due + MINUTE)
    assert last(r).data == {"late": True}


def test_hold_pauses_the_resolution_clock(county: County) -> None:
    r = claimed(county)
    basis = clocks.Basis(ClockPolicy.for_request(None, "normal").resolution_basis)
    due = r.resolve_by
    hold_at = datetime(2025, 6, 11, 15, 30, tzinfo=LOCAL_TZ)  # Wednesday afternoon
    r = A.do_hold(r, actor=county["dept1"], reason="等待电力部门停电配合", now=hold_at)
    remaining = clocks.elapsed(hold_at, due, basis, calendar(), county.dept.hours())
    assert remaining > 0
    assert (r.status, r.resolve_by, r.resolve_remaining, next_deadline(r)) == (
        "on_hold",
        None,
        remaining,
        None,
    )
    # while on hold, the old deadline passes unnoticed
    assert sweep.run_once(now=due + timedelta(days=10)) == 0
    r.refresh_from_db()
    assert not r.overdue

    resume_at = datetime(2025, 6, 20, 10, 0, tzinfo=LOCAL_TZ)  # the Friday after
    r = A.do_resume(r, actor=county["dept1"], now=resume_at)
    new_due = clocks.add(resume_at, remaining, basis, calendar(), county.dept.hours())
    assert (r.status, r.resolve_by, next_deadline(r), r.resolve_remaining) == (
        "claimed",
        new_due,
        new_due,
        None,
    )
    # the paused time was not counted: the new deadline is as far from the resume as the old
    # one was from the hold (on the clock's basis), so later than the old one plus the pause
    assert clocks.elapsed(resume_at, new_due, basis, calendar()) == remaining
    assert new_due > due + (resume_at - hold_at) - timedelta(days=3)
    assert sweep.run_once(now=new_due - SECOND) == 0
    assert sweep.run_once(now=new_due) == 1
    assert last(r).data == {"clocks": ["resolve_by"]}


def test_local_hold_and_resume_go_back_to_in_progress(county: County) -> None:
    r = A.do_acknowledge(submitted(county), actor=county["liaison1"], now=at(1))
    r = A.do_start(r, actor=county["liaison1"], now=at(2))
    due = r.resolve_by
    r = A.do_hold(r, actor=county["liaison1"], reason="等村委会开会", now=at(hours=1))
    r = A.do_resume(r, actor=county["liaison1"], now=at(days=1))
    assert r.status == "in_progress"
    # 3 working days from Tuesday 09:01, less the 59 minutes used before the hold, counted
    # again from Wednesday 09:00: Friday's end, the weekend, Monday 08:01.
    assert due == datetime(2025, 6, 13, 9, 1, tzinfo=LOCAL_TZ)
    assert r.resolve_by == datetime(2025, 6, 16, 8, 1, tzinfo=LOCAL_TZ) == next_deadline(r)


def test_approved_extension_moves_resolve_by_and_denied_does_not(county: County) -> None:
    r = claimed(county)
    due = r.resolve_by
    until = due + timedelta(days=4)
    r = A.do_extend(r, actor=county["dept1"], until=until, reason="需采购配件", now=at(hours=2))
    assert (r.resolve_by, r.extension_until) == (due, until)
    r = A.do_approve_extension(r, actor=county["dispatcher1"], now=at(hours=3))
    assert (r.resolve_by, r.extension_until, next_deadline(r)) == (until, None, until)
    assert sweep.run_once(now=due) == 0  # the old deadline no longer counts
    r.refresh_from_db()
    assert not r.overdue
    assert sweep.run_once(now=until) == 1
    r.refresh_from_db()
    assert r.overdue and last(r).data == {"clocks": ["resolve_by"]}

    other = claimed(county, at(1))
    other_due = other.resolve_by
    other = A.do_extend(
        other,
        actor=county["dept1"],
        until=other_due + timedelta(days=9),
        reason="需采购配件",
        now=at(hours=2),
    )
    other = A.do_deny_extension(other, actor=county["dispatcher1"], now=at(hours=3))
    assert (other.resolve_by, other.extension_until) == (other_due, None)
    assert sweep.run_once(now=other_due) == 1
    other.refresh_from_db()
    assert other.overdue


def test_the_dispatcher_decides_extensions_for_the_assignment_halls_own_work(
    county: County,
) -> None:
    r = A.do_escalate(submitted(county), actor=county["liaison1"], now=at(1))
    r = A.do_acknowledge(r, actor=county["manager1"], now=at(2))
    r = A.do_escalate(r, actor=county["manager1"], now=at(3))
    r = A.do_acknowledge(r, actor=county["dispatcher1"], now=at(4))
    r = A.do_start(r, actor=county["dispatcher1"], now=at(5))
    assert (r.status, r.hall_id, r.department_id) == ("in_progress", county.assignment.pk, None)
    until = r.resolve_by + timedelta(days=2)
    r = A.do_extend(r, actor=county["dispatcher1"], until=until, reason="待协调", now=at(6))
    for nobody in ("manager1", "liaison1", "dept1", "leader1"):
        with pytest.raises(A.ForbiddenError):
            A.do_approve_extension(r, actor=county[nobody], now=at(7))
    r = A.do_approve_extension(r, actor=county["dispatcher1"], now=at(7))
    assert (r.resolve_by, next_deadline(r)) == (until, until)


# --- rating window --------------------------------------------------------------------------


def test_rating_window_end_closes_as_unrated(county: County) -> None:
    r = resolved(county, at(10))
    assert r.rate_by == at(10, days=7) == next_deadline(r)
    assert sweep.run_once(now=at(10, days=7) - SECOND) == 0
    assert sweep.run_once(now=at(10, days=7)) == 1
    r.refresh_from_db()
    assert (r.status, r.closed_at, r.rating, r.overdue) == ("closed", at(10, days=7), "", False)
    assert r.reopen_until == at(10, days=37)
    assert next_deadline(r) is None  # the reopen window is not a deadline to act on
    close = last(r)
    assert (close.verb, close.actor_id, close.data) == ("close", None, {"unrated": True})
    assert sweep.run_once(now=at(10, days=60)) == 0
    # after the 30-day window, the resident can no longer reopen
    with pytest.raises(A.IllegalTransitionError):
        A.do_reopen(r, actor=county["resident1"], reason="又坏了", now=at(10, days=38))
    A.do_reopen(r, actor=county["resident1"], reason="又坏了", now=at(10, days=36))


def test_dissatisfied_rating_is_not_closed_as_unrated(county: County) -> None:
    r = resolved(county, at(10))
    r = A.do_rate(r, actor=county["resident1"], rating="dissatisfied", now=at(20))
    assert r.status == "resolved"
    sweep.run_once(now=at(10, days=8))
    r.refresh_from_db()
    assert not any(e.data.get("unrated") for e in events(r))
    assert r.status == "resolved"


# --- supervision ----------------------------------------------------------------------------


def test_supervision_deadline_breaches_on_its_own(county: County) -> None:
    r = claimed(county)
    resolve_by = r.resolve_by
    r = A.do_supervise(
        r, actor=county["leader1"], until=at(hours=2), note="限两小时内处理", now=at(30)
    )
    assert (r.supervise_by, next_deadline(r)) == (at(hours=2), at(hours=2))
    assert sweep.run_once(now=at(hours=2)) == 1
    r.refresh_from_db()
    assert (r.status, r.overdue, r.resolve_by) == ("claimed", True, resolve_by)
    assert last(r).data == {"clocks": ["supervise_by"]}
    # the resolution clock is still pending on its own
    assert next_deadline(r) == resolve_by
    assert sweep.run_once(now=resolve_by) == 1
    assert last(r).data == {"clocks": ["resolve_by"]}


def test_duty_officer_supervises_only_during_the_shift(county: County) -> None:
    r = claimed(county)
    DutyShift.objects.create(
        county=county.county, user=county["duty1"], starts_at=at(hours=8), ends_at=at(hours=20)
    )
    with pytest.raises(A.ForbiddenError):
        A.do_supervise(r, actor=county["duty1"], until=at(hours=9), now=at(hours=7))
    r = A.do_supervise(r, actor=county["duty1"], until=at(hours=9), now=at(hours=8))
    assert r.supervise_by == at(hours=9)


def test_several_clocks_due_at_once_are_all_acted_on_in_one_pass(county: County) -> None:
    r = claimed(county)
    r = A.do_supervise(r, actor=county["leader1"], until=at(hours=1), now=at(1))
    # the sweep was down for a week: both the order and the resolution clock have run out
    acted = sweep.run_once(now=at(days=7))
    assert acted == 2
    r.refresh_from_db()
    assert [e.data for e in events(r)[-2:]] == [
        {"clocks": ["supervise_by"]},
        {"clocks": ["resolve_by"]},
    ]
    assert next_deadline(r) is None and r.overdue
    # and a submitted request with a supervision order earlier than its first response
    s = submitted(county, at(days=8))
    A.do_supervise(s, actor=county["leader1"], until=at(1, days=8), now=at(0.5, days=8))
    assert sweep.run_once(now=at(days=9)) == 2  # the order's breach, then auto-escalation
    assert [e.verb for e in events(s)] == ["submit", "supervise", "breach", "escalate"]
    s.refresh_from_db()
    # the parent's clock starts when the sweep escalates, not when the first response was due
    assert (s.status, s.respond_by, next_deadline(s)) == ("escalated", at(5, days=9), at(5, days=9))
    assert not Request.objects.filter(next_due_at__lte=at(days=9)).exists()


# --- the sweep reads only due rows ------------------------------------------------------------


def _open_requests(county: County, n: int) -> None:
    """n open requests with deadlines in the future (made in bulk: the sweep is under test)."""
    rows = [
        Request(
            hall=county.village,
            origin_hall=county.village,
            title=f"诉求{i}",
            text="路面坑洼",
            status="claimed" if i % 2 else "submitted",
            created_at=T0,
            updated_at=T0,
            respond_by=None if i % 2 else at(5),
            resolve_by=at(days=3) if i % 2 else None,
            next_due_at=at(days=3) if i % 2 else at(5),
        )
        for i in range(n)
    ]
    Request.objects.bulk_create(rows)


@pytest.mark.parametrize("n", [0, 500])
def test_a_sweep_with_nothing_due_is_one_query(county: County, n: int) -> None:
    _open_requests(county, n)
    assert Request.objects.count() == n
    with CaptureQueriesContext(connection) as ctx:
        assert sweep.run_once(now=at(4)) == 0
    # One query for the requests' clocks, one for the deliberation's (meetings and projects).
    assert len(ctx.captured_queries) == 2, ctx.captured_queries
    assert all("next_due_at" in q["sql"] for q in ctx.captured_queries)


def test_a_sweep_costs_the_same_with_500_requests_not_due(county: County) -> None:
    def cost() -> int:
        r = submitted(county, at(-5))
        with CaptureQueriesContext(connection) as ctx:
            assert sweep.run_once(now=at(0)) == 1
        r.refresh_from_db()
        assert r.status == "escalated"
        return len(ctx.captured_queries)

    cost()  # the first pass also reads the county's configuration into this process's copy
    alone = cost()
    _open_requests(county, 500)
    assert cost() == alone


# --- a person acting between the sweep's read and its write ---------------------------------


def _someone_acts_after_the_sweep_reads(monkeypatch, act) -> None:  # type: ignore[no-untyped-def]
    """The sweep reads a due request; before it writes, a person changes the request."""
    real = A.load_request
    pending = [act]

    def fresh(req):  # type: ignore[no-untyped-def]
        seen = real(req)
        if pending:
            pending.pop()()
        return seen

    monkeypatch.setattr(A, "load_request", fresh)


def test_an_answer_just_before_the_sweep_writes_stops_the_auto_escalation(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = submitted(county)
    _someone_acts_after_the_sweep_reads(
        monkeypatch, lambda: A.do_acknowledge(r.pk, actor=county["liaison1"], now=at(5))
    )
    assert sweep.run_once(now=at(5)) == 0
    monkeypatch.undo()
    r.refresh_from_db()
    # the liaison answered: no automatic escalation of an acknowledged request
    assert (r.status, r.hall_id) == ("acknowledged", county.village.pk)
    assert [e.verb for e in events(r)] == ["submit", "acknowledge"]

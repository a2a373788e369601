"""Lead and assisting departments (主办/协办, PRODUCT.md §3.1, docs/handling-rules.md) at the
level of the actions, with explicit times: each department's own clock, posting and waiving,
the lead's resolve held back by open parts, returns of a part reviewed like any return, and
what hand-down, re-dispatch and reject do to open parts.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from yishiting.core.errors import ForbiddenError, IllegalTransitionError, InvalidError
from yishiting.orgs.models import Department, Membership, Role, User
from yishiting.orgs.scope import Actor
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.requests.models import Event, Part, Request
from yishiting.requests.queries import sees_personal_data, visible_requests
from yishiting.requests.states import replay
from yishiting.requests.tests.test_handling_rules import (
    DAY,
    HOUR,
    MINUTE,
    T0,
    at,
    do_return,
    fresh,
    last,
    refused,
    rules,
    submitted,
)
from yishiting.testing import County, next_deadline, png_bytes

pytestmark = pytest.mark.django_db


def with_parts(
    c: County, now: datetime = T0, assisting: tuple[str, ...] = ("gongdian",)
) -> Request:
    """Up the tree, then dispatched at `now` to 住建 (lead) with assisting departments."""
    r = submitted(c, now - 10 * MINUTE)
    r = A.do_acknowledge(r, actor=c["liaison1"], now=now - 9 * MINUTE)
    r = A.do_escalate(r, actor=c["liaison1"], now=now - 8 * MINUTE)
    r = A.do_acknowledge(r, actor=c["manager1"], now=now - 7 * MINUTE)
    r = A.do_escalate(r, actor=c["manager1"], now=now - 6 * MINUTE)
    return A.do_dispatch(
        r, actor=c["dispatcher1"], department="zhujian", assisting=list(assisting), now=now
    )


def part(req: Request, code: str = "gongdian") -> Part:
    return Part.objects.filter(request_id=req.pk, department__code=code).order_by("-id").first()  # type: ignore[return-value]


def third_department(c: County) -> User:
    """市政 and its officer dept3."""
    dept = Department.objects.create(code="shizheng", name="市政局", county=c.county)
    user = User.objects.create(username="dept3", display_name="郑强")
    Membership.objects.create(user=user, role=Role.DEPARTMENT, department=dept)
    return user


def replays(req: Request) -> None:
    """Replaying the events gives the request's state and its parts."""
    rows = list(Event.objects.filter(request_id=req.pk).order_by("seq").values())
    got = replay(rows)
    r = fresh(req)
    assert (got.status, got.pending) == (r.status, r.pending_review)
    assert got.department == (r.department.code if r.department else None)
    stored = [
        [p.department.code, p.status]
        for p in Part.objects.filter(request_id=req.pk).select_related("department").order_by("id")
    ]
    assert got.parts == stored


def test_dispatch_with_an_assisting_department_gives_each_its_own_clock(county: County) -> None:
    r = with_parts(county)
    assert (r.status, r.department.code) == ("dispatched", "zhujian")
    p = part(r)
    assert (p.status, p.dispatched_at) == ("dispatched", T0)
    # the claim clock: 30 working minutes (§4), in the department's own working hours
    assert r.claim_by == p.claim_by == T0 + 30 * MINUTE
    assert last(r).data["assisting"] == ["gongdian"]
    # the assisting officer claims its part: its resolution clock starts; the request stays
    r = A.do_claim(r.pk, actor=county["dept2"], now=at(minutes=10))
    p = part(r)
    assert (r.status, p.status, p.claimed_at, p.claim_by) == (
        "dispatched",
        "claimed",
        at(minutes=10),
        None,
    )
    assert p.resolve_by is not None and p.resolve_by > at(days=3)
    assert last(r).data == {"part": "gongdian", "role": "assisting", "department": "gongdian"}
    assert r.claim_by == T0 + 30 * MINUTE  # the lead's clock is the lead's
    # the lead claims the request
    r = A.do_claim(r.pk, actor=county["dept1"], now=at(minutes=20))
    assert r.status == "claimed"
    replays(r)


def test_bad_assisting_lists_are_refused(county: County) -> None:
    up = submitted(county, at(minutes=-10))
    up = A.do_acknowledge(up, actor=county["liaison1"], now=at(minutes=-9))
    up = A.do_escalate(up, actor=county["liaison1"], now=at(minutes=-8))
    up = A.do_acknowledge(up, actor=county["manager1"], now=at(minutes=-7))
    up = A.do_escalate(up, actor=county["manager1"], now=at(minutes=-6))
    for bad in (["zhujian"], ["gongdian", "gongdian"], ["nope"], "gongdian", ["gongdian"] * 11):
        refused(
            InvalidError,
            up,
            A.do_dispatch,
            actor=county["dispatcher1"],
            department="zhujian",
            assisting=bad,
            now=T0,
        )
    # out of scope first: 403 before any check of the list
    refused(
        ForbiddenError,
        up,
        A.do_dispatch,
        actor=county["dept2"],
        department="zhujian",
        assisting=["zhujian"],
        now=T0,
    )


def test_the_lead_resolves_only_after_every_part_is_posted_or_waived(county: County) -> None:
    third_department(county)
    r = with_parts(county, assisting=("gongdian", "shizheng"))
    r = A.do_claim(r.pk, actor=county["dept1"], now=at(minutes=5))
    err = refused(
        IllegalTransitionError,
        r,
        A.do_resolve,
        actor=county["dept1"],
        note="修好了",
        now=at(hours=1),
    )
    assert "供电公司" in err.message and "市政局" in err.message
    # 供电 posts its part with a photo (public); it may post straight from dispatched
    photo = io.BytesIO(png_bytes())
    photo.name = "pole.png"
    r = A.do_post_part(
        r.pk, actor=county["dept2"], note="已更换电杆", photos=[photo], now=at(hours=2)
    )
    p = part(r)
    assert (p.status, p.posted_at, p.claimed_at, p.claim_by, p.resolve_by) == (
        "posted",
        at(hours=2),
        at(hours=2),
        None,
        None,
    )
    event = last(r)
    assert (event.verb, event.public, event.note, event.attachments.count()) == (
        "post_part",
        True,
        "已更换电杆",
        1,
    )
    # posting twice, or posting with nothing to say, is refused
    refused(
        IllegalTransitionError,
        r,
        A.do_post_part,
        actor=county["dept2"],
        note="再发",
        now=at(hours=3),
    )
    refused(
        ForbiddenError, r, A.do_post_part, actor=county["dept1"], note="我不是协办", now=at(hours=3)
    )
    err = refused(
        IllegalTransitionError,
        r,
        A.do_resolve,
        actor=county["dept1"],
        note="修好了",
        now=at(hours=3),
    )
    assert "市政局" in err.message and "供电公司" not in err.message
    # the dispatcher waives 市政's part, with a public reason
    refused(
        ForbiddenError,
        r,
        A.do_waive_part,
        actor=county["dept1"],
        department="shizheng",
        reason="x",
        now=at(hours=4),
    )
    refused(
        InvalidError,
        r,
        A.do_waive_part,
        actor=county["dispatcher1"],
        department="shizheng",
        reason=" ",
        now=at(hours=4),
    )
    refused(
        IllegalTransitionError,
        r,
        A.do_waive_part,
        actor=county["dispatcher1"],
        department="jiaotong",
        reason="无",
        now=at(hours=4),
    )
    r = A.do_waive_part(
        r.pk,
        actor=county["dispatcher1"],
        department="shizheng",
        reason="已由住建一并处理",
        now=at(hours=4),
    )
    p = part(r, "shizheng")
    assert (p.status, p.waived_at, p.waived_by_id) == (
        "waived",
        at(hours=4),
        county["dispatcher1"].pk,
    )
    refused(
        IllegalTransitionError,
        r,
        A.do_waive_part,
        actor=county["dispatcher1"],
        department="shizheng",
        reason="再免",
        now=at(hours=5),
    )
    r = A.do_resolve(r.pk, actor=county["dept1"], note="修好了", now=at(hours=5))
    assert r.status == "resolved"
    replays(r)


def test_assisting_officers_read_the_request_and_see_their_own_deadlines(county: County) -> None:
    r = with_parts(county)
    officer = Actor.of(county["dept2"])
    assert r.pk in set(visible_requests(officer).values_list("pk", flat=True))
    assert sees_personal_data(officer, fresh(r))
    assert A.can(officer, A.Verb.COMMENT, fresh(r), now=at(minutes=1), public=False)
    # the lead's officer may not act on the part, nor the assisting one on the request
    refused(ForbiddenError, r, A.do_hold, actor=county["dept2"], reason="等材料", now=at(minutes=2))
    assert A.part_verbs(officer, fresh(r), now=at(minutes=2)) == ["claim", "return", "post_part"]
    assert A.part_verbs(Actor.of(county["dispatcher1"]), fresh(r), now=at(minutes=2)) == [
        "waive_part"
    ]
    # once handed down, the assisting department is out of it
    A.do_hand_down(
        r.pk, actor=county["dispatcher1"], hall=county.village, reason="村内可办", now=at(minutes=3)
    )
    assert part(r).status == "cancelled"
    assert r.pk not in set(visible_requests(officer).values_list("pk", flat=True))
    refused(ForbiddenError, r, A.do_claim, actor=county["dept2"], now=at(minutes=4))


def test_a_part_breach_is_swept_through_the_one_index(county: County) -> None:
    r = with_parts(county)
    r = A.do_claim(r.pk, actor=county["dept1"], now=at(minutes=5))
    # the lead claimed; the request's claim clock is gone, 供电's still runs
    assert r.claim_by is None and r.next_due_at == part(r).claim_by == T0 + 30 * MINUTE
    assert sweep.run_once(now=at(minutes=31)) == 1
    event = last(r)
    assert (event.verb, event.data) == ("breach", {"clocks": ["part:gongdian:claim_by"]})
    r, p = fresh(r), part(r)
    assert r.overdue and p.overdue
    assert next_deadline(r) == r.resolve_by  # nothing already acted on is due again
    assert sweep.run_once(now=at(minutes=32)) == 0
    # the part is posted: its clock stops and the request is no longer overdue for it
    r = A.do_post_part(r.pk, actor=county["dept2"], note="已处理", now=at(hours=1))
    assert not r.overdue and next_deadline(r) == r.resolve_by
    replays(r)


def test_an_assisting_return_is_reviewed_like_any_return(county: County) -> None:
    r = with_parts(county)
    r = A.do_claim(r.pk, actor=county["dept1"], now=at(minutes=5))
    r = do_return(county, r, at(hours=1), by="dept2", reason_code="not_ours", reason="不涉及供电")
    p = part(r)
    assert (r.status, r.department.code, r.pending_review, r.return_count) == (
        "claimed",
        "zhujian",
        "",
        1,
    )
    assert (p.status, p.claim_by, p.resolve_by) == ("returned", None, None)
    event = last(r)
    assert (
        event.verb,
        event.data["department"],
        event.data["reason_code"],
        event.data["role"],
    ) == (
        "return",
        "gongdian",
        "not_ours",
        "assisting",
    )
    # the lead waits for the review: the part is still open
    refused(
        IllegalTransitionError, r, A.do_resolve, actor=county["dept1"], note="好了", now=at(hours=2)
    )
    # the dispatcher upholds (驳回): back to 供电, which may not return it again
    r = A.do_review_return(
        r.pk, actor=county["dispatcher1"], decision="uphold", reason="涉及线路", now=at(hours=3)
    )
    p = part(r)
    # 30 working minutes from 12:00: after the lunch break (13:30–14:00)
    assert (p.status, p.dispatched_at, p.claim_by) == ("dispatched", at(hours=3), at(hours=5))
    event = last(r)
    assert (event.data["decision"], event.data["department"], event.data["returned_by"]) == (
        "uphold",
        "gongdian",
        "gongdian",
    )
    err = refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept2"],
        reason="还是不归我们",
        reason_code="other",
        now=at(hours=4),
    )
    assert "维持原派" in err.message
    r = A.do_post_part(r.pk, actor=county["dept2"], note="已配合断电", now=at(hours=5))
    r = A.do_resolve(r.pk, actor=county["dept1"], note="已完成", now=at(hours=6))
    assert r.status == "resolved"
    replays(r)


def test_a_returned_part_redispatched_goes_to_another_department(county: County) -> None:
    dept3 = third_department(county)
    r = with_parts(county)
    r = do_return(county, r, at(hours=1), by="dept2")
    # not to the lead, nor to a department unknown
    refused(
        InvalidError,
        r,
        A.do_review_return,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="zhujian",
        now=at(hours=2),
    )
    refused(
        IllegalTransitionError,
        r,
        A.do_review_return,
        actor=county["dispatcher1"],
        decision="redispatch",
        part="shizheng",
        department="shizheng",
        now=at(hours=2),
    )
    r = A.do_review_return(
        r.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="shizheng",
        now=at(hours=2),
    )
    assert part(r, "gongdian").status == "redispatched"
    new = part(r, "shizheng")
    assert (new.status, new.dispatched_at) == ("dispatched", at(hours=2))
    assert last(r).data["returned_by"] == "gongdian"
    # the old department is out of it; the new one works on it
    assert r.pk not in set(visible_requests(Actor.of(county["dept2"])).values_list("pk", flat=True))
    r = A.do_claim(r.pk, actor=dept3, now=at(hours=3))
    assert part(r, "shizheng").status == "claimed"
    replays(r)


def test_part_returns_respect_the_window_and_max_returns(county: County) -> None:
    # outside the window (2 working days from the part's dispatch): refused
    r = with_parts(county)
    refused(
        IllegalTransitionError,
        r,
        A.do_return,
        actor=county["dept2"],
        reason="晚了",
        reason_code="other",
        now=at(days=3),
    )
    # a changed window lets it return later
    rules(county, return_window_days=5)
    r = do_return(county, r, at(days=3), by="dept2")
    assert part(r).status == "returned"
    # max_returns counts every return of the request, lead's and parts'
    rules(county, return_window_days=5, max_returns=1)
    r2 = with_parts(county)
    r2 = do_return(county, r2, at(hours=1), by="dept2")
    err = refused(
        IllegalTransitionError,
        r2,
        A.do_return,
        actor=county["dept1"],
        reason="也不归我们",
        reason_code="not_ours",
        now=at(hours=1),
    )
    assert "已退回 1 次" in err.message


def test_the_lead_returning_keeps_the_parts_and_a_redispatch_keeps_them_too(county: County) -> None:
    third_department(county)
    r = with_parts(county)
    r = do_return(county, r, at(hours=1), by="dept1")
    assert (r.status, r.pending_review, part(r).status) == ("escalated", "return", "dispatched")
    # the assisting department works on while the lead's return waits
    r = A.do_claim(r.pk, actor=county["dept2"], now=at(hours=2))
    assert (r.status, r.pending_review, part(r).status) == ("escalated", "return", "claimed")
    # the lead role cannot go to the department that assists
    refused(
        InvalidError,
        r,
        A.do_review_return,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="gongdian",
        now=at(hours=3),
    )
    r = A.do_review_return(
        r.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="shizheng",
        now=at(hours=3),
    )
    assert (r.status, r.department.code, part(r).status) == ("dispatched", "shizheng", "claimed")
    assert last(r).data["returned_by"] == "zhujian"
    replays(r)


def test_reject_and_a_new_dispatch_end_open_parts(county: County) -> None:
    r = with_parts(county)
    r = do_return(county, r, at(hours=1), by="dept1")
    r = A.do_reject(r.pk, actor=county["dispatcher1"], reason="不属于受理范围", now=at(hours=2))
    assert (r.status, part(r).status) == ("rejected", "cancelled")
    assert r.next_due_at is None and not r.overdue
    replays(r)


def test_a_part_verb_never_moves_the_request_down(county: County) -> None:
    r = with_parts(county)
    hall = r.hall_id
    r = A.do_claim(r.pk, actor=county["dept2"], now=at(minutes=5))
    r = do_return(county, r, at(minutes=6), by="dept2")
    r = A.do_review_return(r.pk, actor=county["dispatcher1"], decision="uphold", now=at(minutes=7))
    r = A.do_post_part(r.pk, actor=county["dept2"], note="好", now=at(minutes=8))
    assert fresh(r).hall_id == hall == county.assignment.pk
    assert DAY > HOUR  # the helpers imported are the shared ones


def test_returns_by_department_counts_returns_and_their_outcomes(county: County) -> None:
    """§5's monthly notice: per department, returns, upheld as wrong, redispatched."""
    from yishiting.requests.queries import returns_by_department

    third_department(county)
    # 住建 (lead) returns and is upheld; 供电 (assisting) returns and is redispatched to 市政
    r = with_parts(county)
    r = do_return(county, r, at(hours=1), by="dept1")
    r = A.do_review_return(r.pk, actor=county["dispatcher1"], decision="uphold", now=at(hours=2))
    r = do_return(county, r, at(hours=3), by="dept2")
    r = A.do_review_return(
        r.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="shizheng",
        now=at(hours=4),
    )
    # another request: 住建 returns, redispatched to 供电 as lead; one more 供电 return, pending
    r2 = with_parts(county, assisting=())
    r2 = do_return(county, r2, at(hours=1), by="dept1", reason_code="incomplete")
    r2 = A.do_review_return(
        r2.pk,
        actor=county["dispatcher1"],
        decision="redispatch",
        department="gongdian",
        now=at(hours=5),
    )
    r2 = do_return(county, r2, at(hours=6), by="dept2")
    month = returns_by_department(county.county, at(days=-1), at(days=1))
    assert month == [
        {
            "department": "gongdian",
            "name": "供电公司",
            "returns": 2,
            "upheld": 0,
            "redispatched": 1,
        },
        {"department": "zhujian", "name": "住建局", "returns": 2, "upheld": 1, "redispatched": 1},
    ]
    # the period bounds count: nothing before, only the later ones after 02:30
    assert returns_by_department("130500", at(days=-2), at(days=-1)) == []
    later = returns_by_department("130500", at(hours=2, minutes=30), at(days=1))
    assert [(d["department"], d["returns"], d["upheld"], d["redispatched"]) for d in later] == [
        ("gongdian", 2, 0, 1),
        ("zhujian", 0, 0, 1),
    ]
    # another county sees none of it
    assert returns_by_department("999999", at(days=-1), at(days=1)) == []


def test_a_missed_supervision_order_is_a_breach_of_supervise_by(county: County) -> None:
    r = with_parts(county)
    r = A.do_claim(r.pk, actor=county["dept1"], now=at(minutes=1))
    r = A.do_post_part(r.pk, actor=county["dept2"], note="已处理", now=at(minutes=2))
    r = A.do_supervise(
        r.pk, actor=county["dispatcher1"], until=at(hours=2), note="限时整改", now=at(minutes=3)
    )
    assert next_deadline(r) == at(hours=2)
    assert sweep.run_once(now=at(hours=3)) == 1
    event = last(r)
    assert (event.verb, event.data) == ("breach", {"clocks": ["supervise_by"]})
    assert fresh(r).overdue


def test_a_supervision_order_due_with_the_first_response_is_still_recorded(
    county: County,
) -> None:
    """The missed first response escalates; the supervision order due at the same instant
    is a breach of its own (for the monthly notice), not swallowed by the escalation."""
    r = submitted(county, T0)
    assert r.respond_by == T0 + 5 * MINUTE
    # the dispatcher's order falls due at the same instant as the first-response clock
    r = A.do_supervise(
        r.pk, actor=county["dispatcher1"], until=T0 + 5 * MINUTE, note="限时响应", now=at(minutes=1)
    )
    assert sweep.run_once(now=at(minutes=6)) == 2
    verbs = [
        (e.verb, e.data.get("clocks"))
        for e in Event.objects.filter(request_id=r.pk).order_by("seq")
    ]
    assert verbs[-2:] == [("escalate", None), ("breach", ["supervise_by"])]
    assert sweep.run_once(now=at(minutes=6)) == 0

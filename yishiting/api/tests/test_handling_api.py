"""The handling rules of §3.1 through API v1 (docs/handling-rules.md): the closed loop with a
reviewed return, a redo after 不满意 and an approved appeal; hand-down and return visits; 403
for people out of scope and 422 for missing arguments on every new verb.

Lead and assisting departments (主办/协办): the closed loop of issue 11 with 住建 leading and 供电
assisting, `parts` on the request, post_part and waive_part; the approved appeal left out of
the rates on /api/v1/stats.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from yishiting.api.tests.test_api import Api, error, ok
from yishiting.requests.models import Event, Request
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db

NEW_VERBS = (
    "return",
    "review_return",
    "hand_down",
    "appeal",
    "review_rating",
    "visit",
    "post_part",
    "waive_part",
)


@pytest.fixture
def as_(county: County):  # type: ignore[no-untyped-def]
    cache: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in cache:
            cache[username] = Api(username, county)
        return cache[username]

    return make


def later(**delta: float) -> str:
    """A time in the future, as an API client sends it."""
    return (timezone.localtime() + timedelta(**delta)).replace(microsecond=0).isoformat()


def unchanged(rid: int, version: int) -> None:
    """A refused call changed nothing: same version, one event per version."""
    req = Request.objects.get(pk=rid)
    assert req.version == version
    assert Event.objects.filter(request_id=rid).count() == version


def version(rid: int) -> int:
    return Request.objects.get(pk=rid).version


def resolve_with_photo(api: Api, rid: int, note: str) -> dict[str, Any]:
    photo = io.BytesIO(png_bytes())
    photo.name = "fixed.png"
    return ok(api.post_form(f"/requests/{rid}/resolve", {"note": note, "photos": [photo]}))


def to_assignment_hall(as_, county: County, text: str) -> int:  # type: ignore[no-untyped-def]
    """resident1 reports in 东关村; it climbs to the assignment hall."""
    rid = ok(as_("resident1").post("/requests", {"hall": county.village.code, "text": text}), 201)[
        "id"
    ]
    ok(as_("liaison1").verb(rid, "acknowledge", note="收到"))
    ok(as_("liaison1").verb(rid, "escalate", note="村里解决不了"))
    ok(as_("manager1").verb(rid, "acknowledge"))
    up = ok(as_("manager1").verb(rid, "escalate", note="需县直部门处理"))
    assert up["hall"]["code"] == county.assignment.code
    return rid


def test_closed_loop_with_an_upheld_return_and_a_redo(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """dispatch to 住建 → 住建 returns (非本部门职责) → upheld → cannot return again → claims,
    resolves with a photo → 不满意 → redo with a deadline → resolved again → 满意 → closed."""
    rid = to_assignment_hall(as_, county, "村东头的路灯坏了一个星期，晚上走路看不见。")
    dispatched = ok(
        as_("dispatcher1").verb(rid, "dispatch", department="zhujian", category="streetlight")
    )
    assert (dispatched["status"], dispatched["department"]) == ("dispatched", "zhujian")

    # a return needs a reason code (one of four) and a reason
    v = version(rid)
    error(as_("dept1").verb(rid, "return", reason="不归我们管"), 422, "invalid")
    error(as_("dept1").verb(rid, "return", reason="不归我们管", reason_code="nope"), 422, "invalid")
    error(as_("dept1").verb(rid, "return", reason_code="not_ours"), 422, "invalid")
    unchanged(rid, v)

    returned = ok(
        as_("dept1").verb(rid, "return", reason_code="not_ours", reason="路灯归供电公司维护")
    )
    assert (returned["status"], returned["department"], returned["pending_review"]) == (
        "escalated",
        None,
        "return",
    )
    assert returned["hall"]["code"] == county.assignment.code
    assert returned["return_count"] == 1
    # the dispatcher is offered the review, not a plain dispatch
    seen = ok(as_("dispatcher1").get(f"/requests/{rid}"))
    assert "review_return" in seen["allowed_verbs"]
    assert "dispatch" not in seen["allowed_verbs"]
    v = version(rid)
    error(
        as_("dispatcher1").verb(rid, "dispatch", department="gongdian"), 409, "illegal_transition"
    )
    error(as_("dispatcher1").verb(rid, "review_return", reason="看看"), 422, "invalid")
    error(as_("dispatcher1").verb(rid, "review_return", decision="maybe"), 422, "invalid")
    error(as_("dispatcher1").verb(rid, "review_return", decision="redispatch"), 422, "invalid")
    unchanged(rid, v)

    upheld = ok(
        as_("dispatcher1").verb(
            rid, "review_return", decision="uphold", reason="村内路灯由住建局负责"
        )
    )
    assert (upheld["status"], upheld["department"], upheld["pending_review"]) == (
        "dispatched",
        "zhujian",
        None,
    )
    # an upheld department may not return it a second time
    v = version(rid)
    error(
        as_("dept1").verb(rid, "return", reason_code="other", reason="还是不归我们"),
        409,
        "illegal_transition",
    )
    unchanged(rid, v)

    ok(as_("dept1").verb(rid, "claim"))
    error(
        as_("dept1").verb(rid, "return", reason_code="other", reason="还是不归我们"),
        409,
        "illegal_transition",
    )
    resolved = resolve_with_photo(as_("dept1"), rid, "已更换灯具")
    assert resolved["status"] == "resolved"

    rated = ok(as_("resident1").verb(rid, "rate", rating="dissatisfied", comment="还是不亮"))
    assert (rated["status"], rated["pending_review"], rated["rating"]) == (
        "resolved",
        "rating",
        "dissatisfied",
    )
    assert rated["deadlines"]["rate_by"] is None  # the rating window stops under review

    v = version(rid)
    error(as_("dispatcher1").verb(rid, "review_rating", until=later(days=2)), 422, "invalid")
    error(as_("dispatcher1").verb(rid, "review_rating", decision="redo"), 422, "invalid")
    unchanged(rid, v)
    until = later(days=2)
    redo = ok(
        as_("dispatcher1").verb(
            rid, "review_rating", decision="redo", until=until, reason="请彻底修复"
        )
    )
    assert (redo["status"], redo["department"], redo["pending_review"]) == (
        "claimed",
        "zhujian",
        None,
    )
    assert datetime.fromisoformat(redo["deadlines"]["resolve_by"]) == datetime.fromisoformat(until)

    again = resolve_with_photo(as_("dept1"), rid, "已更换线路和灯具")
    assert again["status"] == "resolved"
    closed = ok(as_("resident1").verb(rid, "rate", rating="satisfied", comment="这回亮了"))
    assert (closed["status"], closed["rating"], closed["rating_channel"]) == (
        "closed",
        "satisfied",
        "self",
    )
    assert closed["appeal_approved"] is False

    events = ok(as_("resident1").get(f"/requests/{rid}/events"))
    assert [e["verb"] for e in events] == [
        "submit",
        "acknowledge",
        "escalate",
        "acknowledge",
        "escalate",
        "dispatch",
        "return",
        "review_return",
        "claim",
        "resolve",
        "rate",
        "review_rating",
        "resolve",
        "rate",
    ]
    by_verb = {e["verb"]: e for e in events}
    assert by_verb["review_return"]["data"]["decision"] == "uphold"
    assert by_verb["review_rating"]["data"]["decision"] == "redo"


def test_an_approved_appeal(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """不满意 → the department appeals (甄别申请) → the dispatcher approves it, publicly."""
    rid = to_assignment_hall(as_, county, "要求把邻居家合法建的车库拆掉")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian", category="sewage"))
    ok(as_("dept1").verb(rid, "claim"))
    ok(as_("dept1").verb(rid, "resolve", note="已现场核查，车库手续齐全"))
    ok(as_("resident1").verb(rid, "rate", rating="dissatisfied"))

    v = version(rid)
    error(as_("dept1").verb(rid, "appeal"), 422, "invalid")  # a reason is required
    unchanged(rid, v)
    appealed = ok(as_("dept1").verb(rid, "appeal", reason="诉求要求拆除合法建筑，依法无法满足"))
    assert (appealed["status"], appealed["pending_review"]) == ("resolved", "appeal")
    error(
        as_("resident1").verb(rid, "rate", rating="satisfied"), 409, "illegal_transition"
    )  # not while an appeal waits

    v = version(rid)
    error(as_("dispatcher1").verb(rid, "review_rating", decision="approve_appeal"), 422, "invalid")
    unchanged(rid, v)
    approved = ok(
        as_("dispatcher1").verb(
            rid,
            "review_rating",
            decision="approve_appeal",
            reason="经核实，车库手续合法，诉求依法无法满足",
        )
    )
    assert (approved["status"], approved["appeal_approved"], approved["pending_review"]) == (
        "closed",
        True,
        None,
    )
    # shown publicly, with its reason
    public = ok(as_("resident2").get(f"/requests/{rid}"))
    assert public["appeal_approved"] is True
    events = ok(as_("resident2").get(f"/requests/{rid}/events"))
    verbs = [e["verb"] for e in events]
    assert "appeal" in verbs
    decision = events[verbs.index("review_rating")]
    assert decision["data"]["decision"] == "approve_appeal"
    assert "诉求依法无法满足" in decision["note"]

    # /api/v1/stats: the approved appeal is counted on its own and left out of 满意率 and 解决率
    other = to_assignment_hall(as_, county, "村口污水外溢")
    ok(as_("dispatcher1").verb(other, "dispatch", department="zhujian", category="sewage"))
    ok(as_("dept1").verb(other, "claim"))
    ok(as_("dept1").verb(other, "resolve", note="已疏通"))
    ok(as_("resident1").verb(other, "rate", rating="satisfied"))
    today = timezone.localdate()
    period = {"since": today.isoformat(), "until": (today + timedelta(days=1)).isoformat()}
    stats = ok(as_("leader1").get("/stats", scope="county", **period))
    assert stats["appeals_approved"] == 1
    rates = stats["rates"]
    assert (rates["satisfaction"]["numerator"], rates["satisfaction"]["denominator"]) == (1, 1)
    assert rates["satisfaction"]["value"] == 1.0
    assert (rates["resolution"]["numerator"], rates["resolution"]["denominator"]) == (1, 1)


def test_a_denied_appeal_then_redo(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = to_assignment_hall(as_, county, "小区门口污水外溢")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian", category="sewage"))
    ok(as_("dept1").verb(rid, "claim"))
    ok(as_("dept1").verb(rid, "resolve", note="已疏通"))
    ok(as_("resident1").verb(rid, "rate", rating="dissatisfied"))
    ok(as_("dept1").verb(rid, "appeal", reason="已按标准处理"))
    denied = ok(
        as_("dispatcher1").verb(rid, "review_rating", decision="deny_appeal", reason="仍有外溢")
    )
    assert (denied["status"], denied["pending_review"]) == ("resolved", "rating")
    redo = ok(as_("dispatcher1").verb(rid, "review_rating", decision="redo", until=later(days=1)))
    assert redo["status"] == "claimed"


def test_hand_down_over_http(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = to_assignment_hall(as_, county, "村里的小路有个坑")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian"))
    v = version(rid)
    for who in ("dept1", "manager1", "liaison1", "leader1"):
        error(
            as_(who).verb(rid, "hand_down", hall=county.village.code, reason="村里能办"),
            403,
            "forbidden",
        )
    error(as_("dispatcher1").verb(rid, "hand_down", reason="村里能办"), 422, "invalid")
    error(as_("dispatcher1").verb(rid, "hand_down", hall=county.village.code), 422, "invalid")
    error(
        as_("dispatcher1").verb(rid, "hand_down", hall=county.county.code, reason="村里能办"),
        422,
        "invalid",
    )
    error(
        as_("dispatcher1").verb(rid, "hand_down", hall="no-such-hall", reason="村里能办"),
        422,
        "invalid",
    )
    unchanged(rid, v)
    down = ok(
        as_("dispatcher1").verb(
            rid, "hand_down", hall=county.village.code, reason="村内小事，村里办"
        )
    )
    assert (down["status"], down["hall"]["code"], down["department"]) == (
        "escalated",
        county.village.code,
        None,
    )
    # the reason is public
    events = ok(as_("resident2").get(f"/requests/{rid}/events"))
    assert events[-1]["verb"] == "hand_down" and "村里办" in events[-1]["note"]
    assert ok(as_("liaison1").verb(rid, "acknowledge"))["status"] == "acknowledged"
    # and nothing else pushes department work down: escalate from a department's hands
    rid2 = to_assignment_hall(as_, county, "路灯不亮")
    ok(as_("dispatcher1").verb(rid2, "dispatch", department="zhujian"))
    ok(as_("dept1").verb(rid2, "claim"))
    for who in ("dept1", "dispatcher1"):
        response = as_(who).verb(rid2, "escalate")
        assert response.status_code in (403, 409), response.content


def test_visit_over_http(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = to_assignment_hall(as_, county, "小区门口污水外溢")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian", category="sewage"))
    ok(as_("dept1").verb(rid, "claim"))
    ok(as_("dept1").verb(rid, "resolve", note="已疏通"))
    v = version(rid)
    error(as_("liaison1").verb(rid, "visit", rating="satisfied"), 422, "invalid")
    error(as_("liaison1").verb(rid, "visit", channel="phone"), 422, "invalid")
    error(as_("liaison1").verb(rid, "visit", rating="satisfied", channel="wechat"), 422, "invalid")
    error(as_("liaison2").verb(rid, "visit", rating="satisfied", channel="phone"), 403, "forbidden")
    unchanged(rid, v)
    visited = ok(as_("liaison1").verb(rid, "visit", rating="basically_satisfied", channel="phone"))
    assert (visited["status"], visited["rating"], visited["rating_channel"]) == (
        "resolved",
        "basically_satisfied",
        "phone",
    )
    # the reporter's own rating wins; no visit after it
    rated = ok(as_("resident1").verb(rid, "rate", rating="satisfied"))
    assert (rated["status"], rated["rating"], rated["rating_channel"]) == (
        "closed",
        "satisfied",
        "self",
    )
    error(
        as_("dispatcher1").verb(rid, "visit", rating="dissatisfied", channel="in_person"),
        409,
        "illegal_transition",
    )


def test_out_of_scope_people_are_refused_every_new_verb(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """liaison2 (北街村), dept2 (供电, not dispatched to) and resident2 may do none of the
    §3.1 verbs on 东关村's request, at the stage where each is legal; nothing changes."""
    bodies = {
        "return": {"reason_code": "not_ours", "reason": "x"},
        "review_return": {"decision": "uphold", "reason": "x"},
        "hand_down": {"hall": county.village2.code, "reason": "x"},
        "appeal": {"reason": "x"},
        "review_rating": {"decision": "redo", "until": later(days=2), "reason": "x"},
        "visit": {"rating": "satisfied", "channel": "phone"},
        "post_part": {"note": "x"},
        "waive_part": {"department": "gongdian", "reason": "x"},
    }
    outsiders = ("liaison2", "dept2", "resident2")

    def refuse_all(rid: int, verbs: tuple[str, ...]) -> None:
        v = version(rid)
        for verb in verbs:
            for who in outsiders:
                error(as_(who).verb(rid, verb, **bodies[verb]), 403, "forbidden")
        unchanged(rid, v)

    rid = to_assignment_hall(as_, county, "路灯不亮")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian"))
    refuse_all(rid, ("return", "hand_down", "post_part", "waive_part"))
    ok(as_("dept1").verb(rid, "return", reason_code="incomplete", reason="地址不清"))
    refuse_all(rid, ("review_return", "hand_down"))
    ok(as_("dispatcher1").verb(rid, "review_return", decision="uphold"))
    ok(as_("dept1").verb(rid, "claim"))
    ok(as_("dept1").verb(rid, "resolve", note="已修好"))
    refuse_all(rid, ("visit",))
    ok(as_("resident1").verb(rid, "rate", rating="dissatisfied"))
    refuse_all(rid, ("appeal", "review_rating"))
    ok(as_("dept1").verb(rid, "appeal", reason="x"))
    bodies["review_rating"] = {"decision": "approve_appeal", "reason": "x"}
    refuse_all(rid, ("review_rating",))
    assert set(bodies) == set(NEW_VERBS)


def test_closed_loop_with_a_lead_and_an_assisting_department(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: dispatch to 住建 (lead) + 供电 (assisting) → 供电 returns within the window →
    the dispatcher upholds → 供电 posts its part → 住建 resolves → 不满意 → redo → resolved →
    满意. Each department sees its own clock on the request."""
    rid = to_assignment_hall(as_, county, "村口电线杆歪了，路灯也不亮，晚上不安全。")
    dispatched = ok(
        as_("dispatcher1").verb(
            rid, "dispatch", department="zhujian", assisting=["gongdian"], category="streetlight"
        )
    )
    assert dispatched["department"] == "zhujian"
    lead, helper = dispatched["parts"]
    assert (lead["department"], lead["role"], lead["status"]) == ("zhujian", "lead", "dispatched")
    assert (helper["department"], helper["role"], helper["status"]) == (
        "gongdian",
        "assisting",
        "dispatched",
    )
    assert helper["claim_by"] is not None and helper["resolve_by"] is None

    # 供电's officer reads the request (with personal data) and is offered its part's verbs
    seen = ok(as_("dept2").get(f"/requests/{rid}"))
    assert seen["reporter"]["name"] == county["resident1"].display_name
    assert {"claim", "return", "post_part"} <= set(seen["allowed_verbs"])
    assert not {"resolve", "hold", "waive_part"} & set(seen["allowed_verbs"])
    assert rid in [r["id"] for r in ok(as_("dept2").get("/requests"))["results"]]
    for code in ("zhujian", "gongdian"):  # the lead's and the assisting department's work
        listed = ok(as_("dispatcher1").get("/requests", department=code))["results"]
        assert rid in [r["id"] for r in listed]
    error(as_("dispatcher1").get("/requests", department="nope"), 422, "invalid")

    # 供电 returns within the window; the lead's work goes on, the part waits for review
    v = version(rid)
    error(as_("dept2").verb(rid, "return", reason="不归我们", reason_code="nope"), 422, "invalid")
    unchanged(rid, v)
    returned = ok(as_("dept2").verb(rid, "return", reason_code="not_ours", reason="不涉及供电"))
    assert (returned["status"], returned["department"], returned["pending_review"]) == (
        "dispatched",
        "zhujian",
        None,
    )
    assert returned["parts"][1]["status"] == "returned"
    assert "review_return" in ok(as_("dispatcher1").get(f"/requests/{rid}"))["allowed_verbs"]
    ok(as_("dept1").verb(rid, "claim"))
    photo = io.BytesIO(png_bytes())
    photo.name = "fixed.png"
    error(
        as_("dept1").post_form(f"/requests/{rid}/resolve", {"note": "修好了", "photos": [photo]}),
        409,
        "illegal_transition",
    )

    # the dispatcher upholds: back to 供电, which may not return it again
    upheld = ok(
        as_("dispatcher1").verb(
            rid, "review_return", part="gongdian", decision="uphold", reason="电杆属供电公司"
        )
    )
    assert upheld["parts"][1]["status"] == "dispatched"
    error(
        as_("dept2").verb(rid, "return", reason_code="other", reason="还是不归我们"),
        409,
        "illegal_transition",
    )

    # 供电 posts its part, with a photo
    photo = io.BytesIO(png_bytes())
    photo.name = "pole.png"
    posted = ok(
        as_("dept2").post_form(
            f"/requests/{rid}/post_part", {"note": "电杆已扶正", "photos": [photo]}
        )
    )
    assert posted["parts"][1]["status"] == "posted" and posted["status"] == "claimed"

    # 住建 resolves; 不满意 → redo → resolved → 满意
    assert resolve_with_photo(as_("dept1"), rid, "已更换灯具")["status"] == "resolved"
    ok(as_("resident1").verb(rid, "rate", rating="dissatisfied", comment="灯还是闪"))
    redo = ok(
        as_("dispatcher1").verb(
            rid, "review_rating", decision="redo", until=later(days=2), reason="请彻底修复"
        )
    )
    assert (redo["status"], redo["department"]) == ("claimed", "zhujian")
    assert resolve_with_photo(as_("dept1"), rid, "已更换线路")["status"] == "resolved"
    closed = ok(as_("resident1").verb(rid, "rate", rating="satisfied"))
    assert (closed["status"], closed["rating"]) == ("closed", "satisfied")

    events = ok(as_("resident1").get(f"/requests/{rid}/events"))
    assert [e["verb"] for e in events][5:] == [
        "dispatch",
        "return",
        "claim",
        "review_return",
        "post_part",
        "resolve",
        "rate",
        "review_rating",
        "resolve",
        "rate",
    ]
    by_verb = {e["verb"]: e for e in events}
    assert by_verb["dispatch"]["data"]["assisting"] == ["gongdian"]
    assert by_verb["return"]["data"]["department"] == "gongdian"
    assert by_verb["return"]["data"]["reason_code"] == "not_ours"
    assert by_verb["review_return"]["data"]["decision"] == "uphold"
    assert by_verb["review_return"]["data"]["returned_by"] == "gongdian"
    assert by_verb["post_part"]["public"] and len(by_verb["post_part"]["photos"]) == 1


def test_waive_part_over_http(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = to_assignment_hall(as_, county, "路灯不亮")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian", assisting=["gongdian"]))
    v = version(rid)
    error(as_("dispatcher1").verb(rid, "waive_part", department="gongdian"), 422, "invalid")
    error(as_("dispatcher1").verb(rid, "waive_part", reason="x"), 422, "invalid")
    error(as_("dept1").verb(rid, "waive_part", department="gongdian", reason="x"), 403, "forbidden")
    error(
        as_("dispatcher1").verb(rid, "dispatch", department="zhujian", assisting="x"),
        422,
        "invalid",
    )
    unchanged(rid, v)
    waived = ok(
        as_("dispatcher1").verb(rid, "waive_part", department="gongdian", reason="无需供电配合")
    )
    assert waived["parts"][1]["status"] == "waived" and waived["parts"][1]["waived_at"]
    ok(as_("dept1").verb(rid, "claim"))
    assert ok(as_("dept1").verb(rid, "resolve", note="已修好"))["status"] == "resolved"


def test_malformed_choices_from_outsiders_are_403_not_422(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """Scope comes before input everywhere (403 before 422): also for the values with a fixed
    set of choices (reason_code, decision, channel, rating)."""
    rid = to_assignment_hall(as_, county, "路灯不亮")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian"))
    v = version(rid)
    error(as_("dept2").verb(rid, "return", reason="x", reason_code="bogus"), 403, "forbidden")
    error(as_("liaison2").verb(rid, "review_return", decision="bogus"), 403, "forbidden")
    error(as_("liaison2").verb(rid, "visit", rating="bogus", channel="bogus"), 403, "forbidden")
    error(as_("liaison2").verb(rid, "rate", rating="bogus"), 403, "forbidden")
    error(as_("liaison2").verb(rid, "review_rating", decision="bogus"), 403, "forbidden")
    # in scope, the same values are 422
    error(as_("dept1").verb(rid, "return", reason="x", reason_code="bogus"), 422, "invalid")
    unchanged(rid, v)
    schema = ok(as_("dispatcher1").get("/openapi.json"))
    body = schema["paths"]["/api/v1/requests/{request_id}/{verb}"]["post"]["requestBody"]
    props = body["content"]["application/json"]["schema"]["properties"]
    assert props["reason_code"]["enum"] == ["not_ours", "incomplete", "duplicate", "other"]
    assert "assisting" in props and "part" in props
    assert "PartOut" in schema["components"]["schemas"]

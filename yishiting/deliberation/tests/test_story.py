"""The seed's e-bike story end to end through API v1 (§9): a compound's residents raise a
topic, support crosses the compel fraction, the meeting is convened and votes, the
resolution is published within its clock, the project dispatches a real request that a
department resolves with a photo, the residents accept the work and it is done; and the
variant where the acceptance vote fails and the project reopens. With the permission rows:
a resident of another compound cannot support, vote or read internal notes."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from yishiting.api.models import ApiToken
from yishiting.deliberation.models import Meeting
from yishiting.deliberation.testing import fill
from yishiting.notify.models import Notification
from yishiting.orgs.models import Hall, HallKind, Membership, Role, User
from yishiting.requests import sweep
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db


class Api:
    """API v1 as one user (token auth)."""

    def __init__(self, user: User):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Token {ApiToken.issue(user)[1]}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None, *, lang: str = "") -> Any:
        extra = {"HTTP_ACCEPT_LANGUAGE": lang} if lang else {}
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
            **extra,
        )

    def form(self, path: str, data: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1{path}", data, **self.headers)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()
    return response.json()


def refused(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


def photo(name: str = "p.png") -> io.BytesIO:
    f = io.BytesIO(png_bytes())
    f.name = name
    return f


@pytest.fixture
def world(county: County) -> dict[str, Any]:
    """A community with two compounds; 20 households × 2 adults in 幸福小区, 5 in 和平小区."""
    community = Hall.objects.create(
        code="130500001100", name="东关社区", kind=HallKind.COMMUNITY, parent=county.township
    )
    xingfu = Hall.objects.create(
        code="130500001101", name="幸福小区", kind=HallKind.COMPOUND, parent=community
    )
    heping = Hall.objects.create(
        code="130500001102", name="和平小区", kind=HallKind.COMPOUND, parent=community
    )
    liaison = User.objects.create(username="liaison_xf", display_name="高敏")
    Membership.objects.create(user=liaison, role=Role.LIAISON, hall=xingfu)
    reg = fill(xingfu, households=20, per_household=2, accounts=40, committee=1)
    other = fill(heping, households=5, per_household=1, accounts=5)
    return {
        "hall": xingfu,
        "other_hall": heping,
        "reg": reg,
        "other": other,
        "liaison": Api(liaison),
        "people": [Api(u) for u in reg.users()],
        "stranger": Api(other.users()[0]),
    }


def _to_resolution(county: County, w: dict[str, Any]) -> dict[str, Any]:
    """Topic → supports cross 1/5 of households → compelled meeting convened → vote passes."""
    people, liaison = w["people"], w["liaison"]
    topic = ok(
        people[2].post(
            "/topics",
            {
                "hall": w["hall"].code,
                "title": "楼道充电隐患，建集中充电桩",
                "text": "电动车在楼道里充电，晚上拉飞线，太危险。建议在小区东门建集中充电桩。",
            },
        ),
        201,
    )
    assert topic["body"] == "residents_assembly" and topic["status"] == "open"
    households = next(p for p in topic["progress"] if p["base"] == "households")
    assert households == {
        "base": "households", "fraction": "1/5", "total": 20, "count": 0, "needed": 4,
        "reached": False,
    }  # fmt: skip
    ok(
        people[3].post(
            f"/topics/{topic['id']}/comment", {"text": "同意，太危险了", "stance": "for"}
        )
    )
    for i in (2, 4, 6):  # three households
        assert ok(people[i].post(f"/topics/{topic['id']}/support"))["compelled_meeting"] is None
    refused(people[2].post(f"/topics/{topic['id']}/support"), 409, "conflict")
    crossed = ok(people[8].post(f"/topics/{topic['id']}/support"))  # the fourth household
    assert crossed["status"] == "compelled" and crossed["households"] == 4
    meeting_id = crossed["compelled_meeting"]
    m = ok(liaison.get(f"/meetings/{meeting_id}"))
    assert m["status"] == "draft" and m["compelled_by"] == topic["id"] and m["convene_by"]
    assert Notification.objects.filter(title__contains="须召集居民会议").exists()

    starts = timezone.now() + timedelta(minutes=30)
    ok(
        liaison.post(
            f"/meetings/{meeting_id}/agenda",
            {
                "starts_at": starts.isoformat(),
                "preread": "充电桩选址东门，预算1.2万元",
                "place": "小区议事亭",
            },
        )
    )
    notified = ok(liaison.post(f"/meetings/{meeting_id}/notify"))
    assert notified["status"] == "notified" and notified["rule"]["body"] == "residents_assembly"
    assert Notification.objects.filter(
        user=w["reg"].users()[10], title__contains="居民会议通知"
    ).exists()  # every member with an account got the notice
    ok(liaison.post(f"/meetings/{meeting_id}/open"))
    token = ok(liaison.get(f"/meetings/{meeting_id}"))["sign_in_token"]
    assert ok(people[5].get(f"/meetings/{meeting_id}"))["sign_in_token"] is None
    ok(people[0].post(f"/meetings/{meeting_id}/sign_in", {"token": token}))
    ok(people[0].post(f"/meetings/{meeting_id}/sign_in", {"token": token}))  # twice counts once
    for i in range(15):
        ok(people[i].post(f"/meetings/{meeting_id}/vote", {"choice": "yes" if i < 12 else "no"}))
    refused(people[0].post(f"/meetings/{meeting_id}/vote", {"choice": "no"}), 409, "conflict")
    residents = w["reg"].residents
    sheet = [{"resident": residents[i].pk, "choice": "yes"} for i in range(15, 25)]
    ok(
        liaison.form(
            f"/meetings/{meeting_id}/tally",
            {"ballots": json.dumps(sheet), "photo": photo("sheet.png")},
        )
    )
    closed = ok(
        liaison.post(
            f"/meetings/{meeting_id}/close",
            {"resolution": "在东门建集中充电桩10个", "dissent": "3户担心噪音", "passed": True},
        )
    )
    res = closed["resolution"]
    assert (res["roster_size"], res["present"], res["yes"], res["no"], res["abstain"]) == (
        40, 25, 22, 3, 0,
    )  # fmt: skip
    assert res["passed"] and res["rule"]["effective_from"] == "2026-01-01"
    assert res["dissent"] == "3户担心噪音"
    published = ok(liaison.post(f"/meetings/{meeting_id}/publish"))
    assert published["resolution"]["published_at"] is not None
    assert ok(people[2].get(f"/topics/{topic['id']}"))["status"] == "adopted"
    return {"topic": topic, "meeting": meeting_id}


def _project_to_acceptance(county: County, w: dict[str, Any], meeting_id: int) -> dict[str, Any]:
    """Project → milestone with photo and cost → request resolved by 供电公司 with a photo."""
    liaison = w["liaison"]
    project = ok(
        liaison.post("/projects", {"meeting": meeting_id, "title": "幸福小区集中充电桩"}), 201
    )
    milestone = ok(
        liaison.post(
            f"/projects/{project['id']}/milestone",
            {
                "title": "采购安装充电桩",
                "cost": "12000.00",
                "due_on": timezone.localdate().isoformat(),
            },
        )
    )["milestones"][0]
    with_request = ok(
        liaison.post(
            f"/projects/{project['id']}/add_request",
            {"title": "充电桩接电增容", "text": "幸福小区东门集中充电桩需要供电公司接电增容"},
        )
    )
    req_id = with_request["requests"][0]["id"]
    manager = Api(county["manager1"])
    dispatcher = Api(county["dispatcher1"])
    officer = Api(county["dept2"])
    ok(liaison.post(f"/requests/{req_id}/escalate", {"note": "需部门接电"}))
    for note in ("社区无力解决", "报县交办"):  # community → township → assignment hall
        ok(manager.post(f"/requests/{req_id}/acknowledge"))
        ok(manager.post(f"/requests/{req_id}/escalate", {"note": note}))
    ok(dispatcher.post(f"/requests/{req_id}/dispatch", {"department": "gongdian"}))
    ok(officer.post(f"/requests/{req_id}/claim"))
    refused(liaison.post(f"/projects/{project['id']}/start_acceptance"), 409, "illegal_transition")
    resolved = ok(
        officer.form(f"/requests/{req_id}/resolve", {"note": "已接电", "photos": photo("done.png")})
    )
    assert resolved["status"] == "resolved"
    done = ok(
        liaison.form(
            f"/projects/{project['id']}/complete_milestone",
            {"milestone": milestone["id"], "photos": photo("piles.png"), "note": "10个桩已安装"},
        )
    )
    assert done["progress"] == 100 and done["milestones"][0]["photos"]
    assert done["cost"] == "12000.00"
    started = ok(liaison.post(f"/projects/{project['id']}/start_acceptance"))
    assert started["status"] == "acceptance"
    return started


def test_the_e_bike_story(county: County, world: dict[str, Any]) -> None:
    w = world
    got = _to_resolution(county, w)
    project = _project_to_acceptance(county, w, got["meeting"])
    vote = project["acceptance"]["meeting"]
    for i in range(25):
        ok(w["people"][i].post(f"/meetings/{vote}/vote", {"choice": "yes" if i < 20 else "no"}))
    ok(w["liaison"].post(f"/meetings/{vote}/close", {"passed": True}))
    done = ok(w["people"][2].get(f"/projects/{project['id']}"))
    assert done["status"] == "done" and done["acceptance"] == {
        "meeting": vote, "status": "closed", "yes": 20, "no": 5, "passed": True,
    }  # fmt: skip
    ok(w["liaison"].post(f"/projects/{project['id']}/publish"))
    # Followers (the supporters) were told at every step.
    supporter = w["reg"].users()[4]
    told = Notification.objects.filter(user=supporter, kind="deliberation")
    assert told.filter(title="幸福小区集中充电桩").count() >= 5
    assert told.filter(title__startswith="实施结果公开").exists()
    # Everything was published in time: a later sweep flags nothing.
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        sweep.run_pass()
    assert not Meeting.objects.filter(late=True).exists()
    events = [e["verb"] for e in done["events"]]
    assert events[:1] == ["create"] and "accept" in events and "add_request" in events


def test_failed_acceptance_reopens_the_project(county: County, world: dict[str, Any]) -> None:
    w = world
    got = _to_resolution(county, w)
    project = _project_to_acceptance(county, w, got["meeting"])
    vote = project["acceptance"]["meeting"]
    for i in range(25):
        ok(w["people"][i].post(f"/meetings/{vote}/vote", {"choice": "no" if i < 14 else "yes"}))
    message = refused(
        w["liaison"].post(f"/meetings/{vote}/close", {"passed": True}), 409, "rule_failed"
    )
    assert message.startswith(
        "未获法定多数同意：居民会议的决定须经到会人员过半数同意（25 的应同意至少 13，实同意 11）— "
    )
    # The same refusal for a client that asks for English: the rule's source stays as the law
    # says it.
    english = refused(
        w["liaison"].post(f"/meetings/{vote}/close", {"passed": True}, lang="en"),
        409,
        "rule_failed",
    )
    assert english.startswith(
        "No majority: a decision of the Residents' assembly needs the consent of more than half"
        " of those present (at least 13 of 25, 11 agreed) — "
    )
    assert english.split(" — ", 1)[1] == message.split("— ", 1)[1]
    ok(
        w["liaison"].post(
            f"/meetings/{vote}/close", {"resolution": "桩位漏电，整改后再验收"}, lang="en"
        )
    )
    # Closed by an English-speaking client, the record still says why in Chinese.
    failures = ok(w["people"][2].get(f"/meetings/{vote}"))["resolution"]["failures"]
    assert failures and failures[0].startswith("未获法定多数同意：居民会议")
    reopened = ok(w["people"][2].get(f"/projects/{project['id']}"))
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1
    assert reopened["acceptance"]["passed"] is False
    # The work goes on and may be put to the residents again.
    again = ok(w["liaison"].post(f"/projects/{project['id']}/start_acceptance"))
    assert again["status"] == "acceptance" and again["acceptance"]["meeting"] != vote


def test_a_missed_convene_deadline_tells_the_township(
    county: County, world: dict[str, Any]
) -> None:
    w = world
    topic = ok(
        w["people"][0].post(
            "/topics", {"hall": w["hall"].code, "title": "加装路灯", "text": "东门太黑"}
        ),
        201,
    )
    for i in (0, 2, 4, 6):
        crossed = ok(w["people"][i].post(f"/topics/{topic['id']}/support"))
    meeting_id = crossed["compelled_meeting"]
    with time_machine.travel(timezone.now() + timedelta(days=16)):
        assert sweep.run_pass()[0] >= 1
        assert sweep.run_pass()[0] == 0  # acted on once
    late = ok(Api(county["manager1"]).get("/meetings", late="true"))
    assert [m["id"] for m in late] == [meeting_id]
    told = Notification.objects.filter(user=county["manager1"], title__contains="未按期召集")
    assert told.exists()


def test_an_unpublished_resolution_is_flagged_late(county: County, world: dict[str, Any]) -> None:
    w = world
    m = Meeting.objects.create(
        hall=w["hall"], body="residents_assembly", title="测试", starts_at=timezone.now(),
        created_at=timezone.now(),
    )  # fmt: skip
    liaison = w["liaison"]
    Meeting.objects.filter(pk=m.pk).update(status="in_session")
    ok(liaison.post(f"/meetings/{m.pk}/close"))
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        sweep.run_pass()
        assert Meeting.objects.get(pk=m.pk).late
        publish = ok(liaison.post(f"/meetings/{m.pk}/publish"))
    assert publish["events"][-1]["data"]["on_time"] is False


def test_a_resident_of_another_compound_cannot_support_vote_or_read_notes(
    county: County, world: dict[str, Any]
) -> None:
    w = world
    stranger, liaison = w["stranger"], w["liaison"]
    topic = ok(
        w["people"][0].post(
            "/topics", {"hall": w["hall"].code, "title": "垃圾分类", "text": "增设桶"}
        ),
        201,
    )
    ok(
        liaison.post(
            f"/topics/{topic['id']}/comment", {"text": "预算不足，内部讨论", "public": False}
        )
    )
    refused(stranger.post(f"/topics/{topic['id']}/support"), 403, "forbidden")
    refused(stranger.post(f"/topics/{topic['id']}/comment", {"text": "x"}), 403, "forbidden")
    refused(
        w["people"][1].post(f"/topics/{topic['id']}/comment", {"text": "x", "public": False}),
        403,
        "forbidden",
    )
    seen = ok(stranger.get(f"/topics/{topic['id']}"))
    assert seen["comments"] == []
    insider = ok(liaison.get(f"/topics/{topic['id']}"))
    assert [c["text"] for c in insider["comments"]] == ["预算不足，内部讨论"]
    refused(
        stranger.post("/topics", {"hall": w["hall"].code, "title": "t", "text": "t"}),
        403,
        "forbidden",
    )
    m = ok(
        liaison.post(
            "/meetings",
            {
                "hall": w["hall"].code,
                "title": "居民会议",
                "starts_at": (timezone.now() + timedelta(minutes=10)).isoformat(),
            },
        ),
        201,
    )
    refused(Api(county["liaison2"]).post(f"/meetings/{m['id']}/notify"), 403, "forbidden")
    ok(liaison.post(f"/meetings/{m['id']}/notify"))
    ok(liaison.post(f"/meetings/{m['id']}/open"))
    refused(stranger.post(f"/meetings/{m['id']}/vote", {"choice": "yes"}), 403, "forbidden")
    token = ok(liaison.get(f"/meetings/{m['id']}"))["sign_in_token"]
    refused(stranger.post(f"/meetings/{m['id']}/sign_in", {"token": token}), 403, "forbidden")
    refused(
        w["people"][3].post(f"/meetings/{m['id']}/sign_in", {"token": "wrong"}), 403, "forbidden"
    )
    refused(w["people"][3].post(f"/meetings/{m['id']}/close"), 403, "forbidden")
    refused(w["people"][3].post(f"/meetings/{m['id']}/vote", {"choice": "maybe"}), 422, "invalid")
    refused(w["people"][3].post(f"/meetings/{m['id']}/dance"), 404, "not_found")


def test_bodies_are_listed_with_their_sources(county: County) -> None:
    api = Api(county["resident1"])
    rows = ok(api.get("/bodies"))
    assert {r["body"] for r in rows} == {
        "village_assembly", "village_representatives", "residents_assembly", "party_assembly",
        "owners_assembly",
    }  # fmt: skip
    now = {r["body"]: r for r in ok(api.get("/bodies", on="2025-06-01"))}
    va = now["village_assembly"]
    assert va["effective_from"] == "2018-12-29" and va["notice_days"] == 10
    assert [q["fraction"] for q in va["quorum"]] == ["1/2", "2/3"]
    assert [q["of"] for q in va["quorum"]] == ["adults", "households"]
    assert va["majority"] == {
        "fraction": "1/2",
        "of": "present",
        "strict": True,
        "words": "到会人员过半数",
    }
    assert "第二十二条" in va["source"]
    assert now["village_representatives"]["quorum"][0]["words"] == "组成人员的三分之二以上"


def test_a_nul_anywhere_in_a_body_is_a_clear_422_and_nothing_is_stored(
    county: County, world: dict[str, Any]
) -> None:
    """PostgreSQL cannot store NUL: it is refused as bad input before any write, however deep."""
    from yishiting.deliberation.models import Meeting, Topic

    before = (Topic.objects.count(), Meeting.objects.count())
    hall = world["hall"].code
    for body in (
        {"hall": hall, "title": "充电\x00桩", "text": "建集中充电桩"},
        {"hall": hall, "title": "充电桩", "text": "建", "requests": ["\x00"]},
    ):
        refused(world["liaison"].post("/topics", body), 422, "invalid")
    refused(
        world["liaison"].post("/meetings", {"hall": hall, "body": "居民会议", "title": "\x00"}),
        422,
        "invalid",
    )
    assert (Topic.objects.count(), Meeting.objects.count()) == before

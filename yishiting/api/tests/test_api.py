"""API v1 through HTTP: the closed loop with the demo's people, scope, and the §7 error format."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.requests.models import Attachment, Event, Request
from yishiting.requests.states import Verb
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db


class Api:
    """A client that speaks API v1 as one user."""

    def __init__(self, username: str | None, county: County):
        self.client = Client()
        self.headers: dict[str, str] = {}
        if username:
            _, key = ApiToken.issue(county[username])
            self.headers["HTTP_AUTHORIZATION"] = f"Token {key}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
        )

    def post_form(self, path: str, data: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1{path}", data, **self.headers)

    def verb(self, request_id: int, verb: str, **body: Any) -> Any:
        return self.post(f"/requests/{request_id}/{verb}", body)


@pytest.fixture
def as_(county: County):  # type: ignore[no-untyped-def]
    cache: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in cache:
            cache[username] = Api(username, county)
        return cache[username]

    return make


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content.decode()
    return response.json()


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]["message"]


def test_closed_loop(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """resident1 → liaison1 → manager1 → dispatcher1 → dept1 → resident1 rates → closed."""
    created = ok(
        as_("resident1").post(
            "/requests",
            {
                "hall": county.village.code,
                "text": "村东头的路灯坏了一个星期，晚上走路看不见。",
                "location": {"address": "东关村东头", "lat": 37.35, "lng": 114.77},
            },
        ),
        201,
    )
    rid = created["id"]
    assert created["status"] == "submitted"
    assert created["deadlines"]["respond_by"] is not None
    assert created["reporter"]["phone"] == "13812345678"  # the reporter sees their own data

    ok(as_("liaison1").verb(rid, "acknowledge", note="收到，马上安排"))
    escalated = ok(as_("liaison1").verb(rid, "escalate", note="村里没有备件"))
    assert escalated["hall"]["code"] == county.township.code
    ok(as_("manager1").verb(rid, "acknowledge"))
    up = ok(as_("manager1").verb(rid, "escalate", note="需住建局处理"))
    assert up["hall"]["code"] == county.assignment.code
    dispatched = ok(
        as_("dispatcher1").verb(rid, "dispatch", department="zhujian", category="streetlight")
    )
    assert dispatched["status"] == "dispatched"
    assert dispatched["deadlines"]["claim_by"] is not None
    claimed = ok(as_("dept1").verb(rid, "claim"))
    assert claimed["deadlines"]["resolve_by"] is not None

    # Street lights need photo proof: resolving without one is refused and changes nothing.
    error(as_("dept1").verb(rid, "resolve", note="已修好"), 422, "invalid")
    photo = io.BytesIO(png_bytes())
    photo.name = "fixed.png"
    resolved = ok(
        as_("dept1").post_form(
            f"/requests/{rid}/resolve", {"note": "已更换灯具，恢复照明", "photos": [photo]}
        )
    )
    assert resolved["status"] == "resolved"
    assert resolved["deadlines"]["rate_by"] is not None

    closed = ok(as_("resident1").verb(rid, "rate", rating="satisfied", comment="修得很快"))
    assert closed["status"] == "closed"
    assert closed["rating"] == "satisfied"

    events = ok(as_("resident1").get(f"/requests/{rid}/events"))
    assert [e["verb"] for e in events] == [
        "submit",
        "acknowledge",
        "escalate",
        "acknowledge",
        "escalate",
        "dispatch",
        "claim",
        "resolve",
        "rate",
    ]
    proof = events[7]["photos"]
    assert len(proof) == 1
    image = as_("resident1").client.get(proof[0]["url"], **as_("resident1").headers)
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert Attachment.objects.filter(request_id=rid).count() == 1


def test_other_village_liaison_is_refused_every_verb(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """liaison2 (北街村) may do nothing to a request of 东关村, at any stage.

    Co-signing is left out: 我也遇到 is open to any resident, staff included.
    """
    rid = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "井盖丢了"}), 201
    )["id"]
    stages = [
        [],
        [("liaison1", "acknowledge", {})],
        [("liaison1", "start", {})],
        [("liaison1", "escalate", {})],
    ]
    bodies = {
        "dispatch": {"department": "zhujian"},
        "extend": {"until": "2099-01-01T00:00:00+08:00", "reason": "等材料"},
        "supervise": {"until": "2099-01-01T00:00:00+08:00"},
        "rate": {"rating": "satisfied"},
        "merge": {"into": rid},
        "return": {"reason": "x"},
        "reject": {"reason": "x"},
        "hold": {"reason": "x"},
        "reopen": {"reason": "x"},
        "resolve": {"note": "x"},
        "comment": {"note": "x"},
    }
    verbs = [v for v in Verb if v not in (Verb.SUBMIT, Verb.CLOSE, Verb.BREACH, Verb.COSIGN)]
    for steps in stages:
        for username, verb, body in steps:
            ok(as_(username).verb(rid, verb, **body))
        before = Request.objects.get(pk=rid)
        for verb in verbs:
            error(
                as_("liaison2").verb(rid, verb.value, **bodies.get(verb.value, {})),
                403,
                "forbidden",
            )
        after = Request.objects.get(pk=rid)
        assert after.version == before.version
        assert Event.objects.filter(request_id=rid).count() == after.version


def test_public_view_is_masked(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = ok(
        as_("resident1").post(
            "/requests",
            {"hall": county.village.code, "text": "有事请打我电话 13812345678，谢谢"},
        ),
        201,
    )["id"]
    seen = ok(as_("resident2").get(f"/requests/{rid}"))
    assert "13812345678" not in json.dumps(seen, ensure_ascii=False)
    assert seen["reporter"]["name"] == "王**"
    assert seen["follow_code"] is None
    assert seen["allowed_verbs"] == ["cosign"]
    handler = ok(as_("liaison1").get(f"/requests/{rid}"))
    assert "13812345678" in handler["text"]
    assert handler["reporter"]["phone"] == "13812345678"


def test_errors_follow_the_contract(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    error(Api(None, county).get("/me"), 401, "unauthorized")
    error(as_("resident1").post("/requests", {"hall": "nope", "text": "x"}), 422, "invalid")
    error(as_("resident1").post("/requests", {"hall": county.village.code}), 422, "invalid")
    error(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "x" * 4001}),
        422,
        "invalid",
    )
    before = Request.objects.count()
    bad_json = as_("resident1").client.post(
        "/api/v1/requests",
        b"{not json",
        content_type="application/json",
        **as_("resident1").headers,
    )
    assert bad_json.status_code in (400, 422) and "error" in bad_json.json()
    assert Request.objects.count() == before
    rid = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "路面塌陷"}), 201
    )["id"]
    error(as_("liaison1").verb(rid, "claim"), 403, "forbidden")
    error(as_("liaison1").verb(rid, "resume"), 409, "illegal_transition")
    error(as_("liaison1").verb(rid, "fly"), 404, "not_found")
    error(as_("liaison1").verb(rid, "breach"), 403, "forbidden")
    error(as_("liaison1").verb(999999, "acknowledge"), 404, "not_found")
    error(as_("manager1").verb(rid, "reject"), 422, "invalid")  # a reason is required
    error(as_("liaison1").get("/requests", since="2026-01-01T00:00:00"), 422, "invalid")
    assert Event.objects.filter(request_id=rid).count() == 1


def test_list_filters_and_scope(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    mine = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "垃圾没人清"}), 201
    )
    ok(as_("resident2").post("/requests", {"hall": county.village3.code, "text": "路灯不亮"}), 201)
    assert ok(as_("liaison1").get("/requests"))["count"] == 1
    assert ok(as_("liaison3").get("/requests"))["count"] == 1
    assert ok(as_("manager1").get("/requests"))["count"] == 1
    assert ok(as_("dispatcher1").get("/requests"))["count"] == 2
    assert ok(as_("leader1").get("/requests"))["count"] == 2
    assert ok(as_("dept1").get("/requests"))["count"] == 0
    page = ok(as_("resident1").get("/requests"))
    assert [r["id"] for r in page["results"]] == [mine["id"]]
    assert ok(as_("leader1").get("/requests", status="submitted", overdue="false"))["count"] == 2
    assert ok(as_("leader1").get("/requests", hall=county.township2.code))["count"] == 1
    assert ok(as_("leader1").get("/requests", status="closed"))["count"] == 0
    assert ok(as_("leader1").get("/requests", since="2000-01-01T00:00:00+08:00"))["count"] == 2
    paged = ok(as_("leader1").get("/requests", page_size=1, page=2))
    assert paged["count"] == 2 and len(paged["results"]) == 1
    error(as_("leader1").get("/requests", status="flying"), 422, "invalid")


def test_at_lists_what_waits_in_exactly_that_hall(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """`at` is a hall's work queue; `hall` its whole subtree, and what left it for the county."""
    rid = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "井盖丢了"}), 201
    )["id"]
    ok(as_("resident2").post("/requests", {"hall": county.village2.code, "text": "路灯不亮"}), 201)

    def ids(**filters: str) -> list[int]:
        return [r["id"] for r in ok(as_("leader1").get("/requests", **filters))["results"]]

    assert ids(at=county.township.code) == []
    assert rid in ids(at=county.village.code) and len(ids(hall=county.township.code)) == 2
    ok(as_("liaison1").verb(rid, "escalate", version=1, note="村里解决不了"))
    assert ids(at=county.township.code, status="escalated") == [rid]
    assert rid not in ids(at=county.village.code)
    version = Request.objects.get(pk=rid).version
    ok(as_("manager1").verb(rid, "acknowledge", version=version))
    ok(as_("manager1").verb(rid, "escalate", version=version + 1, note="转县交办"))
    assert ids(at=county.township.code) == []
    assert ids(at=county.assignment.code) == [rid]
    assert rid in ids(hall=county.township.code)
    error(as_("leader1").get("/requests", at="000"), 422, "invalid")


def test_me_org_and_policies(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    me = ok(as_("liaison1").get("/me"))
    assert me["username"] == "liaison1" and "liaison" in me["roles"]
    assert me["memberships"][0]["hall"]["code"] == county.village.code
    assert len(ok(as_("resident1").get("/halls"))) == 7
    assert (
        ok(as_("resident1").get(f"/halls/{county.village.code}"))["parent"] == county.township.code
    )
    error(as_("resident1").get("/halls/000"), 404, "not_found")
    assert {d["code"] for d in ok(as_("resident1").get("/departments"))} == {"zhujian", "gongdian"}
    assert ok(as_("resident1").get("/categories"))[0]["department"] == "zhujian"

    from yishiting.orgs.models import ClockPolicy

    policy = ClockPolicy.objects.create(priority="normal")
    rows = ok(as_("admin").get("/policies"))
    assert rows[0]["first_response_seconds"] == 300
    response = as_("liaison1").client.patch(
        f"/api/v1/policies/{policy.pk}",
        json.dumps({"first_response_seconds": 600}),
        content_type="application/json",
        **as_("liaison1").headers,
    )
    error(response, 403, "forbidden")
    response = as_("admin").client.patch(
        f"/api/v1/policies/{policy.pk}",
        json.dumps({"first_response_seconds": 600}),
        content_type="application/json",
        **as_("admin").headers,
    )
    assert ok(response)["first_response_seconds"] == 600
    rid = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "水管爆了"}), 201
    )
    req = Request.objects.get(pk=rid["id"])
    assert (req.respond_by - req.created_at).total_seconds() == 600


def test_token_command_and_revocation(county: County) -> None:
    out = io.StringIO()
    call_command("token", "liaison1", stdout=out)
    key = out.getvalue().strip()
    client = Client()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    token = ApiToken.objects.get(user=county["liaison1"])
    assert token.last_used_at is not None
    assert token.key_hash != key
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.created_at)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_acting_on_a_stale_view_is_a_conflict(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """Two liaisons look at the same request; the one who acts second gets 409 conflict."""
    rid = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "路灯不亮"}), 201
    )["id"]
    seen = ok(as_("liaison1").get(f"/requests/{rid}"))["version"]
    ok(as_("manager1").verb(rid, "acknowledge", version=seen))
    error(as_("liaison1").verb(rid, "escalate", version=seen), 409, "conflict")
    assert Request.objects.get(pk=rid).status == "acknowledged"
    assert Event.objects.filter(request_id=rid).count() == 2


def test_error_messages_speak_the_callers_language(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    """Chinese by default; English for a client that asks for it (Accept-Language)."""
    rid = ok(
        as_("resident1").post("/requests", {"hall": county.village.code, "text": "路面塌陷"}), 201
    )["id"]
    liaison = as_("liaison1")
    assert error(liaison.verb(rid, "resume"), 409, "illegal_transition") == (
        f"诉求 {rid}：“待响应”状态下不能“恢复办理”"
    )
    english = liaison.client.post(
        f"/api/v1/requests/{rid}/resume",
        "{}",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **liaison.headers,
    )
    assert english.status_code == 409
    assert english.json()["error"]["message"] == (
        f"request {rid}: Resume is not allowed from Awaiting response"
    )

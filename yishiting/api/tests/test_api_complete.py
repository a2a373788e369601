"""API v1 beyond the loop: token admin, multipart submission, ordering and pages, times with
time zones, and the docs page served without the internet (docs/api.md)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from yishiting.api.models import ApiToken
from yishiting.requests import actions
from yishiting.requests.models import Attachment, Request
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db


def headers(county: County, username: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {ApiToken.issue(county[username])[1]}"}


def call(method: str, path: str, auth: dict[str, str], body: Any = None) -> Any:
    client = Client()
    kwargs: dict[str, Any] = dict(auth)
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


def error_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.content.decode()
    return response.json()["error"]["code"]


def test_last_use_is_written_once_a_minute(county: County) -> None:
    """A token in constant use writes `last_used_at` once a minute, not on every call."""
    token, key = ApiToken.issue(county["liaison1"])
    liaison = {"HTTP_AUTHORIZATION": f"Token {key}"}
    with time_machine.travel("2026-06-01 09:00:00 +08:00", tick=False) as clock:
        assert call("get", "/me", liaison).status_code == 200
        first = ApiToken.objects.get(pk=token.pk).last_used_at
        assert first is not None
        clock.shift(59)
        assert call("get", "/me", liaison).status_code == 200
        assert ApiToken.objects.get(pk=token.pk).last_used_at == first
        clock.shift(2)
        assert call("get", "/me", liaison).status_code == 200
        assert (ApiToken.objects.get(pk=token.pk).last_used_at - first).total_seconds() == 61


def test_admin_creates_lists_and_revokes_tokens(county: County) -> None:
    admin = headers(county, "admin")
    created = call("post", "/tokens", admin, {"user": "liaison1", "name": "村务小程序"})
    assert created.status_code == 201, created.content
    token = created.json()
    assert token["user"] == "liaison1" and token["active"] is True and token["last_used_at"] is None
    assert token["key"].startswith(token["prefix"])
    stored = ApiToken.objects.get(pk=token["id"])
    assert stored.key_hash != token["key"]  # only the hash is kept

    liaison = {"HTTP_AUTHORIZATION": f"Token {token['key']}"}
    for _ in range(3):
        assert call("get", "/me", liaison).json()["username"] == "liaison1"
    listed = call("get", "/tokens", admin, None).json()
    mine = next(t for t in listed if t["id"] == token["id"])
    assert mine["last_used_at"] is not None
    assert "key" not in mine and "key_hash" not in mine
    assert [t["user"] for t in call("get", "/tokens?user=liaison1", admin).json()] == ["liaison1"]

    revoked = call("delete", f"/tokens/{token['id']}", admin)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert error_code(call("get", "/me", liaison), 401) == "unauthorized"
    # Revoking again changes nothing; the history stays.
    again = call("delete", f"/tokens/{token['id']}", admin).json()
    assert again["revoked_at"] == revoked.json()["revoked_at"]
    assert again["last_used_at"] == mine["last_used_at"]
    assert token["id"] not in [t["id"] for t in call("get", "/tokens?active=true", admin).json()]


def test_only_admins_manage_tokens(county: County) -> None:
    other = ApiToken.issue(county["dept1"])[0]
    for username in ("liaison1", "dispatcher1", "leader1", "resident1"):
        auth = headers(county, username)
        assert error_code(call("get", "/tokens", auth), 403) == "forbidden"
        assert error_code(call("post", "/tokens", auth, {"user": username}), 403) == "forbidden"
        assert error_code(call("delete", f"/tokens/{other.pk}", auth), 403) == "forbidden"
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None
    admin = headers(county, "admin")
    assert error_code(call("post", "/tokens", admin, {"user": "nobody"}), 422) == "invalid"
    assert error_code(call("delete", "/tokens/999999", admin), 404) == "not_found"
    assert error_code(call("get", "/tokens", {}), 401) == "unauthorized"


def test_submit_with_photos_as_multipart(county: County) -> None:
    photo = io.BytesIO(png_bytes())
    photo.name = "bin.png"
    response = Client().post(
        "/api/v1/requests",
        {
            "hall": county.village.code,
            "text": "垃圾桶坏了",
            "location.address": "东关村口",
            "location.lat": "37.35",
            "location.lng": "114.77",
            "anonymous": "false",
            "photos": [photo],
        },
        **headers(county, "resident1"),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["location"] == {"address": "东关村口", "lat": 37.35, "lng": 114.77}
    assert Attachment.objects.filter(request_id=body["id"]).count() == 1
    bad = Client().post(
        "/api/v1/requests",
        {"hall": county.village.code, "text": "x", "location.lat": "north"},
        **headers(county, "resident1"),
    )
    assert error_code(bad, 422) == "invalid"
    assert Request.objects.count() == 1


def test_order_is_stable_and_pages_have_totals(county: County) -> None:
    with time_machine.travel("2026-06-01 09:00 +08:00", tick=False):
        made = [
            actions.do_submit(actor=county["resident1"], hall=county.village, text=f"第{i}件")
            for i in range(5)
        ]
    auth = headers(county, "leader1")
    seen = []
    for page in (1, 2, 3):
        body = call("get", f"/requests?page_size=2&page={page}", auth).json()
        assert body["count"] == 5 and body["pages"] == 3
        seen += [r["id"] for r in body["results"]]
    # Same submission time: the id breaks the tie, newest (highest) first, nothing repeated.
    assert seen == [r.pk for r in reversed(made)]
    # Past the end, a full page, a page not full: the same total each time.
    for query, rows, pages in [
        ("page_size=2&page=4", 0, 3),
        ("page_size=5", 5, 1),
        ("page_size=5&page=2", 0, 1),
        ("page_size=10", 5, 1),
    ]:
        body = call("get", f"/requests?{query}", auth).json()
        assert (body["count"], len(body["results"]), body["pages"]) == (5, rows, pages), query
    # A page that is not full ends the list: no COUNT is needed for its total.
    with CaptureQueriesContext(connection) as queries:
        assert call("get", "/requests?page_size=10", auth).json()["count"] == 5
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]
    with CaptureQueriesContext(connection) as queries:
        assert call("get", "/requests?status=closed", auth).json()["count"] == 0
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]
    assert error_code(call("get", "/requests?page_size=101", auth), 422) == "invalid"
    assert error_code(call("get", "/requests?page=0", auth), 422) == "invalid"
    assert error_code(call("get", "/requests?page=1000000000000", auth), 422) == "invalid"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-06-01T00:00:00", "没有时区"),
        ("2026-06-01", "没有时区"),
        ("yesterday", "不是 ISO 8601 时间"),
        ("2026-02-30T00:00+08:00", "不是 ISO 8601 时间"),
    ],
)
def test_since_until_need_a_time_zone(county: County, value: str, fragment: str) -> None:
    response = call("get", f"/requests?since={value}", headers(county, "leader1"))
    assert error_code(response, 422) == "invalid"
    assert fragment in response.json()["error"]["message"]


def test_since_until_select_by_submission_time(county: County) -> None:
    with time_machine.travel("2026-06-01 09:00 +08:00", tick=False):
        early = actions.do_submit(actor=county["resident1"], hall=county.village, text="早")
    with time_machine.travel("2026-06-02 09:00 +08:00", tick=False):
        late = actions.do_submit(actor=county["resident1"], hall=county.village, text="晚")
    auth = headers(county, "leader1")

    def ids(query: str) -> list[int]:
        return [r["id"] for r in call("get", f"/requests?{query}", auth).json()["results"]]

    assert ids("since=2026-06-02T09:00:00%2B08:00") == [late.pk]  # since is inclusive
    assert ids("until=2026-06-02T09:00:00%2B08:00") == [early.pk]  # until is exclusive
    assert ids("until=2026-06-02T01:00:00Z") == [early.pk]  # the same instant in UTC
    # An unencoded '+' arrives as a space, and is understood.
    assert ids("since=2026-06-02T00:00:00+08:00") == [late.pk]
    backwards = call("get", "/requests?since=2026-06-02T00:00Z&until=2026-06-01T00:00Z", auth)
    assert error_code(backwards, 422) == "invalid"


def test_openapi_and_docs_need_nothing_from_the_internet(county: County) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/requests", "/api/v1/requests.xlsx", "/api/v1/tokens"):
        assert path in paths
    body = paths["/api/v1/requests"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "$ref" not in json.dumps(body)  # an inline body must not point at $defs
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert not re.search(r"https?://", html.replace("http://testserver", ""))
    settings = json.loads(re.search(r'id="swagger-settings">(.*?)</script>', html, re.S)[1])
    assert settings["validatorUrl"] is None  # no badge fetched from validator.swagger.io
    for asset in assets:
        response = Client().get(asset)
        assert response.status_code == 200, asset
        if asset.endswith(".js"):
            content = b"".join(response.streaming_content).decode()
            assert "cdn.jsdelivr" not in content and "unpkg.com" not in content


def test_nul_characters_are_refused(county: County) -> None:
    auth = headers(county, "resident1")
    body = {"hall": county.village.code, "text": "a\x00b"}
    assert error_code(call("post", "/requests", auth, body), 422) == "invalid"
    assert error_code(call("get", "/requests?hall=%00", auth), 422) == "invalid"
    assert not Request.objects.exists()


def test_the_reporters_own_name_is_masked_in_public_texts(county) -> None:  # type: ignore[no-untyped-def]
    """§6: a reporter who signs the text with their name is not named to the public, in the
    request, its timeline or the pages; handlers read it whole."""
    from yishiting.api.tests.test_api import Api, ok

    req = actions.do_submit(
        actor=county["resident1"], hall=county.village, text="我是王秀兰，村口路灯坏了"
    )
    actions.do_comment(req, actor=county["liaison1"], note="王秀兰您好，明天来修")
    public = ok(Api("resident2", county).get(f"/requests/{req.pk}"))
    timeline = ok(Api("resident2", county).get(f"/requests/{req.pk}/events"))
    assert "王秀兰" not in public["text"] and "路灯坏了" in public["text"]
    assert all("王秀兰" not in e["note"] for e in timeline)
    assert "王秀兰" in ok(Api("liaison1", county).get(f"/requests/{req.pk}"))["text"]

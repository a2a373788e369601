"""The closed loop through API v1 with the seeded demo county's own accounts (issue: Must show)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.demo.seed import seed_demo
from yishiting.orgs.models import Membership, Role, User
from yishiting.requests.states import Verb
from yishiting.testing import png_bytes

pytestmark = pytest.mark.django_db


def _client(username: str) -> tuple[Client, dict[str, str]]:
    _, key = ApiToken.issue(User.objects.get(username=username))
    return Client(), {"HTTP_AUTHORIZATION": f"Token {key}"}


def _verb(username: str, rid: int, verb: str, **body: Any) -> Any:
    client, headers = _client(username)
    return client.post(
        f"/api/v1/requests/{rid}/{verb}",
        json.dumps(body),
        content_type="application/json",
        **headers,
    )


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_closed_loop_with_demo_accounts() -> None:
    seed_demo(requests=0)
    village = Membership.objects.get(user__username="liaison1", role=Role.LIAISON).hall
    department = Membership.objects.get(user__username="dept1", role=Role.DEPARTMENT).department
    assert department is not None

    client, headers = _client("resident1")
    created = _ok(
        client.post(
            "/api/v1/requests",
            json.dumps({"hall": village.code, "text": "村口的井盖松动了，车一过就响，怕伤着人。"}),
            content_type="application/json",
            **headers,
        ),
        201,
    )
    rid = created["id"]
    _ok(_verb("liaison1", rid, "acknowledge", note="收到，马上去看"))
    assert _ok(_verb("liaison1", rid, "escalate"))["hall"]["code"] == village.parent.code
    _ok(_verb("manager1", rid, "acknowledge"))
    assert _ok(_verb("manager1", rid, "escalate"))["hall"]["kind"] == "assignment"
    _ok(_verb("dispatcher1", rid, "dispatch", department=department.code))
    _ok(_verb("dept1", rid, "claim"))
    photo = io.BytesIO(png_bytes())
    photo.name = "done.png"
    client, headers = _client("dept1")
    resolved = _ok(
        client.post(
            f"/api/v1/requests/{rid}/resolve", {"note": "已更换井盖", "photos": [photo]}, **headers
        )
    )
    assert resolved["status"] == "resolved"
    closed = _ok(_verb("resident1", rid, "rate", rating="satisfied"))
    assert closed["status"] == "closed" and closed["rating"] == "satisfied"

    # A liaison of another village: 403 on every verb.
    other = (
        Membership.objects.filter(role=Role.LIAISON, hall__kind="village")
        .exclude(hall=village)
        .select_related("user")
        .first()
    )
    assert other is not None
    fresh = _ok(
        _client("resident1")[0].post(
            "/api/v1/requests",
            json.dumps({"hall": village.code, "text": "垃圾箱满了没人清"}),
            content_type="application/json",
            **_client("resident1")[1],
        ),
        201,
    )["id"]
    for verb in Verb:
        if verb in (Verb.SUBMIT, Verb.CLOSE, Verb.BREACH, Verb.COSIGN):
            continue
        response = _verb(other.user.username, fresh, verb.value, note="x", reason="x")
        assert response.status_code == 403, (verb, response.content)

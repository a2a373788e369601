"""Personal data masked for every role that must not see it (§6), searched everywhere it could
surface: pages, API v1, Open311 (JSON and XML), the Excel ledger, and notifications (in-app
messages of co-signers, the hall's chat robot). The reporter's phone, name and house number
appear in the text, the reporter fields and a handler's public note."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from yishiting.api.models import ApiToken
from yishiting.notify.models import Notification, RobotBinding
from yishiting.requests import actions as A
from yishiting.requests.models import Request
from yishiting.testing import County

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

PHONE, NAME, HOUSE = "13812345678", "王秀兰", "3-2-501"
SECRETS = (PHONE, NAME, HOUSE)
# Who must not see them, and who must (its handlers and the reporter).
OUTSIDERS = ("resident2", "liaison2", "dept2", None)
INSIDERS = ("resident1", "liaison1", "manager1", "dispatcher1", "leader1", "admin")


@pytest.fixture
def req(county: County) -> Request:
    RobotBinding.objects.create(
        hall=county.village, kind="wecom", name="东关村群", webhook_url="https://robot.invalid/x"
    )
    r = A.do_submit(
        actor=county["resident1"],
        hall=county.village,
        text=f"我家{HOUSE}门口的路灯坏了，我叫{NAME}，电话{PHONE}",
        reporter_name=NAME,
        reporter_phone=PHONE,
        address=f"东关村{HOUSE}",
    )
    A.do_cosign(r.pk, actor=county["resident2"])
    A.do_acknowledge(r.pk, actor=county["liaison1"], note=f"已联系{NAME}（{PHONE}）")
    A.do_start(r.pk, actor=county["liaison1"])
    A.do_resolve(r.pk, actor=county["liaison1"], note=f"已修好，{NAME}家门口{HOUSE}的灯亮了")
    return Request.objects.get(pk=r.pk)


def _client(county: County, username: str | None) -> Client:
    client = Client()
    if username:
        client.force_login(county[username])
        _, key = ApiToken.issue(county[username])
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def _text(response: Any) -> str:
    if response["Content-Type"].startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    if "spreadsheet" in response["Content-Type"]:
        data = b"".join(response.streaming_content)
        book = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(
            str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
        )
    return response.content.decode()


def _views(county: County, req: Request, username: str | None) -> dict[str, str]:
    client = _client(county, username)
    paths = {
        "page": f"/r/{req.pk}/",
        "board": f"/h/{county.village.code}/board/",
        "open311 json": f"/open311/v2/requests/{req.number}.json?jurisdiction_id=130500",
        "open311 xml": f"/open311/v2/requests/{req.number}.xml?jurisdiction_id=130500",
        "open311 updates": "/open311/v2/servicerequestupdates.json?jurisdiction_id=130500",
    }
    if username:
        paths |= {
            "api": f"/api/v1/requests/{req.pk}",
            "api events": f"/api/v1/requests/{req.pk}/events",
            "api list": "/api/v1/requests",
            "ledger": "/api/v1/requests.xlsx",
            "my": "/my/",
        }
    out = {}
    for where, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, (username, where, response.status_code)
        out[where] = _text(response)
    return out


@pytest.mark.parametrize("username", OUTSIDERS)
def test_outsiders_find_no_personal_data_anywhere(
    county: County, req: Request, username: str | None
) -> None:
    leaks = [
        f"{where}: {s}"
        for where, text in _views(county, req, username).items()
        for s in SECRETS
        if s in text
    ]
    assert not leaks, f"{username or 'anonymous'} sees: {leaks}"


@pytest.mark.parametrize("username", INSIDERS)
def test_handlers_and_the_reporter_see_it(county: County, req: Request, username: str) -> None:
    views = _views(county, req, username)
    for where in ("page", "api"):
        assert PHONE in views[where] and NAME in views[where], (username, where)
    # Open311 is a public feed: masked even for insiders (the board shows a logged-in
    # handler their own view, like the request page)
    for where in ("open311 json", "open311 xml"):
        assert not any(s in views[where] for s in SECRETS), (username, where)


def test_the_cosigners_messages_and_the_hall_robot_are_masked(county: County, req: Request) -> None:
    told = list(Notification.objects.filter(user=county["resident2"]))
    robot = list(Notification.objects.filter(binding__hall=county.village))
    assert told and robot  # there is something to check
    for n in told + robot:
        text = f"{n.title}\n{n.body}"
        assert not any(s in text for s in SECRETS), (n.kind, n.channel, text)
    # the handlers' own messages keep the full text
    staff = Notification.objects.filter(user=county["liaison1"]).values_list("body", flat=True)
    assert any(PHONE in body for body in staff)

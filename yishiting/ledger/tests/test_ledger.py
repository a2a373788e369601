"""The case ledger (台账): API and command, counts equal to the API's, masking by role."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import load_workbook

from yishiting.api.models import ApiToken
from yishiting.ledger.xlsx import HEADERS, XLSX
from yishiting.requests import actions
from yishiting.requests.models import Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db


def wall(hour: int, minute: int) -> datetime:
    """A county wall time as the ledger writes it (Excel has no time zones)."""
    return datetime.fromisoformat(f"2026-06-01T{hour:02d}:{minute:02d}:00")


def client_for(county: County, username: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {ApiToken.issue(county[username])[1]}"}


def rows_of(content: bytes) -> list[dict[str, Any]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    sheet = book["台账"]
    rows = list(sheet.iter_rows(values_only=True))
    assert tuple(rows[0]) == HEADERS
    return [dict(zip(HEADERS, r, strict=True)) for r in rows[1:]]


@pytest.fixture
def loop(county: County) -> Request:
    """resident1's request, through every step to closed, at known times."""
    resident, liaison = county["resident1"], county["liaison1"]
    with time_machine.travel("2026-06-01 09:00 +08:00", tick=False):
        req = actions.do_submit(
            actor=resident, hall=county.village, text="村东头路灯不亮", reporter_phone=""
        )
    steps = [
        ("09:02", lambda: actions.do_acknowledge(req.pk, actor=liaison)),
        ("09:05", lambda: actions.do_escalate(req.pk, actor=liaison, note="没有备件")),
        ("09:06", lambda: actions.do_acknowledge(req.pk, actor=county["manager1"])),
        ("09:08", lambda: actions.do_escalate(req.pk, actor=county["manager1"])),
        (
            "09:10",
            lambda: actions.do_dispatch(req.pk, actor=county["dispatcher1"], department="zhujian"),
        ),
        ("09:20", lambda: actions.do_claim(req.pk, actor=county["dept1"])),
        ("15:00", lambda: actions.do_resolve(req.pk, actor=county["dept1"], note="已修好")),
        ("16:00", lambda: actions.do_rate(req.pk, actor=resident, rating="satisfied")),
    ]
    for at, step in steps:
        with time_machine.travel(f"2026-06-01 {at} +08:00", tick=False):
            step()
    return Request.objects.get(pk=req.pk)


def test_the_ledger_has_every_step_and_the_apis_count(county: County, loop: Request) -> None:
    with time_machine.travel("2026-06-02 09:00 +08:00", tick=False):
        other = actions.do_submit(
            actor=county["resident2"], hall=county.village3, text="西关村垃圾没人清"
        )
    headers = client_for(county, "leader1")
    client = Client()
    for params in ({}, {"status": "closed"}, {"hall": county.township2.code}, {"overdue": "true"}):
        api = client.get("/api/v1/requests", params, **headers).json()
        response = client.get("/api/v1/requests.xlsx", params, **headers)
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        assert "attachment" in response["Content-Disposition"]
        rows = rows_of(b"".join(response.streaming_content))
        assert len(rows) == api["count"], params
        assert [r["编号"] for r in rows] == [r["number"] for r in api["results"]]
    rows = rows_of(b"".join(client.get("/api/v1/requests.xlsx", **headers).streaming_content))
    assert [r["编号"] for r in rows] == [other.number, loop.number]  # newest first
    row = rows[1]
    assert row["议事厅"] == "东关村" and row["乡镇"] == "东关镇"
    assert row["当前所在"] == "测试县部门集中交办厅" and row["承办部门"] == "住建局"
    assert row["状态"] == "已关闭" and row["评价"] == "满意" and row["是否超时"] == "否"
    times = {k: row[k] for k in HEADERS if k.endswith("时间")}
    assert times == {
        "提交时间": wall(9, 0),
        "响应时间": wall(9, 2),
        "上报时间": wall(9, 5),
        "派单时间": wall(9, 10),
        "签收时间": wall(9, 20),
        "办结时间": wall(15, 0),
        "评价时间": wall(16, 0),
        "关闭时间": wall(16, 0),
    }
    assert rows[0]["响应时间"] is None and rows[0]["状态"] == "待响应"


def test_personal_data_by_role(county: County, loop: Request) -> None:
    client = Client()
    # The county's leader handles it in the sense of §6 (reads everything in scope).
    handler = rows_of(
        b"".join(
            client.get("/api/v1/requests.xlsx", **client_for(county, "leader1")).streaming_content
        )
    )
    assert handler[0]["反映人"] == "王秀兰" and handler[0]["联系电话"] == "13812345678"
    # A co-signer follows the request but sees only the public view.
    actions.do_cosign(loop.pk, actor=county["resident2"])
    cosigner = rows_of(
        b"".join(
            client.get("/api/v1/requests.xlsx", **client_for(county, "resident2")).streaming_content
        )
    )
    assert cosigner[0]["反映人"] == "王**" and cosigner[0]["联系电话"] == "138****5678"


def test_bad_filters_are_422(county: County) -> None:
    headers = client_for(county, "leader1")
    for params in (
        {"since": "2026-06-01T00:00"},
        {"until": "2026-13-45T00:00+08:00"},
        {"status": "flying"},
        {"hall": "nosuch"},
        {"department": "nosuch"},
    ):
        response = Client().get("/api/v1/requests.xlsx", params, **headers)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "invalid"
    assert Client().get("/api/v1/requests.xlsx").status_code == 401


def test_ledger_command(county: County, loop: Request, tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    stdout = io.StringIO()
    call_command("ledger", "--out", str(out), "--status", "closed", stdout=stdout)
    assert "1 requests" in stdout.getvalue()
    (row,) = rows_of(out.read_bytes())
    assert row["反映人"] == "王**"  # no --user: the public view
    call_command("ledger", "--out", str(out), "--user", "dispatcher1", "--force", stdout=stdout)
    (row,) = rows_of(out.read_bytes())
    assert row["联系电话"] == "13812345678"
    call_command("ledger", "--out", str(out), "--user", "liaison2", "--force", stdout=stdout)
    assert rows_of(out.read_bytes()) == []  # another village's liaison: out of scope
    for at, found in ((county.assignment, 1), (county.village, 0)):
        call_command("ledger", "--out", str(out), "--at", at.code, "--force", stdout=stdout)
        assert len(rows_of(out.read_bytes())) == found, at  # dispatched from the assignment hall
    with pytest.raises(CommandError, match="exists"):
        call_command("ledger", "--out", str(out))
    with pytest.raises(CommandError, match="没有时区"):
        call_command("ledger", "--out", str(tmp_path / "x.xlsx"), "--since", "2026-06-01")
    with pytest.raises(CommandError, match=r"\.xlsx"):
        call_command("ledger", "--out", str(tmp_path / "x.csv"))

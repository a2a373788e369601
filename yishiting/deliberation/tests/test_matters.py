"""四议两公开: six steps in order, each with date, attendance and signatures; out of order
refused; the filled forms exported as .xlsx and PDF. And suggested topics from clustered
requests."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from openpyxl import load_workbook

from yishiting.api.models import ApiToken
from yishiting.core.errors import ActionError, ForbiddenError, IllegalTransitionError
from yishiting.deliberation import actions
from yishiting.deliberation.states import STEP_CODES
from yishiting.requests import actions as request_actions
from yishiting.routing import duplicates
from yishiting.testing import County

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_steps_in_order_and_export(county: County) -> None:
    liaison = county["liaison1"]
    matter = actions.do_create_matter(
        actor=liaison, hall=county.village, title="村道硬化工程", now=NOW
    )
    with pytest.raises(IllegalTransitionError, match="步骤顺序不对"):
        actions.do_record_step(
            matter.pk, actor=liaison, step="party_review", held_on=date(2026, 5, 1),
            attendance=12, signatures=["张三"], now=NOW,
        )  # fmt: skip
    day = date(2026, 5, 1)
    for i, code in enumerate(STEP_CODES):
        actions.do_record_step(
            matter.pk, actor=liaison, step=code, held_on=day + timedelta(days=i),
            attendance=10 + i, signatures=["张三", "李四"], note=f"第{i + 1}步", now=NOW,
        )  # fmt: skip
    with pytest.raises(IllegalTransitionError, match="六个步骤已全部记录"):
        actions.do_record_step(
            matter.pk, actor=liaison, step="publish_results", held_on=day, attendance=1,
            signatures=["张三"], now=NOW,
        )  # fmt: skip
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {ApiToken.issue(county['manager1'])[1]}"}
    xlsx = client.get(f"/api/v1/matters/{matter.pk}/export", {"format": "xlsx"}, **headers)
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active  # type: ignore[attr-defined]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][1] == "党支部提议" and rows[7][1] == "实施结果公开" and rows[7][3] == "15"
    pdf = client.get(f"/api/v1/matters/{matter.pk}/export", {"format": "pdf"}, **headers)
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]


def test_a_step_before_the_previous_one_and_outsiders_are_refused(county: County) -> None:
    liaison = county["liaison1"]
    matter = actions.do_create_matter(
        actor=liaison, hall=county.village, title="集体土地流转", now=NOW
    )
    actions.do_record_step(
        matter.pk, actor=liaison, step="branch_proposal", held_on=date(2026, 5, 10),
        attendance=5, signatures=["张三"], now=NOW,
    )  # fmt: skip
    with pytest.raises(IllegalTransitionError, match="早于上一步骤"):
        actions.do_record_step(
            matter.pk, actor=liaison, step="committees_discuss", held_on=date(2026, 5, 9),
            attendance=5, signatures=["张三"], now=NOW,
        )  # fmt: skip
    with pytest.raises(ActionError, match="签名：须有参加人员的签名"):
        actions.do_record_step(
            matter.pk, actor=liaison, step="committees_discuss", held_on=date(2026, 5, 11),
            attendance=5, signatures=[], now=NOW,
        )  # fmt: skip
    with pytest.raises(ForbiddenError):
        actions.do_record_step(
            matter.pk, actor=county["liaison2"], step="committees_discuss",
            held_on=date(2026, 5, 11), attendance=5, signatures=["x"], now=NOW,
        )  # fmt: skip


def test_three_similar_requests_suggest_a_topic(county: County) -> None:
    texts = [
        "楼道里电动车充电拉飞线很危险",
        "电动车在楼道充电拉飞线，危险",
        "楼道电动车充电飞线危险",
    ]
    reqs = [
        request_actions.do_submit(actor=county["resident1"], hall=county.village, text=t, now=NOW)
        for t in texts
    ]
    request_actions.do_submit(
        actor=county["resident2"], hall=county.village, text="路灯坏了", now=NOW
    )
    for r in reqs:
        duplicates.index_request(r)
    found = actions.suggestions(county.village, NOW + timedelta(hours=1))
    assert [sorted(s["requests"]) for s in found] == [sorted(r.pk for r in reqs)]
    topic = actions.do_raise_topic(
        actor=county["liaison1"], hall=county.village, title="楼道充电", text="集中充电桩",
        requests=[r.pk for r in reqs], suggested=True, now=NOW,
    )  # fmt: skip
    assert topic.suggested and topic.raised_as == "liaison"
    assert actions.suggestions(county.village, NOW + timedelta(hours=1)) == []  # linked now

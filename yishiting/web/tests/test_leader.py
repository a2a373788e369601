"""The leader's pages: dashboard numbers equal `metrics.metrics`, links list exactly the
requests behind them, scope is checked, the wall and the rankings render, reports download."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from yishiting.orgs.models import Membership, Role
from yishiting.requests import actions as A
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Request
from yishiting.stats import metrics as m
from yishiting.stats.rollups import tz
from yishiting.testing import County

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=tz())
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=tz())
NOV = (datetime(2026, 11, 1, tzinfo=tz()), datetime(2026, 11, 21, tzinfo=tz()))


@pytest.fixture(autouse=True)
def _now():  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        yield


def story(c: County) -> None:
    """In 东关镇 one October request and two November ones (one dispatched to 住建局 and
    claimed, one acknowledged); in 西关镇 one still waiting."""
    october = T0 - timedelta(days=20)
    A.do_submit(actor=c["resident1"], hall=c.village, text="十月的旧事", now=october)
    r = A.do_submit(actor=c["resident1"], hall=c.village, text="路灯不亮", now=T0)
    A.do_acknowledge(r, actor=c["liaison1"], now=T0 + timedelta(minutes=2))
    A.do_escalate(r, actor=c["liaison1"], now=T0 + timedelta(minutes=3))
    A.do_acknowledge(r, actor=c["manager1"], now=T0 + timedelta(minutes=4))
    A.do_escalate(r, actor=c["manager1"], now=T0 + timedelta(minutes=5))
    A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", now=T0 + timedelta(minutes=6))
    A.do_claim(r, actor=c["dept1"], now=T0 + timedelta(minutes=20))
    later = T0 + timedelta(hours=2)
    r2 = A.do_submit(actor=c["resident2"], hall=c.village, text="垃圾没人清", now=later)
    A.do_acknowledge(r2, actor=c["liaison1"], now=T0 + timedelta(hours=2, minutes=1))
    A.do_submit(actor=c["resident2"], hall=c.village3, text="污水外溢", now=T0 + timedelta(hours=3))


def login(c: County, username: str) -> Client:
    client = Client()
    client.force_login(c[username])
    return client


def kpi(html: str, name: str) -> str:
    """The big number of a KPI tile."""
    found = re.search(rf'id="kpi-{name}"[^>]*>.*?<span class="v">([^<]*)</span>', html, re.S)
    assert found, name
    return found.group(1)


def total(client: Client, url: str) -> int:
    """How many requests the list behind a link shows."""
    res = client.get(url.replace("&amp;", "&"))
    assert res.status_code == 200, url
    found = re.search(r'<span id="total">(\d+)</span>', res.content.decode())
    assert found
    return int(found.group(1))


def links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link to the list of requests."""
    return re.findall(r'<a href="(/leader/requests/\?[^"]+)">(\d+)</a>', html)


def test_dashboard_numbers_are_the_metrics(county: County) -> None:
    story(county)
    html = login(county, "leader1").get("/leader/").content.decode()
    fig = m.metrics(m.county_scope(county.county), *NOV)
    c = fig.tally.counts
    assert kpi(html, "submitted") == str(c["submitted"]) == "3"
    rate = fig.response_rate
    assert rate.value is not None
    assert kpi(html, "response") == f"{rate.value * 100:.1f}%"
    assert f"{rate.numerator} / {rate.denominator}" in html
    solved = fig.resolution_rate
    assert (solved.numerator, solved.denominator) == (0, 3)
    assert kpi(html, "resolution") == "0.0%"
    assert fig.satisfaction_rate.value is None and kpi(html, "satisfaction") == "—"
    assert "基本满意权重 1.0" in html
    assert kpi(html, "appeals") == "0"
    # townships: 东关镇 2, 西关镇 1; the chart data carries the same numbers
    assert re.search(r"东关镇 ›</a></td><td><a href=\"[^\"]+\">2</a>", html)
    assert '"name": "\\u897f\\u5173\\u9547", "value": 1' in html
    assert "echarts.min.js" in html


def test_every_link_lists_exactly_the_requests_it_counts(county: County) -> None:
    story(county)
    client = login(county, "leader1")
    html = client.get("/leader/").content.decode()
    found = links(html)
    assert len(found) > 10
    for href, count in found:
        assert total(client, href) == int(count), href
    dept = [h for h, _ in found if "department=zhujian" in h]
    assert dept and total(client, dept[0]) == 1
    listed = client.get(dept[0].replace("&amp;", "&")).content.decode()
    assert "承办部门：住建局" in listed and "路灯不亮" in listed and "垃圾没人清" not in listed
    assert total(client, "/leader/requests/?overdue=1") == 0


def test_period_picker_and_drill_down(county: County) -> None:
    story(county)
    client = login(county, "leader1")
    last = client.get("/leader/?period=last_month").content.decode()
    assert kpi(last, "submitted") == "1"  # the October one
    week = client.get("/leader/?period=7d").content.decode()
    assert kpi(week, "submitted") == "0"
    town = client.get(f"/leader/?hall={county.township.code}").content.decode()
    fig = m.metrics(m.hall_scope(county.township), *NOV)
    assert kpi(town, "submitted") == str(fig.tally.counts["submitted"]) == "2"
    assert county.village.name in town and "西关村" not in town
    assert client.get("/leader/?period=year").status_code == 422
    assert client.get("/leader/?hall=nope").status_code == 404


@pytest.mark.parametrize(
    ("username", "status"),
    [("leader1", 200), ("dispatcher1", 200), ("duty1", 200), ("admin", 200),
     ("liaison1", 403), ("manager1", 403), ("dept1", 403), ("resident1", 403)],
)  # fmt: skip
def test_scope(county: County, username: str, status: int) -> None:
    client = login(county, username)
    for url in ("/leader/", "/leader/wall/", "/leader/rankings/", "/leader/requests/"):
        assert client.get(url).status_code == status, url
    assert Client().get("/leader/").status_code == 302


def test_a_township_leader_sees_only_the_township(county: County) -> None:
    story(county)
    Membership.objects.create(user=county["liaison2"], role=Role.LEADER, hall=county.township)
    client = login(county, "liaison2")
    html = client.get("/leader/").content.decode()
    assert "东关镇诉求概览" in html and kpi(html, "submitted") == "2"
    assert client.get(f"/leader/?hall={county.county.code}").status_code == 403
    assert client.get(f"/leader/?hall={county.township2.code}").status_code == 403
    assert client.get(f"/leader/requests/?hall={county.township2.code}").status_code == 403
    assert total(client, "/leader/requests/") == 3  # October's too: the list has no period
    ranks = client.get("/leader/rankings/?month=2026-11").content.decode()
    assert "村（社区）排名" in ranks and "部门排名" not in ranks
    assert 'data-code="130500001001"' in ranks
    other = f"/leader/report/?month=2026-11&format=xlsx&hall={county.township2.code}"
    assert client.get(other).status_code == 403


@pytest.mark.parametrize(
    "query",
    ["status=nope", "department=nope", "category=nope", "since=yesterday", "hour=24", "hour=x"],
)
def test_bad_list_filters_are_a_clear_422(county: County, query: str) -> None:
    res = login(county, "leader1").get(f"/leader/requests/?{query}")
    assert res.status_code == 422


def test_wall_and_its_live_part(county: County) -> None:
    story(county)
    client = login(county, "leader1")
    page = client.get("/leader/wall/").content.decode()
    assert "data-wall" in page and 'data-refresh="60"' in page and "echarts.min.js" in page
    part = client.get("/leader/wall/?part=1").content.decode()
    assert "<html" not in part and 'id="w-submitted">3<' in part
    A.do_submit(actor=county["resident1"], hall=county.village, text="新的诉求", now=NOW)
    assert 'id="w-submitted">4<' in client.get("/leader/wall/?part=1").content.decode()


def test_figures_json(county: County) -> None:
    story(county)
    body: dict[str, Any] = login(county, "leader1").get("/leader/figures/").json()
    assert body["counts"]["submitted"] == 3 and body["now"]["overdue"] == 0
    assert login(county, "liaison1").get("/leader/figures/").status_code == 403


def test_rankings_page_and_report(county: County) -> None:
    story(county)
    client = login(county, "leader1")
    html = client.get("/leader/rankings/?month=2026-11").content.decode()
    assert "部门排名" in html and "乡镇排名" in html and "红榜" in html and "黑榜" in html
    assert 'data-code="zhujian"' in html and 'data-code="130500001"' in html
    assert client.get("/leader/rankings/?month=11/2026").status_code == 422
    xlsx = client.get("/leader/report/?month=2026-11&format=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('.xlsx"')
    assert xlsx.content[:2] == b"PK"  # a zip: the workbook
    pdf = client.get("/leader/report/?month=2026-11&format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert client.get("/leader/report/?month=2026-11&format=doc").status_code == 422


def test_submit_page_does_not_load_echarts(county: County) -> None:
    assert "echarts" not in Client().get(f"/h/{county.village.code}/").content.decode()


def test_dashboard_in_english(county: County) -> None:
    story(county)
    client = login(county, "leader1")
    client.post("/i18n/setlang/", {"language": "en", "next": "/leader/"})
    html = client.get("/leader/").content.decode()
    assert "测试县 at a glance" in html and "Resolution rate" in html and "诉求总数" not in html
    assert "Not dispatched" in html


def test_state_counts_and_overdue_now(county: County) -> None:
    story(county)
    Request.objects.filter(text="污水外溢").update(overdue=True)  # as the deadline sweep sets it
    client = login(county, "leader1")
    html = client.get("/leader/").content.decode()
    states = dict(re.findall(r'<li><a href="([^"]+)">[^<]+ <b>(\d+)</b></a></li>', html))
    assert sum(int(n) for n in states.values()) == 4  # every request is unfinished
    for href, n in states.items():
        assert total(client, href) == int(n), href
    assert kpi(html, "overdue") == "1"
    assert total(client, "/leader/requests/?overdue=1") == 1
    town = client.get(f"/leader/?hall={county.township.code}").content.decode()
    assert kpi(town, "overdue") == "0"  # the overdue one is in 西关镇


def test_rankings_and_the_report_default_to_the_last_whole_month(county: County) -> None:
    """On the 1st of December the month to judge is November, not the day-old December."""
    client = login(county, "leader1")
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)):
        html = client.get("/leader/rankings/").content.decode()
        report = client.get("/leader/report/?format=xlsx")
    assert "考核排名 2026-11" in html
    assert 'href="?hall=130500&month=2026-12"' in html  # the current month, one step on
    assert "2026-11" in report["Content-Disposition"]

"""GET /api/v1/stats, /stats/rankings and /stats/notice: shape, scope checks, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.orgs.models import Membership, Role
from yishiting.requests import actions as A
from yishiting.stats.rollups import tz
from yishiting.testing import County

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=tz())
NOV = {"since": "2026-11-01", "until": "2026-12-01"}


def get(county: County, username: str, path: str = "", **params: Any) -> Any:
    _, key = ApiToken.issue(county[username])
    return Client().get(f"/api/v1/stats{path}", params, HTTP_AUTHORIZATION=f"Token {key}")


def story(c: County) -> None:
    """Two requests in 东关村, one dispatched to 住建局 and claimed, one in 西关村."""
    r = A.do_submit(actor=c["resident1"], hall=c.village, text="路灯不亮", now=T0)
    A.do_acknowledge(r, actor=c["liaison1"], now=T0 + timedelta(minutes=2))
    A.do_escalate(r, actor=c["liaison1"], now=T0 + timedelta(minutes=3))
    A.do_acknowledge(r, actor=c["manager1"], now=T0 + timedelta(minutes=4))
    A.do_escalate(r, actor=c["manager1"], now=T0 + timedelta(minutes=5))
    A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", now=T0 + timedelta(minutes=6))
    A.do_claim(r, actor=c["dept1"], now=T0 + timedelta(minutes=20))
    A.do_submit(actor=c["resident2"], hall=c.village3, text="污水外溢", now=T0 + timedelta(hours=1))


def test_county_figures(county: County) -> None:
    story(county)
    res = get(county, "leader1", scope="county", **NOV)
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["scope"] == "county"
    # the second one still waits for its first answer: its clock has not ended yet
    assert body["rates"]["response"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert body["rates"]["satisfaction"] == {
        "value": None, "numerator": 0.0, "denominator": 0, "weight": 1.0
    }  # fmt: skip
    assert body["appeals_approved"] == 0
    assert body["counts"]["submitted"] == 2
    townships = {v["code"]: v["count"] for v in body["volumes"]["by_township"]}
    assert townships == {"130500001": 1, "130500002": 1}
    depts = {v["name"]: v["count"] for v in body["volumes"]["by_department"]}
    assert depts == {"住建局": 1, "未派单": 1}
    assert body["volumes"]["by_hour"][9] == 1 and body["volumes"]["by_hour"][10] == 1
    assert body["volumes"]["by_day"] == {"2026-11-02": 2}
    assert body["first_response_time"]["count"] == 1


@pytest.mark.parametrize(
    ("username", "scope", "status"),
    [
        ("leader1", "department:zhujian", 200),
        ("dispatcher1", "hall:130500002", 200),
        ("duty1", "category:streetlight", 200),
        ("admin", "county", 200),
        ("manager1", "hall:130500001", 200),
        ("manager1", "hall:130500001001", 200),
        ("manager1", "hall:130500002", 403),
        ("manager1", "county", 403),
        ("dept1", "department:zhujian", 200),
        ("dept1", "department:gongdian", 403),
        ("dept1", "county", 403),
        ("liaison1", "hall:130500001001", 403),
        ("resident1", "county", 403),
    ],
)
def test_scope_is_checked(county: County, username: str, scope: str, status: int) -> None:
    res = get(county, username, scope=scope, **NOV)
    assert res.status_code == status, res.content
    if status == 403:
        assert res.json()["error"]["code"] == "forbidden"


def test_a_township_leader_sees_the_township(county: County) -> None:
    Membership.objects.create(user=county["liaison2"], role=Role.LEADER, hall=county.township)
    assert get(county, "liaison2", scope="hall:130500001", **NOV).status_code == 200
    assert get(county, "liaison2", scope="county", **NOV).status_code == 403


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"scope": "planet:x"}, 422, "invalid"),
        ({"scope": "hall:nope"}, 404, "not_found"),
        ({"scope": "department:nope"}, 404, "not_found"),
        ({"since": "yesterday"}, 422, "invalid"),
        ({"since": "2026-11-01T10:00:00+08:00"}, 422, "invalid"),
        ({"since": "2026-11-01T00:00:00"}, 422, "invalid"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, 422, "invalid"),
    ],
)
def test_bad_input_is_a_clear_error(
    county: County, params: dict[str, str], status: int, code: str
) -> None:
    res = get(county, "leader1", **params)
    assert res.status_code == status, res.content
    assert res.json()["error"]["code"] == code


def test_aware_midnights_in_any_zone_are_accepted(county: County) -> None:
    story(county)
    res = get(county, "leader1", since="2026-10-31T16:00:00Z", until="2026-12-01T00:00:00+08:00")
    assert res.status_code == 200, res.content
    assert res.json()["counts"]["submitted"] == 2


def test_rankings_and_notice(county: County) -> None:
    story(county)
    res = get(county, "leader1", "/rankings", month="2026-11")
    assert res.status_code == 200, res.content
    body = res.json()
    codes = [e["code"] for e in body["departments"]["entries"]]
    assert sorted(codes) == ["gongdian", "zhujian"]
    assert body["halls"]["red"][:1] and set(body["halls"]["red"]) <= {"130500001", "130500002"}
    notice = get(county, "leader1", "/notice", month="2026-11")
    assert notice.status_code == 200, notice.content
    assert set(notice.json()["cases"]) == {"overdue", "supervision_missed", "upheld"}
    assert get(county, "leader1", "/rankings", month="11/2026").status_code == 422
    assert get(county, "dept1", "/rankings", month="2026-11").status_code == 403


def test_schema_is_in_openapi(county: County) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/stats" in spec["paths"]
    assert "StatsOut" in spec["components"]["schemas"]
    assert "weight" in spec["components"]["schemas"]["SatisfactionOut"]["properties"]

"""`GET /api/v1/stats` and the monthly rankings and notice: the §5 figures over HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from ninja import Router, Schema

from yishiting.api.schemas import ErrorOut
from yishiting.core.errors import ForbiddenError, InvalidError
from yishiting.orgs.models import Category, Department, Hall, HallKind, Role
from yishiting.orgs.scope import Actor
from yishiting.stats import metrics as m
from yishiting.stats import rankings as r
from yishiting.stats.rollups import local_day

router = Router(tags=["stats"])
ERRORS: dict[int, Any] = {c: ErrorOut for c in (401, 403, 404, 422)}
COUNTY_ROLES = (Role.LEADER, Role.DISPATCHER, Role.DUTY)


class RateOut(Schema):
    value: float | None
    numerator: float
    denominator: int


class SatisfactionOut(RateOut):
    weight: float


class RatesOut(Schema):
    response: RateOut
    on_time: RateOut
    resolution: RateOut
    satisfaction: SatisfactionOut
    rebound: RateOut


class TimeOut(Schema):
    count: int
    median_seconds: int | None
    p90_seconds: int | None


class VolumeOut(Schema):
    code: str
    name: str
    count: int


class VolumesOut(Schema):
    by_hall: list[VolumeOut]
    by_township: list[VolumeOut]
    by_department: list[VolumeOut]
    by_category: list[VolumeOut]
    by_hour: list[int]
    by_day: dict[str, int]


class StatsOut(Schema):
    """The §5 figures of a scope over [since, until)."""

    scope: str
    since: datetime
    until: datetime
    rates: RatesOut
    appeals_approved: int
    counts: dict[str, int]
    first_response_time: TimeOut
    resolution_time: TimeOut
    volumes: VolumesOut


class RankRateOut(Schema):
    value: float | None
    numerator: float
    denominator: int


class EntryOut(Schema):
    kind: str
    code: str
    name: str
    score: float | None
    rank: int | None
    previous_score: float | None
    previous_rank: int | None
    trend: float | None
    submitted: int
    rates: dict[str, RankRateOut]
    breaches: int
    supervision_missed: int
    returns_upheld: int


class RankingOut(Schema):
    entries: list[EntryOut]
    red: list[str]
    black: list[str]


class RankingsOut(Schema):
    month: str
    scope: str
    departments: RankingOut
    halls: RankingOut


class NoticeRowOut(Schema):
    code: str
    name: str
    breaches: int
    supervision_missed: int
    returns_upheld: int


class CaseOut(Schema):
    request: int
    number: str
    title: str
    hall: str
    department: str
    at: str
    clocks: str


class NoticeOut(Schema):
    month: str
    scope: str
    departments: list[NoticeRowOut]
    halls: list[NoticeRowOut]
    cases: dict[str, list[CaseOut]]


# --- scope and period -------------------------------------------------------------------------


def home_county(who: Actor) -> Hall:
    """The county a caller works in (an administrator's: the first county)."""
    for mship in who.memberships:
        if mship.hall is not None:
            return Hall.objects.get(code=mship.hall.county_code)
        if mship.department is not None:
            return mship.department.county
    county = Hall.objects.filter(kind=HallKind.COUNTY).order_by("code").first()
    if county is None or not who.is_admin:
        raise ForbiddenError("statistics are for county, township and department staff")
    return county


def may_see(who: Actor, scope: m.Scope) -> bool:
    """Leaders, dispatchers and duty officers of the county (and admins) see every scope in
    it; a manager or leader of a hall sees that hall's subtree; a department officer their
    department."""
    if who.is_admin:
        return True
    for mship in who.memberships:
        hall = mship.hall
        if hall is not None and hall.county_code == scope.county:
            county_wide = mship.role in (Role.DISPATCHER, Role.DUTY) or (
                mship.role == Role.LEADER and hall.kind == HallKind.COUNTY
            )
            if county_wide:
                return True
            if (
                scope.kind in ("hall", "county")
                and scope.hall is not None
                and mship.role in (Role.MANAGER, Role.LEADER)
                and hall.contains(scope.hall)
            ):
                return True
        if (
            scope.kind == "department"
            and mship.role == Role.DEPARTMENT
            and scope.department is not None
            and mship.department_id == scope.department.pk
        ):
            return True
    return False


def _scope(who: Actor, text: str | None) -> m.Scope:
    scope = m.parse_scope(text or "county", home_county(who))
    if not may_see(who, scope):
        raise ForbiddenError(f"you may not see the statistics of {scope.text}")
    return scope


def _bound(value: str | None, name: str, default: date) -> datetime:
    """A day (YYYY-MM-DD, local) or an aware ISO time at a local midnight."""
    if not value:
        return m.midnight(default)
    day = parse_date(value) if len(value) == 10 else None
    if day is not None:
        return m.midnight(day)
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidError(f"{name}: a date (2026-10-01) or a time with a time zone")
    return parsed


def _period(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    today = local_day(timezone.now())
    start = _bound(since, "since", today.replace(day=1))
    end = _bound(until, "until", today + timedelta(days=1))
    m.check_period(start, end)
    return start, end


# --- output -----------------------------------------------------------------------------------


def _named(volumes: dict[str, int], names: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    out = []
    for key, count in volumes.items():
        code, name = names.get(key, (key, key))
        out.append({"code": code, "name": name, "count": count})
    return sorted(out, key=lambda v: (-v["count"], v["code"]))


def stats_out(mt: m.Metrics) -> dict[str, Any]:
    """A Metrics as the API's JSON: breakdowns named by code and name."""
    fig = mt.figures()
    vol = fig["volumes"]
    halls = {h.code: (h.code, h.name) for h in Hall.objects.filter(
        code__in=[*vol["by_hall"], *vol["by_township"]]
    )}  # fmt: skip
    none = ("", "未派单")
    depts = {str(d.pk): (d.code, d.name) for d in Department.objects.all()} | {"0": none}
    cats = {str(c.pk): (c.code, c.name) for c in Category.objects.all()} | {"0": ("", "未分类")}
    fig["volumes"] = {
        "by_hall": _named(vol["by_hall"], halls),
        "by_township": _named(vol["by_township"], halls),
        "by_department": _named(vol["by_department"], depts),
        "by_category": _named(vol["by_category"], cats),
        "by_hour": vol["by_hour"],
        "by_day": vol["by_day"],
    }
    return fig


def _who(request: HttpRequest) -> Actor:
    return Actor.of(request.user)  # type: ignore[arg-type]


@router.get("", response={200: StatsOut, **ERRORS})
def stats(
    request: HttpRequest,
    scope: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """The §5 metrics of `scope` (county, hall:CODE, department:CODE, category:CODE) over
    [since, until): dates or aware times at local midnights; default this month so far."""
    who = _who(request)
    sc = _scope(who, scope)
    start, end = _period(since, until)
    return stats_out(m.metrics(sc, start, end))


def _month_scope(request: HttpRequest, scope: str | None) -> m.Scope:
    sc = _scope(_who(request), scope)
    if sc.kind not in ("county", "hall"):
        raise InvalidError("scope: county or hall:CODE")
    return sc


@router.get("/rankings", response={200: RankingsOut, **ERRORS})
def rankings(request: HttpRequest, month: str, scope: str | None = None) -> dict[str, Any]:
    """考核排名 of a month: departments and the halls one level down, red and black lists,
    trend against the previous month."""
    sc = _month_scope(request, scope)
    ranks = r.rankings(sc, r.parse_month(month))
    return {
        "month": month,
        "scope": sc.text,
        "departments": ranks["departments"].as_dict(),
        "halls": ranks["halls"].as_dict(),
    }


@router.get("/notice", response={200: NoticeOut, **ERRORS})
def notice(request: HttpRequest, month: str, scope: str | None = None) -> dict[str, Any]:
    """通报 of a month: missed clocks, missed supervision orders, upheld returns."""
    sc = _month_scope(request, scope)
    return r.notice(sc, r.parse_month(month))

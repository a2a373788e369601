"""The leader's pages: the dashboard (county or township at a glance), the wall screen (大屏),
the monthly rankings with the report download, and the filtered list behind every number.

Every figure comes from `yishiting.stats.metrics` (one definition); the pages only name,
arrange and link them. Scope: a leader sees their hall's subtree; dispatchers, duty officers
and administrators the county; anyone else is refused.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yishiting.core.errors import ActionError, ForbiddenError, InvalidError, NotFoundError
from yishiting.orgs.models import Category, Department, Hall, HallKind, Role
from yishiting.orgs.scope import Actor
from yishiting.requests.models import Request
from yishiting.requests.queries import visible_requests
from yishiting.requests.states import STATE_CHOICES, TERMINAL, State
from yishiting.stats import metrics as m
from yishiting.stats import rankings as r
from yishiting.stats import report
from yishiting.stats.api import stats_out
from yishiting.stats.rollups import local_day
from yishiting.web.views.common import actor_of, error_response, rows

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WALL_REFRESH_SECONDS = 60


# --- scope ------------------------------------------------------------------------------------


def root_hall(who: Actor) -> Hall | None:
    """The widest hall whose figures this person may see, or None: the county for
    dispatchers, duty officers, county leaders and administrators; a leader's own hall."""
    best: Hall | None = None
    for mship in who.memberships:
        hall = mship.hall
        if hall is None:
            continue
        if mship.role in (Role.DISPATCHER, Role.DUTY, Role.LEADER):
            top = hall if mship.role == Role.LEADER else Hall.objects.get(code=hall.county_code)
            if top.kind == HallKind.ASSIGNMENT:
                top = Hall.objects.get(code=hall.county_code)
            if best is None or len(top.path) < len(best.path):
                best = top
    if best is None and who.is_admin:
        best = Hall.objects.filter(kind=HallKind.COUNTY).order_by("code").first()
    return best


def scope_hall(who: Actor, code: str | None) -> tuple[Hall, Hall]:
    """(root, current): the person's root hall and the drilled-down hall `code` inside it."""
    root = root_hall(who)
    if root is None:
        raise ForbiddenError(_("此页面只对领导开放"))
    if not code:
        return root, root
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        raise NotFoundError(_("没有这个议事厅"))
    if who.is_admin and not root.contains(hall):
        # an administrator reads every county, not only the first one
        root = Hall.objects.filter(code=hall.county_code).first() or root
    if hall.kind == HallKind.ASSIGNMENT or not root.contains(hall):
        raise ForbiddenError(_("您不能查看这个议事厅的数据"))
    return root, hall


def breadcrumbs(root: Hall, hall: Hall) -> list[Hall]:
    """The halls from the root down to `hall`."""
    codes = hall.path.strip("/").split("/")
    start = codes.index(root.code)
    chain = {h.code: h for h in Hall.objects.filter(code__in=codes[start:])}
    return [chain[c] for c in codes[start:] if c in chain]


# --- period -----------------------------------------------------------------------------------


@dataclass
class Period:
    """A picked period: [first, end) local days."""

    key: str
    first: date
    end: date

    @property
    def since(self) -> datetime:
        """Local midnight of the first day."""
        return m.midnight(self.first)

    @property
    def until(self) -> datetime:
        """Local midnight after the last day."""
        return m.midnight(self.end)

    @property
    def last(self) -> date:
        """The last day inside the period."""
        return self.end - timedelta(days=1)

    @property
    def query(self) -> dict[str, str]:
        """The list filter selecting the requests submitted in the period."""
        return {"since": self.first.isoformat(), "until": self.end.isoformat()}


def period_of(key: str | None, today: date | None = None) -> Period:
    """This month so far (default), last month, or the last 7 days (today included)."""
    today = today or local_day(timezone.now())
    key = key or "month"
    if key == "month":
        return Period(key, today.replace(day=1), today + timedelta(days=1))
    if key == "last_month":
        first = r.previous_month(today)
        return Period(key, first, m.next_month(first))
    if key == "7d":
        return Period(key, today - timedelta(days=6), today + timedelta(days=1))
    raise InvalidError(_("时段只能是本月、上月或近7天"))


# --- the figures ------------------------------------------------------------------------------


UNFINISHED = [s.value for s in State if s not in TERMINAL]


def state_counts(hall: Hall) -> dict[str, int]:
    """Requests not yet finished (whenever submitted) in each state now, and `overdue` now,
    over the hall's subtree: a live count, not a period figure. Grouped by the database over
    the unfinished requests only (the status index; no join, whose plan would read every
    request of the county), then summed here for the halls inside."""
    inside = set(Hall.objects.filter(path__startswith=hall.path).values_list("pk", flat=True))
    grouped = (
        Request.objects.filter(status__in=UNFINISHED)
        .order_by()
        .values_list("status", "overdue", "origin_hall_id")  # this order: the status index
        .annotate(n=Count("pk"))
    )
    out: dict[str, int] = {"overdue": 0}
    for status, overdue, hall_id, n in grouped:
        if hall_id in inside:
            out[status] = out.get(status, 0) + n
            out["overdue"] += n if overdue else 0
    return out


def list_url(hall: Hall, **params: Any) -> str:
    """The list page of the requests behind a number."""
    query = {"hall": hall.code, **{k: v for k, v in params.items() if v not in (None, "")}}
    return "/leader/requests/?" + urlencode(query)


def _rate(rate: dict[str, Any]) -> dict[str, Any]:
    value = rate["value"]
    return {**rate, "percent": None if value is None else f"{value * 100:.1f}%"}


def _duration(seconds: int | None) -> str:
    """A bucket edge in seconds as minutes, hours or days (one decimal above an hour)."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        n: float = max(1, round(seconds / 60))
        return ngettext("%(n)s 分钟", "%(n)s 分钟", int(n)) % {"n": n}
    if seconds < 86400:
        n = round(seconds / 3600, 1)
        return ngettext("%(n)s 小时", "%(n)s 小时", 1 if n == 1 else 2) % {"n": f"{n:g}"}
    n = round(seconds / 86400, 1)
    return ngettext("%(n)s 天", "%(n)s 天", 1 if n == 1 else 2) % {"n": f"{n:g}"}


def _timing(t: dict[str, Any]) -> dict[str, Any]:
    return {**t, "median": _duration(t["median_seconds"]), "p90": _duration(t["p90_seconds"])}


def _point(name: str, value: int, url: str) -> dict[str, Any]:
    return {"name": name, "value": value, "url": url}


def dashboard_context(hall: Hall, root: Hall, period: Period) -> dict[str, Any]:
    """Everything the dashboard and the wall show, each number with its list link."""
    scope = m.hall_scope(hall)
    mt = m.metrics(scope, period.since, period.until)
    fig = stats_out(mt)
    pq = period.query
    vol = fig["volumes"]
    children = {
        h.code: h
        for h in Hall.objects.filter(parent=hall).exclude(kind=HallKind.ASSIGNMENT).order_by("code")
    }
    by_hall = {v["code"]: v["count"] for v in vol["by_hall"]}
    tree = [
        {
            "code": code,
            "name": h.name,
            "count": by_hall.get(code, 0),
            "url": list_url(h, **pq),
            "drill": "?" + urlencode({"hall": code, "period": period.key}),
            "leaf": h.kind == HallKind.VILLAGE,
        }
        for code, h in children.items()
    ]
    for v in vol["by_department"]:
        v["url"] = list_url(hall, department=v["code"] or "none", **pq)
        v["name"] = v["name"] if v["code"] else _("未派单")
    for v in vol["by_category"]:
        v["url"] = list_url(hall, category=v["code"] or "none", **pq)
        v["name"] = v["name"] if v["code"] else _("未分类")
    days = []
    day = period.first
    while day < period.end:
        n = vol["by_day"].get(day.isoformat(), 0)
        nxt = day + timedelta(days=1)
        url = list_url(hall, since=day.isoformat(), until=nxt.isoformat())
        days.append({"day": day.isoformat(), "count": n, "url": url})
        day = nxt
    hours = [
        {"hour": h, "count": n, "url": list_url(hall, hour=h, **pq)}
        for h, n in enumerate(vol["by_hour"])
    ]
    states = state_counts(hall)
    state_rows = [
        {"code": c, "label": label, "count": states.get(c, 0), "url": list_url(hall, status=c)}
        for c, label in STATE_CHOICES
        if c not in TERMINAL
    ]
    rates = fig["rates"]
    fr, rs = fig["first_response_time"], fig["resolution_time"]
    chart = {
        "days": [_point(d["day"], d["count"], d["url"]) for d in days],
        "hours": [_point(f"{h['hour']}", h["count"], h["url"]) for h in hours],
        "halls": [_point(t["name"], t["count"], t["url" if t["leaf"] else "drill"]) for t in tree],
        "departments": [_point(v["name"], v["count"], v["url"]) for v in vol["by_department"]],
        "categories": [_point(v["name"], v["count"], v["url"]) for v in vol["by_category"]],
        "states": [_point(s["label"], s["count"], s["url"]) for s in state_rows if s["count"]],
    }
    return {
        "hall": hall,
        "root": root,
        "crumbs": breadcrumbs(root, hall),
        "period": period,
        "periods": [("month", _("本月")), ("last_month", _("上月")), ("7d", _("近7天"))],
        "submitted": fig["counts"].get("submitted", 0),
        "submitted_url": list_url(hall, **pq),
        "overdue": states["overdue"],
        "overdue_url": list_url(hall, overdue=1),
        "states": state_rows,
        "response": _rate(rates["response"]),
        "resolution": _rate(rates["resolution"]),
        "satisfaction": _rate(rates["satisfaction"]),
        "weight": rates["satisfaction"]["weight"],
        "appeals_approved": fig["appeals_approved"],
        "first_response": _timing(fr),
        "resolution_time": _timing(rs),
        "tree": tree,
        "departments": vol["by_department"],
        "categories": vol["by_category"],
        "days": days,
        "hours": hours,
        "chart": chart,
        "metrics": mt,
    }


def _guard(request: HttpRequest) -> tuple[Actor, Hall, Hall, Period]:
    who = actor_of(request)
    assert who is not None
    root, hall = scope_hall(who, request.GET.get("hall"))
    return who, root, hall, period_of(request.GET.get("period"))


# --- pages ------------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The county (or township) at a glance, with ECharts charts and the numbers behind them."""
    try:
        who, root, hall, period = _guard(request)
    except ActionError as exc:
        return error_response(request, exc)
    ctx = dashboard_context(hall, root, period)
    recent = visible_requests(who).filter(origin_hall__path__startswith=hall.path)
    ctx["rows"] = rows(recent.order_by("-created_at", "-id"), who, limit=10)
    return render(request, "web/dashboard.html", ctx)


@login_required
def wall(request: HttpRequest) -> HttpResponse:
    """The wall screen (大屏); `?part=1` returns only its figures, for the live refresh."""
    try:
        _who, root, hall, period = _guard(request)
    except ActionError as exc:
        return error_response(request, exc)
    ctx = dashboard_context(hall, root, period)
    ctx["refresh"] = WALL_REFRESH_SECONDS
    ctx["now"] = timezone.localtime()
    name = "web/_wall_figures.html" if request.GET.get("part") else "web/wall.html"
    return render(request, name, ctx)


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures as JSON (what the charts draw)."""
    try:
        _who, _root, hall, period = _guard(request)
    except ActionError as exc:
        return JsonResponse({"error": {"message": exc.message}}, status=exc.status)
    mt = m.metrics(m.hall_scope(hall), period.since, period.until)
    return JsonResponse({**stats_out(mt), "now": state_counts(hall)})


def _month(request: HttpRequest) -> date:
    """The month asked for; by default the last whole one: rankings and the monthly report
    judge a month once it is over (the current one is a step away, with ›)."""
    text = request.GET.get("month")
    if not text:
        return r.previous_month(local_day(timezone.now()).replace(day=1))
    return r.parse_month(text)


def _ranking(ranking: r.Ranking) -> dict[str, Any]:
    """A ranking as table rows (rates as percentages) with its red and black lists."""
    out = []
    for e in ranking.entries:
        d = e.as_dict()
        d["percents"] = [_rate(d["rates"][k])["percent"] or "—" for k in r.WEIGHTS]
        out.append(d)
    return {
        "entries": out,
        "red": [e.as_dict() for e in ranking.red],
        "black": [e.as_dict() for e in ranking.black],
    }


@login_required
def rankings(request: HttpRequest) -> HttpResponse:
    """考核排名 of a month: departments and townships (or villages), red and black lists."""
    who = actor_of(request)
    assert who is not None
    try:
        root, hall = scope_hall(who, request.GET.get("hall"))
        month = _month(request)
    except ActionError as exc:
        return error_response(request, exc)
    scope = m.hall_scope(hall)
    ranks = r.rankings(scope, month)
    nxt = m.next_month(month)
    ctx = {
        "hall": hall,
        "root": root,
        "crumbs": breadcrumbs(root, hall),
        "month": month,
        "previous": r.previous_month(month),
        "next": nxt if nxt <= local_day(timezone.now()) else None,
        "departments": _ranking(ranks["departments"]),
        "halls": _ranking(ranks["halls"]),
        "weights": {k: f"{round(v * 100)}%" for k, v in r.WEIGHTS.items()},
        "report_query": urlencode({"hall": hall.code, "month": f"{month:%Y-%m}"}),
    }
    return render(request, "web/rankings.html", ctx)


@login_required
def report_file(request: HttpRequest) -> HttpResponse:
    """The monthly report of the picked hall as .xlsx or PDF (`?format=xlsx|pdf`)."""
    who = actor_of(request)
    assert who is not None
    try:
        _root, hall = scope_hall(who, request.GET.get("hall"))
        month = _month(request)
        kind = request.GET.get("format", "xlsx")
        if kind not in ("xlsx", "pdf"):
            raise InvalidError(_("格式只能是 xlsx 或 pdf"))
    except ActionError as exc:
        return error_response(request, exc)
    with tempfile.TemporaryDirectory(prefix="report-") as tmp:
        paths = report.generate(m.hall_scope(hall), month, Path(tmp))
        path = next(p for p in paths if p.suffix == f".{kind}")
        content = path.read_bytes()  # a few hundred KB: read, so the folder goes at once
    types = {"xlsx": XLSX_TYPE, "pdf": "application/pdf"}
    response = HttpResponse(content, content_type=types[kind])
    response["Content-Disposition"] = f'attachment; filename="{path.name}"'
    return response


# --- the list behind every number -------------------------------------------------------------


def _day(value: str, name: str) -> date:
    day = parse_date(value) if len(value) == 10 else None
    if day is None:
        raise InvalidError(_("%(name)s：日期格式为 2026-10-01") % {"name": name})
    return day


def filtered(
    qs: QuerySet[Request], hall: Hall, params: Any
) -> tuple[QuerySet[Request], dict[str, str]]:
    """Apply the list filters (as the figures count: by the hall the request was raised in,
    its department and category now, when it was submitted); returns the kept filters."""
    kept: dict[str, str] = {"hall": hall.code}
    qs = qs.filter(origin_hall__path__startswith=hall.path)
    status = params.get("status", "")
    if status:
        if status not in dict(STATE_CHOICES):
            raise InvalidError(_("没有这个状态"))
        qs = qs.filter(status=status)
        kept["status"] = status
    if params.get("overdue"):
        qs = qs.filter(overdue=True)
        kept["overdue"] = "1"
    dept = params.get("department", "")
    if dept == "none":
        qs = qs.filter(department__isnull=True)
        kept["department"] = dept
    elif dept:
        if not Department.objects.filter(code=dept).exists():
            raise InvalidError(_("没有这个部门"))
        qs = qs.filter(department__code=dept)
        kept["department"] = dept
    cat = params.get("category", "")
    if cat == "none":
        qs = qs.filter(category__isnull=True)
        kept["category"] = cat
    elif cat:
        if not Category.objects.filter(code=cat).exists():
            raise InvalidError(_("没有这个类别"))
        qs = qs.filter(category__code=cat)
        kept["category"] = cat
    for name, op in (("since", "gte"), ("until", "lt")):
        if params.get(name):
            day = _day(params[name], name)
            qs = qs.filter(**{f"created_at__{op}": m.midnight(day)})
            kept[name] = day.isoformat()
    hour = params.get("hour", "")
    if hour:
        if not hour.isdigit() or not 0 <= int(hour) < 24:
            raise InvalidError(_("小时应为 0 到 23"))
        qs = qs.filter(created_at__hour=int(hour))  # in TIME_ZONE, as the rollups
        kept["hour"] = hour
    return qs, kept


def chips(kept: dict[str, str]) -> list[str]:
    """The list's filters beyond state and overdue, in words."""
    out = []
    dept, cat = kept.get("department"), kept.get("category")
    if dept:
        found = Department.objects.filter(code=dept).first()
        out.append(_("承办部门") + "：" + (found.name if found else _("未派单")))
    if cat:
        kind = Category.objects.filter(code=cat).first()
        out.append(_("类别") + "：" + (kind.name if kind else _("未分类")))
    if "since" in kept:
        out.append(_("提交日期不早于 %(day)s") % {"day": kept["since"]})
    if "until" in kept:
        out.append(_("提交日期早于 %(day)s") % {"day": kept["until"]})
    if "hour" in kept:
        out.append(_("提交时段 %(h)s 时") % {"h": kept["hour"]})
    return out


@login_required
def requests_list(request: HttpRequest) -> HttpResponse:
    """The requests behind a dashboard number, filtered by hall, state, overdue, department,
    category, submission day and hour; newest first."""
    who = actor_of(request)
    assert who is not None
    try:
        _root, hall = scope_hall(who, request.GET.get("hall"))
        qs, kept = filtered(visible_requests(who), hall, request.GET)
    except ActionError as exc:
        return error_response(request, exc)
    qs = qs.order_by("-created_at", "-id")
    page = Paginator(qs.values_list("pk", flat=True), 30).get_page(request.GET.get("page"))
    items = rows(
        visible_requests(who).filter(pk__in=list(page.object_list)).order_by("-created_at", "-id"),
        who,
    )
    ctx = {
        "rows": items,
        "page": page,
        "hall": hall,
        "status": kept.get("status", ""),
        "states": STATE_CHOICES,
        "overdue": "overdue" in kept,
        "kept": kept,
        "query": urlencode(kept),
        "hidden": {k: v for k, v in kept.items() if k not in ("status", "overdue")},
        "chips": chips(kept),
    }
    return render(request, "web/leader.html", ctx)

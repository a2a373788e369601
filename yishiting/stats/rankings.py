"""Monthly rankings (考核排名) and the monthly notice (通报), from the rollups.

Score (docs/metrics.md): the weighted mean of the rates an entity has that month — 响应率 20%,
按时办结率 30%, 解决率 25%, 满意率 25%, weights renormalised over the rates with a
denominator — times 100, minus 2 points per missed supervision order and, for departments,
1 point per return upheld as wrong; never below 0. An entity with no rate that month is listed
unranked. The red list (红榜) is the top 5, the black list (黑榜) the bottom 5 of the rest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q

from yishiting.core.errors import InvalidError
from yishiting.orgs.models import Department, Hall, HallKind
from yishiting.stats import metrics as m
from yishiting.stats.rollups import tz

WEIGHTS = {"response": 0.20, "on_time": 0.30, "resolution": 0.25, "satisfaction": 0.25}
SUPERVISION_PENALTY = 2.0
UPHELD_RETURN_PENALTY = 1.0
LIST_SIZE = 5
CASES_LIMIT = 500


def parse_month(text: str) -> date:
    """`2026-10` -> 2026-10-01."""
    try:
        year, month = (int(p) for p in text.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidError("month: YYYY-MM, e.g. 2026-10") from None


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """A month's [since, until) as local midnights."""
    return m.midnight(month), m.midnight(m.next_month(month))


def previous_month(month: date) -> date:
    """The first day of the month before."""
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


@dataclass
class Entry:
    """One department or hall in a month's ranking."""

    kind: str  # department | hall
    code: str
    name: str
    metrics: m.Metrics
    score: float | None = None
    rank: int | None = None
    previous_score: float | None = None
    previous_rank: int | None = None

    @property
    def trend(self) -> float | None:
        """Score change against the previous month."""
        if self.score is None or self.previous_score is None:
            return None
        return round(self.score - self.previous_score, 2)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and the report."""
        mt = self.metrics
        c = mt.tally.counts
        return {
            "kind": self.kind,
            "code": self.code,
            "name": self.name,
            "score": self.score,
            "rank": self.rank,
            "previous_score": self.previous_score,
            "previous_rank": self.previous_rank,
            "trend": self.trend,
            "submitted": int(c["submitted"]),
            "rates": {
                "response": mt.response_rate.as_dict(),
                "on_time": mt.on_time_rate.as_dict(),
                "resolution": mt.resolution_rate.as_dict(),
                "satisfaction": mt.satisfaction_rate.as_dict(),
            },
            "breaches": int(c["breaches"]),
            "supervision_missed": int(c["supervision_missed"]),
            "returns_upheld": int(c["returns_upheld"]),
        }


def score(mt: m.Metrics, *, department: bool) -> float | None:
    """The composite score of the module docstring."""
    rates = {
        "response": mt.response_rate.value,
        "on_time": mt.on_time_rate.value,
        "resolution": mt.resolution_rate.value,
        "satisfaction": mt.satisfaction_rate.value,
    }
    have = {k: v for k, v in rates.items() if v is not None}
    if not have:
        return None
    base = 100 * sum(WEIGHTS[k] * v for k, v in have.items()) / sum(WEIGHTS[k] for k in have)
    c = mt.tally.counts
    base -= SUPERVISION_PENALTY * c["supervision_missed"]
    if department:
        base -= UPHELD_RETURN_PENALTY * c["returns_upheld"]
    return round(max(0.0, base), 2)


@dataclass
class Ranking:
    """A month's ranking of one kind of entity, with red and black lists."""

    entries: list[Entry] = field(default_factory=list)

    @property
    def red(self) -> list[Entry]:
        """The top five (红榜)."""
        return [e for e in self.entries if e.rank is not None][:LIST_SIZE]

    @property
    def black(self) -> list[Entry]:
        """The bottom five (黑榜), never overlapping the red list, worst first."""
        ranked = [e for e in self.entries if e.rank is not None][LIST_SIZE:]
        return list(reversed(ranked[-LIST_SIZE:]))

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and the report."""
        return {
            "entries": [e.as_dict() for e in self.entries],
            "red": [e.code for e in self.red],
            "black": [e.code for e in self.black],
        }


def _rank(entries: list[Entry]) -> None:
    """Order by score (ties share a rank, then by code); unranked last."""
    entries.sort(key=lambda e: (e.score is None, -(e.score or 0), e.code))
    rank = 0
    last: float | None = None
    for i, e in enumerate(entries, start=1):
        if e.score is None:
            break
        if e.score != last:
            rank, last = i, e.score
        e.rank = rank


def _entries(scope: m.Scope, month: date) -> tuple[list[Entry], list[Entry]]:
    """Departments (county scope only) and the child halls of the scope's hall, scored."""
    since, until = month_bounds(month)
    whole = m.metrics(scope, since, until)
    weight = whole.weight
    assert scope.hall is not None
    depts: list[Entry] = []
    if scope.kind == "county":
        for d in Department.objects.filter(county=scope.hall).order_by("code"):
            t = m.Tally(counts=whole.tally.dims.get(f"d:{d.pk}", Counter()))
            mt = m.Metrics(m.department_scope(d), since, until, weight, t)
            depts.append(Entry("department", d.code, d.name, mt, score(mt, department=True)))
    halls: list[Entry] = []
    children = Hall.objects.filter(parent=scope.hall).exclude(kind=HallKind.ASSIGNMENT)
    for h in children.order_by("code"):
        t = m.Tally(counts=whole.tally.dims.get(f"h:{h.code}", Counter()))
        mt = m.Metrics(m.hall_scope(h), since, until, weight, t)
        halls.append(Entry("hall", h.code, h.name, mt, score(mt, department=False)))
    return depts, halls


def rankings(scope: m.Scope, month: date) -> dict[str, Ranking]:
    """The month's rankings of departments (for a county) and of the halls one level down
    (townships for a county, villages and communities for a township), with trends."""
    if scope.kind not in ("county", "hall"):
        raise InvalidError("scope: rankings are per county or per hall")
    now_d, now_h = _entries(scope, month)
    before_d, before_h = _entries(scope, previous_month(month))
    out: dict[str, Ranking] = {}
    for name, current, previous in (("departments", now_d, before_d), ("halls", now_h, before_h)):
        _rank(current)
        _rank(previous)
        past = {e.code: e for e in previous}
        for e in current:
            if e.code in past:
                e.previous_score, e.previous_rank = past[e.code].score, past[e.code].rank
        out[name] = Ranking(current)
    return out


# --- the monthly notice -----------------------------------------------------------------------


def _cases(scope: m.Scope, month: date) -> dict[str, list[dict[str, Any]]]:
    """The requests behind the notice's counts: missed clocks, missed supervision orders,
    returns upheld as wrong (events of the month, by the scope's current requests)."""
    from yishiting.requests.models import Event

    since, until = month_bounds(month)
    events = (
        Event.objects.filter(request__in=m.scope_requests(scope).values("pk"))
        .filter(created_at__gte=since, created_at__lt=until)
        .filter(
            Q(verb="breach")
            | Q(verb="escalate", actor__isnull=True)
            | Q(verb="review_return", data__decision="uphold")
        )
        .select_related("request__origin_hall", "request__department")
        .order_by("created_at", "pk")
    )
    out: dict[str, list[dict[str, Any]]] = {"overdue": [], "supervision_missed": [], "upheld": []}
    for e in events[: CASES_LIMIT * 3]:
        r = e.request
        row = {
            "request": r.pk,
            "number": r.number,
            "title": r.title,
            "hall": r.origin_hall.name,
            "department": r.department.name if r.department else "",
            "at": e.created_at.astimezone(tz()).strftime("%Y-%m-%d %H:%M"),
            "clocks": ",".join((e.data or {}).get("clocks") or ["respond_by"])
            if e.verb != "review_return"
            else "",
        }
        if e.verb == "review_return":
            out["upheld"].append(row)
            continue
        out["overdue"].append(row)
        if "supervise_by" in ((e.data or {}).get("clocks") or ()):
            out["supervision_missed"].append(row)
    return {k: v[:CASES_LIMIT] for k, v in out.items()}


def notice(scope: m.Scope, month: date) -> dict[str, Any]:
    """The monthly notice (通报): per department and hall, missed clocks, missed supervision
    orders and returns upheld as wrong, with the cases behind them."""
    ranks = rankings(scope, month)

    def rows(entries: list[Entry]) -> list[dict[str, Any]]:
        out = []
        for e in entries:
            c = e.metrics.tally.counts
            if c["breaches"] or c["supervision_missed"] or c["returns_upheld"]:
                out.append(
                    {
                        "code": e.code,
                        "name": e.name,
                        "breaches": int(c["breaches"]),
                        "supervision_missed": int(c["supervision_missed"]),
                        "returns_upheld": int(c["returns_upheld"]),
                    }
                )
        return sorted(out, key=lambda r: (-r["supervision_missed"], -r["breaches"], r["code"]))

    return {
        "month": month.strftime("%Y-%m"),
        "scope": scope.text,
        "departments": rows(ranks["departments"].entries),
        "halls": rows(ranks["halls"].entries),
        "cases": _cases(scope, month),
    }

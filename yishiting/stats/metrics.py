"""The metrics of PRODUCT.md §5, defined once: pages, the API, rankings and reports read these.

`metrics(scope, since, until)` reads the rollups (a few thousand rows whatever the history);
`metrics_from_raw(scope, since, until)` counts the same figures straight from requests and
events, naively: the exactness test holds the two equal, the benchmark compares their speed.
docs/metrics.md says, for each figure, which timestamp puts a request or event in a period.

A request counts in a scope by the hall it was raised in (首接议事厅, with every hall above it),
its lead department and its category as they are now. Periods are [since, until) and start
and end at local midnights (the rollups are per local day and month).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from yishiting.core.errors import InvalidError, NotFoundError
from yishiting.orgs.models import Category, CountyRules, Department, Hall, HallKind
from yishiting.stats import buckets
from yishiting.stats.models import COUNTERS, Rollup
from yishiting.stats.rollups import DEFAULT_FIRST_RESPONSE, local_day, month_of, tz

RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
DONE = ("resolved", "closed")
NOT_ACCEPTED = ("rejected", "merged")


# --- scope and period -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a figure covers: a county, a hall's subtree, a department or a category."""

    kind: str  # county | hall | department | category
    key: str  # the rollup scope (models.Rollup)
    county: str  # the county's hall code
    label: str
    hall: Hall | None = None
    department: Department | None = None
    category: Category | None = None

    @property
    def text(self) -> str:
        """The scope as the API writes it."""
        if self.kind == "county":
            return "county"
        if self.kind == "hall":
            assert self.hall is not None
            return f"hall:{self.hall.code}"
        if self.kind == "department":
            assert self.department is not None
            return f"department:{self.department.code}"
        assert self.category is not None
        return f"category:{self.category.code}"


def county_scope(county: Hall) -> Scope:
    """The whole county."""
    return Scope("county", f"h:{county.code}", county.code, county.name, hall=county)


def hall_scope(hall: Hall) -> Scope:
    """A hall and everything below it."""
    if hall.kind == HallKind.COUNTY:
        return county_scope(hall)
    return Scope("hall", f"h:{hall.code}", hall.county_code, hall.name, hall=hall)


def department_scope(department: Department) -> Scope:
    """Requests whose lead department this is."""
    county = department.county.code
    return Scope("department", f"d:{department.pk}", county, department.name, department=department)


def category_scope(category: Category, county: str) -> Scope:
    """Requests of this category in a county."""
    return Scope("category", f"c:{county}:{category.pk}", county, category.name, category=category)


def parse_scope(text: str, county: Hall) -> Scope:
    """`county`, `hall:CODE` (also `township:CODE`), `department:CODE` or `category:CODE`;
    `county` is the county of the caller."""
    kind, _, code = (text or "county").partition(":")
    if kind == "county" and not code:
        return county_scope(county)
    if kind in ("hall", "township") and code:
        hall = Hall.objects.filter(code=code).first()
        if hall is None:
            raise NotFoundError(f"scope: no hall {code!r}")
        if hall.kind == HallKind.ASSIGNMENT:
            raise InvalidError("scope: the assignment hall has no requests of its own")
        return hall_scope(hall)
    if kind == "department" and code:
        dept = Department.objects.select_related("county").filter(code=code).first()
        if dept is None:
            raise NotFoundError(f"scope: no department {code!r}")
        return department_scope(dept)
    if kind == "category" and code:
        cat = Category.objects.filter(code=code).first()
        if cat is None:
            raise NotFoundError(f"scope: no category {code!r}")
        return category_scope(cat, county.code)
    raise InvalidError("scope: county, hall:CODE, department:CODE or category:CODE")


def midnight(day: date) -> datetime:
    """The local midnight starting a day."""
    return datetime.combine(day, time(0), tzinfo=tz())


def check_period(since: datetime, until: datetime) -> tuple[date, date]:
    """The local days [first, end) of a period; refuses naive or mid-day bounds."""
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise InvalidError(f"{name}: give a time zone")
        if value.astimezone(tz()).time() != time(0):
            raise InvalidError(f"{name}: periods start and end at a local midnight")
    first, end = local_day(since), local_day(until)
    if end <= first:
        raise InvalidError("until: must be after since")
    return first, end


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


# --- the figures ------------------------------------------------------------------------------


@dataclass
class Rate:
    """A rate with the counts it comes from."""

    numerator: Decimal | int
    denominator: int

    @property
    def value(self) -> float | None:
        """numerator / denominator to 4 places; None when there is nothing to divide by."""
        if not self.denominator:
            return None
        return round(float(Decimal(self.numerator) / self.denominator), 4)

    def as_dict(self) -> dict[str, Any]:
        """{value, numerator, denominator} for the API."""
        num = self.numerator
        return {
            "value": self.value,
            "numerator": float(num) if isinstance(num, Decimal) else num,
            "denominator": self.denominator,
        }


@dataclass
class Tally:
    """The counts behind every figure of a scope over a period."""

    counts: Counter[str] = field(default_factory=Counter)
    first_response: Counter[int] = field(default_factory=Counter)  # bucket -> requests
    resolution: Counter[int] = field(default_factory=Counter)
    by_day: Counter[date] = field(default_factory=Counter)  # submitted
    by_hour: Counter[int] = field(default_factory=Counter)  # submitted
    # Breakdown value ("h:CODE", "t:CODE", "d:ID", "c:ID") -> its counters.
    dims: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def volumes(self, prefix: str) -> dict[str, int]:
        """Submitted requests per breakdown value of one kind (`h`, `t`, `d`, `c`)."""
        out = {
            k.split(":", 1)[1]: c["submitted"]
            for k, c in self.dims.items()
            if k.startswith(prefix + ":") and c["submitted"]
        }
        return dict(sorted(out.items()))


@dataclass
class Metrics:
    """The §5 figures of one scope over one period."""

    scope: Scope
    since: datetime
    until: datetime
    weight: Decimal
    tally: Tally

    def _c(self, name: str) -> int:
        return int(self.tally.counts[name])

    @property
    def response_rate(self) -> Rate:
        """响应率: first responses in time / first-response clocks that ended."""
        return Rate(self._c("fr_on_time"), self._c("fr_ended"))

    @property
    def on_time_rate(self) -> Rate:
        """按时办结率: resolutions by the (extended) deadline / resolutions."""
        return Rate(self._c("resolves_on_time"), self._c("resolves"))

    @property
    def resolution_rate(self) -> Rate:
        """解决率: resolved and never reopened / accepted (approved appeals left out)."""
        return Rate(self._c("solved"), self._c("accepted"))

    @property
    def satisfaction_rate(self) -> Rate:
        """满意率: (满意 + weight × 基本满意) / rated (approved appeals left out)."""
        num = Decimal(self._c("satisfied")) + self.weight * self._c("basically_satisfied")
        return Rate(num, self._c("rated"))

    @property
    def rebound_rate(self) -> Rate:
        """反弹率: closings later reopened / closings."""
        return Rate(self._c("rebounds"), self._c("closures"))

    def times(self, which: str) -> dict[str, int | None]:
        """Median and p90 (bucket upper edges, seconds) and count of a time histogram."""
        hist = getattr(self.tally, which)
        return {
            "count": sum(hist.values()),
            "median_seconds": buckets.quantile(hist, 0.5),
            "p90_seconds": buckets.quantile(hist, 0.9),
        }

    def figures(self) -> dict[str, Any]:
        """Every figure as plain data (what the API returns and the exactness test compares)."""
        t = self.tally
        return {
            "scope": self.scope.text,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "rates": {
                "response": self.response_rate.as_dict(),
                "on_time": self.on_time_rate.as_dict(),
                "resolution": self.resolution_rate.as_dict(),
                "satisfaction": {**self.satisfaction_rate.as_dict(), "weight": float(self.weight)},
                "rebound": self.rebound_rate.as_dict(),
            },
            "appeals_approved": self._c("appeals_approved"),
            "counts": {c: self._c(c) for c in COUNTERS if c != "n"},
            "first_response_time": self.times("first_response"),
            "resolution_time": self.times("resolution"),
            "volumes": {
                "by_hall": t.volumes("h"),
                "by_township": t.volumes("t")
                if self.scope.kind in ("department", "category")
                else t.volumes("h")
                if self.scope.kind == "county"
                else {},
                "by_department": t.volumes("d"),
                "by_category": t.volumes("c"),
                "by_hour": [int(t.by_hour[h]) for h in range(24)],
                "by_day": {d.isoformat(): n for d, n in sorted(t.by_day.items()) if n},
            },
        }


def weight_of(county: str) -> Decimal:
    """The county's weight of 基本满意 in 满意率 (CountyRules, default 1)."""
    return Decimal(CountyRules.for_county(county).basic_satisfied_weight)


# --- from the rollups -------------------------------------------------------------------------


def tally(scope_key: str, first: date, end: date) -> Tally:
    """Sum the rollup rows of a scope over the local days [first, end): whole months from the
    month rows, the days around them from the day rows (summed by the database, per
    breakdown value), and the daily volumes from the day totals."""
    m0 = first if first.day == 1 else next_month(first)
    m1 = month_of(end)
    if m1 <= m0:
        m0 = m1 = end  # no whole month inside: days only
    mine = Rollup.objects.filter(scope=scope_key)
    parts = [
        mine.filter(grain="m", start__gte=m0, start__lt=m1),
        mine.filter(grain="d", start__gte=first, start__lt=m0),
        mine.filter(grain="d", start__gte=m1, start__lt=end),
    ]
    sums = {f"sum_{c}": Sum(c) for c in COUNTERS}
    grouped = [p.values("dim").annotate(**sums).values_list("dim", *sums) for p in parts]
    out = Tally()
    hist = {"F": out.first_response, "R": out.resolution}
    acc: dict[str, list[int]] = {}
    for dim, *values in grouped[0].union(*grouped[1:], all=True):
        have = acc.get(dim)
        acc[dim] = values if have is None else [a + b for a, b in zip(have, values, strict=True)]
    for dim, values in acc.items():
        kind, _, value = dim.partition(":")
        if dim == "":
            out.counts.update(dict(zip(COUNTERS, values, strict=True)))
        elif kind == "H":
            out.by_hour[int(value)] += values[0]  # submitted
        elif kind in hist:
            hist[kind][int(value)] += values[-1]  # n
        else:
            out.dims[dim].update(dict(zip(COUNTERS, values, strict=True)))
    days = mine.filter(dim="", grain="d", start__gte=first, start__lt=end)
    for start, submitted in days.values_list("start", "submitted"):
        out.by_day[start] += submitted
    _drop_zeros(out)
    return out


def _drop_zeros(t: Tally) -> None:
    counters: list[Counter[Any]] = [t.counts, t.first_response, t.resolution, t.by_day, t.by_hour]
    for c in [*counters, *t.dims.values()]:
        for k in [k for k, v in c.items() if not v]:
            del c[k]
    for k in [k for k, c in t.dims.items() if not c]:
        del t.dims[k]
    t.counts.pop("n", None)
    for c in t.dims.values():
        c.pop("n", None)


def metrics(scope: Scope, since: datetime, until: datetime) -> Metrics:
    """The figures of `scope` over [since, until), from the rollups."""
    first, end = check_period(since, until)
    return Metrics(scope, since, until, weight_of(scope.county), tally(scope.key, first, end))


# --- straight from requests and events (the check and the baseline) ---------------------------


def scope_requests(scope: Scope) -> Any:
    """The requests a scope covers (by the hall they were raised in, their department, their
    category), whenever made."""
    from yishiting.requests.models import Request

    qs = Request.objects.all()
    if scope.kind in ("county", "hall"):
        assert scope.hall is not None
        return qs.filter(origin_hall__path__startswith=scope.hall.path)
    if scope.kind == "department":
        return qs.filter(department=scope.department)
    return qs.filter(category=scope.category, origin_hall__path__startswith=f"/{scope.county}/")


def metrics_from_raw(scope: Scope, since: datetime, until: datetime) -> Metrics:
    """The same figures as `metrics`, counted from requests and events with no rollup."""
    from yishiting.requests.models import Event

    check_period(since, until)
    t = Tally()
    reqs = scope_requests(scope)
    made = reqs.filter(created_at__gte=since, created_at__lt=until)
    accepted = Q(appeal_approved=False) & ~Q(status__in=NOT_ACCEPTED)
    t.counts.update(
        made.aggregate(
            submitted=Count("pk"),
            rejected=Count("pk", filter=Q(status="rejected")),
            merged=Count("pk", filter=Q(status="merged")),
            appeals_approved=Count(
                "pk", filter=Q(appeal_approved=True) & ~Q(status__in=NOT_ACCEPTED)
            ),
            accepted=Count("pk", filter=accepted),
            solved=Count("pk", filter=accepted & Q(status__in=DONE, reopen_count=0)),
            rated=Count("pk", filter=accepted & ~Q(rating="")),
            satisfied=Count("pk", filter=accepted & Q(rating="satisfied")),
            basically_satisfied=Count("pk", filter=accepted & Q(rating="basically_satisfied")),
            dissatisfied=Count("pk", filter=accepted & Q(rating="dissatisfied")),
            unrated=Count("pk", filter=accepted & Q(status="closed", rating="")),
        )
    )
    # Volumes of the requests submitted in the period, by breakdown.
    path_len = len(scope.hall.path.strip("/").split("/")) if scope.hall else 1
    for created, path, dept, cat in made.values_list(
        "created_at", "origin_hall__path", "department_id", "category_id"
    ):
        t.by_day[local_day(created)] += 1
        t.by_hour[created.astimezone(tz()).hour] += 1
        codes = path.strip("/").split("/")
        if scope.hall is not None:
            if len(codes) > path_len:
                t.dims[f"h:{codes[path_len]}"]["submitted"] += 1
        else:
            t.dims[f"t:{codes[1] if len(codes) > 1 else codes[0]}"]["submitted"] += 1
        if scope.kind != "department":
            t.dims[f"d:{dept or 0}"]["submitted"] += 1
        if scope.kind != "category":
            t.dims[f"c:{cat or 0}"]["submitted"] += 1
    # Times: first response by when it came, resolution by when it was resolved.
    for created, answered in reqs.filter(
        first_responded_at__gte=since, first_responded_at__lt=until
    ).values_list("created_at", "first_responded_at"):
        t.first_response[buckets.bucket((answered - created).total_seconds())] += 1
    for created, resolved in reqs.filter(
        status__in=DONE, resolved_at__gte=since, resolved_at__lt=until
    ).values_list("created_at", "resolved_at"):
        t.resolution[buckets.bucket((resolved - created).total_seconds())] += 1

    events = Event.objects.filter(request__in=reqs.values("pk"))
    during = events.filter(created_at__gte=since, created_at__lt=until)
    # 响应率: the move out of 待响应 in the period; in time if a person made it by the deadline
    # recorded at submission.
    # (Subqueries, not lists of ids: a city's year is more ids than SQLite takes as variables.)
    moved = during.filter(from_status="submitted").exclude(to_status="submitted")
    first_moves = list(moved.values_list("request_id", "actor_id", "created_at"))
    deadlines = {}
    for rid, data, created in events.filter(
        verb="submit", request_id__in=moved.values("request_id")
    ).values_list("request_id", "data", "created_at"):
        recorded = (data or {}).get("respond_by")
        deadlines[rid] = (
            datetime.fromisoformat(recorded) if recorded else created + DEFAULT_FIRST_RESPONSE
        )
    t.counts["fr_ended"] += len(first_moves)
    t.counts["fr_on_time"] += sum(
        1 for rid, actor, at in first_moves if actor is not None and at <= deadlines[rid]
    )
    # 按时办结率: every resolve event, on time unless it says late.
    for data in during.filter(verb="resolve").values_list("data", flat=True):
        t.counts["resolves"] += 1
        t.counts["resolves_on_time"] += 0 if (data or {}).get("late") else 1
    # 反弹率: closings in the period, and which of them a reopen undid.
    closings = during.filter(to_status="closed").exclude(from_status="closed")
    closing_rows = list(closings.values_list("request_id", "seq"))
    t.counts["closures"] += len(closing_rows)
    if closing_rows:
        timeline: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for rid, seq, verb, frm in (
            events.filter(request_id__in=closings.values("request_id"))
            .filter(Q(to_status="closed") | Q(verb="reopen", from_status="closed"))
            .values_list("request_id", "seq", "verb", "from_status")
        ):
            if verb == "reopen" or frm != "closed":
                timeline[rid].append((seq, verb))
        wanted = set(closing_rows)
        for rid, moves in timeline.items():
            moves.sort()
            for (seq, verb), nxt in zip(moves, [*moves[1:], None], strict=True):
                if verb != "reopen" and nxt is not None and nxt[1] == "reopen":
                    t.counts["rebounds"] += (rid, seq) in wanted
    # 通报: missed clocks, missed supervision orders, returns upheld as wrong.
    for data in during.filter(verb="breach").values_list("data", flat=True):
        t.counts["breaches"] += 1
        t.counts["supervision_missed"] += "supervise_by" in ((data or {}).get("clocks") or ())
    t.counts["breaches"] += during.filter(verb="escalate", actor__isnull=True).count()
    t.counts["returns_upheld"] += during.filter(
        verb="review_return", data__decision="uphold"
    ).count()
    _drop_zeros(t)
    return Metrics(scope, since, until, weight_of(scope.county), t)

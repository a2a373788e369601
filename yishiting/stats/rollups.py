"""The rollups: kept in step with every event, inside its transaction, and rebuilt from raw rows.

Each request contributes a fixed set of counts to the rollups, a pure function of its row and
its events (`contributions`). An event changes a request, so it changes that set: the rollups
get the difference (new minus old), as one upsert that adds to the counters in the database
(`INSERT … ON CONFLICT … DO UPDATE SET c = c + excluded.c`, the same SQL on SQLite and
PostgreSQL): two writers never lose an increment. The rebuild sums the same function over
every request, so a rebuilt table equals the one the events kept.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from yishiting.stats import buckets
from yishiting.stats.models import COUNTERS, Rollup

# (day, kind, name): kind "c" = a counter (total and breakdowns), "H" = submitted in an hour
# of the day (name = the hour), "F" / "R" = a first-response / resolution time bucket.
Key = tuple[date, str, str]
RowKey = tuple[str, str, date, str]

# The first response is due 5 minutes after submission when a submit event predates the
# deadline being recorded in it (§4 default).
DEFAULT_FIRST_RESPONSE = timedelta(minutes=5)
# The verbs and moves the facts read; the rebuild fetches only these events.
FACT_VERBS = ("submit", "resolve", "breach", "escalate", "review_return", "reopen")


def tz() -> ZoneInfo:
    """The county's time zone: days and hours of the rollups are local."""
    return ZoneInfo(settings.TIME_ZONE)


def local_day(t: datetime) -> date:
    """The local calendar day of an instant."""
    return t.astimezone(tz()).date()


@dataclass(frozen=True)
class Row:
    """The request fields the rollups read, and where the request counts (its attribution)."""

    created_at: datetime
    status: str
    appeal_approved: bool
    reopen_count: int
    rating: str
    first_responded_at: datetime | None
    resolved_at: datetime | None
    path: tuple[str, ...]
    department_id: int | None
    category_id: int | None

    @classmethod
    def of(cls, req: Any) -> Row:
        """From a Request instance."""
        return cls(
            created_at=req.created_at,
            status=str(req.status),
            appeal_approved=bool(req.appeal_approved),
            reopen_count=int(req.reopen_count),
            rating=str(req.rating or ""),
            first_responded_at=req.first_responded_at,
            resolved_at=req.resolved_at,
            path=tuple(req.origin_hall.path.strip("/").split("/")),
            department_id=req.department_id,
            category_id=req.category_id,
        )

    @property
    def attribution(self) -> tuple[tuple[str, ...], int | None, int | None]:
        """Hall path, department and category: which rollup rows the request counts in."""
        return (self.path, self.department_id, self.category_id)


# An event as the facts read it: (seq, verb, actor_id, from_status, to_status, data, created_at).
EventTuple = tuple[int, str, int | None, str, str, Mapping[str, Any], datetime]
EVENT_FIELDS = ("seq", "verb", "actor_id", "from_status", "to_status", "data", "created_at")


@dataclass
class Facts:
    """What a request's events say that its row does not."""

    fr_end: datetime | None = None  # the first move out of 待响应: the first-response clock ends
    fr_on_time: bool = False  # ... by a person, by the deadline recorded at submission
    resolves: list[tuple[datetime, bool]] = field(default_factory=list)  # (when, on time)
    closures: list[list[Any]] = field(default_factory=list)  # [when, reopened afterwards]
    breaches: list[datetime] = field(default_factory=list)  # missed clocks (breach, auto-escalate)
    supervision_missed: list[datetime] = field(default_factory=list)
    returns_upheld: list[datetime] = field(default_factory=list)


def facts(events: Iterable[EventTuple]) -> Facts:
    """The facts of a request from its events in order (only FACT_VERBS and moves into
    `closed` or out of `submitted` matter; others may be left out)."""
    f = Facts()
    deadline: datetime | None = None
    for _seq, verb, actor_id, from_status, to_status, data, at in events:
        data = data or {}
        if verb == "submit":
            recorded = data.get("respond_by")
            deadline = parse_datetime(recorded) if recorded else at + DEFAULT_FIRST_RESPONSE
            continue
        if from_status == "submitted" and to_status != "submitted" and f.fr_end is None:
            f.fr_end = at
            f.fr_on_time = actor_id is not None and deadline is not None and at <= deadline
        if verb == "resolve":
            f.resolves.append((at, not data.get("late", False)))
        if to_status == "closed" and from_status != "closed":
            f.closures.append([at, False])
        if verb == "reopen" and from_status == "closed" and f.closures:
            f.closures[-1][1] = True
        if verb == "breach":
            f.breaches.append(at)
            if "supervise_by" in (data.get("clocks") or ()):
                f.supervision_missed.append(at)
        if verb == "escalate" and actor_id is None:
            f.breaches.append(at)
        if verb == "review_return" and data.get("decision") == "uphold":
            f.returns_upheld.append(at)
    return f


def contributions(row: Row, f: Facts) -> Counter[Key]:
    """Everything one request counts in the rollups: docs/metrics.md says why each is here."""
    out: Counter[Key] = Counter()
    local = row.created_at.astimezone(tz())
    made = local.date()

    def count(day: date, name: str) -> None:
        out[(day, "c", name)] += 1

    count(made, "submitted")
    out[(made, "H", str(local.hour))] += 1
    done = row.status in ("resolved", "closed")
    if row.status == "rejected":
        count(made, "rejected")
    elif row.status == "merged":
        count(made, "merged")
    elif row.appeal_approved:
        count(made, "appeals_approved")
    else:
        count(made, "accepted")
        if done and row.reopen_count == 0:
            count(made, "solved")
        if row.rating:
            count(made, "rated")
            count(made, row.rating)
        elif row.status == "closed":
            count(made, "unrated")
    if row.first_responded_at is not None:
        took = (row.first_responded_at - row.created_at).total_seconds()
        out[(local_day(row.first_responded_at), "F", str(buckets.bucket(took)))] += 1
    if done and row.resolved_at is not None:
        took = (row.resolved_at - row.created_at).total_seconds()
        out[(local_day(row.resolved_at), "R", str(buckets.bucket(took)))] += 1
    if f.fr_end is not None:
        count(local_day(f.fr_end), "fr_ended")
        if f.fr_on_time:
            count(local_day(f.fr_end), "fr_on_time")
    for at, on_time in f.resolves:
        count(local_day(at), "resolves")
        if on_time:
            count(local_day(at), "resolves_on_time")
    for at, reopened in f.closures:
        count(local_day(at), "closures")
        if reopened:
            count(local_day(at), "rebounds")
    for name in ("breaches", "supervision_missed", "returns_upheld"):
        for at in getattr(f, name):
            count(local_day(at), name)
    return out


# --- from contributions to rollup rows --------------------------------------------------------


def scopes(
    path: tuple[str, ...], department_id: int | None, category_id: int | None
) -> list[tuple[str, list[str]]]:
    """The scopes a request counts in, each with the breakdown values it adds to."""
    county = path[0]
    township = path[1] if len(path) > 1 else county
    dept = f"d:{department_id or 0}"
    cat = f"c:{category_id or 0}"
    out: list[tuple[str, list[str]]] = []
    for i, code in enumerate(path):
        dims = ["", dept, cat]
        if i + 1 < len(path):
            dims.append(f"h:{path[i + 1]}")
        out.append((f"h:{code}", dims))
    if department_id:
        out.append((f"d:{department_id}", ["", f"t:{township}", cat]))
    if category_id:
        out.append((f"c:{county}:{category_id}", ["", f"t:{township}", dept]))
    return out


def month_of(day: date) -> date:
    """The first day of a day's month."""
    return day.replace(day=1)


# A rollup row's counters, in COUNTERS order.
Vector = list[int]
INDEX = {name: i for i, name in enumerate(COUNTERS)}
SUBMITTED, N = INDEX["submitted"], INDEX["n"]


def expand(
    attribution: tuple[tuple[str, ...], int | None, int | None],
    counts: Mapping[Key, int],
    into: dict[RowKey, Vector],
    grains: tuple[str, ...] = ("d", "m"),
) -> None:
    """Add a request's contributions (or their difference) to rollup rows."""
    targets = scopes(*attribution)
    width = len(COUNTERS)
    for (day, kind, name), value in counts.items():
        if not value:
            continue
        for grain in grains:
            start = day if grain == "d" else month_of(day)
            for scope, dims in targets:
                if kind == "c":
                    keys = [(scope, grain, start, dim) for dim in dims]
                    column = INDEX[name]
                elif kind == "H":
                    keys, column = [(scope, grain, start, f"H:{name}")], SUBMITTED
                else:
                    keys, column = [(scope, grain, start, f"{kind}:{name}")], N
                for key in keys:
                    vec = into.get(key)
                    if vec is None:
                        vec = into[key] = [0] * width
                    vec[column] += value


def add(rows: Mapping[RowKey, Vector]) -> None:
    """Add the counts to the rollup rows in one statement, creating missing rows."""
    items = sorted((k, v) for k, v in rows.items() if any(v))
    if not items:
        return
    table = connection.ops.quote_name(Rollup._meta.db_table)
    q = connection.ops.quote_name
    cols = ["scope", "grain", "start", "dim", *COUNTERS]
    placeholders = "(" + ", ".join(["%s"] * len(cols)) + ")"
    updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in COUNTERS)
    # SQLite allows at most 32766 parameters in a statement; stay well below.
    per = max(1, 30000 // len(cols))
    with connection.cursor() as cursor:
        for i in range(0, len(items), per):
            chunk = items[i : i + per]
            params: list[Any] = []
            for (scope, grain, start, dim), vec in chunk:
                params += [scope, grain, connection.ops.adapt_datefield_value(start), dim, *vec]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) "
                f"VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT ({', '.join(q(c) for c in cols[:4])}) DO UPDATE SET {updates}",
                params,
            )


def _event_tuples(request_id: int) -> list[EventTuple]:
    from yishiting.requests.models import Event

    return list(
        Event.objects.filter(request_id=request_id).order_by("seq").values_list(*EVENT_FIELDS)  # type: ignore[arg-type]
    )


_deferred: ContextVar[bool] = ContextVar("stats_rollups_deferred", default=False)


@contextmanager
def deferred() -> Iterator[None]:
    """Keep no rollups for the events inside this block, then `rebuild` them all at once when it
    ends without an error (seeding a demo's year: one pass instead of one upsert per event)."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)
    rebuild()


def on_event(event: Any, before: Any, after: Any) -> None:
    """Move the rollups by what `event` changed in its request (called from effects.after_event,
    inside the event's transaction)."""
    if _deferred.get():
        return
    events = _event_tuples(after.pk)
    new_row = Row.of(after)
    new = contributions(new_row, facts(events))
    rows: dict[RowKey, Vector] = {}
    if before is None:
        expand(new_row.attribution, new, rows)
    else:
        old_row = Row.of(before)
        old = contributions(old_row, facts(e for e in events if e[0] < event.seq))
        if old_row.attribution == new_row.attribution:
            diff = Counter(new)
            diff.subtract(old)
            expand(new_row.attribution, diff, rows)
        else:
            expand(old_row.attribution, {k: -v for k, v in old.items()}, rows)
            expand(new_row.attribution, new, rows)
    add(rows)


# --- the rebuild ------------------------------------------------------------------------------

ROW_FIELDS = (
    "pk",
    "created_at",
    "status",
    "appeal_approved",
    "reopen_count",
    "rating",
    "first_responded_at",
    "resolved_at",
    "origin_hall__path",
    "department_id",
    "category_id",
)


def _request_chunks(chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    from yishiting.requests.models import Request

    last = 0
    while True:
        rows = list(
            Request.objects.filter(pk__gt=last).order_by("pk").values_list(*ROW_FIELDS)[:chunk]  # type: ignore[arg-type]
        )
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def fine_cells(chunk: int = 5000) -> dict[tuple[Any, ...], Counter[Key]]:
    """Every request's contributions, summed per attribution (the rebuild's first pass)."""
    from yishiting.requests.models import Event

    cells: dict[tuple[Any, ...], Counter[Key]] = defaultdict(Counter)
    wanted = Q(verb__in=FACT_VERBS) | Q(to_status="closed") | Q(from_status="submitted")
    paths: dict[str, tuple[str, ...]] = {}
    for rows in _request_chunks(chunk):
        first, last = rows[0][0], rows[-1][0]
        by_request: dict[int, list[EventTuple]] = defaultdict(list)
        for e in (
            Event.objects.filter(wanted, request_id__gte=first, request_id__lte=last)
            .order_by("request_id", "seq")
            .values_list("request_id", *EVENT_FIELDS)
        ):
            by_request[e[0]].append(e[1:])  # type: ignore[arg-type]
        for pk, created, status, appeal, reopens, rating, fr, res, path, dept, cat in rows:
            hall_path = paths.get(path)
            if hall_path is None:
                hall_path = paths[path] = tuple(path.strip("/").split("/"))
            row = Row(created, status, appeal, reopens, rating, fr, res, hall_path, dept, cat)
            cells[row.attribution].update(contributions(row, facts(by_request.get(pk, ()))))
    return cells


def rebuild(chunk: int = 5000) -> int:
    """Recompute every rollup row from requests and events; returns the number of rows.

    One transaction: writers wait until it is done (SQLite's write lock is taken at BEGIN; on
    PostgreSQL the request and event tables are locked against writes), so no event falls
    between the read and the new rows. Day rows are summed in Python; month rows are their
    sums, by SQL."""
    from yishiting.requests.models import Event, Request

    table = connection.ops.quote_name(Rollup._meta.db_table)
    q = connection.ops.quote_name
    cols = ["scope", "grain", "start", "dim", *COUNTERS]
    insert = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) "
        f"VALUES ({', '.join(['%s'] * len(cols))})"
    )
    month = (
        "date_trunc('month', start)::date"
        if connection.vendor == "postgresql"
        else "strftime('%%Y-%%m-01', start)"
    )
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (Request, Event):
                cursor.execute(
                    f"LOCK TABLE {connection.ops.quote_name(model._meta.db_table)} IN SHARE MODE"
                )
        rows: dict[RowKey, Vector] = {}
        for attribution, counts in fine_cells(chunk).items():
            expand(attribution, counts, rows, grains=("d",))
        cursor.execute(f"DELETE FROM {table}")
        batch: list[tuple[Any, ...]] = []
        adapt = connection.ops.adapt_datefield_value
        days: dict[date, Any] = {}
        # In key order, so that a scope's rows sit together on disk (reads are sequential).
        for (scope, grain, start, dim), vec in sorted(rows.items()):
            if not any(vec):
                continue
            day = days.get(start)
            if day is None:
                day = days[start] = adapt(start)
            batch.append((scope, grain, day, dim, *vec))
            if len(batch) >= 5000:
                cursor.executemany(insert, batch)
                batch = []
        cursor.executemany(insert, batch)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) "
            f"SELECT scope, 'm', {month}, dim, {sums} FROM {table} WHERE grain = 'd' "
            f"GROUP BY scope, {month}, dim",
            [],  # parameters, even none, make both drivers read %% as %
        )
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cursor.fetchone()[0])

"""The rollups: kept in step with every event (its change worked out before its transaction,
added inside it), and rebuilt from raw rows.

Each request contributes a fixed set of counts to the rollups, a pure function of its row and
its events (`contributions`). An event changes a request, so it changes that set: the rollups
get the difference (new minus old), as one upsert that adds to the counters in the database
(`INSERT … ON CONFLICT … DO UPDATE SET c = c + excluded.c`, the same SQL on SQLite and
PostgreSQL): two writers never lose an increment. The rebuild sums the same function over
every request, so a rebuilt table equals the one the events kept.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from yishiting.core.prepared import Prepared
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
    return _local_day(t, tz())


# Per zone, the UTC offset of each UTC hour seen (False: the offset changes within it).
_OFFSETS: dict[ZoneInfo, dict[tuple[int, int, int, int], timedelta | bool]] = {}
_LAST_MICROSECOND = timedelta(minutes=59, seconds=59, microseconds=999999)


def _local_day(t: datetime, zone: ZoneInfo) -> date:
    """`t.astimezone(zone).date()`, with the zone's offset looked up once per UTC hour (the
    rebuild puts millions of instants into days)."""
    if t.tzinfo is not UTC:
        return t.astimezone(zone).date()
    offsets = _OFFSETS.get(zone)
    if offsets is None or len(offsets) > 500_000:
        offsets = _OFFSETS[zone] = {}
    hour = (t.year, t.month, t.day, t.hour)
    offset = offsets.get(hour)
    if offset is None:
        start = t.replace(minute=0, second=0, microsecond=0)
        first = start.astimezone(zone).utcoffset()
        last = (start + _LAST_MICROSECOND).astimezone(zone).utcoffset()
        offset = offsets[hour] = first if first == last and first is not None else False
    if offset is False:
        return t.astimezone(zone).date()
    return (t + offset).date()  # type: ignore[operator]


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
    zone = tz()
    local = row.created_at.astimezone(zone)
    made = local.date()

    def local_day(t: datetime) -> date:
        return _local_day(t, zone)

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


def _slot(kind: str, name: str, dims: list[str]) -> tuple[list[str], int]:
    """The breakdown values and the column a contribution key adds to in a scope with `dims`:
    a counter goes to every breakdown, an hour or a duration bucket to its own row."""
    if kind == "c":
        return dims, INDEX[name]
    if kind == "H":
        return [f"H:{name}"], SUBMITTED
    return [f"{kind}:{name}"], N


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
                keys, column = _slot(kind, name, dims)
                for dim in keys:
                    key = (scope, grain, start, dim)
                    vec = into.get(key)
                    if vec is None:
                        vec = into[key] = [0] * width
                    vec[column] += value


def expand_cells(
    cells: Mapping[tuple[tuple[str, ...], int | None, int | None], Mapping[Key, int]],
    into: dict[RowKey, Vector],
) -> None:
    """The day rows of `expand` for every cell (an attribution and its summed counts), summed.

    The same rows with far fewer additions: a cell raised in a hall three or more levels down
    adds itself only to its own hall's rows and to its parent's breakdown by child hall; what
    it adds to every scope above is the same as a cell raised in the parent hall, so the cells
    are summed into their parents' and expanded a level up (`scopes` of the parent path gives
    every remaining target: the test holds this equal to `expand` cell by cell)."""
    width = len(COUNTERS)
    get = into.get
    level = cells
    while level:
        up: dict[tuple[tuple[str, ...], int | None, int | None], dict[Key, int]] = {}
        for attribution, counts in level.items():
            path = attribution[0]
            if len(path) < 3:
                expand(attribution, counts, into, grains=("d",))
                continue
            targets = scopes(*attribution)
            leaf, leaf_dims = targets[len(path) - 1]
            parent, parent_dims = targets[len(path) - 2]
            child = parent_dims[-1]  # the parent's breakdown value for this hall
            for (day, kind, name), value in counts.items():
                if not value:
                    continue
                dims, column = _slot(kind, name, leaf_dims)
                rows = [(leaf, "d", day, dim) for dim in dims]
                if kind == "c":
                    rows.append((parent, "d", day, child))
                for row in rows:
                    vec = get(row)
                    if vec is None:
                        vec = into[row] = [0] * width
                    vec[column] += value
            parent_cell = up.setdefault((path[:-1], attribution[1], attribution[2]), {})
            held = parent_cell.get
            for key, value in counts.items():
                parent_cell[key] = held(key, 0) + value
        level = up


# On PostgreSQL an event adds to one of this many rows of each key (models.Rollup.shard).
SHARDS = 8
KEY_COLUMNS = ("scope", "grain", "start", "dim", "shard")


def _conflict(table: str) -> str:
    """`ON CONFLICT (the row key) DO UPDATE`: add to the counters."""
    q = connection.ops.quote_name
    updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in COUNTERS)
    return f" ON CONFLICT ({', '.join(q(c) for c in KEY_COLUMNS)}) DO UPDATE SET {updates}"


def shard() -> int:
    """The shard an event's rows go to on PostgreSQL: any, so that writers at the same moment
    mostly lock different rows."""
    return secrets.randbelow(SHARDS)


def add(rows: Mapping[RowKey, Vector]) -> None:
    """Add the counts to the rollup rows in one statement, creating missing rows.

    On PostgreSQL all the rows go to one shard (`shard()`), and as one array per column
    (`unnest`): the statement's text is then the same for every event, so psycopg parses it
    once per process, where a VALUES list of ~40 rows × 25 columns was parsed anew each time
    (a tenth of a loaded server's CPU, docs/proof.md). Every event of a county adds to the
    county's rows: in one shard they were a row lock that every writer queued on until the
    holder committed (docs/proof.md, session 15). One shard per event and the rows in key
    order: two events lock the same rows in the same order, so they cannot deadlock."""
    items = sorted((k, v) for k, v in rows.items() if any(v))
    if not items:
        return
    table = connection.ops.quote_name(Rollup._meta.db_table)
    q = connection.ops.quote_name
    cols = ["scope", "grain", "start", "dim", *COUNTERS]
    tail = _conflict(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = ["varchar", "varchar", "date", "varchar"] + ["integer"] * len(COUNTERS)
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            columns: list[list[Any]] = [[] for _ in cols]
            for (scope, grain, start, dim), vec in items:
                for column, value in zip(columns, (scope, grain, start, dim, *vec), strict=True):
                    column.append(value)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}, {q('shard')}) "
                f"SELECT *, %s FROM unnest({arrays}){tail}",
                [shard(), *columns],  # the shard's placeholder comes first
            )
            return
        head = f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) "
        placeholders = "(" + ", ".join(["%s"] * len(cols)) + ")"
        # SQLite allows at most 32766 parameters in a statement; stay well below.
        per = max(1, 30000 // len(cols))
        for i in range(0, len(items), per):
            chunk = items[i : i + per]
            params: list[Any] = []
            for (scope, grain, start, dim), vec in chunk:
                params += [scope, grain, connection.ops.adapt_datefield_value(start), dim, *vec]
            cursor.execute(
                f"{head}VALUES {', '.join([placeholders] * len(chunk))}{tail}",
                params,
            )


def _request_events(request_id: int) -> QuerySet[Any, EventTuple]:
    from yishiting.requests.models import Event

    return Event.objects.filter(request_id=request_id).order_by("seq").values_list(*EVENT_FIELDS)  # type: ignore[arg-type,return-value]


# Every event reads its request's events this way: compiled once (core.prepared).
_events_of_request = Prepared(_request_events, int)


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


def changes(event: Any, before: Any, after: Any) -> dict[RowKey, Vector]:
    """What `event` moves in the rollups, from the request as it was (`before`, None for a
    submission) and as the event leaves it (`after`). Worked out before the event's
    transaction from the request's events so far, and `add`ed inside it (effects.write); the
    verb's version guard refuses the write if another event came in between."""
    if _deferred.get():
        return {}
    new_event = tuple(getattr(event, f) for f in EVENT_FIELDS)
    events = [] if before is None else [e for e in _events_of_request(after.pk) if e[0] < event.seq]
    new_row = Row.of(after)
    new = contributions(new_row, facts([*events, new_event]))  # type: ignore[list-item]
    rows: dict[RowKey, Vector] = {}
    if before is None:
        expand(new_row.attribution, new, rows)
    else:
        old_row = Row.of(before)
        old = contributions(old_row, facts(events))
        if old_row.attribution == new_row.attribution:
            diff = Counter(new)
            diff.subtract(old)
            expand(new_row.attribution, diff, rows)
        else:
            expand(old_row.attribution, {k: -v for k, v in old.items()}, rows)
            expand(new_row.attribution, new, rows)
    return rows


# --- the rebuild ------------------------------------------------------------------------------

# The verbs whose `data` the facts read: the rebuild decodes no other event's JSON.
DATA_VERBS = frozenset({"submit", "resolve", "breach", "review_return"})
# The rebuild sums contributions per attribution in memory and writes them out (adding to
# rows already written) whenever this many (attribution, key) counts are held.
FLUSH_AT = 4_000_000
NO_DATA: Mapping[str, Any] = {}
# Short `data` texts repeat ({"late": false}…): decoded once each. The facts only read them.
_DECODED: dict[str, Any] = {}


def _decoded(text: str) -> Any:
    data = _DECODED.get(text)
    if data is None:
        data = json.loads(text)
        if len(text) <= 64 and len(_DECODED) < 10_000:
            _DECODED[text] = data
    return data


def _instant(value: Any) -> Any:
    """A timestamp from a raw cursor, aware: SQLite's are UTC, naive (Django's converter parses
    them) or text; PostgreSQL's aware already."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _column(model: Any, name: str) -> str:
    """A field's quoted column name, for the rebuild's raw SQL."""
    column = getattr(model._meta.get_field(name), "column", None)
    if not isinstance(column, str):
        raise ValueError(f"{model.__name__}.{name} has no column")
    return connection.ops.quote_name(column)


def _request_chunks(chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """Every request's (pk, created_at, …, origin hall path, department, category), by pk."""
    from yishiting.orgs.models import Hall
    from yishiting.requests.models import Request

    names = ("id", "created_at", "status", "appeal_approved", "reopen_count", "rating")
    cols = ", ".join(
        f"r.{_column(Request, name)}" for name in (*names, "first_responded_at", "resolved_at")
    )
    dept, cat = (_column(Request, name) for name in ("department", "category"))
    q = connection.ops.quote_name
    sql = (
        f"SELECT {cols}, h.{_column(Hall, 'path')}, r.{dept}, r.{cat} "
        f"FROM {q(Request._meta.db_table)} r JOIN {q(Hall._meta.db_table)} h "
        f"ON h.{_column(Hall, 'id')} = r.{_column(Request, 'origin_hall')} "
        f"WHERE r.{_column(Request, 'id')} > %s ORDER BY r.{_column(Request, 'id')} LIMIT %s"
    )
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, chunk])
            rows = cursor.fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield rows


def _events_of(first: int, last: int) -> dict[int, list[EventTuple]]:
    """The events the facts read of requests first..last, by request, in order."""
    from yishiting.requests.models import Event

    cols = ", ".join(_column(Event, name) for name in ("request", *EVENT_FIELDS))
    request_id, seq = _column(Event, "request"), _column(Event, "seq")
    verb, to_status, from_status = (
        _column(Event, name) for name in ("verb", "to_status", "from_status")
    )
    sql = (
        f"SELECT {cols} FROM {connection.ops.quote_name(Event._meta.db_table)} "
        f"WHERE {request_id} >= %s AND {request_id} <= %s "
        f"AND ({verb} IN ({', '.join(['%s'] * len(FACT_VERBS))}) "
        f"OR {to_status} = %s OR {from_status} = %s) "
        f"ORDER BY {request_id}, {seq}"
    )
    out: dict[int, list[EventTuple]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [first, last, *FACT_VERBS, "closed", "submitted"])
        current, events = -1, []
        for pk, seq, verb, actor, frm, to, data, at in cursor.fetchall():
            if pk != current:
                current, events = pk, out.setdefault(pk, [])
            if verb in DATA_VERBS:
                data = _decoded(data) if isinstance(data, str) else (data or NO_DATA)
            else:
                data = NO_DATA
            events.append((seq, verb, actor, frm, to, data, _instant(at)))
    return out


Cells = dict[tuple[tuple[str, ...], int | None, int | None], dict[Key, int]]


def fine_cells(chunk: int = 5000, flush_at: int = FLUSH_AT) -> Iterator[Cells]:
    """Every request's contributions, summed per attribution (the rebuild's first pass), in
    batches of at most about `flush_at` counts (a batch's cells add to the ones before)."""
    cells: Cells = {}
    held = 0
    paths: dict[str, tuple[str, ...]] = {}
    for rows in _request_chunks(chunk):
        by_request = _events_of(rows[0][0], rows[-1][0])
        for pk, created, status, appeal, reopens, rating, fr, res, path, dept, cat in rows:
            hall_path = paths.get(path)
            if hall_path is None:
                hall_path = paths[path] = tuple(path.strip("/").split("/"))
            row = Row(
                _instant(created),
                status,
                bool(appeal),
                reopens,
                rating or "",
                _instant(fr),
                _instant(res),
                hall_path,
                dept,
                cat,
            )
            counts = contributions(row, facts(by_request.get(pk, ())))
            cell = cells.get(row.attribution)
            if cell is None:
                cell = cells[row.attribution] = {}
            before = len(cell)
            get = cell.get
            for key, value in counts.items():
                cell[key] = get(key, 0) + value
            held += len(cell) - before
        if held >= flush_at:
            yield cells
            cells, held = {}, 0
    if cells:
        yield cells


def _write(cursor: Any, rows: Mapping[RowKey, Vector]) -> None:
    """Add day rows to the table (creating missing ones), in key order: a scope's rows sit
    together on disk, so reads are sequential."""
    table = connection.ops.quote_name(Rollup._meta.db_table)
    q = connection.ops.quote_name
    cols = ["scope", "grain", "start", "dim", *COUNTERS]
    sql = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) "
        f"VALUES ({', '.join(['%s'] * len(cols))}){_conflict(table)}"
    )
    adapt = connection.ops.adapt_datefield_value
    days: dict[date, Any] = {}
    batch: list[tuple[Any, ...]] = []
    for key in sorted(rows):
        vec = rows[key]
        if not any(vec):
            continue
        scope, grain, start, dim = key
        day = days.get(start)
        if day is None:
            day = days[start] = adapt(start)
        batch.append((scope, grain, day, dim, *vec))
        if len(batch) >= 10000:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)


def rebuild(chunk: int = 5000, flush_at: int = FLUSH_AT) -> int:
    """Recompute every rollup row from requests and events; returns the number of rows.

    One transaction: writers wait until it is done (SQLite's write lock is taken at BEGIN; on
    PostgreSQL the request and event tables are locked against writes), so no event falls
    between the read and the new rows. Day rows are summed in Python (`fine_cells`, then
    `expand_cells`), in batches that add to the table (`add`) so that memory stays bounded;
    month rows are their sums, by SQL."""
    from yishiting.requests.models import Event, Request

    table = connection.ops.quote_name(Rollup._meta.db_table)
    q = connection.ops.quote_name
    cols = ["scope", "grain", "start", "dim", *COUNTERS]
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
        cursor.execute(f"DELETE FROM {table}")
        for cells in fine_cells(chunk, flush_at):
            rows: dict[RowKey, Vector] = {}
            expand_cells(cells, rows)
            del cells
            _write(cursor, rows)
            del rows
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) "
            f"SELECT scope, 'm', {month}, dim, {sums} FROM {table} WHERE grain = 'd' "
            f"GROUP BY scope, {month}, dim",
            [],  # parameters, even none, make both drivers read %% as %
        )
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cursor.fetchone()[0])

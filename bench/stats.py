"""Statistics at scale: the dashboard query from the rollups against the naive count from raw
rows, for histories of growing size.

For each size N a throw-away SQLite database gets a Longyao-sized county (12 townships,
300 village halls, 12 departments, 15 categories) and N requests spread over one year, each
with the events of a realistic life (6.2 on average: answered in time or escalated on breach,
handled in the village or dispatched to a department, resolved on time or late, rated,
unrated, reopened, an appeal approved, a supervision order missed…), inserted in bulk — not
through the actions, which would take hours; with no journal, no fsync and no foreign-key
checks, and the secondary indexes re-created (same names, same definitions) after the fill —
and then the rollups built by the rebuild path (`stats.rollups.rebuild`, what `yishiting
stats-rebuild` runs). Reported per size, in the same run: generation and rebuild time (wall
and this process's CPU), database size, rollup rows, and for the county and for one township
over the year (whole months) and over 45 days (day rows): the rollup query
(`metrics(...).figures()`, median of repeats), the naive `metrics_from_raw`, and the ratio.

Sizes: BENCH_STATS_SIZES (default the issue's 10000,100000,1000000,10000000: about 80 minutes
on two free cores and 16 GB of temporary disk; 10000,100000 takes two minutes). From 1M on the
naive count is timed once and for the year only; above BENCH_STATS_NAIVE_UP_TO (default
10000000) it is not run. BENCH_STATS_JOBS (default 2) runs the largest size in its own process
beside the others; 1 runs them one after another. Each size's result is printed on stderr as a
JSON line when it is done; `python -m bench.stats table LOG` prints the tables from those
lines. BENCH_STATS_TMP: where the temporary databases go (13 GB at 10M). "scope rows" is
every rollup row the scope has, of which a query reads the ones in its period.
docs/metrics.md ("Scale") has the figures.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Local midnight (+08:00), as a naive UTC time: the generator works in naive UTC, which is how
# Django stores a time in SQLite (`str(t)`), so no time is converted while filling.
YEAR_START = (datetime(2025, 1, 1, tzinfo=UTC) - timedelta(hours=8)).replace(tzinfo=None)
TOWNSHIPS = 12
VILLAGES = 25
DEPARTMENTS = 12
CATEGORIES = 15


def _setup(path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _org() -> dict[str, Any]:
    from yishiting.orgs.models import Category, Department, Hall, HallKind, User

    county = Hall.objects.create(code="130522", name="隆尧县", kind=HallKind.COUNTY)
    Hall.objects.create(code="130522900", name="交办厅", kind=HallKind.ASSIGNMENT, parent=county)
    villages: list[tuple[int, int]] = []  # (village id, township id)
    townships = []
    for t in range(TOWNSHIPS):
        town = Hall.objects.create(
            code=f"130522{t + 1:03d}", name=f"第{t + 1}镇", kind=HallKind.TOWNSHIP, parent=county
        )
        townships.append(town)
        rows = [
            Hall(
                code=f"{town.code}{v + 1:03d}",
                name=f"{town.name}{v + 1}村",
                kind=HallKind.VILLAGE,
                parent=town,
                path=f"{town.path}{town.code}{v + 1:03d}/",
            )
            for v in range(VILLAGES)
        ]
        for h in Hall.objects.bulk_create(rows):
            villages.append((h.pk, town.pk))
    depts = [
        Department.objects.create(code=f"d{i:02d}", name=f"部门{i}", county=county).pk
        for i in range(DEPARTMENTS)
    ]
    cats = [
        Category.objects.create(code=f"c{i:02d}", name=f"类别{i}", department_id=depts[i % 12]).pk
        for i in range(CATEGORIES)
    ]
    user = User.objects.create(username="bench")
    assignment = Hall.objects.get(code="130522900").pk
    return {
        "county": county,
        "township": townships[0],
        "villages": villages,
        "assignment": assignment,
        "depts": depts,
        "cats": cats,
        "user": user.pk,
    }


# The events' `data`, as the JSON text the bench writes (one dumps per kind, not per event).
NO_DATA = "{}"
AUTO = json.dumps({"auto": True})
TO_DEPARTMENT = json.dumps({"department": "x"})
UNTIL = json.dumps({"until": "x"})
SUPERVISION_MISSED = json.dumps({"clocks": ["supervise_by"]})
RESOLUTION_MISSED = json.dumps({"clocks": ["resolve_by"]})
LATE = {True: json.dumps({"late": True}), False: json.dumps({"late": False})}
RATED = {r: json.dumps({"rating": r}) for r in ("satisfied", "basically_satisfied")}
DISSATISFIED = json.dumps({"rating": "dissatisfied"})
APPROVED = json.dumps({"decision": "approve_appeal"})
REBOUND = json.dumps({"rebound": True})
UNRATED = json.dumps({"unrated": True})


# The request columns a life sets (with follow_code, updated_at and version, set by _fill).
LIFE_FIELDS = frozenset(
    {
        "origin_hall_id",
        "hall_id",
        "category_id",
        "department_id",
        "created_at",
        "first_responded_at",
        "resolved_at",
        "closed_at",
        "rating",
        "appeal_approved",
        "reopen_count",
        "status",
        "merged_into_id",
        "follow_code",
        "updated_at",
        "version",
    }
)


def _life(rng: random.Random, t0: datetime, org: dict[str, Any], pk: int) -> tuple[dict, list]:
    """One request's final row fields and its events (verb, actor, from, to, data, at)."""
    user = org["user"]
    village, township = org["villages"][rng.randrange(len(org["villages"]))]
    cat_i = rng.randrange(CATEGORIES)
    row: dict[str, Any] = {
        "origin_hall_id": village,
        "hall_id": village,
        "category_id": org["cats"][cat_i],
        "department_id": None,
        "created_at": t0,
        "first_responded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "rating": "",
        "appeal_approved": False,
        "reopen_count": 0,
        "status": "submitted",
    }
    respond_by = t0 + timedelta(minutes=5)
    submit = f'{{"hall": "x", "respond_by": "{respond_by.isoformat()}+00:00"}}'
    ev: list[tuple[str, Any, str, str, str, datetime]] = [
        ("submit", user, "", "submitted", submit, t0)
    ]
    t = t0
    state = "submitted"

    def go(verb: str, actor: Any, to: str, dt: timedelta, data: str = NO_DATA) -> None:
        nonlocal t, state
        t = t + dt
        ev.append((verb, actor, state, to, data, t))
        state = to

    roll = rng.random()
    if roll < 0.1:  # nobody answered in 5 minutes: escalated by the sweep
        go(
            "escalate",
            None,
            "escalated",
            timedelta(minutes=5, seconds=rng.randint(0, 30)),
            AUTO,
        )
        row["hall_id"] = township
        go("acknowledge", user, "acknowledged", timedelta(minutes=rng.randint(1, 30)))
    else:
        go("acknowledge", user, "acknowledged", timedelta(seconds=rng.randint(20, 280)))
    row["first_responded_at"] = t
    if rng.random() < 0.05:
        go("reject", user, "rejected", timedelta(minutes=rng.randint(5, 60)))
        row["status"] = "rejected"
        return row, ev
    if rng.random() < 0.03:
        go("merge", user, "merged", timedelta(minutes=rng.randint(5, 60)))
        row["status"] = "merged"
        row["merged_into_id"] = max(1, pk - 1)
        return row, ev
    dept = rng.random() < 0.35
    if dept:
        go("escalate", user, "escalated", timedelta(minutes=rng.randint(5, 120)))
        go("acknowledge", user, "acknowledged", timedelta(minutes=rng.randint(1, 20)))
        row["hall_id"] = org["assignment"]
        dep = org["depts"][cat_i % DEPARTMENTS]
        go(
            "dispatch",
            user,
            "dispatched",
            timedelta(minutes=rng.randint(5, 120)),
            TO_DEPARTMENT,
        )
        row["department_id"] = dep
        go("claim", user, "claimed", timedelta(minutes=rng.randint(5, 90)))
    else:
        go("start", user, "in_progress", timedelta(minutes=rng.randint(1, 30)))
    if rng.random() < 0.02:
        go("supervise", user, state, timedelta(hours=2), UNTIL)
        go("breach", None, state, timedelta(hours=4), SUPERVISION_MISSED)
    late = rng.random() < 0.15
    if late:
        go("breach", None, state, timedelta(days=3), RESOLUTION_MISSED)
    go("resolve", user, "resolved", timedelta(hours=rng.randint(1, 60)), LATE[late])
    row["resolved_at"] = t
    handler = "claimed" if dept else "in_progress"
    roll = rng.random()
    if roll < 0.6:
        rating = "satisfied" if rng.random() < 0.9 else "basically_satisfied"
        go("rate", user, "closed", timedelta(hours=rng.randint(1, 48)), RATED[rating])
        row.update(rating=rating, closed_at=t)
        if rng.random() < 0.05:  # it came back
            go("reopen", user, handler, timedelta(days=rng.randint(1, 20)), REBOUND)
            row.update(rating="", closed_at=None, reopen_count=1)
            go("resolve", user, "resolved", timedelta(hours=rng.randint(1, 30)), LATE[False])
            row["resolved_at"] = t
            go("close", None, "closed", timedelta(days=7), UNRATED)
            row["closed_at"] = t
    elif roll < 0.63:  # 不满意, appealed, approved
        go("rate", user, "resolved", timedelta(hours=5), DISSATISFIED)
        go("appeal", user, "resolved", timedelta(hours=5))
        go("review_rating", user, "closed", timedelta(hours=5), APPROVED)
        row.update(rating="dissatisfied", appeal_approved=True, closed_at=t)
    else:
        go("close", None, "closed", timedelta(days=7), UNRATED)
        row["closed_at"] = t
    row["status"] = state
    return row, ev


def _fast_sqlite(cursor: Any) -> None:
    """The throw-away bench database only: no journal, no fsync, a large page cache, no
    foreign-key checks while filling (the rows are consistent by construction)."""
    for pragma in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-1000000",
        "temp_store=MEMORY",
        "foreign_keys=OFF",
    ):
        cursor.execute(f"PRAGMA {pragma}")


def _secondary_indexes(cursor: Any, tables: list[str]) -> list[str]:
    """Drop the tables' named indexes (not the keys) and return the SQL that recreates them:
    the same names and definitions, so the schema (and Django's migration state) is unchanged."""
    marks = ", ".join("%s" for _ in tables)
    cursor.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        tables,
    )
    found = cursor.fetchall()
    for name, _sql in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in found]


def _fill(n: int, org: dict[str, Any]) -> None:
    from django.db import connection, transaction

    from yishiting.requests.models import Event, Request

    rng = random.Random(7)
    req_cols = [str(f.column) for f in Request._meta.concrete_fields if f.column != "id"]
    ev_cols = [
        "request_id",
        "seq",
        "verb",
        "actor_id",
        "from_status",
        "to_status",
        "note",
        "public",
        "data",
        "created_at",
    ]
    q = connection.ops.quote_name
    req_sql = (
        f"INSERT INTO {q(Request._meta.db_table)} (id, {', '.join(q(c) for c in req_cols)}) "
        f"VALUES ({', '.join(['%s'] * (len(req_cols) + 1))})"
    )
    ev_sql = (
        f"INSERT INTO {q(Event._meta.db_table)} ({', '.join(q(c) for c in ev_cols)}) "
        f"VALUES ({', '.join(['%s'] * len(ev_cols))})"
    )
    span = 365 * 86400
    defaults: dict[str, Any] = {
        "priority": "normal",
        "title": "路灯不亮",
        "text": "村口路灯不亮",
        "version": 1,
        "channel": "web",
        "reporter_id": None,
        "reporter_name": "",
        "reporter_phone": "",
        "anonymous": False,
        "submit_key": None,
        "address": "",
        "lat": None,
        "lng": None,
        "respond_by": None,
        "claim_by": None,
        "resolve_by": None,
        "rate_by": None,
        "reopen_until": None,
        "supervise_by": None,
        "forward_by": None,
        "resolve_remaining": None,
        "extension_until": None,
        "next_due_at": None,
        "overdue": False,
        "pending_review": "",
        "dispatched_at": None,
        "return_count": 0,
        "rating_channel": "",
        "rating_comment": "",
        "merged_into_id": None,
        "warnings": "[]",  # JSON, written raw
    }
    # Every column comes from the defaults or the life's row (a column added by a later
    # migration needs its default here: the KeyError says which).
    column = {c: k for k, c in enumerate(req_cols)}
    template = [defaults.get(c) for c in req_cols]
    for c in req_cols:
        if c not in defaults and c not in LIFE_FIELDS:
            raise KeyError(c)
    follow, updated, version = (column[c] for c in ("follow_code", "updated_at", "version"))
    times = sorted(rng.random() * span for _ in range(n))
    batch_r: list[tuple[Any, ...]] = []
    batch_e: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        _fast_sqlite(cursor)
        indexes = _secondary_indexes(cursor, [Request._meta.db_table, Event._meta.db_table])
    with transaction.atomic(), connection.cursor() as cursor:
        for i, offset in enumerate(times, start=1):
            t0 = YEAR_START + timedelta(seconds=offset)
            row, events = _life(rng, t0, org, i)
            out = template.copy()
            for c, v in row.items():
                out[column[c]] = str(v) if isinstance(v, datetime) else v
            out[follow] = f"B{i:011d}"
            out[updated] = str(events[-1][5])
            out[version] = len(events)
            batch_r.append((i, *out))
            for seq, (verb, actor, frm, to, data, at) in enumerate(events, start=1):
                batch_e.append((i, seq, verb, actor, frm, to, "", True, data, str(at)))
            if len(batch_r) >= 20000:
                cursor.executemany(req_sql, batch_r)
                cursor.executemany(ev_sql, batch_e)
                batch_r, batch_e = [], []
        cursor.executemany(req_sql, batch_r)
        cursor.executemany(ev_sql, batch_e)
    with connection.cursor() as cursor:
        for sql in indexes:
            cursor.execute(sql)
        cursor.execute("PRAGMA foreign_keys=ON")


# The naive count is run up to this size (at 10M it takes about 20 minutes of the run).
NAIVE_UP_TO = int(os.environ.get("BENCH_STATS_NAIVE_UP_TO", "10000000"))


def _time(fn: Any, repeat: int) -> float:
    """Median wall time in ms."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return statistics.median(out)


def measure(n: int, path: Path) -> dict[str, Any]:
    """Generate, rebuild and time one size."""
    from django.db import connection

    from yishiting.stats import metrics as m
    from yishiting.stats.models import Rollup
    from yishiting.stats.rollups import rebuild

    org = _org()
    # Wall and CPU time (this process's): on a shared machine the CPU time is the steadier.
    start, cpu = time.perf_counter(), time.process_time()
    _fill(n, org)
    gen_s, gen_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{n}: generated in {gen_s:.0f} s (CPU {gen_cpu:.0f} s)", file=sys.stderr, flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    rows = rebuild()
    rebuild_s, rebuild_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{n}: rebuilt in {rebuild_s:.0f} s (CPU {rebuild_cpu:.0f} s)", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit=1000")  # statistics from a sample: seconds at 10M
        cursor.execute("ANALYZE")
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    year = (m.midnight(date(2025, 1, 1)), m.midnight(date(2026, 1, 1)))
    days = (m.midnight(date(2025, 3, 10)), m.midnight(date(2025, 4, 24)))
    result: dict[str, Any] = {
        "n": n,
        "gen_s": gen_s,
        "gen_cpu_s": gen_cpu,
        "rebuild_s": rebuild_s,
        "rebuild_cpu_s": rebuild_cpu,
        "db_mb": size_mb,
        "rollup_rows": rows,
        "queries": [],
    }
    naive_repeat = 3 if n <= 10_000 else 1
    for label, scope in (
        ("county", m.county_scope(org["county"])),
        ("township", m.hall_scope(org["township"])),
    ):
        for pname, period in (("year", year), ("45 days", days)):
            fast = m.metrics(scope, *period)
            if n > NAIVE_UP_TO or (n >= 1_000_000 and pname != "year"):
                # Each naive count takes minutes from 1M on: the year only; past NAIVE_UP_TO
                # not run.
                naive_ms = None
            else:
                start = time.perf_counter()
                slow = m.metrics_from_raw(scope, *period)
                naive_ms = (time.perf_counter() - start) * 1000
                assert fast.figures() == slow.figures(), (label, pname)
            read = Rollup.objects.filter(scope=scope.key).count()
            rollup_ms = _time(lambda s=scope, p=period: m.metrics(s, *p).figures(), 7)
            if naive_ms is not None and naive_repeat > 1:
                naive_ms = _time(
                    lambda s=scope, p=period: m.metrics_from_raw(s, *p).figures(), naive_repeat
                )
            result["queries"].append(
                {
                    "scope": label,
                    "period": pname,
                    "rollup_ms": rollup_ms,
                    "naive_ms": naive_ms,
                    "scope_rows": read,
                    "submitted": fast.tally.counts["submitted"],
                }
            )
    # The leader dashboard's whole context (figures, names, links and the live state counts).
    from yishiting.web.views.leader import Period, dashboard_context

    march = Period("month", date(2025, 3, 1), date(2025, 4, 1))
    result["dashboard_ms"] = {
        label: _time(lambda h=org[label]: dashboard_context(h, h, march), 5)
        for label in ("county", "township")
    }
    return result


def child(n: int, tmp: str) -> None:
    """Measure one size in this process and print its row as JSON."""
    path = Path(tmp) / "bench.sqlite3"
    _setup(path)
    print(json.dumps(measure(n, path)))


def run_size(n: int) -> dict[str, Any]:
    """Measure one size in a child process, on a throw-away database deleted afterwards."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_STATS_TMP")) as tmp:
        # Debug off: Django's debug cursor would keep (and, on SQLite, re-quote) every query.
        env = dict(os.environ, YISHITING_DATA_DIR=tmp, YISHITING_DEBUG="0")
        out = subprocess.run(
            [sys.executable, "-c", f"import bench.stats as b; b.child({n}, {tmp!r})"],
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(result), file=sys.stderr, flush=True)  # partial results, as they come
    return result


def main() -> None:
    sizes = [
        int(s)
        for s in os.environ.get("BENCH_STATS_SIZES", "10000,100000,1000000,10000000").split(",")
    ]
    # BENCH_STATS_JOBS=2: the largest size in its own process beside the others, one after
    # another (on a shared machine the 10M history takes most of the run).
    if os.environ.get("BENCH_STATS_JOBS", "2") == "2" and len(sizes) > 1:
        from concurrent.futures import ThreadPoolExecutor

        largest = max(sizes)
        rest = [n for n in sizes if n != largest]
        with ThreadPoolExecutor(2) as pool:
            big = pool.submit(run_size, largest)
            small = pool.submit(lambda: [run_size(n) for n in rest])
            by_size = {r["n"]: r for r in [*small.result(), big.result()]}
        results = [by_size[n] for n in sizes]
    else:
        results = [run_size(n) for n in sizes]
    print_table(results)


def _cpu(seconds: float | None) -> str:
    return f"{seconds:>7.1f}" if seconds is not None else f"{'—':>7}"


def print_table(results: list[dict[str, Any]]) -> None:
    """The run's tables, from each size's result (also `python -m bench.stats table LOG`,
    from the JSON lines a run writes to stderr)."""
    print("\nStatistics (SQLite): rollups vs naive count from raw rows (ms, median)")
    print(
        f"{'requests':>10} {'gen s':>7} {'(CPU)':>7} {'rebuild s':>9} {'(CPU)':>7} {'DB MB':>7} "
        f"{'rollup rows':>11}"
    )
    for r in results:
        gen_cpu, rebuild_cpu = r.get("gen_cpu_s"), r.get("rebuild_cpu_s")
        print(
            f"{r['n']:>10,} {r['gen_s']:>7.1f} {_cpu(gen_cpu)} {r['rebuild_s']:>9.1f} "
            f"{_cpu(rebuild_cpu)} {r['db_mb']:>7.0f} {r['rollup_rows']:>11,}"
        )
    print(
        f"\n{'requests':>10} {'scope':>9} {'period':>8} {'rollups':>9} {'naive':>10} "
        f"{'ratio':>7} {'scope rows':>10}"
    )
    for r in results:
        for q in r["queries"]:
            naive = q["naive_ms"]
            ratio = f"{naive / q['rollup_ms']:>6.0f}x" if naive else f"{'—':>7}"
            shown = f"{naive:>10.1f}" if naive else f"{'not run':>10}"
            print(
                f"{r['n']:>10,} {q['scope']:>9} {q['period']:>8} {q['rollup_ms']:>9.1f} "
                f"{shown} {ratio} {q['scope_rows']:>10,}"
            )
    print("\nLeader dashboard context (a month, with the live state counts), ms, median of 5")
    for r in results:
        d = r.get("dashboard_ms") or {}
        county, town = d.get("county", 0.0), d.get("township", 0.0)
        print(f"{r['n']:>10,}  county {county:>8.1f}  township {town:>8.1f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["table"]:
        lines = Path(sys.argv[2]).read_text().splitlines()
        print_table([json.loads(line) for line in lines if line.startswith('{"n"')])
    else:
        main()

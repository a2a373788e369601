"""The deadline sweep's cost: flat in the number of open requests, linear in the due ones.

For each size N it fills a throw-away SQLite database with N open requests (claimed, deadline
in the future), then times, in the same run:
- `sweep.run_once()` with nothing due (median and p99 of repeated passes);
- the naive alternative a cron job runs — scanning open requests for passed deadlines without
  the partial index — as the baseline, and the ratio;
- a pass with 100 due requests (each gets its breach event), per item.

Sizes: BENCH_SIZES (default 10000,100000,1000000; the million takes a few minutes to fill).
Database: a temporary SQLite file.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

DUE = 100


def _setup(path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fill(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from yishiting.requests.models import Request
    from yishiting.testing import build_county

    county = build_county()
    now = timezone.now()
    batch = []
    with transaction.atomic():
        for i in range(n):
            due = now + timedelta(days=3, seconds=i % 86400)
            batch.append(
                Request(
                    hall=county.assignment,
                    origin_hall=county.village,
                    department=county.dept,
                    title="路灯不亮",
                    text="村口路灯不亮",
                    status="claimed",
                    created_at=now,
                    updated_at=now,
                    resolve_by=due,
                    next_due_at=due,
                )
            )
            if len(batch) == 5000:
                Request.objects.bulk_create(batch)
                batch = []
        Request.objects.bulk_create(batch)


def _times(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def measure(n: int) -> dict[str, float]:
    """Fill N requests and time the sweep against the naive scan."""
    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from yishiting.requests import sweep
    from yishiting.requests.models import Request

    started = time.perf_counter()
    _fill(n)
    fill_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    idle = _times(lambda: sweep.run_once(), 200)

    def naive() -> None:
        now = timezone.now()
        list(
            Request.objects.filter(status__in=["submitted", "escalated", "dispatched", "claimed"])
            .filter(Q(respond_by__lte=now) | Q(claim_by__lte=now) | Q(resolve_by__lte=now))
            .values_list("pk", flat=True)
        )

    baseline = _times(naive, 20)
    ids = list(Request.objects.order_by("?").values_list("pk", flat=True)[:DUE])
    past = timezone.now() - timedelta(seconds=1)
    Request.objects.filter(pk__in=ids).update(resolve_by=past, next_due_at=past)
    start = time.perf_counter()
    acted = sweep.run_once(limit=DUE)
    due_ms = (time.perf_counter() - start) * 1000
    assert acted == DUE, acted
    return {
        "n": n,
        "fill_s": fill_s,
        "idle_p50": statistics.median(idle),
        "idle_p99": _p99(idle),
        "naive_p50": statistics.median(baseline),
        "due_ms_each": due_ms / DUE,
    }


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
    rows = []
    for n in sizes:
        # One process per size keeps each database and Django set-up independent.
        if os.environ.get("BENCH_CHILD"):
            break
        import json
        import subprocess

        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, BENCH_CHILD=str(n), YISHITING_DATA_DIR=tmp)
            out = subprocess.run(
                [sys.executable, "-c", f"import bench.sweep as b; b.child({n}, {tmp!r})"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print("\nDeadline sweep (SQLite, one pass; ms)")
    print(
        f"{'open requests':>14} {'fill s':>7} {'idle p50':>9} {'idle p99':>9} "
        f"{'naive scan p50':>15} {'naive/idle':>11} {'per due item':>13}"
    )
    for r in rows:
        print(
            f"{r['n']:>14,} {r['fill_s']:>7.1f} {r['idle_p50']:>9.3f} {r['idle_p99']:>9.3f} "
            f"{r['naive_p50']:>15.1f} {r['naive_p50'] / r['idle_p50']:>10.0f}x "
            f"{r['due_ms_each']:>13.2f}"
        )


def child(n: int, tmp: str) -> None:
    """Measure one size in this process and print its row as JSON."""
    import json

    _setup(Path(tmp) / "bench.sqlite3")
    print(json.dumps(measure(n)))

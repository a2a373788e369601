"""Duplicate lookup as the product uses it (issue 6): p50/p99 of the three lookups with N
requests stored in a throw-away SQLite database, all open (the worst case: closed requests
drop out of the candidate set), over a Longyao-sized tree (12 townships x 25 villages) and
three years.

- `similar (full)`: API v1's /requests/similar with a whole request's text (filing);
- `similar (typing)`: the submit page's lookup with the first 8 characters typed (where the
  containment estimate for short text does its work);
- `merge candidates`: API v1's /requests/{id}/duplicates for a stored request.

BENCH_DUP_SIZES: comma-separated sizes (default "20000"; "1000000" for the figure in
docs/routing.md, ~10 minutes to fill on an idle machine). BENCH_DUP_SPAN_DAYS (default 1095)
spreads them over fewer days: 100,000 over 110 days is the 30-day density of 1,000,000 over
three years (the lookup's cost follows that density and the index's depth, not the table).
Each lookup is timed twice: wall clock, and this process's CPU time (SQLite runs in process),
which a machine shared with other work does not inflate. Target: p99 under 20 ms at 1,000,000.

BENCH_DUP_DB=PATH keeps the filled database at PATH and, when it exists already, measures on
it without filling again (migrating it first): one 1,000,000 fill serves a before/after pair.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = 1000


def _p(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def _stored() -> tuple[list[int], list[int], datetime]:
    """A filled database's (village ids, a sample of request ids of the last 30 days, the
    newest request's time)."""
    from django.db.models import Max

    from yishiting.orgs.models import Hall, HallKind
    from yishiting.requests.models import Request

    villages = list(
        Hall.objects.filter(kind=HallKind.VILLAGE, code__startswith="D")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    newest = Request.objects.aggregate(t=Max("created_at"))["t"]
    recent = list(
        Request.objects.filter(created_at__gte=newest - timedelta(days=30))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    step = max(1, len(recent) // 100)
    return villages, recent[::step][:100], newest


def _fill(n: int, seed: int = 7) -> None:
    """n requests with their fingerprints."""
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from bench.routing import _text
    from yishiting.orgs.models import Hall, HallKind
    from yishiting.requests.models import Request
    from yishiting.routing.duplicates import _signature, request_text, shingles
    from yishiting.routing.models import Fingerprint

    rng = random.Random(seed)
    county = Hall.objects.create(code="D130500", name="基准县", kind=HallKind.COUNTY)
    villages = []
    for t in range(12):
        town = Hall.objects.create(
            code=f"D{t:02d}", name=f"第{t}镇", kind=HallKind.TOWNSHIP, parent=county
        )
        for v in range(25):
            villages.append(
                Hall.objects.create(
                    code=f"D{t:02d}{v:02d}",
                    name=f"第{t}镇{v}村",
                    kind=HallKind.VILLAGE,
                    parent=town,
                ).pk
            )
    now = timezone.now()
    span = int(os.environ.get("BENCH_DUP_SPAN_DAYS", "1095")) * 86400
    # A few thousand distinct texts, their fingerprints reused: computing a million says
    # nothing about the lookup.
    texts = [_text(rng, i) for i in range(5000)]
    grams = [shingles(request_text(t[:20], t)) for t in texts]
    sigs = [_signature(g).tobytes() for g in grams]
    batch: list[tuple[Request, int]] = []
    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute("PRAGMA synchronous=OFF")
    for i in range(n):
        hall = villages[i % len(villages)]
        created = now - timedelta(seconds=int(span * (1 - i / n)))
        k = rng.randrange(len(texts))
        r = Request(
            hall_id=hall,
            origin_hall_id=hall,
            title=texts[k][:20],
            text=texts[k],
            status="acknowledged",
            created_at=created,
            updated_at=created,
        )
        batch.append((r, k))
        if len(batch) == 20000 or i == n - 1:
            with transaction.atomic():
                made = Request.objects.bulk_create([r for r, _ in batch])
                Fingerprint.objects.bulk_create(
                    [
                        Fingerprint(
                            request_id=r.pk,
                            hall_id=r.origin_hall_id,
                            created_at=r.created_at,
                            signature=sigs[k],
                            shingles=len(grams[k]),
                        )
                        for r, (_, k) in zip(made, batch, strict=True)
                    ]
                )
            batch = []
    print(f"filled {n:,} requests in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def child(n: int, tmp: str) -> None:
    """Measure in this process (its own database) and print one JSON line."""
    kept = os.environ.get("BENCH_DUP_DB", "")
    path = Path(kept) if kept else Path(tmp) / "bench.sqlite3"
    filled = path.exists()
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import random

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.routing import _text
    from yishiting.orgs.models import Hall
    from yishiting.requests.models import Request
    from yishiting.routing.duplicates import merge_candidates, similar_open_requests

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if filled:
        print(f"migrated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:
        _fill(n)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    villages, recent, newest = _stored()
    rng = random.Random(11)
    halls = list(Hall.objects.filter(pk__in=villages))
    now = newest + timedelta(seconds=1)
    stored = list(
        Request.objects.filter(pk__in=recent).select_related("origin_hall", "hall")
    ) or list(Request.objects.order_by("-created_at").select_related("origin_hall")[:50])

    def timed(lookup) -> dict[str, float]:  # type: ignore[no-untyped-def]
        for _ in range(5):  # warm the caches
            lookup()
        times, cpu, hits = [], [], 0
        for _ in range(LOOKUPS):
            started, started_cpu = time.perf_counter(), time.process_time()
            hits += bool(lookup())
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        return {
            "p50": _p(times, 50),
            "p99": _p(times, 99),
            "max": max(times),
            "cpu_p50": _p(cpu, 50),
            "cpu_p99": _p(cpu, 99),
            "hits": hits / LOOKUPS,
        }

    in_window = Request.objects.filter(created_at__gte=now - timedelta(days=30)).count()
    out = {
        "n": Request.objects.count(),
        "window": in_window,
        "similar (full)": timed(
            lambda: similar_open_requests(rng.choice(halls), _text(rng, rng.randrange(5000)), now)
        ),
        "similar (typing)": timed(
            lambda: similar_open_requests(
                rng.choice(halls), _text(rng, rng.randrange(5000))[:8], now
            )
        ),
        "merge candidates": timed(lambda: merge_candidates(rng.choice(stored), now)),
    }
    print(json.dumps(out))


def measure(n: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, YISHITING_DATA_DIR=tmp)
        done = subprocess.run(
            [sys.executable, "-c", f"import bench.duplicates as b; b.child({n}, {tmp!r})"],
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        ).stdout
    result: dict[str, object] = json.loads(done.strip().splitlines()[-1])
    return result


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_DUP_SIZES", "20000").split(",") if s]
    print("\nDuplicate lookup (SQLite, all requests open; ms over 1,000 lookups; target p99 < 20)")
    print(
        f"{'requests':>10} {'last 30 d':>9} {'lookup':<18} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'cpu p50':>8} {'cpu p99':>8} {'matched':>8}"
    )
    for n in sizes:
        d = measure(n)
        for name in ("similar (full)", "similar (typing)", "merge candidates"):
            row = d[name]
            assert isinstance(row, dict)
            print(
                f"{n:>10,} {d['window']:>9,} {name:<18} {row['p50']:>7.2f} {row['p99']:>7.2f} "
                f"{row['max']:>7.2f} {row['cpu_p50']:>8.2f} {row['cpu_p99']:>8.2f} "
                f"{row['hits']:>8.0%}"
            )


if __name__ == "__main__":
    main()

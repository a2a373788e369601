"""The ledger (台账) export: time and peak Python memory against the number of rows.

For each size N it fills a throw-away SQLite database with N closed requests (each with its
submit, dispatch and claim events), then writes the ledger of all of them twice: once timed,
once under tracemalloc for the peak of Python allocations. Flat memory across sizes is the
point of the write-only, batched writer (ledger/xlsx.py).

Sizes: BENCH_LEDGER_SIZES (default 10000,100000). Database: a temporary SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path


def _fill(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from yishiting.requests.models import Event, Request
    from yishiting.testing import build_county

    county = build_county()
    start = timezone.now() - timedelta(days=365)
    with transaction.atomic():
        for offset in range(0, n, 5000):
            size = min(5000, n - offset)
            rows = []
            for i in range(size):
                at = start + timedelta(minutes=offset + i)
                rows.append(
                    Request(
                        hall=county.assignment,
                        origin_hall=county.village,
                        department=county.dept,
                        category=county.streetlight,
                        title="村口路灯不亮",
                        text="村口路灯不亮，联系人王秀兰 13812345678",
                        status="closed",
                        reporter_name="王秀兰",
                        reporter_phone="13812345678",
                        created_at=at,
                        updated_at=at,
                        first_responded_at=at + timedelta(minutes=3),
                        resolved_at=at + timedelta(hours=5),
                        closed_at=at + timedelta(days=7),
                        rating="satisfied",
                    )
                )
            made = Request.objects.bulk_create(rows)
            events = []
            for req in made:
                for seq, (verb, status, minutes) in enumerate(
                    [
                        ("submit", "submitted", 0),
                        ("dispatch", "dispatched", 10),
                        ("claim", "claimed", 20),
                    ],
                    start=1,
                ):
                    events.append(
                        Event(
                            request=req,
                            seq=seq,
                            verb=verb,
                            to_status=status,
                            created_at=req.created_at + timedelta(minutes=minutes),
                        )
                    )
            Event.objects.bulk_create(events)


def measure(n: int, tmp: str) -> dict[str, float]:
    """Fill N requests, then time the ledger and take its peak memory."""
    from yishiting.ledger.xlsx import write_ledger
    from yishiting.requests.models import Request

    started = time.perf_counter()
    _fill(n)
    fill_s = time.perf_counter() - started
    qs = Request.objects.order_by("-created_at", "-id")
    out = Path(tmp) / "ledger.xlsx"
    started = time.perf_counter()
    rows = write_ledger(qs, None, out)
    write_s = time.perf_counter() - started
    assert rows == n, rows
    tracemalloc.start()
    write_ledger(qs, None, Path(tmp) / "again.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "n": n,
        "fill_s": fill_s,
        "write_s": write_s,
        "rows_per_s": n / write_s,
        "peak_mib": peak / 2**20,
        "file_mib": out.stat().st_size / 2**20,
    }


def child(n: int, tmp: str) -> None:
    """Measure one size in this process and print its row as JSON."""
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(measure(n, tmp)))


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_LEDGER_SIZES", "10000,100000").split(",")]
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, YISHITING_DATA_DIR=tmp)
            out = subprocess.run(
                [sys.executable, "-c", f"import bench.ledger as b; b.child({n}, {tmp!r})"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print("\nLedger export (SQLite, write-only .xlsx)")
    heads = ("fill s", "write s", "rows/s", "peak MiB", "file MiB")
    print(f"{'requests':>10} " + " ".join(f"{h:>9}" for h in heads))
    for r in rows:
        print(
            f"{r['n']:>10,} {r['fill_s']:>9.1f} {r['write_s']:>9.1f} {r['rows_per_s']:>9,.0f} "
            f"{r['peak_mib']:>9.1f} {r['file_mib']:>9.1f}"
        )


if __name__ == "__main__":
    main()

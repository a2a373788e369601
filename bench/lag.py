"""Lag from a deadline passing to its escalation event, with a real `yishiting worker`.

A throw-away SQLite database gets a county and BENCH_LAG_REQUESTS submitted requests (default
200) whose first-response deadlines fall over the next ~20 seconds; one worker process runs
the sweep. The lag of each is the escalation event's time minus the deadline. Target: p99 under
1 s (Zammad checks escalations every 5 minutes, FixMyStreet sends reports every 5 minutes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def child(tmp: str) -> None:
    """Set up, run a worker, measure; print one JSON row."""
    db = Path(tmp) / "lag.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from yishiting.requests import actions as A
    from yishiting.requests.models import Event, Request
    from yishiting.testing import build_county

    call_command("migrate", verbosity=0)
    county = build_county()
    n = int(os.environ.get("BENCH_LAG_REQUESTS", 200))
    env = dict(os.environ, YISHITING_DATA_DIR=tmp)
    worker = subprocess.Popen(
        [sys.executable, "-m", "yishiting.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def wait(count: int) -> None:
        limit = time.monotonic() + 120
        while Event.objects.filter(verb="escalate").count() < count:
            if time.monotonic() > limit:
                raise SystemExit("the worker did not escalate every request in time")
            time.sleep(0.2)

    def due_at(due):  # type: ignore[no-untyped-def]
        req = A.do_submit(actor=county["resident1"], hall=county.village, text="路灯不亮")
        # Bring the deadline near (the policy's 5 minutes would make the benchmark slow).
        Request.objects.filter(pk=req.pk).update(respond_by=due, next_due_at=due, warnings=[])
        return req.pk

    deadlines = {}
    try:
        # Warm up: the worker is running once it escalates one request due now.
        warmup = due_at(timezone.now())
        wait(1)
        start = timezone.now() + timedelta(seconds=3)
        for i in range(n):
            due = start + timedelta(seconds=20 * i / n)
            deadlines[due_at(due)] = due
        wait(n + 1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    lags = [
        (e.created_at - deadlines[e.request_id]).total_seconds() * 1000
        for e in Event.objects.filter(verb="escalate").exclude(request_id=warmup)
    ]
    print(
        json.dumps(
            {
                "n": n,
                "p50": statistics.median(lags),
                "p99": _p99(lags),
                "max": max(lags),
                "min": min(lags),
            }
        )
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, YISHITING_DATA_DIR=tmp)
        out = subprocess.run(
            [sys.executable, "-c", f"import bench.lag as b; b.child({tmp!r})"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    row = json.loads(out.strip().splitlines()[-1])
    print("\nDeadline → escalation event, one real worker (SQLite; ms)")
    print(f"{'requests':>9} {'p50':>8} {'p99':>8} {'max':>8}   target p99 < 1000")
    print(f"{row['n']:>9} {row['p50']:>8.0f} {row['p99']:>8.0f} {row['max']:>8.0f}")

"""Deliberation at the size of a big village (§9), on a throw-away SQLite database:

- tally: a 村民会议 of 5,000 households (20,000 adults) with 20,000 ballots (online and
  paper, some by household proxy): the recount and rule decision `close` runs, repeated
  (median and p99, target p99 < 200 ms), and `close` itself once;
- voting: 1,000 residents vote through API v1 (token auth, the Django handler) from 16
  threads in the same minute: errors, lost votes (ballots stored vs 200 answers), latency.

Sizes: BENCH_DELIB_HOUSEHOLDS (5000), BENCH_DELIB_VOTERS (1000), BENCH_DELIB_THREADS (16).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PER_HOUSEHOLD = 4


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def _setup(path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def tally(households: int) -> dict[str, Any]:
    """Fill a village of `households` × 4 adults, 20,000 ballots; time recount and close."""
    from django.db import connection, transaction
    from django.utils import timezone

    from yishiting.deliberation import actions, rules
    from yishiting.deliberation.models import Attendance, Ballot, Channel, Meeting
    from yishiting.deliberation.testing import fill
    from yishiting.notify.outbox import muted
    from yishiting.testing import build_county

    county = build_county()
    started = time.perf_counter()
    reg = fill(county.village, households=households, per_household=PER_HOUSEHOLD)
    now = timezone.now()
    rule = rules.rule_for("village_assembly", timezone.localdate())
    meeting = Meeting.objects.create(
        hall=county.village, body="village_assembly", title="村民会议", starts_at=now,
        status="in_session", rule=rule, created_at=now,
    )  # fmt: skip
    choices = ("yes", "yes", "no", "abstain")
    attendance, ballots = [], []
    for i, r in enumerate(reg.residents):
        # Every tenth household is represented by a proxy from the next one.
        key = f"r:{r.pk}"
        attendance.append(
            Attendance(
                meeting=meeting, key=key, resident=r, household_id=r.household_id,
                channel=Channel.ONLINE if i % 3 else Channel.PAPER, created_at=now,
            )
        )  # fmt: skip
        ballots.append(
            Ballot(
                meeting=meeting, key=key, resident=r, choice=choices[i % 4],
                channel=Channel.ONLINE if i % 3 else Channel.PAPER, created_at=now,
            )
        )  # fmt: skip
    with transaction.atomic():
        Attendance.objects.bulk_create(attendance, batch_size=2000)
        Ballot.objects.bulk_create(ballots, batch_size=2000)
    fill_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        counts = actions.recount(meeting)
        rules.decide(rule, counts)
        times.append((time.perf_counter() - t0) * 1000)
    assert counts.yes + counts.no + counts.abstain == len(ballots), counts
    t0 = time.perf_counter()
    with muted():
        closed = actions.do_close(meeting.pk, actor=county["liaison1"])
    close_ms = (time.perf_counter() - t0) * 1000
    assert closed.present == len(attendance)
    return {
        "households": households,
        "ballots": len(ballots),
        "fill_s": fill_s,
        "p50": statistics.median(times),
        "p99": _p99(times),
        "close_ms": close_ms,
    }


def voting(voters: int, threads: int) -> dict[str, Any]:
    """`voters` residents with tokens vote at once through the API from `threads` threads."""
    from django.db import close_old_connections
    from django.test import Client
    from django.utils import timezone

    from yishiting.api.models import ApiToken
    from yishiting.deliberation.models import Ballot, Meeting
    from yishiting.deliberation.testing import fill
    from yishiting.orgs.models import Hall, HallKind
    from yishiting.testing import build_county

    county = build_county()
    community = Hall.objects.create(
        code="B1", name="社区", kind=HallKind.COMMUNITY, parent=county.township
    )
    reg = fill(community, households=voters, accounts=voters)
    keys = [ApiToken.issue(u)[1] for u in reg.users()]
    now = timezone.now()
    meeting = Meeting.objects.create(
        hall=community, body="residents_assembly", title="居民会议", starts_at=now,
        status="in_session", created_at=now,
    )  # fmt: skip
    latencies: list[float] = []
    errors: list[str] = []
    ok = [0]
    lock = threading.Lock()

    def worker(mine: list[str]) -> None:
        client = Client()
        try:
            for key in mine:
                t0 = time.perf_counter()
                r = client.post(
                    f"/api/v1/meetings/{meeting.pk}/vote",
                    json.dumps({"choice": "yes"}),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {key}",
                )
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(ms)
                    if r.status_code == 200:
                        ok[0] += 1
                    else:
                        errors.append(f"{r.status_code} {r.content[:120]!r}")
        finally:
            close_old_connections()

    parts = [keys[i::threads] for i in range(threads)]
    pool = [threading.Thread(target=worker, args=(p,)) for p in parts]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    stored = Ballot.objects.filter(meeting=meeting).count()
    return {
        "voters": voters,
        "threads": threads,
        "wall_s": wall,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "lost": ok[0] - stored,
        "stored": stored,
        "p50": statistics.median(latencies),
        "p99": _p99(latencies),
        "within_minute": wall < 60,
    }


def child(kind: str, tmp: str) -> None:
    """Run one measurement in this process and print its row as JSON."""
    _setup(Path(tmp) / "bench.sqlite3")
    if kind == "tally":
        row = tally(int(os.environ.get("BENCH_DELIB_HOUSEHOLDS", "5000")))
    else:
        row = voting(
            int(os.environ.get("BENCH_DELIB_VOTERS", "1000")),
            int(os.environ.get("BENCH_DELIB_THREADS", "16")),
        )
    print(json.dumps(row))


def _run(kind: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, YISHITING_DATA_DIR=tmp)
        out = subprocess.run(
            [sys.executable, "-c", f"import bench.deliberation as b; b.child({kind!r}, {tmp!r})"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    t = _run("tally")
    print("\nDeliberation: tally a meeting (SQLite; recount + rule decision, 50 runs; ms)")
    print(f"{'households':>11} {'ballots':>8} {'fill s':>7} {'p50':>7} {'p99':>7} {'close':>7}")
    print(
        f"{t['households']:>11,} {t['ballots']:>8,} {t['fill_s']:>7.1f} {t['p50']:>7.1f} "
        f"{t['p99']:>7.1f} {t['close_ms']:>7.1f}   target p99 < 200"
    )
    v = _run("voting")
    print("\nDeliberation: residents voting at once through API v1 (SQLite)")
    print(
        f"{'voters':>7} {'threads':>8} {'wall s':>7} {'errors':>7} {'lost':>5} "
        f"{'p50 ms':>7} {'p99 ms':>7}"
    )
    print(
        f"{v['voters']:>7,} {v['threads']:>8} {v['wall_s']:>7.1f} {v['errors']:>7} {v['lost']:>5} "
        f"{v['p50']:>7.1f} {v['p99']:>7.1f}   stored {v['stored']}"
    )
    if v["first_error"]:
        print(f"first error: {v['first_error']}")


if __name__ == "__main__":
    main()

"""Routing benchmarks (issue 6), each against its baseline in the same run:

1. Category suggestion: 5-fold cross-validation on ../shared/data/routing/train.csv, repeated
   with the seeds of BENCH_ROUTING_SEEDS (default "0,1"; the threshold of each fold chosen by
   an inner cross-validation on that fold's training part only), ours beside the baseline
   (character 1–3-gram TF-IDF + linear SVM), mean ± sd over the repeats.
2. Hotspots: the top 10 of ../shared/data/hotspots/messages.csv with message counts.
3. Duplicate lookup: p50/p99 of `similar_open_requests` with BENCH_ROUTING_REQUESTS
   (default 1,000,000) requests stored in a throw-away SQLite database, against the naive
   alternative (fingerprinting every open request of the neighbourhood's window on the fly).

BENCH_ROUTING_PARTS picks parts (default "cv,hotspots,duplicates"), BENCH_ROUTING_MODELS the
models of part 1 (default "ours,baseline"). The data folder is
../shared/data beside the repository (BENCH_DATA to override); parts needing it are skipped
with a message when it is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "data"))


def _p(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def cross_validated(folds: int = 5, seeds: tuple[int, ...] = (0,)) -> dict[str, dict[str, float]]:
    """Repeated outer k-fold on train.csv: each fold trains (with its own inner-CV threshold) on
    the rest and is scored like `routing-eval` scores a test file. Per key: the mean over all
    folds of all repeats, and `<key>_sd`, the spread of the repeats' means."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from yishiting.routing.classifier import BaselineClassifier, RoutingClassifier
    from yishiting.routing.evaluation import evaluate, read_csv

    rows = read_csv(DATA / "routing" / "train.csv")
    y = np.array([r.label for r in rows])
    out: dict[str, dict[str, float]] = {}
    wanted = os.environ.get("BENCH_ROUTING_MODELS", "ours,baseline").split(",")
    models = (("ours", RoutingClassifier), ("baseline", BaselineClassifier))
    for name, factory in [(n, f) for n, f in models if n in wanted]:
        per_seed: list[list[dict[str, float]]] = []
        for seed in seeds:
            split = StratifiedKFold(folds, shuffle=True, random_state=seed).split(
                np.zeros(len(y)), y
            )
            per_seed.append(
                [
                    evaluate(factory, [rows[i] for i in tr], [rows[i] for i in te])
                    for tr, te in split
                ]
            )
            print(f"  {name}, seed {seed}: done", file=sys.stderr, flush=True)
        every = [f for fs in per_seed for f in fs]
        figures: dict[str, float] = {}
        for key in every[0]:
            if not all(isinstance(f[key], int | float) for f in every):
                continue
            figures[key] = float(np.mean([f[key] for f in every]))
            figures[f"{key}_sd"] = float(np.std([np.mean([f[key] for f in fs]) for fs in per_seed]))
        figures["p99_ms_per_message_worst_fold"] = max(f["p99_ms_per_message"] for f in every)
        figures["p99_cpu_ms_per_message_worst_fold"] = max(
            f["p99_cpu_ms_per_message"] for f in every
        )
        figures["train_seconds_worst_fold"] = max(f["train_seconds"] for f in every)
        out[name] = figures
    return out


def hotspots(top: int = 10) -> list[dict[str, object]]:
    from yishiting.routing.hotspots import find_hotspots, read_messages_csv

    started = time.perf_counter()
    spots = find_hotspots(read_messages_csv(DATA / "hotspots" / "messages.csv"), top=top)
    seconds = time.perf_counter() - started
    return [
        {
            "title": s.title,
            "messages": len(s.messages),
            "reporters": s.reporters,
            "cosigns": s.cosigns,
            "heat": s.heat,
            "seconds": seconds,
        }
        for s in spots
    ]


# --- duplicate lookup --------------------------------------------------------------------

_PROBLEMS = [
    "村口路灯不亮了，晚上走路看不见",
    "小区门口垃圾桶坏了，垃圾满地没人清理",
    "楼道里有人给电动车充电，很危险",
    "下水道堵了，污水流到路上",
    "路面有个大坑，电动车容易摔倒",
    "广场舞音乐太吵，晚上十点还不停",
    "自来水停了两天，没有通知",
    "护栏被撞坏了，一直没人修",
    "学校门口早上堵车严重，需要交警疏导",
    "菜市场占道经营，车辆过不去",
]
_PLACES = ["东街", "西街", "南关", "北关", "幸福路", "建设路", "人民路", "新华街", "文化路"]


def _text(rng: object, i: int) -> str:
    import random

    assert isinstance(rng, random.Random)
    return (
        f"{rng.choice(_PLACES)}{rng.randint(1, 99)}号附近，{rng.choice(_PROBLEMS)}，"
        f"希望尽快处理（{i}）"
    )


def _fill_requests(n: int, seed: int = 7) -> tuple[list[int], list[int]]:
    """n requests over a Longyao-sized tree (12 townships x 25 villages), spread over three
    years, every one open (the worst case: closed ones drop out of the candidate set)."""
    import random
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from yishiting.orgs.models import Hall, HallKind
    from yishiting.requests.models import Request
    from yishiting.routing.duplicates import request_text, signature
    from yishiting.routing.models import Fingerprint

    rng = random.Random(seed)
    county = Hall.objects.create(code="B130500", name="基准县", kind=HallKind.COUNTY)
    villages = []
    for t in range(12):
        town = Hall.objects.create(
            code=f"B{t:02d}", name=f"第{t}镇", kind=HallKind.TOWNSHIP, parent=county
        )
        for v in range(25):
            villages.append(
                Hall.objects.create(
                    code=f"B{t:02d}{v:02d}",
                    name=f"第{t}镇{v}村",
                    kind=HallKind.VILLAGE,
                    parent=town,
                ).pk
            )
    now = timezone.now()
    span = 3 * 365 * 86400
    # Signatures of a few thousand distinct texts, reused: computing a million is slow and
    # says nothing about the lookup.
    texts = [_text(rng, i) for i in range(5000)]
    sigs = [signature(request_text("", t)).tobytes() for t in texts]
    batch_r: list[Request] = []
    batch_k: list[int] = []
    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute("PRAGMA synchronous=OFF")
    for i in range(n):
        hall = villages[i % len(villages)]
        created = now - timedelta(seconds=int(span * (i / n)))
        k = rng.randrange(len(texts))
        batch_k.append(k)
        batch_r.append(
            Request(
                hall_id=hall,
                origin_hall_id=hall,
                title=texts[k][:20],
                text=texts[k],
                status="acknowledged",
                created_at=created,
                updated_at=created,
            )
        )
        if len(batch_r) == 20000 or i == n - 1:
            with transaction.atomic():
                made = Request.objects.bulk_create(batch_r)
                Fingerprint.objects.bulk_create(
                    [
                        Fingerprint(
                            request_id=r.pk,
                            hall_id=r.origin_hall_id,
                            created_at=r.created_at,
                            signature=sigs[k],
                        )
                        for r, k in zip(made, batch_k, strict=True)
                    ]
                )
            batch_r, batch_k = [], []
    print(f"filled {n:,} requests in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return villages, []


def duplicates_child(n: int, tmp: str) -> None:
    """Measure in this process (own database) and print one JSON line."""
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import random

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    villages, _ = _fill_requests(n)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    from yishiting.orgs.models import Hall
    from yishiting.requests.models import Request
    from yishiting.requests.states import OPEN
    from yishiting.routing.duplicates import (
        WINDOW,
        neighbour_halls,
        request_text,
        signature,
        similar_open_requests,
    )

    rng = random.Random(11)
    halls = list(Hall.objects.filter(pk__in=villages))
    now = timezone.now()
    times, found, candidates = [], 0, []
    for _ in range(5):  # warm the caches
        similar_open_requests(rng.choice(halls), _text(rng, 0), now)
    for _ in range(1000):
        hall = rng.choice(halls)
        text = _text(rng, rng.randrange(5000))
        started = time.perf_counter()
        result = similar_open_requests(hall, text, now)
        times.append((time.perf_counter() - started) * 1000)
        found += bool(result)
    # Candidates per lookup (for the record), and the naive baseline: read the texts of the
    # neighbourhood's open requests in the window and fingerprint them on the fly.
    naive = []
    for _ in range(50):
        hall = rng.choice(halls)
        started = time.perf_counter()
        rows = list(
            Request.objects.filter(
                origin_hall_id__in=neighbour_halls(hall),
                created_at__gte=now - WINDOW,
                status__in=[s.value for s in OPEN],
            ).values_list("title", "text")
        )
        target = signature(_text(rng, 1))
        _ = [float((signature(request_text(t, x)) == target).mean()) for t, x in rows]
        naive.append((time.perf_counter() - started) * 1000)
        candidates.append(len(rows))
    print(
        json.dumps(
            {
                "n": n,
                "p50_ms": _p(times, 50),
                "p99_ms": _p(times, 99),
                "max_ms": max(times),
                "with_result": found / len(times),
                "candidates_mean": sum(candidates) / len(candidates),
                "naive_p50_ms": _p(naive, 50),
                "naive_p99_ms": _p(naive, 99),
            }
        )
    )


def duplicates(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, YISHITING_DATA_DIR=tmp)
        out = subprocess.run(
            [sys.executable, "-c", f"import bench.routing as b; b.duplicates_child({n}, {tmp!r})"],
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parts = os.environ.get("BENCH_ROUTING_PARTS", "cv,hotspots,duplicates").split(",")
    have_data = (DATA / "routing" / "train.csv").is_file()
    if ("cv" in parts or "hotspots" in parts) and not have_data:
        print(f"\nRouting: {DATA} not found; skipping cross-validation and hotspots.")
    if "cv" in parts and have_data:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        seeds = tuple(int(x) for x in os.environ.get("BENCH_ROUTING_SEEDS", "0,1").split(","))
        cv = cross_validated(seeds=seeds)
        print(
            f"\nCategory suggestion, 5-fold CV x {len(seeds)} seeds on routing/train.csv "
            "(mean ± sd of the repeats)"
        )
        keys = [
            "macro_f1",
            "accuracy",
            "auto_share",
            "auto_precision",
            "threshold",
            "p99_ms_per_message_worst_fold",
            "p99_cpu_ms_per_message_worst_fold",
            "train_seconds_worst_fold",
        ]
        print(f"{'':>32} {'ours':>16} {'baseline':>16}")
        for k in keys:
            cells = []
            for name in ("ours", "baseline"):
                value, sd = cv.get(name, {}).get(k, float("nan")), cv.get(name, {}).get(f"{k}_sd")
                cells.append(f"{value:.4f}" + (f" ± {sd:.4f}" if sd is not None else ""))
            print(f"{k:>32} {cells[0]:>16} {cells[1]:>16}")
    if "hotspots" in parts and have_data:
        print("\nHotspots, hotspots/messages.csv (top 10)")
        for i, s in enumerate(hotspots(), 1):
            print(
                f"{i:>3}. {s['messages']:>3} messages {s['reporters']:>3} reporters "
                f"{s['cosigns']:>5} co-signs heat {s['heat']:>6.2f}  {s['title']}"
            )
    if "duplicates" in parts:
        n = int(os.environ.get("BENCH_ROUTING_REQUESTS", "1000000"))
        d = duplicates(n)
        print(f"\nDuplicate lookup, {d['n']:,} requests stored (SQLite; ms)")
        print(
            f"  p50 {d['p50_ms']:.2f}  p99 {d['p99_ms']:.2f}  max {d['max_ms']:.2f}  "
            f"candidates/lookup {d['candidates_mean']:.0f}  lookups with a match "
            f"{d['with_result']:.0%}\n  naive (fingerprint on the fly) p50 "
            f"{d['naive_p50_ms']:.1f}  p99 {d['naive_p99_ms']:.1f}"
        )


if __name__ == "__main__":
    main()

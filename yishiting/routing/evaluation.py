"""Scoring a classifier on labelled CSVs: the figures `yishiting routing-eval` prints."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits

from yishiting.routing.classifier import (
    BaselineClassifier,
    Factory,
    RoutingClassifier,
    train,
)

COLUMNS = ("id", "msg_id", "title", "detail", "time", "label")


@dataclass(frozen=True)
class Labelled:
    """One labelled message."""

    title: str
    text: str
    label: str


def read_csv(path: str | Path) -> list[Labelled]:
    """Messages from a CSV with the columns of routing/train.csv (title, detail, label used)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"title", "detail", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        return [
            Labelled((r["title"] or "").strip(), (r["detail"] or "").strip(), r["label"].strip())
            for r in reader
        ]


def _p99(values: Sequence[float]) -> float:
    return float(np.percentile(np.asarray(values), 99)) if values else math.nan


def evaluate(
    factory: Factory, train_rows: Sequence[Labelled], test_rows: Sequence[Labelled], n_jobs: int = 2
) -> dict[str, Any]:
    """Train (threshold by cross-validation on the training rows), then score on the test rows.
    Test labels are read only here, to score."""
    trained = train(
        factory,
        [r.title for r in train_rows],
        [r.text for r in train_rows],
        [r.label for r in train_rows],
        n_jobs=n_jobs,
    )
    model = trained.model
    predictions = []
    latencies = []
    cpu = []
    # One core: what a single request costs when it is submitted. Wall time, and this
    # thread's CPU time: on a busy machine the first waits for the scheduler, the second not.
    with threadpool_limits(limits=1):
        for r in test_rows:
            started, started_cpu = time.perf_counter(), time.thread_time()
            predictions.append(model.predict_one(r.title, r.text))
            cpu.append((time.thread_time() - started_cpu) * 1000)
            latencies.append((time.perf_counter() - started) * 1000)
    gold = [r.label for r in test_rows]
    guessed = [p.label for p in predictions]
    auto = [model.auto(p) for p in predictions]
    auto_right = [a and p == g for a, p, g in zip(auto, guessed, gold, strict=True)]
    n_auto = sum(auto)
    return {
        "macro_f1": round(float(f1_score(gold, guessed, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(gold, guessed)), 4),
        "threshold": None if model.threshold in (None, math.inf) else round(model.threshold, 4),
        "auto_share": round(n_auto / len(test_rows), 4) if test_rows else None,
        "auto_precision": round(sum(auto_right) / n_auto, 4) if n_auto else None,
        "p99_ms_per_message": round(_p99(latencies), 3),
        "p99_cpu_ms_per_message": round(_p99(cpu), 3),
        "train_seconds": round(trained.seconds, 2),
    }


def compare(
    train_rows: Sequence[Labelled], test_rows: Sequence[Labelled], n_jobs: int = 2
) -> dict[str, Any]:
    """Our figures with the baseline's beside them, from the same run."""
    ours = evaluate(RoutingClassifier, train_rows, test_rows, n_jobs)
    ours["n_train"] = len(train_rows)
    ours["n_test"] = len(test_rows)
    ours["baseline"] = evaluate(BaselineClassifier, train_rows, test_rows, n_jobs)
    return ours

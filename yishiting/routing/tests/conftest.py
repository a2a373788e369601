"""Routing test helpers: the shared data folder (research use only: read at run time, never
copied into the repository)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"


def need_data(relative: str) -> Path:
    """The path of a shared data file, or skip: CI has ../shared beside the repository."""
    path = DATA / relative
    if not path.is_file():
        pytest.skip(f"{path} not found: the labelled data lives in ../shared/data beside the repo")
    return path


@pytest.fixture(scope="session")
def train_sample() -> list[dict[str, str]]:
    """A fixed random 1,200 rows of routing/train.csv (fast enough for the test suite)."""
    with open(need_data("routing/train.csv"), encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    return random.Random(6).sample(rows, 1200)

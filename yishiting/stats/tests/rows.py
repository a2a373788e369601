"""The rollup rows as readers see them: each key's counters summed over its shards."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from yishiting.stats.models import COUNTERS, Rollup

KEY = ("scope", "grain", "start", "dim")


def summed(*counters: str) -> list[tuple[Any, ...]]:
    """(scope, grain, start, dim, *counters) per key, in key order; all counters by default."""
    names = counters or COUNTERS
    sums = {f"sum_{c}": Sum(c) for c in names}
    rows = Rollup.objects.values(*KEY).annotate(**sums).values_list(*KEY, *sums)
    return sorted(rows)  # type: ignore[arg-type]

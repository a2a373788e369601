"""Duration buckets of the first-response and resolution time histograms.

A median or p90 is reported as the upper edge of the bucket holding it (nearest rank), so
the rollups and the naive computation from raw rows give the same figure; the edges are close
enough (at most 1.5× apart, finer where the 5-minute clock is judged) for a leader's reading.
"""

from __future__ import annotations

import bisect
import math

M = 60
H = 3600
D = 86400

EDGES: tuple[int, ...] = (
    10, 20, 30, 45, M, 90, 2 * M, 3 * M, 4 * M, 5 * M, 6 * M, 8 * M, 10 * M, 12 * M, 15 * M,
    20 * M, 25 * M, 30 * M, 40 * M, 50 * M, H, 75 * M, 90 * M, 2 * H, 150 * M, 3 * H, 4 * H,
    5 * H, 6 * H, 8 * H, 10 * H, 12 * H, 16 * H, 20 * H, D, 30 * H, 36 * H, 2 * D, 60 * H,
    3 * D, 4 * D, 5 * D, 6 * D, 7 * D, 8 * D, 10 * D, 12 * D, 15 * D, 20 * D, 25 * D, 30 * D,
    45 * D, 60 * D, 90 * D, 180 * D, 365 * D, 3650 * D,
)  # fmt: skip
# The last bucket also holds anything longer than its edge (ten years).
LAST = len(EDGES) - 1


def bucket(seconds: float) -> int:
    """The bucket of a duration: the first edge at or above it."""
    return min(LAST, bisect.bisect_left(EDGES, max(0, math.ceil(seconds))))


def upper(b: int) -> int:
    """The upper edge of a bucket in seconds."""
    return EDGES[min(b, LAST)]


def quantile(counts: dict[int, int], q: float) -> int | None:
    """The upper edge of the bucket holding the nearest-rank q-quantile; None when empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for b in sorted(counts):
        seen += counts[b]
        if seen >= rank:
            return upper(b)
    return None

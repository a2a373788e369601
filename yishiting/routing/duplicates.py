"""Similar open requests (PRODUCT.md §3 merge, co-sign instead of filing again).

Each request gets a 64-value MinHash signature over the character bigrams of its normalised
title and text (`Fingerprint`, written when the request is created). Looking up a new text
reads the signatures of open requests filed in the same hall or a neighbouring one (its
parent and the parent's other children) in the last 30 days — one range scan per hall on the
partial (hall, created_at) index of open fingerprints, no join (each fingerprint carries its
request's open flag, kept by `routing.hooks.on_event`), so its cost follows the
neighbourhood's recent volume of open requests, not the size of the table — and compares
them in numpy.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connections, transaction
from django.db.models import Q, QuerySet

from yishiting.orgs.models import Hall
from yishiting.requests.models import Request
from yishiting.requests.states import OPEN
from yishiting.routing.models import Fingerprint
from yishiting.routing.text import normalise

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
PERMUTATIONS = 64
# Estimated Jaccard similarity of character bigrams from which a request is offered.
MIN_SIMILARITY = 0.2
# A short text being typed is offered what contains most of it: at least this share of its
# bigrams, estimated from the Jaccard estimate and both sizes. Only with enough evidence:
# a few bigrams, and a few agreeing signature positions (one chance agreement with a long
# request would otherwise look like containment).
MIN_CONTAINED = 0.4
MIN_QUERY_SHINGLES = 3
MIN_AGREEING = 4
# Most candidates compared per lookup (the most recent); a safety cap, far above a real hall.
MAX_CANDIDATES = 20_000
# Most candidates tied with the last offered place that are read to order them by time.
MAX_TIED = 100

_rng = np.random.default_rng(20240611)  # fixed: stored signatures must stay comparable
_A = _rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_EMPTY = np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)
_NOT_TEXT = re.compile(r"[\W_]+")


def shingles(text: str) -> set[str]:
    """Character bigrams of the normalised text, punctuation and spaces dropped."""
    text = _NOT_TEXT.sub("", normalise(text))
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def signature(text: str) -> np.ndarray:
    """MinHash: for each of 64 multiply-shift hash functions, the least hash of any shingle."""
    return _signature(shingles(text))


def _signature(grams: set[str]) -> np.ndarray:
    if not grams:
        return _EMPTY.copy()
    x = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))
    hashed = (x[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)  # wraps mod 2**64
    return hashed.min(axis=0).astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if np.array_equal(a, _EMPTY) or np.array_equal(b, _EMPTY):
        return 0.0
    return float(np.mean(a == b))


def request_text(title: str, text: str) -> str:
    """What a request's fingerprint is taken over."""
    return f"{title} {text}"


def _fingerprint(req: Request) -> dict[str, Any]:
    """A request's fingerprint columns (but its id)."""
    grams = shingles(request_text(req.title, req.text))
    return {
        "hall_id": req.origin_hall_id,
        "created_at": req.created_at,
        "signature": _signature(grams).tobytes(),
        "shingles": len(grams),
        "open": req.status in OPEN,
    }


def index_request(req: Request) -> Fingerprint:
    """Write (or rewrite) a request's fingerprint."""
    fields = _fingerprint(req)
    Fingerprint.objects.update_or_create(request_id=req.pk, defaults=fields)
    return Fingerprint(request_id=req.pk, **fields)


def index_missing(now: datetime, *, window: timedelta = WINDOW) -> int:
    """Fingerprint the requests of the last `window` that have none (after an upgrade, or a
    failed fingerprint); returns how many were written."""
    done = Fingerprint.objects.filter(created_at__gte=now - window).values("request_id")
    missing = Request.objects.filter(created_at__gte=now - window).exclude(pk__in=done)
    count = 0
    fields = ("pk", "origin_hall_id", "created_at", "title", "text", "status")
    for req in missing.only(*fields).iterator():
        index_request(req)
        count += 1
    return count


def index_new(req: Request) -> None:
    """Fingerprint a request just inserted, in its transaction (no second write transaction
    after the commit), under a savepoint: a failure is logged and undoes only the fingerprint
    (`index_missing`, run by `routing_train`, writes it later), so duplicates can never stop a
    resident from filing."""
    try:
        fields = _fingerprint(req)
        with transaction.atomic():
            Fingerprint.objects.create(request_id=req.pk, **fields)
    except Exception:
        log.exception("could not fingerprint request %s", req.pk)


def _neighbours(hall: Hall) -> QuerySet[Hall]:
    """The hall, its parent, and the parent's other children, as a query (a subquery of the
    lookup: one round trip fewer)."""
    if hall.parent_id is None:
        return Hall.objects.filter(pk=hall.pk)
    return Hall.objects.filter(
        Q(pk=hall.pk) | Q(pk=hall.parent_id) | Q(parent_id=hall.parent_id)
    ).order_by()


def neighbour_halls(hall: Hall) -> list[int]:
    """The hall, its parent, and the parent's other children."""
    return list(_neighbours(hall).values_list("pk", flat=True))


def _candidates(hall: Hall, now: datetime, exclude: Iterable[int]) -> list[tuple[Any, ...]]:
    """(request id, signature, shingles) of the open fingerprints of the neighbourhood in the
    window. Unordered (sorting them cost more than comparing them); only when there are more
    than MAX_CANDIDATES are the most recent taken, in a second, ordered query."""
    found = Fingerprint.objects.filter(
        hall_id__in=_neighbours(hall).values("pk"),
        open=True,
        created_at__gte=now - WINDOW,
        created_at__lte=now,
    ).exclude(request_id__in=list(exclude))
    fields = ("request_id", "signature", "shingles")
    rows = _fetch(found.values_list(*fields)[: MAX_CANDIDATES + 1])
    if len(rows) > MAX_CANDIDATES:
        rows = _fetch(found.order_by("-created_at").values_list(*fields)[:MAX_CANDIDATES])
    return rows


def _fetch(query: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list query of plain columns (integers and bytes, nothing to
    convert), fetched at once: Django's iteration in chunks of 100 costs more than the scan."""
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass(frozen=True)
class Similar:
    """An open request that looks like the new text."""

    request_id: int
    similarity: float
    title: str
    status: str
    hall_code: str
    created_at: datetime


def similar_open_requests(
    hall: Hall,
    text: str,
    now: datetime,
    *,
    title: str = "",
    limit: int = 5,
    exclude: Iterable[int] = (),
    min_similarity: float = MIN_SIMILARITY,
) -> list[Similar]:
    """Open requests of the hall and its neighbours from the last 30 days that look like this
    text, most similar first (at most `limit`): each with an estimated Jaccard similarity of
    at least `min_similarity`, or containing most of a short text (MIN_CONTAINED). The
    similarity given is the larger of the two estimates."""
    grams = shingles(request_text(title, text))
    sig = _signature(grams) if grams else _EMPTY
    if np.array_equal(sig, _EMPTY):
        return []
    rows = _candidates(hall, now, exclude)
    if not rows:
        return []
    request_ids, signatures, shingle_counts = zip(*rows, strict=True)
    ids = np.array(request_ids, dtype=np.int64)
    sizes = np.array(shingle_counts, dtype=np.float64)
    sigs = np.frombuffer(b"".join(signatures), dtype=np.uint32).reshape(len(rows), PERMUTATIONS)
    agreeing = (sigs == sig[None, :]).sum(axis=1)
    scores = agreeing / PERMUTATIONS
    if len(grams) >= MIN_QUERY_SHINGLES:
        # |A∩B| / |A| = J (|A| + |B|) / (|A| (1 + J)); unknown sizes (0) give no estimate.
        a = float(len(grams))
        contained = np.where(sizes > 0, scores * (a + sizes) / (a * (1 + scores)), 0.0)
        contained = np.minimum(contained, 1.0)
        useful = (agreeing >= MIN_AGREEING) & (contained >= MIN_CONTAINED)
        scores = np.where(useful, np.maximum(scores, contained), scores)
        keep = np.where((scores >= min_similarity) | useful)[0]
    else:
        keep = np.where(scores >= min_similarity)[0]
    # Most similar first; of equal ones the newest. Candidates come unordered, so those tied
    # with the last place are fetched too (at most MAX_TIED more, the highest ids) and ordered
    # by their time once read.
    keep = keep[np.lexsort((-ids[keep], -scores[keep]))]
    if keep.size > limit:
        keep = keep[scores[keep] >= scores[keep[limit - 1]]][: limit + MAX_TIED]
    if keep.size == 0:
        return []
    found = {
        row[0]: row
        for row in Request.objects.filter(pk__in=[int(ids[k]) for k in keep]).values_list(
            "pk", "title", "status", "origin_hall__code", "created_at"
        )
    }
    out: list[tuple[float, Similar]] = []
    for k in keep:
        pk = int(ids[k])
        if pk not in found:
            continue
        _, title_, status, hall_code, created_at = found[pk]
        # The flag chose the candidates; the request as read now has the last word.
        if status in OPEN:
            score = float(scores[k])
            out.append((score, Similar(pk, round(score, 3), title_, status, hall_code, created_at)))
    # Most similar first, the newest first among equals (ties beyond both keep `keep`'s order).
    out.sort(key=lambda o: (o[0], o[1].created_at), reverse=True)
    return [similar for _, similar in out[:limit]]


def merge_candidates(req: Request, now: datetime, *, limit: int = 5) -> list[Similar]:
    """For a liaison about to merge `req`: the open requests it most likely duplicates."""
    return similar_open_requests(
        req.origin_hall, req.text, now, title=req.title, limit=limit, exclude=[req.pk]
    )

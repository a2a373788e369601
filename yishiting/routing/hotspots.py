"""Hotspots (热点): clusters of messages about the same problem, ranked for leaders.

Messages are compared by TF-IDF over character 2–3-grams of the title (counted twice) and the
start of the text, with n-grams common to more than 5% of messages left out, so that what
two messages share is the place and the problem rather than "投诉" or "小区". Average-linkage
clustering cuts where the mean similarity inside a cluster would fall below 0.17; clusters
whose centres are still close (cosine ≥ 0.4: the same problem in other words, 搅拌站/搅拌厂)
are then joined.

A cluster's heat = distinct reporters + 2·ln(1 + co-signs) + reporters in its last
`growth_days` days before the window ends (growth).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from django.db.models import Count, Q
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from yishiting.orgs.models import Hall
from yishiting.requests.models import FollowerKind, Request
from yishiting.routing.text import normalise

LINK_DISTANCE = 0.83
MERGE_SIMILARITY = 0.4
TEXT_CHARS = 300
# Clustering holds an n x n similarity matrix: at most this many messages (the most recent).
MAX_MESSAGES = 10_000


@dataclass(frozen=True)
class Message:
    """A message or request as hotspot detection sees it."""

    id: str
    reporter: str
    title: str
    text: str
    time: datetime
    cosigns: int = 0
    hall: str = ""


@dataclass
class Hotspot:
    """A cluster of messages about one problem."""

    title: str  # the title of its most typical message
    messages: list[Message] = field(default_factory=list)
    reporters: int = 0
    cosigns: int = 0
    growth: int = 0
    heat: float = 0.0

    @property
    def first(self) -> datetime:
        return min(m.time for m in self.messages)

    @property
    def last(self) -> datetime:
        return max(m.time for m in self.messages)

    @property
    def halls(self) -> list[str]:
        return sorted({m.hall for m in self.messages if m.hall})


def _document(m: Message) -> str:
    return normalise(f"{m.title} {m.title} {m.text[:TEXT_CHARS]}")


def cluster(messages: Sequence[Message]) -> list[list[int]]:
    """Indices of the messages, grouped by problem."""
    n = len(messages)
    if n == 0:
        return []
    if n == 1:
        return [[0]]
    vectorizer = TfidfVectorizer(
        analyzer="char",
        ngram_range=(2, 3),
        sublinear_tf=True,
        # A handful of messages cannot tell rare from common n-grams: weigh them alike.
        use_idf=n >= 50,
        min_df=1 if n < 50 else 2,
        max_df=1.0 if n < 50 else 0.05,
        dtype=np.float32,
    )
    try:
        x = vectorizer.fit_transform([_document(m) for m in messages])
    except ValueError:  # nothing left after the document-frequency cuts
        return [[i] for i in range(n)]
    similarity = (x @ x.T).toarray()
    np.clip(similarity, 0.0, 1.0, out=similarity)
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=LINK_DISTANCE,
    ).fit_predict(1.0 - similarity)
    k = int(labels.max()) + 1
    members = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    centres = normalize(members @ x)
    close = sp.csr_matrix((centres @ centres.T).toarray() >= MERGE_SIMILARITY)
    _, joined = connected_components(close, directed=False)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(joined[labels]):
        groups.setdefault(int(label), []).append(i)
    out = []
    for idx in groups.values():
        # Most typical first: the member closest to the others.
        sub = similarity[np.ix_(idx, idx)].sum(axis=1)
        out.append([idx[j] for j in np.argsort(-sub, kind="stable")])
    return out


def find_hotspots(
    messages: Sequence[Message],
    *,
    top: int = 10,
    until: datetime | None = None,
    growth_days: int = 7,
) -> list[Hotspot]:
    """The `top` hottest clusters among the messages (see the module docstring for heat)."""
    messages = sorted(messages, key=lambda m: m.time)[-MAX_MESSAGES:]
    if not messages:
        return []
    end = until or max(m.time for m in messages)
    recent = end - timedelta(days=growth_days)
    spots = []
    for idx in cluster(messages):
        group = [messages[i] for i in idx]
        reporters = len({m.reporter for m in group})
        cosigns = sum(m.cosigns for m in group)
        growth = len({m.reporter for m in group if m.time >= recent})
        spots.append(
            Hotspot(
                title=group[0].title or group[0].text[:30],
                messages=sorted(group, key=lambda m: m.time),
                reporters=reporters,
                cosigns=cosigns,
                growth=growth,
                heat=round(reporters + 2 * math.log1p(cosigns) + growth, 2),
            )
        )
    spots.sort(key=lambda s: (-s.heat, -s.reporters, s.title))
    return spots[:top]


def _time(value: str) -> datetime:
    value = value.strip()
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt)  # noqa: DTZ007 - the CSV has local times
        except ValueError:
            continue
    raise ValueError(f"unreadable time {value!r}")


def read_messages_csv(path: str | Path) -> list[Message]:
    """Messages from a CSV with the columns of hotspots/messages.csv (msg_id, user, title,
    time, detail, likes; likes count as co-signs)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"msg_id", "user", "title", "time", "detail"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        return [
            Message(
                id=r["msg_id"],
                reporter=r["user"],
                title=(r["title"] or "").strip(),
                text=(r["detail"] or "").strip(),
                time=_time(r["time"]),
                cosigns=int(r.get("likes") or 0),
            )
            for r in reader
        ]


def county_hotspots(
    county: Hall, since: datetime, until: datetime, *, top: int = 10
) -> list[Hotspot]:
    """The county's hotspots among requests filed in [since, until): for the leaders' page."""
    rows = (
        Request.objects.filter(
            origin_hall__path__startswith=county.path,
            created_at__gte=since,
            created_at__lt=until,
        )
        .exclude(status="rejected")
        .annotate(cosigners=Count("followers", filter=Q(followers__kind=FollowerKind.COSIGNER)))
        .values_list(
            "pk",
            "reporter_id",
            "reporter_phone",
            "title",
            "text",
            "created_at",
            "cosigners",
            "origin_hall__code",
        )
    )
    messages = [
        Message(
            id=str(pk),
            reporter=str(user or phone or f"request-{pk}"),
            title=title,
            text=text,
            time=created,
            cosigns=cosigners,
            hall=hall,
        )
        for pk, user, phone, title, text, created, cosigners, hall in rows
    ]
    return find_hotspots(messages, top=top, until=until)

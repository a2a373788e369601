"""Hotspots (热点): clusters of messages about the same problem, ranked for leaders.

Messages are compared by TF-IDF over character 2–3-grams of the title (counted twice) and the
start of the text, with n-grams common to more than 5% of messages left out, so that what
two messages share is the place and the problem rather than "投诉" or "小区". Average-linkage
clustering cuts where the mean similarity inside a cluster would fall below 0.17; clusters
whose centres are still close (cosine ≥ 0.4: the same problem in other words, 搅拌站/搅拌厂),
or loosely close (≥ 0.15) with a name that has a number in it (58车贷) in most titles of
both, are then joined, again with the joined clusters' centres until nothing more joins.
Two messages whose titles name different numbered roads or lines (东六线 / 东四线) and none
in common are never the same problem: their similarity is 0 and no join crosses them.

A cluster's heat = distinct reporters + 2·ln(1 + co-signs) + reporters in its last
`growth_days` days before the window ends (growth).
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
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
# Clusters whose texts are only loosely alike (centres' cosine at least this) are still joined
# when most titles of both name the same numbered name (58车贷, 12345热线): one case, one
# service, told from two sides (the police, the victims).
LOOSE_SIMILARITY = 0.15
# Joining is repeated with the joined clusters' centres at most this many times.
JOIN_ROUNDS = 5
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


# A numbered road, line or ring in a title (东六线, 3号线, 二环, 205路): its direction and
# number tell one place from its neighbour however alike the rest of the text is.
_NUMBERED_PLACE = re.compile(
    r"([东南西北]?)([0-9零一二三四五六七八九十百]+)(?:号线|线|路|街|巷|环)"
)
_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _number(text: str) -> int:
    """12 from "12" or "十二"; Chinese numerals up to 999."""
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for c in text:
        if c in _NUMERALS:
            digit = _NUMERALS[c]
        elif c == "十":
            total += (digit or 1) * 10
            digit = 0
        elif c == "百":
            total += (digit or 1) * 100
            digit = 0
    return total + digit


def numbered_places(title: str) -> frozenset[tuple[str, int]]:
    """The numbered roads and lines a title names, as (direction, number): 东六路 and 东六线
    are both ("东", 6), 地铁3号线 ("", 3)."""
    text = unicodedata.normalize("NFKC", title or "")
    return frozenset((d, _number(n)) for d, n in _NUMBERED_PLACE.findall(text))


# A name with a number in it (58车贷, 12345热线): digits, then two letters of a word that is not
# a unit, a date or a place (3号楼, 2019年, 500元 and 3号线 are not names).
_NUMBERED_NAME = re.compile(r"(?<![0-9A-Za-z])([0-9]{2,}[\u4e00-\u9fff]{2})")
_NOT_NAME = re.compile(
    "^[0-9]+(?:号|栋|幢|楼|层|室|单元|期|年|月|日|天|时|点|分|岁|万|元|块|个|人|户|家|米|亿"
    "|路|线|条|多|余|级|届|次|名|平|辆)"
)


def numbered_names(title: str) -> frozenset[str]:
    """The names with a number in them that a title gives (58车贷 in 请关注58车贷案)."""
    text = unicodedata.normalize("NFKC", title or "")
    return frozenset(w for w in _NUMBERED_NAME.findall(text) if not _NOT_NAME.match(w))


def _names(messages: Sequence[Message]) -> sp.csr_matrix:
    """A message x name matrix: 1 where the message's title gives the numbered name."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, m in enumerate(messages):
        for w in numbered_names(m.title):
            rows.append(i)
            cols.append(vocabulary.setdefault(w, len(vocabulary)))
    shape = (len(messages), max(1, len(vocabulary)))
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


def _conflicts(messages: Sequence[Message]) -> sp.csr_matrix:
    """Pairs of messages whose titles both name numbered places and no place in common
    (东六线以西 against 东四线以西): never the same problem."""
    n = len(messages)
    places = [numbered_places(m.title) for m in messages]
    named = [i for i in range(n) if places[i]]
    rows, cols = [], []
    for a, i in enumerate(named):
        for j in named[a + 1 :]:
            if places[i].isdisjoint(places[j]):
                rows += [i, j]
                cols += [j, i]
    return sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))


def _join(
    labels: np.ndarray, x: sp.csr_matrix, names: sp.csr_matrix, conflicts: sp.csr_matrix
) -> np.ndarray:
    """Join clusters whose centres are close (MERGE_SIMILARITY), or loosely close
    (LOOSE_SIMILARITY) with a numbered name in most titles of both, never across a
    conflicting pair; repeated with the joined clusters' centres until nothing more joins."""
    n = x.shape[0]
    conflicts = conflicts.astype(np.float64)
    for _ in range(JOIN_ROUNDS):
        k = int(labels.max()) + 1
        members = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
        centres = normalize(members @ x)
        # names[c, w]: the share of cluster c's titles that give name w.
        shares = normalize(members, norm="l1") @ names
        major = sp.csr_matrix(shares >= 0.5, dtype=np.float64)
        near = (centres @ centres.T).toarray()
        close = (near >= MERGE_SIMILARITY) | (
            (near >= LOOSE_SIMILARITY) & ((major @ major.T).toarray() > 0)
        )
        close &= (members @ conflicts @ members.T).toarray() == 0
        found, joined = connected_components(sp.csr_matrix(close), directed=False)
        labels = joined[labels]
        if found == k:
            break
    return labels


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
    conflicts = _conflicts(messages)
    similarity[conflicts.nonzero()] = 0.0
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=LINK_DISTANCE,
    ).fit_predict(1.0 - similarity)
    labels = _join(labels, x, _names(messages), conflicts)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
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

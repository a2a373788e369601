"""Suggesting a request's category and department (issue 6), and training from history.

Labels are category codes; a dispatched request without a category is learned as its
department alone, under the label "@<department code>". With no trained model yet, the
cold start scores each category by its name and keywords found in the text.
"""

from __future__ import annotations

import logging
import math
import pickle
import re
import time
import zlib
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from sklearn.metrics import f1_score

from yishiting.orgs.models import Category, Department, Hall, HallKind
from yishiting.requests.models import Request
from yishiting.requests.states import State
from yishiting.routing.classifier import RoutingClassifier, train
from yishiting.routing.models import RoutingModel, RoutingSettings
from yishiting.routing.text import normalise

log = logging.getLogger(__name__)

DEPARTMENT_PREFIX = "@"
# Training reads at most this many of the most recent dispatched requests (well under two
# minutes on two cores), and ignores labels with fewer examples than MIN_PER_LABEL.
MAX_TRAINING_SAMPLES = 30_000
MIN_PER_LABEL = 3
MIN_SAMPLES = 30
KEEP_MODELS = 3
# Requests whose department is settled enough to learn from.
LEARN_FROM = [
    State.DISPATCHED,
    State.CLAIMED,
    State.ON_HOLD,
    State.RESOLVED,
    State.CLOSED,
]


@dataclass(frozen=True)
class Suggestion:
    """Where a request probably belongs. `auto`: sure enough to dispatch without a person
    (only when the county has switched automatic dispatch on)."""

    category_code: str | None
    department_code: str | None
    confidence: float
    auto: bool
    source: str  # "model" or "keywords"


def _county(hall: Hall) -> Hall:
    return hall if hall.kind == HallKind.COUNTY else hall.county()


# Per process: (county id) -> (model row id, classifier), reloaded when a newer model exists.
_loaded: dict[int, tuple[int, RoutingClassifier]] = {}


def current_model(county: Hall) -> tuple[RoutingModel, RoutingClassifier] | None:
    """The newest trained model of the county, unpickled once per process."""
    row = RoutingModel.objects.filter(county=county).defer("blob").first()
    if row is None:
        return None
    cached = _loaded.get(county.pk)
    if cached is None or cached[0] != row.pk:
        blob = RoutingModel.objects.values_list("blob", flat=True).get(pk=row.pk)
        # Our own bytes, written by train_from_history into our own database.
        classifier = pickle.loads(zlib.decompress(bytes(blob)))
        _loaded[county.pk] = (row.pk, classifier)
    return row, _loaded[county.pk][1]


def decode_label(label: str, county: Hall) -> tuple[str | None, str | None]:
    """(category code, department code) for a model label, within the county."""
    if label.startswith(DEPARTMENT_PREFIX):
        code = label[len(DEPARTMENT_PREFIX) :]
        # A department renamed or removed since training is no suggestion.
        known = Department.objects.filter(county=county, code=code).exists()
        return None, code if known else None
    dept = (
        Category.objects.filter(code=label)
        .values_list("department__code", "department__county_id")
        .first()
    )
    if dept is None:
        return label, None
    code, dept_county = dept
    return label, code if dept_county == county.pk else None


def _settings(county: Hall) -> RoutingSettings:
    return RoutingSettings.objects.filter(county=county).first() or RoutingSettings(county=county)


def effective_threshold(model_threshold: float | None, settings: RoutingSettings) -> float:
    """The confidence needed for automatic dispatch: the model's cross-validated threshold,
    raised (never lowered) by the county's own minimum."""
    t = math.inf if model_threshold is None else model_threshold
    if settings.min_confidence is not None:
        t = max(t, settings.min_confidence)
    return t


def _keywords(category: Category) -> list[str]:
    words = [w for w in re.split(r"[\s,，、;；]+", category.keywords or "") if w]
    return [normalise(w) for w in [category.name, *words] if w]


def keyword_suggestion(county: Hall, text: str) -> Suggestion | None:
    """Cold start: the category whose name or keywords occur most in the text."""
    text = normalise(text)
    best: tuple[int, Category] | None = None
    categories = Category.objects.filter(
        Q(department__county=county) | Q(department__isnull=True)
    ).select_related("department")
    for category in categories:
        score = sum(len(w) for w in _keywords(category) if w and w in text)
        if score and (best is None or score > best[0]):
            best = (score, category)
    if best is None:
        return None
    score, category = best
    return Suggestion(
        category_code=category.code,
        department_code=category.department.code if category.department else None,
        # Characters matched, squashed into (0, 1): a hint for the dispatcher, never automatic.
        confidence=round(score / (score + 4), 3),
        auto=False,
        source="keywords",
    )


def suggest(hall: Hall, text: str, title: str = "") -> Suggestion | None:
    """The likely category and department of a new request in this hall's county, or None
    when nothing is known yet."""
    county = _county(hall)
    loaded = current_model(county)
    if loaded is None:
        return keyword_suggestion(county, f"{title} {text}")
    row, classifier = loaded
    prediction = classifier.predict_one(title, text)
    category_code, department_code = decode_label(prediction.label, county)
    settings = _settings(county)
    auto = (
        settings.auto_dispatch
        and department_code is not None
        and prediction.confidence >= effective_threshold(row.threshold, settings)
    )
    return Suggestion(
        category_code=category_code,
        department_code=department_code,
        confidence=round(prediction.confidence, 4),
        auto=auto,
        source="model",
    )


def auto_dispatch_target(req: Request) -> Suggestion | None:
    """For a request arriving at the county's assignment hall: the suggestion to dispatch it
    by, when the county allows automatic dispatch and the model is sure enough; else None."""
    suggestion = suggest(req.origin_hall, req.text, req.title)
    return suggestion if suggestion is not None and suggestion.auto else None


def history(county: Hall) -> tuple[list[str], list[str], list[str]]:
    """Titles, texts and labels of the county's dispatched requests, newest first."""
    rows = (
        Request.objects.filter(
            hall__path__startswith=f"/{county.code}/",
            department__isnull=False,
            status__in=[s.value for s in LEARN_FROM],
        )
        .order_by("-created_at")
        .values_list("title", "text", "category__code", "department__code")[:MAX_TRAINING_SAMPLES]
    )
    titles, texts, labels = [], [], []
    for title, text, category, department in rows:
        titles.append(title)
        texts.append(text)
        labels.append(category or f"{DEPARTMENT_PREFIX}{department}")
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    keep = [i for i, label in enumerate(labels) if counts[label] >= MIN_PER_LABEL]
    return [titles[i] for i in keep], [texts[i] for i in keep], [labels[i] for i in keep]


def _finite(value: float | None) -> float | None:
    """None for "no threshold" (never automatic), else the value; 0.0 is a real threshold."""
    return None if value is None or math.isinf(value) else value


def train_from_history(county: Hall, *, now: datetime | None = None) -> RoutingModel | None:
    """Train the county's classifier on its dispatched requests and store it; None (and the
    keyword cold start stays in use) while there are too few of them or fewer than two
    labels."""
    now = now or timezone.now()
    titles, texts, labels = history(county)
    if len(labels) < MIN_SAMPLES or len(set(labels)) < 2:
        log.info("routing: %s has %d usable requests, not training", county.code, len(labels))
        return None
    started = time.perf_counter()
    trained = train(RoutingClassifier, titles, texts, labels)
    oof = [p.label for p in trained.cv_predictions]
    row = RoutingModel.objects.create(
        county=county,
        created_at=now,
        samples=len(labels),
        labels=sorted(set(labels)),
        threshold=_finite(trained.model.threshold),
        cv_macro_f1=float(f1_score(labels, oof, average="macro")),
        train_seconds=time.perf_counter() - started,
        blob=zlib.compress(pickle.dumps(trained.model, protocol=pickle.HIGHEST_PROTOCOL)),
    )
    old = RoutingModel.objects.filter(county=county).values_list("pk", flat=True)[KEEP_MODELS:]
    RoutingModel.objects.filter(pk__in=list(old)).delete()
    return row


def train_all(*, now: datetime | None = None) -> list[RoutingModel]:
    """Retrain every county (what `yishiting routing-train` and the worker run)."""
    out = []
    for county in Hall.objects.filter(kind=HallKind.COUNTY):
        row = train_from_history(county, now=now)
        if row is not None:
            out.append(row)
    return out

"""Routing in API v1 (§7): the suggestion on a request, similar open requests, merge candidates.

The operations are registered in `yishiting.api.api` (before `/requests/{id}` and
`/requests/{id}/{verb}`, whose patterns would otherwise catch these paths)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Schema

from yishiting.api.schemas import RequestOut, request_out
from yishiting.core.errors import ForbiddenError, NotFoundError
from yishiting.core.masking import mask_text
from yishiting.orgs.models import Hall
from yishiting.orgs.scope import Actor
from yishiting.requests.queries import get_request, sees_personal_data
from yishiting.requests.states import STATE_LABELS, State
from yishiting.routing import arrival
from yishiting.routing.duplicates import Similar, merge_candidates, similar_open_requests

MAX_TEXT = 2000


class SuggestionOut(Schema):
    """Where the routing model (or, before it is trained, the category keywords) would send
    the request, computed once when it reached the assignment hall."""

    category: str | None
    category_name: str | None
    department: str | None
    department_name: str | None
    confidence: float = Field(..., description="margin of the best class (model) or 0–1 (keywords)")
    threshold: float | None = Field(
        ..., description="the confidence automatic dispatch needed; null: never automatic"
    )
    source: str = Field(..., description="model | keywords")
    auto_dispatched: bool
    created_at: datetime


class RequestDetailOut(RequestOut):
    """One request; `suggestion` only for its handlers (null for everyone else)."""

    suggestion: SuggestionOut | None = None


class SimilarOut(Schema):
    """An open request that looks like the text: co-sign it instead of filing again."""

    id: int
    title: str
    status: str
    status_label: str
    hall: str
    hall_name: str
    similarity: float = Field(..., description="estimated Jaccard similarity of bigrams, 0–1")
    created_at: datetime


class SimilarQuery(Schema):
    hall: str = Field(..., max_length=64, description="the hall the new request is filed in")
    text: str = Field(..., max_length=MAX_TEXT)
    title: str = Field("", max_length=200)
    limit: int = Field(5, ge=1, le=20)


def similar_out(found: list[Similar]) -> list[dict[str, Any]]:
    """Offers as JSON; titles are masked as on the public board (they may be another hall's)."""
    names = dict(
        Hall.objects.filter(code__in={s.hall_code for s in found}).values_list("code", "name")
    )
    return [
        {
            "id": s.request_id,
            "title": mask_text(s.title),
            "status": s.status,
            "status_label": str(STATE_LABELS[State(s.status)]),
            "hall": s.hall_code,
            "hall_name": names.get(s.hall_code, ""),
            "similarity": s.similarity,
            "created_at": s.created_at,
        }
        for s in found
    ]


def _who(request: HttpRequest) -> Actor:
    return Actor.of(request.user)  # type: ignore[arg-type]


def similar(request: HttpRequest, filters: Query[SimilarQuery]) -> list[dict[str, Any]]:
    """Open requests of the hall and its neighbours from the last 30 days that look like the
    text, most similar first (what the submit page offers while a resident types)."""
    hall = Hall.objects.filter(code=filters.hall).first()
    if hall is None:
        raise NotFoundError(f"hall {filters.hall} not found")
    found = similar_open_requests(
        hall, filters.text, timezone.now(), title=filters.title, limit=filters.limit
    )
    return similar_out(found)


def duplicates(request: HttpRequest, request_id: int) -> list[dict[str, Any]]:
    """The open requests this one most likely duplicates (merge candidates), for its
    handlers."""
    req = get_request(request_id)
    who = _who(request)
    if not sees_personal_data(who, req) or req.reporter_id == who.user.pk:
        raise ForbiddenError(f"only the handlers of request {request_id} see its duplicates")
    return similar_out(merge_candidates(req, timezone.now()))


def read_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """One request: everything to its handlers (with the routing suggestion), a masked public
    view to everyone else."""
    req = get_request(request_id)
    who = _who(request)
    out = request_out(req, who, now=timezone.now())
    out["suggestion"] = arrival.suggestion_out(arrival.for_viewer(req, who))
    return out

"""What the request page and the dispatcher's console show of routing: the stored
suggestion, and the merge candidates a liaison can merge with one tap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from yishiting.orgs.scope import Actor
from yishiting.requests.models import Request
from yishiting.requests.states import Verb
from yishiting.routing.models import RequestSuggestion


def suggestion(req: Request, who: Actor | None, verbs: list[str]) -> RequestSuggestion | None:
    """The suggestion to show on the request page: to its handlers, while it can still be
    dispatched or once the model dispatched it."""
    from yishiting.routing import arrival

    if who is None or (Verb.DISPATCH not in verbs and req.department_id is None):
        return None
    return arrival.for_viewer(req, who)


def merge_offers(req: Request, verbs: list[str], now: datetime) -> list[dict[str, Any]]:
    """The open requests `req` most likely duplicates, for whoever may merge it."""
    if Verb.MERGE not in verbs:
        return []
    from yishiting.routing.api import similar_out
    from yishiting.routing.duplicates import merge_candidates

    return similar_out(merge_candidates(req, now))


def console_suggestions(rows: list[dict[str, Any]]) -> None:
    """Put each waiting row's stored suggestion on it (one query for the whole list)."""
    ids = [r["id"] for r in rows]
    found: QuerySet[RequestSuggestion] = RequestSuggestion.objects.filter(
        request_id__in=ids
    ).select_related("department", "category")
    by_id = {s.request_id: s for s in found}
    for r in rows:
        r["suggestion"] = by_id.get(r["id"])

"""A request reaching the county's assignment hall: its suggestion, and automatic dispatch.

When a request is escalated into the assignment hall, `routing.hooks.on_event` queues a
`route_task` in the event's own transaction (so it is queued exactly when the escalation
commits). The worker then computes the suggestion once, stores
it (`RequestSuggestion`), and — when the county has switched automatic dispatch on and the
model is at least as sure as the threshold — dispatches it through `actions.do_dispatch`
with no person as actor. Below the threshold nothing happens but the stored suggestion,
which the dispatcher's console, the request page and API v1 show.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from yishiting.core.errors import ActionError
from yishiting.orgs.models import Category, Department, HallKind
from yishiting.orgs.scope import Actor
from yishiting.requests import actions
from yishiting.requests.models import Request
from yishiting.requests.states import State
from yishiting.routing import suggest as routing
from yishiting.routing.models import RequestSuggestion

log = logging.getLogger("yishiting.routing")

# Where a request waits for the dispatcher's decision.
WAITING = (State.ESCALATED, State.ACKNOWLEDGED)


def _threshold(req: Request) -> float | None:
    """The confidence automatic dispatch needs in the request's county now; None: never."""
    county = routing._county(req.origin_hall)
    loaded = routing.current_model(county)
    if loaded is None:
        return None
    value = routing.effective_threshold(loaded[0].threshold, routing._settings(county))
    return None if math.isinf(value) else value


def record_suggestion(req: Request, now: datetime) -> tuple[RequestSuggestion, bool] | None:
    """Compute the request's suggestion and store it; (row, sure enough to dispatch
    automatically), or None when nothing is known (no model and no keyword matched)."""
    found = routing.suggest(req.origin_hall, req.text, req.title)
    if found is None:
        return None
    county_id = routing._county(req.origin_hall).pk
    category = (
        Category.objects.filter(code=found.category_code).first() if found.category_code else None
    )
    department = (
        Department.objects.filter(county_id=county_id, code=found.department_code).first()
        if found.department_code
        else None
    )
    row, _created = RequestSuggestion.objects.update_or_create(
        request_id=req.pk,
        defaults={
            "category": category,
            "department": department,
            "confidence": found.confidence,
            "source": found.source,
            "threshold": _threshold(req) if found.source == "model" else None,
            "created_at": now,
        },
    )
    return row, found.auto and department is not None


def route(request_id: int, *, now: datetime | None = None) -> str:
    """The worker's part: store the suggestion; dispatch automatically when allowed and sure.
    Returns what was done: "dispatched", "suggested", "nothing" or "skipped"."""
    now = now or timezone.now()
    with transaction.atomic():
        req = (
            Request.objects.select_related("hall", "origin_hall", "department", "category")
            .filter(pk=request_id)
            .first()
        )
        # Someone was quicker (dispatched, rejected, merged) or it is elsewhere now.
        if req is None or req.hall.kind != HallKind.ASSIGNMENT or req.department_id is not None:
            return "skipped"
        if req.status not in WAITING:
            return "skipped"
        recorded = record_suggestion(req, now)
        if recorded is None:
            return "nothing"
        row, sure = recorded
        # A request a department has returned once is the dispatcher's to decide (§3.1).
        if not sure or req.return_count or req.pending_review:
            return "suggested"
        try:
            actions.do_dispatch(
                req,
                actor=None,
                department=row.department,
                category=row.category,
                confidence=row.confidence,
                now=now,
            )
        except ActionError as exc:  # a person acted first: their decision stands
            log.info("request %s not dispatched automatically: %s", request_id, exc.message)
            return "suggested"
        RequestSuggestion.objects.filter(pk=row.pk).update(auto_dispatched=True)
        return "dispatched"


def stored(req: Request) -> RequestSuggestion | None:
    """The request's stored suggestion, if it has one."""
    return (
        RequestSuggestion.objects.select_related("category", "department")
        .filter(request_id=req.pk)
        .first()
    )


def for_viewer(req: Request, who: Actor | None, *, now: datetime | None = None) -> Any:
    """The suggestion to show `who`: the stored one to the request's handlers; a dispatcher
    opening a waiting request that has none yet (it arrived before routing was on) gets one
    computed and stored now. None for everyone else."""
    if who is None:
        return None
    from yishiting.requests.queries import sees_personal_data

    if not sees_personal_data(who, req) or req.reporter_id == who.user.pk:
        return None
    row = stored(req)
    if (
        row is None
        and req.hall.kind == HallKind.ASSIGNMENT
        and req.department_id is None
        and req.status in WAITING
        and who.dispatches_for(req.hall)
    ):
        recorded = record_suggestion(req, now or timezone.now())
        row = stored(req) if recorded is not None else None
    return row


def suggestion_out(row: RequestSuggestion | None) -> dict[str, Any] | None:
    """A stored suggestion as API v1 shows it."""
    if row is None:
        return None
    return {
        "category": row.category.code if row.category else None,
        "category_name": row.category.name if row.category else None,
        "department": row.department.code if row.department else None,
        "department_name": row.department.name if row.department else None,
        "confidence": row.confidence,
        "threshold": row.threshold,
        "source": row.source,
        "auto_dispatched": row.auto_dispatched,
        "created_at": row.created_at,
    }

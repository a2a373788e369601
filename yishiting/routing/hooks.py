"""What an event sets off in routing (called from `requests.effects.write`,
inside the event's transaction).

Kept free of the model code (scikit-learn loads only in the worker that needs it): when a
request is escalated into the county's assignment hall, a `route_task` is queued in the
event's own transaction; `routing.arrival.route` does the rest in the worker. When an event
moves a request into or out of the open states, its duplicate fingerprint's `open` flag
follows in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from yishiting.orgs.models import HallKind
from yishiting.requests.states import OPEN, Verb

if TYPE_CHECKING:
    from yishiting.requests.models import Event, Request


def enqueue(call: Callable[[], Any]) -> None:
    """Queue a task in the caller's transaction. The database backend's row commits (or rolls
    back) with it; any other backend (the immediate one runs the task at once) only after
    the commit, so a task never acts on a state that is not yet written."""
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        call()
    else:
        transaction.on_commit(call)


def on_event(event: Event, before: Request | None, after: Request) -> None:
    """Keep the fingerprint's open flag; queue the routing of a request that has just been
    escalated into the assignment hall."""
    if before is not None and (before.status in OPEN) != (after.status in OPEN):
        from yishiting.routing.models import Fingerprint

        Fingerprint.objects.filter(request_id=after.pk).update(open=after.status in OPEN)
    if event.verb != Verb.ESCALATE or after.department_id is not None:
        return
    if after.hall.kind != HallKind.ASSIGNMENT:
        return
    from yishiting.routing.tasks import route_task

    pk = after.pk
    enqueue(lambda: route_task.enqueue(pk))

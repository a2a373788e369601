"""django-tasks-db rows left RUNNING by a worker that died (`kill -9`, power cut, OOM).

django-tasks-db marks a task RUNNING when a worker takes it and never looks at it again if
that worker dies. Nothing timed depends on tasks (deadlines live on the requests and the sweep
acts on them), and the outbox re-enqueues a destination whose rows wait longer than a lease
(`outbox.recover`), so no work is lost; but the row would say "running" forever. This puts it
right: a task whose worker is gone runs again when it is safe to (delivery is guarded by its
destination's lease), and is marked failed ("worker lost") otherwise.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

log = logging.getLogger("yishiting.worker")

# Tasks that may run twice: `deliver(key)` leases its destination and sends only pending rows.
SAFE_TO_RERUN = {"yishiting.notify.tasks.deliver_task"}


class WorkerLost(Exception):
    """The worker running this task died before finishing it."""


def worker_id() -> str:
    """This process's worker id (host and pid), as the in-process worker registers it."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _gone(worker: str) -> bool:
    """True when `worker` ran on this host and its process no longer exists."""
    host, _, pid = worker.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stale_after() -> timedelta:
    """How long a task may be RUNNING before it counts as lost whoever runs it: two leases."""
    from django.conf import settings

    return timedelta(seconds=2 * float(getattr(settings, "NOTIFY_LEASE_SECONDS", 60)))


def is_lost(worker_ids: list[str], started_at: datetime | None, now: datetime) -> bool:
    """Whether a RUNNING task's worker is gone (here) or it has run too long (anywhere)."""
    if started_at is None or started_at <= now - stale_after():
        return True
    return bool(worker_ids) and _gone(worker_ids[-1])


def recover(now: datetime | None = None) -> int:
    """Re-queue (or fail) RUNNING tasks whose worker is gone: at once when it ran on this host
    and its process has exited, else once the task has run longer than `stale_after()`.
    Returns how many rows were put right."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only(
        "id", "task_path", "worker_ids", "started_at"
    )
    fixed = 0
    for row in running[:500]:
        if not is_lost(row.worker_ids, row.started_at, now):
            continue
        last = row.worker_ids[-1] if row.worker_ids else ""
        again = DBTaskResult.objects.filter(Q(pk=row.pk), status=TaskResultStatus.RUNNING)
        if row.task_path in SAFE_TO_RERUN:
            fixed += again.update(status=TaskResultStatus.READY, started_at=None)
        else:
            fixed += again.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"worker {last or '?'} died while running this task",
            )
    if fixed:
        log.warning("put right %s task(s) a dead worker left running", fixed)
    return fixed

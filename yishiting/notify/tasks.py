"""The outbox's django-tasks task: deliver one destination's queue."""

from __future__ import annotations

from django_tasks import task

from yishiting.notify import outbox


@task()
def deliver_task(key: str) -> str:
    """Send what is due for one destination (outbox.deliver)."""
    return outbox.deliver(key)

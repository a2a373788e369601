"""站内消息: a person's in-app notifications, written by the outbox (yishiting.notify)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from yishiting.notify import queries
from yishiting.notify.models import Notification

SHOWN = 100


@login_required
def messages(request: HttpRequest) -> HttpResponse:
    """The newest in-app notifications; those shown for the first time are marked read."""
    items = list(queries.inbox(request.user)[:SHOWN])  # type: ignore[arg-type]
    unread = [n.pk for n in items if n.read_at is None]
    response = render(request, "web/messages.html", {"items": items, "unread": set(unread)})
    Notification.objects.filter(pk__in=unread, read_at__isnull=True).update(read_at=timezone.now())
    return response

"""Lists the pages show: a person's inbox, and the return visits (回访) a liaison owes."""

from __future__ import annotations

from django.db.models import QuerySet

from yishiting.notify.models import Notification, NotifyChannel
from yishiting.orgs.models import Membership, Role, User
from yishiting.requests.models import Request
from yishiting.requests.states import State


def inbox(user: User) -> QuerySet[Notification]:
    """A person's in-app notifications, newest first."""
    return Notification.objects.filter(user=user, channel=NotifyChannel.IN_APP).order_by("-id")


def return_visits(user: User) -> QuerySet[Request]:
    """Requests closed without any rating in the halls this person is liaison or manager of
    (首接负责: the first hall), oldest first: each waits for a return visit (do_visit)."""
    halls = Membership.objects.filter(
        user=user, role__in=[Role.LIAISON, Role.MANAGER], hall__isnull=False
    ).values("hall_id")
    return Request.objects.filter(
        status=State.CLOSED, rating="", appeal_approved=False, origin_hall_id__in=halls
    ).order_by("closed_at", "id")

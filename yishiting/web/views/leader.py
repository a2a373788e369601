"""The leader's plain read-only list of requests in their scope (the dashboard comes apart)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from yishiting.core.errors import ForbiddenError
from yishiting.orgs.models import Role
from yishiting.requests.queries import visible_requests
from yishiting.requests.states import STATE_CHOICES
from yishiting.web.views.common import actor_of, error_response, rows


@login_required
def requests_list(request: HttpRequest) -> HttpResponse:
    """Every request a leader may read, filtered by state and overdue, newest first."""
    who = actor_of(request)
    assert who is not None
    if not (who.is_admin or any(m.role == Role.LEADER for m in who.memberships)):
        return error_response(request, ForbiddenError(_("此页面只对领导开放")))
    qs = visible_requests(who).order_by("-created_at", "-id")
    status = request.GET.get("status", "")
    if status in dict(STATE_CHOICES):
        qs = qs.filter(status=status)
    if request.GET.get("overdue"):
        qs = qs.filter(overdue=True)
    page = Paginator(qs.values_list("pk", flat=True), 30).get_page(request.GET.get("page"))
    items = rows(
        visible_requests(who).filter(pk__in=list(page.object_list)).order_by("-created_at", "-id"),
        who,
    )
    ctx = {
        "rows": items,
        "page": page,
        "status": status,
        "states": STATE_CHOICES,
        "overdue": bool(request.GET.get("overdue")),
    }
    return render(request, "web/leader.html", ctx)

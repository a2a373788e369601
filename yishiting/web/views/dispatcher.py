"""The dispatcher console (部门集中交办): incoming escalations, returns and extensions to decide."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from yishiting.core.errors import ForbiddenError
from yishiting.orgs.models import HallKind, Role
from yishiting.requests.queries import visible_requests
from yishiting.requests.states import OPEN, Pending, State
from yishiting.routing import panel as routing_panel
from yishiting.web.views.common import actor_of, error_response, rows


@login_required
def console(request: HttpRequest) -> HttpResponse:
    """The assignment hall's work: to dispatch, returns to review, extensions, ratings to review,
    and overdue department work to supervise."""
    who = actor_of(request)
    assert who is not None
    counties = {m.hall.county_code for m in who.memberships if m.role == Role.DISPATCHER and m.hall}
    if not counties:
        return error_response(request, ForbiddenError(_("此页面只对交办员开放")))
    in_county = Q()
    for code in counties:
        in_county |= Q(hall__path__startswith=f"/{code}/")
    county = visible_requests(who).filter(in_county)
    at_hall = county.filter(hall__kind=HallKind.ASSIGNMENT)
    sections = [
        (
            "incoming",
            _("待派单"),
            at_hall.filter(
                status__in=[State.ESCALATED, State.ACKNOWLEDGED], department__isnull=True
            ).exclude(pending_review=Pending.RETURN),
        ),
        ("returns", _("退单待审核"), county.filter(pending_review=Pending.RETURN)),
        (
            "extensions",
            _("延期申请"),
            county.filter(extension_until__isnull=False, department__isnull=False),
        ),
        (
            "ratings",
            _("评价待复核"),
            county.filter(pending_review__in=[Pending.RATING, Pending.APPEAL]),
        ),
        (
            "overdue",
            _("超时待督办"),
            county.filter(overdue=True, status__in=list(OPEN), department__isnull=False),
        ),
    ]
    listed: list[dict[str, Any]] = [
        {"key": k, "title": t, "rows": rows(qs.order_by("next_due_at", "-id"), who)}
        for k, t, qs in sections
    ]
    routing_panel.console_suggestions(listed[0]["rows"])  # 待派单: the suggestion to pick
    ctx = {"sections": listed}
    template = "web/_sections.html" if request.GET.get("fragment") else "web/console.html"
    return render(request, template, {**ctx, "page_title": _("交办中心"), "live": "county"})

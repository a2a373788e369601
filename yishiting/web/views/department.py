"""The department workbench: dispatched to us (claim, return), in progress (hold, resolve)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from yishiting.core.errors import ForbiddenError
from yishiting.requests.models import Part
from yishiting.requests.queries import visible_requests
from yishiting.requests.states import PART_OPEN, State
from yishiting.web.views.common import READY_REPLIES, actor_of, error_response, rows


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """Requests dispatched to the officer's departments, by stage."""
    who = actor_of(request)
    assert who is not None
    if not who.departments:
        return error_response(request, ForbiddenError(_("此页面只对部门人员开放")))
    mine = visible_requests(who).filter(department__in=who.departments)
    # parts this department still has to claim, post or have reviewed (主办/协办)
    assisting = Part.objects.filter(department__in=who.departments, status__in=PART_OPEN).values(
        "request_id"
    )
    sections = [
        ("dispatched", _("待签收"), mine.filter(status=State.DISPATCHED)),
        ("working", _("办理中"), mine.filter(status__in=[State.CLAIMED, State.ON_HOLD])),
        ("resolved", _("已办结待评价"), mine.filter(status=State.RESOLVED)),
        ("assisting", _("协办"), visible_requests(who).filter(pk__in=assisting)),
    ]
    ctx = {
        "sections": [
            {"key": k, "title": t, "rows": rows(qs.order_by("next_due_at", "-id"), who)}
            for k, t, qs in sections
        ],
        "page_title": _("部门工作台") + " · " + "、".join(d.name for d in who.departments),
        "ready": READY_REPLIES[0],
        "live": "dept",
    }
    template = "web/_sections.html" if request.GET.get("fragment") else "web/console.html"
    return render(request, template, ctx)

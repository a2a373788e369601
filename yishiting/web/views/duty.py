"""The duty console (专人值守): during a shift, every due and overdue request of the county."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from yishiting.core.errors import ForbiddenError
from yishiting.orgs.models import DutyShift, Role
from yishiting.requests.queries import visible_requests
from yishiting.requests.states import OPEN
from yishiting.web.views.common import actor_of, error_response, rows

# "Due" on the duty console: a deadline within this long.
DUE_SOON = timedelta(hours=2)


@login_required
def console(request: HttpRequest) -> HttpResponse:
    """Overdue and soon-due open requests of the county, while the officer is on shift."""
    who = actor_of(request)
    assert who is not None
    if not any(m.role == Role.DUTY for m in who.memberships):
        return error_response(request, ForbiddenError(_("此页面只对值守人员开放")))
    now = timezone.now()
    shift = DutyShift.objects.filter(user=who.user, starts_at__lte=now, ends_at__gt=now).first()
    sections = []
    if shift is not None:
        county = visible_requests(who).filter(
            hall__path__startswith=f"/{shift.county.code}/", status__in=list(OPEN)
        )
        sections = [
            ("overdue", _("已超时"), county.filter(overdue=True)),
            (
                "due",
                _("即将到期"),
                county.filter(overdue=False).filter(
                    Q(next_due_at__lte=now + DUE_SOON) | Q(respond_by__lte=now + DUE_SOON)
                ),
            ),
        ]
    ctx = {
        "sections": [
            {"key": k, "title": t, "rows": rows(qs.order_by("next_due_at", "-id"), who)}
            for k, t, qs in sections
        ],
        "page_title": _("值守台"),
        "shift": shift,
        "off_shift": shift is None,
        "live": "county",
        # 转办 is the first button on a dispatched request's row (_row.html)
        "forward_first": True,
    }
    template = "web/_sections.html" if request.GET.get("fragment") else "web/console.html"
    return render(request, template, ctx)

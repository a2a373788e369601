"""Liaison pages: the inbox of their halls with live countdowns, and quick capture."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from yishiting.core.errors import ActionError, ForbiddenError
from yishiting.core.masking import extract_contact
from yishiting.notify.queries import return_visits
from yishiting.orgs.models import Hall, Role
from yishiting.orgs.scope import Actor
from yishiting.requests.models import Channel
from yishiting.requests.queries import visible_requests
from yishiting.requests.states import OPEN
from yishiting.web.views.common import (
    READY_REPLIES,
    actor_of,
    error_response,
    new_submit_key,
    rows,
    submit_form,
)
from yishiting.web.views.deliberation import deliberation_links


def handled_halls(who: Actor) -> list[Hall]:
    """The halls a liaison or manager answers for (a manager's subtree is matched by path)."""
    return [m.hall for m in who.memberships if m.role in (Role.LIAISON, Role.MANAGER) and m.hall]


def _forbidden(request: HttpRequest) -> HttpResponse:
    return error_response(request, ForbiddenError(_("此页面只对本厅联络员和管理员开放")))


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Open requests where the liaison's halls must act, the most pressing first."""
    who = actor_of(request)
    assert who is not None
    halls = handled_halls(who)
    if not halls:
        return _forbidden(request)
    here = Q()
    for h in halls:
        here |= (
            Q(hall__path__startswith=h.path)
            if any(m.role == Role.MANAGER and m.hall_id == h.pk for m in who.memberships)
            else Q(hall_id=h.pk)
        )
    qs = visible_requests(who).filter(here, status__in=list(OPEN)).order_by("next_due_at", "-id")
    ctx = {
        "rows": rows(qs, who),
        # closed without a rating: each waits for a return visit (回访) by phone or in person
        "visits": rows(return_visits(who.user), who),
        "halls": halls,
        "ready": READY_REPLIES[0],
        "delib_links": deliberation_links(who),
    }
    template = "web/_inbox_rows.html" if request.GET.get("fragment") else "web/inbox.html"
    return render(request, template, ctx)


@login_required
def capture(request: HttpRequest) -> HttpResponse:
    """Quick capture: paste a chat message (and its photos) to file it for a resident."""
    who = actor_of(request)
    assert who is not None
    halls = handled_halls(who)
    if not halls:
        return _forbidden(request)
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            req = submit_form(
                request,
                actor=who,
                hall=request.POST.get("hall", ""),
                text=request.POST.get("text", ""),
                reporter_name=request.POST.get("name", "").strip(),
                reporter_phone=request.POST.get("phone", "").strip(),
                address=request.POST.get("address", "").strip(),
                channel=Channel.CAPTURE,
                photos=request.FILES.getlist("photos"),
                voice=request.FILES.get("voice"),
            )
        except ActionError as exc:
            return render(
                request,
                "web/capture.html",
                {
                    "halls": halls,
                    "form": form,
                    "error": exc.message,
                    "submit_key": request.POST.get("submit_key") or new_submit_key(),
                },
                status=exc.status,
            )
        return redirect(f"/r/{req.pk}/")
    return render(
        request,
        "web/capture.html",
        {"halls": halls, "form": form, "submit_key": new_submit_key()},
    )


@login_required
def capture_parse(request: HttpRequest) -> JsonResponse:
    """The phone number and place found in a pasted message, to pre-fill the capture form."""
    phone, place = extract_contact(request.POST.get("text", "")[:4000])
    return JsonResponse({"phone": phone or "", "place": place or ""})

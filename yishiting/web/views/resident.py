"""Resident pages: a hall's page (submit in 30 s), similar requests, my requests, follow-up code."""

from __future__ import annotations

import io

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from yishiting.core.errors import ActionError, InvalidError
from yishiting.core.masking import mask_text
from yishiting.deliberation.register import REGISTER_KINDS
from yishiting.orgs.models import Hall, HallKind
from yishiting.requests.models import Channel, Follower, Request
from yishiting.requests.queries import visible_requests
from yishiting.routing.duplicates import similar_open_requests
from yishiting.web.views.common import actor_of, error_response, new_submit_key, rows, submit_form

# Halls a resident cannot raise a problem in directly (§3: they are where problems climb to).
NO_SUBMIT = (HallKind.COUNTY, HallKind.ASSIGNMENT)
# The codes an anonymous visitor submitted in this browser, newest first.
SESSION_CODES = "follow_codes"


def _hall(code: str) -> Hall:
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        raise Http404(_("找不到该议事厅"))
    return hall


def _float(value: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidError(_("位置格式不对")) from None


def hall_page(request: HttpRequest, code: str) -> HttpResponse:
    """A hall's page, reached by its link or QR code: raise a problem here."""
    hall = _hall(code)
    if hall.kind in NO_SUBMIT:
        return redirect(f"/h/{hall.code}/board/")
    who = actor_of(request)
    if request.method == "POST":
        try:
            req = submit_form(
                request,
                actor=who,
                hall=hall,
                text=request.POST.get("text", ""),
                anonymous=bool(request.POST.get("anonymous")),
                reporter_name=request.POST.get("name", "").strip(),
                reporter_phone=request.POST.get("phone", "").strip(),
                address=request.POST.get("address", "").strip(),
                lat=_float(request.POST.get("lat", "")),
                lng=_float(request.POST.get("lng", "")),
                channel=Channel.WEB,
                photos=request.FILES.getlist("photos"),
                voice=request.FILES.get("voice"),
            )
        except ActionError as exc:
            if request.headers.get("HX-Request"):
                return error_response(request, exc)
            return render(
                request,
                "web/hall.html",
                {
                    "hall": hall,
                    "error": exc.message,
                    "form": request.POST,
                    "submit_key": request.POST.get("submit_key") or new_submit_key(),
                    **_delib(hall),
                },
                status=exc.status,
            )
        earlier = [c for c in request.session.get(SESSION_CODES, []) if c != req.follow_code]
        codes = [req.follow_code, *earlier][:20]
        request.session[SESSION_CODES] = codes
        return redirect(f"/submitted/{req.follow_code}/")
    return render(
        request,
        "web/hall.html",
        {"hall": hall, "form": {}, "submit_key": new_submit_key(), **_delib(hall)},
    )


def _delib(hall: Hall) -> dict[str, bool]:
    """Whether the hall page links to the hall's deliberation (villages, communities, compounds)."""
    return {"deliberates": hall.kind in REGISTER_KINDS}


def submitted(request: HttpRequest, code: str) -> HttpResponse:
    """After submitting: the follow-up code to keep, and a link to follow the request."""
    req = Request.objects.filter(follow_code=code.upper()).first()
    if req is None or code.upper() not in request.session.get(SESSION_CODES, []):
        raise Http404(_("找不到该诉求"))
    return render(request, "web/submitted.html", {"req": req})


def qr_svg(request: HttpRequest, code: str) -> HttpResponse:
    """The hall's QR code (an SVG made here, no service called) pointing at its page."""
    hall = _hall(code)
    out = io.BytesIO()
    segno.make(request.build_absolute_uri(f"/h/{hall.code}/"), error="m").save(
        out, kind="svg", scale=6, border=2
    )
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


def similar(request: HttpRequest, code: str) -> HttpResponse:
    """While typing: open requests of this hall and its neighbours from the last 30 days that
    look like the text (routing.duplicates, the same lookup as API v1's /requests/similar)."""
    hall = _hall(code)
    text = request.GET.get("text", "").strip()[:500]
    found = similar_open_requests(hall, text, timezone.now(), limit=3) if len(text) >= 4 else []
    items = [{"id": s.request_id, "title": mask_text(s.title), "status": s.status} for s in found]
    return render(
        request,
        "web/_similar.html",
        {"items": items, "logged_in": request.user.is_authenticated, "hall": hall},
    )


def my_requests(request: HttpRequest) -> HttpResponse:
    """What I raised or follow (logged in), or what this browser submitted (visitors)."""
    who = actor_of(request)
    if who is not None:
        followed = Follower.objects.filter(user=who.user).values("request_id")
        qs = visible_requests(who).filter(pk__in=followed).order_by("-created_at")
    else:
        codes = request.session.get(SESSION_CODES, [])
        qs = Request.objects.filter(follow_code__in=codes).select_related(
            "hall", "origin_hall", "department", "category"
        )
    return render(request, "web/my.html", {"rows": rows(qs, who), "codes": who is None})


def follow(request: HttpRequest) -> HttpResponse:
    """Anonymous residents follow a request by its follow-up code (查询码)."""
    code = request.GET.get("code", "").strip().upper().replace(" ", "")
    error = ""
    if code:
        req = Request.objects.filter(follow_code=code).first()
        if req is not None:
            return redirect(f"/r/{req.pk}/")
        error = _("没有这个查询码，请核对后再试")
    return render(
        request, "web/follow.html", {"code": code, "error": error}, status=404 if error else 200
    )

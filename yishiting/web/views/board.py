"""The public board (公开晾晒) of a hall, and of the county when the hall is the county."""

from __future__ import annotations

from collections import defaultdict

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from yishiting.api.schemas import photo_out
from yishiting.orgs.models import Hall
from yishiting.requests.models import Attachment, Request
from yishiting.requests.states import Verb
from yishiting.web.views.common import actor_of, rows

PAGE_SIZE = 30


def board(request: HttpRequest, code: str) -> HttpResponse:
    """Every request of the hall's subtree, newest first: state, elapsed time, proof photos;
    personal data masked for everyone but its handlers (§6)."""
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        raise Http404(_("找不到该议事厅"))
    qs = Request.objects.filter(hall__path__startswith=hall.path).select_related(
        "hall", "origin_hall", "department", "category"
    )
    page = Paginator(qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = [r.pk for r in page.object_list]
    items = rows(
        Request.objects.filter(pk__in=ids)
        .select_related("hall", "origin_hall", "department", "category", "reporter")
        .order_by("-created_at", "-id"),
        actor_of(request),
        limit=PAGE_SIZE,
    )
    proofs = defaultdict(list)
    for a in Attachment.objects.filter(
        request_id__in=ids, event__verb=Verb.RESOLVE, event__public=True
    ).order_by("id"):
        proofs[a.request_id].append(photo_out(a))
    for item in items:
        item["proofs"] = proofs.get(item["id"], [])[:3]
    template = "web/_board_rows.html" if request.GET.get("fragment") else "web/board.html"
    return render(request, template, {"hall": hall, "rows": items, "page": page})

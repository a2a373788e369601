"""The leaders' hotspots page (热点): problems many people raise across halls, ranked by
reporters, co-signs and growth, with the 每月一题 (problem of the month) candidates.

The clustering runs in the worker (`routing.jobs`, hourly snapshots); the page reads the
newest snapshot of the picked period and narrows it to the leader's part of the tree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yishiting.core.errors import ActionError, InvalidError
from yishiting.orgs.models import Hall
from yishiting.routing import jobs
from yishiting.web.views.common import actor_of, error_response
from yishiting.web.views.leader import breadcrumbs, scope_hall

PERIOD_LABELS = {
    7: gettext_lazy("近7天"),
    30: gettext_lazy("近30天"),
    90: gettext_lazy("近90天"),
}


def _days(request: HttpRequest) -> int:
    raw = request.GET.get("days", "30")
    if not raw.isdigit() or int(raw) not in jobs.HOTSPOT_PERIODS:
        raise InvalidError(_("时段只能是 7、30 或 90 天"))
    return int(raw)


def _in_scope(spots: list[dict[str, Any]], hall: Hall) -> list[dict[str, Any]]:
    """The hotspots with at least one request from inside `hall`'s subtree, each with the
    names of its halls."""
    codes = {c for s in spots for c in s["halls"]}
    halls = {h.code: h for h in Hall.objects.filter(code__in=codes)}
    out = []
    for s in spots:
        mine = [halls[c] for c in s["halls"] if c in halls]
        if not any(hall.contains(h) for h in mine):
            continue
        out.append(
            {
                **s,
                "hall_names": [h.name for h in mine],
                "first": datetime.fromisoformat(s["first"]),
                "last": datetime.fromisoformat(s["last"]),
            }
        )
    return out


@login_required
def hotspots(request: HttpRequest) -> HttpResponse:
    """热点: the top clusters of the period and the 每月一题 candidates among them."""
    who = actor_of(request)
    assert who is not None
    try:
        root, hall = scope_hall(who, request.GET.get("hall"))
        days = _days(request)
    except ActionError as exc:
        return error_response(request, exc)
    snapshot = jobs.latest_snapshot(hall.county(), days)
    spots = _in_scope(snapshot.hotspots, hall)
    ctx = {
        "hall": hall,
        "root": root,
        "crumbs": breadcrumbs(root, hall),
        "days": days,
        "periods": [(d, PERIOD_LABELS[d]) for d in jobs.HOTSPOT_PERIODS],
        "snapshot": snapshot,
        "spots": spots,
        "candidates": [s for s in spots if s["monthly_candidate"]],
        "min_reporters": jobs.MONTHLY_MIN_REPORTERS,
    }
    return render(request, "web/hotspots.html", ctx)

"""Routing's timed work, driven by the worker's housekeeping loop (no scheduler of its own):
the nightly retraining of each county's classifier and the hotspot snapshots of the leaders'
page. `tick(now)` only decides what is due and queues tasks; the tasks do the work."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yishiting.core.masking import mask_text
from yishiting.orgs.models import Hall, HallKind
from yishiting.routing import hooks
from yishiting.routing.hotspots import Hotspot, county_hotspots
from yishiting.routing.models import HotspotSnapshot, RoutingSettings
from yishiting.routing.suggest import train_from_history

log = logging.getLogger("yishiting.routing")

# Retrain after this local hour each night (the quietest hours of a county's day).
RETRAIN_HOUR = 2
# The periods the leaders' page offers, in days, and how stale a snapshot may get.
HOTSPOT_PERIODS = (7, 30, 90)
HOTSPOT_MAX_AGE = timedelta(hours=1)
HOTSPOT_TOP = 10
KEEP_SNAPSHOTS = 3
# 每月一题 candidates: a problem several people raised, the hottest first.
MONTHLY_MIN_REPORTERS = 3
MONTHLY_CANDIDATES = 5
# Request ids listed per hotspot on the page (the rest are counted).
LISTED_REQUESTS = 50


def claim_retraining(county: Hall, now: datetime) -> bool:
    """Whether this worker starts tonight's retraining of the county: a conditional update of
    its settings row, so of two workers only one wins, and a restart does not train again."""
    today = timezone.localdate(now)
    if timezone.localtime(now).hour < RETRAIN_HOUR:
        return False
    RoutingSettings.objects.get_or_create(county=county)
    won = (
        RoutingSettings.objects.filter(county=county)
        .filter(Q(retrained_on__isnull=True) | Q(retrained_on__lt=today))
        .update(retrained_on=today)
    )
    return won == 1


# Per process: when this worker last queued a county's snapshots, so a busy queue is not
# handed the same refresh every five minutes while the first still waits its turn.
_hotspots_queued: dict[int, datetime] = {}


def _stale_hotspots(county: Hall, now: datetime) -> bool:
    queued = _hotspots_queued.get(county.pk)
    if queued is not None and queued > now - HOTSPOT_MAX_AGE:
        return False
    newest = (
        HotspotSnapshot.objects.filter(county=county).values_list("computed_at", flat=True).first()
    )
    return newest is None or newest < now - HOTSPOT_MAX_AGE


def tick(now: datetime | None = None) -> list[str]:
    """Queue what is due: tonight's retraining of each county not yet retrained, and a fresh
    hotspot snapshot where the newest is over an hour old. Returns what was queued."""
    from yishiting.routing.tasks import hotspots_task, retrain_task

    now = now or timezone.now()
    queued = []
    for county in Hall.objects.filter(kind=HallKind.COUNTY):
        with transaction.atomic():
            if claim_retraining(county, now):
                pk = county.pk
                hooks.enqueue(lambda pk=pk: retrain_task.enqueue(pk))  # type: ignore[misc]
                queued.append(f"retrain:{county.code}")
        if _stale_hotspots(county, now):
            pk = county.pk
            hooks.enqueue(lambda pk=pk: hotspots_task.enqueue(pk))  # type: ignore[misc]
            _hotspots_queued[county.pk] = now
            queued.append(f"hotspots:{county.code}")
    return queued


def retrain(county_id: int) -> str:
    """Retrain one county's classifier from its history (the nightly task)."""
    county = Hall.objects.filter(pk=county_id, kind=HallKind.COUNTY).first()
    if county is None:
        return "no county"
    row = train_from_history(county)
    if row is None:
        return "too little history"
    log.info("routing: %s retrained on %d requests", county.code, row.samples)
    return f"trained on {row.samples}"


def hotspot_out(spot: Hotspot, rank: int) -> dict[str, Any]:
    """A hotspot as a snapshot stores it: masked titles, counts, its requests' ids."""
    ids = [int(m.id) for m in reversed(spot.messages)]  # newest first
    return {
        "rank": rank,
        "title": mask_text(spot.title),
        "heat": spot.heat,
        "reporters": spot.reporters,
        "cosigns": spot.cosigns,
        "growth": spot.growth,
        "count": len(spot.messages),
        "halls": spot.halls,
        "first": spot.first.isoformat(),
        "last": spot.last.isoformat(),
        "requests": ids[:LISTED_REQUESTS],
        "titles": [mask_text(m.title) for m in reversed(spot.messages[-3:])],
        "monthly_candidate": False,
    }


def compute_snapshot(county: Hall, days: int, now: datetime) -> HotspotSnapshot:
    """Cluster the county's requests of the last `days` days and store the result."""
    since = now - timedelta(days=days)
    spots = county_hotspots(county, since, now, top=HOTSPOT_TOP)
    out = [hotspot_out(s, i + 1) for i, s in enumerate(spots)]
    candidates = [h for h in out if h["reporters"] >= MONTHLY_MIN_REPORTERS]
    for h in candidates[:MONTHLY_CANDIDATES]:
        h["monthly_candidate"] = True
    snapshot = HotspotSnapshot.objects.create(
        county=county,
        days=days,
        until=now,
        computed_at=timezone.now(),
        messages=sum(h["count"] for h in out),
        hotspots=out,
    )
    old = HotspotSnapshot.objects.filter(county=county, days=days).values_list("pk", flat=True)
    HotspotSnapshot.objects.filter(pk__in=list(old[KEEP_SNAPSHOTS:])).delete()
    return snapshot


def refresh_hotspots(county_id: int, *, now: datetime | None = None) -> int:
    """Recompute every period's snapshot of one county; returns how many were written."""
    county = Hall.objects.filter(pk=county_id, kind=HallKind.COUNTY).first()
    if county is None:
        return 0
    now = now or timezone.now()
    for days in HOTSPOT_PERIODS:
        compute_snapshot(county, days, now)
    return len(HOTSPOT_PERIODS)


def latest_snapshot(county: Hall, days: int, *, now: datetime | None = None) -> HotspotSnapshot:
    """The newest snapshot of the period for the page; computed now only when there is none
    at all yet (a fresh install, before the worker's first round)."""
    row = HotspotSnapshot.objects.filter(county=county, days=days).first()
    if row is None:
        row = compute_snapshot(county, days, now or timezone.now())
    return row

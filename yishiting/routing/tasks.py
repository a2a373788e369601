"""Routing's django-tasks tasks, run by the worker (the model code loads only when one runs)."""

from __future__ import annotations

from django_tasks import task


@task()
def route_task(request_id: int) -> str:
    """Suggest a department for a request at the assignment hall; maybe dispatch it."""
    from yishiting.routing import arrival

    return arrival.route(request_id)


@task()
def retrain_task(county_id: int) -> str:
    """The nightly retraining of one county's classifier."""
    from yishiting.routing import jobs

    return jobs.retrain(county_id)


@task()
def hotspots_task(county_id: int) -> int:
    """Recompute one county's hotspot snapshots for the leaders' page."""
    from yishiting.routing import jobs

    return jobs.refresh_hotspots(county_id)

"""Routing's timed work in the worker: nightly retraining (once a night, whoever runs it),
hotspot snapshots, and the leaders' hotspots page (issue 6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from yishiting.requests import actions as A
from yishiting.requests.models import Follower, FollowerKind
from yishiting.routing import jobs
from yishiting.routing.models import HotspotSnapshot, RoutingModel, RoutingSettings
from yishiting.routing.tests.test_suggest import _history
from yishiting.testing import County

LOCAL = ZoneInfo("Asia/Shanghai")
RETRAIN = "yishiting.routing.tasks.retrain_task"
HOTSPOTS = "yishiting.routing.tasks.hotspots_task"


@pytest.fixture(autouse=True)
def _fresh_worker() -> None:
    """Each test is a new worker process: it has queued nothing yet."""
    jobs._hotspots_queued.clear()


def queued(path: str) -> int:
    return DBTaskResult.objects.filter(task_path=path).count()


@pytest.mark.django_db
def test_retraining_is_queued_once_a_night(county: County) -> None:
    evening = datetime(2026, 6, 1, 23, 0, tzinfo=LOCAL)
    night = datetime(2026, 6, 2, 1, 59, tzinfo=LOCAL)
    assert "retrain:130500" in jobs.tick(evening)  # never retrained yet: at once
    assert queued(RETRAIN) == 1
    jobs.tick(evening + timedelta(minutes=5))
    jobs.tick(night)  # a new day, but before the hour
    assert queued(RETRAIN) == 1
    after = datetime(2026, 6, 2, 2, 0, tzinfo=LOCAL)
    assert "retrain:130500" in jobs.tick(after)
    assert "retrain:130500" not in jobs.tick(after + timedelta(hours=3))  # a second worker
    assert queued(RETRAIN) == 2
    assert RoutingSettings.objects.get(county=county.county).retrained_on == after.date()


@pytest.mark.django_db
def test_the_retraining_task_trains_from_history(county: County) -> None:
    _history(county)
    jobs.tick(datetime(2026, 6, 2, 3, 0, tzinfo=LOCAL))
    task = DBTaskResult.objects.get(task_path=RETRAIN)
    assert task.task.call(*task.args_kwargs["args"]) == "trained on 45"
    assert RoutingModel.objects.filter(county=county.county).count() == 1
    assert jobs.retrain(county.village.pk) == "no county"


@pytest.mark.django_db
def test_hotspot_snapshots_are_refreshed_hourly(county: County) -> None:
    now = timezone.now()
    jobs.tick(now)
    assert queued(HOTSPOTS) == 1
    task = DBTaskResult.objects.get(task_path=HOTSPOTS)
    assert task.task.call(*task.args_kwargs["args"]) == len(jobs.HOTSPOT_PERIODS)
    with time_machine.travel(now + timedelta(minutes=30)):
        jobs.tick(timezone.now())
    assert queued(HOTSPOTS) == 1  # fresh enough
    with time_machine.travel(now + timedelta(minutes=61)):
        jobs.tick(timezone.now())
    assert queued(HOTSPOTS) == 2


def _lamp_hotspot(county: County) -> list[int]:
    """Four people in two villages report the same dark street; one unrelated request."""
    texts = [
        (county["resident1"], county.village, "东街路灯不亮了，晚上一片漆黑，出门不安全"),
        (county["resident2"], county.village, "东街的路灯坏了，晚上漆黑一片，出门不安全"),
        (county["liaison2"], county.village2, "东街路灯全都不亮了，晚上漆黑，出门很不安全"),
        (county["dept2"], county.village2, "东街路灯不亮，晚上一片漆黑，老人出门不安全"),
    ]
    ids = [A.do_submit(actor=who, hall=hall, text=text).pk for who, hall, text in texts]
    A.do_submit(actor=county["resident1"], hall=county.village3, text="西关村的垃圾桶满了没人清理")
    Follower.objects.create(
        request_id=ids[0],
        user=county["leader1"],
        kind=FollowerKind.COSIGNER,
        created_at=timezone.now(),
    )
    return ids


@pytest.mark.django_db
def test_leaders_page_ranks_the_hotspot_and_names_the_candidate(county: County) -> None:
    ids = _lamp_hotspot(county)
    client = Client()
    client.force_login(county["leader1"])
    page = client.get("/leader/hotspots/", {"days": "30"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "“每月一题”候选" in html and 'href="#spot-1"' in html
    for pk in ids:
        assert f'href="/r/{pk}/"' in html
    snapshot = HotspotSnapshot.objects.get(county=county.county, days=30)
    top = snapshot.hotspots[0]
    assert (top["reporters"], top["count"], top["cosigns"]) == (4, 4, 1)
    assert top["monthly_candidate"] and sorted(top["requests"]) == sorted(ids)
    assert sorted(top["halls"]) == sorted([county.village.code, county.village2.code])
    # Read from the snapshot, not clustered again on every view.
    client.get("/leader/hotspots/", {"days": "30"})
    assert HotspotSnapshot.objects.filter(county=county.county, days=30).count() == 1
    # Linked from the dashboard.
    assert "/leader/hotspots/" in client.get("/leader/").content.decode()


@pytest.mark.django_db
def test_hotspots_page_scope_and_bad_input(county: County) -> None:
    _lamp_hotspot(county)
    client = Client()
    client.force_login(county["leader1"])
    assert client.get("/leader/hotspots/", {"days": "8"}).status_code == 422
    assert client.get("/leader/hotspots/", {"days": "x"}).status_code == 422
    # The other township's part of the tree has none of the lamp reports.
    other = client.get("/leader/hotspots/", {"hall": county.township2.code})
    assert other.status_code == 200 and "东街路灯" not in other.content.decode()
    client.force_login(county["resident1"])
    assert client.get("/leader/hotspots/").status_code == 403
    assert Client().get("/leader/hotspots/").status_code == 302

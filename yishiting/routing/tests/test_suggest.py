"""Suggestions on a new request, training from history, automatic dispatch (issue 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from yishiting.orgs.models import Category, Department
from yishiting.requests.actions import do_submit
from yishiting.requests.models import Request
from yishiting.routing import suggest as routing
from yishiting.routing.models import RoutingModel, RoutingSettings
from yishiting.testing import County

LAMPS = [
    "村口的路灯坏了好几天，晚上太黑",
    "小区门口路灯一直不亮",
    "新修的路没装路灯，晚上看不见",
    "东街路灯一闪一闪的，请修理",
    "路灯杆被撞歪了，灯也不亮了",
]
SEWAGE = [
    "下水道堵了，污水流到路上",
    "化粪池满了，污水外溢，臭气熏天",
    "污水井冒水，路上全是污水",
    "下水管道堵塞，污水倒灌进院子",
    "排水沟堵塞，污水横流",
]
POWER = [
    "村里停电一整天了，没有通知",
    "电压不稳，家里电器烧坏了",
    "变压器嗡嗡响，担心出事",
    "电线杆倾斜，电线垂得很低",
    "经常跳闸停电，冰箱里的东西都坏了",
]


def _dispatched(county: County, text: str, department: str, category: str | None, now) -> None:  # type: ignore[no-untyped-def]
    """A request the dispatcher sent to a department (written directly: only its final
    department and category matter here)."""
    Request.objects.create(
        hall=county.assignment,
        origin_hall=county.village,
        department=Department.objects.get(code=department),
        category=Category.objects.get(code=category) if category else None,
        title=text[:20],
        text=text,
        status="claimed",
        created_at=now,
        updated_at=now,
    )


def _history(county: County, copies: int = 3) -> None:
    now = timezone.now() - timedelta(days=10)
    for _ in range(copies):
        for text in LAMPS:
            _dispatched(county, text, "zhujian", "streetlight", now)
        for text in SEWAGE:
            _dispatched(county, text, "zhujian", "sewage", now)
        for text in POWER:
            _dispatched(county, text, "gongdian", None, now)


@pytest.mark.django_db
def test_cold_start_uses_category_names_and_keywords(county: County) -> None:
    Category.objects.filter(pk=county.sewage.pk).update(keywords="下水道 化粪池，污水")
    s = routing.suggest(county.village, "化粪池满了，味道很大")
    assert s is not None
    assert (s.category_code, s.department_code, s.source, s.auto) == (
        "sewage",
        "zhujian",
        "keywords",
        False,
    )
    assert routing.suggest(county.village, "路灯照明有问题").category_code == "streetlight"
    assert routing.suggest(county.village, "今天天气不错") is None


@pytest.mark.django_db
def test_too_little_history_trains_nothing(county: County) -> None:
    _dispatched(county, LAMPS[0], "zhujian", "streetlight", timezone.now())
    assert routing.train_from_history(county.county) is None
    assert not RoutingModel.objects.exists()


@pytest.mark.django_db
def test_trained_model_suggests_category_or_department(county: County) -> None:
    _history(county)
    row = routing.train_from_history(county.county)
    assert row is not None
    assert row.samples == 45
    assert row.labels == ["@gongdian", "sewage", "streetlight"]
    lamp = routing.suggest(county.village2, "路灯不亮了，晚上黑")
    assert lamp is not None and lamp.source == "model"
    assert (lamp.category_code, lamp.department_code) == ("streetlight", "zhujian")
    power = routing.suggest(county.village2, "停电了，一直没来电")
    assert power is not None
    assert (power.category_code, power.department_code) == (None, "gongdian")
    assert not lamp.auto  # the county has not switched automatic dispatch on


@pytest.mark.django_db
def test_automatic_dispatch_needs_the_setting_and_the_confidence(county: County) -> None:
    _history(county)
    row = routing.train_from_history(county.county)
    assert row is not None
    req = do_submit(actor=county["resident2"], hall=county.village, text="污水外溢，下水道堵了")
    assert routing.auto_dispatch_target(req) is None
    settings = RoutingSettings.objects.create(county=county.county, auto_dispatch=True)
    RoutingModel.objects.filter(pk=row.pk).update(threshold=0.0)
    target = routing.auto_dispatch_target(req)
    assert target is not None and target.department_code == "zhujian"
    # The county's own minimum can only raise the bar.
    settings.min_confidence = 1e9
    settings.save()
    assert routing.auto_dispatch_target(req) is None
    RoutingModel.objects.filter(pk=row.pk).update(threshold=None)
    settings.min_confidence = None
    settings.save()
    assert routing.auto_dispatch_target(req) is None  # no threshold: never automatic


@pytest.mark.django_db
def test_a_newer_model_replaces_the_cached_one(county: County) -> None:
    _history(county, copies=2)
    first = routing.train_from_history(county.county)
    assert first is not None
    routing.suggest(county.village, "路灯不亮")
    second = routing.train_from_history(county.county)
    assert second is not None
    routing.suggest(county.village, "路灯不亮")
    assert routing._loaded[county.county.pk][0] == second.pk


def test_effective_threshold_only_rises() -> None:
    s = RoutingSettings(min_confidence=None)
    assert routing.effective_threshold(0.5, s) == 0.5
    assert routing.effective_threshold(None, s) == float("inf")
    s.min_confidence = 0.8
    assert routing.effective_threshold(0.5, s) == 0.8
    s.min_confidence = 0.1
    assert routing.effective_threshold(0.5, s) == 0.5

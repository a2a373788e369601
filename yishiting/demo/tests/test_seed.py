"""The demo county (PRODUCT.md §8): its tree, its accounts, and a small year of requests."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command

from yishiting.demo import deliberation
from yishiting.demo.seed import DEMO_ACCOUNTS, DEMO_COUNTY_CODE, DEMO_PASSWORD, counts, seed_demo
from yishiting.orgs.models import ClockPolicy, DutyShift, Hall, Membership, Role, User
from yishiting.orgs.scope import Actor
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.requests.states import State, replay

# A fixed moment, so the seed (random.Random(2026)) is the same on every run.
NOW = datetime(2026, 6, 17, 15, 20, tzinfo=LOCAL_TZ)


@pytest.fixture
def seeded(db: None) -> dict:
    return seed_demo(requests=60, now=NOW)


@pytest.mark.django_db
def test_tree_has_longyao_size(seeded: dict) -> None:
    assert seeded["seeded"] is True
    assert seeded["halls"] == {
        "county": 1,
        "township": 12,
        "village": 276,
        "community": 9,
        "compound": 138,
        "assignment": 1,
    }
    assert seeded["liaisons"] == 1000
    assert seeded["departments"] == 11
    assert seeded["categories"] >= 15
    county = Hall.objects.get(code=DEMO_COUNTY_CODE)
    for hall in Hall.objects.exclude(pk=county.pk).select_related("parent"):
        assert hall.path == hall.parent.path + hall.code + "/"  # bulk_create set paths right
    defaults = {p.priority: p for p in ClockPolicy.objects.filter(category=None)}
    assert (defaults["urgent"].resolution_seconds, defaults["urgent"].resolution_basis) == (
        86400,
        "calendar",
    )
    assert defaults["complex"].resolution_seconds == 15 * 86400
    assert {p.first_response_seconds for p in defaults.values()} == {300}
    # Duty roster: a year back and four weeks ahead, someone on duty every night.
    assert DutyShift.objects.filter(starts_at__gt=NOW).count() >= 28
    assert DutyShift.objects.filter(starts_at__lt=NOW).count() >= 365


@pytest.mark.django_db
def test_demo_accounts_have_their_roles(seeded: dict) -> None:
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_ACCOUNTS)}
    assert set(users) == set(DEMO_ACCOUNTS)
    assert check_password(DEMO_PASSWORD, users["liaison1"].password)
    assert users["admin"].is_superuser and users["admin"].is_staff

    def roles(username: str) -> set[tuple[str, str]]:
        return {
            (m.role, (m.hall.kind if m.hall else m.department.code))
            for m in Membership.objects.filter(user=users[username]).select_related(
                "hall", "department"
            )
        }

    assert roles("resident1") == set()
    assert roles("liaison1") == {(Role.LIAISON, "village")}
    assert roles("manager1") == {(Role.MANAGER, "township")}
    assert roles("dispatcher1") == {(Role.DISPATCHER, "assignment")}
    assert roles("dept1") == {(Role.DEPARTMENT, "zhujian")}
    assert roles("dept2") == {(Role.DEPARTMENT, "gongdian")}
    assert roles("duty1") == {(Role.DUTY, "county")}
    assert roles("leader1") == {(Role.LEADER, "county")}
    village = Membership.objects.get(user=users["liaison1"]).hall
    township = Membership.objects.get(user=users["manager1"]).hall
    assert village.parent == township
    assert Actor.of(users["duty1"]).on_duty(village, NOW)  # the demo's duty officer is on now


@pytest.mark.django_db
def test_requests_cover_every_state_and_replay(seeded: dict) -> None:
    assert seeded["requests"] == 60 + deliberation.REQUESTS
    assert all(seeded["states"][s.value] > 0 for s in State), seeded["states"]
    for req in Request.objects.select_related("hall", "department"):
        events = Event.objects.filter(request=req).order_by("seq")
        rows = list(events.values("verb", "to_status", "data", "created_at"))
        replayed = replay(rows)
        assert replayed.status == req.status, req.pk
        assert replayed.hall == req.hall.code
        assert replayed.department == (req.department.code if req.department else None)
        times = [r["created_at"] for r in rows]
        assert times == sorted(times) and times[-1] <= NOW
    # Every resolved on-site request shows its photo proof.
    for event in Event.objects.filter(verb="resolve", request__category__on_site=True):
        assert event.attachments.exists()
    assert Request.objects.filter(text__contains="电动车").exists()


@pytest.mark.django_db
def test_seeding_twice_adds_nothing(seeded: dict) -> None:
    before = counts()
    again = seed_demo(requests=60, now=NOW)
    assert again["seeded"] is False
    assert counts() == before


@pytest.mark.django_db
def test_demo_command_seeds_without_serving(db: None, settings, capsys) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO = False
    call_command("demo", "--no-serve", "--requests", "30")
    out = capsys.readouterr().out
    assert settings.DEMO is True
    assert "demo12345" in out and "dispatcher1" in out
    assert Request.objects.count() == 30 + deliberation.REQUESTS
    call_command("demo", "--no-serve", "--requests", "30")
    assert "already seeded" in capsys.readouterr().out
    assert Request.objects.count() == 30 + deliberation.REQUESTS


@pytest.mark.django_db
def test_the_demo_year_goes_through_every_handling_rule(seeded: dict) -> None:
    """§3.1 in the demo: returns redispatched and upheld, lead + assisting departments with
    posted and waived parts and an assisting return upheld, a hand-down, a return visit, redo
    and appeals — and replay reproduces the parts."""
    from yishiting.requests.models import Part

    verbs = set(Event.objects.values_list("verb", flat=True))
    assert {"return", "review_return", "hand_down", "visit", "post_part", "waive_part"} <= verbs
    decisions = set(
        Event.objects.filter(verb="review_return").values_list("data__decision", flat=True)
    )
    assert decisions == {"redispatch", "uphold"}
    assert Event.objects.filter(verb="review_return", data__part__isnull=False).exists()
    statuses = set(Part.objects.values_list("status", flat=True))
    assert {"posted", "waived"} <= statuses
    assert (
        not Part.objects.filter(status__in=("dispatched", "claimed", "returned"))
        .filter(request__status__in=("resolved", "closed"))
        .exists()
    )
    for req in Request.objects.filter(parts__isnull=False).distinct():
        rows = list(
            Event.objects.filter(request=req).order_by("seq").values("verb", "to_status", "data")
        )
        stored = [
            [p.department.code, p.status]
            for p in Part.objects.filter(request=req).select_related("department").order_by("id")
        ]
        assert replay(rows).parts == stored

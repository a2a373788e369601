"""A request reaching the assignment hall: its stored suggestion, automatic dispatch through
the worker, the API's `suggestion` field and the pages (issue 6)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from yishiting.orgs.scope import Actor
from yishiting.requests import actions as A
from yishiting.requests.models import Event, Request
from yishiting.routing import arrival
from yishiting.routing import suggest as routing
from yishiting.routing.models import RequestSuggestion, RoutingModel, RoutingSettings
from yishiting.routing.tests.test_suggest import _history
from yishiting.testing import County

ROUTE_TASK = "yishiting.routing.tasks.route_task"


def at_assignment_hall(county: County, text: str = "污水外溢，下水道堵了，路上全是污水") -> Request:
    """A resident's request, escalated by the village and then the township."""
    req = A.do_submit(actor=county["resident1"], hall=county.village, text=text)
    A.do_escalate(req.pk, actor=county["liaison1"])
    A.do_acknowledge(req.pk, actor=county["manager1"])
    return A.do_escalate(req.pk, actor=county["manager1"])


def trained(county: County, *, threshold: float | None = 0.0) -> RoutingModel:
    _history(county)
    row = routing.train_from_history(county.county)
    assert row is not None
    RoutingModel.objects.filter(pk=row.pk).update(threshold=threshold)
    return row


def queued_routes() -> list[int]:
    return [t.args_kwargs["args"][0] for t in DBTaskResult.objects.filter(task_path=ROUTE_TASK)]


@pytest.mark.django_db
def test_arriving_at_the_assignment_hall_queues_routing_once(county: County) -> None:
    req = A.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了")
    A.do_escalate(req.pk, actor=county["liaison1"])
    A.do_acknowledge(req.pk, actor=county["manager1"])
    assert queued_routes() == []  # the township is not where departments are chosen
    A.do_escalate(req.pk, actor=county["manager1"])
    assert queued_routes() == [req.pk]


@pytest.mark.django_db
def test_default_setting_stores_the_suggestion_and_dispatches_nothing(county: County) -> None:
    trained(county)
    assert not RoutingSettings.objects.filter(county=county.county, auto_dispatch=True).exists()
    req = at_assignment_hall(county)
    assert arrival.route(req.pk) == "suggested"
    req.refresh_from_db()
    assert (req.status, req.department_id) == ("escalated", None)
    row = RequestSuggestion.objects.get(request=req)
    assert (row.department, row.category, row.source) == (county.dept, county.sewage, "model")
    assert row.confidence > 0 and not row.auto_dispatched
    # Computed once: routing again leaves the stored row as it was.
    assert arrival.route(req.pk) == "suggested"
    assert RequestSuggestion.objects.count() == 1


@pytest.mark.django_db
def test_switched_on_and_sure_enough_dispatches_as_the_system(county: County) -> None:
    trained(county, threshold=0.0)
    RoutingSettings.objects.create(county=county.county, auto_dispatch=True)
    req = at_assignment_hall(county)
    # The worker runs the queued task.
    task = DBTaskResult.objects.get(task_path=ROUTE_TASK)
    assert task.task.call(*task.args_kwargs["args"]) == "dispatched"
    req.refresh_from_db()
    assert (req.status, req.department_id, req.category_id) == (
        "dispatched",
        county.dept.pk,
        county.sewage.pk,
    )
    event = Event.objects.filter(request=req).order_by("-seq").first()
    assert event is not None and event.verb == "dispatch" and event.actor is None
    assert event.data["auto"] is True
    assert event.data["confidence"] == RequestSuggestion.objects.get(request=req).confidence
    assert RequestSuggestion.objects.get(request=req).auto_dispatched
    # The department is told like after any dispatch, and may claim it.
    A.do_claim(req.pk, actor=county["dept1"])


@pytest.mark.django_db
def test_switched_on_but_below_the_threshold_nothing_happens(county: County) -> None:
    trained(county, threshold=0.0)
    RoutingSettings.objects.create(county=county.county, auto_dispatch=True, min_confidence=1e9)
    req = at_assignment_hall(county)
    events = Event.objects.filter(request=req).count()
    assert arrival.route(req.pk) == "suggested"
    req.refresh_from_db()
    assert req.status == "escalated" and req.department_id is None
    assert Event.objects.filter(request=req).count() == events
    assert RequestSuggestion.objects.get(request=req).threshold == 1e9


@pytest.mark.django_db
def test_a_person_who_was_quicker_wins(county: County) -> None:
    trained(county, threshold=0.0)
    RoutingSettings.objects.create(county=county.county, auto_dispatch=True)
    req = at_assignment_hall(county)
    A.do_dispatch(req.pk, actor=county["dispatcher1"], department="gongdian")
    assert arrival.route(req.pk) == "skipped"
    req.refresh_from_db()
    assert req.department.code == "gongdian"
    assert Event.objects.filter(request=req, verb="dispatch").count() == 1


@pytest.mark.django_db
def test_nobody_dispatches_without_a_person_unless_the_model_says_how_sure(
    county: County,
) -> None:
    req = at_assignment_hall(county)
    with pytest.raises(A.ForbiddenError):
        A.do_dispatch(req.pk, actor=None, department="zhujian")
    req.refresh_from_db()
    assert req.status == "escalated"


@pytest.mark.django_db
def test_cold_start_suggests_but_never_dispatches(county: County) -> None:
    RoutingSettings.objects.create(county=county.county, auto_dispatch=True, min_confidence=0.0)
    req = at_assignment_hall(county, text="路灯照明坏了，晚上很黑")
    assert arrival.route(req.pk) == "suggested"
    row = RequestSuggestion.objects.get(request=req)
    assert (row.source, row.category, row.threshold) == ("keywords", county.streetlight, None)
    req.refresh_from_db()
    assert req.status == "escalated"


@pytest.mark.django_db
def test_api_shows_the_suggestion_to_handlers_only(county: County) -> None:
    trained(county, threshold=None)
    req = at_assignment_hall(county)
    arrival.route(req.pk)
    client = Client()
    client.force_login(county["dispatcher1"])
    body = client.get(f"/api/v1/requests/{req.pk}").json()
    s = body["suggestion"]
    assert (s["department"], s["category"], s["source"]) == ("zhujian", "sewage", "model")
    assert s["confidence"] > 0 and s["threshold"] is None
    client.force_login(county["resident2"])
    assert client.get(f"/api/v1/requests/{req.pk}").json()["suggestion"] is None
    client.force_login(county["resident1"])  # the reporter sees their data, not our routing
    assert client.get(f"/api/v1/requests/{req.pk}").json()["suggestion"] is None
    schema = client.get("/api/v1/openapi.json").json()
    props = schema["components"]["schemas"]["RequestDetailOut"]["properties"]
    assert "suggestion" in props


@pytest.mark.django_db
def test_a_dispatcher_opening_an_unrouted_request_gets_it_computed_once(county: County) -> None:
    trained(county, threshold=None)
    req = at_assignment_hall(county)
    assert not RequestSuggestion.objects.exists()  # the worker has not run yet
    assert arrival.for_viewer(req, Actor.of(county["liaison1"])) is None
    client = Client()
    client.force_login(county["dispatcher1"])
    page = client.get(f"/r/{req.pk}/").content.decode()
    assert "智能分办建议" in page and "住建局" in page
    assert RequestSuggestion.objects.filter(request=req).count() == 1
    console = client.get("/dispatch/").content.decode()
    assert "建议：住建局" in console

"""转办 (forward) through API v1: the dispatcher and the duty officer on shift forward; the
field `to`, the verb list and the OpenAPI document; 403 before 409 before 422."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from yishiting.api.tests.test_api import error, ok
from yishiting.api.tests.test_handling_api import as_, to_assignment_hall, unchanged, version
from yishiting.notify.models import Notification
from yishiting.orgs.models import DutyShift
from yishiting.requests.models import Event
from yishiting.testing import County

pytestmark = pytest.mark.django_db
__all__ = ["as_"]  # the fixture, imported for this module's tests


def test_forward_over_http(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = to_assignment_hall(as_, county, "路灯不亮")
    seen = ok(as_("dispatcher1").get(f"/requests/{rid}"))
    assert "forward" in seen["allowed_verbs"]  # escalated at the assignment hall
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian"))
    assert "forward_by" in ok(as_("dispatcher1").get(f"/requests/{rid}"))["deadlines"]
    v = version(rid)
    # scope first: the duty officer without a shift, a resident
    error(as_("duty1").verb(rid, "forward", to="dept1"), 403, "forbidden")
    error(as_("resident1").verb(rid, "forward", to="nobody"), 403, "forbidden")
    # then input
    error(as_("dispatcher1").verb(rid, "forward"), 422, "invalid")
    error(as_("dispatcher1").verb(rid, "forward", to="nobody"), 422, "invalid")
    unchanged(rid, v)
    out = ok(as_("dispatcher1").verb(rid, "forward", to="dept1", note="尽快处理"))
    assert (out["status"], out["deadlines"]["forward_by"]) == ("dispatched", None)
    event = Event.objects.get(request_id=rid, seq=v + 1)
    assert (event.verb, event.data["to"]) == ("forward", "dept1")
    assert Notification.objects.filter(event=event, user=county["dept1"]).exists()


def test_the_duty_officer_on_shift_may_forward(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    rid = to_assignment_hall(as_, county, "井盖丢了")
    ok(as_("dispatcher1").verb(rid, "dispatch", department="zhujian"))
    now = timezone.now()
    DutyShift.objects.create(
        county=county.county,
        user=county["duty1"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    assert "forward" in ok(as_("duty1").get(f"/requests/{rid}"))["allowed_verbs"]
    ok(as_("duty1").verb(rid, "forward", to="gongdian"))


def test_forward_from_a_state_that_does_not_allow_it(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    body = {"hall": county.village.code, "text": "漏水"}
    rid = ok(as_("resident1").post("/requests", body), 201)["id"]
    error(as_("dispatcher1").verb(rid, "forward", to="nobody"), 409, "illegal_transition")
    assert "forward" not in ok(as_("dispatcher1").get(f"/requests/{rid}"))["allowed_verbs"]


def test_openapi_documents_to(county: County, as_) -> None:  # type: ignore[no-untyped-def]
    schema = ok(as_("dispatcher1").get("/openapi.json"))
    body = schema["paths"]["/api/v1/requests/{request_id}/{verb}"]["post"]["requestBody"]
    props = body["content"]["application/json"]["schema"]["properties"]
    assert "forward" in props["to"]["description"]
    assert "forward_by" in schema["components"]["schemas"]["Deadlines"]["properties"]

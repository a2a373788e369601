"""The audit log cannot be changed through any interface: ORM, admin, API, raw SQL (§3: every
verb writes one immutable event)."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.core import audit
from yishiting.requests import actions as A
from yishiting.requests.models import Event, Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(county: County) -> Event:
    r = A.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了")
    A.do_acknowledge(r.pk, actor=county["liaison1"], note="收到")
    return Event.objects.get(request_id=r.pk, verb="acknowledge")


def _unchanged(event: Event) -> None:
    again = Event.objects.get(pk=event.pk)
    assert (again.note, again.verb, again.actor_id) == (event.note, event.verb, event.actor_id)
    assert Event.objects.filter(request_id=event.request_id).count() == 2


def test_orm_save_and_delete_of_an_event_raise(event: Event) -> None:
    event.note = "改过的说明"
    with pytest.raises(ValueError, match="immutable"):
        event.save()
    with pytest.raises(ValueError, match="immutable"):
        event.delete()
    with pytest.raises(ValueError, match="immutable"):
        Event.objects.filter(pk=event.pk).update(note="改过的说明")
    with pytest.raises(ValueError, match="immutable"):
        Event.objects.filter(pk=event.pk).delete()
    with pytest.raises(ProtectedError):
        Request.objects.get(pk=event.request_id).delete()  # events protect their request
    _unchanged(Event.objects.get(pk=event.pk))


def test_the_database_refuses_a_raw_update(event: Event) -> None:
    assert audit.installed(connection)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE requests_event SET note = %s WHERE id = %s", ["x", event.pk])
    _unchanged(event)


def test_the_database_refuses_a_raw_delete(event: Event) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite: DELETE is refused by the ORM only (core.audit explains why)")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM requests_event WHERE id = %s", [event.pk])
    _unchanged(event)


def test_an_insert_still_works(event: Event) -> None:
    """The triggers refuse changes, not new events (a duplicate seq is still refused)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            request_id=event.request_id,
            seq=event.seq,
            verb="comment",
            to_status="acknowledged",
            created_at=event.created_at,
        )
    A.do_comment(event.request_id, actor=event.actor, note="补充说明")
    assert Event.objects.filter(request_id=event.request_id).count() == 3


def test_the_admin_cannot_change_or_delete_events(county: County, event: Event) -> None:
    client = Client()
    client.force_login(county["admin"])
    base = f"/admin/requests/event/{event.pk}"
    assert client.get(f"{base}/change/").status_code == 200  # read-only view
    response = client.post(f"{base}/change/", {"note": "改过的说明", "seq": 9})
    assert response.status_code == 403
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/requests/event/add/", {"note": "x"}).status_code == 403
    listing = client.post(
        "/admin/requests/event/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert listing.status_code in (200, 302, 403)
    _unchanged(event)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_api_has_no_way_to_change_events(county: County, event: Event, method: str) -> None:
    _, key = ApiToken.issue(county["admin"])
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    call = getattr(client, method)
    for path in (
        f"/api/v1/requests/{event.request_id}/events",
        f"/api/v1/requests/{event.request_id}",
    ):
        response = call(path, json.dumps({"note": "x"}), content_type="application/json")
        assert response.status_code == 405, (path, response.status_code)
    _unchanged(event)

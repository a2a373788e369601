"""Duplicates in the product: API v1's similar and duplicates, the one-tap merge on the
liaison's request page, and merged reporters told when the primary is resolved (issue 6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from yishiting.notify.models import Notification
from yishiting.requests import actions as A
from yishiting.requests.models import Request
from yishiting.testing import County

LAMP = "东关村村口的路灯坏了三天，晚上很黑，老人出门不方便"
LAMP_AGAIN = "东关村村口路灯坏了好几天了，晚上很黑，老人出门不方便"


@pytest.fixture
def lamps(county: County) -> tuple[Request, Request]:
    """Two residents report the same broken lamp."""
    first = A.do_submit(actor=county["resident1"], hall=county.village, text=LAMP)
    second = A.do_submit(actor=county["resident2"], hall=county.village2, text=LAMP_AGAIN)
    return first, second


def logged_in(county: County, username: str) -> Client:
    client = Client()
    client.force_login(county[username])
    return client


@pytest.mark.django_db
def test_similar_offers_open_requests_of_the_neighbourhood(
    county: County, lamps: tuple[Request, Request]
) -> None:
    first, second = lamps
    client = logged_in(county, "resident2")
    found = client.get(
        "/api/v1/requests/similar", {"hall": county.village.code, "text": "村口路灯坏了"}
    )
    assert found.status_code == 200
    ids = [s["id"] for s in found.json()]
    assert set(ids) == {first.pk, second.pk}  # the neighbouring village's too
    assert all(0 < s["similarity"] <= 1 for s in found.json())
    # Another township is not the neighbourhood.
    far = client.get("/api/v1/requests/similar", {"hall": county.village3.code, "text": LAMP})
    assert far.json() == []


@pytest.mark.django_db
def test_similar_masks_titles_and_refuses_bad_input(
    county: County, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        A.do_submit(
            actor=county["resident1"], hall=county.village, text="路灯坏了，打我电话13812345678"
        )
    client = logged_in(county, "resident2")
    found = client.get(
        "/api/v1/requests/similar", {"hall": county.village.code, "text": "路灯坏了"}
    )
    assert found.status_code == 200 and found.json()
    assert "13812345678" not in found.content.decode()
    assert client.get("/api/v1/requests/similar", {"hall": "nope", "text": "x"}).status_code == 404
    missing = client.get("/api/v1/requests/similar", {"hall": county.village.code})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid"
    too_long = client.get(
        "/api/v1/requests/similar", {"hall": county.village.code, "text": "灯" * 3000}
    )
    assert too_long.status_code == 422
    assert Client().get("/api/v1/requests/similar", {"hall": "x", "text": "y"}).status_code == 401


@pytest.mark.django_db
def test_duplicates_are_for_handlers_only(county: County, lamps: tuple[Request, Request]) -> None:
    first, second = lamps
    handler = logged_in(county, "liaison2").get(f"/api/v1/requests/{second.pk}/duplicates")
    assert handler.status_code == 200
    assert [s["id"] for s in handler.json()] == [first.pk]
    for name in ("resident1", "resident2", "liaison3"):
        refused = logged_in(county, name).get(f"/api/v1/requests/{second.pk}/duplicates")
        assert refused.status_code == 403, name
    assert logged_in(county, "liaison2").get("/api/v1/requests/999/duplicates").status_code == 404
    paths = logged_in(county, "liaison2").get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/requests/similar" in paths
    assert "get" in paths["/api/v1/requests/{request_id}/duplicates"]


@pytest.mark.django_db
def test_liaison_merges_with_one_tap_and_the_merged_reporter_hears_the_outcome(
    county: County, lamps: tuple[Request, Request]
) -> None:
    first, second = lamps
    liaison = logged_in(county, "liaison2")
    page = liaison.get(f"/r/{second.pk}/").content.decode()
    assert "可能重复的诉求" in page and f'data-merge="{first.pk}"' in page
    merged = liaison.post(
        f"/r/{second.pk}/do/merge/", {"into": str(first.pk), "version": str(second.version)}
    )
    assert merged.status_code == 302
    second.refresh_from_db()
    assert (second.status, second.merged_into_id) == ("merged", first.pk)
    A.do_acknowledge(first.pk, actor=county["liaison1"])
    A.do_start(first.pk, actor=county["liaison1"])
    A.do_resolve(first.pk, actor=county["liaison1"], note="已更换灯泡")
    told = set(
        Notification.objects.filter(request_id=first.pk, kind="resolve").values_list(
            "user__username", flat=True
        )
    )
    assert {"resident1", "resident2"} <= told


@pytest.mark.django_db
def test_merged_reporter_who_never_cosigned_is_told(
    county: County, lamps: tuple[Request, Request]
) -> None:
    first, second = lamps
    A.do_merge(second.pk, actor=county["liaison2"], into=first.pk)
    A.do_acknowledge(first.pk, actor=county["liaison1"])
    A.do_start(first.pk, actor=county["liaison1"])
    A.do_resolve(first.pk, actor=county["liaison1"], note="已更换灯泡")
    told = Notification.objects.filter(
        request_id=first.pk, kind="resolve", user=county["resident2"]
    )
    assert told.exists()
    # Nobody offers a merge into a request that is no longer open.
    assert (
        "可能重复的诉求"
        not in logged_in(county, "liaison1").get(f"/r/{first.pk}/").content.decode()
    )

"""Submitting once: a retry under the same idempotency key (API v1's `Idempotency-Key` header,
the submit forms' hidden key) gets the request the first call filed, never a second one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.core.errors import InvalidError
from yishiting.requests import actions as A
from yishiting.requests.models import Event, Request
from yishiting.requests.tests.test_concurrency import together
from yishiting.testing import County

TEXT = "村口路灯坏了三天，晚上很黑"


@pytest.fixture
def token(county: County) -> str:
    """resident1's API token."""
    return ApiToken.issue(county["resident1"])[1]


def api_submit(client: Client, key: str | None, token: str, **body: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        "/api/v1/requests", json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_a_retry_with_the_key_gets_the_first_request(county: County, token: str) -> None:
    key = str(uuid.uuid4())
    client = Client()
    first = api_submit(client, key, token, hall=county.village.code, text=TEXT)
    again = api_submit(client, key, token, hall=county.village.code, text=TEXT)
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["follow_code"] == first.json()["follow_code"]
    assert Request.objects.count() == 1
    assert Event.objects.filter(verb="submit").count() == 1


@pytest.mark.django_db
def test_without_a_key_every_call_files_one(county: County, token: str) -> None:
    client = Client()
    for _ in range(2):
        assert (
            api_submit(client, None, token, hall=county.village.code, text=TEXT).status_code == 201
        )
    assert Request.objects.count() == 2


@pytest.mark.django_db
def test_the_key_with_other_content_is_refused_and_changes_nothing(
    county: County, token: str
) -> None:
    key = str(uuid.uuid4())
    client = Client()
    assert api_submit(client, key, token, hall=county.village.code, text=TEXT).status_code == 201
    other_text = api_submit(client, key, token, hall=county.village.code, text="井盖松动")
    other_hall = api_submit(client, key, token, hall=county.village2.code, text=TEXT)
    for response in (other_text, other_hall):
        assert response.status_code == 422, response.content
        assert response.json()["error"]["code"] == "invalid"
        assert "Idempotency-Key" in response.json()["error"]["message"]
    assert Request.objects.count() == 1


@pytest.mark.django_db
def test_one_callers_key_never_finds_another_callers_request(county: County) -> None:
    """Keys are scoped to the caller: the same key from two residents files two requests, and
    neither sees the other's follow code."""
    key = "same-key-from-a-careless-app"
    client = Client()
    answers = []
    for name in ("resident1", "resident2"):
        own = ApiToken.issue(county[name])[1]
        answers.append(api_submit(client, key, own, hall=county.village.code, text=TEXT))
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert answers[0].json()["follow_code"] != answers[1].json()["follow_code"]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "  ", "x" * 256, "钥匙", "a b", "a\tb"])
def test_a_malformed_key_is_refused(county: County, key: str, token: str) -> None:
    response = api_submit(Client(), key, token, hall=county.village.code, text=TEXT)
    assert response.status_code == 422, response.content
    assert not Request.objects.exists()


@pytest.mark.django_db
def test_a_quoted_key_is_the_same_key(county: County, token: str) -> None:
    """The draft standard sends the key as a structured-field string ("…")."""
    client = Client()
    api_submit(client, '"k-1"', token, hall=county.village.code, text=TEXT)
    again = api_submit(client, "k-1", token, hall=county.village.code, text=TEXT)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Request.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_calls_racing_with_one_key_file_one_request(county: County) -> None:
    """Three threads with one key, released together, on SQLite and PostgreSQL alike: one
    request, one first call, two replays."""
    for round_ in range(5):
        key = f"race-{round_}"
        results = together(
            *[
                lambda key=key: A.do_submit_once(
                    key=key, actor=county["resident1"], hall=county.village, text=TEXT
                )
                for _ in range(3)
            ]
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        assert len({req.pk for req, _ in results}) == 1
        assert sorted(replayed for _, replayed in results) == [False, True, True]
    assert Request.objects.count() == 5


@pytest.mark.django_db
def test_a_call_that_loses_the_insert_gets_the_winners_request(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other call commits between our look-up and our insert: the unique key refuses our
    row, nothing of ours is kept, and we answer with the winner's request."""
    real = A.do_submit
    winner: list[Request] = []

    def other_call_commits_first(**fields: Any) -> Request:
        winner.append(real(**fields))
        return real(**fields)

    monkeypatch.setattr(A, "do_submit", other_call_commits_first)
    req, replayed = A.do_submit_once(
        key="k", actor=county["resident1"], hall=county.village, text=TEXT
    )
    assert replayed and req.pk == winner[0].pk
    assert Request.objects.count() == 1 and Event.objects.count() == 1


@pytest.mark.django_db
def test_the_hall_page_form_files_once_when_sent_twice(county: County) -> None:
    """A double tap, or the browser re-sending the form: one request, the same receipt."""
    client = Client()
    page = client.get(f"/h/{county.village.code}/")
    key = page.context["submit_key"]
    assert f'name="submit_key" value="{key}"' in page.content.decode()
    form = {"text": TEXT, "submit_key": key}
    first = client.post(f"/h/{county.village.code}/", form)
    again = client.post(f"/h/{county.village.code}/", form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Request.objects.count() == 1
    assert client.session["follow_codes"] == [Request.objects.get().follow_code]
    # A fresh page carries a fresh key: the next problem is a new request.
    key2 = client.get(f"/h/{county.village.code}/").context["submit_key"]
    assert key2 != key
    client.post(f"/h/{county.village.code}/", {"text": "井盖松动", "submit_key": key2})
    assert Request.objects.count() == 2


@pytest.mark.django_db
def test_a_form_brought_back_and_sent_with_other_text_is_a_new_request(county: County) -> None:
    """The browser's Back restores the page with its key: another problem typed into it is
    filed as a new request, not refused."""
    client = Client()
    key = client.get(f"/h/{county.village.code}/").context["submit_key"]
    first = client.post(f"/h/{county.village.code}/", {"text": TEXT, "submit_key": key})
    other = client.post(f"/h/{county.village.code}/", {"text": "井盖松动", "submit_key": key})
    assert first.status_code == other.status_code == 302
    assert first["Location"] != other["Location"]
    assert sorted(Request.objects.values_list("text", flat=True)) == sorted([TEXT, "井盖松动"])


@pytest.mark.django_db
def test_a_refused_form_keeps_its_key_and_files_nothing(county: County) -> None:
    client = Client()
    key = client.get(f"/h/{county.village.code}/").context["submit_key"]
    refused = client.post(f"/h/{county.village.code}/", {"text": "", "submit_key": key})
    assert refused.status_code == 422
    assert refused.context["submit_key"] == key
    assert not Request.objects.exists()
    client.post(f"/h/{county.village.code}/", {"text": TEXT, "submit_key": key})
    assert Request.objects.count() == 1


@pytest.mark.django_db
def test_quick_capture_files_once_when_sent_twice(county: County) -> None:
    client = Client()
    client.force_login(county["liaison1"])
    key = client.get("/capture/").context["submit_key"]
    form = {"hall": county.village.code, "text": TEXT, "phone": "13800001111", "submit_key": key}
    first = client.post("/capture/", form)
    again = client.post("/capture/", form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Request.objects.count() == 1


def test_the_stored_key_is_scoped_and_hashed() -> None:
    assert A.submit_key(None, "k") == A.submit_key(None, ' "k" ')
    assert len(A.submit_key(None, "k")) == 64
    with pytest.raises(InvalidError):
        A.submit_key(None, "")

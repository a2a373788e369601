"""Guards every interface shares."""

from __future__ import annotations

import pytest
from django.test import Client

from yishiting.testing import County

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/halls?parent=%00", 422),  # found by schemathesis: a 500 on PostgreSQL
        ("/api/v1/requests?hall=a%00b", 422),
        ("/h/130500001001/board/?page=1%00", 400),
    ],
)
def test_a_nul_in_the_query_string_is_bad_input(county: County, path: str, status: int) -> None:
    client = Client()
    client.force_login(county["admin"])
    response = client.get(path)
    assert response.status_code == status
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "invalid"
    assert client.get(path.split("?")[0]).status_code == 200

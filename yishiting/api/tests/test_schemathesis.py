"""Schemathesis against API v1's own OpenAPI schema, as real roles: no 5xx, and every answer
matches the schema (status codes, content types, bodies). A bounded number of cases per
operation, the same ones every run under the CI profile."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from yishiting.api.models import ApiToken
from yishiting.requests import actions
from yishiting.testing import County

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Any:
    """As Django's test client does: the WSGI handler must not close the test's connection
    at the end of each request (it lives inside the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(county: County) -> dict[str, Any]:
    """A few requests in several states, and a token for each role that calls."""
    req = actions.do_submit(actor=county["resident1"], hall=county.village, text="路灯不亮")
    actions.do_acknowledge(req.pk, actor=county["liaison1"])
    actions.do_submit(actor=county["resident2"], hall=county.village3, text="垃圾没人清")
    return {name: ApiToken.issue(county[name])[1] for name in ("dispatcher1", "admin")}


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.parametrize("role", ["dispatcher1", "admin"])
def test_api_matches_its_schema(case: Any, world: dict[str, Any], role: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Token {world[role]}"},
        # A schema-valid hall code that names no hall is rightly a 422: the schema cannot know
        # which codes exist. Every other check stays: no 5xx, documented status codes and
        # content types, bodies matching their schemas, schema-invalid input refused.
        excluded_checks=[positive_data_acceptance],
    )

"""The deliberation admin: every page opens; rule rows are editable, meetings are not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yishiting.deliberation import actions
from yishiting.deliberation.models import Body, Meeting
from yishiting.deliberation.testing import fill
from yishiting.testing import County

pytestmark = pytest.mark.django_db


def test_every_deliberation_admin_page_opens(county: County) -> None:
    reg = fill(county.village, households=3, accounts=3, representatives=3)
    topic = actions.do_raise_topic(
        actor=reg.users()[0], hall=county.village, title="修路", text="村口路坏了"
    )
    actions.do_create_meeting(
        actor=county["liaison1"], hall=county.village, title="代表会议",
        starts_at=timezone.now() + timedelta(days=1), topics=[topic.pk],
    )  # fmt: skip
    client = Client()
    client.force_login(county["admin"])
    models = [m for m in admin.site._registry if m._meta.app_label == "deliberation"]
    assert len(models) >= 10
    for model in models:
        opts = model._meta
        listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.model_name
        row = model.objects.first()  # type: ignore[attr-defined]
        if row is not None:
            page = client.get(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
            )
            assert page.status_code == 200, opts.model_name
    assert admin.site._registry[Body].has_change_permission(_request(county))
    assert not admin.site._registry[Meeting].has_change_permission(_request(county))


def _request(county: County):  # type: ignore[no-untyped-def]
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = county["admin"]
    return request

"""转办 on the pages: the duty console's first button on a dispatched row, the request panel's
forward form (departments and their officers), and a refusal shown, not a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from yishiting.orgs.models import DutyShift
from yishiting.requests import actions
from yishiting.requests.models import Event, Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db


def dispatched(c: County) -> Request:
    r = actions.do_submit(actor=c["resident1"], hall=c.village, text="村口路灯坏了")
    r = actions.do_acknowledge(r, actor=c["liaison1"])
    r = actions.do_escalate(r, actor=c["liaison1"])
    r = actions.do_acknowledge(r, actor=c["manager1"])
    r = actions.do_escalate(r, actor=c["manager1"])
    return actions.do_dispatch(r, actor=c["dispatcher1"], department="zhujian")


def on_shift(c: County) -> Client:
    now = timezone.now()
    DutyShift.objects.create(
        county=c.county,
        user=c["duty1"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    client = Client()
    client.force_login(c["duty1"])
    return client


def test_the_duty_console_offers_forward_first_on_a_dispatched_row(county: County) -> None:
    r = dispatched(county)
    page = on_shift(county).get("/duty/").content.decode()
    row = page[page.index(f'id="row-{r.pk}"') :]
    row = row[: row.index("</li>")]
    assert 'data-verb="forward"' in row and 'name="to" value="zhujian"' in row


def test_the_panel_makes_forward_the_primary_verb_and_forwards(county: County) -> None:
    r = dispatched(county)
    client = on_shift(county)
    page = client.get(f"/r/{r.pk}/").content.decode()
    first = re.search(r'<details class="verb([^"]*)"[^>]*>\s*<summary[^>]*>([^<]+)<', page)
    assert first is not None and "primary-verb" in first.group(1) and first.group(2) == "转办"
    assert '<option value="dept1">' in page and '<option value="gongdian">' in page
    response = client.post(
        f"/r/{r.pk}/do/forward/", {"to": "dept1", "note": "请连夜处理"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    event = Event.objects.filter(request_id=r.pk).order_by("-seq").first()
    assert event is not None and (event.verb, event.data["to"]) == ("forward", "dept1")
    assert "转办</strong> → 周明" in response.content.decode()  # on the handlers' timeline


def test_a_bad_forward_is_shown_as_an_error(county: County) -> None:
    r = dispatched(county)
    client = on_shift(county)
    response = client.post(f"/r/{r.pk}/do/forward/", {"to": "nobody"})
    assert response.status_code == 422
    off = Client()
    off.force_login(county["leader1"])
    assert off.post(f"/r/{r.pk}/do/forward/", {"to": "dept1"}).status_code == 403
    assert Request.objects.get(pk=r.pk).version == r.version

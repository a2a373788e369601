"""Through the API's public view: none of a resident's numbers survives (issue 6)."""

from __future__ import annotations

import json
import re

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yishiting.api.schemas import request_out
from yishiting.orgs.scope import Actor
from yishiting.requests.actions import do_submit
from yishiting.routing.tests.test_masking import id_numbers, mobiles, typed
from yishiting.testing import County


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_public_view_shows_no_phone_or_id(county: County, data: st.DataObject) -> None:
    phone = data.draw(mobiles)
    id_number = data.draw(id_numbers)
    text = f"路灯坏了，电话{data.draw(typed(phone))}，身份证{data.draw(typed(id_number))}"
    req = do_submit(actor=county["resident1"], hall=county.village, text=text)
    public = json.dumps(
        request_out(req, Actor.of(county["resident2"]), now=timezone.now()),
        ensure_ascii=False,
        default=str,
    )
    plain = re.sub(r"[^0-9X]", "", public.upper())
    assert phone not in plain
    assert id_number not in plain
    # The handler still sees them.
    handler = request_out(req, Actor.of(county["liaison1"]), now=timezone.now())
    assert handler["text"] == text

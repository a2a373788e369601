import pytest
from yishiting.requests import actions as A
from yishiting.requests import sweep
from datetime import timedelta
from django.utils import timezone
import io
from yishiting.testing import png_bytes

@pytest.mark.django_db(transaction=False)
def test_smoke(county):
    c = county
    r = A.do_submit(actor=c["resident1"], hall=c.village, text="村口路灯坏了三天了")
    assert r.status == "submitted" and r.respond_by
    r = A.do_acknowledge(r, actor=c["liaison1"])
    r = A.do_escalate(r, actor=c["liaison1"])
    assert r.hall == c.township
    r = A.do_acknowledge(r, actor=c["manager1"])
    r = A.do_escalate(r, actor=c["manager1"])
    assert r.hall == c.assignment
    r = A.do_dispatch(r, actor=c["dispatcher1"], department="zhujian", category="streetlight")
    r = A.do_claim(r, actor=c["dept1"])
    f = io.BytesIO(png_bytes()); f.name = "fix.png"
    r = A.do_resolve(r, actor=c["dept1"], note="已更换灯泡", photos=[f])
    r = A.do_rate(r, actor=c["resident1"], rating="satisfied")
    assert r.status == "closed"
    print(list(r.events.values_list("verb","to_status")))
    r2 = A.do_submit(actor=c["resident1"], hall=c.village, text="x")
    n = sweep.run_once(now=timezone.now() + timedelta(minutes=6))
    r2.refresh_from_db()
    assert r2.status == "escalated", r2.status

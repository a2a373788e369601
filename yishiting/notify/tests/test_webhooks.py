"""Outbound webhooks: signed, through the outbox, once and in order, filtered, masked, logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from yishiting.notify import outbox
from yishiting.notify.admin import WebhookForm
from yishiting.notify.models import Notification, NotifyStatus, Webhook
from yishiting.notify.testing import FakeWebhookReceiver
from yishiting.notify.webhooks import sign
from yishiting.requests import actions as A
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event
from yishiting.testing import County

T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)  # a Tuesday, in working hours
SECRET = "whsec-test"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


@pytest.fixture(autouse=True)
def _fast_retries(settings):  # type: ignore[no-untyped-def]
    """Retry at once: the tests drive each attempt themselves instead of waiting."""
    settings.NOTIFY_RETRY_SECONDS = 0
    settings.NOTIFY_RETRY_MAX_SECONDS = 0


def hook(url: str, *, verbs: list[str] | None = None, secret: str = SECRET, **kw: Any) -> Webhook:
    return Webhook.objects.create(name="12345", url=url, verbs=verbs or [], secret=secret, **kw)


def submit(county: County, text: str = "村口路灯坏了", **kw: Any) -> int:
    return A.do_submit(actor=county["resident1"], hall=county.village, text=text, now=T0, **kw).pk


def drain(key: str) -> None:
    for _ in range(50):
        if outbox.deliver(key) == "idle":
            return
    raise AssertionError(f"{key} never emptied")


def test_the_documented_signature_vector_holds() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    secret = re.search(r"- secret: `([^`]+)`", doc)
    timestamp = re.search(r"- timestamp: `(\d+)`", doc)
    body = re.search(r"- body: `([^`]+)`", doc)
    signature = re.search(r"- signature: `(sha256=[0-9a-f]{64})`", doc)
    assert secret and timestamp and body and signature
    assert sign(secret[1], timestamp[1], body[1]) == signature[1]
    # The headers' example shows the same numbers.
    assert f"X-Yishiting-Timestamp: {timestamp[1]}" in doc
    assert f"X-Yishiting-Signature: {signature[1]}" in doc
    # The documented Python verifier accepts it, and refuses a changed body or a stale time.
    code = re.search(r"```python\n(.*?)```", doc, re.S)
    assert code
    space: dict[str, Any] = {}
    exec(code[1], space)
    verify = space["verify"]
    raw = body[1].encode()
    now = int(timestamp[1]) + 10
    assert verify(secret[1], timestamp[1], raw, signature[1], now)
    assert not verify(secret[1], timestamp[1], raw + b" ", signature[1], now)
    assert not verify(secret[1], timestamp[1], raw, signature[1], now + 3600)
    # Independently of our helper: HMAC-SHA256 over "ts.body", hex.
    mac = hmac.new(secret[1].encode(), f"{timestamp[1]}.{body[1]}".encode(), hashlib.sha256)
    assert signature[1] == "sha256=" + mac.hexdigest()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_signed_with_exactly_the_documented_headers(county: County) -> None:
    with FakeWebhookReceiver(SECRET) as receiver:
        wh = hook(receiver.webhook_url())
        pk = submit(county)
        row = Notification.objects.get(webhook=wh)
        assert (row.channel, row.destination, row.status) == ("webhook", wh.destination, "pending")
        assert outbox.deliver(wh.destination) == "sent"
    assert receiver.answers[-1].status == 200
    [got] = receiver.received  # accepted: the receiver recomputed the signature itself
    event = Event.objects.get(request_id=pk, verb="submit")
    key = f"e{event.pk}:submit:webhook{wh.pk}"
    assert got.method == "POST" and got.path == FakeWebhookReceiver.PATH
    assert {k for k in got.headers if k.startswith("x-yishiting-")} == {
        "x-yishiting-timestamp",
        "x-yishiting-signature",
        "x-yishiting-event",
        "x-yishiting-delivery",
    }
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    assert got.headers["x-yishiting-event"] == "submit"
    assert got.headers["x-yishiting-delivery"] == key
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", got.headers["x-yishiting-signature"])
    assert set(got.body) == {"id", "type", "created_at", "request", "event"}
    assert (got.body["id"], got.body["type"]) == (key, "submit")
    assert got.body["request"]["id"] == pk
    assert got.body["event"]["seq"] == event.seq
    assert datetime.fromisoformat(got.body["created_at"]) == T0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_code) == ("sent", 1, 200)


@pytest.mark.django_db(transaction=True)
def test_a_wrong_secret_is_refused_and_the_delivery_is_dead_at_once(county: County) -> None:
    with FakeWebhookReceiver(SECRET) as receiver:
        wh = hook(receiver.webhook_url(), secret="not-the-shared-secret")
        submit(county)
        assert outbox.deliver(wh.destination) == "sent"  # a batch was handled
    assert receiver.received == []
    assert [(a.status, a.message) for a in receiver.answers] == [(401, "bad signature")]
    row = Notification.objects.get(webhook=wh)
    assert (row.status, row.attempts, row.response_code) == ("dead", 1, 401)
    assert row.last_error == "HTTP 401"
    # It is on the dead-letter list an admin retries from.
    assert list(Notification.objects.filter(status=NotifyStatus.DEAD)) == [row]


@pytest.mark.django_db(transaction=True)
def test_a_permanent_4xx_is_dead_and_a_408_or_429_is_retried(county: County) -> None:
    with FakeWebhookReceiver(SECRET) as receiver:
        wh = hook(receiver.webhook_url())
        submit(county, "第一件")
        for status in (408, 429, 503):
            receiver.down("error", status=status)
            assert outbox.deliver(wh.destination) == "waiting"
            row = Notification.objects.get(webhook=wh)
            assert (row.status, row.response_code, row.last_error) == (
                "pending",
                status,
                f"HTTP {status}",
            )
        receiver.down("error", status=410)
        assert outbox.deliver(wh.destination) == "sent"  # a batch was handled
        row.refresh_from_db()
        assert (row.status, row.attempts, row.response_code) == ("dead", 4, 410)
        assert receiver.received == []
        # An admin's retry (重新发送) once the receiver is fixed sends it, once.
        receiver.up()
        assert outbox.retry([row]) == 1
        drain(wh.destination)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_code, row.last_error) == ("sent", 1, 200, "")
    assert [e["id"] for e in receiver.events] == [row.idempotency_key]


@pytest.mark.django_db(transaction=True)
def test_a_receiver_down_then_back_gets_every_event_once_in_order(county: County) -> None:
    with FakeWebhookReceiver(SECRET) as receiver:
        wh = hook(receiver.webhook_url())
        first = submit(county, "第一件")
        receiver.down("refuse")
        assert outbox.deliver(wh.destination) == "waiting"
        row = Notification.objects.get(webhook=wh)
        assert (row.status, row.attempts, row.response_code) == ("pending", 1, None)
        assert "connection refused" in row.last_error
        # More happens while it is down: the first request is handled, others arrive.
        A.do_acknowledge(first, actor=county["liaison1"], now=T0 + timedelta(minutes=1))
        A.do_start(first, actor=county["liaison1"], now=T0 + timedelta(minutes=2))
        more = [submit(county, f"第{i}件") for i in range(5)]
        A.do_resolve(first, actor=county["liaison1"], note="已修好", now=T0 + timedelta(hours=1))
        receiver.up()
        receiver.down("error", status=502)
        assert outbox.deliver(wh.destination) == "waiting"
        # Then it takes a delivery but the connection drops before its answer: sent again.
        receiver.up()
        receiver.down("lose-reply")
        assert outbox.deliver(wh.destination) == "waiting"
        receiver.up()
        drain(wh.destination)
    written = list(Notification.objects.filter(webhook=wh).order_by("id"))
    assert {r.status for r in written} == {"sent"}
    ids = [e["id"] for e in receiver.events]
    assert ids == [r.idempotency_key for r in written]  # every event, once, as written
    assert receiver.duplicates == 1  # the lost reply's delivery, de-duplicated by its key
    assert len(receiver.received) == len(written) + 1
    seqs = [e["event"]["seq"] for e in receiver.events if e["request"]["id"] == first]
    assert seqs == sorted(seqs) and len(seqs) == 4  # submit, acknowledge, start, resolve
    assert [e["type"] for e in receiver.events if e["request"]["id"] == first] == [
        "submit",
        "acknowledge",
        "start",
        "resolve",
    ]
    assert {e["request"]["id"] for e in receiver.events} == {first, *more}


@pytest.mark.django_db
def test_webhooks_get_only_the_verbs_they_chose_and_no_internal_event(county: County) -> None:
    resolved_only = hook("https://example.org/a", verbs=["resolve"])
    everything = hook("https://example.org/b")
    hook("https://example.org/c", active=False)
    pk = submit(county)
    A.do_acknowledge(pk, actor=county["liaison1"], now=T0)
    A.do_comment(pk, actor=county["liaison1"], note="内部：找电工老李", public=False, now=T0)
    A.do_comment(pk, actor=county["liaison1"], note="已联系电工", now=T0)
    A.do_start(pk, actor=county["liaison1"], now=T0)
    A.do_resolve(pk, actor=county["liaison1"], note="已更换灯泡", now=T0 + timedelta(hours=1))

    def kinds(wh: Webhook) -> list[str]:
        return list(
            Notification.objects.filter(webhook=wh).order_by("id").values_list("title", flat=True)
        )

    assert kinds(resolved_only) == ["resolve"]
    assert kinds(everything) == ["submit", "acknowledge", "comment", "start", "resolve"]
    assert Notification.objects.filter(channel="webhook").count() == 6
    bodies = [
        json.loads(b)
        for b in Notification.objects.filter(webhook=everything).values_list("body", flat=True)
    ]
    assert all(b["event"]["public"] for b in bodies)
    assert "老李" not in json.dumps(bodies, ensure_ascii=False)


@pytest.mark.django_db
def test_the_payload_is_the_public_masked_view(county: County) -> None:
    wh = hook("https://example.org/a")
    pk = submit(
        county,
        "我是王秀兰，电话13812345678，村口路灯坏了",
        reporter_name="王秀兰",
        reporter_phone="13812345678",
        address="幸福村3组12号",
        lat=30.1,
        lng=120.2,
    )
    A.do_acknowledge(pk, actor=county["liaison1"], now=T0)
    rows = Notification.objects.filter(webhook=wh).order_by("id")
    assert rows.count() == 2
    for row in rows:
        assert "13812345678" not in row.body and "王秀兰" not in row.body
        assert "张丽" not in row.body  # the liaison who acknowledged is not named
        body = json.loads(row.body)
        req = body["request"]
        assert req["reporter"] == {"name": "王**", "phone": "138****5678"}
        assert (req["location"]["lat"], req["location"]["lng"]) == (None, None)
        assert req["follow_code"] is None and req["allowed_verbs"] == []
        assert body["event"]["actor"] is None


@pytest.mark.django_db
def test_the_admin_keeps_the_secret_write_only_and_shows_the_delivery_log(county: County) -> None:
    wh = hook("https://example.org/hook", secret="s3cret-value-xyz")
    submit(county)
    Notification.objects.filter(webhook=wh).update(
        status=NotifyStatus.DEAD, attempts=3, response_code=410, last_error="HTTP 410"
    )
    client = Client()
    client.force_login(county["admin"])
    page = client.get(f"/admin/notify/webhook/{wh.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "s3cret-value-xyz" not in html
    row = Notification.objects.get(webhook=wh)
    assert "投递记录" in html
    # The log's row: id, event type, status, attempts, the receiver's status, the error.
    cells = re.findall(r"<td>(.*?)</td>", html[html.index("投递记录") :])
    assert [re.sub(r"<[^>]+>", "", c) for c in cells[:6]] == [
        str(row.pk),
        "submit",
        "发送失败",
        "3",
        "410",
        "HTTP 410",
    ]
    listing = client.get("/admin/notify/webhook/").content.decode()
    assert f"?webhook__id__exact={wh.pk}" in listing and "s3cret-value-xyz" not in listing
    assert client.get(f"/admin/notify/notification/?webhook__id__exact={wh.pk}").status_code == 200

    # Saved with the secret left empty, the stored one stays; unknown verbs are refused.
    data = {"name": "12345 平台", "url": "https://example.org/hook", "verbs": ["resolve"]}
    form = WebhookForm(data={**data, "active": "on", "secret": ""}, instance=wh)
    assert form.is_valid(), form.errors
    form.save()
    wh.refresh_from_db()
    assert (wh.secret, wh.verbs, wh.name) == ("s3cret-value-xyz", ["resolve"], "12345 平台")
    assert not WebhookForm(data={**data, "verbs": ["nope"], "secret": "x"}).is_valid()
    bad_url = WebhookForm(data={**data, "url": "file:///etc/passwd", "secret": "x"})
    assert not bad_url.is_valid() and "url" in bad_url.errors
    assert not WebhookForm(data={**data, "secret": ""}).is_valid()  # a new one needs a secret


@pytest.mark.django_db
def test_a_webhook_switched_off_or_with_a_bad_url_fails_its_queue_without_wedging(
    county: County,
) -> None:
    off = hook("https://example.org/off")
    broken = hook("https://example.org/broken")
    submit(county)
    Webhook.objects.filter(pk=off.pk).update(active=False)
    Webhook.objects.filter(pk=broken.pk).update(url="ftp://example.org/x")  # past the admin
    for wh in (off, broken):
        drain(wh.destination)
        row = Notification.objects.get(webhook=wh)
        assert (row.status, row.response_code) == ("dead", None)
        assert row.last_error == "the recipient has no address for this channel"

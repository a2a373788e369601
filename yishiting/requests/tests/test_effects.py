"""What an event's write transaction holds: only writes (docs/proof.md). Who is told what and
how the statistics move are read and worked out before it (`requests.effects.plan`), so the
transaction that holds SQLite's one write lock, and PostgreSQL's rollup rows, stays short."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yishiting.notify.models import Notification
from yishiting.requests import actions as A
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.stats import metrics as m
from yishiting.stats.models import Rollup
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)  # Tuesday 09:00, working hours


def _photo() -> io.BytesIO:
    f = io.BytesIO(png_bytes())
    f.name = "fix.png"
    return f


def inside_write(call: Callable[[], Request]) -> list[str]:
    """The statements of `call`'s write transaction (the test's own transaction makes it a
    savepoint)."""
    with CaptureQueriesContext(connection) as queries:
        call()
    sql = [q["sql"] for q in queries]
    begin = next(i for i, q in enumerate(sql) if q.startswith(("SAVEPOINT", "BEGIN")))
    end = max(i for i, q in enumerate(sql) if q.startswith(("RELEASE", "COMMIT")))
    return [q for q in sql[begin + 1 : end] if not q.startswith(("SAVEPOINT", "RELEASE"))]


def _table(sql: str) -> str:
    return sql.split('"')[1]


def test_an_events_transaction_holds_only_its_writes(county: County) -> None:
    c = county
    r = A.do_submit(actor=c["resident1"], hall=c.village, text="路灯坏了", now=T0)
    # Each verb, who it tells (notify/tests/test_rules.py tests the rules one by one), and
    # the call.
    life: list[tuple[str, list[tuple[str, str]], Callable[[], Request]]] = [
        ("submit", [("liaison1", "in_app")], lambda: A.do_submit(
            actor=c["resident1"], hall=c.village, text="路灯又坏了", photos=[_photo()], now=T0
        )),
        ("escalate", [("manager1", "in_app")],
         lambda: A.do_escalate(r.pk, actor=c["liaison1"], now=T0)),
        ("acknowledge", [], lambda: A.do_acknowledge(r.pk, actor=c["manager1"], now=T0)),
        ("escalate", [("dispatcher1", "in_app")],
         lambda: A.do_escalate(r.pk, actor=c["manager1"], now=T0)),
        ("dispatch", [("dept1", "in_app")], lambda: A.do_dispatch(
            r.pk, actor=c["dispatcher1"], department="zhujian", now=T0
        )),
        ("claim", [], lambda: A.do_claim(r.pk, actor=c["dept1"], now=T0 + timedelta(minutes=5))),
        ("resolve", [("resident1", "in_app"), ("resident1", "sms")], lambda: A.do_resolve(
            r.pk, actor=c["dept1"], note="已修复", photos=[_photo()],
            now=T0 + timedelta(hours=2),
        )),
        ("rate", [], lambda: A.do_rate(
            r.pk, actor=c["resident1"], rating="satisfied", now=T0 + timedelta(hours=3)
        )),
    ]  # fmt: skip
    for verb, expected, call in life:
        inside = inside_write(call)
        # Inside: the request's row, its event, photos and followers, the outbox rows and
        # the lock on their delivery queues (outbox.queue), the statistics upsert;
        # nothing read (who to tell, the events so far, existing keys).
        reads = [
            q
            for q in inside
            if not q.startswith(("INSERT", "UPDATE")) and _table(q) != "notify_destination"
        ]
        assert not reads, (verb, reads)
        locks = [q for q in inside if q.startswith("SELECT") and _table(q) == "notify_destination"]
        assert all("FOR UPDATE" in q for q in locks) or connection.vendor == "sqlite", locks
        written = {_table(q) for q in inside if q.startswith(("INSERT", "UPDATE"))}
        assert {"requests_request", "requests_event"} <= written, (verb, written)
        if verb in ("submit", "dispatch", "resolve", "rate"):  # they move the statistics
            assert "stats_rollup" in written, verb
        event = Event.objects.filter(verb=verb).latest("pk")
        # and the effects are there: who was told (the resident rating tells nobody) ...
        told = sorted(
            (n.user.username if n.user else n.destination, n.channel)
            for n in Notification.objects.filter(event=event)
        )
        assert told == expected, verb
        if verb in ("submit", "resolve"):
            assert "requests_attachment" in written, verb
    # ... and the statistics: one accepted and one rated request, as the raw rows say.
    scope = m.parse_scope("county", c.county)
    since, until = m.midnight(T0.date()), m.midnight(T0.date() + timedelta(days=1))
    fast, slow = (
        m.metrics(scope, since, until).figures(),
        m.metrics_from_raw(scope, since, until).figures(),
    )
    assert fast == slow
    assert Rollup.objects.exclude(rated=0).exists()

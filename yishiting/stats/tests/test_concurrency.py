"""Two writers at once never lose an increment: the rollups are added to in the database
(upsert with `c = c + excluded.c`), not read, changed and written back."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from django.db import connection

from yishiting.requests import actions as A
from yishiting.stats import metrics as m
from yishiting.stats.rollups import tz
from yishiting.testing import County

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=tz())
WRITERS = 4
EACH = 5


def test_concurrent_submissions_all_count(county: County) -> None:
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for j in range(EACH):
                A.do_submit(
                    actor=county["resident1"],
                    hall=county.village,
                    text=f"第{i}-{j}件",
                    now=T0 + timedelta(seconds=j),
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    scope = m.county_scope(county.county)
    period = (m.midnight(date(2026, 11, 1)), m.midnight(date(2026, 12, 1)))
    fast = m.metrics(scope, *period)
    assert fast.tally.counts["submitted"] == WRITERS * EACH
    assert fast.figures() == m.metrics_from_raw(scope, *period).figures()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("same_shard", [False, True])
def test_an_event_does_not_wait_for_another_holding_the_county_rows(
    county: County, monkeypatch: pytest.MonkeyPatch, same_shard: bool
) -> None:
    """On PostgreSQL two events' transactions add to the county's rows in different shards:
    the second commits while the first still holds its rows (in one shard it would queue
    behind it until the commit, which `lock_timeout` turns into an error here), and the
    figures are the sum of both."""
    from django.db import OperationalError, transaction

    from yishiting.stats import rollups

    shards = iter([3, 3 if same_shard else 5])
    monkeypatch.setattr(rollups, "shard", lambda: next(shards))
    holding, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                A.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了", now=T0)
                holding.set()
                done.wait(timeout=30)  # the other writer's outcome, then commit
        except BaseException as exc:
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(timeout=30)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            A.do_submit(actor=county["resident2"], hall=county.village, text="井盖松动", now=T0)
        waited = False
    except OperationalError:  # lock_timeout: queued behind the first writer's rows
        waited = True
    finally:
        done.set()
        thread.join(timeout=60)
    assert not errors
    assert waited == same_shard
    scope = m.county_scope(county.county)
    period = (m.midnight(date(2026, 11, 1)), m.midnight(date(2026, 12, 1)))
    assert m.metrics(scope, *period).tally.counts["submitted"] == (1 if same_shard else 2)

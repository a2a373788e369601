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

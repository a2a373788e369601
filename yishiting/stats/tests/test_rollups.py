"""The rebuild's short cuts give exactly what the plain definitions give: `expand_cells` the
rows of `expand` cell by cell, the cached local day the zone's own, a rebuild in many batches
the rows of a rebuild in one."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yishiting.stats import buckets
from yishiting.stats.models import COUNTERS
from yishiting.stats.rollups import Key, RowKey, Vector, _local_day, expand, expand_cells, rebuild
from yishiting.stats.tests import rows
from yishiting.testing import County

from .test_metrics import T0, handled, submit

# A county A with townships A1, A2; villages under them; a group under one village; and
# requests raised at the county and township halls themselves too.
PATHS = [
    ("A",),
    ("A", "A1"),
    ("A", "A2"),
    ("A", "A1", "A1a"),
    ("A", "A1", "A1b"),
    ("A", "A2", "A2a"),
    ("A", "A1", "A1a", "A1a1"),
    ("B", "B1", "B1a"),  # another county: its own county and category scopes
]
DAYS = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]
key = st.one_of(
    st.tuples(st.sampled_from(DAYS), st.just("c"), st.sampled_from(COUNTERS[:-1])),
    st.tuples(st.sampled_from(DAYS), st.just("H"), st.sampled_from(["0", "9", "23"])),
    st.tuples(
        st.sampled_from(DAYS),
        st.sampled_from(["F", "R"]),
        st.sampled_from([str(i) for i in (0, 3, 12, buckets.LAST)]),
    ),
)
attribution = st.tuples(
    st.sampled_from(PATHS), st.sampled_from([None, 1, 2]), st.sampled_from([None, 1, 2])
)
cells = st.dictionaries(attribution, st.dictionaries(key, st.integers(-3, 5), max_size=12))


def _nonzero(rows: dict[RowKey, Vector]) -> dict[RowKey, Vector]:
    return {k: v for k, v in rows.items() if any(v)}


@settings(max_examples=300, deadline=None)
@given(cells)
def test_expand_cells_gives_the_rows_of_expand(
    given_cells: dict[tuple[tuple[str, ...], int | None, int | None], dict[Key, int]],
) -> None:
    plain: dict[RowKey, Vector] = {}
    for attr, counts in given_cells.items():
        expand(attr, counts, plain, grains=("d",))
    fast: dict[RowKey, Vector] = {}
    expand_cells(given_cells, fast)
    assert _nonzero(fast) == _nonzero(plain)


# Naive bounds (hypothesis draws naive times; the test makes them UTC).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC).replace(tzinfo=None)
LATEST = datetime(2100, 1, 1, tzinfo=UTC).replace(tzinfo=None)
ZONES = ["Asia/Shanghai", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe", "UTC"]


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.datetimes(min_value=EARLIEST, max_value=LATEST),
)
def test_the_cached_local_day_is_the_zones(zone_name: str, naive: datetime) -> None:
    zone = ZoneInfo(zone_name)
    t = naive.replace(tzinfo=UTC)
    assert _local_day(t, zone) == t.astimezone(zone).date()
    # around the same hour (the cache is keyed by UTC hour), and in another zone's clothes
    for later in (timedelta(minutes=29), timedelta(minutes=59, seconds=59)):
        assert _local_day(t + later, zone) == (t + later).astimezone(zone).date()
    shanghai = t.astimezone(ZoneInfo("Asia/Shanghai"))
    assert _local_day(shanghai, zone) == t.astimezone(zone).date()


def _rows() -> list[tuple[object, ...]]:
    return rows.summed()


@pytest.mark.django_db
def test_a_rebuild_in_many_batches_gives_the_rows_of_one(county: County) -> None:
    c = county
    handled(c, T0)
    handled(c, T0 + timedelta(days=40))
    submit(c, at=T0 + timedelta(days=3))
    kept = _rows()
    counts = defaultdict(int)
    for row in kept:
        counts[row[1]] += 1
    assert counts["d"] and counts["m"]
    # one request per chunk and a batch written after every one: rows added to rows
    assert rebuild(chunk=1, flush_at=1) == len(kept)
    assert _rows() == kept
    assert rebuild() == len(kept)
    assert _rows() == kept

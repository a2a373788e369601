"""`make bench`'s statistics history, at a tiny size: the fill keeps up with the schema (it
inserts rows by raw SQL, column by column) and on its generated history the rollups give the
same figures as the naive count from raw rows (`bench.stats.measure` asserts it)."""

from __future__ import annotations

import os

import pytest

from bench.stats import run_size

# The bench makes its own SQLite database: once per suite run is enough.
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql"))


@pytest.mark.skipif(ON_POSTGRES, reason="the bench runs on SQLite; the SQLite pass runs it")
def test_the_stats_bench_runs_and_agrees_with_the_naive_count() -> None:
    result = run_size(300)
    assert result["n"] == 300 and result["rollup_rows"] > 0
    scopes = {(q["scope"], q["period"]) for q in result["queries"]}
    assert scopes == {(s, p) for s in ("county", "township") for p in ("year", "45 days")}
    assert all(q["naive_ms"] is not None for q in result["queries"])
    county_year = next(
        q for q in result["queries"] if q["scope"] == "county" and q["period"] == "year"
    )
    assert county_year["submitted"] == 300

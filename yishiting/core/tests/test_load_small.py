"""The load and fault suites at a small size (bench/load, docs/proof.md).

The set-up follows the suite's database: on PostgreSQL (the second pass of `make test`) the
city set-up (a throw-away PostgreSQL, Redis, 4 server processes, the worker), else the
embedded one (`yishiting serve` on SQLite, two server processes and the worker in their
parent). 10 residents, 50 liaisons live, 30 seconds, and each fault twice in the middle of
it. Asserts what must hold whatever the machine's speed: no errors, nothing lost or done
twice, every deadline handled, recovery without a human. Latencies are reported by
`make proof`, not asserted here.
"""

from __future__ import annotations

import os
import shutil

import pytest

from bench.load.run import SIZES, run

pytestmark = pytest.mark.load

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if POSTGRES and not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (scripts/deps.sh installs it)")
    base = tmp_path_factory.mktemp("load")
    return run("pg" if POSTGRES else "sqlite", SIZES["small"], faults=True, base=base)


def test_no_errors_and_nothing_lost(summary: dict) -> None:
    assert summary["accepted"] > 0
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["lost"] == 0, summary["lost_ids"]
    assert summary["verbs_missing"] == 0
    assert summary["no_submit_event"] == 0
    assert summary["replay_mismatches"] == 0
    assert summary["accepted_twice"] == summary["unknown_twice"] == 0


def test_every_deadline_acted_on_once(summary: dict) -> None:
    assert summary["auto_escalations"] > 0  # the sweep had first-response clocks to act on
    assert summary["double_escalations"] == 0
    assert summary["double_breaches"] == 0
    assert summary["deadlines_unhandled"] == 0


def test_live_pushes_reach_the_liaisons(summary: dict) -> None:
    assert summary["push_expected"] > 0
    assert summary["push_missed"] == 0


def test_it_recovers_from_every_fault_without_a_human(summary: dict) -> None:
    kinds = ["server", "worker", "postgres"] if POSTGRES else ["server", "worker"]
    assert summary["fault_counts"] == {k: SIZES["small"].faults for k in kinds}
    assert summary["fault_failures_unrecovered"] == []
    assert sum(summary["restarts"].values()) >= summary["fault_counts"].get("server", 0)
    assert summary["all_alive"]
    assert summary["tasks_running"] == 0
    assert [p for p in summary["problems"] if not p.startswith("target:")] == []

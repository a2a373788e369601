"""Real threads racing on the same request (PRODUCT.md §3: "Two people acting at once on the
same request: one wins, the other gets 409 conflict"), and two deadline sweeps at once (§4).

Threads need committed data and their own connections: transactional tests, and every thread
closes its connection when done. Run on SQLite (default) and on PostgreSQL
(`DATABASE_URL=$(scripts/pg.sh start)`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection

from yishiting.core.errors import ConflictError, ForbiddenError, IllegalTransitionError
from yishiting.orgs.models import Membership, Role, User
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.requests.models import Event, Request
from yishiting.requests.tests.test_states import expected_target
from yishiting.testing import County, next_deadline

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
ROUNDS = 20
LOSES = (ConflictError, IllegalTransitionError)


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a racing thread hung"
    return results


def second_liaison(county: County) -> User:
    """Another liaison of 东关村, beside liaison1."""
    user = User.objects.create(username="liaison4", display_name="钱芳")
    Membership.objects.create(user=user, role=Role.LIAISON, hall=county.village)
    return user


def assert_whole(req: Request) -> None:
    """Every version has its event and every event its version: nothing half-written."""
    req.refresh_from_db()
    seqs = list(Event.objects.filter(request=req).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, req.version + 1))
    assert Event.objects.filter(request=req).order_by("-seq")[0].to_status == req.status


def submit(county: County, now: datetime) -> Request:
    return A.do_submit(actor=county["resident1"], hall=county.village, text="井盖丢了", now=now)


def test_two_liaisons_acknowledge_at_once_one_wins(county: County) -> None:
    other = second_liaison(county)
    kinds: Counter[str] = Counter()
    for i in range(ROUNDS):
        now = T0 + timedelta(minutes=i)
        req = submit(county, now)
        results = together(
            partial(A.do_acknowledge, req.pk, actor=county["liaison1"], now=now),
            partial(A.do_acknowledge, req.pk, actor=other, now=now),
        )
        wins = [r for r in results if isinstance(r, Request)]
        losses = [r for r in results if not isinstance(r, Request)]
        assert len(wins) == 1, results
        assert all(isinstance(e, LOSES) for e in losses), losses
        assert all(e.status == 409 for e in losses)
        kinds.update(type(e).__name__ for e in losses)
        assert_whole(req)
        assert (req.status, req.version) == ("acknowledged", 2)
        winner = results.index(wins[0])
        ack = Event.objects.get(request=req, seq=2)
        assert ack.actor_id == (county["liaison1"].pk, other.pk)[winner]
    print("losers:", dict(kinds))
    # the threads really raced: at least once both read before either wrote
    assert kinds["ConflictError"] >= 1, kinds


def test_different_verbs_at_once_one_wins(county: County) -> None:
    other = second_liaison(county)
    kinds: Counter[str] = Counter()
    for i in range(ROUNDS // 2):
        now = T0 + timedelta(minutes=i)
        req = submit(county, now)
        results = together(
            partial(A.do_acknowledge, req.pk, actor=county["liaison1"], now=now),
            partial(A.do_escalate, req.pk, actor=other, now=now),
            partial(A.do_reject, req.pk, actor=county["manager1"], reason="重复诉求", now=now),
            partial(A.do_comment, req.pk, actor=county["resident1"], note="还没修", now=now),
        )
        # The outcome is some serial order of the successes: a comment is a write too (one
        # event, one version), and a verb whose read came after another's commit acts on the
        # new state if the table allows it there (escalate after acknowledge, say).
        wins = [r for r in results if isinstance(r, Request)]
        assert wins, results
        for result in results:
            if not isinstance(result, Request):
                # after an escalation the village's people are out of scope: 403 is right too
                assert isinstance(result, (*LOSES, ForbiddenError)), result
                kinds[type(result).__name__] += 1
        assert_whole(req)
        chain = list(
            Event.objects.filter(request=req)
            .order_by("seq")
            .values_list("verb", "from_status", "to_status")
        )
        assert len(chain) == 1 + len(wins)
        state, hall_kind = "submitted", "village"
        for verb, from_status, to_status in chain[1:]:
            assert from_status == state
            assert to_status == expected_target(verb, state, hall_kind=hall_kind), chain
            state = to_status
            hall_kind = "township" if verb == "escalate" else hall_kind
        assert req.status == state
    print("losers:", dict(kinds))
    assert kinds["ConflictError"] >= 1, kinds


@pytest.mark.parametrize("threads", [1, 4])
def test_two_sweeps_act_on_each_deadline_once(county: County, threads: int) -> None:
    """Two sweeps at once (two workers), each in one thread or sharing its pass out among
    four (settings.SWEEP_THREADS)."""
    reqs = [submit(county, T0) for _ in range(50)]
    due = T0 + timedelta(minutes=5)
    assert all(next_deadline(r) == due for r in reqs)

    def one_sweep() -> int:
        return sweep.run_pass(now=due, threads=threads)[0]

    acted = together(one_sweep, one_sweep)
    assert all(isinstance(n, int) for n in acted), acted
    print("acted per sweep:", acted)
    assert sum(acted) == 50
    for r in reqs:
        assert_whole(r)
        assert (r.status, r.version, r.hall_id) == ("escalated", 2, county.township.pk)
        escalations = Event.objects.filter(request=r, verb="escalate", actor=None)
        assert escalations.count() == 1
    assert not Request.objects.filter(next_due_at__lte=due).exists()


def test_the_sweep_and_a_liaison_at_once(county: County) -> None:
    """At the first-response deadline, the liaison answers as the sweep escalates: exactly one
    of them happens, never an automatic escalation of an answered request."""
    outcomes: Counter[str] = Counter()
    for i in range(ROUNDS):
        start = T0 + timedelta(hours=i)
        req = submit(county, start)
        due = req.respond_by
        results = together(
            partial(sweep.run_once, now=due),
            partial(A.do_acknowledge, req.pk, actor=county["liaison1"], now=due),
        )
        swept, answered = results
        assert isinstance(swept, int), swept
        assert_whole(req)
        verbs = list(Event.objects.filter(request=req).order_by("seq").values_list("verb", "actor"))
        resident, liaison = county["resident1"].pk, county["liaison1"].pk
        if isinstance(answered, Request):
            assert verbs == [("submit", resident), ("acknowledge", liaison)]
            assert req.status == "acknowledged"
            outcomes["liaison"] += 1
        else:
            # escalated first: the request left the village (403), or the write lost (409)
            assert isinstance(answered, (ConflictError, ForbiddenError)), answered
            assert verbs == [("submit", resident), ("escalate", None)]
            assert req.status == "escalated"
            outcomes["sweep"] += 1
    print("first:", dict(outcomes))

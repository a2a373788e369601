"""The deadline sweep: acts on every clock that has run out (§4).

It reads only rows whose `next_due_at` has passed (a partial index), so its cost follows the
number of due items, not the number of requests. Each item is acted on through the actions,
guarded by the request's version: two sweeps running at once never act on a deadline twice.
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from yishiting.core.errors import ActionError
from yishiting.deliberation import sweep as deliberation_sweep
from yishiting.requests import actions
from yishiting.requests.models import Request
from yishiting.requests.states import CLOCKS_BY_STATE, OPEN, State

log = logging.getLogger("yishiting.sweep")

TICK = timedelta(microseconds=1)
# How often an idle sweep looks again: a breach is acted on within about this long.
POLL_SECONDS = 0.25


def due_ids(now: datetime, limit: int = 200) -> list[int]:
    """Requests with a deadline due at `now`, earliest first."""
    return list(
        Request.objects.filter(next_due_at__lte=now)
        .order_by("next_due_at")
        .values_list("pk", flat=True)[:limit]
    )


def handle(pk: int, now: datetime) -> str:
    """Act on the earliest due deadline (or 50% / 80% warning) of one request: "acted",
    "warned", or "" if someone else already did."""
    try:
        req = actions.load_request(pk)
    except ActionError:
        return ""
    due_at = req.next_due_at
    if due_at is None or due_at > now:
        return ""
    status = State(req.status)
    running = set(CLOCKS_BY_STATE[status]) | ({"supervise_by"} if status in OPEN else set())
    running |= {"forward_by"} if status == State.DISPATCHED else set()  # off-hours 转办 clock
    clocks_due = [name for name in sorted(running) if getattr(req, name) == due_at]
    clocks_due += actions.part_clocks_due(req, due_at)  # assisting departments' own clocks
    try:
        if not clocks_due:
            # A 50% / 80% warning, not a deadline (actions._warnings).
            actions.do_warn(req, now=now)
            return "warned"
        if "respond_by" in clocks_due and status == State.SUBMITTED:
            # A missed first response escalates on its own (§4).
            # A supervision order due at the same instant stays due: the next turn records
            # its breach (the monthly notice counts missed supervision orders).
            through = due_at - TICK if "supervise_by" in clocks_due else due_at
            actions.do_escalate(req, actor=None, now=now, handled_through=through)
        elif "rate_by" in clocks_due:
            actions.do_close(req, now=now, handled_through=due_at)
        else:
            actions.do_breach(req, clocks_due=clocks_due, now=now)
    except ActionError as exc:
        # Conflict: another sweep or a person changed it first; the next pass sees the result.
        log.info("request %s: %s", pk, exc.message)
        return ""
    return "acted"


# A guard: a request runs at most two clocks at once (its state's own and a supervision
# order), each with two warnings, so a few turns per request in one pass always suffice.
MAX_DUE_PER_REQUEST = 16


def _handle_all(pks: list[int], now: datetime) -> tuple[int, int]:
    """Everything due by `now` in these requests, each request's clocks earliest first."""
    acted = warned = 0
    for pk in pks:
        for _ in range(MAX_DUE_PER_REQUEST):
            outcome = handle(pk, now)
            if not outcome:
                break
            acted += outcome == "acted"
            warned += outcome == "warned"
    return acted, warned


def _in_thread(pks: list[int], now: datetime) -> tuple[int, int]:
    try:
        return _handle_all(pks, now)
    finally:
        close_old_connections()  # this thread's own connection


def run_pass(now: datetime | None = None, limit: int = 200, threads: int = 1) -> tuple[int, int]:
    """One pass over the due items: (deadlines acted on, warnings given).

    A request can have several clocks run out by `now` (a supervision order and the state's
    own clock, or a sweep that was down for a while): each is acted on, earliest first, so
    that after the pass nothing due by `now` is left. With several `threads` the requests are
    shared out among them, each request to one thread, each thread on its own database
    connection: under load an action mostly waits on the database, so several at once keep
    the deadlines on time (docs/proof.md).
    """
    now = now or timezone.now()
    pks = due_ids(now, limit)
    # In any order: two workers' sweeps then mostly take different requests first, where in
    # the same order the second found each one done by the first (docs/proof.md, session 15).
    random.shuffle(pks)
    if threads > 1 and len(pks) > 1:
        shares = [share for i in range(threads) if (share := pks[i::threads])]
        with ThreadPoolExecutor(len(shares), thread_name_prefix="sweep") as pool:
            counts = list(pool.map(_in_thread, shares, [now] * len(shares)))
    else:
        counts = [_handle_all(pks, now)]
    acted = sum(a for a, _ in counts)
    warned = sum(w for _, w in counts)
    acted += deliberation_sweep.run_pass(now, limit)  # convene and publicity clocks (§9)
    return acted, warned


def run_once(now: datetime | None = None, limit: int = 200) -> int:
    """One pass over the due items; returns how many deadlines were acted on (warnings
    given on the way are not counted)."""
    return run_pass(now, limit)[0]


def run_forever(stop: threading.Event) -> None:
    """Sweep until `stop` is set, in `settings.SWEEP_THREADS` threads; sleep only when
    nothing is due."""
    threads = max(1, int(settings.SWEEP_THREADS))
    log.info("deadline sweep started (%s threads)", threads)
    while not stop.is_set():
        try:
            acted = sum(run_pass(threads=threads))
        except Exception:  # a database hiccup must not kill the sweep
            log.exception("sweep pass failed")
            acted = 0
        finally:
            close_old_connections()
        if not acted:
            stop.wait(POLL_SECONDS)

"""The transition table of PRODUCT.md §3 and §3.1, checked exhaustively against an independent
copy.

`expected_target` below is written out by hand from the verb table of §3, the handling rules of
docs/handling-rules.md (the §3.1 verbs and the `pending_review` field), and the clock rules of
§4 for the system's own `breach`; it deliberately does not read `states.TRANSITIONS`, so a
change to either side shows up here. `expected_pending` and `EXPECTED_CLOCKS` do the same for
`states.next_pending` and `states.running_clocks`. The stateful test imports them as oracles.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from yishiting.orgs.models import HallKind
from yishiting.requests.states import (
    IllegalTransition,
    Rating,
    Replayed,
    State,
    Verb,
    next_pending,
    part_target,
    replay,
    running_clocks,
    target,
)

# --- the independent table (§3) -------------------------------------------------------------

SUBMITTED = "submitted"
ACKNOWLEDGED = "acknowledged"
IN_PROGRESS = "in_progress"
ESCALATED = "escalated"
DISPATCHED = "dispatched"
CLAIMED = "claimed"
ON_HOLD = "on_hold"
RESOLVED = "resolved"
CLOSED = "closed"
REJECTED = "rejected"
MERGED = "merged"

ALL_STATES = frozenset(
    {
        SUBMITTED,
        ACKNOWLEDGED,
        IN_PROGRESS,
        ESCALATED,
        DISPATCHED,
        CLAIMED,
        ON_HOLD,
        RESOLVED,
        CLOSED,
        REJECTED,
        MERGED,
    }
)
# "any open": someone still has to act. Resolved waits for the resident, closed/rejected/merged
# are over.
OPEN_STATES = frozenset(
    {SUBMITTED, ACKNOWLEDGED, IN_PROGRESS, ESCALATED, DISPATCHED, CLAIMED, ON_HOLD}
)

SAME = "<same>"
HANDLER = "<handler>"  # back to the last handler: claimed if a department has it, else in_progress
BY_RATING = "<by rating>"
BY_DECISION = "<by decision>"  # review_rating: redo → handler, approve → closed, deny → resolved

# What a request may wait for without changing state (docs/handling-rules.md).
NOTHING, RETURN_PENDING, RATING_PENDING, APPEAL_PENDING = "", "return", "rating", "appeal"
PENDINGS = (NOTHING, RETURN_PENDING, RATING_PENDING, APPEAL_PENDING)
# The state a waiting decision goes with: a return waits in the assignment hall (escalated),
# a 不满意 or an appeal waits on a resolved request.
PENDING_STATE = {RETURN_PENDING: ESCALATED, RATING_PENDING: RESOLVED, APPEAL_PENDING: RESOLVED}
RETURN_DECISIONS = ("redispatch", "uphold")
RATING_DECISIONS = ("redo", "approve_appeal", "deny_appeal")

# verb -> (from, to), straight from the table in §3.
EXPECTED: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({SUBMITTED, ESCALATED}), ACKNOWLEDGED),
    "start": (frozenset({ACKNOWLEDGED}), IN_PROGRESS),
    "escalate": (frozenset({SUBMITTED, ACKNOWLEDGED, IN_PROGRESS}), ESCALATED),
    "dispatch": (frozenset({ACKNOWLEDGED, ESCALATED}), DISPATCHED),
    "claim": (frozenset({DISPATCHED}), CLAIMED),
    "return": (frozenset({DISPATCHED, CLAIMED}), ESCALATED),
    "hold": (frozenset({IN_PROGRESS, CLAIMED}), ON_HOLD),
    "resume": (frozenset({ON_HOLD}), HANDLER),
    # "extend: in_progress, claimed -> same; dispatcher/manager approves or denies"
    "extend": (frozenset({IN_PROGRESS, CLAIMED}), SAME),
    "approve_extension": (frozenset({IN_PROGRESS, CLAIMED}), SAME),
    "deny_extension": (frozenset({IN_PROGRESS, CLAIMED}), SAME),
    "resolve": (frozenset({IN_PROGRESS, CLAIMED}), RESOLVED),
    "rate": (frozenset({RESOLVED}), BY_RATING),
    "reopen": (frozenset({RESOLVED, CLOSED}), HANDLER),
    "close": (frozenset({RESOLVED}), CLOSED),
    "reject": (frozenset({SUBMITTED, ACKNOWLEDGED, ESCALATED}), REJECTED),
    "merge": (OPEN_STATES, MERGED),
    "supervise": (OPEN_STATES, SAME),
    "comment": (ALL_STATES, SAME),
    "cosign": (ALL_STATES, SAME),
    # §4, the system's own verb: a missed clock marks the request overdue and changes no
    # state; there is no clock left to miss once a request is closed, rejected or merged.
    "breach": (ALL_STATES - {CLOSED, REJECTED, MERGED}, SAME),
    # --- docs/handling-rules.md (§3.1) ---
    # 下沉: "acknowledged, escalated, dispatched, claimed, on_hold — at the assignment hall"
    "hand_down": (frozenset({ACKNOWLEDGED, ESCALATED, DISPATCHED, CLAIMED, ON_HOLD}), ESCALATED),
    # "escalated with pending return -> dispatched"
    "review_return": (frozenset({ESCALATED}), DISPATCHED),
    # "resolved with pending rating -> same, pending appeal"
    "appeal": (frozenset({RESOLVED}), SAME),
    # "resolved with pending rating or appeal": redo / approve_appeal / deny_appeal
    "review_rating": (frozenset({RESOLVED}), BY_DECISION),
    # "resolved, closed -> same"
    "visit": (frozenset({RESOLVED, CLOSED}), SAME),
    # 主办/协办: an assisting department's part; "the request stays where it is", while it is
    # with the departments (or back at the assignment hall while the lead's return waits)
    "post_part": (frozenset({DISPATCHED, CLAIMED, ON_HOLD, ESCALATED}), SAME),
    "waive_part": (frozenset({DISPATCHED, CLAIMED, ON_HOLD, ESCALATED}), SAME),
    # 转办 (PRODUCT §2, §4): "same state; legal from dispatched / claimed / on_hold, and
    # escalated at the assignment hall"
    "forward": (frozenset({DISPATCHED, CLAIMED, ON_HOLD, ESCALATED}), SAME),
}

# An assisting department's part (docs/handling-rules.md, "Lead and assisting departments"),
# by hand: verb -> (part statuses it is legal from, the status it leads to).
P_DISPATCHED, P_CLAIMED, P_RETURNED = "dispatched", "claimed", "returned"
P_POSTED, P_WAIVED, P_REDISPATCHED, P_CANCELLED = "posted", "waived", "redispatched", "cancelled"
PART_STATUSES = (
    P_DISPATCHED,
    P_CLAIMED,
    P_RETURNED,
    P_POSTED,
    P_WAIVED,
    P_REDISPATCHED,
    P_CANCELLED,
)
EXPECTED_PART: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({P_DISPATCHED}), P_CLAIMED),
    "return": (frozenset({P_DISPATCHED, P_CLAIMED}), P_RETURNED),
    # "uphold: back to the same department; redispatch: the part goes to another one"
    "review_return": (frozenset({P_RETURNED}), "<by decision>"),
    "post_part": (frozenset({P_DISPATCHED, P_CLAIMED}), P_POSTED),
    "waive_part": (frozenset({P_DISPATCHED, P_CLAIMED, P_RETURNED}), P_WAIVED),
}
# The request states a part verb is legal in (the request does not move).
PART_REQUEST_STATES = frozenset({DISPATCHED, CLAIMED, ON_HOLD, ESCALATED})


def expected_part_target(verb: str, status: str, decision: str | None = None) -> str | None:
    """Where the doc takes an assisting part; None when it does not allow it."""
    if verb not in EXPECTED_PART or status not in EXPECTED_PART[verb][0]:
        return None
    to = EXPECTED_PART[verb][1]
    if to == "<by decision>":
        return {"uphold": P_DISPATCHED, "redispatch": P_REDISPATCHED}.get(decision or "")
    return to


def expected_part_request_target(verb: str, state: str, pending: str) -> str | None:
    """A part verb leaves the request in its state, while it is with the departments."""
    if verb not in EXPECTED_PART or state not in PART_REQUEST_STATES:
        return None
    if state == ESCALATED and pending != RETURN_PENDING:
        return None  # handed down or escalated anew: no longer with the departments
    return state


# submit creates a request; it never applies to an existing one.
NEVER_FROM_A_STATE = frozenset({"submit"})


def expected_target(
    verb: str,
    state: str,
    *,
    dispatched: bool = False,
    rating: str | None = None,
    hall_kind: str | None = None,
    pending: str = NOTHING,
    decision: str | None = None,
) -> str | None:
    """Where §3 and the handling rules say `verb` takes a request in `state` that waits for
    `pending`; None when they do not allow it."""
    if verb in NEVER_FROM_A_STATE:
        return None
    if verb in ("post_part", "waive_part"):
        return expected_part_request_target(verb, state, pending)
    sources, to = EXPECTED[verb]
    if state not in sources:
        return None
    if verb in ("dispatch", "hand_down") and hall_kind != "assignment":
        return None  # "escalated (at county)": only the assignment hall dispatches / hands down
    if verb == "escalate" and hall_kind == "assignment":
        return None  # the top of the tree: it dispatches, there is no parent
    if verb == "forward" and state == ESCALATED and hall_kind != "assignment":
        return None  # escalated to a township hall: its staff answer, nobody forwards
    if not _pending_allows(verb, pending, decision):
        return None
    if to == SAME:
        return state
    if to == HANDLER:
        return CLAIMED if dispatched else IN_PROGRESS
    if to == BY_RATING:
        if rating is None:
            return None
        # 不满意 goes to review (§3.1) and stays resolved; 满意 / 基本满意 close it.
        return RESOLVED if rating == "dissatisfied" else CLOSED
    if to == BY_DECISION:
        # redo: "back to the handler (claimed / in_progress)"; approve_appeal: closed;
        # deny_appeal: "resolved, pending rating"
        return {
            "redo": CLAIMED if dispatched else IN_PROGRESS,
            "approve_appeal": CLOSED,
            "deny_appeal": RESOLVED,
        }[decision or ""]
    return to


# (verb, pending) pairs the doc leaves open: acknowledging a returned request. Either a refusal
# or an acknowledge that keeps the return waiting satisfies the doc ("dispatch: refused while a
# return waits for review"; a return is cleared by review_return);
# test_handling_rules.test_acknowledging_a_return_does_not_bypass_review holds the point.
DOC_OPEN = frozenset({("acknowledge", RETURN_PENDING)})


def doc_open(verb: str, pending: str) -> bool:
    return (verb, pending) in DOC_OPEN


def _pending_allows(verb: str, pending: str, decision: str | None) -> bool:
    """The conditions of docs/handling-rules.md on the decision a request waits for."""
    if verb == "review_return":
        return pending == RETURN_PENDING and decision in RETURN_DECISIONS
    if verb == "dispatch":
        return pending != RETURN_PENDING  # "refused while a return waits for review"
    if verb == "appeal":
        return pending == RATING_PENDING  # answers a 不满意 under review
    if verb == "review_rating":
        if decision == "redo":
            return pending in (RATING_PENDING, APPEAL_PENDING)
        if decision in ("approve_appeal", "deny_appeal"):
            return pending == APPEAL_PENDING  # an appeal must have been made
        return False
    if verb == "rate":
        return pending != APPEAL_PENDING  # "not while an appeal waits"
    if verb in ("close", "reopen"):
        return pending == NOTHING  # "resolved with nothing pending"
    return True


def expected_pending(
    verb: str, pending: str, *, to: str, rating: str | None = None, decision: str | None = None
) -> str | None:
    """What the request waits for after `verb` (the table of docs/handling-rules.md); None
    where the doc leaves it open."""
    if verb == "return":
        return RETURN_PENDING
    if verb == "review_return":
        return NOTHING
    if verb == "rate":
        # 不满意 waits for review; a rating that closes it leaves nothing waiting (and the
        # reporter's own rating clears a 不满意 taken on a visit)
        return RATING_PENDING if to == RESOLVED else NOTHING
    if verb == "visit":
        if to == CLOSED:
            return NOTHING
        if pending == APPEAL_PENDING:
            # only review_rating decides an appeal; a 不满意 taken on the phone while it
            # waits is not spelled out
            return None if rating == "dissatisfied" else APPEAL_PENDING
        if rating == "dissatisfied":
            return RATING_PENDING
        # a 不满意 under review is cleared by review_rating, appeal or the reporter's rate,
        # not by a later 满意 taken on the phone
        return pending
    if verb == "appeal":
        return APPEAL_PENDING
    if verb == "review_rating":
        return RATING_PENDING if decision == "deny_appeal" else NOTHING
    if verb in ("comment", "cosign", "supervise", "breach", "post_part", "waive_part", "forward"):
        return pending  # talk, clocks, parts and forwards change no decision on the request
    if verb == "hand_down":
        return NOTHING  # it leaves the assignment hall: no return waits for review there
    if verb == "acknowledge" and pending == RETURN_PENDING:
        return None  # not spelled out; see test_acknowledging_a_return_does_not_bypass_review
    if pending == NOTHING:
        return NOTHING
    return None


# Which deadlines run (§4 and docs/handling-rules.md), by hand: the state's own clock; no
# rating window while a 不满意 or an appeal waits for review.
EXPECTED_CLOCKS: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({"respond_by"}),
    ESCALATED: frozenset({"respond_by"}),
    ACKNOWLEDGED: frozenset({"resolve_by"}),
    IN_PROGRESS: frozenset({"resolve_by"}),
    DISPATCHED: frozenset({"claim_by"}),
    CLAIMED: frozenset({"resolve_by"}),
    ON_HOLD: frozenset(),
    RESOLVED: frozenset({"rate_by"}),
    CLOSED: frozenset({"reopen_until"}),
    REJECTED: frozenset(),
    MERGED: frozenset(),
}


def expected_clocks(state: str, pending: str = NOTHING) -> frozenset[str]:
    if pending in (RATING_PENDING, APPEAL_PENDING):
        return EXPECTED_CLOCKS[state] - {"rate_by"}
    return EXPECTED_CLOCKS[state]


# --- exhaustive table test --------------------------------------------------------------------


def test_the_independent_table_names_every_state_and_verb() -> None:
    assert {s.value for s in State} == ALL_STATES
    assert {v.value for v in Verb} == set(EXPECTED) | NEVER_FROM_A_STATE


HALL_KINDS = [*HallKind.values, None]
RATINGS = [*Rating, None]
DECISIONS = [None, *RETURN_DECISIONS, *RATING_DECISIONS, "maybe"]


def _contexts() -> list[tuple[str, str]]:
    """(state, pending) pairs a request can be in: nothing waiting in any state, a return
    waiting in escalated, a 不满意 or an appeal waiting on a resolved request."""
    pairs = [(s.value, NOTHING) for s in State]
    pairs += [(state, p) for p, state in PENDING_STATE.items()]
    return pairs


@pytest.mark.parametrize("verb", list(Verb), ids=str)
def test_every_state_and_verb_matches_the_product_table(verb: Verb) -> None:
    checked = 0
    for (state, pending), dispatched, hall_kind, rating, decision in itertools.product(
        _contexts(), (False, True), HALL_KINDS, RATINGS, DECISIONS
    ):
        expected = expected_target(
            verb.value,
            state,
            dispatched=dispatched,
            rating=rating.value if rating else None,
            hall_kind=hall_kind,
            pending=pending,
            decision=decision,
        )
        context = (
            f"{verb} from {state}/{pending or '-'} (dispatched={dispatched}, hall={hall_kind}, "
            f"{rating}, decision={decision})"
        )
        kwargs: dict[str, Any] = {
            "dispatched": dispatched,
            "rating": rating,
            "hall_kind": hall_kind,
            "pending": pending,
            "decision": decision,
        }
        if doc_open(verb.value, pending):
            try:
                got = target(verb, State(state), **kwargs)
            except IllegalTransition:
                pass
            else:
                assert got == expected, context
        elif expected is None:
            with pytest.raises(IllegalTransition):
                target(verb, State(state), **kwargs)
                pytest.fail(f"allowed: {context}")
        else:
            got = target(verb, State(state), **kwargs)
            assert got == expected, context
            assert isinstance(got, State), context
        checked += 1
    assert checked == len(_contexts()) * 2 * len(HALL_KINDS) * len(RATINGS) * len(DECISIONS)


def test_the_special_cases_spelled_out() -> None:
    # dispatch: only at the assignment hall, from acknowledged or escalated
    for kind in HallKind.values:
        for state in (State.ACKNOWLEDGED, State.ESCALATED):
            if kind == "assignment":
                assert target(Verb.DISPATCH, state, hall_kind=kind) == State.DISPATCHED
            else:
                with pytest.raises(IllegalTransition):
                    target(Verb.DISPATCH, state, hall_kind=kind)
    # escalate: from anywhere in the tree but the assignment hall
    assert target(Verb.ESCALATE, State.IN_PROGRESS, hall_kind="township") == State.ESCALATED
    with pytest.raises(IllegalTransition):
        target(Verb.ESCALATE, State.SUBMITTED, hall_kind="assignment")
    # rate: by rating
    assert target(Verb.RATE, State.RESOLVED, rating=Rating.SATISFIED) == State.CLOSED
    assert target(Verb.RATE, State.RESOLVED, rating=Rating.BASICALLY_SATISFIED) == State.CLOSED
    assert target(Verb.RATE, State.RESOLVED, rating=Rating.DISSATISFIED) == State.RESOLVED
    with pytest.raises(IllegalTransition):
        target(Verb.RATE, State.RESOLVED)
    with pytest.raises(IllegalTransition):
        target(Verb.RATE, State.CLOSED, rating=Rating.SATISFIED)
    # reopen / resume: back to the last handler
    back = [
        (Verb.REOPEN, State.CLOSED),
        (Verb.REOPEN, State.RESOLVED),
        (Verb.RESUME, State.ON_HOLD),
    ]
    for verb, state in back:
        assert target(verb, state, dispatched=True) == State.CLAIMED
        assert target(verb, state, dispatched=False) == State.IN_PROGRESS
    # nothing leaves rejected or merged except talk
    for state in (State.REJECTED, State.MERGED):
        legal = [v for v in Verb if _legal(v, state)]
        assert legal == [Verb.COMMENT, Verb.COSIGN]
    # closed: only reopen, talk and a return visit
    assert [v for v in Verb if _legal(v, State.CLOSED)] == [
        Verb.REOPEN,
        Verb.COMMENT,
        Verb.COSIGN,
        Verb.VISIT,
    ]


def _legal(verb: Verb, state: State) -> bool:
    try:
        target(verb, state, hall_kind="assignment", rating=Rating.SATISFIED)
    except IllegalTransition:
        return False
    return True


# --- replay -----------------------------------------------------------------------------------


def ev(verb: str, to: str, **data: Any) -> dict[str, Any]:
    return {"verb": verb, "to_status": to, "data": data}


VILLAGE, TOWNSHIP, ASSIGNMENT = "130500001001", "130500001", "130500900"


def test_replay_of_a_full_department_history() -> None:
    events = [
        ev("submit", SUBMITTED, hall=VILLAGE, channel="web"),
        ev("comment", SUBMITTED),
        ev("acknowledge", ACKNOWLEDGED),
        ev("escalate", ESCALATED, hall=TOWNSHIP, from_hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("escalate", ESCALATED, hall=ASSIGNMENT, from_hall=TOWNSHIP),
        ev("supervise", ESCALATED, until="2025-06-03T09:00:00+08:00"),
        ev("dispatch", DISPATCHED, department="zhujian", from_hall_kind="assignment"),
        ev("claim", CLAIMED),
        ev("return", ESCALATED, department=None, returned_by="zhujian", reason_code="not_ours"),
        ev("breach", ESCALATED, clocks=["respond_by"]),
        # a returned request is routed by the dispatcher's review (§3.1), not a new dispatch
        ev(
            "review_return",
            DISPATCHED,
            decision="redispatch",
            department="gongdian",
            from_hall_kind="assignment",
        ),
        ev("claim", CLAIMED),
        ev("hold", ON_HOLD),
        ev("resume", CLAIMED),
        ev("extend", CLAIMED, until="2025-06-10T09:00:00+08:00"),
        ev("approve_extension", CLAIMED, until="2025-06-10T09:00:00+08:00"),
        ev("resolve", RESOLVED, late=False),
        ev("rate", RESOLVED, rating="dissatisfied"),
        ev("review_rating", CLAIMED, decision="redo", until="2025-06-12T09:00:00+08:00"),
        ev("resolve", RESOLVED, late=False),
        ev("reopen", CLAIMED, rebound=True),
        ev("resolve", RESOLVED, late=True),
        ev("close", CLOSED, unrated=True),
        ev("cosign", CLOSED),
    ]
    assert replay(events) == Replayed(State.CLOSED, ASSIGNMENT, "gongdian")
    # every prefix replays too, to the state of its last event
    for n in range(1, len(events) + 1):
        assert replay(events[:n]).status == events[n - 1]["to_status"]
    assert replay(events[:10]) == Replayed(State.ESCALATED, ASSIGNMENT, None, "return")


def test_replay_of_local_work() -> None:
    events = [
        ev("submit", SUBMITTED, hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("start", IN_PROGRESS),
        ev("hold", ON_HOLD),
        ev("resume", IN_PROGRESS),
        ev("resolve", RESOLVED),
        ev("rate", CLOSED, rating="satisfied"),
        ev("reopen", IN_PROGRESS, rebound=True),
    ]
    assert replay(events) == Replayed(State.IN_PROGRESS, VILLAGE, None)
    merged = [ev("submit", SUBMITTED, hall=VILLAGE), ev("merge", MERGED, into=7)]
    assert replay(merged) == Replayed(State.MERGED, VILLAGE, None)


@pytest.mark.parametrize(
    "events",
    [
        # claim straight from submitted: no such transition
        [ev("submit", SUBMITTED, hall=VILLAGE), ev("claim", CLAIMED)],
        # a legal verb recorded with the wrong outcome
        [ev("submit", SUBMITTED, hall=VILLAGE), ev("acknowledge", IN_PROGRESS)],
        # dispatch from a village hall
        [
            ev("submit", SUBMITTED, hall=VILLAGE),
            ev("acknowledge", ACKNOWLEDGED),
            ev("dispatch", DISPATCHED, department="zhujian", from_hall_kind="village"),
        ],
        # resume of local work recorded as going back to a department
        [
            ev("submit", SUBMITTED, hall=VILLAGE),
            ev("acknowledge", ACKNOWLEDGED),
            ev("start", IN_PROGRESS),
            ev("hold", ON_HOLD),
            ev("resume", CLAIMED),
        ],
        # anything after merged
        [
            ev("submit", SUBMITTED, hall=VILLAGE),
            ev("merge", MERGED),
            ev("acknowledge", ACKNOWLEDGED),
        ],
        # 不满意 recorded as closing
        [
            ev("submit", SUBMITTED, hall=VILLAGE),
            ev("acknowledge", ACKNOWLEDGED),
            ev("start", IN_PROGRESS),
            ev("resolve", RESOLVED),
            ev("rate", CLOSED, rating="dissatisfied"),
        ],
        # not starting with submit, or nothing at all
        [ev("acknowledge", ACKNOWLEDGED)],
        [],
    ],
    ids=[
        "claim-from-submitted",
        "wrong-outcome",
        "dispatch-in-village",
        "resume-to-wrong-handler",
        "after-merge",
        "dissatisfied-closes",
        "no-submit",
        "empty",
    ],
)
def test_replay_refuses_an_impossible_history(events: list[dict[str, Any]]) -> None:
    with pytest.raises((ValueError, IllegalTransition)):
        replay(events)


# --- the handling rules (docs/handling-rules.md) spelled out ---------------------------------


def test_handling_rules_special_cases() -> None:
    A = "assignment"
    # review_return: only with a return waiting, and only with a known decision
    for decision in ("redispatch", "uphold"):
        got = target(
            Verb.REVIEW_RETURN, State.ESCALATED, hall_kind=A, pending="return", decision=decision
        )
        assert got == State.DISPATCHED
    for pending, decision in [("", "uphold"), ("return", None), ("return", "redo")]:
        with pytest.raises(IllegalTransition):
            target(
                Verb.REVIEW_RETURN, State.ESCALATED, hall_kind=A, pending=pending, decision=decision
            )
    # dispatch waits for the review; without a waiting return it is the ordinary dispatch
    with pytest.raises(IllegalTransition):
        target(Verb.DISPATCH, State.ESCALATED, hall_kind=A, pending="return")
    assert target(Verb.DISPATCH, State.ESCALATED, hall_kind=A) == State.DISPATCHED
    # hand_down: from the department's hands or the assignment hall's inbox, never from below
    for state in (
        State.ACKNOWLEDGED,
        State.ESCALATED,
        State.DISPATCHED,
        State.CLAIMED,
        State.ON_HOLD,
    ):
        assert target(Verb.HAND_DOWN, state, hall_kind=A, dispatched=True) == State.ESCALATED
        for kind in ("village", "township", "county", None):
            with pytest.raises(IllegalTransition):
                target(Verb.HAND_DOWN, state, hall_kind=kind)
    for state in (State.SUBMITTED, State.IN_PROGRESS, State.RESOLVED, State.CLOSED):
        with pytest.raises(IllegalTransition):
            target(Verb.HAND_DOWN, state, hall_kind=A)
    # escalate never from a department's hands (the table has no such source)
    for state in (State.DISPATCHED, State.CLAIMED, State.ON_HOLD):
        with pytest.raises(IllegalTransition):
            target(Verb.ESCALATE, state, hall_kind="township", dispatched=True)
    # 不满意 → review: redo back to the handler, appeal, approve (closed) or deny (back to rating)
    R = State.RESOLVED
    assert target(Verb.RATE, R, rating=Rating.DISSATISFIED) == R
    assert target(Verb.APPEAL, R, pending="rating") == R
    with pytest.raises(IllegalTransition):
        target(Verb.APPEAL, R)  # nothing to appeal against
    with pytest.raises(IllegalTransition):
        target(Verb.APPEAL, R, pending="appeal")  # already appealed
    assert target(Verb.REVIEW_RATING, R, pending="rating", decision="redo", dispatched=True) == (
        State.CLAIMED
    )
    assert target(Verb.REVIEW_RATING, R, pending="rating", decision="redo") == State.IN_PROGRESS
    assert target(Verb.REVIEW_RATING, R, pending="appeal", decision="approve_appeal") == (
        State.CLOSED
    )
    assert target(Verb.REVIEW_RATING, R, pending="appeal", decision="deny_appeal") == R
    for pending, decision in [
        ("", "redo"),
        ("rating", "deny_appeal"),
        ("rating", "approve_appeal"),
        ("appeal", None),
        ("appeal", "uphold"),
    ]:
        with pytest.raises(IllegalTransition):
            target(Verb.REVIEW_RATING, R, pending=pending, decision=decision, dispatched=True)
    # while an appeal waits: no rating, no closing, no reopening; while a 不满意 waits: the
    # sweep does not close it and the reporter does not reopen it
    with pytest.raises(IllegalTransition):
        target(Verb.RATE, R, pending="appeal", rating=Rating.SATISFIED)
    for pending in ("rating", "appeal"):
        for verb in (Verb.CLOSE, Verb.REOPEN):
            with pytest.raises(IllegalTransition):
                target(verb, R, pending=pending, dispatched=True)
    # the reporter may still rate a 不满意 that a return visit took down
    assert target(Verb.RATE, R, pending="rating", rating=Rating.SATISFIED) == State.CLOSED
    # visit: resolved or closed, no state change
    assert target(Verb.VISIT, R) == R
    assert target(Verb.VISIT, State.CLOSED) == State.CLOSED
    with pytest.raises(IllegalTransition):
        target(Verb.VISIT, State.CLAIMED)


# --- which decision a request waits for -------------------------------------------------------

RATING_VALUES = [r.value for r in Rating]


def _pending_cases() -> list[tuple[str, str, str, str | None, str | None]]:
    """Every (verb, pending, to, rating, decision) the table allows, with `to` from the table."""
    cases = []
    for verb in EXPECTED:
        for (state, pending), dispatched, rating, decision in itertools.product(
            _contexts(), (False, True), [*RATING_VALUES, None], DECISIONS
        ):
            to = expected_target(
                verb,
                state,
                dispatched=dispatched,
                rating=rating,
                hall_kind="assignment" if verb in ("dispatch", "hand_down") else "township",
                pending=pending,
                decision=decision,
            )
            if to is None:
                continue
            if decision is not None and not verb.startswith("review_"):
                continue  # only the reviews take a decision
            if verb == "visit" and rating is None:
                continue  # a visit always records a rating
            cases.append((verb, pending, to, rating, decision))
    return sorted(set(cases), key=str)


def test_next_pending_follows_the_waiting_table() -> None:
    checked, wrong = 0, []
    for verb, pending, to, rating, decision in _pending_cases():
        want = expected_pending(verb, pending, to=to, rating=rating, decision=decision)
        if want is None:
            continue  # the doc leaves it open
        if verb == "visit" and pending:
            continue  # test_a_visit_does_not_decide_a_waiting_review
        got = next_pending(Verb(verb), pending, to=State(to), rating=rating, decision=decision)
        if got != want:
            wrong.append(
                f"{verb} {pending or '-'}->{to} {rating} {decision}: {got!r}, want {want!r}"
            )
        checked += 1
    assert checked > 100
    assert not wrong, "\n".join(wrong)


def test_next_pending_spelled_out() -> None:
    R, C = State.RESOLVED, State.CLOSED
    assert next_pending(Verb.RETURN, "", to=State.ESCALATED) == "return"
    assert next_pending(Verb.REVIEW_RETURN, "return", to=State.DISPATCHED, decision="uphold") == ""
    assert next_pending(Verb.RATE, "", to=R, rating="dissatisfied") == "rating"
    assert next_pending(Verb.RATE, "", to=C, rating="satisfied") == ""
    # a 不满意 from a visit, then the reporter's own 满意: the reporter's rating wins
    assert next_pending(Verb.RATE, "rating", to=C, rating="basically_satisfied") == ""
    assert next_pending(Verb.VISIT, "", to=R, rating="dissatisfied") == "rating"
    assert next_pending(Verb.VISIT, "", to=R, rating="satisfied") == ""
    assert next_pending(Verb.VISIT, "", to=C, rating="dissatisfied") == ""
    assert next_pending(Verb.APPEAL, "rating", to=R) == "appeal"
    assert next_pending(Verb.REVIEW_RATING, "rating", to=State.CLAIMED, decision="redo") == ""
    assert next_pending(Verb.REVIEW_RATING, "appeal", to=C, decision="approve_appeal") == ""
    assert next_pending(Verb.REVIEW_RATING, "appeal", to=R, decision="deny_appeal") == "rating"
    for verb in (Verb.COMMENT, Verb.COSIGN, Verb.BREACH):
        for pending, state in PENDING_STATE.items():
            assert next_pending(verb, pending, to=State(state)) == pending
    assert next_pending(Verb.HAND_DOWN, "return", to=State.ESCALATED) == ""


def test_a_visit_does_not_decide_a_waiting_review() -> None:
    """Only review_rating, the handler's appeal or the reporter's own rating clear a 不满意
    under review; only review_rating decides an appeal. A later 满意 on the phone does neither
    (else the request would be resolved with nothing waiting and no rating window running)."""
    R = State.RESOLVED
    assert next_pending(Verb.VISIT, "rating", to=R, rating="satisfied") == "rating"
    assert next_pending(Verb.VISIT, "rating", to=R, rating="basically_satisfied") == "rating"
    assert next_pending(Verb.VISIT, "appeal", to=R, rating="satisfied") == "appeal"


# --- which clocks run ---------------------------------------------------------------------


def test_running_clocks_by_state_and_pending() -> None:
    for state, pending in _contexts():
        assert running_clocks(State(state), pending) == expected_clocks(state, pending), (
            state,
            pending,
        )
    # the rating window stops while a 不满意 or an appeal waits for review
    assert running_clocks(State.RESOLVED, "") == {"rate_by"}
    assert running_clocks(State.RESOLVED, "rating") == frozenset()
    assert running_clocks(State.RESOLVED, "appeal") == frozenset()
    # a returned request still waits for an answer from the assignment hall
    assert running_clocks(State.ESCALATED, "return") == {"respond_by"}


# --- replay with the handling rules ---------------------------------------------------------


def test_replay_of_returns_reviews_and_a_redo() -> None:
    A = "assignment"
    events = [
        ev("submit", SUBMITTED, hall=VILLAGE),
        ev("escalate", ESCALATED, hall=TOWNSHIP, from_hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("escalate", ESCALATED, hall=ASSIGNMENT, from_hall=TOWNSHIP),
        ev("dispatch", DISPATCHED, department="zhujian", from_hall_kind=A),
        ev(
            "return",
            ESCALATED,
            department=None,
            returned_by="zhujian",
            reason_code="not_ours",
        ),
        ev("review_return", DISPATCHED, decision="uphold", department="zhujian", from_hall_kind=A),
        ev("claim", CLAIMED),
        ev("resolve", RESOLVED, late=False),
        ev("rate", RESOLVED, rating="dissatisfied"),
        ev("appeal", RESOLVED),
        ev("review_rating", RESOLVED, decision="deny_appeal"),
        ev("review_rating", CLAIMED, decision="redo", until="2025-06-20T09:00:00+08:00"),
        ev("resolve", RESOLVED, late=False),
        ev("visit", RESOLVED, rating="dissatisfied", channel="phone"),
        ev("rate", CLOSED, rating="satisfied"),
        ev("visit", CLOSED, rating="satisfied", channel="in_person"),
    ]
    # after each event: submit, escalate, acknowledge, escalate, dispatch, return, review,
    # claim, resolve, rate 不满意, appeal, deny, redo, resolve, visit 不满意, rate, visit
    pendings = ["", "", "", "", "", "return", "", "", "", "rating", "appeal", "rating", "", ""]
    pendings += ["rating", "", ""]
    for n in range(1, len(events) + 1):
        got = replay(events[:n])
        assert got.status == events[n - 1]["to_status"], n
        assert got.pending == pendings[n - 1], (n, events[n - 1]["verb"], got.pending)
    assert replay(events[:6]) == Replayed(State.ESCALATED, ASSIGNMENT, None, "return")
    assert replay(events[:7]) == Replayed(State.DISPATCHED, ASSIGNMENT, "zhujian", "")
    assert replay(events) == Replayed(State.CLOSED, ASSIGNMENT, "zhujian", "")


def test_replay_of_a_hand_down_and_an_approved_appeal() -> None:
    A = "assignment"
    events = [
        ev("submit", SUBMITTED, hall=VILLAGE),
        ev("escalate", ESCALATED, hall=TOWNSHIP, from_hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("escalate", ESCALATED, hall=ASSIGNMENT, from_hall=TOWNSHIP),
        ev("dispatch", DISPATCHED, department="zhujian", from_hall_kind=A),
        ev("return", ESCALATED, department=None, returned_by="zhujian", reason_code="other"),
        ev(
            "review_return",
            DISPATCHED,
            decision="redispatch",
            department="gongdian",
            from_hall_kind=A,
        ),
        ev("claim", CLAIMED),
        ev("hand_down", ESCALATED, hall=VILLAGE, department=None, from_hall_kind=A),
    ]
    assert replay(events) == Replayed(State.ESCALATED, VILLAGE, None, "")
    assert replay(events[:8]) == Replayed(State.CLAIMED, ASSIGNMENT, "gongdian", "")
    local = [
        *events,
        ev("acknowledge", ACKNOWLEDGED),
        ev("start", IN_PROGRESS),
        ev("resolve", RESOLVED),
        ev("rate", RESOLVED, rating="dissatisfied"),
        ev("appeal", RESOLVED),
        ev("review_rating", CLOSED, decision="approve_appeal"),
    ]
    assert replay(local) == Replayed(State.CLOSED, VILLAGE, None, "")
    redo = [*local[:-2], ev("review_rating", IN_PROGRESS, decision="redo")]
    assert replay(redo) == Replayed(State.IN_PROGRESS, VILLAGE, None, "")


def _returned() -> list[dict[str, Any]]:
    return [
        ev("submit", SUBMITTED, hall=VILLAGE),
        ev("escalate", ESCALATED, hall=TOWNSHIP, from_hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("escalate", ESCALATED, hall=ASSIGNMENT, from_hall=TOWNSHIP),
        ev("dispatch", DISPATCHED, department="zhujian", from_hall_kind="assignment"),
        ev("return", ESCALATED, department=None, returned_by="zhujian", reason_code="other"),
    ]


def _resolved() -> list[dict[str, Any]]:
    return [
        ev("submit", SUBMITTED, hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("start", IN_PROGRESS),
        ev("resolve", RESOLVED),
    ]


@pytest.mark.parametrize(
    "events",
    [
        # dispatched again with the return never reviewed
        [
            *_returned(),
            ev("dispatch", DISPATCHED, department="gongdian", from_hall_kind="assignment"),
        ],
        # a review with no return waiting
        [
            *_returned()[:5],
            ev("review_return", DISPATCHED, decision="uphold", department="zhujian"),
        ],
        # the rating window closed a 不满意 under review
        [*_resolved(), ev("rate", RESOLVED, rating="dissatisfied"), ev("close", CLOSED)],
        # an appeal with nothing to appeal against
        [*_resolved(), ev("appeal", RESOLVED)],
        # an appeal approved that nobody made
        [
            *_resolved(),
            ev("rate", RESOLVED, rating="dissatisfied"),
            ev("review_rating", CLOSED, decision="approve_appeal"),
        ],
        # a redo of local work recorded as going to a department
        [
            *_resolved(),
            ev("rate", RESOLVED, rating="dissatisfied"),
            ev("review_rating", CLAIMED, decision="redo"),
        ],
        # rated while an appeal waits
        [
            *_resolved(),
            ev("rate", RESOLVED, rating="dissatisfied"),
            ev("appeal", RESOLVED),
            ev("rate", CLOSED, rating="satisfied"),
        ],
        # handed down from a village hall
        [
            ev("submit", SUBMITTED, hall=VILLAGE),
            ev("acknowledge", ACKNOWLEDGED),
            ev("hand_down", ESCALATED, hall=VILLAGE, from_hall_kind="village"),
        ],
    ],
    ids=[
        "dispatch-over-a-return",
        "review-without-return",
        "close-under-review",
        "appeal-without-rating",
        "approve-without-appeal",
        "local-redo-to-claimed",
        "rate-while-appeal",
        "hand-down-in-village",
    ],
)
def test_replay_refuses_an_impossible_handling_history(events: list[dict[str, Any]]) -> None:
    with pytest.raises((ValueError, IllegalTransition)):
        replay(events)


# --- assisting parts (主办/协办) ------------------------------------------------------------


@pytest.mark.parametrize("verb", sorted(EXPECTED_PART))
def test_every_part_status_and_verb_matches_the_doc(verb: str) -> None:
    for status, decision in itertools.product(PART_STATUSES, DECISIONS):
        want = expected_part_target(verb, status, decision)
        if want is None:
            with pytest.raises(IllegalTransition):
                part_target(Verb(verb), status, decision)
        else:
            assert part_target(Verb(verb), status, decision) == want, (verb, status, decision)
    # on the request, a part verb never moves it, and is legal only with the departments
    for (state, pending), hall_kind in itertools.product(_contexts(), HALL_KINDS):
        want = expected_part_request_target(verb, state, pending)
        if want is None:
            with pytest.raises(IllegalTransition):
                target(Verb(verb), State(state), hall_kind=hall_kind, pending=pending, part=True)
        else:
            got = target(Verb(verb), State(state), hall_kind=hall_kind, pending=pending, part=True)
            assert got == want == state
            # and the request's waiting decision is the lead's, untouched by any part
            assert next_pending(Verb(verb), pending, to=got, part=True) == pending


def test_a_part_verb_is_not_a_request_verb() -> None:
    # the lead's claim moves the request; an assisting department's claim does not
    assert target(Verb.CLAIM, State.DISPATCHED) == State.CLAIMED
    assert target(Verb.CLAIM, State.CLAIMED, part=True) == State.CLAIMED
    with pytest.raises(IllegalTransition):
        target(Verb.CLAIM, State.CLAIMED)
    # nothing else acts on a part
    for verb in (Verb.RESOLVE, Verb.HOLD, Verb.ESCALATE, Verb.HAND_DOWN):
        with pytest.raises(IllegalTransition):
            target(verb, State.CLAIMED, part=True)
        with pytest.raises(IllegalTransition):
            part_target(verb, "claimed")
    assert part_target(Verb.REVIEW_RETURN, "returned", "uphold") == "dispatched"


def _with_parts() -> list[dict[str, Any]]:
    return [
        ev("submit", SUBMITTED, hall=VILLAGE),
        ev("escalate", ESCALATED, hall=TOWNSHIP, from_hall=VILLAGE),
        ev("acknowledge", ACKNOWLEDGED),
        ev("escalate", ESCALATED, hall=ASSIGNMENT, from_hall=TOWNSHIP),
        ev(
            "dispatch",
            DISPATCHED,
            department="zhujian",
            assisting=["gongdian", "jiaotong"],
            from_hall_kind="assignment",
        ),
    ]


def test_replay_of_lead_and_assisting_parts() -> None:
    events = [
        *_with_parts(),
        ev("claim", DISPATCHED, part="gongdian", role="assisting", department="gongdian"),
        ev("claim", CLAIMED),
        ev("return", CLAIMED, part="gongdian", department="gongdian", reason_code="not_ours"),
        ev(
            "review_return",
            CLAIMED,
            part="gongdian",
            decision="uphold",
            department="gongdian",
            returned_by="gongdian",
        ),
        ev("return", CLAIMED, part="jiaotong", department="jiaotong", reason_code="other"),
        ev(
            "review_return",
            CLAIMED,
            part="jiaotong",
            decision="redispatch",
            department="shizheng",
            returned_by="jiaotong",
        ),
        ev("post_part", CLAIMED, part="gongdian", department="gongdian"),
        ev("waive_part", CLAIMED, part="shizheng", department="shizheng"),
        ev("resolve", RESOLVED, late=False),
    ]
    got = replay(events)
    assert (got.status, got.department) == (State.RESOLVED, "zhujian")
    assert got.parts == [
        ["gongdian", "posted"],
        ["jiaotong", "redispatched"],
        ["shizheng", "waived"],
    ]
    assert replay(events[:9]).parts == [["gongdian", "dispatched"], ["jiaotong", "dispatched"]]


def test_replay_cancels_open_parts_when_the_work_leaves_the_departments() -> None:
    events = [
        *_with_parts(),
        ev("post_part", DISPATCHED, part="jiaotong", department="jiaotong"),
        ev("hand_down", ESCALATED, hall=VILLAGE, from_hall_kind="assignment", department=None),
    ]
    got = replay(events)
    assert (got.status, got.hall, got.department) == (State.ESCALATED, VILLAGE, None)
    assert got.parts == [["gongdian", "cancelled"], ["jiaotong", "posted"]]
    # the lead's return keeps the parts open; a part return leaves the request's review alone
    returned = [
        *_with_parts(),
        ev("return", ESCALATED, department="zhujian", returned_by="zhujian", role="lead"),
        ev("post_part", ESCALATED, part="gongdian", department="gongdian"),
    ]
    got = replay(returned)
    assert (got.pending, got.department) == ("return", None)
    assert got.parts == [["gongdian", "posted"], ["jiaotong", "dispatched"]]


@pytest.mark.parametrize(
    "tail",
    [
        # a part the request does not have
        [ev("post_part", DISPATCHED, part="shizheng", department="shizheng")],
        # posting twice
        [
            ev("post_part", DISPATCHED, part="gongdian", department="gongdian"),
            ev("post_part", DISPATCHED, part="gongdian", department="gongdian"),
        ],
        # reviewing a part nobody returned
        [ev("review_return", DISPATCHED, part="gongdian", decision="uphold")],
        # a part verb that moves the request
        [ev("claim", CLAIMED, part="gongdian", department="gongdian")],
    ],
    ids=["unknown-part", "posted-twice", "review-unreturned", "part-moves-request"],
)
def test_replay_refuses_an_impossible_part_history(tail: list[dict[str, Any]]) -> None:
    with pytest.raises((ValueError, IllegalTransition)):
        replay([*_with_parts(), *tail])

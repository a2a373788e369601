"""The transition table of PRODUCT.md §3, checked exhaustively against an independent copy.

`expected_target` below is written out by hand from the verb table of §3 (and the clock rules
of §4 for the system's own `breach`); it deliberately does not read `states.TRANSITIONS`, so a
change to either side shows up here. The stateful test imports it as its oracle.
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
    replay,
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
}
# submit creates a request; it never applies to an existing one.
NEVER_FROM_A_STATE = frozenset({"submit"})


def expected_target(
    verb: str,
    state: str,
    *,
    dispatched: bool = False,
    rating: str | None = None,
    hall_kind: str | None = None,
) -> str | None:
    """Where §3 says `verb` takes a request in `state`; None when §3 does not allow it."""
    if verb in NEVER_FROM_A_STATE:
        return None
    sources, to = EXPECTED[verb]
    if state not in sources:
        return None
    if verb == "dispatch" and hall_kind != "assignment":
        return None  # "escalated (at county)": only the assignment hall dispatches
    if verb == "escalate" and hall_kind == "assignment":
        return None  # the top of the tree: it dispatches, there is no parent
    if to == SAME:
        return state
    if to == HANDLER:
        return CLAIMED if dispatched else IN_PROGRESS
    if to == BY_RATING:
        if rating is None:
            return None
        # 不满意 goes to review (§3.1) and stays resolved; 满意 / 基本满意 close it.
        return RESOLVED if rating == "dissatisfied" else CLOSED
    return to


# --- exhaustive table test --------------------------------------------------------------------


def test_the_independent_table_names_every_state_and_verb() -> None:
    assert {s.value for s in State} == ALL_STATES
    assert {v.value for v in Verb} == set(EXPECTED) | NEVER_FROM_A_STATE


HALL_KINDS = [*HallKind.values, None]
RATINGS = [*Rating, None]


@pytest.mark.parametrize("verb", list(Verb), ids=str)
def test_every_state_and_verb_matches_the_product_table(verb: Verb) -> None:
    checked = 0
    for state, dispatched, hall_kind, rating in itertools.product(
        State, (False, True), HALL_KINDS, RATINGS
    ):
        expected = expected_target(
            verb.value,
            state.value,
            dispatched=dispatched,
            rating=rating.value if rating else None,
            hall_kind=hall_kind,
        )
        context = f"{verb} from {state} (dispatched={dispatched}, hall={hall_kind}, {rating})"
        if expected is None:
            with pytest.raises(IllegalTransition):
                target(verb, state, dispatched=dispatched, rating=rating, hall_kind=hall_kind)
        else:
            got = target(verb, state, dispatched=dispatched, rating=rating, hall_kind=hall_kind)
            assert got == expected, context
            assert isinstance(got, State), context
        checked += 1
    assert checked == len(State) * 2 * len(HALL_KINDS) * len(RATINGS)


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
    # closed: only reopen and talk
    assert [v for v in Verb if _legal(v, State.CLOSED)] == [
        Verb.REOPEN,
        Verb.COMMENT,
        Verb.COSIGN,
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
        ev("return", ESCALATED, department=None),
        ev("breach", ESCALATED, clocks=["respond_by"]),
        ev("dispatch", DISPATCHED, department="gongdian", from_hall_kind="assignment"),
        ev("claim", CLAIMED),
        ev("hold", ON_HOLD),
        ev("resume", CLAIMED),
        ev("extend", CLAIMED, until="2025-06-10T09:00:00+08:00"),
        ev("approve_extension", CLAIMED, until="2025-06-10T09:00:00+08:00"),
        ev("resolve", RESOLVED, late=False),
        ev("rate", RESOLVED, rating="dissatisfied"),
        ev("reopen", CLAIMED, rebound=True),
        ev("resolve", RESOLVED, late=True),
        ev("close", CLOSED, unrated=True),
        ev("cosign", CLOSED),
    ]
    assert replay(events) == Replayed(State.CLOSED, ASSIGNMENT, "gongdian")
    # every prefix replays too, to the state of its last event
    for n in range(1, len(events) + 1):
        assert replay(events[:n]).status == events[n - 1]["to_status"]
    assert replay(events[:10]) == Replayed(State.ESCALATED, ASSIGNMENT, None)


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

"""States, verbs and the transition table of PRODUCT.md §3: pure data, no database.

Everything that decides *whether* a verb may move a request, and *where to*, lives here;
`actions.py` decides *who* may and writes the result.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _


class State(StrEnum):
    """The states of a request (§3)."""

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


STATE_LABELS: dict[State, Any] = {
    State.SUBMITTED: _("待响应"),
    State.ACKNOWLEDGED: _("已响应"),
    State.IN_PROGRESS: _("办理中"),
    State.ESCALATED: _("已上报"),
    State.DISPATCHED: _("已派单"),
    State.CLAIMED: _("已签收"),
    State.ON_HOLD: _("挂起"),
    State.RESOLVED: _("已办结"),
    State.CLOSED: _("已关闭"),
    State.REJECTED: _("不予受理"),
    State.MERGED: _("已合并"),
}
STATE_CHOICES = [(s.value, STATE_LABELS[s]) for s in State]

# Terminal: nothing moves a request out of these (closed may still be reopened, see REOPENABLE).
TERMINAL = frozenset({State.CLOSED, State.REJECTED, State.MERGED})
OPEN = frozenset(State) - TERMINAL - {State.RESOLVED}
# States in which someone is working on the request and the resolution clock runs.
HANDLING = frozenset({State.ACKNOWLEDGED, State.IN_PROGRESS, State.CLAIMED})


class Verb(StrEnum):
    """The verbs of §3; each is one action writing one event."""

    SUBMIT = "submit"
    ACKNOWLEDGE = "acknowledge"
    START = "start"
    ESCALATE = "escalate"
    DISPATCH = "dispatch"
    CLAIM = "claim"
    RETURN = "return"
    HOLD = "hold"
    RESUME = "resume"
    EXTEND = "extend"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    RESOLVE = "resolve"
    RATE = "rate"
    REOPEN = "reopen"
    CLOSE = "close"
    REJECT = "reject"
    MERGE = "merge"
    SUPERVISE = "supervise"
    COMMENT = "comment"
    COSIGN = "cosign"
    # §3.1: the rules a county's 12345 office enforces.
    HAND_DOWN = "hand_down"
    REVIEW_RETURN = "review_return"
    APPEAL = "appeal"
    REVIEW_RATING = "review_rating"
    VISIT = "visit"
    # 主办/协办: an assisting department posts its part; the dispatcher may waive one.
    POST_PART = "post_part"
    WAIVE_PART = "waive_part"
    # 转办: the duty officer on shift (or a dispatcher) forwards a due request to a named
    # officer or a department, who are told at once (no state change).
    FORWARD = "forward"
    # System-only: the deadline sweep records a missed clock (no state change).
    BREACH = "breach"


VERB_LABELS: dict[Verb, Any] = {
    Verb.SUBMIT: _("提交诉求"),
    Verb.ACKNOWLEDGE: _("响应"),
    Verb.START: _("就地办理"),
    Verb.ESCALATE: _("上报"),
    Verb.DISPATCH: _("派单"),
    Verb.CLAIM: _("签收"),
    Verb.RETURN: _("退单"),
    Verb.HOLD: _("挂起"),
    Verb.RESUME: _("恢复办理"),
    Verb.EXTEND: _("申请延期"),
    Verb.APPROVE_EXTENSION: _("批准延期"),
    Verb.DENY_EXTENSION: _("驳回延期"),
    Verb.RESOLVE: _("办结"),
    Verb.RATE: _("评价"),
    Verb.REOPEN: _("重新打开"),
    Verb.CLOSE: _("关闭"),
    Verb.REJECT: _("不予受理"),
    Verb.MERGE: _("合并"),
    Verb.SUPERVISE: _("督办"),
    Verb.COMMENT: _("留言"),
    Verb.COSIGN: _("我也遇到"),
    Verb.HAND_DOWN: _("下沉"),
    Verb.REVIEW_RETURN: _("退单审核"),
    Verb.APPEAL: _("甄别申请"),
    Verb.REVIEW_RATING: _("评价复核"),
    Verb.VISIT: _("回访"),
    Verb.POST_PART: _("协办反馈"),
    Verb.WAIVE_PART: _("免除协办"),
    Verb.FORWARD: _("转办"),
    Verb.BREACH: _("超时"),
}
VERB_CHOICES = [(v.value, VERB_LABELS[v]) for v in Verb]

# Marker targets resolved by `target()` from the request's context.
SAME = "same"
# Back to the last handler's state: claimed if a department has it, else in_progress.
HANDLER = "handler"
BY_RATING = "by_rating"
BY_DECISION = "by_decision"

S = State
ANY = frozenset(State)


@dataclass(frozen=True)
class Transition:
    """From which states a verb is legal and where it leads."""

    sources: frozenset[State]
    to: State | str


TRANSITIONS: dict[Verb, Transition] = {
    Verb.ACKNOWLEDGE: Transition(frozenset({S.SUBMITTED, S.ESCALATED}), S.ACKNOWLEDGED),
    Verb.START: Transition(frozenset({S.ACKNOWLEDGED}), S.IN_PROGRESS),
    Verb.ESCALATE: Transition(frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.IN_PROGRESS}), S.ESCALATED),
    Verb.DISPATCH: Transition(frozenset({S.ACKNOWLEDGED, S.ESCALATED}), S.DISPATCHED),
    Verb.CLAIM: Transition(frozenset({S.DISPATCHED}), S.CLAIMED),
    Verb.RETURN: Transition(frozenset({S.DISPATCHED, S.CLAIMED}), S.ESCALATED),
    Verb.HOLD: Transition(frozenset({S.IN_PROGRESS, S.CLAIMED}), S.ON_HOLD),
    Verb.RESUME: Transition(frozenset({S.ON_HOLD}), HANDLER),
    Verb.EXTEND: Transition(frozenset({S.IN_PROGRESS, S.CLAIMED}), SAME),
    Verb.APPROVE_EXTENSION: Transition(frozenset({S.IN_PROGRESS, S.CLAIMED}), SAME),
    Verb.DENY_EXTENSION: Transition(frozenset({S.IN_PROGRESS, S.CLAIMED}), SAME),
    Verb.RESOLVE: Transition(frozenset({S.IN_PROGRESS, S.CLAIMED}), S.RESOLVED),
    Verb.RATE: Transition(frozenset({S.RESOLVED}), BY_RATING),
    Verb.REOPEN: Transition(frozenset({S.RESOLVED, S.CLOSED}), HANDLER),
    Verb.CLOSE: Transition(frozenset({S.RESOLVED}), S.CLOSED),
    Verb.REJECT: Transition(frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.ESCALATED}), S.REJECTED),
    Verb.MERGE: Transition(OPEN, S.MERGED),
    Verb.SUPERVISE: Transition(OPEN, SAME),
    Verb.COMMENT: Transition(ANY, SAME),
    # §3: "comment, cosign | any | same".
    Verb.COSIGN: Transition(ANY, SAME),
    Verb.HAND_DOWN: Transition(
        frozenset({S.ACKNOWLEDGED, S.ESCALATED, S.DISPATCHED, S.CLAIMED, S.ON_HOLD}), S.ESCALATED
    ),
    Verb.REVIEW_RETURN: Transition(frozenset({S.ESCALATED}), S.DISPATCHED),
    Verb.APPEAL: Transition(frozenset({S.RESOLVED}), SAME),
    Verb.REVIEW_RATING: Transition(frozenset({S.RESOLVED}), BY_DECISION),
    Verb.VISIT: Transition(frozenset({S.RESOLVED, S.CLOSED}), SAME),
    Verb.BREACH: Transition(ANY - TERMINAL, SAME),
    # Verbs on an assisting department's part leave the request where it is (see PART_VERBS).
    Verb.POST_PART: Transition(frozenset({S.DISPATCHED, S.CLAIMED, S.ON_HOLD, S.ESCALATED}), SAME),
    Verb.WAIVE_PART: Transition(frozenset({S.DISPATCHED, S.CLAIMED, S.ON_HOLD, S.ESCALATED}), SAME),
    # 转办: with a department, or escalated to the assignment hall (checked in `target`).
    Verb.FORWARD: Transition(frozenset({S.DISPATCHED, S.CLAIMED, S.ON_HOLD, S.ESCALATED}), SAME),
}


class Pending(StrEnum):
    """A decision a request waits for without changing state (docs/handling-rules.md)."""

    NONE = ""
    RETURN = "return"  # a department's return, for the dispatcher to review
    RATING = "rating"  # a 不满意 rating, for review: redo or appeal
    APPEAL = "appeal"  # the handler's appeal (甄别申请), for review


PENDING_LABELS: dict[Pending, Any] = {
    Pending.NONE: "",
    Pending.RETURN: _("退单待审核"),
    Pending.RATING: _("不满意待复核"),
    Pending.APPEAL: _("甄别申请待审核"),
}
PENDING_CHOICES = [(p.value, PENDING_LABELS[p]) for p in Pending]


class ReturnDecision(StrEnum):
    """The dispatcher's review of a return (派单异议审核)."""

    REDISPATCH = "redispatch"
    UPHOLD = "uphold"


class RatingDecision(StrEnum):
    """The review of a 不满意 rating."""

    REDO = "redo"
    APPROVE_APPEAL = "approve_appeal"
    DENY_APPEAL = "deny_appeal"


class ReturnReason(StrEnum):
    """Reason codes of a return (退单)."""

    NOT_OURS = "not_ours"
    INCOMPLETE = "incomplete"
    DUPLICATE = "duplicate"
    OTHER = "other"


RETURN_REASON_LABELS: dict[ReturnReason, Any] = {
    ReturnReason.NOT_OURS: _("非本部门职责"),
    ReturnReason.INCOMPLETE: _("信息不全"),
    ReturnReason.DUPLICATE: _("重复件"),
    ReturnReason.OTHER: _("其他"),
}


class Rating(StrEnum):
    """The reporter's rating (§3): 满意 / 基本满意 / 不满意."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


RATING_LABELS: dict[Rating, Any] = {
    Rating.SATISFIED: _("满意"),
    Rating.BASICALLY_SATISFIED: _("基本满意"),
    Rating.DISSATISFIED: _("不满意"),
}
RATING_CHOICES = [(r.value, RATING_LABELS[r]) for r in Rating]


class IllegalTransition(Exception):
    """The verb is not allowed from the request's current state."""


# --- 主办/协办: an assisting department's part of a request (docs/handling-rules.md) ---------


class PartStatus(StrEnum):
    """Where an assisting department's part of a request stands."""

    DISPATCHED = "dispatched"  # waiting for the department to claim it
    CLAIMED = "claimed"
    RETURNED = "returned"  # returned by the department, waiting for the dispatcher's review
    POSTED = "posted"  # the department posted its part: done
    WAIVED = "waived"  # the dispatcher waived it: done
    REDISPATCHED = "redispatched"  # a reviewed return sent it to another department
    CANCELLED = (
        "cancelled"  # the request left the departments (hand-down, reject, merge, a new dispatch)
    )


PART_STATUS_LABELS: dict[PartStatus, Any] = {
    PartStatus.DISPATCHED: _("待签收"),
    PartStatus.CLAIMED: _("已签收"),
    PartStatus.RETURNED: _("退单待审核"),
    PartStatus.POSTED: _("已反馈"),
    PartStatus.WAIVED: _("已免除"),
    PartStatus.REDISPATCHED: _("已改派"),
    PartStatus.CANCELLED: _("已撤销"),
}
PART_STATUS_CHOICES = [(p.value, PART_STATUS_LABELS[p]) for p in PartStatus]
# A part still open keeps the lead from resolving.
PART_OPEN = frozenset({PartStatus.DISPATCHED, PartStatus.CLAIMED, PartStatus.RETURNED})
# The part a department currently has on a request (the others were moved away or ended).
PART_CURRENT = frozenset(PartStatus) - {PartStatus.REDISPATCHED, PartStatus.CANCELLED}
# The clock each part status runs (the department's own claim and resolution deadlines).
PART_CLOCKS: dict[PartStatus, frozenset[str]] = {
    PartStatus.DISPATCHED: frozenset({"claim_by"}),
    PartStatus.CLAIMED: frozenset({"resolve_by"}),
}
PART_DEADLINE_FIELDS = ("claim_by", "resolve_by")
# Request states in which parts may be open: with a department, or back at the assignment hall
# while the lead's return waits for review.
PART_STATES = frozenset({State.DISPATCHED, State.CLAIMED, State.ON_HOLD, State.ESCALATED})
# Verbs that act on an assisting part when an assisting department (or the dispatcher, for a
# part) uses them; the request's own state does not move.
PART_VERBS = frozenset(
    {Verb.CLAIM, Verb.RETURN, Verb.REVIEW_RETURN, Verb.POST_PART, Verb.WAIVE_PART}
)
# Request verbs that end every open part: the work leaves the departments or is dispatched anew.
PART_CANCELLING = frozenset({Verb.DISPATCH, Verb.HAND_DOWN, Verb.REJECT, Verb.MERGE})

_PART_TABLE: dict[Verb, tuple[frozenset[PartStatus], PartStatus | None]] = {
    Verb.CLAIM: (frozenset({PartStatus.DISPATCHED}), PartStatus.CLAIMED),
    Verb.RETURN: (frozenset({PartStatus.DISPATCHED, PartStatus.CLAIMED}), PartStatus.RETURNED),
    Verb.REVIEW_RETURN: (frozenset({PartStatus.RETURNED}), None),  # by decision
    Verb.POST_PART: (frozenset({PartStatus.DISPATCHED, PartStatus.CLAIMED}), PartStatus.POSTED),
    Verb.WAIVE_PART: (PART_OPEN, PartStatus.WAIVED),
}


def part_target(verb: Verb, status: PartStatus | str, decision: str | None = None) -> PartStatus:
    """Where `verb` takes an assisting part in `status`, or IllegalTransition."""
    rule = _PART_TABLE.get(verb)
    if rule is None or PartStatus(status) not in rule[0]:
        raise IllegalTransition(
            _("协办任务为“%(state)s”时不能“%(verb)s”")
            % {"verb": VERB_LABELS[verb], "state": PART_STATUS_LABELS[PartStatus(status)]}
        )
    if rule[1] is not None:
        return rule[1]
    if decision == "uphold":
        return PartStatus.DISPATCHED  # back to the same department, which may not return again
    if decision == "redispatch":
        return PartStatus.REDISPATCHED  # and a new part for the other department
    raise IllegalTransition(_("退回审核的决定应为 redispatch（改派）或 uphold（维持原派）"))


def target(
    verb: Verb,
    state: State,
    *,
    dispatched: bool = False,
    rating: Rating | None = None,
    hall_kind: str | None = None,
    pending: str = "",
    decision: str | None = None,
    part: bool = False,
) -> State:
    """The state `verb` leads to from `state`, or IllegalTransition.

    `dispatched`: a department holds the request (reopen and resume go back to `claimed`).
    `rating`: for `rate`; 不满意 keeps the request resolved, awaiting review (§3.1).
    `hall_kind`: the current hall's kind; dispatch and hand-down happen only at the
    assignment hall and nothing escalates beyond it.
    `pending`: the decision the request waits for (Pending); `decision`: a review's outcome.
    `part`: the verb acts on an assisting department's part (PART_VERBS); the request stays.
    """
    if part or verb in (Verb.POST_PART, Verb.WAIVE_PART):
        if verb not in PART_VERBS or state not in PART_STATES:
            raise IllegalTransition(
                _("诉求为“%(state)s”时不能对协办任务“%(verb)s”")
                % {"verb": VERB_LABELS[verb], "state": STATE_LABELS[state]}
            )
        if state == State.ESCALATED and pending != Pending.RETURN:
            raise IllegalTransition(_("诉求不在部门办理中"))
        return state
    transition = TRANSITIONS.get(verb)
    if transition is None or state not in transition.sources:
        raise IllegalTransition(
            _("“%(state)s”状态下不能“%(verb)s”")
            % {"verb": VERB_LABELS[verb], "state": STATE_LABELS[state]}
        )
    if verb in (Verb.DISPATCH, Verb.HAND_DOWN) and hall_kind != "assignment":
        raise IllegalTransition(_("“%(verb)s”只能在县交办厅进行") % {"verb": VERB_LABELS[verb]})
    if verb == Verb.ESCALATE and hall_kind == "assignment":
        raise IllegalTransition(_("交办厅负责派单，已无上级可上报"))
    if verb == Verb.FORWARD and state == S.ESCALATED and hall_kind != "assignment":
        raise IllegalTransition(_("已上报的诉求只能在交办厅转办"))
    _check_pending(verb, state, Pending(pending), decision)
    to = transition.to
    if to == SAME:
        return state
    if to == HANDLER:
        return S.CLAIMED if dispatched else S.IN_PROGRESS
    if to == BY_RATING:
        if rating is None:
            raise IllegalTransition(_("评价须选择满意度"))
        return S.RESOLVED if rating == Rating.DISSATISFIED else S.CLOSED
    if to == BY_DECISION:
        if decision == RatingDecision.REDO:
            return S.CLAIMED if dispatched else S.IN_PROGRESS
        return S.CLOSED if decision == RatingDecision.APPROVE_APPEAL else S.RESOLVED
    return State(to)


def _check_pending(verb: Verb, state: State, pending: Pending, decision: str | None) -> None:
    """What a waiting decision allows and forbids."""
    if verb == Verb.REVIEW_RETURN:
        if pending != Pending.RETURN:
            raise IllegalTransition(_("没有待审核的退回"))
        if decision not in set(ReturnDecision):
            raise IllegalTransition(_("退回审核的决定应为 redispatch（改派）或 uphold（维持原派）"))
    elif verb in (Verb.DISPATCH, Verb.ACKNOWLEDGE) and pending == Pending.RETURN:
        raise IllegalTransition(_("被退回的诉求须先审核退回"))
    elif verb == Verb.APPEAL and pending != Pending.RATING:
        raise IllegalTransition(_("申诉只针对审核中的“不满意”评价"))
    elif verb == Verb.REVIEW_RATING:
        if decision not in set(RatingDecision):
            raise IllegalTransition(_("评价审核的决定应为 redo、approve_appeal 或 deny_appeal"))
        needed = (
            (Pending.RATING, Pending.APPEAL)
            if decision == RatingDecision.REDO
            else (Pending.APPEAL,)
        )
        if pending not in needed:
            raise IllegalTransition(_("没有等待“%(decision)s”决定的事项") % {"decision": decision})
    elif verb in (Verb.RATE, Verb.CLOSE, Verb.REOPEN) and pending == Pending.APPEAL:
        raise IllegalTransition(_("有申诉在等待审核"))
    elif verb in (Verb.CLOSE, Verb.REOPEN) and pending == Pending.RATING:
        raise IllegalTransition(_("有“不满意”评价在等待审核"))


def next_pending(
    verb: Verb,
    pending: str,
    *,
    to: State,
    rating: str | None = None,
    decision: str | None = None,
    part: bool = False,
) -> Pending:
    """The decision a request waits for after `verb` (docs/handling-rules.md)."""
    if part or verb in (Verb.POST_PART, Verb.WAIVE_PART):
        return Pending(pending)  # a part's return waits on the part, not on the request
    match verb:
        case Verb.RETURN:
            return Pending.RETURN
        case Verb.VISIT if pending:
            return Pending(pending)  # a visit records a rating; it decides no review
        case Verb.RATE | Verb.VISIT if to == S.RESOLVED:
            return Pending.RATING if rating == Rating.DISSATISFIED else Pending.NONE
        case Verb.APPEAL:
            return Pending.APPEAL
        case Verb.REVIEW_RATING if decision == RatingDecision.DENY_APPEAL:
            return Pending.RATING
        case Verb.COMMENT | Verb.COSIGN | Verb.SUPERVISE | Verb.BREACH | Verb.VISIT | Verb.FORWARD:
            return Pending(pending)
    return Pending.NONE


def allowed_verbs(
    state: State, *, dispatched: bool = False, hall_kind: str | None = None, pending: str = ""
) -> list[Verb]:
    """Verbs legal from `state` with some argument (for pages and the API to offer)."""
    return list(_allowed_verbs(State(state), dispatched, hall_kind, str(pending)))


@functools.cache
def _allowed_verbs(
    state: State, dispatched: bool, hall_kind: str | None, pending: str
) -> tuple[Verb, ...]:
    """allowed_verbs, worked out once per combination (a few hundred at most): trying every
    verb and decision costs ~150 refusals, each with its message, and every request of every
    list asks."""
    out: list[Verb] = []
    for verb in TRANSITIONS:
        if verb in (Verb.POST_PART, Verb.WAIVE_PART):
            continue  # offered per part (actions.part_verbs)
        for decision in (None, *ReturnDecision, *RatingDecision):
            try:
                target(
                    verb,
                    state,
                    dispatched=dispatched,
                    hall_kind=hall_kind,
                    rating=Rating.SATISFIED,
                    pending=pending,
                    decision=decision,
                )
            except IllegalTransition:
                continue
            out.append(verb)
            break
    return tuple(out)


# Which deadlines run in each state (§4). The case engine keeps exactly these set, and the
# stateful test checks it after every step.
CLOCKS_BY_STATE: dict[State, frozenset[str]] = {
    S.SUBMITTED: frozenset({"respond_by"}),
    S.ESCALATED: frozenset({"respond_by"}),
    S.ACKNOWLEDGED: frozenset({"resolve_by"}),
    S.IN_PROGRESS: frozenset({"resolve_by"}),
    S.DISPATCHED: frozenset({"claim_by"}),
    S.CLAIMED: frozenset({"resolve_by"}),
    S.ON_HOLD: frozenset(),
    S.RESOLVED: frozenset({"rate_by"}),
    S.CLOSED: frozenset({"reopen_until"}),
    S.REJECTED: frozenset(),
    S.MERGED: frozenset(),
}
DEADLINE_FIELDS = ("respond_by", "claim_by", "resolve_by", "rate_by", "reopen_until")


def running_clocks(state: State, pending: str = "") -> frozenset[str]:
    """The deadlines that run: the state's, without the rating window while under review."""
    clocks = CLOCKS_BY_STATE[state]
    if pending in (Pending.RATING, Pending.APPEAL):
        return clocks - {"rate_by"}
    return clocks


@dataclass
class Replayed:
    """A request's state rebuilt from its events alone."""

    status: State
    hall: str
    department: str | None
    pending: Pending = Pending.NONE
    # Assisting parts in the order they were created: [department code, PartStatus].
    parts: list[list[str]] = field(default_factory=list)

    def current_part(self, department: str) -> list[str] | None:
        """The department's current part (the latest not moved away or cancelled)."""
        for part in reversed(self.parts):
            if part[0] == department and part[1] in PART_CURRENT:
                return part
        return None


def replay(events: Iterable[Mapping[str, Any]]) -> Replayed:
    """Rebuild status, hall, department and pending review from event rows in order
    (verb, to_status, data)."""
    result: Replayed | None = None
    for event in events:
        verb = Verb(event["verb"])
        data = event.get("data") or {}
        if verb == Verb.SUBMIT:
            result = Replayed(State(event["to_status"]), data["hall"], None)
            continue
        if result is None:
            raise ValueError("the first event must be a submit")
        on_part = "part" in data
        expected = target(
            verb,
            result.status,
            dispatched=result.department is not None,
            rating=Rating(data["rating"]) if verb == Verb.RATE else None,
            hall_kind=data.get("from_hall_kind"),
            pending=result.pending,
            decision=data.get("decision"),
            part=on_part,
        )
        if expected != State(event["to_status"]):
            raise ValueError(
                f"event {verb} leads to {event['to_status']}, the table says {expected}"
            )
        result.pending = next_pending(
            verb,
            result.pending,
            to=expected,
            rating=data.get("rating"),
            decision=data.get("decision"),
            part=on_part,
        )
        result.status = expected
        if on_part:
            _replay_part(result, verb, data)
            continue
        if verb in PART_CANCELLING:
            for part in result.parts:
                if part[1] in PART_OPEN:
                    part[1] = PartStatus.CANCELLED
        if verb == Verb.DISPATCH:
            result.parts += [[code, PartStatus.DISPATCHED] for code in data.get("assisting", [])]
        if "hall" in data:
            result.hall = data["hall"]
        if verb in (Verb.DISPATCH, Verb.REVIEW_RETURN):
            result.department = data["department"]
        elif verb in (Verb.RETURN, Verb.HAND_DOWN):
            result.department = None
    if result is None:
        raise ValueError("no events")
    return result


def _replay_part(result: Replayed, verb: Verb, data: Mapping[str, Any]) -> None:
    """Apply a part event (data `part`: the assisting department) to the replayed parts."""
    part = result.current_part(data["part"])
    if part is None:
        raise ValueError(f"event {verb} on a part {data['part']} the request does not have")
    part[1] = part_target(verb, part[1], data.get("decision"))
    if part[1] == PartStatus.REDISPATCHED:
        result.parts.append([data["department"], PartStatus.DISPATCHED])

"""Every write to a request: one `do_<verb>` per verb of §3, one transaction, one event.

Views, the API, the CLI and the deadline sweep all call these; nothing else saves a request.
A transition is a conditional update on (pk, version): of two people acting at once exactly
one wins and the other gets `conflict`, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yishiting.core import ratelimit
from yishiting.core.errors import (
    ConflictError,
    ForbiddenError,
    IllegalTransitionError,
    InvalidError,
    NotFoundError,
)
from yishiting.orgs.models import (
    Category,
    ClockPolicy,
    CountyRules,
    Department,
    Hall,
    HallKind,
    Membership,
    Priority,
    Role,
    User,
    calendar_overrides,
)
from yishiting.orgs.scope import Actor, escalation_target
from yishiting.requests import clocks, effects
from yishiting.requests.models import (
    Attachment,
    Channel,
    Event,
    Follower,
    FollowerKind,
    Part,
    RatingChannel,
    Request,
    Voice,
)
from yishiting.requests.photos import MAX_PHOTOS, Photo, clean_photo
from yishiting.requests.queries import get_request, hold_parts
from yishiting.requests.states import (
    DEADLINE_FIELDS,
    OPEN,
    PART_CANCELLING,
    PART_CLOCKS,
    PART_CURRENT,
    PART_DEADLINE_FIELDS,
    PART_OPEN,
    PART_STATUS_LABELS,
    VERB_LABELS,
    IllegalTransition,
    PartStatus,
    Pending,
    Rating,
    RatingDecision,
    ReturnDecision,
    ReturnReason,
    State,
    Verb,
    next_pending,
    part_target,
    running_clocks,
    target,
)
from yishiting.requests.voice import clean_voice

log = logging.getLogger("yishiting.actions")

# Clocks whose breach makes a request overdue (the rating window and reopen window do not).
OVERDUE_CLOCKS = ("respond_by", "claim_by", "resolve_by", "supervise_by", "forward_by")
# §4: off-hours, the duty officer must forward a dispatched request within 5 calendar minutes.
FORWARD_WINDOW = timedelta(minutes=5)
# Verbs the system performs with no actor (dispatch: automatic, by the routing model, issue 6).
SYSTEM_VERBS = frozenset({Verb.ESCALATE, Verb.CLOSE, Verb.BREACH, Verb.DISPATCH})
# Verbs that count as the first response to a resident (§5 响应率).
RESPONSE_VERBS = frozenset(
    {Verb.ACKNOWLEDGE, Verb.START, Verb.ESCALATE, Verb.DISPATCH, Verb.REJECT, Verb.MERGE}
)
MAX_TEXT = 4000
# The text of a request raised by voice alone: what lists, the board and routing show until a
# handler who listened writes more (stored as data, in the county's language).
VOICE_ONLY_TEXT = "（语音留言）"
MAX_NOTE = 2000
NOTE_REQUIRED = frozenset(
    {Verb.RETURN, Verb.HOLD, Verb.REOPEN, Verb.REJECT, Verb.RESOLVE, Verb.POST_PART}
)
# At most this many assisting departments on one dispatch.
MAX_ASSISTING = 10

ActorArg = User | Actor | None
Upload = IO[bytes]


@dataclass
class Change:
    """What a verb does to a request beyond its state: the fields it sets and the event data."""

    fields: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    followers: list[tuple[int, str]] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    # Assisting parts this verb creates or changes, and the part deadlines it starts.
    parts: list[Part] = field(default_factory=list)
    part_due: list[datetime] = field(default_factory=list)
    on_part: bool = False


def _actor(actor: ActorArg) -> Actor | None:
    if actor is None or isinstance(actor, Actor):
        return actor
    return Actor.of(actor)


def load_request(req: Request | int) -> Request:
    """The request to act on. An instance is the snapshot the caller decided on: if the row
    changed since, the write fails with `conflict` rather than act on a state nobody saw.
    An id is read now."""
    return req if isinstance(req, Request) else get_request(req)


def _note(note: str, verb: Verb) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidError(_("说明最多 %(n)s 个字") % {"n": MAX_NOTE})
    if verb in NOTE_REQUIRED and not note:
        raise InvalidError(_("%(verb)s：请填写理由或说明") % {"verb": VERB_LABELS[Verb(verb)]})
    return note


def _photos(uploads: Sequence[Upload] | None) -> list[Photo]:
    uploads = list(uploads or [])
    if len(uploads) > MAX_PHOTOS:
        raise InvalidError(_("最多 %(n)s 张照片") % {"n": MAX_PHOTOS})
    return [clean_photo(u, getattr(u, "name", f"photo {i + 1}")) for i, u in enumerate(uploads)]


# --- who may do what -----------------------------------------------------------------------


def _local(who: Actor, req: Request) -> bool:
    """Handles the request where it is: the hall's liaison or manager, or the dispatcher when
    it sits in the assignment hall."""
    if req.hall.kind == HallKind.ASSIGNMENT:
        return who.dispatches_for(req.hall)
    return who.handles_hall(req.hall)


def _department_stage(req: Request) -> bool:
    return req.department_id is not None and req.status in (
        State.DISPATCHED,
        State.CLAIMED,
        State.ON_HOLD,
    )


def can(who: Actor | None, verb: Verb, req: Request, *, now: datetime, public: bool = True) -> bool:
    """Whether `who` may perform `verb` on `req` (scope and role only, not the state)."""
    if who is None:
        return verb in SYSTEM_VERBS
    dept = _department_stage(req)
    match verb:
        case Verb.ACKNOWLEDGE | Verb.START | Verb.ESCALATE:
            return _local(who, req) and not (verb == Verb.ESCALATE and dept)
        case Verb.DISPATCH:
            return who.dispatches_for(req.hall)
        case Verb.CLAIM | Verb.RETURN:
            return who.officer_of(req.department_id) or my_part(who, req) is not None
        case Verb.POST_PART:
            return my_part(who, req) is not None
        case Verb.WAIVE_PART:
            return who.dispatches_for(req.hall)
        case Verb.HOLD | Verb.RESUME | Verb.EXTEND | Verb.RESOLVE:
            return who.officer_of(req.department_id) if dept else _local(who, req)
        case Verb.APPROVE_EXTENSION | Verb.DENY_EXTENSION:
            # The dispatcher decides for departments and for work the assignment hall
            # handles itself (it has no manager); a hall manager for local work (§2).
            if dept or req.hall.kind == HallKind.ASSIGNMENT:
                return who.dispatches_for(req.hall)
            return who.manages_hall(req.hall)
        case Verb.RATE | Verb.REOPEN:
            return req.reporter_id is not None and req.reporter_id == who.user.pk
        case Verb.REJECT:
            if req.hall.kind == HallKind.ASSIGNMENT:
                return who.dispatches_for(req.hall)
            return who.manages_hall(req.hall)
        case Verb.MERGE:
            return _local(who, req) or who.dispatches_for(req.hall)
        case Verb.SUPERVISE:
            return who.leads(req.hall) or who.dispatches_for(req.hall) or who.on_duty(req.hall, now)
        case Verb.FORWARD:
            return who.dispatches_for(req.hall) or who.on_duty(req.hall, now)
        case Verb.COMMENT:
            inside = who.sees_internal(req.hall, req.origin_hall, req.department_id) or (
                my_part(who, req) is not None
            )
            if not public:
                return inside
            return inside or Follower.objects.filter(request=req, user=who.user).exists()
        case Verb.COSIGN:
            return req.reporter_id != who.user.pk
        case Verb.HAND_DOWN | Verb.REVIEW_RETURN:
            return who.dispatches_for(req.hall)
        case Verb.APPEAL:
            return who.officer_of(req.department_id) if req.department_id else _local(who, req)
        case Verb.REVIEW_RATING:
            if req.department_id or req.hall.kind == HallKind.ASSIGNMENT:
                return who.dispatches_for(req.hall)
            return who.manages_hall(req.hall)
        case Verb.VISIT:
            # 首接负责: the first hall stays responsible for telling the resident.
            return (
                who.handles_hall(req.origin_hall)
                or who.handles_hall(req.hall)
                or who.dispatches_for(req.hall)
            )
    return False


def my_part(who: Actor, req: Request) -> Part | None:
    """The assisting part one of `who`'s departments currently has on `req` (协办), if any."""
    ids = [d.pk for d in who.departments]
    if not ids or req.pk is None:
        return None
    return (
        Part.objects.select_related("department")
        .filter(request_id=req.pk, department_id__in=ids, status__in=PART_CURRENT)
        .order_by("-id")
        .first()
    )


def part_verbs(who: Actor, req: Request, *, now: datetime) -> list[str]:
    """The part verbs (claim, return, post_part; waive_part, review_return) `who` may use on
    `req` now, for pages and the API to offer."""
    status = State(req.status)
    try:
        target(Verb.POST_PART, status, pending=req.pending_review)
    except IllegalTransition:
        return []
    parts = list(req.parts.all())
    out: list[str] = []
    ids = {d.pk for d in who.departments}
    if ids and not who.officer_of(req.department_id):
        mine = [p for p in parts if p.department_id in ids and p.status in PART_CURRENT]
        if mine:
            for verb in (Verb.CLAIM, Verb.RETURN, Verb.POST_PART):
                try:
                    part_target(verb, mine[-1].status)
                except IllegalTransition:
                    continue
                out.append(verb.value)
    if who.dispatches_for(req.hall):
        if any(p.status in PART_OPEN for p in parts):
            out.append(Verb.WAIVE_PART.value)
        if any(p.status == PartStatus.RETURNED for p in parts):
            out.append(Verb.REVIEW_RETURN.value)
    return out


def _check(who: Actor | None, verb: Verb, req: Request, now: datetime, **kw: Any) -> State:
    """Scope first (403), then the transition table (409); returns the target state."""
    if not can(who, verb, req, now=now, public=kw.pop("public", True)):
        raise ForbiddenError(
            _("您无权对诉求 %(id)s 执行“%(verb)s”") % {"id": req.pk, "verb": VERB_LABELS[verb]}
        )
    try:
        return target(
            verb,
            State(req.status),
            dispatched=req.department_id is not None,
            hall_kind=req.hall.kind,
            pending=req.pending_review,
            **kw,
        )
    except IllegalTransition as exc:
        raise IllegalTransitionError(
            _("诉求 %(id)s：%(why)s") % {"id": req.pk, "why": exc}
        ) from None


# --- clocks ---------------------------------------------------------------------------------


def _calendar() -> clocks.WorkCalendar:
    return clocks.WorkCalendar(calendar_overrides())


def _warn_unknown_years(cal: clocks.WorkCalendar) -> None:
    """A deadline in a year nobody has entered holidays for counts Mon–Fri; say so (§4)."""
    for year in sorted(cal.unknown_years):
        log.warning(
            "no holiday calendar for %s: weekends count as rest days; "
            "enter the year's holidays and make-up days under 节假日调整",
            year,
        )


def _clock_fields(
    req: Request,
    verb: Verb,
    to: State,
    now: datetime,
    *,
    department: Department | None,
    handled_through: datetime | None,
    supervise_by: datetime | None = None,
    extension_until: datetime | None = None,
    resolve_by: datetime | None = None,
    pending: str = "",
) -> dict[str, Any]:
    """The deadline columns after `verb` moves `req` to `to` (§4, states.running_clocks)."""
    policy = ClockPolicy.for_request(req.category_id, req.priority)
    cal = _calendar()
    hours = department.hours() if department is not None else clocks.DEFAULT_HOURS
    new: dict[str, Any] = {f: getattr(req, f) for f in DEADLINE_FIELDS}
    fresh: set[str] = set()
    remaining = req.resolve_remaining

    def start(name: str, seconds: int, basis: str = clocks.Basis.CALENDAR) -> None:
        new[name] = clocks.add(now, seconds, clocks.Basis(basis), cal, hours)
        fresh.add(name)

    if to != req.status or verb in (Verb.SUBMIT, Verb.REOPEN):
        match to:
            case State.SUBMITTED:
                start("respond_by", policy.first_response_seconds)
            case State.ESCALATED:
                start("respond_by", policy.parent_response_seconds)
            case State.DISPATCHED:
                start("claim_by", policy.claim_seconds, policy.claim_basis)
            case State.ACKNOWLEDGED | State.IN_PROGRESS | State.CLAIMED:
                if verb == Verb.RESUME:
                    start("resolve_by", remaining or 0, policy.resolution_basis)
                elif not (verb == Verb.START and new["resolve_by"]):
                    start("resolve_by", policy.resolution_seconds, policy.resolution_basis)
            case State.ON_HOLD:
                remaining = clocks.elapsed(
                    now, new["resolve_by"], clocks.Basis(policy.resolution_basis), cal, hours
                )
            case State.RESOLVED:
                start("rate_by", policy.rating_window_seconds)
            case State.CLOSED:
                start("reopen_until", policy.reopen_window_seconds)
    if verb == Verb.APPROVE_EXTENSION:
        resolve_by = req.extension_until
    if resolve_by is not None:
        new["resolve_by"] = resolve_by
        fresh.add("resolve_by")
    running = running_clocks(to, pending)
    for name in DEADLINE_FIELDS:
        if name not in running:
            new[name] = None
    new["supervise_by"] = req.supervise_by if to in OPEN else None
    if supervise_by is not None:
        new["supervise_by"] = supervise_by
        fresh.add("supervise_by")
    new["forward_by"] = _forward_by(req, verb, to, now, cal, hours)
    if new["forward_by"] is not None and new["forward_by"] != req.forward_by:
        fresh.add("forward_by")

    # The sweep has acted on every deadline before next_due_at and none from it on; keep that
    # true: fresh deadlines are pending, kept ones only if not yet acted on.
    active = {
        n: new[n] for n in (*DEADLINE_FIELDS, *EXTRA_CLOCKS) if new[n] and n != "reopen_until"
    }
    not_acted_on = [d for n, d in active.items() if n in fresh]
    for n, d in active.items():
        if n in fresh:
            continue
        if handled_through is not None:
            if d > handled_through:
                not_acted_on.append(d)
        elif req.next_due_at is not None and d >= req.next_due_at:
            not_acted_on.append(d)
    _warn_unknown_years(cal)
    new["warnings"] = _warnings(req, verb, new, fresh, now, policy, cal, hours, handled_through)
    new["next_due_at"] = min([*not_acted_on, *(_at(w) for w in new["warnings"])], default=None)
    new["overdue"] = any(d <= now for n, d in active.items() if n in OVERDUE_CLOCKS)
    new["resolve_remaining"] = remaining if to == State.ON_HOLD else None
    # A pending extension request lives until it is decided or the state moves on.
    if verb == Verb.EXTEND:
        new["extension_until"] = extension_until
    elif verb in (Verb.APPROVE_EXTENSION, Verb.DENY_EXTENSION) or to != req.status:
        new["extension_until"] = None
    else:
        new["extension_until"] = req.extension_until
    return new


# Clocks kept beside the state's own (states.running_clocks): a supervision order, and the
# off-hours forward clock while a request waits for its department to claim it.
EXTRA_CLOCKS = ("supervise_by", "forward_by")


def _forward_by(
    req: Request,
    verb: Verb,
    to: State,
    now: datetime,
    cal: clocks.WorkCalendar,
    hours: clocks.WorkingHours,
) -> datetime | None:
    """The off-hours forward clock (§4): starts when a request reaches a department outside
    that department's working hours (notify.duty.is_off_hours), runs until it is forwarded or
    claimed."""
    from yishiting.notify import duty

    if to != State.DISPATCHED or verb == Verb.FORWARD:
        return None
    if req.status != State.DISPATCHED:
        return now + FORWARD_WINDOW if duty.is_off_hours(now, cal, hours) else None
    return req.forward_by


# Clocks that warn at 50% and at the county's reminder percent (催办, §3.1), and the basis
# their time runs on (the policy's field, or calendar time).
WARNING_CLOCKS = {
    "respond_by": None,
    "claim_by": "claim_basis",
    "resolve_by": "resolution_basis",
    "supervise_by": None,
    "forward_by": None,
    "rate_by": None,
}
WARNING_PERCENT = 50


def _at(warning: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(warning["at"])


def _warnings(
    req: Request,
    verb: Verb,
    new: dict[str, Any],
    fresh: set[str],
    now: datetime,
    policy: ClockPolicy,
    cal: clocks.WorkCalendar,
    hours: clocks.WorkingHours,
    handled_through: datetime | None,
) -> list[dict[str, Any]]:
    """The 50% and reminder (催办, default 80%) warnings still to give for the clocks after this
    change: kept for a clock whose deadline did not move, computed afresh for one that
    (re)started."""
    out: list[dict[str, Any]] = []
    for w in req.warnings or []:
        deadline = new.get(w["clock"])
        if w["clock"] in fresh or deadline is None:
            continue
        if datetime.fromisoformat(w["deadline"]) != deadline or deadline <= now:
            continue
        if handled_through is not None and _at(w) <= handled_through:
            continue  # the sweep is acting at or past it: the breach says more
        out.append(w)
    county = req.hall.county_code if req.hall_id else ""
    reminder = CountyRules.for_county(county).reminder_percent
    percents = sorted({WARNING_PERCENT, reminder})
    for name in sorted(fresh):
        deadline = new.get(name)
        if name not in WARNING_CLOCKS or deadline is None or deadline <= now:
            continue
        field = WARNING_CLOCKS[name]
        basis = clocks.Basis(getattr(policy, field) if field else clocks.Basis.CALENDAR)
        total = clocks.elapsed(now, deadline, basis, cal, hours)
        used = 0
        if name == "resolve_by" and verb == Verb.RESUME:
            total = max(policy.resolution_seconds, req.resolve_remaining or 0)
            used = total - (req.resolve_remaining or 0)
        for pct in percents:
            offset = -(-total * pct // 100) - used  # ceiling: never before the percent
            if offset <= 0:
                continue
            at = clocks.add(now, offset, basis, cal, hours)
            if now < at < deadline:
                out.append(
                    {
                        "clock": name,
                        "pct": pct,
                        # the 催办 of §3.1 (the county's reminder_percent), not the 50% notice
                        "reminder": pct == reminder,
                        "at": at.isoformat(),
                        "deadline": deadline.isoformat(),
                    }
                )
    out.sort(key=lambda w: (_at(w), w["clock"], w["pct"]))
    return out


def do_warn(req: Request | int, *, now: datetime | None = None) -> Request:
    """The sweep gives the warnings that are due (50% / 80% of a clock) to the handler: one
    per clock (the highest level reached), recorded as notification rows whose idempotency
    keys make a second sweep's attempt a no-op. The request's version is not bumped: a
    warning changes nothing a person acts on, so it must not make their action a conflict."""
    from yishiting.notify import outbox
    from yishiting.notify import rules as notify_rules

    now = now or timezone.now()
    req = load_request(req)
    due_at = req.next_due_at
    if due_at is None or due_at > now:
        return req
    due = [w for w in req.warnings if _at(w) <= now]
    rest = [w for w in req.warnings if _at(w) > now]
    latest: dict[str, dict[str, Any]] = {}
    for w in due:
        if datetime.fromisoformat(w["deadline"]) > now and (
            w["clock"] not in latest or w["pct"] > latest[w["clock"]]["pct"]
        ):
            latest[w["clock"]] = w
    running = running_clocks(State(req.status), req.pending_review) | set(EXTRA_CLOCKS)
    pending = [
        d
        for n in running
        if n != "reopen_until" and (d := getattr(req, n)) is not None and d >= due_at
    ]
    next_due = min([*pending, *(_at(w) for w in rest)], default=None)
    # Outside the write lock: the reminders as the request is at this version (the guarded
    # update below writes nothing if it has moved on since).
    reminders = notify_rules.for_warnings(req, list(latest.values()), now)
    with transaction.atomic():
        updated = Request.objects.filter(pk=req.pk, version=req.version, next_due_at=due_at).update(
            warnings=rest, next_due_at=next_due
        )
        if updated != 1:
            raise ConflictError(_("诉求 %(id)s 已被他人修改，请刷新后再试") % {"id": req.pk})
        outbox.write(reminders, now=now, request_id=req.pk)
    req.warnings, req.next_due_at = rest, next_due
    return req


# --- the one write path -----------------------------------------------------------------------


def _commit(
    req: Request,
    verb: Verb,
    who: Actor | None,
    to: State,
    now: datetime,
    *,
    note: str = "",
    public: bool = True,
    change: Change | None = None,
    handled_through: datetime | None = None,
    supervise_by: datetime | None = None,
    extension_until: datetime | None = None,
    resolve_by: datetime | None = None,
) -> Request:
    change = change or Change()
    department = change.fields.get("department", req.department)
    pending = next_pending(
        verb,
        req.pending_review,
        to=to,
        rating=change.data.get("rating"),
        decision=change.data.get("decision"),
        part=change.on_part,
    )
    fields = _clock_fields(
        req,
        verb,
        to,
        now,
        department=department,
        handled_through=handled_through,
        supervise_by=supervise_by,
        extension_until=extension_until,
        resolve_by=resolve_by,
        pending=pending,
    )
    fields.update(change.fields)
    fields["status"] = to
    fields["pending_review"] = pending
    parts = _parts_after(req, verb, change, now)
    _part_clocks(req, fields, parts, change, now, handled_through)
    if who is not None and verb in RESPONSE_VERBS and req.first_responded_at is None:
        fields["first_responded_at"] = now
    saved: list[Attachment | Voice] = []
    before = copy.copy(req)
    event = Event(
        request_id=req.pk,
        seq=req.version + 1,
        verb=verb,
        actor=who.user if who else None,
        from_status=req.status,
        to_status=to,
        note=note,
        public=public,
        data=change.data,
        created_at=now,
    )
    try:
        # Before the write transaction: the photos' files, and the request as the event
        # leaves it (the row will hold exactly these values, so the instance is updated
        # rather than read back; the old values go back if the write does not commit), from
        # which the effects are worked out (they do not read the parts, held once written).
        photos = _store(change.photos, now, saved)
        for name, value in fields.items():
            setattr(req, name, value)
        req.version += 1
        req.updated_at = now
        planned = effects.plan(event, before, req)
        with transaction.atomic():
            updated = Request.objects.filter(pk=req.pk, version=before.version).update(
                version=req.version, updated_at=now, **fields
            )
            if updated != 1:
                raise ConflictError(_("诉求 %(id)s 已被他人修改，请刷新后再试") % {"id": req.pk})
            event.save(force_insert=True)
            _attach(req.pk, event, photos)
            _follow(req.pk, change.followers, now)
            for part in parts.changed:
                part.save()
            hold_parts(req, parts.all)
            effects.write(planned)
    except IntegrityError:
        _discard(saved)
        req.__dict__.update(before.__dict__)
        raise ConflictError(_("诉求 %(id)s 已被他人修改，请刷新后再试") % {"id": req.pk}) from None
    except BaseException:
        _discard(saved)
        req.__dict__.update(before.__dict__)
        raise
    return req


@dataclass
class _Parts:
    """A request's assisting parts as a verb leaves them, and those it changed."""

    all: list[Part]
    changed: list[Part]


def _parts_after(req: Request, verb: Verb, change: Change, now: datetime) -> _Parts:
    """The parts after `verb`: the verb's own changes, and every open part cancelled when the
    work leaves the departments or is dispatched anew (states.PART_CANCELLING)."""
    touched = {p.pk for p in change.parts if p.pk is not None}
    stored = [p for p in req.parts.all() if p.pk not in touched]
    changed = list(change.parts)
    if verb in PART_CANCELLING:
        for part in stored:
            if part.status in PART_OPEN:
                part.status = PartStatus.CANCELLED
                part.ended_at = now
                part.claim_by = part.resolve_by = None
                changed.append(part)
    return _Parts(stored + list(change.parts), changed)


def _part_clocks(
    req: Request,
    fields: dict[str, Any],
    parts: _Parts,
    change: Change,
    now: datetime,
    handled_through: datetime | None,
) -> None:
    """Fold the open parts' deadlines into the request's single sweep index (`next_due_at`)
    and its overdue flag, with the same acted-on rule as the request's own clocks."""
    due = list(change.part_due)
    late = False
    for part in parts.all:
        if part.status not in PART_OPEN:
            continue
        running = [getattr(part, n) for n in PART_DEADLINE_FIELDS if getattr(part, n)]
        for d in running:
            if handled_through is not None:
                if d > handled_through:
                    due.append(d)
            elif req.next_due_at is not None and d >= req.next_due_at:
                due.append(d)
        overdue = any(d <= now for d in running)
        late |= overdue
        if overdue != part.overdue:
            part.overdue = overdue
            if part not in parts.changed:
                parts.changed.append(part)
    if due:
        current = fields.get("next_due_at")
        fields["next_due_at"] = min([*due, *([current] if current else [])])
    fields["overdue"] = bool(fields.get("overdue")) or late


def part_clocks_due(req: Request, at: datetime) -> list[str]:
    """Names (`part:<department>:<clock>`) of the open parts' deadlines that fall at `at`, for
    the sweep's breach record."""
    out = []
    for part in Part.objects.filter(request_id=req.pk, status__in=PART_OPEN).select_related(
        "department"
    ):
        for name in sorted(PART_CLOCKS.get(PartStatus(part.status), ())):
            if getattr(part, name) == at:
                out.append(f"part:{part.department.code}:{name}")
    return out


def _store(
    photos: Iterable[Photo], now: datetime, saved: list[Attachment | Voice]
) -> list[Attachment]:
    """Write the photos' files (before the write transaction; `saved` lists them, for
    `_discard` if it does not commit)."""
    out = []
    for photo in photos:
        attachment = Attachment(
            content_type=photo.content_type,
            size=photo.content.size,
            width=photo.width,
            height=photo.height,
            sha256=photo.sha256,
            created_at=now,
        )
        attachment.file.save(photo.content.name or "photo.jpg", photo.content, save=False)
        saved.append(attachment)
        out.append(attachment)
    return out


def _attach(request_id: int, event: Event, attachments: list[Attachment]) -> None:
    """The rows of `_store`d photos, attached to their event (inside its transaction)."""
    for attachment in attachments:
        attachment.request_id = request_id
        attachment.event = event
        attachment.save()


def _discard(saved: list[Attachment | Voice]) -> None:
    """Remove files written by a transaction that did not commit."""
    for attachment in saved:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)


def _follow(request_id: int, followers: Iterable[tuple[int, str]], now: datetime) -> None:
    """Add followers in one statement; one who already follows keeps how they came to."""
    Follower.objects.bulk_create(
        [
            Follower(request_id=request_id, user_id=user_id, kind=kind, created_at=now)
            for user_id, kind in followers
        ],
        ignore_conflicts=True,
    )


# --- the verbs --------------------------------------------------------------------------------


def do_submit(
    *,
    actor: ActorArg,
    hall: Hall | str,
    text: str,
    title: str = "",
    category: Category | str | None = None,
    priority: str | None = None,
    anonymous: bool = False,
    reporter_name: str = "",
    reporter_phone: str = "",
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    channel: str = Channel.WEB,
    photos: Sequence[Upload] | None = None,
    voice: Upload | None = None,
    now: datetime | None = None,
    data: dict[str, Any] | None = None,
    submit_key: str | None = None,
) -> Request:
    """A resident raises a problem in a hall, or a liaison captures one on their behalf.
    `voice`: a voice message (语音留言) instead of, or beside, the text; handlers hear it.
    `data` adds public facts to the submit event (e.g. Open311's `media_url`).
    `submit_key`: stored with the request (see `do_submit_once`, the way to pass one)."""
    now = now or timezone.now()
    who = _actor(actor)
    hall = _hall(hall)
    if hall.kind in (HallKind.ASSIGNMENT, HallKind.COUNTY):
        raise InvalidError(_("议事厅：诉求应在村、社区等基层议事厅提出"))
    ratelimit.check_submit(hall.code, staff=bool(who and who.is_staff_member))
    clip = clean_voice(voice) if voice is not None else None
    text = (text or "").strip() or (VOICE_ONLY_TEXT if clip is not None else "")
    if not text:
        raise InvalidError(_("内容：请描述问题，或录一段语音"))
    if len(text) > MAX_TEXT:
        raise InvalidError(_("内容：最多 %(n)s 个字") % {"n": MAX_TEXT})
    title = (title or "").strip() or _title_from(text)
    if len(title) > 100:
        raise InvalidError(_("标题：最多 100 个字"))
    cat = _category(category)
    if priority is None:
        priority = cat.default_priority if cat else Priority.NORMAL
    if priority not in Priority.values:
        raise InvalidError(
            _("优先级：应为 %(values)s 之一") % {"values": ", ".join(Priority.values)}
        )
    if (lat is None) != (lng is None):
        raise InvalidError(_("位置：经度和纬度须同时给出"))
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):  # type: ignore[operator]
        raise InvalidError(_("位置：经纬度超出范围"))
    if len(address) > 200 or len(reporter_name) > 50 or len(reporter_phone) > 20:
        raise InvalidError(_("反映人或地址过长"))
    on_behalf = who is not None and (
        channel == Channel.CAPTURE
        or (who.handles_hall(hall) and bool(reporter_name or reporter_phone))
    )
    if channel == Channel.CAPTURE and not (who and who.handles_hall(hall)):
        raise ForbiddenError(_("只有本议事厅的联络员可以代群众登记诉求"))
    reporter = None if (who is None or on_behalf) else who.user
    if reporter is not None and not anonymous:
        reporter_name = reporter_name or reporter.display_name
        reporter_phone = reporter_phone or reporter.phone
    if anonymous:
        reporter_name = ""
    cleaned = _photos(photos)
    req = Request(
        hall=hall,
        origin_hall=hall,
        category=cat,
        department=None,
        priority=priority,
        title=title,
        text=text,
        status=State.SUBMITTED,
        channel=Channel.CAPTURE if on_behalf else channel,
        reporter=reporter,
        reporter_name=reporter_name.strip(),
        reporter_phone=reporter_phone.strip(),
        anonymous=anonymous,
        address=address.strip(),
        lat=lat,
        lng=lng,
        submit_key=submit_key,
        created_at=now,
        updated_at=now,
    )
    fields = _clock_fields(
        req, Verb.SUBMIT, State.SUBMITTED, now, department=None, handled_through=None
    )
    for name, value in fields.items():
        setattr(req, name, value)
    event = Event(
        seq=1,
        verb=Verb.SUBMIT,
        actor=who.user if who else None,
        to_status=State.SUBMITTED,
        data={
            **(data or {}),
            "hall": hall.code,
            "channel": req.channel,
            # The first-response deadline, for 响应率 (stats) and replay.
            "respond_by": req.respond_by.isoformat() if req.respond_by else None,
        },
        created_at=now,
    )
    saved: list[Attachment | Voice] = []
    try:
        # Before the write transaction: the files, and the effects (effects.plan).
        stored = _store(cleaned, now, saved)
        kept = None
        if clip is not None:
            kept = Voice(
                content_type=clip.content_type,
                size=clip.content.size,
                sha256=clip.sha256,
                created_at=now,
            )
            kept.file.save(clip.content.name or "voice", clip.content, save=False)
            saved.append(kept)
        # What the views would read back: no parts yet, and the voice just stored.
        hold_parts(req, [])
        Request.voice.related.set_cached_value(req, kept)
        planned = effects.plan(event, None, req)
        with transaction.atomic():
            req.save()
            event.request = req
            event.save(force_insert=True)
            _attach(req.pk, event, stored)
            if kept is not None:
                kept.request, kept.event = req, event
                kept.save()
            if reporter is not None:
                _follow(req.pk, [(reporter.pk, FollowerKind.REPORTER)], now)
            effects.write(planned)
    except BaseException:
        _discard(saved)
        raise
    return req


# An Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): what the client chose, in
# visible ASCII; a UUID is what clients send.
SUBMIT_KEY_MAX = 255


class SubmitKeyReused(InvalidError):
    """An idempotency key already used for a request with other content (422)."""


def submit_key(actor: Actor | None, key: str) -> str:
    """The stored form of a client's key: hashed with who sent it, so that one caller's key
    never finds another caller's request (anonymous callers share one scope)."""
    key = key.strip().strip('"')
    if not key or len(key) > SUBMIT_KEY_MAX or not all(" " < c <= "~" for c in key):
        raise InvalidError(
            _("Idempotency-Key：应为 1 到 %(n)s 个可见的 ASCII 字符（如 UUID）")
            % {"n": SUBMIT_KEY_MAX}
        )
    who = actor.user.pk if actor is not None else ""
    return hashlib.sha256(f"{who}\n{key}".encode()).hexdigest()


def do_submit_once(*, key: str | None, actor: ActorArg, **fields: Any) -> tuple[Request, bool]:
    """`do_submit` under the client's idempotency key: the first call files the request, a
    retry with the same key (after a lost answer, a double tap, a crash) gets that request
    back instead of a second one, even while the first is still committing. Returns (the
    request, whether it was filed by an earlier call). The same key with other content is
    refused (422) and changes nothing. No key (None): a plain `do_submit`."""
    who = _actor(actor)
    if key is None:
        return do_submit(actor=who, **fields), False
    digest = submit_key(who, key)
    earlier = Request.objects.filter(submit_key=digest).first()
    if earlier is None:
        try:
            return do_submit(actor=who, submit_key=digest, **fields), False
        except IntegrityError:
            # Another call with the key committed between the look-up and our insert.
            earlier = Request.objects.filter(submit_key=digest).first()
            if earlier is None:
                raise
    hall = fields.get("hall")
    code = hall.code if isinstance(hall, Hall) else hall
    text = (fields.get("text") or "").strip()
    if earlier.origin_hall.code != code or (text and text != earlier.text):
        raise SubmitKeyReused(_("Idempotency-Key：该键已用于另一条诉求，请换一个键"))
    return earlier, True


def _required(value: Any, name: str) -> Any:
    """A verb's required argument, checked after the actor's scope (403 before 422)."""
    if value in (None, ""):
        raise InvalidError(_("%(name)s：必填") % {"name": name})
    return value


def _title_from(text: str) -> str:
    first = text.splitlines()[0].strip()
    return first[:30] + ("…" if len(first) > 30 else "")


def _hall(hall: Hall | str) -> Hall:
    if isinstance(hall, Hall):
        return hall
    try:
        return Hall.objects.get(code=hall)
    except Hall.DoesNotExist:
        raise InvalidError(_("议事厅：没有编码为 %(code)r 的议事厅") % {"code": hall}) from None


def _category(category: Category | str | None) -> Category | None:
    if category is None or isinstance(category, Category):
        return category
    try:
        return Category.objects.get(code=category)
    except Category.DoesNotExist:
        raise InvalidError(_("类别：没有编码为 %(code)r 的类别") % {"code": category}) from None


def _department(code: Department | str, county_code: str) -> Department:
    department = (
        code
        if isinstance(code, Department)
        else Department.objects.select_related("county").filter(code=code).first()
    )
    if department is None:
        raise InvalidError(_("部门：没有编码为 %(code)r 的部门") % {"code": code})
    if department.county.code != county_code:
        raise InvalidError(_("部门：不是本县的部门"))
    return department


def _simple(
    verb: Verb,
    req: Request | int,
    actor: ActorArg,
    note: str,
    now: datetime | None,
    change: Change | None = None,
    photos: Sequence[Upload] | None = None,
    public: bool = True,
) -> Request:
    """Verbs that only move the state (and maybe attach photos)."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, verb, req, now, public=public)
    note = _note(note, verb)
    change = change or Change()
    change.photos = _photos(photos)
    return _commit(req, verb, who, to, now, note=note, change=change, public=public)


def do_acknowledge(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """The hall's liaison answers the resident (the 5-minute response)."""
    return _simple(Verb.ACKNOWLEDGE, req, actor, note, now)


def do_start(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """The hall handles it locally."""
    return _simple(Verb.START, req, actor, note, now)


def do_escalate(
    req: Request | int,
    *,
    actor: ActorArg,
    note: str = "",
    now: datetime | None = None,
    handled_through: datetime | None = None,
) -> Request:
    """Send it up the tree: to the parent hall, or from a township to the assignment hall."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.ESCALATE, req, now)
    up = escalation_target(req.hall)
    if up is None:
        raise IllegalTransitionError(_("交办厅已是最高一级，无处上报"))
    data: dict[str, Any] = {"hall": up.code, "from_hall": req.hall.code}
    if who is None:
        data["auto"] = True
    change = Change(fields={"hall": up}, data=data)
    return _commit(
        req,
        Verb.ESCALATE,
        who,
        to,
        now,
        note=_note(note, Verb.ESCALATE),
        change=change,
        handled_through=handled_through,
    )


def do_dispatch(
    req: Request | int,
    *,
    actor: ActorArg,
    department: Department | str | None,
    assisting: Sequence[Department | str] | None = None,
    category: Category | str | None = None,
    note: str = "",
    now: datetime | None = None,
    confidence: float | None = None,
) -> Request:
    """The assignment hall hands the request to a lead department (主办) and optionally to
    assisting ones (协办), each with its own claim clock. With no actor it is the routing
    model's automatic dispatch, which must say how sure it was (`confidence`)."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    if who is None and confidence is None:
        raise ForbiddenError("only the routing model dispatches without a person")
    to = _check(who, Verb.DISPATCH, req, now)
    department = _required(department, "department")
    dept = _department(department, req.hall.county_code)
    helpers = _assisting(assisting, dept, req.hall.county_code)
    fields: dict[str, Any] = {"department": dept, "dispatched_at": now}
    data: dict[str, Any] = {"department": dept.code, "from_hall_kind": req.hall.kind}
    if who is None:
        data["auto"] = True
        data["confidence"] = round(float(confidence or 0.0), 4)
    cat = _category(category)
    if cat is not None:
        fields["category"] = cat
        data["category"] = cat.code
    change = Change(fields=fields, data=data)
    if helpers:
        data["assisting"] = [d.code for d in helpers]
        policy = ClockPolicy.for_request(cat.pk if cat else req.category_id, req.priority)
        for helper in helpers:
            part = Part(request_id=req.pk, department=helper, dispatched_at=now)
            _start_part_clock(part, change, policy, now)
            change.parts.append(part)
    return _commit(req, Verb.DISPATCH, who, to, now, note=_note(note, Verb.DISPATCH), change=change)


def _assisting(
    codes: Sequence[Department | str] | None, lead: Department, county_code: str
) -> list[Department]:
    """The assisting departments of a dispatch: distinct, of this county, not the lead."""
    if codes is None:
        return []
    if isinstance(codes, str) or len(codes) > MAX_ASSISTING:
        raise InvalidError(_("协办部门：最多 %(n)s 个部门编码") % {"n": MAX_ASSISTING})
    out: list[Department] = []
    for code in codes:
        dept = _department(code, county_code)
        if dept.pk == lead.pk:
            raise InvalidError(_("协办部门：主办部门不能同时协办"))
        if any(d.pk == dept.pk for d in out):
            raise InvalidError(_("协办部门：%(code)s 重复") % {"code": dept.code})
        out.append(dept)
    return out


def _start_part_clock(part: Part, change: Change, policy: ClockPolicy, now: datetime) -> None:
    """Set the part's own deadline for its status (states.PART_CLOCKS), in its department's
    working hours."""
    cal = _calendar()
    hours = part.department.hours()
    part.claim_by = part.resolve_by = None
    status = PartStatus(part.status)
    if status == PartStatus.DISPATCHED:
        basis = clocks.Basis(policy.claim_basis)
        part.claim_by = clocks.add(now, policy.claim_seconds, basis, cal, hours)
        change.part_due.append(part.claim_by)
    elif status == PartStatus.CLAIMED:
        basis = clocks.Basis(policy.resolution_basis)
        part.resolve_by = clocks.add(now, policy.resolution_seconds, basis, cal, hours)
        change.part_due.append(part.resolve_by)
    _warn_unknown_years(cal)


def _part_change(
    req: Request, part: Part, verb: Verb, decision: str | None = None, **data: Any
) -> tuple[Change, PartStatus]:
    """The change a verb makes to one assisting part, and the part's new status (409 when the
    part's table refuses it)."""
    try:
        status = part_target(verb, part.status, decision)
    except IllegalTransition as exc:
        raise IllegalTransitionError(
            _("%(dept)s 的协办任务当前为“%(state)s”：%(why)s")
            % {
                "dept": part.department.name,
                "state": PART_STATUS_LABELS[PartStatus(part.status)],
                "why": exc,
            }
        ) from None
    code = part.department.code
    change = Change(
        data={"part": code, "role": "assisting", "department": code, **data},
        parts=[part],
        on_part=True,
    )
    return change, status


def _part_policy(req: Request) -> ClockPolicy:
    return ClockPolicy.for_request(req.category_id, req.priority)


def do_claim(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """The department takes the request on (签收): the lead the request, an assisting
    department its part (its resolution clock starts)."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    part = _acting_part(who, req)
    if part is None:
        return _simple(Verb.CLAIM, req, who, note, now)
    to = _check(who, Verb.CLAIM, req, now, part=True)
    change, part.status = _part_change(req, part, Verb.CLAIM)
    part.claimed_at = now
    _start_part_clock(part, change, _part_policy(req), now)
    return _commit(req, Verb.CLAIM, who, to, now, note=_note(note, Verb.CLAIM), change=change)


def _acting_part(who: Actor | None, req: Request) -> Part | None:
    """The part `who` acts on with claim / return: none for the lead's officers (they act on
    the request), else their department's assisting part."""
    if who is None or who.officer_of(req.department_id):
        return None
    return my_part(who, req)


def do_post_part(
    req: Request | int,
    *,
    actor: ActorArg,
    note: str,
    photos: Sequence[Upload] | None = None,
    now: datetime | None = None,
) -> Request:
    """An assisting department posts its part (协办反馈: a public note, optional photos);
    once every part is posted or waived the lead may resolve."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.POST_PART, req, now)
    assert who is not None
    part = my_part(who, req)
    assert part is not None  # can() found it
    change, part.status = _part_change(req, part, Verb.POST_PART)
    note = _note(note, Verb.POST_PART)
    change.photos = _photos(photos)
    part.claimed_at = part.claimed_at or now
    part.posted_at = part.ended_at = now
    part.claim_by = part.resolve_by = None
    return _commit(req, Verb.POST_PART, who, to, now, note=note, change=change)


def do_waive_part(
    req: Request | int,
    *,
    actor: ActorArg,
    department: Department | str | None,
    reason: str,
    now: datetime | None = None,
) -> Request:
    """The dispatcher waives an open assisting part (免除协办), with a public reason: the lead
    no longer waits for it."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.WAIVE_PART, req, now)
    assert who is not None
    code = _required(department, "department")
    code = code.code if isinstance(code, Department) else code
    part = (
        Part.objects.select_related("department")
        .filter(request_id=req.pk, department__code=code, status__in=PART_CURRENT)
        .order_by("-id")
        .first()
    )
    if part is None:
        raise IllegalTransitionError(
            _("%(code)s 在诉求 %(id)s 上没有协办任务") % {"code": code, "id": req.pk}
        )
    if not (reason or "").strip():
        raise InvalidError(_("免除协办：请填写公开的理由"))
    change, part.status = _part_change(req, part, Verb.WAIVE_PART)
    part.waived_at = part.ended_at = now
    part.waived_by = who.user
    part.claim_by = part.resolve_by = None
    return _commit(
        req, Verb.WAIVE_PART, who, to, now, note=_note(reason, Verb.WAIVE_PART), change=change
    )


def do_return(
    req: Request | int,
    *,
    actor: ActorArg,
    reason: str,
    reason_code: str | None = None,
    now: datetime | None = None,
) -> Request:
    """The department sends it back to the assignment hall (退单) for the dispatcher to
    review: only inside the return window, never again after an upheld return (§3.1)."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    part = _acting_part(who, req)
    to = _check(who, Verb.RETURN, req, now, part=part is not None)
    rules = CountyRules.for_county(req.hall.county_code)
    if part is not None:
        returning, since = part.department, part.dispatched_at
    else:
        assert req.department is not None  # dispatched or claimed: a department holds it
        returning, since = req.department, req.dispatched_at or req.created_at
    window_end = clocks.add(
        since,
        rules.return_window_days * 86400,
        clocks.Basis.WORKING_DAYS,
        _calendar(),
    )
    if now > window_end:
        raise IllegalTransitionError(
            _("退回期限（派单后 %(n)s 个工作日）已过") % {"n": rules.return_window_days}
        )
    if req.return_count >= rules.max_returns:
        raise IllegalTransitionError(
            _("已退回 %(n)s 次：此后由派单员直接指定") % {"n": req.return_count}
        )
    if _upheld(req, returning.code):
        raise IllegalTransitionError(_("本部门的退回已被驳回（维持原派），不能再次退回"))
    # The event names the returning department and the reason code (§5's monthly notice).
    if part is not None:
        change, part.status = _part_change(
            req, part, Verb.RETURN, returned_by=returning.code, reason_code=reason_code
        )
        part.claim_by = part.resolve_by = None
        change.fields["return_count"] = req.return_count + 1
    else:
        change = Change(
            fields={"department": None, "return_count": req.return_count + 1},
            data={
                "department": returning.code,
                "role": "lead",
                "returned_by": returning.code,
                "reason_code": reason_code,
            },
        )
    # The input is judged once the state allows a return at all (409 before 422, as for
    # every verb): a part that cannot be returned is refused as such whatever the reason.
    if reason_code not in set(ReturnReason):
        raise InvalidError(
            _("退回原因：应为 %(values)s 之一") % {"values": ", ".join(ReturnReason)}
        )
    note = _note(reason, Verb.RETURN)
    return _commit(req, Verb.RETURN, who, to, now, note=note, change=change)


def _upheld(req: Request, department_code: str) -> bool:
    """Whether the dispatcher upheld (驳回) a return of this request by that department."""
    return Event.objects.filter(
        request_id=req.pk,
        verb=Verb.REVIEW_RETURN,
        data__decision=ReturnDecision.UPHOLD,
        data__department=department_code,
    ).exists()


def _last_returned_by(req: Request) -> str:
    event = (
        Event.objects.filter(request_id=req.pk, verb=Verb.RETURN)
        .exclude(data__has_key="part")
        .order_by("-seq")
        .first()
    )
    assert event is not None
    return str(event.data["returned_by"])


def do_review_return(
    req: Request | int,
    *,
    actor: ActorArg,
    decision: str | None,
    department: Department | str | None = None,
    part: str | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Request:
    """The dispatcher reviews a return (派单异议审核): dispatch to another department, or
    uphold — back to the same department, which may not return it again. `part` names the
    assisting department whose returned part is reviewed (default: the lead's return, else
    the one returned part)."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    if not can(who, Verb.REVIEW_RETURN, req, now=now):
        raise ForbiddenError(
            _("您无权对诉求 %(id)s 执行“%(verb)s”")
            % {"id": req.pk, "verb": VERB_LABELS[Verb.REVIEW_RETURN]}
        )
    if decision not in set(ReturnDecision):
        raise InvalidError(_("决定：应为 %(values)s 之一") % {"values": ", ".join(ReturnDecision)})
    returned = _returned_part(req, part)
    if returned is not None:
        return _review_part_return(req, returned, who, decision, department, reason, now)
    to = _check(who, Verb.REVIEW_RETURN, req, now, decision=decision)
    returned_by = _last_returned_by(req)
    if decision == ReturnDecision.UPHOLD:
        department = returned_by
    dept = _department(_required(department, "department"), req.hall.county_code)
    busy = Part.objects.filter(request_id=req.pk, department=dept, status__in=PART_OPEN)
    if decision == ReturnDecision.REDISPATCH and busy.exists():
        raise InvalidError(_("部门：%(code)s 已在协办本诉求") % {"code": dept.code})
    change = Change(
        fields={"department": dept, "dispatched_at": now},
        data={
            "decision": decision,
            "department": dept.code,
            "returned_by": returned_by,
            "role": "lead",
            "from_hall_kind": req.hall.kind,
        },
    )
    return _commit(
        req, Verb.REVIEW_RETURN, who, to, now, note=_note(reason, Verb.REVIEW_RETURN), change=change
    )


def _returned_part(req: Request, code: str | None) -> Part | None:
    """The returned assisting part a review decides: the one named, or — when the lead's own
    return is not waiting — the only returned part."""
    parts = Part.objects.select_related("department").filter(
        request_id=req.pk, status=PartStatus.RETURNED
    )
    if code:
        found = parts.filter(department__code=code).first()
        if found is None:
            raise IllegalTransitionError(
                _("%(code)s 在诉求 %(id)s 上没有被退回的协办任务") % {"code": code, "id": req.pk}
            )
        return found
    if req.pending_review:
        return None
    found_parts = list(parts[:2])
    if len(found_parts) > 1:
        raise InvalidError(_("协办任务：有多个部门退回，请指明部门"))
    return found_parts[0] if found_parts else None


def _review_part_return(
    req: Request,
    part: Part,
    who: Actor | None,
    decision: str,
    department: Department | str | None,
    reason: str,
    now: datetime,
) -> Request:
    """review_return of an assisting part: uphold sends it back to the same department (its
    claim clock starts again); redispatch gives the part to another department."""
    to = _check(who, Verb.REVIEW_RETURN, req, now, decision=decision, part=True)
    code = part.department.code
    if decision == ReturnDecision.UPHOLD:
        dept = part.department
    else:
        dept = _department(_required(department, "department"), req.hall.county_code)
        busy = Part.objects.filter(request_id=req.pk, department=dept, status__in=PART_OPEN)
        # not the lead, nor the lead whose own return waits for review (an uphold brings it back)
        lead = req.department.code if req.department else None
        if req.pending_review == Pending.RETURN:
            lead = _last_returned_by(req)
        if dept.code == lead or busy.exists():
            raise InvalidError(_("部门：%(code)s 已在办理本诉求") % {"code": dept.code})
    change, part.status = _part_change(req, part, Verb.REVIEW_RETURN, decision, returned_by=code)
    change.data["decision"] = decision
    change.data["department"] = dept.code
    policy = _part_policy(req)
    if part.status == PartStatus.DISPATCHED:
        part.dispatched_at = now
        _start_part_clock(part, change, policy, now)
    else:
        part.ended_at = now
        part.claim_by = part.resolve_by = None
        new = Part(request_id=req.pk, department=dept, dispatched_at=now)
        _start_part_clock(new, change, policy, now)
        change.parts.append(new)
    return _commit(
        req, Verb.REVIEW_RETURN, who, to, now, note=_note(reason, Verb.REVIEW_RETURN), change=change
    )


def do_hand_down(
    req: Request | int,
    *,
    actor: ActorArg,
    hall: Hall | str | None,
    reason: str,
    now: datetime | None = None,
) -> Request:
    """The dispatcher hands a request down (下沉) to a township or village hall, with a
    public reason: the only way work leaves the assignment hall downwards."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.HAND_DOWN, req, now)
    down = _hall(_required(hall, "hall"))
    if down.county_code != req.hall.county_code or down.kind in (
        HallKind.ASSIGNMENT,
        HallKind.COUNTY,
    ):
        raise InvalidError(_("议事厅：应为本县的乡镇、村或其他基层议事厅"))
    if not (reason or "").strip():
        raise InvalidError(_("下派：请填写公开的理由"))
    change = Change(
        fields={"hall": down, "department": None},
        data={"hall": down.code, "from_hall_kind": req.hall.kind, "department": None},
    )
    return _commit(
        req, Verb.HAND_DOWN, who, to, now, note=_note(reason, Verb.HAND_DOWN), change=change
    )


def do_appeal(
    req: Request | int, *, actor: ActorArg, reason: str, now: datetime | None = None
) -> Request:
    """The handler asks (甄别申请) that a 不满意 be judged a demand that cannot lawfully be met."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.APPEAL, req, now)
    if not (reason or "").strip():
        raise InvalidError(_("申诉：请填写理由"))
    return _commit(req, Verb.APPEAL, who, to, now, note=_note(reason, Verb.APPEAL))


def do_review_rating(
    req: Request | int,
    *,
    actor: ActorArg,
    decision: str | None,
    until: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Request:
    """Review of a 不满意: redo (重办) with a new deadline, or approve / deny the appeal."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    if not can(who, Verb.REVIEW_RATING, req, now=now):
        raise ForbiddenError(
            _("您无权对诉求 %(id)s 执行“%(verb)s”")
            % {"id": req.pk, "verb": VERB_LABELS[Verb.REVIEW_RATING]}
        )
    if decision not in set(RatingDecision):
        raise InvalidError(_("决定：应为 %(values)s 之一") % {"values": ", ".join(RatingDecision)})
    to = _check(who, Verb.REVIEW_RATING, req, now, decision=decision)
    fields: dict[str, Any] = {}
    data: dict[str, Any] = {"decision": decision}
    new_deadline = None
    if decision == RatingDecision.REDO:
        new_deadline = _required(until, "until")
        if new_deadline.tzinfo is None or new_deadline <= now:
            raise InvalidError(_("截止时间：应为带时区的将来时间"))
        fields = {"rating": "", "rating_channel": "", "resolved_at": None}
        data["until"] = new_deadline.isoformat()
    elif not (reason or "").strip():
        raise InvalidError(_("评价审核：请填写公开的理由"))
    elif decision == RatingDecision.APPROVE_APPEAL:
        fields = {"appeal_approved": True, "closed_at": now}
    return _commit(
        req,
        Verb.REVIEW_RATING,
        who,
        to,
        now,
        note=_note(reason, Verb.REVIEW_RATING),
        change=Change(fields=fields, data=data),
        resolve_by=new_deadline,
    )


def do_visit(
    req: Request | int,
    *,
    actor: ActorArg,
    rating: str | None,
    channel: str | None,
    note: str = "",
    now: datetime | None = None,
) -> Request:
    """A return visit (回访): a liaison or dispatcher records the resident's rating given by
    phone or in person. The reporter's own rating, when given, wins."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.VISIT, req, now)
    if rating not in set(Rating):
        raise InvalidError(_("评价：应为 %(values)s 之一") % {"values": ", ".join(Rating)})
    if channel not in (RatingChannel.PHONE, RatingChannel.IN_PERSON):
        raise InvalidError(_("方式：应为 phone（电话）或 in_person（当面）"))
    if req.rating_channel == RatingChannel.SELF:
        raise IllegalTransitionError(_("反映人已亲自评价，以其评价为准"))
    change = Change(
        fields={"rating": rating, "rating_channel": channel},
        data={"rating": rating, "channel": channel},
    )
    return _commit(req, Verb.VISIT, who, to, now, note=_note(note, Verb.VISIT), change=change)


def do_hold(
    req: Request | int, *, actor: ActorArg, reason: str, now: datetime | None = None
) -> Request:
    """Pause the resolution clock (挂起), with a reason."""
    return _simple(Verb.HOLD, req, actor, reason, now)


def do_resume(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """Restart the resolution clock with the time that was left."""
    return _simple(Verb.RESUME, req, actor, note, now)


def do_extend(
    req: Request | int,
    *,
    actor: ActorArg,
    until: datetime | None,
    reason: str,
    now: datetime | None = None,
) -> Request:
    """The handler asks, before the deadline, for more time."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.EXTEND, req, now)
    until = _required(until, "until")
    if not reason.strip():
        raise InvalidError(_("延期：请填写理由"))
    if until.tzinfo is None:
        raise InvalidError(_("截止时间：请带上时区"))
    if req.resolve_by is None or until <= req.resolve_by:
        raise InvalidError(_("截止时间：须晚于当前期限"))
    if req.resolve_by <= now:
        raise InvalidError(_("延期：期限已过，须在到期前申请"))
    if req.extension_until is not None:
        raise InvalidError(_("延期：已有一个延期申请在等待审批"))
    return _commit(
        req,
        Verb.EXTEND,
        who,
        to,
        now,
        note=_note(reason, Verb.EXTEND),
        change=Change(data={"until": until.isoformat()}),
        extension_until=until,
    )


def _decide_extension(
    verb: Verb, req: Request | int, actor: ActorArg, note: str, now: datetime | None
) -> Request:
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, verb, req, now)
    if req.extension_until is None:
        raise IllegalTransitionError(_("没有待审批的延期申请"))
    data = {"until": req.extension_until.isoformat()}
    return _commit(req, verb, who, to, now, note=_note(note, verb), change=Change(data=data))


def do_approve_extension(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """Grant the requested extension: the resolution deadline moves."""
    return _decide_extension(Verb.APPROVE_EXTENSION, req, actor, note, now)


def do_deny_extension(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """Refuse the requested extension: the deadline stays."""
    return _decide_extension(Verb.DENY_EXTENSION, req, actor, note, now)


def do_resolve(
    req: Request | int,
    *,
    actor: ActorArg,
    note: str,
    photos: Sequence[Upload] | None = None,
    now: datetime | None = None,
) -> Request:
    """The handler reports the fix, with photo proof where the category needs it."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.RESOLVE, req, now)
    waiting = list(
        Part.objects.filter(request_id=req.pk, status__in=PART_OPEN)
        .order_by("id")
        .values_list("department__name", flat=True)
    )
    if waiting:
        raise IllegalTransitionError(
            _("各协办部门反馈或被免除后，主办部门才能办结；尚未完成：%(open)s")
            % {"open": "、".join(waiting)}
        )
    note = _note(note, Verb.RESOLVE)
    cleaned = _photos(photos)
    if req.category is not None and req.category.on_site and not cleaned:
        raise InvalidError(
            _("办结：“%(category)s”类须上传整改照片") % {"category": req.category.name}
        )
    late = req.resolve_by is not None and req.resolve_by < now
    change = Change(fields={"resolved_at": now}, data={"late": late}, photos=cleaned)
    return _commit(req, Verb.RESOLVE, who, to, now, note=note, change=change)


def do_rate(
    req: Request | int,
    *,
    actor: ActorArg,
    rating: str | None,
    comment: str = "",
    now: datetime | None = None,
) -> Request:
    """The reporter rates the fix; 不满意 waits for review instead of closing (§3.1)."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    if not can(who, Verb.RATE, req, now=now):
        raise ForbiddenError(
            _("您无权对诉求 %(id)s 执行“%(verb)s”") % {"id": req.pk, "verb": VERB_LABELS[Verb.RATE]}
        )
    if rating not in set(Rating):
        raise InvalidError(_("评价：应为 %(values)s 之一") % {"values": ", ".join(Rating)})
    to = _check(who, Verb.RATE, req, now, rating=Rating(rating))
    if req.rating_channel == RatingChannel.SELF:
        raise IllegalTransitionError(_("您已评价过"))
    comment = _note(comment, Verb.RATE)
    fields: dict[str, Any] = {
        "rating": rating,
        "rating_comment": comment[:500],
        "rating_channel": RatingChannel.SELF,
    }
    if to == State.CLOSED:
        fields["closed_at"] = now
    change = Change(fields=fields, data={"rating": rating})
    return _commit(req, Verb.RATE, who, to, now, note=comment, change=change)


def do_reopen(
    req: Request | int, *, actor: ActorArg, reason: str, now: datetime | None = None
) -> Request:
    """The reporter says the problem came back (反弹): back to its last handler."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.REOPEN, req, now)
    if req.status == State.CLOSED and (req.reopen_until is None or req.reopen_until < now):
        raise IllegalTransitionError(_("30 天重新办理期限已过"))
    change = Change(
        fields={
            "reopen_count": req.reopen_count + 1,
            "closed_at": None,
            "rating": "",
            "rating_channel": "",
        },
        data={"rebound": True},
    )
    return _commit(req, Verb.REOPEN, who, to, now, note=_note(reason, Verb.REOPEN), change=change)


def do_close(
    req: Request | int,
    *,
    now: datetime | None = None,
    handled_through: datetime | None = None,
) -> Request:
    """The rating window ended without a rating: closed as not rated."""
    now = now or timezone.now()
    req = load_request(req)
    to = _check(None, Verb.CLOSE, req, now)
    change = Change(fields={"closed_at": now}, data={"unrated": not req.rating})
    return _commit(req, Verb.CLOSE, None, to, now, change=change, handled_through=handled_through)


def do_reject(
    req: Request | int, *, actor: ActorArg, reason: str, now: datetime | None = None
) -> Request:
    """Not accepted (不予受理), with a public reason."""
    return _simple(Verb.REJECT, req, actor, reason, now)


def do_merge(
    req: Request | int,
    *,
    actor: ActorArg,
    into: Request | int | None,
    note: str = "",
    now: datetime | None = None,
) -> Request:
    """A duplicate joins its primary; its reporter follows the primary from now on."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.MERGE, req, now)
    into = _required(into, "into")
    try:
        primary = load_request(into.pk if isinstance(into, Request) else into)
    except NotFoundError:
        raise InvalidError(_("合并到：没有诉求 %(id)s") % {"id": into}) from None
    if primary.pk == req.pk:
        raise InvalidError(_("合并到：诉求不能合并到自身"))
    if primary.status not in OPEN and primary.status != State.RESOLVED:
        raise InvalidError(_("合并到：主诉求已不在办理中"))
    if primary.hall.county_code != req.hall.county_code:
        raise InvalidError(_("合并到：主诉求属于另一个县"))
    moved = list(req.followers.values_list("user_id", flat=True))
    if req.reporter_id and req.reporter_id not in moved:
        moved.append(req.reporter_id)
    change = Change(fields={"merged_into": primary}, data={"into": primary.pk})
    with transaction.atomic():
        result = _commit(req, Verb.MERGE, who, to, now, note=_note(note, Verb.MERGE), change=change)
        _follow(primary.pk, [(u, FollowerKind.MERGED) for u in moved], now)
    return result


def do_supervise(
    req: Request | int,
    *,
    actor: ActorArg,
    until: datetime | None,
    note: str = "",
    now: datetime | None = None,
) -> Request:
    """A supervision order (督办) with its own deadline."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.SUPERVISE, req, now)
    until = _required(until, "until")
    if until.tzinfo is None:
        raise InvalidError(_("截止时间：请带上时区"))
    if until <= now:
        raise InvalidError(_("截止时间：须为将来的时间"))
    return _commit(
        req,
        Verb.SUPERVISE,
        who,
        to,
        now,
        note=_note(note, Verb.SUPERVISE),
        change=Change(data={"until": until.isoformat()}),
        supervise_by=until,
    )


def _forward_target(to: str | None, county_code: str) -> tuple[str, Department | User]:
    """Whom a forward names: a department of the county by code, or one of its officers by
    username (422 otherwise)."""
    if not isinstance(to, str) or not to.strip() or len(to) > 150:
        raise InvalidError(_("转给：请填写用户名或部门编码"))
    to = to.strip()
    dept = Department.objects.select_related("county").filter(code=to).first()
    if dept is not None:
        if dept.county.code != county_code:
            raise InvalidError(_("转给：不是本县的部门"))
        return "department", dept
    membership = (
        Membership.objects.select_related("user", "department__county")
        .filter(user__username=to, user__is_active=True, role=Role.DEPARTMENT)
        .order_by("id")
    )
    for m in membership:
        if m.department is not None and m.department.county.code == county_code:
            return "officer", m.user
    raise InvalidError(_("转给：本县没有部门或部门工作人员 %(to)r") % {"to": to})


def do_forward(
    req: Request | int,
    *,
    actor: ActorArg,
    to: str | None,
    note: str = "",
    now: datetime | None = None,
) -> Request:
    """转办: the duty officer on shift (or a dispatcher) forwards the request to a named
    officer or a department, who are told at once; it stops the off-hours forward clock."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    state = _check(who, Verb.FORWARD, req, now)
    kind, target_ = _forward_target(to, req.hall.county_code)
    data: dict[str, Any] = {"to": to, "to_kind": kind, "from_hall_kind": req.hall.kind}
    if isinstance(target_, Department):
        data.update(to=target_.code, to_name=target_.name, to_department=target_.code)
    else:
        data.update(to=target_.username, to_name=str(target_))
        data["to_user"] = target_.pk
    note = _note(note, Verb.FORWARD)
    # Internal: it names officers, whom the public timeline never shows.
    change = Change(data=data)
    return _commit(req, Verb.FORWARD, who, state, now, note=note, public=False, change=change)


def do_comment(
    req: Request | int,
    *,
    actor: ActorArg,
    note: str,
    public: bool = True,
    photos: Sequence[Upload] | None = None,
    now: datetime | None = None,
) -> Request:
    """A public or internal comment."""
    if not (note or "").strip():
        raise InvalidError(_("留言：请写点内容"))
    return _simple(Verb.COMMENT, req, actor, note, now, photos=photos, public=public)


def do_cosign(
    req: Request | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Request:
    """我也遇到: a resident with the same problem follows this request instead of filing again."""
    now = now or timezone.now()
    req = load_request(req)
    who = _actor(actor)
    to = _check(who, Verb.COSIGN, req, now)
    assert who is not None
    if Follower.objects.filter(request=req, user=who.user).exists():
        raise IllegalTransitionError(_("您已关注此诉求"))
    change = Change(followers=[(who.user.pk, FollowerKind.COSIGNER)])
    return _commit(req, Verb.COSIGN, who, to, now, note=_note(note, Verb.COSIGN), change=change)


def do_breach(req: Request, *, clocks_due: list[str], now: datetime) -> Request:
    """The sweep records missed clocks (no state change): the request turns overdue."""
    to = _check(None, Verb.BREACH, req, now)
    change = Change(data={"clocks": clocks_due})
    return _commit(req, Verb.BREACH, None, to, now, change=change, handled_through=req.next_due_at)


VERB_ACTIONS: dict[Verb, Callable[..., Request]] = {
    Verb.ACKNOWLEDGE: do_acknowledge,
    Verb.START: do_start,
    Verb.ESCALATE: do_escalate,
    Verb.DISPATCH: do_dispatch,
    Verb.CLAIM: do_claim,
    Verb.RETURN: do_return,
    Verb.HOLD: do_hold,
    Verb.RESUME: do_resume,
    Verb.EXTEND: do_extend,
    Verb.APPROVE_EXTENSION: do_approve_extension,
    Verb.DENY_EXTENSION: do_deny_extension,
    Verb.RESOLVE: do_resolve,
    Verb.RATE: do_rate,
    Verb.REOPEN: do_reopen,
    Verb.REJECT: do_reject,
    Verb.MERGE: do_merge,
    Verb.SUPERVISE: do_supervise,
    Verb.COMMENT: do_comment,
    Verb.COSIGN: do_cosign,
    Verb.HAND_DOWN: do_hand_down,
    Verb.REVIEW_RETURN: do_review_return,
    Verb.APPEAL: do_appeal,
    Verb.REVIEW_RATING: do_review_rating,
    Verb.VISIT: do_visit,
    Verb.POST_PART: do_post_part,
    Verb.WAIVE_PART: do_waive_part,
    Verb.FORWARD: do_forward,
}

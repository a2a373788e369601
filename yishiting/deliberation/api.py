"""API v1 for deliberation (§7, §9): bodies, topics, meetings, projects, 四议两公开.

Thin HTTP over `actions`: every write is a `do_<verb>`; every refusal is the §7 error body.
Topics, meetings and projects are public (the hall's board); internal notes, the sign-in
token and non-public events only for the hall's officers.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from yishiting.api.schemas import ErrorOut
from yishiting.core.errors import InvalidError, NotFoundError, refuse_nul
from yishiting.deliberation import actions, exports, register, rules, states
from yishiting.deliberation.models import (
    Body,
    Comment,
    Event,
    Matter,
    Meeting,
    Project,
    Topic,
)
from yishiting.orgs.models import Hall
from yishiting.orgs.scope import Actor

router = Router(tags=["deliberation"])
ERRORS: dict[int, Any] = {c: ErrorOut for c in (400, 401, 403, 404, 409, 413, 422)}
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
PHOTOS = {"type": "array", "items": {"type": "string", "format": "binary"}}


def _who(request: HttpRequest) -> Actor:
    return Actor.of(request.user)  # type: ignore[arg-type]


def _hall_ref(hall: Hall) -> dict[str, str]:
    return {"code": hall.code, "name": hall.name, "kind": hall.kind}


def _read(
    request: HttpRequest, schema: type[Schema], lists: tuple[str, ...] = ()
) -> tuple[Any, list[Any]]:
    """The body as `schema`: JSON, or a multipart form (lists as repeated fields, `ballots`
    as a JSON string) with `photos` / `photo` files."""
    content_type = request.content_type or ""
    files: list[Any] = []
    if content_type.startswith("multipart/form-data"):
        raw: dict[str, Any] = {k: v for k, v in request.POST.items() if v != ""}
        for name in lists:
            if name in raw:
                raw[name] = request.POST.getlist(name)
        if "ballots" in raw:
            try:
                raw["ballots"] = json.loads(raw["ballots"])
            except json.JSONDecodeError:
                raise InvalidError(_("选票：应为 JSON 列表")) from None
        files = request.FILES.getlist("photos") + request.FILES.getlist("photo")
    else:
        try:
            raw = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidError(_("请求体：不是有效的 JSON")) from None
        except RecursionError:
            raise InvalidError(_("请求体：JSON 嵌套过深")) from None
        if not isinstance(raw, dict):
            raise InvalidError(_("请求体：应为 JSON 对象"))
    refuse_nul(raw)
    try:
        return schema.model_validate(raw), files
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidError(f"{loc}: {first['msg']}") from None


def _body_extra(schema: type[Schema], *, files: bool) -> dict[str, Any]:
    js = schema.model_json_schema()
    content: dict[str, Any] = {"application/json": {"schema": js}}
    if files:
        props = {
            **js.get("properties", {}),
            "photos": PHOTOS,
            "photo": {"type": "string", "format": "binary"},
        }
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": props}}
    return {"requestBody": {"content": content}}


def _hall_filter(code: str | None) -> Hall | None:
    if not code:
        return None
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        raise InvalidError(_("议事厅：没有编码为“%(code)s”的议事厅") % {"code": code})
    return hall


# --- bodies -----------------------------------------------------------------------------------


class FractionOut(Schema):
    fraction: str
    of: str
    strict: bool
    words: str


class BodyOut(Schema):
    id: int
    body: str
    name: str
    effective_from: date
    notice_days: int
    quorum: list[FractionOut]
    majority: FractionOut
    compel: list[FractionOut]
    convene_days: int
    callers: list[str]
    vote_unit: str
    proxies: bool
    source: str


def _fraction(f: rules.Fraction) -> dict[str, Any]:
    return {
        "fraction": f"{f.num}/{f.den}",
        "of": f.base.value,
        "strict": f.strict,
        "words": f.words(),
    }


def body_out(b: Body) -> dict[str, Any]:
    return {
        "id": b.pk,
        "body": b.kind,
        "name": rules.BODY_NAMES[rules.BodyKind(b.kind)],
        "effective_from": b.effective_from,
        "notice_days": b.notice_days,
        "quorum": [_fraction(q) for q in rules.quorums(b)],
        "majority": _fraction(rules.majority(b)),
        "compel": [_fraction(c) for c in rules.compels(b)],
        "convene_days": b.convene_days,
        "callers": [c.strip() for c in b.callers.split(",") if c.strip()],
        "vote_unit": b.vote_unit,
        "proxies": b.proxies,
        "source": b.source,
    }


@router.get("/bodies", response={200: list[BodyOut], **READ_ERRORS})
def bodies(
    request: HttpRequest, body: str | None = None, on: str | None = None
) -> list[dict[str, Any]]:
    """Every dated rule row (or, with `on` = YYYY-MM-DD, the rows in force on that date)."""
    day = None
    if on:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise InvalidError(_("%(name)s：日期格式为 2026-10-01") % {"name": "on"}) from None
    qs = Body.objects.all()
    if body:
        qs = qs.filter(kind=body)
    rows = list(qs)
    if day is not None:
        current: dict[str, Body] = {}
        for row in sorted(rows, key=lambda r: r.effective_from):
            if row.effective_from <= day:
                current[row.kind] = row
        rows = list(current.values())
    return [body_out(b) for b in rows]


# --- topics -----------------------------------------------------------------------------------


class ProgressOut(Schema):
    base: str
    fraction: str
    total: int
    count: int
    needed: int
    reached: bool


class CommentOut(Schema):
    id: int
    author: str
    stance: str
    text: str
    public: bool
    created_at: datetime


class EventOut(Schema):
    verb: str
    actor: str | None
    from_status: str
    to_status: str
    note: str
    data: dict[str, Any]
    photos: list[int]
    created_at: datetime


class TopicOut(Schema):
    id: int
    hall: dict[str, str]
    title: str
    text: str
    body: str
    status: str
    raised_as: str
    suggested: bool
    supporters: int
    households: int
    representatives: int
    progress: list[ProgressOut]
    requests: list[int]
    meetings: list[int]
    compelled_at: datetime | None
    created_at: datetime
    supported: bool
    verbs: list[str]


class TopicDetailOut(TopicOut):
    comments: list[CommentOut]
    events: list[EventOut]


def _name(user: Any) -> str:
    return str(user) if user is not None else ""


def _event_out(e: Event) -> dict[str, Any]:
    return {
        "verb": e.verb,
        "actor": _name(e.actor) if e.actor_id else None,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "note": e.note,
        "data": e.data,
        "photos": [p.pk for p in e.photos.all()],
        "created_at": e.created_at,
    }


def _events(qs: Any, full: bool) -> list[dict[str, Any]]:
    qs = qs.select_related("actor").prefetch_related("photos").order_by("id")
    if not full:
        qs = qs.filter(public=True)
    return [_event_out(e) for e in qs]


def topic_out(t: Topic, who: Actor, *, detail: bool = False) -> dict[str, Any]:
    today = timezone.localdate()
    resident = register.resident_of(who.user.pk, t.hall)
    out: dict[str, Any] = {
        "id": t.pk,
        "hall": _hall_ref(t.hall),
        "title": t.title,
        "text": t.text,
        "body": t.body,
        "status": t.status,
        "raised_as": t.raised_as,
        "suggested": t.suggested,
        "supporters": t.supporters,
        "households": t.supporting_households,
        "representatives": t.supporting_representatives,
        "progress": actions.progress(t, today) if detail else [],
        "requests": sorted(t.requests.values_list("pk", flat=True)),
        "meetings": sorted(t.meetings.values_list("pk", flat=True)),
        "compelled_at": t.compelled_at,
        "created_at": t.created_at,
        "supported": resident is not None and t.supports.filter(resident=resident).exists(),
        "verbs": states.allowed("topic", t.status),
    }
    if detail:
        full = register.sees_internal(who, t.hall)
        comments = Comment.objects.filter(topic=t).select_related("author").order_by("id")
        if not full:
            comments = comments.filter(public=True)
        out["comments"] = [
            {
                "id": c.pk,
                "author": _name(c.author),
                "stance": c.stance,
                "text": c.text,
                "public": c.public,
                "created_at": c.created_at,
            }
            for c in comments
        ]
        out["events"] = _events(t.events.all(), full)
    return out


class TopicIn(Schema):
    hall: str = Field(max_length=32)
    title: str = Field(max_length=100)
    text: str = Field(max_length=4000)
    body: str | None = Field(None, max_length=32, json_schema_extra={"enum": list(rules.BodyKind)})
    requests: list[int] = Field(default_factory=list, max_length=50)
    suggested: bool = False


@router.get("/topics", response={200: list[TopicOut], **READ_ERRORS})
def topics(
    request: HttpRequest, hall: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Topics (newest first), of a hall's subtree and in a status if asked; at most 200."""
    who = _who(request)
    qs = Topic.objects.select_related("hall")
    h = _hall_filter(hall)
    if h is not None:
        qs = qs.filter(hall__path__startswith=h.path)
    if status:
        qs = qs.filter(status=status)
    return [topic_out(t, who) for t in qs[:200]]


@router.get("/topics/suggestions", response={200: list[dict[str, Any]], **READ_ERRORS})
def topic_suggestions(request: HttpRequest, hall: str) -> list[dict[str, Any]]:
    """Suggested topics: 3 or more similar requests of the hall within 30 days."""
    h = _hall_filter(hall)
    if h is None:
        raise InvalidError(_("%(name)s：必填") % {"name": _("议事厅")})
    return actions.suggestions(h, timezone.now())


@router.post(
    "/topics",
    response={201: TopicDetailOut, **ERRORS},
    openapi_extra=_body_extra(TopicIn, files=True),
)
def create_topic(request: HttpRequest) -> Status:
    """Raise a topic in a hall (JSON, or multipart with `photos`)."""
    who = _who(request)
    body, files = _read(request, TopicIn, lists=("requests",))
    topic = actions.do_raise_topic(
        actor=who,
        hall=body.hall,
        title=body.title,
        text=body.text,
        body=body.body,
        requests=body.requests,
        photos=files,
        suggested=body.suggested,
    )
    return Status(201, topic_out(topic, who, detail=True))


@router.get("/topics/{topic_id}", response={200: TopicDetailOut, **READ_ERRORS})
def topic(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    """One topic: progress toward the compel fractions, comments (internal ones for
    officers), linked requests, its meetings and its events."""
    return topic_out(actions.load_topic(topic_id), _who(request), detail=True)


class TopicVerbIn(Schema):
    text: str | None = Field(None, max_length=2000, description="comment")
    stance: str | None = Field(
        None, max_length=16, json_schema_extra={"enum": ["for", "against", "neutral"]}
    )
    public: bool = True
    request: int | None = Field(None, description="link: a request of the hall")
    note: str | None = Field(None, max_length=2000)


class SupportOut(TopicDetailOut):
    compelled_meeting: int | None = None


@router.post(
    "/topics/{topic_id}/{verb}",
    response={200: SupportOut, **ERRORS},
    openapi_extra=_body_extra(TopicVerbIn, files=True),
)
def topic_verb(request: HttpRequest, topic_id: int, verb: str) -> dict[str, Any]:
    """`support` (a verified resident, once), `comment` (`text`, `stance`, `public`,
    optional `photos`), `link` (`request`), `withdraw`."""
    who = _who(request)
    if verb not in ("support", "comment", "link", "withdraw"):
        raise NotFoundError(_("没有“%(verb)s”这项操作") % {"verb": verb})
    body, files = _read(request, TopicVerbIn)
    compelled = None
    match verb:
        case "support":
            _t, meeting = actions.do_support(topic_id, actor=who)
            compelled = meeting.pk if meeting else None
        case "comment":
            actions.do_comment(
                topic_id, actor=who, text=body.text or "", stance=body.stance or "neutral",
                public=body.public, photos=files,
            )  # fmt: skip
        case "link":
            if body.request is None:
                raise InvalidError(_("%(name)s：必填") % {"name": _("诉求")})
            actions.do_link_request(topic_id, actor=who, request=body.request)
        case _:
            actions.do_withdraw_topic(topic_id, actor=who, note=body.note or "")
    out = topic_out(actions.load_topic(topic_id), who, detail=True)
    return {**out, "compelled_meeting": compelled}


# --- meetings ---------------------------------------------------------------------------------


class ResolutionOut(Schema):
    roster_size: int
    present: int
    yes: int
    no: int
    abstain: int
    quorum_met: bool
    passed: bool
    rule: BodyOut
    text: str
    dissent: str
    failures: list[str]
    counts: dict[str, Any]
    closed_at: datetime
    publish_by: datetime | None
    published_at: datetime | None


class MeetingOut(Schema):
    id: int
    hall: dict[str, str]
    body: str
    purpose: str
    title: str
    motion: str
    preread: str
    place: str
    starts_at: datetime
    status: str
    topics: list[int]
    project: int | None
    compelled_by: int | None
    convene_by: datetime | None
    urgent: bool
    urgent_reason: str
    notified_at: datetime | None
    rule: BodyOut | None
    attendance: int
    ballots: int
    late: bool
    resolution: ResolutionOut | None
    sign_in_token: str | None
    voted: bool
    verbs: list[str]


class MeetingDetailOut(MeetingOut):
    events: list[EventOut]


def meeting_out(m: Meeting, who: Actor, *, detail: bool = False) -> dict[str, Any]:
    officer = register.is_officer(who, m.hall)
    resolution = None
    if m.status == "closed" and m.rule is not None:
        resolution = {
            "roster_size": m.roster_size or 0,
            "present": m.present or 0,
            "yes": m.yes or 0,
            "no": m.no or 0,
            "abstain": m.abstain or 0,
            "quorum_met": bool(m.quorum_met),
            "passed": bool(m.passed),
            "rule": body_out(m.rule),
            "text": m.resolution,
            "dissent": m.dissent,
            "failures": list(m.counts.get("failures", [])),
            "counts": {k: v for k, v in m.counts.items() if k != "failures"},
            "closed_at": m.closed_at,
            "publish_by": m.publish_by,
            "published_at": m.published_at,
        }
    mine = register.resident_of(who.user.pk, m.hall)
    voted = mine is not None and m.ballots.filter(resident=mine).exists()
    out = {
        "id": m.pk,
        "hall": _hall_ref(m.hall),
        "body": m.body,
        "purpose": m.purpose,
        "title": m.title,
        "motion": m.motion,
        "preread": m.preread,
        "place": m.place,
        "starts_at": m.starts_at,
        "status": m.status,
        "topics": sorted(m.topics.values_list("pk", flat=True)),
        "project": m.project_id,
        "compelled_by": m.compelled_by_id,
        "convene_by": m.convene_by,
        "urgent": m.urgent,
        "urgent_reason": m.urgent_reason,
        "notified_at": m.notified_at,
        "rule": body_out(m.rule) if m.rule else None,
        "attendance": m.attendance.count(),
        "ballots": m.ballots.count(),
        "late": m.late,
        "resolution": resolution,
        "sign_in_token": m.sign_in_token if officer else None,
        "voted": voted,
        "verbs": states.allowed("meeting", m.status)
        if officer
        else [v for v in states.allowed("meeting", m.status) if v in ("sign_in", "vote")],
    }
    if detail:
        out["events"] = _events(m.events.all(), officer or who.leads(m.hall))
    return out


class MeetingIn(Schema):
    hall: str = Field(max_length=32)
    title: str = Field(max_length=100)
    starts_at: datetime
    body: str | None = Field(None, max_length=32, json_schema_extra={"enum": list(rules.BodyKind)})
    topics: list[int] = Field(default_factory=list, max_length=50)
    motion: str = Field("", max_length=4000)
    preread: str = Field("", max_length=4000)
    place: str = Field("", max_length=200)


@router.get("/meetings", response={200: list[MeetingOut], **READ_ERRORS})
def meetings(
    request: HttpRequest,
    hall: str | None = None,
    status: str | None = None,
    late: bool | None = None,
) -> list[dict[str, Any]]:
    """Meetings (latest first) of a hall's subtree; `late=true` lists those a township must
    chase (a convene or publicity clock missed). At most 200."""
    who = _who(request)
    qs = Meeting.objects.select_related("hall", "rule")
    h = _hall_filter(hall)
    if h is not None:
        qs = qs.filter(hall__path__startswith=h.path)
    if status:
        qs = qs.filter(status=status)
    if late is not None:
        qs = qs.filter(late=late)
    return [meeting_out(m, who) for m in qs[:200]]


@router.post("/meetings", response={201: MeetingDetailOut, **ERRORS})
def create_meeting(request: HttpRequest, payload: MeetingIn) -> Status:
    """Call a meeting (a draft: set its agenda, then `notify`)."""
    who = _who(request)
    m = actions.do_create_meeting(
        actor=who,
        hall=payload.hall,
        title=payload.title,
        starts_at=payload.starts_at,
        body=payload.body,
        topics=payload.topics,
        motion=payload.motion,
        preread=payload.preread,
        place=payload.place,
    )
    return Status(201, meeting_out(actions.load_meeting(m.pk), who, detail=True))


@router.get("/meetings/{meeting_id}", response={200: MeetingDetailOut, **READ_ERRORS})
def meeting(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    """One meeting with its resolution once closed."""
    return meeting_out(actions.load_meeting(meeting_id), _who(request), detail=True)


class BallotIn(Schema):
    resident: int
    choice: str = Field(max_length=8, json_schema_extra={"enum": ["yes", "no", "abstain"]})
    proxy_for: int | None = None


class MeetingVerbIn(Schema):
    token: str | None = Field(None, max_length=64, description="sign_in: the QR code's token")
    resident: int | None = Field(None, description="sign_in by an officer: the member")
    proxy_for: int | None = Field(None, description="sign_in, vote: the household represented")
    choice: str | None = Field(
        None, max_length=8, json_schema_extra={"enum": ["yes", "no", "abstain"]}
    )
    ballots: list[BallotIn] = Field(default_factory=list, description="tally: the sheet's votes")
    urgent: bool = False
    reason: str | None = Field(None, max_length=500)
    resolution: str | None = Field(None, max_length=4000)
    dissent: str | None = Field(None, max_length=4000)
    passed: bool | None = None
    note: str | None = Field(None, max_length=2000)
    starts_at: datetime | None = None
    title: str | None = Field(None, max_length=100)
    motion: str | None = Field(None, max_length=4000)
    preread: str | None = Field(None, max_length=4000)
    place: str | None = Field(None, max_length=200)
    topics: list[int] = Field(default_factory=list, max_length=50)


MEETING_VERBS = (
    "agenda",
    "notify",
    "open",
    "sign_in",
    "vote",
    "tally",
    "close",
    "publish",
    "cancel",
)


@router.post(
    "/meetings/{meeting_id}/{verb}",
    response={200: MeetingDetailOut, **ERRORS},
    openapi_extra=_body_extra(MeetingVerbIn, files=True),
)
def meeting_verb(request: HttpRequest, meeting_id: int, verb: str) -> dict[str, Any]:
    """`agenda`, `notify` (`urgent`, `reason`), `open`, `sign_in` (`token`, or `resident` by
    an officer; `proxy_for`), `vote` (`choice`, `proxy_for`), `tally` (multipart: `ballots`
    as JSON and the sheet's `photo`), `close` (`resolution`, `dissent`, `passed`),
    `publish`, `cancel` (`reason`)."""
    who = _who(request)
    if verb not in MEETING_VERBS:
        raise NotFoundError(_("没有“%(verb)s”这项操作") % {"verb": verb})
    body, files = _read(request, MeetingVerbIn, lists=("topics",))
    actions.load_meeting(meeting_id)
    match verb:
        case "agenda":
            actions.do_agenda(
                meeting_id, actor=who, starts_at=body.starts_at, title=body.title,
                motion=body.motion, preread=body.preread, place=body.place, topics=body.topics,
            )  # fmt: skip
        case "notify":
            actions.do_notify(meeting_id, actor=who, urgent=body.urgent, reason=body.reason or "")
        case "open":
            actions.do_open(meeting_id, actor=who)
        case "sign_in":
            actions.do_sign_in(
                meeting_id, actor=who, token=body.token, resident=body.resident,
                proxy_for=body.proxy_for,
            )  # fmt: skip
        case "vote":
            actions.do_vote(
                meeting_id, actor=who, choice=body.choice or "", proxy_for=body.proxy_for
            )
        case "tally":
            actions.do_tally(
                meeting_id, actor=who, ballots=[b.model_dump() for b in body.ballots],
                photo=files[0] if files else None,
            )  # fmt: skip
        case "close":
            actions.do_close(
                meeting_id, actor=who, resolution=body.resolution or "",
                dissent=body.dissent or "", passed=body.passed,
            )  # fmt: skip
        case "publish":
            actions.do_publish(meeting_id, actor=who, note=body.note or "")
        case _:
            actions.do_cancel(meeting_id, actor=who, reason=body.reason or "")
    return meeting_out(actions.load_meeting(meeting_id), who, detail=True)


# --- projects ---------------------------------------------------------------------------------


class MilestoneOut(Schema):
    id: int
    title: str
    due_on: date | None
    done_at: datetime | None
    cost: str
    note: str
    photos: list[int]


class ProjectRequestOut(Schema):
    id: int
    number: str
    title: str
    status: str
    department: str | None


class AcceptanceOut(Schema):
    meeting: int
    status: str
    yes: int | None
    no: int | None
    passed: bool | None


class ProjectOut(Schema):
    id: int
    hall: dict[str, str]
    meeting: int
    title: str
    status: str
    progress: int
    cost: str
    milestones: list[MilestoneOut]
    requests: list[ProjectRequestOut]
    acceptance: AcceptanceOut | None
    reopen_count: int
    done_at: datetime | None
    publish_by: datetime | None
    published_at: datetime | None
    late: bool
    following: bool
    verbs: list[str]


class ProjectDetailOut(ProjectOut):
    events: list[EventOut]


def project_out(p: Project, who: Actor, *, detail: bool = False) -> dict[str, Any]:
    photos: dict[int, list[int]] = {}
    for e in p.events.filter(verb="complete_milestone").prefetch_related("photos"):
        photos.setdefault(int(e.data.get("milestone", 0)), []).extend(x.pk for x in e.photos.all())
    milestones = list(p.milestones.all())
    last = p.acceptance_meetings.order_by("-id").first()
    out = {
        "id": p.pk,
        "hall": _hall_ref(p.hall),
        "meeting": p.meeting_id,
        "title": p.title,
        "status": p.status,
        "progress": p.progress,
        "cost": str(sum((m.cost for m in milestones), start=0)),
        "milestones": [
            {
                "id": m.pk,
                "title": m.title,
                "due_on": m.due_on,
                "done_at": m.done_at,
                "cost": str(m.cost),
                "note": m.note,
                "photos": photos.get(m.pk, []),
            }
            for m in milestones
        ],
        "requests": [
            {
                "id": r.pk,
                "number": r.number,
                "title": r.title,
                "status": r.status,
                "department": r.department.code if r.department else None,
            }
            for r in p.requests.select_related("department").order_by("id")
        ],
        "acceptance": None
        if last is None
        else {
            "meeting": last.pk,
            "status": last.status,
            "yes": last.yes,
            "no": last.no,
            "passed": last.passed,
        },
        "reopen_count": p.reopen_count,
        "done_at": p.done_at,
        "publish_by": p.publish_by,
        "published_at": p.published_at,
        "late": p.late,
        "following": p.followers.filter(pk=who.user.pk).exists(),
        "verbs": states.allowed("project", p.status),
    }
    if detail:
        out["events"] = _events(p.events.all(), register.sees_internal(who, p.hall))
    return out


class ProjectIn(Schema):
    meeting: int
    title: str = Field("", max_length=100)


@router.get("/projects", response={200: list[ProjectOut], **READ_ERRORS})
def projects(
    request: HttpRequest, hall: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Projects (newest first) of a hall's subtree; at most 200."""
    who = _who(request)
    qs = Project.objects.select_related("hall")
    h = _hall_filter(hall)
    if h is not None:
        qs = qs.filter(hall__path__startswith=h.path)
    if status:
        qs = qs.filter(status=status)
    return [project_out(p, who) for p in qs[:200]]


@router.post("/projects", response={201: ProjectDetailOut, **ERRORS})
def create_project(request: HttpRequest, payload: ProjectIn) -> Status:
    """An adopted resolution becomes a project."""
    who = _who(request)
    p = actions.do_create_project(actor=who, meeting=payload.meeting, title=payload.title)
    return Status(201, project_out(p, who, detail=True))


@router.get("/projects/{project_id}", response={200: ProjectDetailOut, **READ_ERRORS})
def project(request: HttpRequest, project_id: int) -> dict[str, Any]:
    """One project: milestones, requests, acceptance, status and its trail."""
    return project_out(actions.load_project(project_id), _who(request), detail=True)


class ProjectVerbIn(Schema):
    title: str | None = Field(None, max_length=100)
    due_on: date | None = None
    cost: str | None = Field(None, max_length=20)
    note: str | None = Field(None, max_length=2000)
    milestone: int | None = None
    text: str | None = Field(None, max_length=4000, description="add_request: the request's text")
    category: str | None = Field(None, max_length=32)


PROJECT_VERBS = (
    "milestone",
    "complete_milestone",
    "add_request",
    "start_acceptance",
    "publish",
    "follow",
)


@router.post(
    "/projects/{project_id}/{verb}",
    response={200: ProjectDetailOut, **ERRORS},
    openapi_extra=_body_extra(ProjectVerbIn, files=True),
)
def project_verb(request: HttpRequest, project_id: int, verb: str) -> dict[str, Any]:
    """`milestone` (`title`, `due_on`, `cost`), `complete_milestone` (`milestone`, `photos`,
    `cost`, `note`), `add_request` (`text`, `title`, `category`: a real request in the
    hall), `start_acceptance`, `publish` (the results), `follow`."""
    who = _who(request)
    if verb not in PROJECT_VERBS:
        raise NotFoundError(_("没有“%(verb)s”这项操作") % {"verb": verb})
    body, files = _read(request, ProjectVerbIn)
    actions.load_project(project_id)
    match verb:
        case "milestone":
            actions.do_add_milestone(
                project_id, actor=who, title=body.title or "", due_on=body.due_on,
                cost=body.cost, note=body.note or "",
            )  # fmt: skip
        case "complete_milestone":
            if body.milestone is None:
                raise InvalidError(_("%(name)s：必填") % {"name": _("项目节点")})
            actions.do_complete_milestone(
                project_id, actor=who, milestone=body.milestone, photos=files,
                cost=body.cost, note=body.note or "",
            )  # fmt: skip
        case "add_request":
            actions.do_add_request(
                project_id, actor=who, text=body.text or "", title=body.title or "",
                category=body.category,
            )  # fmt: skip
        case "start_acceptance":
            actions.do_start_acceptance(project_id, actor=who, title=body.title or "")
        case "publish":
            actions.do_publish_results(project_id, actor=who, note=body.note or "")
        case _:
            actions.do_follow(project_id, actor=who)
    return project_out(actions.load_project(project_id), who, detail=True)


# --- 四议两公开 -------------------------------------------------------------------------------


class StepOut(Schema):
    step: str
    name: str
    held_on: date
    attendance: int
    signatures: list[str]
    note: str
    meeting: int | None


class MatterOut(Schema):
    id: int
    hall: dict[str, str]
    title: str
    topic: int | None
    steps: list[StepOut]
    next_step: str | None


def matter_out(m: Matter) -> dict[str, Any]:
    names = dict(states.STEPS)
    steps = list(m.steps.order_by("id"))
    return {
        "id": m.pk,
        "hall": _hall_ref(m.hall),
        "title": m.title,
        "topic": m.topic_id,
        "steps": [
            {
                "step": s.step,
                "name": names[s.step],
                "held_on": s.held_on,
                "attendance": s.attendance,
                "signatures": [x for x in s.signatures.split("，") if x],
                "note": s.note,
                "meeting": s.meeting_id,
            }
            for s in steps
        ],
        "next_step": states.next_step([s.step for s in steps]),
    }


class MatterIn(Schema):
    hall: str = Field(max_length=32)
    title: str = Field(max_length=100)
    topic: int | None = None


STEP_ENUM: list[Any] = list(states.STEP_CODES)


class StepIn(Schema):
    step: str = Field(max_length=24, json_schema_extra={"enum": STEP_ENUM})
    held_on: date
    attendance: int = Field(ge=0, le=1_000_000)
    signatures: list[str] = Field(max_length=5000)
    note: str = Field("", max_length=2000)
    meeting: int | None = None


@router.get("/matters", response={200: list[MatterOut], **READ_ERRORS})
def matters(request: HttpRequest, hall: str | None = None) -> list[dict[str, Any]]:
    """四议两公开 records of a hall's subtree (newest first, at most 200)."""
    qs = Matter.objects.select_related("hall")
    h = _hall_filter(hall)
    if h is not None:
        qs = qs.filter(hall__path__startswith=h.path)
    return [matter_out(m) for m in qs[:200]]


@router.post("/matters", response={201: MatterOut, **ERRORS})
def create_matter(request: HttpRequest, payload: MatterIn) -> Status:
    """Open the 四议两公开 record of a village's major matter."""
    m = actions.do_create_matter(
        actor=_who(request), hall=payload.hall, title=payload.title, topic=payload.topic
    )
    return Status(201, matter_out(m))


@router.get("/matters/{matter_id}", response={200: MatterOut, **READ_ERRORS})
def matter(request: HttpRequest, matter_id: int) -> dict[str, Any]:
    """One matter and its recorded steps."""
    return matter_out(actions.load_matter(matter_id))


@router.post("/matters/{matter_id}/steps", response={200: MatterOut, **ERRORS})
def record_step(request: HttpRequest, matter_id: int, payload: StepIn) -> dict[str, Any]:
    """Record the next step (in order) with its date, attendance and signatures."""
    actions.do_record_step(
        matter_id, actor=_who(request), step=payload.step, held_on=payload.held_on,
        attendance=payload.attendance, signatures=payload.signatures, note=payload.note,
        meeting=payload.meeting,
    )  # fmt: skip
    return matter_out(actions.load_matter(matter_id))


@router.get(
    "/matters/{matter_id}/export",
    response={200: None, **READ_ERRORS},
    openapi_extra={
        "responses": {
            "200": {
                "description": "the filled forms: .xlsx (format=xlsx) or PDF (format=pdf)",
                "content": {
                    exports.XLSX: {"schema": {"type": "string", "format": "binary"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def export_matter(request: HttpRequest, matter_id: int, format: str = "xlsx") -> FileResponse:
    """The 四议两公开 forms of one matter for the township, as .xlsx or PDF."""
    m = actions.load_matter(matter_id)
    if format not in ("xlsx", "pdf"):
        raise InvalidError(_("格式只能是 xlsx 或 pdf"))
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    if format == "xlsx":
        exports.write_xlsx(m, out)
        content_type = exports.XLSX
    else:
        exports.write_pdf(m, out)
        content_type = "application/pdf"
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=f"四议两公开-{m.pk}.{format}", content_type=content_type
    )


@router.get("/deliberation/photos/{photo_id}", response={200: None, **READ_ERRORS})
def photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """A deliberation photo (internal events' photos only for the hall's officers)."""
    from yishiting.deliberation.models import Photo

    p = (
        Photo.objects.select_related(
            "event__topic__hall", "event__meeting__hall", "event__project__hall"
        )
        .filter(pk=photo_id)
        .first()
    )
    if p is None:
        raise NotFoundError(_("没有这张照片"))
    owner = p.event.topic or p.event.meeting or p.event.project
    if not p.event.public and (
        owner is None or not register.sees_internal(_who(request), owner.hall)
    ):
        raise NotFoundError(_("没有这张照片"))
    return FileResponse(p.file.open("rb"), content_type=p.content_type)

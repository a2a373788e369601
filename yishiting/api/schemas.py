"""API v1 shapes (§7): what goes in and out, and the one place a request becomes JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from yishiting.core.masking import mask_name, mask_phone, mask_text
from yishiting.orgs.models import Category, Department, Hall
from yishiting.orgs.scope import Actor
from yishiting.requests.actions import can, part_verbs
from yishiting.requests.models import Event, Request
from yishiting.requests.queries import sees_personal_data
from yishiting.requests.states import (
    PART_STATUS_LABELS,
    STATE_LABELS,
    VERB_LABELS,
    PartStatus,
    Rating,
    RatingDecision,
    ReturnDecision,
    ReturnReason,
    State,
    Verb,
    allowed_verbs,
)


class Error(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    """Every error (§7)."""

    error: Error


class HallRef(Schema):
    code: str
    name: str
    kind: str


class HallOut(HallRef):
    parent: str | None
    path: str
    address: str


class DepartmentOut(Schema):
    code: str
    name: str
    county: str
    working_hours: str


class CategoryOut(Schema):
    code: str
    name: str
    department: str | None
    on_site: bool
    default_priority: str


class MembershipOut(Schema):
    role: str
    hall: HallRef | None
    department: str | None


class MeOut(Schema):
    username: str
    name: str
    roles: list[str]
    memberships: list[MembershipOut]


class Reporter(Schema):
    name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=20)


class Location(Schema):
    address: str | None = Field(None, max_length=200)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


class RequestIn(Schema):
    """POST /requests."""

    hall: str = Field(..., max_length=32)
    text: str = Field(
        "", max_length=4000, description="required, unless a multipart `voice` is attached"
    )
    title: str | None = Field(None, max_length=100)
    category: str | None = Field(None, max_length=32)
    priority: str | None = Field(None, pattern="^(urgent|normal|complex)$")
    anonymous: bool = False
    reporter: Reporter | None = None
    location: Location | None = None


class VerbIn(Schema):
    """POST /requests/{id}/{verb}: the fields each verb reads (JSON, or multipart with photos)."""

    note: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=2000)
    department: str | None = Field(
        None,
        max_length=32,
        description="dispatch: the lead department; review_return: where a redispatch sends it; "
        "waive_part: the assisting department whose part is waived",
    )
    category: str | None = Field(None, max_length=32)
    until: datetime | None = None
    # Values with a fixed set of choices are checked by the action after the caller's scope
    # (403 before 422); the schema only documents them.
    rating: str | None = Field(
        None, max_length=32, json_schema_extra={"enum": list(Rating)}, description="rate, visit"
    )
    comment: str | None = Field(None, max_length=500)
    into: int | None = None
    public: bool = True
    decision: str | None = Field(
        None,
        max_length=32,
        json_schema_extra={"enum": [*ReturnDecision, *RatingDecision]},
        description="review_return: redispatch | uphold; review_rating: redo | approve_appeal "
        "| deny_appeal",
    )
    reason_code: str | None = Field(
        None, max_length=32, json_schema_extra={"enum": list(ReturnReason)}, description="return"
    )
    hall: str | None = Field(None, max_length=32)
    channel: str | None = Field(
        None, max_length=32, json_schema_extra={"enum": ["phone", "in_person"]}, description="visit"
    )
    assisting: list[str] | None = Field(
        None,
        max_length=10,
        description="dispatch: codes of the assisting departments (协办); `department` is the lead",
    )
    part: str | None = Field(
        None,
        max_length=32,
        description="review_return: the assisting department whose returned part is reviewed "
        "(default: the lead's return)",
    )
    to: str | None = Field(
        None,
        max_length=150,
        description="forward (转办): a department code of the county, or a department "
        "officer's username",
    )
    version: int | None = Field(
        None, description="the request's version the caller saw; if it changed since: 409 conflict"
    )


class Deadlines(Schema):
    respond_by: datetime | None
    claim_by: datetime | None
    resolve_by: datetime | None
    rate_by: datetime | None
    reopen_until: datetime | None
    supervise_by: datetime | None
    forward_by: datetime | None


class PartOut(Schema):
    """A department's share of a request: the lead's (主办) clocks are the request's, each
    assisting department (协办) has its own."""

    department: str
    department_name: str
    role: str
    status: str
    status_label: str
    claim_by: datetime | None
    resolve_by: datetime | None
    overdue: bool
    dispatched_at: datetime | None
    claimed_at: datetime | None
    posted_at: datetime | None
    waived_at: datetime | None


class PhotoOut(Schema):
    id: int
    url: str
    width: int
    height: int


class VoiceOut(Schema):
    """A request's voice message, as its handlers see it."""

    url: str
    content_type: str
    size: int


class RequestOut(Schema):
    id: int
    number: str
    title: str
    text: str
    status: str
    status_label: str
    hall: HallRef
    origin_hall: HallRef
    department: str | None
    category: str | None
    priority: str
    anonymous: bool
    reporter: Reporter
    location: Location
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    deadlines: Deadlines
    overdue: bool
    parts: list[PartOut]
    rating: str | None
    rating_channel: str | None
    rating_comment: str
    pending_review: str | None
    return_count: int
    appeal_approved: bool
    merged_into: int | None
    version: int
    follow_code: str | None
    voice: VoiceOut | None = Field(
        None, description="the voice message (语音留言), for handlers only"
    )
    allowed_verbs: list[str]


class RequestPage(Schema):
    """A page of requests; `count` is the total over all pages."""

    count: int
    page: int
    page_size: int
    pages: int
    results: list[RequestOut]


class EventOut(Schema):
    seq: int
    verb: str
    verb_label: str
    actor: str | None
    from_status: str
    to_status: str
    note: str
    public: bool
    data: dict[str, Any]
    created_at: datetime
    photos: list[PhotoOut]


class PolicyOut(Schema):
    id: int
    category: str | None
    priority: str
    first_response_seconds: int
    parent_response_seconds: int
    claim_seconds: int
    claim_basis: str
    resolution_seconds: int
    resolution_basis: str
    rating_window_seconds: int
    reopen_window_seconds: int


class PolicyPatch(Schema):
    first_response_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    parent_response_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    claim_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    claim_basis: str | None = Field(None, pattern="^(calendar|working_days|working_hours)$")
    resolution_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    resolution_basis: str | None = Field(None, pattern="^(calendar|working_days|working_hours)$")
    rating_window_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    reopen_window_seconds: int | None = Field(None, ge=1, le=366 * 86400)


def hall_ref(hall: Hall) -> dict[str, str]:
    return {"code": hall.code, "name": hall.name, "kind": hall.kind}


def hall_out(hall: Hall, parent_code: str | None) -> dict[str, Any]:
    return {**hall_ref(hall), "parent": parent_code, "path": hall.path, "address": hall.address}


def department_out(d: Department) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "county": d.county.code,
        "working_hours": d.working_hours,
    }


def category_out(c: Category) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": c.name,
        "department": c.department.code if c.department else None,
        "on_site": c.on_site,
        "default_priority": c.default_priority,
    }


def photo_out(attachment: Any) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "url": f"/api/v1/attachments/{attachment.pk}",
        "width": attachment.width,
        "height": attachment.height,
    }


def reporter_names(req: Request) -> list[str]:
    """The reporter's own names, masked wherever they appear in a public text (§6)."""
    names = {req.reporter_name.strip()}
    reporter = req.reporter if req.reporter_id is not None else None
    if reporter is not None:
        names.add(reporter.display_name.strip())
    return sorted(n for n in names if n)


def request_out(req: Request, who: Actor | None, *, now: datetime) -> dict[str, Any]:
    """A request as JSON; personal data masked unless the caller handles it (§6)."""
    full = sees_personal_data(who, req)
    names = () if full else reporter_names(req)
    if req.anonymous and not full:
        name = "匿名"
    else:
        name = req.reporter_name if full else mask_name(req.reporter_name)
    verbs = []
    if who is not None:
        for verb in allowed_verbs(
            State(req.status),
            dispatched=req.department_id is not None,
            hall_kind=req.hall.kind,
            pending=req.pending_review,
        ):
            if verb != Verb.BREACH and can(who, verb, req, now=now):
                verbs.append(verb.value)
        verbs += [v for v in part_verbs(who, req, now=now) if v not in verbs]
    return {
        "id": req.pk,
        "number": req.number,
        "title": req.title if full else mask_text(req.title, names),
        "text": req.text if full else mask_text(req.text, names),
        "status": req.status,
        "status_label": str(STATE_LABELS[State(req.status)]),
        "hall": hall_ref(req.hall),
        "origin_hall": hall_ref(req.origin_hall),
        "department": req.department.code if req.department else None,
        "category": req.category.code if req.category else None,
        "priority": req.priority,
        "anonymous": req.anonymous,
        "reporter": {
            "name": name,
            "phone": req.reporter_phone if full else mask_phone(req.reporter_phone),
        },
        "location": {
            "address": req.address if full else mask_text(req.address, names),
            "lat": req.lat if full else None,
            "lng": req.lng if full else None,
        },
        "created_at": req.created_at,
        "updated_at": req.updated_at,
        "first_responded_at": req.first_responded_at,
        "resolved_at": req.resolved_at,
        "closed_at": req.closed_at,
        "deadlines": {
            "respond_by": req.respond_by,
            "claim_by": req.claim_by,
            "resolve_by": req.resolve_by,
            "rate_by": req.rate_by,
            "reopen_until": req.reopen_until,
            "supervise_by": req.supervise_by,
            "forward_by": req.forward_by,
        },
        "overdue": req.overdue,
        "parts": parts_out(req),
        "rating": req.rating or None,
        "rating_channel": req.rating_channel or None,
        "pending_review": req.pending_review or None,
        "return_count": req.return_count,
        "appeal_approved": req.appeal_approved,
        "rating_comment": req.rating_comment if full else mask_text(req.rating_comment, names),
        "merged_into": req.merged_into_id,
        "version": req.version,
        "follow_code": req.follow_code if full else None,
        "voice": voice_out(req) if full else None,
        "allowed_verbs": verbs,
    }


def voice_out(req: Request) -> dict[str, Any] | None:
    """The voice message, for handlers: where to fetch it, and what it is."""
    voice = getattr(req, "voice", None)
    if voice is None:
        return None
    return {
        "url": f"/api/v1/requests/{req.pk}/voice",
        "content_type": voice.content_type,
        "size": voice.size,
    }


def parts_out(req: Request) -> list[dict[str, Any]]:
    """The lead's share (the request's own clocks) and every assisting part, oldest first."""
    out = []
    if req.department is not None:
        out.append(
            {
                "department": req.department.code,
                "department_name": req.department.name,
                "role": "lead",
                "status": req.status,
                "status_label": str(STATE_LABELS[State(req.status)]),
                "claim_by": req.claim_by,
                "resolve_by": req.resolve_by,
                "overdue": req.overdue,
                "dispatched_at": req.dispatched_at,
                "claimed_at": None,
                "posted_at": req.resolved_at,
                "waived_at": None,
            }
        )
    for p in req.parts.all():
        out.append(
            {
                "department": p.department.code,
                "department_name": p.department.name,
                "role": "assisting",
                "status": p.status,
                "status_label": str(PART_STATUS_LABELS[PartStatus(p.status)]),
                "claim_by": p.claim_by,
                "resolve_by": p.resolve_by,
                "overdue": p.overdue,
                "dispatched_at": p.dispatched_at,
                "claimed_at": p.claimed_at,
                "posted_at": p.posted_at,
                "waived_at": p.waived_at,
            }
        )
    return out


def event_out(event: Event, full: bool, names: Sequence[str] = ()) -> dict[str, Any]:
    """An event as JSON; actors are named only to handlers, and the public note masks personal
    data and `names` (the request's `reporter_names`)."""
    actor = None
    if event.actor is not None:
        actor = str(event.actor) if full else None
    return {
        "seq": event.seq,
        "verb": event.verb,
        "verb_label": str(VERB_LABELS[Verb(event.verb)]),
        "actor": actor if full else ("系统" if event.actor is None else None),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note if full else mask_text(event.note, names),
        "public": event.public,
        "data": event.data,
        "created_at": event.created_at,
        "photos": [photo_out(a) for a in event.attachments.all()],
    }


class TokenIn(Schema):
    """POST /tokens: a token for a user (admins only)."""

    user: str = Field(..., max_length=150, description="the username the token acts as")
    name: str = Field("", max_length=100, description="what the token is for, e.g. 12345 平台")


class TokenOut(Schema):
    """A token as admins see it: never its key (only its first 8 characters)."""

    id: int
    name: str
    prefix: str
    user: str
    created_at: datetime
    last_used_at: datetime | None = Field(..., description="to the minute")
    revoked_at: datetime | None
    active: bool


class NewTokenOut(TokenOut):
    key: str = Field(
        ..., description="the key, shown this once: send it as Authorization: Token <key>"
    )


def token_out(token: Any) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "user": token.user.username,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "active": token.revoked_at is None,
    }

"""API v1 (§7): thin HTTP over the actions and queries; every refusal in the §7 error format."""

from __future__ import annotations

import json
import tempfile
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, NinjaAPI, Query, Schema, Status, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyHeader, django_auth
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from yishiting.api.models import ApiToken
from yishiting.api.schemas import (
    CategoryOut,
    DepartmentOut,
    ErrorOut,
    EventOut,
    HallOut,
    MeOut,
    NewTokenOut,
    PolicyOut,
    PolicyPatch,
    RequestIn,
    RequestOut,
    RequestPage,
    TokenIn,
    TokenOut,
    VerbIn,
    category_out,
    department_out,
    event_out,
    hall_out,
    hall_ref,
    reporter_names,
    request_out,
    token_out,
)
from yishiting.core.errors import (
    ActionError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    refuse_nul,
)
from yishiting.ledger.xlsx import XLSX, write_ledger
from yishiting.orgs.models import Category, ClockPolicy, Department, Hall, User
from yishiting.orgs.scope import Actor
from yishiting.requests import actions
from yishiting.requests.filters import ORDERING, RequestFilters
from yishiting.requests.models import Attachment, Channel, Event, Request
from yishiting.requests.queries import (
    get_request,
    sees_internal_notes,
    sees_personal_data,
    visible_requests,
    voice_of,
    with_relations,
)
from yishiting.requests.states import Verb
from yishiting.routing import api as routing_api


class TokenAuth(APIKeyHeader):
    """`Authorization: Token <key>`; each use is recorded on the token."""

    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if not key or not key.startswith("Token "):
            return None
        token = ApiToken.authenticate(key[6:])
        if token is None:
            return None
        request.user = token.user
        return token.user


api = NinjaAPI(
    title="Yishiting API",
    version="1",
    description="百姓议事厅 API v1 (PRODUCT.md §7)",
    auth=[TokenAuth(), django_auth],
    urls_namespace="api-v1",
    # Served from our own static files; no validator badge (it would be fetched from the
    # internet, which a county intranet does not reach).
    docs=Swagger(settings={"validatorUrl": None}),
)
ERRORS: dict[int, Any] = {c: ErrorOut for c in (400, 401, 403, 404, 409, 413, 422)}
# What any read can answer besides 200: not logged in, or a malformed query string (a NUL
# character, core.middleware) — 422 like any other bad input.
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 422: ErrorOut}


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message}}, status=status
    )


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    parts = []
    for err in exc.errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return _error(request, 422, "invalid", "; ".join(parts) or "invalid input")


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", "log in or send Authorization: Token <key>")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", str(exc) or "not found")


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or "forbidden")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
    return _error(request, exc.status_code, code.get(exc.status_code, "error"), str(exc))


def _who(request: HttpRequest) -> Actor:
    return Actor.of(request.user)  # type: ignore[arg-type]


# --- org tree -------------------------------------------------------------------------------


@api.get("/me", response={200: MeOut, **READ_ERRORS}, tags=["org"])
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller: user, roles and halls."""
    who = _who(request)
    return {
        "username": who.user.username,
        "name": str(who.user),
        "roles": sorted(who.roles()),
        "memberships": [
            {
                "role": m.role,
                "hall": hall_ref(m.hall) if m.hall else None,
                "department": m.department.code if m.department else None,
            }
            for m in who.memberships
        ],
    }


@api.get("/halls", response={200: list[HallOut], **READ_ERRORS}, tags=["org"])
def halls(
    request: HttpRequest, kind: str | None = None, parent: str | None = None
) -> list[dict[str, Any]]:
    """All halls (the tree is public), optionally of one kind or under one parent."""
    qs = Hall.objects.select_related("parent")
    if kind:
        qs = qs.filter(kind=kind)
    if parent:
        qs = qs.filter(parent__code=parent)
    return [hall_out(h, h.parent.code if h.parent else None) for h in qs]


@api.get("/halls/{code}", response={200: HallOut, **ERRORS}, tags=["org"])
def hall(request: HttpRequest, code: str) -> dict[str, Any]:
    """One hall."""
    h = Hall.objects.select_related("parent").filter(code=code).first()
    if h is None:
        raise NotFoundError(f"hall {code} not found")
    return hall_out(h, h.parent.code if h.parent else None)


@api.get("/departments", response={200: list[DepartmentOut], **READ_ERRORS}, tags=["org"])
def departments(request: HttpRequest) -> list[dict[str, Any]]:
    """The county's departments."""
    return [department_out(d) for d in Department.objects.select_related("county")]


@api.get("/categories", response={200: list[CategoryOut], **READ_ERRORS}, tags=["org"])
def categories(request: HttpRequest) -> list[dict[str, Any]]:
    """Request categories and the department each usually goes to."""
    return [category_out(c) for c in Category.objects.select_related("department")]


# --- requests -------------------------------------------------------------------------------


def _json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body, which must be an object (an empty body is `{}`)."""
    try:
        raw = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidError("body: not valid JSON") from None
    except RecursionError:
        raise InvalidError("body: JSON nested too deeply") from None
    if not isinstance(raw, dict):
        raise InvalidError("body: a JSON object is expected")
    return raw


def _submit_payload(request: HttpRequest) -> tuple[RequestIn, list[Any], Any]:
    """POST /requests from JSON, or from a multipart form (`reporter.name`, `location.lat`,
    … as dotted field names) with `photos` files and a `voice` file."""
    content_type = request.content_type or ""
    photos: list[Any] = []
    voice = None
    if content_type.startswith("multipart/form-data"):
        raw: dict[str, Any] = {}
        for name, value in request.POST.items():
            if value == "":
                continue
            head, _, tail = name.partition(".")
            if tail and head in ("reporter", "location"):
                raw.setdefault(head, {})[tail] = value
            else:
                raw[name] = value
        photos = request.FILES.getlist("photos")
        voice = request.FILES.get("voice")
    else:
        raw = _json_object(request)
    refuse_nul(raw)
    try:
        return RequestIn.model_validate(raw), photos, voice
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidError(f"{loc}: {first['msg']}") from None


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A pydantic JSON schema with its `$defs` references written in place (an inline
    OpenAPI body cannot point at `#/$defs`)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _form_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An inlined JSON schema's objects flattened to dotted form fields, plus `photos`."""
    props: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        inner = next((r for r in prop.get("anyOf", []) if r.get("type") == "object"), None)
        if inner:
            for key, inner_prop in inner["properties"].items():
                props[f"{name}.{key}"] = inner_prop
        else:
            props[name] = prop
    props["photos"] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    props["voice"] = {
        "type": "string",
        "format": "binary",
        "description": "a voice message (WebM, Ogg, M4A, WAV or MP3); `text` may then be empty",
    }
    return {"type": "object", "properties": props, "required": schema.get("required", [])}


_SUBMIT_SCHEMA = RequestIn.model_json_schema()
_SUBMIT_SCHEMA = _inline(_SUBMIT_SCHEMA, _SUBMIT_SCHEMA.get("$defs", {}))
SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _SUBMIT_SCHEMA},
            "multipart/form-data": {"schema": _form_schema(_SUBMIT_SCHEMA)},
        },
    }
}


@api.post(
    "/requests",
    response={201: RequestOut, **ERRORS, 429: ErrorOut},
    tags=["requests"],
    openapi_extra=SUBMIT_BODY,
)
def create_request(
    request: HttpRequest,
    response: HttpResponse,
    idempotency_key: str | None = Header(
        None,
        description="a key of the caller's choosing (a UUID): a retry with the same key and "
        "content returns the request the first call filed (with `Idempotent-Replayed: true`) "
        "instead of filing it again; the same key with other content is refused (422)",
    ),
) -> Status:
    """Raise a problem in a hall (or capture one on a resident's behalf); JSON, or multipart
    with `photos`."""
    who = _who(request)
    payload, photos, voice = _submit_payload(request)
    reporter = payload.reporter
    location = payload.location
    req, replayed = actions.do_submit_once(
        key=idempotency_key,
        actor=who,
        hall=payload.hall,
        text=payload.text,
        title=payload.title or "",
        category=payload.category,
        priority=payload.priority,
        anonymous=payload.anonymous,
        reporter_name=(reporter.name or "") if reporter else "",
        reporter_phone=(reporter.phone or "") if reporter else "",
        address=(location.address or "") if location else "",
        lat=location.lat if location else None,
        lng=location.lng if location else None,
        channel=Channel.API,
        photos=photos,
        voice=voice,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, request_out(req, who, now=timezone.now()))


class RequestFilter(Schema):
    hall: str | None = Field(
        None, description="a hall code: requests raised in or now in its subtree"
    )
    at: str | None = Field(
        None, description="a hall code: requests now in exactly that hall (its work queue)"
    )
    status: str | None = Field(None, description="state codes, comma-separated")
    department: str | None = Field(None, description="a department code")
    overdue: bool | None = None
    since: str | None = Field(
        None, description="submitted at or after; ISO 8601 with a time zone (else 422)"
    )
    until: str | None = Field(
        None, description="submitted before; ISO 8601 with a time zone (else 422)"
    )

    def narrow(self, who: Actor) -> QuerySet[Request]:
        """The caller's requests under these filters, newest first (id breaking ties)."""
        return RequestFilters(**self.model_dump(exclude={"page", "page_size"})).apply(
            visible_requests(who)
        )


class PageFilter(RequestFilter):
    page: int = Field(1, description="from 1")
    page_size: int = Field(20, description="1 to 100")


@api.get("/requests", response={200: RequestPage, **ERRORS}, tags=["requests"])
def list_requests(request: HttpRequest, filters: Query[PageFilter]) -> dict[str, Any]:
    """Requests in the caller's scope, newest first (`created_at` descending, then `id`
    descending), paginated; `count` is the total over all pages."""
    who = _who(request)
    qs = filters.narrow(who)
    if not 1 <= filters.page_size <= 100:
        raise InvalidError("page_size: between 1 and 100")
    if not 1 <= filters.page <= 1_000_000:
        raise InvalidError("page: from 1 to 1000000")
    start = (filters.page - 1) * filters.page_size
    # The page's ids first, then their rows with what the views read: a poll of a work queue
    # is mostly empty, and the ids' query is a fraction of the joined one to build.
    page = qs.prefetch_related(None).values_list("pk", flat=True)
    ids = list(page[start : start + filters.page_size])
    found = list(with_relations().filter(pk__in=ids).order_by(*ORDERING)) if ids else []
    # A page that is not full ends the list: its rows tell the total (what most polls of a
    # work queue get) and the COUNT is not needed.
    ends = len(ids) < filters.page_size and (ids or start == 0)
    total = start + len(ids) if ends else qs.count()
    now = timezone.now()
    rows = [request_out(r, who, now=now) for r in found]
    return {
        "count": total,
        "page": filters.page,
        "page_size": filters.page_size,
        "pages": max(1, -(-total // filters.page_size)),
        "results": rows,
    }


@api.get(
    "/requests.xlsx",
    response={200: None, **ERRORS},
    tags=["requests"],
    openapi_extra={
        "responses": {
            "200": {
                "description": "the ledger (台账), one row per request (docs/ledger.md)",
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def requests_ledger(request: HttpRequest, filters: Query[RequestFilter]) -> FileResponse:
    """The ledger (台账) of the same requests as GET /requests with the same filters, as one
    .xlsx; names and phones only where the caller handles the request."""
    who = _who(request)
    qs = filters.narrow(who)
    # Handed to FileResponse, which closes it (and so removes it) when the answer is sent.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    write_ledger(qs, who, out)
    out.seek(0)
    name = f"台账-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)


# Routing (issue 6): registered here, before /requests/{id} and /requests/{id}/{verb} catch them.
api.get(
    "/requests/similar", response={200: list[routing_api.SimilarOut], **ERRORS}, tags=["routing"]
)(routing_api.similar)
api.get(
    "/requests/{request_id}/duplicates",
    response={200: list[routing_api.SimilarOut], **ERRORS},
    tags=["routing"],
)(routing_api.duplicates)


@api.get(
    "/requests/{request_id}",
    response={200: routing_api.RequestDetailOut, **ERRORS},
    tags=["requests"],
)
def read_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """One request: everything to its handlers (with the routing suggestion), a masked public
    view to everyone else."""
    return routing_api.read_request(request, request_id)


@api.get(
    "/requests/{request_id}/events", response={200: list[EventOut], **ERRORS}, tags=["requests"]
)
def request_events(request: HttpRequest, request_id: int) -> list[dict[str, Any]]:
    """The request's timeline; internal notes only for its handlers."""
    req = get_request(request_id)
    who = _who(request)
    full = sees_personal_data(who, req)
    events = Event.objects.filter(request=req).select_related("actor").order_by("seq")
    events = events.prefetch_related(Prefetch("attachments", Attachment.objects.order_by("id")))
    if not sees_internal_notes(who, req):
        events = events.filter(public=True)
    names = () if full else reporter_names(req)
    return [event_out(e, full, names) for e in events]


def _verb_payload(request: HttpRequest) -> tuple[VerbIn, list[Any]]:
    """Read a verb's fields from JSON, or from a multipart form with `photos` files."""
    content_type = request.content_type or ""
    if content_type.startswith("multipart/form-data"):
        raw: dict[str, Any] = {k: v for k, v in request.POST.items() if v != ""}
        if "assisting" in raw:
            raw["assisting"] = request.POST.getlist("assisting")
        photos = request.FILES.getlist("photos")
    else:
        raw = _json_object(request)
        photos = []
    refuse_nul(raw)
    try:
        return VerbIn.model_validate(raw), photos
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidError(f"{loc}: {first['msg']}") from None


VERB_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": VerbIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **VerbIn.model_json_schema()["properties"],
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        }
    }
}


@api.get("/requests/{request_id}/voice", tags=["requests"], response={200: None, **ERRORS})
def request_voice(request: HttpRequest, request_id: int) -> FileResponse:
    """The request's voice message (语音留言): for its handlers only (404 for everyone else)."""
    voice = voice_of(get_request(request_id), _who(request))
    return FileResponse(voice.file.open("rb"), content_type=voice.content_type)


@api.post(
    "/requests/{request_id}/{verb}",
    response={200: RequestOut, **ERRORS},
    tags=["requests"],
    openapi_extra=VERB_BODY,
)
def request_verb(request: HttpRequest, request_id: int, verb: str) -> dict[str, Any]:
    """Perform a verb of §3 on a request."""
    who = _who(request)
    try:
        v = Verb(verb)
    except ValueError:
        raise NotFoundError(_("没有“%(verb)s”这项操作") % {"verb": verb}) from None
    action = actions.VERB_ACTIONS.get(v)
    if action is None:
        raise ForbiddenError(f"{verb} is done by the system, not through the API")
    body, photos = _verb_payload(request)
    seen = actions.load_request(request_id)
    if body.version is not None and body.version != seen.version:
        raise ConflictError(_("诉求 %(id)s 已被他人修改，请刷新后再试") % {"id": request_id})
    req = run_verb(v, seen, who, body, photos)
    return request_out(req, who, now=timezone.now())


def run_verb(
    v: Verb, request_id: Request | int, who: Actor, body: VerbIn, photos: list[Any]
) -> Any:
    """Map the verb's body fields onto its action's arguments: the one mapping, used by API v1
    and by the pages' forms (web.views.common.act)."""
    note = body.note or ""
    reason = body.reason or body.note or ""
    match v:
        case Verb.DISPATCH:
            return actions.do_dispatch(
                request_id,
                actor=who,
                department=body.department,
                assisting=body.assisting,
                category=body.category,
                note=note,
            )
        case Verb.RETURN:
            return actions.do_return(
                request_id, actor=who, reason=reason, reason_code=body.reason_code
            )
        case Verb.REVIEW_RETURN:
            return actions.do_review_return(
                request_id,
                actor=who,
                decision=body.decision,
                department=body.department,
                part=body.part,
                reason=reason,
            )
        case Verb.POST_PART:
            return actions.do_post_part(request_id, actor=who, note=note, photos=photos)
        case Verb.WAIVE_PART:
            return actions.do_waive_part(
                request_id, actor=who, department=body.department, reason=reason
            )
        case Verb.HAND_DOWN:
            return actions.do_hand_down(request_id, actor=who, hall=body.hall, reason=reason)
        case Verb.APPEAL:
            return actions.do_appeal(request_id, actor=who, reason=reason)
        case Verb.REVIEW_RATING:
            return actions.do_review_rating(
                request_id, actor=who, decision=body.decision, until=body.until, reason=reason
            )
        case Verb.VISIT:
            return actions.do_visit(
                request_id, actor=who, rating=body.rating, channel=body.channel, note=note
            )
        case Verb.REJECT | Verb.HOLD | Verb.REOPEN:
            action = actions.VERB_ACTIONS[v]
            return action(request_id, actor=who, reason=reason)
        case Verb.EXTEND:
            return actions.do_extend(request_id, actor=who, until=body.until, reason=reason)
        case Verb.RESOLVE:
            return actions.do_resolve(request_id, actor=who, note=note, photos=photos)
        case Verb.RATE:
            return actions.do_rate(
                request_id,
                actor=who,
                rating=body.rating,
                comment=body.comment or note,
            )
        case Verb.MERGE:
            return actions.do_merge(request_id, actor=who, into=body.into, note=note)
        case Verb.SUPERVISE:
            return actions.do_supervise(request_id, actor=who, until=body.until, note=note)
        case Verb.FORWARD:
            return actions.do_forward(request_id, actor=who, to=body.to, note=note)
        case Verb.COMMENT:
            return actions.do_comment(
                request_id, actor=who, note=note, public=body.public, photos=photos
            )
        case _:
            return actions.VERB_ACTIONS[v](request_id, actor=who, note=note)


@api.get("/attachments/{attachment_id}", tags=["requests"], response={200: None, **ERRORS})
def attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    """A photo; photos of internal comments only for the request's handlers."""
    a = Attachment.objects.select_related("event", "request").filter(pk=attachment_id).first()
    if a is None:
        raise NotFoundError("no such photo")
    if not a.event.public and not sees_internal_notes(_who(request), get_request(a.request_id)):
        raise NotFoundError("no such photo")
    return FileResponse(a.file.open("rb"), content_type=a.content_type)


# --- policies -------------------------------------------------------------------------------


def _policy_out(p: ClockPolicy) -> dict[str, Any]:
    return {
        "id": p.pk,
        "category": p.category.code if p.category else None,
        "priority": p.priority,
        **{f: getattr(p, f) for f in PolicyPatch.model_fields},
    }


@api.get("/policies", response={200: list[PolicyOut], **READ_ERRORS}, tags=["policies"])
def policies(request: HttpRequest) -> list[dict[str, Any]]:
    """Clock durations per category and priority, in seconds."""
    return [_policy_out(p) for p in ClockPolicy.objects.select_related("category")]


@api.patch("/policies/{policy_id}", response={200: PolicyOut, **ERRORS}, tags=["policies"])
def patch_policy(request: HttpRequest, policy_id: int, payload: PolicyPatch) -> dict[str, Any]:
    """Change a policy's clocks (admins only); running deadlines keep their values."""
    if not request.user.is_superuser:
        raise ForbiddenError("only an administrator may change clock policies")
    policy = ClockPolicy.objects.select_related("category").filter(pk=policy_id).first()
    if policy is None:
        raise NotFoundError(f"policy {policy_id} not found")
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        raise InvalidError("nothing to change")
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.save(update_fields=list(changes))
    return _policy_out(policy)


# --- tokens ---------------------------------------------------------------------------------


def _admin(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise ForbiddenError("only an administrator may manage API tokens")


@api.get("/tokens", response={200: list[TokenOut], **ERRORS}, tags=["tokens"])
def tokens(
    request: HttpRequest, user: str | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    """Every API token (admins only), newest first; optionally one user's, or only live ones."""
    _admin(request)
    qs = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if user:
        qs = qs.filter(user__username=user)
    if active is not None:
        qs = qs.filter(revoked_at__isnull=active)
    return [token_out(t) for t in qs]


@api.post("/tokens", response={201: NewTokenOut, **ERRORS}, tags=["tokens"])
def create_token(request: HttpRequest, payload: TokenIn) -> Status:
    """Issue a token for a user (admins only); its key is in this answer and nowhere else."""
    _admin(request)
    user = User.objects.filter(username=payload.user).first()
    if user is None:
        raise InvalidError(f"user: no user {payload.user!r}")
    if not user.is_active:
        raise InvalidError(f"user: {payload.user!r} is deactivated")
    token, key = ApiToken.issue(user, payload.name.strip())
    return Status(201, {**token_out(token), "key": key})


@api.delete("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, tags=["tokens"])
def revoke_token(request: HttpRequest, token_id: int) -> dict[str, Any]:
    """Revoke a token (admins only): it stops working at once and is kept, with its use
    history. Revoking a revoked token changes nothing."""
    _admin(request)
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise NotFoundError(f"token {token_id} not found")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token_out(token)


# --- statistics (§5) ---------------------------------------------------------------------------
from yishiting.stats.api import router as stats_router  # noqa: E402

api.add_router("/stats", stats_router)

# --- deliberation (§9) ----------------------------------------------------------------------
from yishiting.deliberation.api import router as deliberation_router  # noqa: E402

api.add_router("", deliberation_router)

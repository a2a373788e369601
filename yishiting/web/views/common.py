"""What every page shares: the actor, request rows and panels, the one action view, photos."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from pydantic import ValidationError as PydanticValidationError

from yishiting.api.api import run_verb
from yishiting.api.schemas import VerbIn, event_out, reporter_names, request_out
from yishiting.core.errors import ActionError, ConflictError, InvalidError, NotFoundError
from yishiting.orgs.models import Category, Department, Membership, Role
from yishiting.orgs.scope import Actor
from yishiting.requests import actions
from yishiting.requests.models import Attachment, Event, Request
from yishiting.requests.queries import (
    get_request,
    sees_internal_notes,
    sees_personal_data,
    voice_of,
)
from yishiting.requests.states import (
    PART_OPEN,
    PENDING_LABELS,
    VERB_LABELS,
    Pending,
    RatingDecision,
    ReturnDecision,
    Verb,
)
from yishiting.routing import panel as routing_panel

# The clocks a countdown shows, most pressing kind first (§4).
CLOCKS = ("respond_by", "claim_by", "resolve_by", "supervise_by", "forward_by")
# Ready replies for one-tap acknowledge (5分钟快速响应).
READY_REPLIES = (
    "您好，已收到您的反映，我们马上核实处理。",
    "已收到，联络员正在赶往现场。",
    "已收到，正在联系相关负责人，请耐心等待。",
)
# The fields each verb's form asks for (the order they are shown in).
VERB_FIELDS: dict[str, tuple[str, ...]] = {
    Verb.ACKNOWLEDGE: ("reply",),
    Verb.START: ("note",),
    Verb.ESCALATE: ("note",),
    Verb.DISPATCH: ("department", "assisting", "category", "note"),
    Verb.CLAIM: ("note",),
    Verb.RETURN: ("reason_code", "reason"),
    Verb.HOLD: ("reason",),
    Verb.RESUME: ("note",),
    Verb.EXTEND: ("until", "reason"),
    Verb.APPROVE_EXTENSION: ("note",),
    Verb.DENY_EXTENSION: ("note",),
    Verb.RESOLVE: ("note", "photos"),
    Verb.RATE: ("rating", "comment"),
    Verb.REOPEN: ("reason",),
    Verb.REJECT: ("reason",),
    Verb.MERGE: ("into", "note"),
    Verb.SUPERVISE: ("until", "note"),
    Verb.COMMENT: ("note", "public", "photos"),
    Verb.COSIGN: ("note",),
    Verb.HAND_DOWN: ("hall", "reason"),
    Verb.REVIEW_RETURN: ("part", "return_decision", "department", "reason"),
    Verb.APPEAL: ("reason",),
    Verb.REVIEW_RATING: ("rating_decision", "until", "reason"),
    Verb.VISIT: ("rating", "channel", "note"),
    Verb.POST_PART: ("note", "photos"),
    Verb.WAIVE_PART: ("waived_part", "reason"),
    Verb.FORWARD: ("to", "note"),
}
# Verbs a page offers as its big first button; the rest fold under 更多操作.
PRIMARY = (
    Verb.ACKNOWLEDGE,
    Verb.DISPATCH,
    Verb.CLAIM,
    Verb.RESOLVE,
    Verb.RATE,
    Verb.REVIEW_RETURN,
    Verb.APPROVE_EXTENSION,
    Verb.REVIEW_RATING,
    Verb.COSIGN,
    # 转办: the duty officer's (and the dispatcher's) first button on a dispatched request
    Verb.FORWARD,
)
ERROR_TITLES = {
    403: gettext_lazy("无权进行此操作"),
    404: gettext_lazy("找不到该诉求"),
    409: gettext_lazy("操作未执行：诉求状态已变化或不允许"),
    413: gettext_lazy("照片太大"),
    422: gettext_lazy("填写有误"),
}


def new_submit_key() -> str:
    """The idempotency key a submit form carries (`submit_form`)."""
    return uuid.uuid4().hex


def submit_form(request: HttpRequest, **fields: Any) -> Request:
    """File a request from a submit form under the form's key: a second tap, or the browser
    re-sending the form, files it once. A page brought back (the browser's Back) and sent
    with other text is a new problem, not an error: filed without the key."""
    key = request.POST.get("submit_key") or None
    try:
        return actions.do_submit_once(key=key, **fields)[0]
    except actions.SubmitKeyReused:
        return actions.do_submit(**fields)


def actor_of(request: HttpRequest) -> Actor | None:
    """The logged-in person with their memberships, or None for a visitor."""
    if not request.user.is_authenticated:
        return None
    return Actor.of(request.user)  # type: ignore[arg-type]


def with_state_since(qs: QuerySet[Request]) -> QuerySet[Request]:
    """Annotate when each request entered its current state (the start of its countdown)."""
    last = (
        Event.objects.filter(request=OuterRef("pk"))
        .exclude(from_status=F("to_status"))
        .order_by("-seq")
        .values("created_at")[:1]
    )
    return qs.annotate(state_since=Subquery(last))


def clock(req: Request) -> dict[str, Any] | None:
    """The countdown a row shows: the most pressing running clock, from when it started."""
    due = [(getattr(req, name), name) for name in CLOCKS if getattr(req, name)]
    if not due:
        return None
    at, name = min(due)
    start = getattr(req, "state_since", None) or req.created_at
    if name in ("supervise_by", "forward_by") or start >= at:
        start = req.updated_at if req.updated_at < at else req.created_at
    return {"name": name, "start": start.isoformat(), "due": at.isoformat()}


def row(req: Request, who: Actor | None, now: datetime) -> dict[str, Any]:
    """A request as a list row: the API's masked view plus its countdown."""
    out = request_out(req, who, now=now)
    out["clock"] = clock(req) if req.status not in ("resolved", "closed") else None
    out["pending_label"] = str(PENDING_LABELS[Pending(req.pending_review)])
    out["department_name"] = req.department.name if req.department else ""
    out["extension_until"] = req.extension_until
    return out


def rows(qs: QuerySet[Request], who: Actor | None, limit: int = 50) -> list[dict[str, Any]]:
    """List rows for the first `limit` requests of `qs`."""
    now = timezone.now()
    return [row(r, who, now) for r in with_state_since(qs)[:limit]]


def panel_context(req: Request, who: Actor | None) -> dict[str, Any]:
    """Everything the request panel shows: masked view, timeline, the forms of allowed verbs."""
    now = timezone.now()
    full = sees_personal_data(who, req)
    events = Event.objects.filter(request=req).select_related("actor").order_by("seq")
    events = events.prefetch_related(Prefetch("attachments", Attachment.objects.order_by("id")))
    if not sees_internal_notes(who, req):
        events = events.filter(public=True)
    names = () if full else reporter_names(req)
    timeline = [event_out(e, full, names) for e in events]
    r = row(with_state_since(Request.objects.filter(pk=req.pk)).get(), who, now)
    verbs = [v for v in r["allowed_verbs"] if v in VERB_FIELDS]
    if full and req.reporter_id != (who.user.pk if who else None):
        verbs = [v for v in verbs if v != Verb.COSIGN]  # 我也遇到 is for residents, not handlers
    verbs.sort(key=lambda v: (v not in PRIMARY, list(VERB_FIELDS).index(v)))
    departments = list(
        Department.objects.filter(county__code=req.hall.county_code).order_by("name")
    )
    suggested = req.category.department_id if req.category else None
    suggestion = routing_panel.suggestion(req, who, verbs)
    if suggestion is not None and suggestion.department_id and not req.category:
        suggested = suggestion.department_id
    officers = []
    if Verb.FORWARD in verbs:
        officers = list(
            Membership.objects.filter(
                role=Role.DEPARTMENT, department__county__code=req.hall.county_code
            )
            .select_related("user", "department")
            .order_by("department__name", "user__username")
        )
    forms = [
        {
            "verb": v,
            "label": str(VERB_LABELS[Verb(v)]),
            "fields": VERB_FIELDS[v],
            "primary": i == 0 and v in PRIMARY,
        }
        for i, v in enumerate(verbs)
    ]
    return {
        "r": r,
        "req": req,
        "full": full,
        "timeline": timeline,
        "forms": forms,
        "departments": departments,
        "forward_officers": officers,
        "categories": list(Category.objects.order_by("name")),
        "suggested_department": suggested,
        "suggestion": suggestion,
        "suggested_category": req.category_id or (suggestion.category_id if suggestion else None),
        "merge_candidates": routing_panel.merge_offers(req, verbs, now),
        "ready_replies": READY_REPLIES,
        "open_part_statuses": sorted(PART_OPEN),
        "staff": bool(who and who.is_staff_member),
        "return_decisions": list(ReturnDecision),
        "rating_decisions": list(RatingDecision),
        "fix_photos": [p for e in timeline if e["verb"] == Verb.RESOLVE for p in e["photos"]],
    }


def request_page(request: HttpRequest, request_id: int) -> HttpResponse:
    """One request: public view for everyone, everything for its handlers, their buttons."""
    try:
        req = get_request(request_id)
    except NotFoundError:
        raise Http404(_("找不到该诉求")) from None
    ctx = panel_context(req, actor_of(request))
    if request.GET.get("fragment"):
        return render(request, "web/_panel.html", ctx)
    return render(request, "web/request.html", ctx)


def error_response(request: HttpRequest, exc: ActionError) -> HttpResponse:
    """An ActionError shown in the page's message area, with its HTTP status (never a 500)."""
    ctx = {"title": ERROR_TITLES.get(exc.status) or _("操作失败"), "message": exc.message}
    if not request.headers.get("HX-Request"):
        return render(request, "web/error.html", ctx, status=exc.status)
    response = render(request, "web/_error.html", ctx, status=exc.status)
    response["HX-Retarget"] = "#flash"
    response["HX-Reswap"] = "innerHTML"
    return response


def _aware(value: str) -> str:
    """A datetime-local value (no zone) read in the county's time zone, as ISO 8601."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise InvalidError(_("时间格式不对"))
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed)
    return parsed.isoformat()


def verb_body(post: QueryDict) -> VerbIn:
    """The verb's fields from a page's form, in the API's shape."""
    raw: dict[str, Any] = {}
    for key in VerbIn.model_fields:
        value = post.get(key, "")
        if value != "":
            raw[key] = value
    if post.getlist("assisting"):
        raw["assisting"] = post.getlist("assisting")
    if post.get("waived_part"):
        raw["department"] = post["waived_part"]
    if post.get("reply") and not raw.get("note"):
        raw["note"] = post["reply"]
    if "decision" not in raw:
        decision = post.get("return_decision") or post.get("rating_decision")
        if decision:
            raw["decision"] = decision
    if "until" in raw:
        raw["until"] = _aware(raw["until"])
    if post.get("has_public") and "public" not in raw:
        raw["public"] = False
    try:
        return VerbIn.model_validate(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidError(f"{loc}: {first['msg']}") from None


@require_POST
def act(request: HttpRequest, request_id: int, verb: str) -> HttpResponse:
    """Perform one verb through `actions.do_<verb>`; the refusal shown, nothing changed."""
    who = actor_of(request)
    if who is None:
        return redirect(f"/accounts/login/?next=/r/{request_id}/")
    try:
        try:
            v = Verb(verb)
        except ValueError:
            raise NotFoundError(_("没有“%(verb)s”这项操作") % {"verb": verb}) from None
        if v not in VERB_FIELDS:
            raise NotFoundError(_("没有“%(verb)s”这项操作") % {"verb": verb})
        body = verb_body(request.POST)
        seen = actions.load_request(request_id)
        if body.version is not None and body.version != seen.version:
            raise ConflictError(_("诉求 %(id)s 已被他人修改，请刷新后再试") % {"id": request_id})
        req = run_verb(v, seen, who, body, request.FILES.getlist("photos"))
    except ActionError as exc:
        return error_response(request, exc)
    if not request.headers.get("HX-Request"):
        return redirect(f"/r/{req.pk}/")
    if request.POST.get("fragment") == "row":
        now = timezone.now()
        qs = with_state_since(Request.objects.filter(pk=req.pk)).select_related(
            "hall", "origin_hall", "department", "category"
        )
        return render(
            request, "web/_row.html", {"r": row(qs.get(), who, now), "ready": READY_REPLIES[0]}
        )
    return render(request, "web/_panel.html", panel_context(req, who))


def photo(request: HttpRequest, attachment_id: int) -> FileResponse:
    """A photo; photos of internal comments only for the request's handlers (§6)."""
    a = Attachment.objects.select_related("event").filter(pk=attachment_id).first()
    if a is None:
        raise Http404("no such photo")
    if not a.event.public and not sees_internal_notes(actor_of(request), get_request(a.request_id)):
        raise Http404("no such photo")
    return FileResponse(a.file.open("rb"), content_type=a.content_type)


def voice(request: HttpRequest, request_id: int) -> FileResponse:
    """A request's voice message (语音留言), for its handlers and its reporter (§6)."""
    try:
        kept = voice_of(get_request(request_id), actor_of(request))
    except NotFoundError:
        raise Http404("no voice message") from None
    return FileResponse(kept.file.open("rb"), content_type=kept.content_type)


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    """Where a person starts: a link to each page their roles open."""
    who = actor_of(request)
    assert who is not None
    roles = {m.role for m in who.memberships}
    pages = []
    if roles & {Role.LIAISON, Role.MANAGER}:
        pages += [("/inbox/", _("联络员工作台")), ("/capture/", _("代群众录入"))]
    if Role.DISPATCHER in roles:
        pages.append(("/dispatch/", _("交办中心")))
    if Role.DEPARTMENT in roles:
        pages.append(("/dept/", _("部门工作台")))
    if Role.DUTY in roles:
        pages.append(("/duty/", _("值守台")))
    if Role.LEADER in roles or who.is_admin:
        pages.append(("/leader/", _("全县诉求")))
    pages.append(("/my/", _("我的诉求")))
    from yishiting.web.views.deliberation import deliberation_links

    pages += deliberation_links(who)
    if who.is_staff_member:
        pages.append(("/messages/", _("站内消息")))
    halls = [m.hall for m in who.memberships if m.hall is not None]
    return render(request, "web/workspace.html", {"pages": pages, "halls": halls})

"""Deliberation pages (议事, §9): a hall's topics, a topic, a meeting, a project, 四议两公开, and
the township's late list. Every write goes through `deliberation.actions.do_<verb>`; a refusal
is shown with its status and changes nothing."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import segno
from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yishiting.core.errors import ActionError, ForbiddenError, InvalidError, NotFoundError
from yishiting.core.masking import mask_name, mask_text
from yishiting.deliberation import actions as d
from yishiting.deliberation import exports, register, rules, states
from yishiting.deliberation.models import (
    Attendance,
    Choice,
    Comment,
    Matter,
    Meeting,
    Photo,
    Project,
    Purpose,
    Stance,
    Tally,
    Topic,
)
from yishiting.deliberation.states import MeetingState, TopicState
from yishiting.orgs.models import Hall, HallKind, Membership, Role
from yishiting.orgs.scope import Actor
from yishiting.requests.states import STATE_LABELS, State
from yishiting.web.views.common import _aware, actor_of

# What each event of the deliberation reads as in a timeline.
EVENT_LABELS: dict[str, Any] = {
    "raise": gettext_lazy("提出议题"),
    "comment": gettext_lazy("留言"),
    "support": gettext_lazy("联名支持"),
    "compel": gettext_lazy("联名达到提议门槛"),
    "compelled": gettext_lazy("须召集会议"),
    "schedule": gettext_lazy("列入会议议程"),
    "adopt": gettext_lazy("会议通过"),
    "not_adopt": gettext_lazy("会议未通过"),
    "unschedule": gettext_lazy("移出议程"),
    "link": gettext_lazy("关联诉求"),
    "withdraw": gettext_lazy("撤回"),
    "create": gettext_lazy("创建"),
    "agenda": gettext_lazy("更新会议安排"),
    "notify": gettext_lazy("发出会议通知"),
    "open": gettext_lazy("宣布开会"),
    "sign_in": gettext_lazy("签到"),
    "tally": gettext_lazy("录入纸质表决"),
    "close": gettext_lazy("结束表决"),
    "publish": gettext_lazy("公开"),
    "cancel": gettext_lazy("取消会议"),
    "late": gettext_lazy("逾期"),
    "milestone": gettext_lazy("新增节点"),
    "complete_milestone": gettext_lazy("节点完成"),
    "add_request": gettext_lazy("派发诉求"),
    "start_acceptance": gettext_lazy("开始验收表决"),
    "accept": gettext_lazy("验收通过"),
    "reject": gettext_lazy("验收未通过"),
    "step": gettext_lazy("记录步骤"),
}
BASE_WORDS: dict[str, Any] = {
    "adults": gettext_lazy("成年居民"),
    "households": gettext_lazy("户"),
    "members": gettext_lazy("组成人员"),
    "representatives": gettext_lazy("代表"),
}
REFUSAL_TITLES: dict[int, Any] = {
    403: gettext_lazy("无权进行此操作"),
    404: gettext_lazy("找不到该议事内容"),
    409: gettext_lazy("操作未执行：不符合议事规则或状态已变化"),
    413: gettext_lazy("照片太大"),
    422: gettext_lazy("填写有误"),
}
# How many register members a meeting page lists for officer sign-in and paper tallies.
ROSTER_LIMIT = 500


# --- loading and scope ------------------------------------------------------------------------


def _deliberating_hall(code: str) -> Hall:
    # PostgreSQL refuses NUL in text: such a code names no hall (404, not a 500).
    hall = None if "\x00" in code else Hall.objects.filter(code=code).first()
    if hall is None or hall.kind not in register.REGISTER_KINDS:
        raise Http404(_("找不到该议事厅"))
    return hall


def _get(loader: Callable[[int], Any], pk: int) -> Any:
    try:
        return loader(pk)
    except NotFoundError:
        raise Http404(_("找不到该议事内容")) from None


def _roles(who: Actor | None, hall: Hall) -> dict[str, Any]:
    """What the person is in this hall: officer, registered resident, leader above it."""
    if who is None:
        return {"officer": False, "resident": None, "internal": False, "who": None}
    return {
        "officer": register.is_officer(who, hall),
        "resident": register.resident_of(who.user.pk, hall),
        "internal": register.sees_internal(who, hall),
        "who": who,
    }


def _name(user: Any, full: bool, staff: set[int] | frozenset[int] = frozenset()) -> str:
    """A person's name: whole for the hall's officers to read and for staff (who act in
    public), masked otherwise."""
    if user is None:
        return _("系统")
    name = user.display_name or user.username
    return name if full or user.pk in staff else mask_name(name)


def _staff(user_ids: Any) -> set[int]:
    """Those of `user_ids` with a staff role (liaison, manager, ...): named in public."""
    return set(
        Membership.objects.filter(user_id__in=list(user_ids))
        .exclude(role=Role.REPRESENTATIVE)
        .values_list("user_id", flat=True)
    )


def _photos_of(events: Any) -> dict[int, list[Photo]]:
    out: dict[int, list[Photo]] = {}
    for p in Photo.objects.filter(event__in=events).order_by("id"):
        out.setdefault(p.event_id, []).append(p)
    return out


def _timeline(qs: Any, full: bool) -> list[dict[str, Any]]:
    """Events in order (internal ones only for `full`), with labels and photos."""
    events = list(qs.select_related("actor").order_by("id"))
    if not full:
        events = [e for e in events if e.public]
    photos = _photos_of([e.pk for e in events])
    staff = _staff({e.actor_id for e in events if e.actor_id})
    return [
        {
            "verb": e.verb,
            "label": EVENT_LABELS.get(e.verb, e.verb),
            "actor": _name(e.actor, full, staff) if e.actor_id else _("系统"),
            "note": e.note if full else mask_text(e.note),
            "public": e.public,
            "at": e.created_at,
            "photos": photos.get(e.pk, []),
        }
        for e in events
    ]


def error_response(request: HttpRequest, exc: ActionError) -> HttpResponse:
    """A refusal with its status, on a page that leads back to where it came from."""
    ctx = {
        "title": REFUSAL_TITLES.get(exc.status) or _("操作失败"),
        "message": exc.message,
        "back": request.path.split("/do/")[0] + "/" if "/do/" in request.path else request.path,
    }
    template = "web/_error.html" if request.headers.get("HX-Request") else "web/delib/error.html"
    response = render(request, template, ctx, status=exc.status)
    if request.headers.get("HX-Request"):
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "innerHTML"
    return response


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """After a write: back to the page (a full reload shows every moved count)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _int_or_none(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidError(f"{name}: {_('须为数字')}") from None


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(_aware(value))


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidError(f"{name}: {_('日期格式不对')}") from None


def _bool(value: str | None) -> bool:
    return value in ("1", "true", "on", "yes")


# --- a hall's topics, meetings and projects ---------------------------------------------------


def topics(request: HttpRequest, code: str) -> HttpResponse:
    """A hall's deliberation: its topics, meetings and projects; raise a topic; call a meeting."""
    hall = _deliberating_hall(code)
    who = actor_of(request)
    roles = _roles(who, hall)
    if request.method == "POST":
        try:
            if who is None:
                raise ForbiddenError(_("请先登录"))
            topic = d.do_raise_topic(
                actor=who,
                hall=hall,
                title=request.POST.get("title", ""),
                text=request.POST.get("text", ""),
                body=request.POST.get("body") or None,
                photos=request.FILES.getlist("photos"),
            )
        except ActionError as exc:
            return error_response(request, exc)
        return _done(request, f"/topics/{topic.pk}/")
    here = Q(hall__path__startswith=hall.path)
    ctx = {
        "hall": hall,
        **roles,
        "topics": list(Topic.objects.filter(here).select_related("hall")[:100]),
        "meetings": list(
            Meeting.objects.filter(here)
            .exclude(status=MeetingState.CANCELLED)
            .select_related("hall")[:50]
        ),
        "projects": list(Project.objects.filter(here).select_related("hall")[:50]),
        "bodies": [(k.value, rules.BODY_LABELS[k]) for k in register.BODIES_BY_HALL[hall.kind]],
        "default_body": register.DEFAULT_BODY[hall.kind].value,
        "open_topics": list(
            Topic.objects.filter(here, status=TopicState.OPEN).values_list("pk", "title")[:50]
        )
        if roles["officer"]
        else [],
        "village": hall.kind == HallKind.VILLAGE,
    }
    if request.GET.get("fragment"):
        return render(request, "web/delib/_topic_rows.html", ctx)
    return render(request, "web/delib/topics.html", ctx)


@require_POST
def create_meeting(request: HttpRequest, code: str) -> HttpResponse:
    """An officer calls a meeting of the hall (a draft with its agenda)."""
    hall = _deliberating_hall(code)
    who = actor_of(request)
    try:
        if who is None:
            raise ForbiddenError(_("请先登录"))
        starts_at = _when(request.POST.get("starts_at"), "starts_at")
        if starts_at is None:
            raise InvalidError(_("请填写开会时间"))
        meeting = d.do_create_meeting(
            actor=who,
            hall=hall,
            title=request.POST.get("title", ""),
            starts_at=starts_at,
            body=request.POST.get("body") or None,
            topics=[int(t) for t in request.POST.getlist("topics") if t.isdigit()],
            motion=request.POST.get("motion", ""),
            preread=request.POST.get("preread", ""),
            place=request.POST.get("place", ""),
        )
    except ActionError as exc:
        return error_response(request, exc)
    return _done(request, f"/meetings/{meeting.pk}/")


# --- a topic ----------------------------------------------------------------------------------


def _progress_rows(topic: Topic) -> list[dict[str, Any]]:
    rows = d.progress(topic, timezone.localdate())
    for row in rows:
        row["label"] = BASE_WORDS.get(row["base"], row["base"])
        row["percent"] = min(100, row["count"] * 100 // max(1, row["needed"]))
    return rows


def topic_context(topic: Topic, who: Actor | None) -> dict[str, Any]:
    """What a topic page shows this person: counts, progress, comments, timeline, buttons."""
    hall = topic.hall
    roles = _roles(who, hall)
    full = roles["internal"]
    comments = list(
        Comment.objects.filter(topic=topic, **({} if full else {"public": True}))
        .select_related("author")
        .order_by("id")
    )
    staff = _staff({c.author_id for c in comments if c.author_id})
    resident = roles["resident"]
    supported = resident is not None and topic.supports.filter(resident=resident).exists()
    allowed = states.allowed("topic", topic.status)
    raise_event = topic.events.filter(verb="raise").first()
    return {
        "topic": topic,
        "hall": hall,
        **roles,
        "progress": _progress_rows(topic),
        "body_label": rules.BODY_LABELS[rules.BodyKind(topic.body)],
        "status_label": states.TOPIC_LABELS[TopicState(topic.status)],
        "comments": [
            {
                "author": _name(c.author, full, staff),
                "stance": c.stance,
                "stance_label": Stance(c.stance).label,
                "text": c.text if full else mask_text(c.text),
                "public": c.public,
                "at": c.created_at,
            }
            for c in comments
        ],
        "photos": _photos_of([raise_event.pk]).get(raise_event.pk, []) if raise_event else [],
        "requests": [
            {
                "id": r.pk,
                "number": r.number,
                "title": mask_text(r.title),
                "status": STATE_LABELS[State(r.status)],
            }
            for r in topic.requests.order_by("id")
        ],
        "meetings": list(topic.meetings.exclude(status=MeetingState.CANCELLED).order_by("id")),
        "timeline": _timeline(topic.events.all(), full),
        "supported": supported,
        "can_support": resident is not None and not supported and "support" in allowed,
        "can_comment": who is not None and register.may_take_part(who, hall),
        "can_withdraw": "withdraw" in allowed
        and who is not None
        and (roles["officer"] or topic.raised_by_id == who.user.pk),
        "can_link": roles["officer"] and "link" in allowed,
        "stances": list(Stance),
    }


def topic_page(request: HttpRequest, topic_id: int) -> HttpResponse:
    """One topic: text, photos, linked requests, comments, support with its progress."""
    topic = _get(d.load_topic, topic_id)
    ctx = topic_context(topic, actor_of(request))
    if request.GET.get("fragment"):
        return render(request, "web/delib/_topic_counts.html", ctx)
    return render(request, "web/delib/topic.html", ctx)


@require_POST
def topic_act(request: HttpRequest, topic_id: int, verb: str) -> HttpResponse:
    """support, comment, link, withdraw: each through its `do_<verb>`."""
    who = actor_of(request)
    if who is None:
        return redirect(f"/accounts/login/?next=/topics/{topic_id}/")
    post = request.POST
    try:
        topic = d.load_topic(topic_id)
        match verb:
            case "support":
                d.do_support(topic, actor=who)
            case "comment":
                d.do_comment(
                    topic,
                    actor=who,
                    text=post.get("text", ""),
                    stance=post.get("stance", Stance.NEUTRAL),
                    public=not _bool(post.get("internal")),
                    photos=request.FILES.getlist("photos"),
                )
            case "link":
                number = _int_or_none(post.get("request"), "request")
                if number is None:
                    raise InvalidError(_("请填写诉求编号"))
                d.do_link_request(topic, actor=who, request=number)
            case "withdraw":
                d.do_withdraw_topic(topic, actor=who, note=post.get("note", ""))
            case _:
                raise NotFoundError(f"no verb {verb!r}")
    except ActionError as exc:
        return error_response(request, exc)
    return _done(request, f"/topics/{topic_id}/")


# --- a meeting --------------------------------------------------------------------------------


def _rule_words(rule: Any) -> dict[str, Any]:
    return {
        "row": rule,
        "quorum": "，或".join(q.words() for q in rules.quorums(rule)),
        "majority": rules.majority(rule).words(),
        "notice_days": rule.notice_days,
        "source": rule.source,
    }


def meeting_context(meeting: Meeting, who: Actor | None, token: str = "") -> dict[str, Any]:
    """What a meeting page shows this person: notice, agenda, counts, resolution, forms."""
    hall = meeting.hall
    roles = _roles(who, hall)
    officer = roles["officer"]
    try:
        rule = meeting.rule or rules.rule_for(meeting.body, timezone.localdate(meeting.starts_at))
    except ActionError:
        rule = None
    member = None
    if who is not None:
        member = register.roster(hall, meeting.body).filter(user_id=who.user.pk).first()
    ballot = meeting.ballots.filter(resident=member).first() if member is not None else None
    attended = (
        member is not None and Attendance.objects.filter(meeting=meeting, resident=member).exists()
    )
    roster: list[Any] = []
    tallies: list[dict[str, Any]] = []
    if officer:
        roster = list(
            register.roster(hall, meeting.body).select_related("household")[:ROSTER_LIMIT]
        )
        tally_photos = _photos_of(meeting.events.filter(verb="tally").values_list("pk", flat=True))
        by_tally = {
            e.data.get("tally"): tally_photos.get(e.pk, [])
            for e in meeting.events.filter(verb="tally")
        }
        tallies = [
            {"tally": t, "photos": by_tally.get(t.pk, [])}
            for t in Tally.objects.filter(meeting=meeting).order_by("id")
        ]
    allowed = states.allowed("meeting", meeting.status)
    decision = meeting.purpose == Purpose.DECISION
    project = getattr(meeting, "adopted_project", None) if meeting.status == "closed" else None
    failures = list((meeting.counts or {}).get("failures", []))
    running = {"agenda", "notify", "open", "sign_in", "tally", "close", "cancel"}
    can_publish = (
        officer and decision and meeting.status == "closed" and meeting.published_at is None
    )
    can_project = (
        officer and decision and meeting.status == "closed" and bool(meeting.passed)
    ) and project is None
    return {
        "meeting": meeting,
        "hall": hall,
        **roles,
        "status_label": states.MEETING_LABELS[MeetingState(meeting.status)],
        "body_label": rules.BODY_LABELS[rules.BodyKind(meeting.body)],
        "rule": _rule_words(rule) if rule else None,
        "agenda": list(meeting.topics.order_by("id")),
        "attendance": meeting.attendance.count(),
        "ballots": meeting.ballots.count(),
        "member": member,
        "ballot": ballot,
        "attended": attended,
        "token_ok": bool(token) and token == meeting.sign_in_token,
        "token": token,
        "roster": roster,
        "tallies": tallies,
        "allowed": allowed if officer else [],
        "can_vote": member is not None and ballot is None and "vote" in allowed,
        "choices": list(Choice),
        "decision": decision,
        "project": project,
        "can_project": can_project,
        "can_publish": can_publish,
        "tools": officer and bool(running & set(allowed) or can_publish or can_project or tallies),
        "failures": failures,
        "timeline": _timeline(meeting.events.all(), officer or roles["internal"]),
        "now": timezone.now(),
    }


def meeting_page(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """One meeting: notice, pre-read, agenda, sign-in, vote; the officers' controls."""
    meeting = _get(d.load_meeting, meeting_id)
    ctx = meeting_context(meeting, actor_of(request), request.GET.get("t", ""))
    if request.GET.get("fragment"):
        return render(request, "web/delib/_meeting_counts.html", ctx)
    return render(request, "web/delib/meeting.html", ctx)


def meeting_qr(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """The sign-in QR code of a meeting (for its officers to show in the room)."""
    meeting = _get(d.load_meeting, meeting_id)
    who = actor_of(request)
    if who is None or not register.is_officer(who, meeting.hall):
        raise Http404(_("找不到该议事内容"))
    out = io.BytesIO()
    url = request.build_absolute_uri(f"/meetings/{meeting.pk}/?t={meeting.sign_in_token}")
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=2)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


def _ballots_from(post: Any) -> list[dict[str, Any]]:
    """A paper sheet from the tally form: `choice_<resident id>` = yes / no / abstain."""
    out = []
    for key, value in post.items():
        if key.startswith("choice_") and value:
            out.append({"resident": _int_or_none(key[7:], "resident"), "choice": value})
    return out


@require_POST
def meeting_act(request: HttpRequest, meeting_id: int, verb: str) -> HttpResponse:
    """The meeting's verbs, each through its `do_<verb>`."""
    who = actor_of(request)
    if who is None:
        return redirect(f"/accounts/login/?next=/meetings/{meeting_id}/")
    post = request.POST
    url = f"/meetings/{meeting_id}/"
    try:
        meeting = d.load_meeting(meeting_id)
        match verb:
            case "agenda":
                d.do_agenda(
                    meeting,
                    actor=who,
                    starts_at=_when(post.get("starts_at"), "starts_at"),
                    place=post.get("place") if "place" in post else None,
                    preread=post.get("preread") if "preread" in post else None,
                    motion=post.get("motion") or None,
                    topics=[int(t) for t in post.getlist("topics") if t.isdigit()],
                )
            case "notify":
                d.do_notify(
                    meeting,
                    actor=who,
                    urgent=_bool(post.get("urgent")),
                    reason=post.get("reason", ""),
                )
            case "open":
                d.do_open(meeting, actor=who)
            case "sign_in":
                d.do_sign_in(
                    meeting,
                    actor=who,
                    token=post.get("token") or None,
                    resident=_int_or_none(post.get("resident"), "resident"),
                    proxy_for=_int_or_none(post.get("proxy_for"), "proxy_for"),
                )
            case "vote":
                d.do_vote(
                    meeting,
                    actor=who,
                    choice=post.get("choice", ""),
                    proxy_for=_int_or_none(post.get("proxy_for"), "proxy_for"),
                )
            case "tally":
                d.do_tally(
                    meeting,
                    actor=who,
                    ballots=_ballots_from(post),
                    photo=request.FILES.get("photo"),
                )
            case "close":
                passed = post.get("passed", "")
                d.do_close(
                    meeting,
                    actor=who,
                    resolution=post.get("resolution", ""),
                    dissent=post.get("dissent", ""),
                    passed=True if passed == "yes" else False if passed == "no" else None,
                )
            case "publish":
                d.do_publish(meeting, actor=who, note=post.get("note", ""))
            case "cancel":
                d.do_cancel(meeting, actor=who, reason=post.get("reason", ""))
            case "project":
                project = d.do_create_project(
                    actor=who, meeting=meeting.pk, title=post.get("title", "")
                )
                url = f"/projects/{project.pk}/"
            case _:
                raise NotFoundError(f"no verb {verb!r}")
    except ActionError as exc:
        return error_response(request, exc)
    return _done(request, url)


# --- a project --------------------------------------------------------------------------------


def project_context(project: Project, who: Actor | None) -> dict[str, Any]:
    """What a project page shows: milestones with dated photos and cost, requests, acceptance."""
    hall = project.hall
    roles = _roles(who, hall)
    done_events = project.events.filter(verb="complete_milestone")
    photos = _photos_of(list(done_events.values_list("pk", flat=True)))
    by_step: dict[int, list[Photo]] = {}
    for e in done_events:
        by_step.setdefault(int(e.data.get("milestone", 0)), []).extend(photos.get(e.pk, []))
    steps = list(project.milestones.all())
    milestones = [{"m": m, "photos": by_step.get(m.pk, [])} for m in steps]
    allowed = states.allowed("project", project.status)
    acceptance = project.acceptance_meetings.order_by("-id").first()
    return {
        "project": project,
        "hall": hall,
        **roles,
        "status_label": states.PROJECT_LABELS[states.ProjectState(project.status)],
        "milestones": milestones,
        "open_milestones": [m for m in steps if m.done_at is None],
        "cost": sum((m.cost for m in steps), start=Decimal(0)),
        "requests": [
            {
                "id": r.pk,
                "number": r.number,
                "title": mask_text(r.title),
                "status": r.status,
                "status_label": STATE_LABELS[State(r.status)],
                "department": r.department.name if r.department else "",
            }
            for r in project.requests.select_related("department").order_by("id")
        ],
        "acceptance": acceptance,
        "allowed": allowed if roles["officer"] else [],
        "following": who is not None and project.followers.filter(pk=who.user.pk).exists(),
        "can_follow": who is not None and register.may_take_part(who, hall),
        "timeline": _timeline(project.events.all(), roles["internal"]),
    }


def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    """One project: progress, milestones, dispatched requests, the acceptance vote."""
    project = _get(d.load_project, project_id)
    ctx = project_context(project, actor_of(request))
    if request.GET.get("fragment"):
        return render(request, "web/delib/_project_counts.html", ctx)
    return render(request, "web/delib/project.html", ctx)


@require_POST
def project_act(request: HttpRequest, project_id: int, verb: str) -> HttpResponse:
    """The project's verbs, each through its `do_<verb>`."""
    who = actor_of(request)
    if who is None:
        return redirect(f"/accounts/login/?next=/projects/{project_id}/")
    post = request.POST
    url = f"/projects/{project_id}/"
    try:
        project = d.load_project(project_id)
        match verb:
            case "milestone":
                d.do_add_milestone(
                    project,
                    actor=who,
                    title=post.get("title", ""),
                    due_on=_day(post.get("due_on"), "due_on"),
                    cost=post.get("cost") or None,
                    note=post.get("note", ""),
                )
            case "complete_milestone":
                milestone = _int_or_none(post.get("milestone"), "milestone")
                if milestone is None:
                    raise InvalidError(_("请选择节点"))
                d.do_complete_milestone(
                    project,
                    actor=who,
                    milestone=milestone,
                    photos=request.FILES.getlist("photos"),
                    cost=post.get("cost") or None,
                    note=post.get("note", ""),
                )
            case "add_request":
                d.do_add_request(
                    project, actor=who, text=post.get("text", ""), title=post.get("title", "")
                )
            case "start_acceptance":
                meeting = d.do_start_acceptance(project, actor=who)
                url = f"/meetings/{meeting.pk}/"
            case "publish":
                d.do_publish_results(project, actor=who, note=post.get("note", ""))
            case "follow":
                d.do_follow(project, actor=who)
            case _:
                raise NotFoundError(f"no verb {verb!r}")
    except ActionError as exc:
        return error_response(request, exc)
    return _done(request, url)


# --- 四议两公开 -------------------------------------------------------------------------------


def _officer_or_403(request: HttpRequest, hall: Hall) -> Actor:
    who = actor_of(request)
    if who is None or not (register.is_officer(who, hall) or who.leads(hall)):
        raise ForbiddenError(_("此页面只对本厅联络员、两委和上级开放"))
    return who


@login_required
def matters(request: HttpRequest, code: str) -> HttpResponse:
    """A village's major matters (四议两公开): the list, and a new one."""
    hall = _deliberating_hall(code)
    try:
        if hall.kind != HallKind.VILLAGE:
            raise Http404(_("四议两公开只用于村"))
        who = _officer_or_403(request, hall)
        if request.method == "POST":
            matter = d.do_create_matter(
                actor=who,
                hall=hall,
                title=request.POST.get("title", ""),
                topic=_int_or_none(request.POST.get("topic"), "topic"),
            )
            return _done(request, f"/matters/{matter.pk}/")
    except ActionError as exc:
        return error_response(request, exc)
    ctx = {
        "hall": hall,
        "matters": list(Matter.objects.filter(hall=hall).prefetch_related("steps")),
        "topics": list(Topic.objects.filter(hall=hall).values_list("pk", "title")[:100]),
        "officer": register.is_officer(who, hall),
    }
    return render(request, "web/delib/matters.html", ctx)


@login_required
def matter_page(request: HttpRequest, matter_id: int) -> HttpResponse:
    """One matter's six steps in order, the form of the next, the export for the township."""
    matter = _get(d.load_matter, matter_id)
    try:
        who = _officer_or_403(request, matter.hall)
        if request.method == "POST":
            held_on = _day(request.POST.get("held_on"), "held_on")
            if held_on is None:
                raise InvalidError(_("请填写日期"))
            names = request.POST.get("signatures", "").replace("，", ",").split(",")
            d.do_record_step(
                matter,
                actor=who,
                step=request.POST.get("step", ""),
                held_on=held_on,
                attendance=_int_or_none(request.POST.get("attendance"), "attendance") or 0,
                signatures=[n.strip() for n in names if n.strip()],
                note=request.POST.get("note", ""),
                photos=request.FILES.getlist("photos"),
            )
            return _done(request, f"/matters/{matter.pk}/")
    except ActionError as exc:
        return error_response(request, exc)
    steps = list(matter.steps.order_by("id"))
    following = states.next_step([s.step for s in steps])
    ctx = {
        "matter": matter,
        "hall": matter.hall,
        "steps": steps,
        "next": following,
        "next_label": dict(states.STEPS).get(following or "", ""),
        "officer": register.is_officer(who, matter.hall),
        "today": timezone.localdate(),
    }
    return render(request, "web/delib/matter.html", ctx)


@login_required
def matter_export(request: HttpRequest, matter_id: int, fmt: str) -> HttpResponse | FileResponse:
    """The filled 四议两公开 forms of one matter as .xlsx or PDF."""
    matter = _get(d.load_matter, matter_id)
    try:
        _officer_or_403(request, matter.hall)
    except ActionError as exc:
        return error_response(request, exc)
    if fmt not in ("xlsx", "pdf"):
        raise Http404("xlsx or pdf")
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    if fmt == "xlsx":
        exports.write_xlsx(matter, out)
        content_type = exports.XLSX
    else:
        exports.write_pdf(matter, out)
        content_type = "application/pdf"
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=f"四议两公开-{matter.pk}.{fmt}", content_type=content_type
    )


# --- the township's late list -----------------------------------------------------------------


def _watched_halls(who: Actor) -> list[Hall]:
    return [
        m.hall
        for m in who.memberships
        if m.role in (Role.MANAGER, Role.LEADER) and m.hall is not None
    ]


@login_required
def late(request: HttpRequest) -> HttpResponse:
    """Compelled meetings past their convene deadline, resolutions and results published late
    or not yet, in the manager's (or leader's) halls."""
    who = actor_of(request)
    assert who is not None
    halls = _watched_halls(who)
    if not halls and not who.is_admin:
        return error_response(request, ForbiddenError(_("此页面只对乡镇管理员和领导开放")))
    now = timezone.now()
    here = Q()
    for h in halls:
        here |= Q(hall__path__startswith=h.path)
    if who.is_admin:
        here = Q()
    convene = (
        Meeting.objects.filter(here)
        .filter(Q(late=True, status=MeetingState.DRAFT) | Q(status="draft", convene_by__lt=now))
        .exclude(convene_by__isnull=True)
        .select_related("hall", "compelled_by")
        .order_by("convene_by")
    )
    publicity = (
        Meeting.objects.filter(here, status=MeetingState.CLOSED, purpose=Purpose.DECISION)
        .filter(
            Q(late=True)
            | Q(published_at__isnull=True, publish_by__lt=now)
            | Q(published_at__gt=F("publish_by"))
        )
        .select_related("hall")
        .order_by("publish_by")
    )
    results = (
        Project.objects.filter(here, publish_by__isnull=False)
        .filter(
            Q(late=True)
            | Q(published_at__isnull=True, publish_by__lt=now)
            | Q(published_at__gt=F("publish_by"))
        )
        .select_related("hall")
        .order_by("publish_by")
    )
    ctx = {
        "halls": halls,
        "convene": list(convene[:200]),
        "publicity": list(publicity[:200]),
        "results": list(results[:200]),
        "now": now,
    }
    return render(request, "web/delib/late.html", ctx)


# --- photos -----------------------------------------------------------------------------------


def photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """A deliberation photo; photos of internal events only for the hall's officers."""
    p = (
        Photo.objects.select_related(
            "event__topic__hall", "event__meeting__hall", "event__project__hall", "event__matter"
        )
        .filter(pk=photo_id)
        .first()
    )
    if p is None:
        raise Http404("no such photo")
    owner = p.event.topic or p.event.meeting or p.event.project or p.event.matter
    who = actor_of(request)
    hidden = not p.event.public or p.event.matter_id is not None or p.event.verb == "tally"
    if hidden and (owner is None or who is None or not register.sees_internal(who, owner.hall)):
        raise Http404("no such photo")
    return FileResponse(p.file.open("rb"), content_type=p.content_type)


# --- links from other pages -------------------------------------------------------------------


def deliberation_links(who: Actor) -> list[tuple[str, str]]:
    """Workspace links: the deliberation of each hall the person runs or lives in, the late list."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    halls = [
        m.hall
        for m in who.memberships
        if m.role in (Role.LIAISON, Role.MANAGER) and m.hall is not None
    ]
    halls += [r.hall for r in who.user.residencies.filter(active=True).select_related("hall")]
    for hall in halls:
        if hall.kind in register.REGISTER_KINDS and hall.code not in seen:
            seen.add(hall.code)
            out.append((f"/h/{hall.code}/topics/", f"{hall.name} · {_('议事')}"))
    if _watched_halls(who) and any(m.role == Role.MANAGER for m in who.memberships):
        out.append(("/late/", _("议事逾期")))
    return out

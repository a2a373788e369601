"""Every write of the deliberation: one `do_<verb>` per verb, one transaction, one event.

Pages, the API, the CLI and the sweep call these; nothing else saves a topic, meeting, ballot
or project. Each checks the actor's scope in the hall tree first (403), then the state table
(409), then the input (422). A state change is a conditional update on (pk, version): of two
people acting at once one wins and the other gets `conflict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from yishiting.core.errors import (
    ActionError,
    ConflictError,
    ForbiddenError,
    IllegalTransitionError,
    InvalidError,
    NotFoundError,
)
from yishiting.deliberation import notices as tell
from yishiting.deliberation import register, rules, states
from yishiting.deliberation.models import (
    Attendance,
    Ballot,
    Channel,
    Choice,
    Comment,
    DeliberationRules,
    Event,
    Household,
    Matter,
    Meeting,
    Milestone,
    Photo,
    Project,
    Purpose,
    Resident,
    Stance,
    Step,
    Support,
    Tally,
    Topic,
)
from yishiting.deliberation.rules import BodyKind, Counts, VoteUnit
from yishiting.deliberation.states import MeetingState, TopicState
from yishiting.orgs.models import Hall, HallKind, User
from yishiting.orgs.scope import Actor
from yishiting.requests import actions as request_actions
from yishiting.requests.models import Request
from yishiting.requests.photos import MAX_PHOTOS, clean_photo
from yishiting.requests.photos import Photo as CleanPhoto
from yishiting.requests.states import State as RequestState

ActorArg = User | Actor | None
Upload = IO[bytes]
MAX_TEXT = 4000
MAX_NOTE = 2000
# A meeting may be opened for sign-in this long before it starts.
OPEN_EARLY = timedelta(hours=1)
# A request of a project counts as done in these states.
REQUEST_DONE = frozenset({RequestState.RESOLVED, RequestState.CLOSED})


class RuleError(ActionError):
    """The law's numbers refuse it (HTTP 409): the message names the rule and its source."""

    code = "rule_failed"
    status = 409


# --- small helpers ----------------------------------------------------------------------------


# What a conflict message calls a model.
KIND_NAMES: dict[str, Any] = {
    "Topic": gettext_lazy("议题"),
    "Meeting": gettext_lazy("会议"),
    "Project": gettext_lazy("项目"),
    "Matter": gettext_lazy("“四议两公开”事项"),
}


def _who(actor: ActorArg) -> Actor:
    if actor is None:
        raise ForbiddenError(_("请先登录"))
    return actor if isinstance(actor, Actor) else Actor.of(actor)


# What a message calls an input field (the field's code when it has no label here).
FIELD_LABELS: dict[str, Any] = {
    "title": gettext_lazy("标题"),
    "text": gettext_lazy("内容"),
    "motion": gettext_lazy("表决事项"),
    "preread": gettext_lazy("会前材料"),
    "place": gettext_lazy("会议地点"),
    "reason": gettext_lazy("理由"),
    "note": gettext_lazy("说明"),
    "resolution": gettext_lazy("决议"),
    "dissent": gettext_lazy("不同意见"),
    "signatures": gettext_lazy("签名"),
    "attendance": gettext_lazy("参加人数"),
    "milestone": gettext_lazy("项目节点"),
    "meeting": gettext_lazy("会议"),
    "topic": gettext_lazy("议题"),
    "resident": gettext_lazy("居民"),
    "proxy_for": gettext_lazy("代理的户"),
}


def _field(name: str) -> str:
    """A field's name as a message shows it."""
    return str(FIELD_LABELS.get(name, name))


def _text(value: str | None, name: str, limit: int = MAX_TEXT, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidError(_("%(name)s：必填") % {"name": _field(name)})
    if len(value) > limit:
        raise InvalidError(_("%(name)s：最多 %(n)s 个字") % {"name": _field(name), "n": limit})
    if "\x00" in value:
        raise InvalidError(_("%(name)s：不允许 NUL 字符") % {"name": _field(name)})
    return value


def _hall(hall: Hall | str | None) -> Hall:
    if isinstance(hall, Hall):
        return hall
    found = Hall.objects.filter(code=hall or "").first()
    if found is None:
        raise InvalidError(_("议事厅：没有编码为“%(code)s”的议事厅") % {"code": hall or ""})
    return found


def _photos(uploads: Sequence[Upload] | None) -> list[CleanPhoto]:
    uploads = list(uploads or [])
    if len(uploads) > MAX_PHOTOS:
        raise InvalidError(_("最多 %(n)s 张照片") % {"n": MAX_PHOTOS})
    return [clean_photo(u, getattr(u, "name", f"photo {i + 1}")) for i, u in enumerate(uploads)]


def _event(
    now: datetime,
    verb: str,
    who: Actor | None,
    *,
    topic: Topic | None = None,
    meeting: Meeting | None = None,
    project: Project | None = None,
    matter: Matter | None = None,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    public: bool = True,
    data: dict[str, Any] | None = None,
    photos: Iterable[CleanPhoto] = (),
    files: _Files | None = None,
) -> Event:
    """Write one event (and its photos) inside the caller's transaction."""
    event = Event.objects.create(
        topic=topic,
        meeting=meeting,
        project=project,
        matter=matter,
        verb=verb,
        actor=who.user if who else None,
        from_status=from_status,
        to_status=to_status,
        note=note,
        public=public,
        data=data or {},
        created_at=now,
    )
    for clean in photos:
        photo = Photo(
            event=event,
            content_type=clean.content_type,
            size=clean.content.size,
            width=clean.width,
            height=clean.height,
            sha256=clean.sha256,
            created_at=now,
        )
        photo.file.save(clean.content.name or "photo.jpg", clean.content, save=False)
        if files is not None:
            files.saved.append(photo)
        photo.save()
    return event


class _Files:
    """Photos written inside the block; their files are removed if the block raises (the
    transaction that referenced them rolled back)."""

    def __init__(self) -> None:
        self.saved: list[Photo] = []

    def __enter__(self) -> _Files:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            for photo in self.saved:
                if photo.file.name:
                    photo.file.storage.delete(photo.file.name)


def _move(obj: Any, to: str, now: datetime | None = None, **fields: Any) -> None:
    """Conditional update of a topic, meeting or project on its version (409 if it moved)."""
    model = type(obj)
    updated = model.objects.filter(pk=obj.pk, version=obj.version).update(
        status=to, version=F("version") + 1, **fields
    )
    if updated != 1:
        raise ConflictError(
            _("%(what)s %(id)s 已被他人修改，请刷新后再试")
            % {"what": KIND_NAMES.get(model.__name__, model.__name__), "id": obj.pk}
        )
    obj.status = to
    obj.version += 1
    for name, value in fields.items():
        setattr(obj, name, value)


def _today(now: datetime) -> date:
    return timezone.localtime(now).date()


def _publicity(hall: Hall) -> timedelta:
    return timedelta(hours=DeliberationRules.for_county(hall.county_code).publicity_hours)


# --- loading (404) ----------------------------------------------------------------------------


def load_topic(topic: Topic | int) -> Topic:
    """The topic to act on (an instance is the snapshot the caller saw)."""
    if isinstance(topic, Topic):
        return topic
    found = Topic.objects.select_related("hall").filter(pk=topic).first()
    if found is None:
        raise NotFoundError(_("找不到议题 %(id)s") % {"id": topic})
    return found


def load_meeting(meeting: Meeting | int) -> Meeting:
    """The meeting to act on."""
    if isinstance(meeting, Meeting):
        return meeting
    found = Meeting.objects.select_related("hall", "rule", "project").filter(pk=meeting).first()
    if found is None:
        raise NotFoundError(_("找不到会议 %(id)s") % {"id": meeting})
    return found


def load_project(project: Project | int) -> Project:
    """The project to act on."""
    if isinstance(project, Project):
        return project
    found = Project.objects.select_related("hall", "meeting").filter(pk=project).first()
    if found is None:
        raise NotFoundError(_("找不到项目 %(id)s") % {"id": project})
    return found


def load_matter(matter: Matter | int) -> Matter:
    """The 四议两公开 matter to act on."""
    if isinstance(matter, Matter):
        return matter
    found = Matter.objects.select_related("hall").filter(pk=matter).first()
    if found is None:
        raise NotFoundError(_("找不到“四议两公开”事项 %(id)s") % {"id": matter})
    return found


def _officer(who: Actor, hall: Hall, verb: Any) -> None:
    """403 unless the actor is the hall's liaison or on its committee; `verb` says what."""
    if not register.is_officer(who, hall):
        raise ForbiddenError(
            _("只有本议事厅的联络员或村（居）委会成员可以%(verb)s") % {"verb": verb}
        )


# --- topics -----------------------------------------------------------------------------------


def do_raise_topic(
    *,
    actor: ActorArg,
    hall: Hall | str,
    title: str,
    text: str,
    body: str | None = None,
    requests: Sequence[int] = (),
    photos: Sequence[Upload] | None = None,
    suggested: bool = False,
    now: datetime | None = None,
) -> Topic:
    """A resident, representative, liaison or the committee raises a topic in a hall."""
    now = now or timezone.now()
    who = _who(actor)
    hall = _hall(hall)
    kind = register.body_for(hall, body)
    resident = register.resident_of(who.user.pk, hall)
    officer = register.is_officer(who, hall)
    if resident is None and not officer:
        raise ForbiddenError(_("议题由本议事厅登记在册的居民或工作人员提出"))
    title = _text(title, "title", 100)
    text = _text(text, "text")
    linked = _requests_of(hall, requests)
    cleaned = _photos(photos)
    raised_as = (
        "committee"
        if resident is not None and resident.committee
        else "liaison"
        if who.handles_hall(hall)
        else "representative"
        if resident is not None and resident.representative
        else "resident"
        if resident is not None
        else "officer"
    )
    with _Files() as files, transaction.atomic():
        topic = Topic.objects.create(
            hall=hall,
            title=title,
            text=text,
            body=kind,
            raised_by=who.user,
            raised_as=raised_as,
            suggested=suggested,
            created_at=now,
        )
        topic.requests.set(linked)
        _event(
            now,
            "raise",
            who,
            topic=topic,
            to_status=topic.status,
            data={"hall": hall.code, "body": kind.value, "requests": [r.pk for r in linked]},
            photos=cleaned,
            files=files,
        )
    return topic


def _requests_of(hall: Hall, ids: Sequence[int]) -> list[Request]:
    """Requests raised in the hall's subtree, by id (422 for any other)."""
    ids = list(dict.fromkeys(int(i) for i in ids or ()))
    found = list(Request.objects.filter(pk__in=ids, origin_hall__path__startswith=hall.path))
    missing = sorted(set(ids) - {r.pk for r in found})
    if missing:
        raise InvalidError(
            _("诉求：%(ids)s 不是本议事厅的诉求") % {"ids": "、".join(map(str, missing))}
        )
    return found


def do_comment(
    topic: Topic | int,
    *,
    actor: ActorArg,
    text: str,
    stance: str = Stance.NEUTRAL,
    public: bool = True,
    photos: Sequence[Upload] | None = None,
    now: datetime | None = None,
) -> Comment:
    """A comment for, against or neutral; an internal one is a note among the officers."""
    now = now or timezone.now()
    who = _who(actor)
    topic = load_topic(topic)
    if public and not register.may_take_part(who, topic.hall):
        raise ForbiddenError(_("只有本议事厅登记在册的居民和工作人员可以参与讨论"))
    if not public and not register.is_officer(who, topic.hall):
        raise ForbiddenError(_("内部备注仅限本议事厅的工作人员"))
    states.check("topic", "comment", topic.status)
    if stance not in Stance.values:
        raise InvalidError(_("立场：应为 %(values)s 之一") % {"values": ", ".join(Stance.values)})
    text = _text(text, "text", MAX_NOTE)
    cleaned = _photos(photos)
    with _Files() as files, transaction.atomic():
        comment = Comment.objects.create(
            topic=topic, author=who.user, stance=stance, text=text, public=public, created_at=now
        )
        _event(
            now,
            "comment",
            who,
            topic=topic,
            note=text,
            public=public,
            data={"stance": stance, "comment": comment.pk},
            photos=cleaned,
            files=files,
        )
    return comment


def support_counts(topic: Topic) -> Counts:
    """The register and the topic's supporters as Counts (persons, households, reps)."""
    counts = register.register_counts(topic.hall, topic.body)
    got = Support.objects.filter(topic=topic).aggregate(
        persons=Count("id"),
        households=Count("household", distinct=True),
        reps=Count("id", filter=Q(resident__representative=True)),
        members=Count(
            "id",
            filter=Q(resident__representative=True) | Q(resident__committee=True)
            if topic.body == BodyKind.VILLAGE_REPRESENTATIVES
            else Q(resident__party_member=True)
            if topic.body == BodyKind.PARTY_ASSEMBLY
            else Q(),
        ),
    )
    counts.present_adults = got["persons"]
    counts.present_households = got["households"]
    counts.present_representatives = got["reps"]
    counts.present_members = got["members"]
    return counts


def progress(topic: Topic, on: date) -> list[dict[str, Any]]:
    """Progress toward each fraction that compels a meeting of the topic's body."""
    rule = rules.rule_for(topic.body, on)
    return rules.compel_progress(rule, support_counts(topic))


def do_support(
    topic: Topic | int, *, actor: ActorArg, now: datetime | None = None
) -> tuple[Topic, Meeting | None]:
    """A verified resident of the hall supports a topic (once). Crossing a compel threshold
    creates the meeting the committee must convene, with its deadline; returns it then."""
    now = now or timezone.now()
    who = _who(actor)
    topic = load_topic(topic)
    resident = register.resident_of(who.user.pk, topic.hall)
    if resident is None:
        raise ForbiddenError(_("只有本议事厅登记在册、已核实的居民可以联名支持"))
    states.check("topic", "support", topic.status)
    compelled: Meeting | None = None
    try:
        with transaction.atomic():
            # Serialise the supports of one topic (PostgreSQL; SQLite writers queue anyway).
            locked = Topic.objects.select_for_update().get(pk=topic.pk)
            Support.objects.create(
                topic=locked, resident=resident, household_id=resident.household_id, created_at=now
            )
            counts = support_counts(locked)
            Topic.objects.filter(pk=locked.pk).update(
                supporters=counts.present_adults,
                supporting_households=counts.present_households,
                supporting_representatives=counts.present_representatives,
            )
            rule = rules.rule_for(locked.body, _today(now))
            reached = [p for p in rules.compel_progress(rule, counts) if p["reached"]]
            _event(
                now,
                "support",
                who,
                topic=locked,
                data={"household": resident.household_id, "supporters": counts.present_adults},
            )
            if reached and locked.status == TopicState.OPEN:
                compelled = _compel(locked, rule, reached, now)
    except IntegrityError:
        raise ConflictError(_("您已联名支持过这个议题")) from None
    topic.refresh_from_db()
    return topic, compelled


def _compel(topic: Topic, rule: Any, reached: list[dict[str, Any]], now: datetime) -> Meeting:
    """Support crossed a threshold: the topic is compelled and its meeting must be convened
    by the deadline (the sweep tells the township if it is not)."""
    convene_by = now + timedelta(days=rule.convene_days)
    _move(topic, TopicState.COMPELLED, compelled_at=now)
    name = rules.BODY_NAMES[BodyKind(topic.body)]
    meeting = Meeting.objects.create(
        hall=topic.hall,
        body=topic.body,
        title=f"{name}：{topic.title}"[:100],
        motion=topic.title,
        starts_at=convene_by,
        compelled_by=topic,
        convene_by=convene_by,
        next_due_at=convene_by,
        created_at=now,
    )
    meeting.topics.add(topic)
    data = {"meeting": meeting.pk, "convene_by": convene_by.isoformat(), "reached": reached}
    _event(now, "compel", None, topic=topic, from_status="open", to_status="compelled", data=data)
    _event(now, "compelled", None, meeting=meeting, to_status=meeting.status, data=data)
    tell.compelled(meeting, topic, now)
    return meeting


def do_link_request(
    topic: Topic | int, *, actor: ActorArg, request: int, now: datetime | None = None
) -> Topic:
    """An officer links a request of the hall to the topic."""
    now = now or timezone.now()
    who = _who(actor)
    topic = load_topic(topic)
    _officer(who, topic.hall, pgettext("verb", "关联诉求"))
    states.check("topic", "link", topic.status)
    linked = _requests_of(topic.hall, [request])
    with transaction.atomic():
        topic.requests.add(*linked)
        _event(now, "link", who, topic=topic, data={"request": linked[0].pk})
    return topic


def do_withdraw_topic(
    topic: Topic | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Topic:
    """Whoever raised an open topic (or an officer) withdraws it."""
    now = now or timezone.now()
    who = _who(actor)
    topic = load_topic(topic)
    if topic.raised_by_id != who.user.pk and not register.is_officer(who, topic.hall):
        raise ForbiddenError(_("只有议题的提出人或工作人员可以撤回议题"))
    to = states.check("topic", "withdraw", topic.status)
    with transaction.atomic():
        before = topic.status
        _move(topic, to)
        _event(now, "withdraw", who, topic=topic, from_status=before, to_status=to, note=note)
    return topic


def suggestions(hall: Hall, now: datetime, *, size: int = 3) -> list[dict[str, Any]]:
    """Suggested topics: clusters of `size` or more similar requests raised in the hall within
    30 days and linked to no topic yet (the routing duplicate signatures)."""
    import numpy as np

    from yishiting.routing import duplicates
    from yishiting.routing.models import Fingerprint

    rows = list(
        Fingerprint.objects.filter(
            hall_id=hall.pk, created_at__gte=now - duplicates.WINDOW, created_at__lte=now
        )
        .exclude(request__topics__isnull=False)
        .order_by("created_at")
        .values_list("request_id", "signature")[: duplicates.MAX_CANDIDATES]
    )
    if len(rows) < size:
        return []
    ids = [r[0] for r in rows]
    sigs = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype=np.uint32).reshape(
        len(rows), duplicates.PERMUTATIONS
    )
    used: set[int] = set()
    clusters = []
    for i in range(len(rows)):
        if i in used:
            continue
        scores = (sigs == sigs[i][None, :]).mean(axis=1)
        members = [j for j in np.where(scores >= duplicates.MIN_SIMILARITY)[0] if j not in used]
        if len(members) >= size:
            used.update(int(j) for j in members)
            clusters.append([ids[int(j)] for j in members])
    titles = dict(
        Request.objects.filter(pk__in=[i for c in clusters for i in c]).values_list("pk", "title")
    )
    return [{"title": titles.get(c[0], ""), "requests": c, "count": len(c)} for c in clusters]


# --- meetings ---------------------------------------------------------------------------------


def _rule(meeting: Meeting) -> Any:
    return rules.rule_for(meeting.body, _today(meeting.starts_at))


def do_create_meeting(
    *,
    actor: ActorArg,
    hall: Hall | str,
    title: str,
    starts_at: datetime,
    body: str | None = None,
    topics: Sequence[int] = (),
    motion: str = "",
    preread: str = "",
    place: str = "",
    now: datetime | None = None,
) -> Meeting:
    """An officer calls a meeting of a body, with its agenda of topics (still a draft)."""
    now = now or timezone.now()
    who = _who(actor)
    hall = _hall(hall)
    _officer(who, hall, pgettext("verb", "召集会议"))
    kind = register.body_for(hall, body)
    title = _text(title, "title", 100)
    if starts_at is None or timezone.is_naive(starts_at):
        raise InvalidError(_("开会时间：须为带时区的日期和时间"))
    if starts_at <= now:
        raise InvalidError(_("开会时间：须晚于现在"))
    agenda = _topics_for_agenda(hall, topics)
    with transaction.atomic():
        meeting = Meeting.objects.create(
            hall=hall,
            body=kind,
            title=title,
            motion=_text(motion, "motion", required=False) or title,
            preread=_text(preread, "preread", required=False),
            place=_text(place, "place", 200, required=False),
            starts_at=starts_at,
            created_by=who.user,
            created_at=now,
        )
        meeting.topics.set(agenda)
        _event(
            now,
            "create",
            who,
            meeting=meeting,
            to_status=meeting.status,
            data={"body": kind.value, "topics": [t.pk for t in agenda]},
        )
    return meeting


def _topics_for_agenda(hall: Hall, ids: Sequence[int]) -> list[Topic]:
    """Open topics of the hall's subtree (a compelled topic already has its meeting)."""
    ids = list(dict.fromkeys(int(i) for i in ids or ()))
    found = list(Topic.objects.filter(pk__in=ids, hall__path__startswith=hall.path))
    missing = sorted(set(ids) - {t.pk for t in found})
    if missing:
        raise InvalidError(
            _("议题：%(ids)s 不是本议事厅的议题") % {"ids": "、".join(map(str, missing))}
        )
    for topic in found:
        if topic.status != TopicState.OPEN:
            raise IllegalTransitionError(
                _("议题 %(id)s “%(state)s”，不能列入议程")
                % {"id": topic.pk, "state": states.label("topic", topic.status)}
            )
    return found


def do_agenda(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    starts_at: datetime | None = None,
    title: str | None = None,
    motion: str | None = None,
    preread: str | None = None,
    place: str | None = None,
    topics: Sequence[int] | None = None,
    now: datetime | None = None,
) -> Meeting:
    """An officer sets a draft meeting's time, title, motion, pre-read or added topics."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, _("筹备会议"))
    states.check("meeting", "agenda", meeting.status)
    fields: dict[str, Any] = {}
    if starts_at is not None:
        if timezone.is_naive(starts_at) or starts_at <= now:
            raise InvalidError(_("开会时间：须为晚于现在、带时区的日期和时间"))
        fields["starts_at"] = starts_at
    if title is not None:
        fields["title"] = _text(title, "title", 100)
    if motion is not None:
        fields["motion"] = _text(motion, "motion")
    if preread is not None:
        fields["preread"] = _text(preread, "preread", required=False)
    if place is not None:
        fields["place"] = _text(place, "place", 200, required=False)
    added = _topics_for_agenda(meeting.hall, topics or [])
    with transaction.atomic():
        _move(meeting, meeting.status, **fields)
        meeting.topics.add(*added)
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
        data["topics"] = [t.pk for t in added]
        _event(now, "agenda", who, meeting=meeting, data=data)
    return meeting


def do_notify(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    urgent: bool = False,
    reason: str = "",
    now: datetime | None = None,
) -> Meeting:
    """Send the notice with the pre-read to every member (and the hall's group): refused
    if less than the rule's notice period ahead, unless urgent with a reason."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, _("发送会议通知"))
    to = states.check("meeting", "notify", meeting.status)
    if meeting.starts_at <= now:
        raise InvalidError(_("开会时间：会议时间已过，请先重新设定时间（议程）"))
    rule = _rule(meeting)
    problem = rules.notice_problem(rule, _today(now), _today(meeting.starts_at))
    reason = _text(reason, "reason", 500, required=False)
    if problem and not urgent:
        raise RuleError(problem)
    if urgent and not reason:
        raise InvalidError(_("理由：紧急召开会议须说明理由"))
    on_time = meeting.convene_by is None or now <= meeting.convene_by
    agenda = list(meeting.topics.all())
    with transaction.atomic():
        _move(
            meeting,
            to,
            notified_at=now,
            rule=rule,
            urgent=urgent,
            urgent_reason=reason,
            next_due_at=None,
        )
        for topic in agenda:
            if topic.status in (TopicState.OPEN, TopicState.COMPELLED):
                before = topic.status
                _move(topic, TopicState.SCHEDULED)
                _event(
                    now,
                    "schedule",
                    who,
                    topic=topic,
                    from_status=before,
                    to_status=topic.status,
                    data={"meeting": meeting.pk},
                )
        _event(
            now,
            "notify",
            who,
            meeting=meeting,
            from_status="draft",
            to_status=to,
            note=reason,
            data={
                "rule": rule.pk,
                "notice_days": rule.notice_days,
                "urgent": urgent,
                "starts_at": meeting.starts_at.isoformat(),
                "convened_on_time": on_time,
            },
        )
        tell.notice(meeting, now)
    return meeting


def do_open(meeting: Meeting | int, *, actor: ActorArg, now: datetime | None = None) -> Meeting:
    """An officer opens the session: sign-in and voting start (from an hour before)."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, pgettext("verb", "宣布开会"))
    to = states.check("meeting", "open", meeting.status)
    if now < meeting.starts_at - OPEN_EARLY:
        local = timezone.localtime(meeting.starts_at)
        raise IllegalTransitionError(_("会议 %(time)s 开始") % {"time": f"{local:%Y-%m-%d %H:%M}"})
    with transaction.atomic():
        _move(meeting, to)
        _event(now, "open", who, meeting=meeting, from_status="notified", to_status=to)
    return meeting


def _member(
    meeting: Meeting, resident_id: int | None = None, user_id: int | None = None
) -> Resident:
    """A member of the meeting's body (403 for anyone else)."""
    qs = register.roster(meeting.hall, meeting.body).select_related("household")
    found = (
        qs.filter(pk=resident_id).first()
        if resident_id is not None
        else qs.filter(user_id=user_id).first()
        if user_id is not None
        else None
    )
    if found is None:
        raise ForbiddenError(
            _("您不在本次%(body)s的组成人员名册中")
            % {"body": rules.BODY_LABELS[BodyKind(meeting.body)]}
        )
    return found


def _voice(
    meeting: Meeting, rule: Any, resident: Resident, proxy_for: int | None
) -> tuple[str, int, bool]:
    """Who a sign-in or ballot speaks for: (key, household id, proxy). One person one voice;
    one household one voice when the body votes by household or a proxy holds it."""
    if proxy_for is not None:
        if not rule.proxies:
            raise RuleError(
                _("%(body)s不接受委托代理") % {"body": rules.BODY_LABELS[BodyKind(meeting.body)]}
            )
        household = Household.objects.filter(
            pk=proxy_for, members__in=register.roster(meeting.hall, meeting.body)
        ).first()
        if household is None:
            raise InvalidError(_("代理的户：户 %(id)s 不在本名册中") % {"id": proxy_for})
        if household.pk == resident.household_id:
            raise InvalidError(_("代理的户：您本户已由您本人到会"))
        if Attendance.objects.filter(meeting=meeting, household=household, proxy=False).exists():
            raise ConflictError(_("户 %(number)s 已有本人到会") % {"number": household.number})
        return f"h:{household.pk}", household.pk, True
    if rule.vote_unit == VoteUnit.HOUSEHOLD:
        return f"h:{resident.household_id}", resident.household_id, False
    if Attendance.objects.filter(
        meeting=meeting, household_id=resident.household_id, proxy=True
    ).exists():
        raise ConflictError(_("您这一户已由代理人代表"))
    return f"r:{resident.pk}", resident.household_id, False


def _lock(meeting: Meeting) -> None:
    """Serialise sign-ins and ballots of one meeting (PostgreSQL row lock; SQLite writers
    queue anyway): the in-person / proxy checks then see every earlier voice."""
    Meeting.objects.select_for_update().filter(pk=meeting.pk).values_list("pk").first()
    if meeting.status != MeetingState.IN_SESSION:
        return
    status = Meeting.objects.filter(pk=meeting.pk).values_list("status", flat=True).first()
    if status != MeetingState.IN_SESSION:
        raise IllegalTransitionError(
            _("会议“%(state)s”，不能再签到或投票")
            % {"state": states.label("meeting", status or "")}
        )


def _attend(
    meeting: Meeting,
    rule: Any,
    resident: Resident,
    proxy_for: int | None,
    channel: str,
    now: datetime,
) -> tuple[Attendance, bool]:
    """The attendance row of this voice, created if missing: (row, created)."""
    key, household_id, proxy = _voice(meeting, rule, resident, proxy_for)
    existing = Attendance.objects.filter(meeting=meeting, key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = Attendance.objects.create(
                meeting=meeting,
                key=key,
                resident=resident,
                household_id=household_id,
                proxy=proxy,
                channel=channel,
                created_at=now,
            )
    except IntegrityError:
        found = Attendance.objects.filter(meeting=meeting, key=key).first()
        if found is None:
            raise ConflictError(_("签到同时发生冲突，请重试")) from None
        return found, False
    return row, True


def do_sign_in(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    token: str | None = None,
    resident: int | None = None,
    proxy_for: int | None = None,
    now: datetime | None = None,
) -> Attendance:
    """Sign in: a member with the QR code's token, or an officer for a named member; a
    household's proxy with `proxy_for`. Signing in twice counts once."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    if resident is not None:
        _officer(who, meeting.hall, _("代成员签到"))
        member = _member(meeting, resident_id=resident)
        channel = Channel.OFFICER
    else:
        member = _member(meeting, user_id=who.user.pk)
        if not token or token != meeting.sign_in_token:
            raise ForbiddenError(_("请扫描会议二维码签到"))
        channel = Channel.QR
    states.check("meeting", "sign_in", meeting.status)
    rule = meeting.rule or _rule(meeting)
    with transaction.atomic():
        _lock(meeting)
        row, created = _attend(meeting, rule, member, proxy_for, channel, now)
        if created:
            _event(
                now,
                "sign_in",
                who,
                meeting=meeting,
                public=False,
                data={"key": row.key, "channel": channel, "proxy": row.proxy},
            )
    return row


def do_vote(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    choice: str,
    proxy_for: int | None = None,
    now: datetime | None = None,
) -> Ballot:
    """A member votes online (which signs them in). One person (or household) one vote:
    a second vote, online or on paper, is refused."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    member = _member(meeting, user_id=who.user.pk)
    states.check("meeting", "vote", meeting.status)
    if choice not in Choice.values:
        raise InvalidError(
            _("表决意见：应为 %(values)s 之一") % {"values": ", ".join(Choice.values)}
        )
    rule = meeting.rule or _rule(meeting)
    try:
        with transaction.atomic():
            _lock(meeting)
            row, _created = _attend(meeting, rule, member, proxy_for, Channel.ONLINE, now)
            ballot = Ballot.objects.create(
                meeting=meeting,
                key=row.key,
                resident=member,
                choice=choice,
                channel=Channel.ONLINE,
                created_at=now,
            )
    except IntegrityError:
        raise ConflictError(_("已经投过票（线上或纸质）：一人一票")) from None
    return ballot


def do_tally(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    ballots: Sequence[dict[str, Any]],
    photo: Upload | None,
    now: datetime | None = None,
) -> Tally:
    """An officer enters the paper ballots of a signed sheet (each: `resident`, `choice`,
    optional `proxy_for`) with a photo of the sheet. Anyone on it who already voted, online
    or on another sheet, refuses the whole sheet: nothing is counted twice."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, _("录入纸质选票"))
    states.check("meeting", "tally", meeting.status)
    if not ballots:
        raise InvalidError(_("选票：至少一张"))
    if len(ballots) > 50_000:
        raise InvalidError(_("选票：一张计票单最多 50000 张"))
    if photo is None:
        raise InvalidError(_("照片：须附签名计票单的照片"))
    cleaned = _photos([photo])
    rule = meeting.rule or _rule(meeting)
    roster = {
        r.pk: r
        for r in register.roster(meeting.hall, meeting.body).filter(
            pk__in=[_int(b.get("resident"), "resident") for b in ballots]
        )
    }
    voices: list[tuple[Resident, str, int | None]] = []
    for i, b in enumerate(ballots, start=1):
        rid = _int(b.get("resident"), f"ballots[{i}].resident")
        if rid not in roster:
            raise InvalidError(
                _("选票[%(i)s]：居民 %(id)s 不是本次会议的组成人员") % {"i": i, "id": rid}
            )
        choice = b.get("choice")
        if choice not in Choice.values:
            raise InvalidError(
                _("选票[%(i)s] 表决意见：应为 %(values)s 之一")
                % {"i": i, "values": ", ".join(Choice.values)}
            )
        proxy = b.get("proxy_for")
        voices.append(
            (roster[rid], str(choice), None if proxy is None else _int(proxy, "proxy_for"))
        )
    with _Files() as files, transaction.atomic():
        _lock(meeting)
        keys: list[tuple[Resident, str, str]] = []
        seen: set[str] = set()
        proxied: set[int] = set()
        in_person: set[int] = set()
        for member, choice, proxy in voices:
            key, household_id, by_proxy = _voice(meeting, rule, member, proxy)
            if key in seen:
                raise InvalidError(
                    _("计票单上 %(name)s（%(key)s）出现了两次") % {"name": member.name, "key": key}
                )
            seen.add(key)
            (proxied if by_proxy else in_person).add(household_id)
            keys.append((member, choice, key))
        if proxied & in_person:
            raise InvalidError(
                _("计票单上户 %(ids)s 既有本人投票又有代理投票")
                % {"ids": "、".join(map(str, sorted(proxied & in_person)))}
            )
        voted = set(
            Ballot.objects.filter(meeting=meeting, key__in=list(seen)).values_list("key", flat=True)
        )
        if voted:
            names = [m.name for m, _c, k in keys if k in voted]
            more = (_("等 %(n)s 人") % {"n": len(names)}) if len(names) > 20 else ""
            raise ConflictError(
                _("已在线上或其他计票单上投过票：%(names)s%(more)s")
                % {"names": "、".join(names[:20]), "more": more}
            )
        present = set(
            Attendance.objects.filter(meeting=meeting, key__in=list(seen)).values_list(
                "key", flat=True
            )
        )
        Attendance.objects.bulk_create(
            [
                Attendance(
                    meeting=meeting,
                    key=key,
                    resident=member,
                    household_id=int(key[2:]) if key.startswith("h:") else member.household_id,
                    proxy=key.startswith("h:") and rule.vote_unit != VoteUnit.HOUSEHOLD,
                    channel=Channel.PAPER,
                    created_at=now,
                )
                for member, _c, key in keys
                if key not in present
            ]
        )
        tally = Tally.objects.create(
            meeting=meeting, entered_by=who.user, ballots=len(keys), created_at=now
        )
        try:
            with transaction.atomic():
                Ballot.objects.bulk_create(
                    [
                        Ballot(
                            meeting=meeting,
                            key=key,
                            resident=member,
                            choice=choice,
                            channel=Channel.PAPER,
                            tally=tally,
                            created_at=now,
                        )
                        for member, choice, key in keys
                    ]
                )
        except IntegrityError:
            raise ConflictError(_("计票单上有人刚刚在线上投了票，请重新录入")) from None
        by_choice = {c: sum(1 for _m, ch, _k in keys if ch == c) for c in Choice.values}
        _event(
            now,
            "tally",
            who,
            meeting=meeting,
            data={"tally": tally.pk, "ballots": len(keys), **by_choice},
            photos=cleaned,
            files=files,
        )
    return tally


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise InvalidError(_("%(name)s：应为数字") % {"name": _field(name)})
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidError(_("%(name)s：应为数字") % {"name": _field(name)}) from None


def recount(meeting: Meeting) -> Counts:
    """The meeting's counts from its register, attendance rows and ballots alone."""
    counts = register.register_counts(meeting.hall, meeting.body)
    rule = meeting.rule or _rule(meeting)
    if rule.vote_unit == VoteUnit.HOUSEHOLD:
        counts.members = counts.households
    present = Attendance.objects.filter(meeting=meeting).aggregate(
        voices=Count("id"),
        persons=Count("id", filter=Q(proxy=False)),
        households=Count("household", distinct=True),
    )
    counts.present = present["voices"]
    counts.present_adults = present["persons"]
    counts.present_households = present["households"]
    counts.present_representatives = Attendance.objects.filter(
        meeting=meeting, proxy=False, resident__representative=True
    ).count()
    counts.present_members = (
        present["households"] if rule.vote_unit == VoteUnit.HOUSEHOLD else present["persons"]
    )
    for row in Ballot.objects.filter(meeting=meeting).values("choice").annotate(n=Count("id")):
        setattr(counts, row["choice"], row["n"])
    return counts


def do_close(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    resolution: str = "",
    dissent: str = "",
    passed: bool | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Close the session and store the resolution from a recount. Declaring it `passed`
    below quorum or majority is refused with the failed rule; left out, it is computed."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, _("宣布散会"))
    to = states.check("meeting", "close", meeting.status)
    rule = meeting.rule or _rule(meeting)
    resolution = _text(resolution, "resolution", required=False) or meeting.motion
    dissent = _text(dissent, "dissent", required=False)
    with transaction.atomic():
        _lock(meeting)  # no ballot lands between the recount and the close
        counts = recount(meeting)
        outcome = rules.decide(rule, counts)
        if passed is True and not outcome.passed:
            raise RuleError("；".join(outcome.failures))
        if passed is False and outcome.passed:
            raise RuleError(
                _("表决已通过（到会 %(present)s，赞成 %(yes)s），不能记为未通过")
                % {"present": counts.present, "yes": counts.yes}
            )
        primary = rules.quorums(rule)[0].base
        publish_by = now + _publicity(meeting.hall)
        with translation.override(settings.LANGUAGE_CODE):  # the record is kept in Chinese
            recorded = rules.decide(rule, counts).failures
        stored = {**asdict(counts), "failures": recorded}
        acceptance = meeting.purpose == Purpose.ACCEPTANCE
        _move(
            meeting,
            to,
            rule=rule,
            roster_size=counts.total(primary),
            present=counts.present,
            yes=counts.yes,
            no=counts.no,
            abstain=counts.abstain,
            quorum_met=outcome.quorum_met,
            passed=outcome.passed,
            resolution=resolution,
            dissent=dissent,
            counts=stored,
            closed_at=now,
            publish_by=None if acceptance else publish_by,
            next_due_at=None if acceptance else publish_by,
        )
        _event(
            now,
            "close",
            who,
            meeting=meeting,
            from_status="in_session",
            to_status=to,
            note=resolution,
            data={"rule": rule.pk, "passed": outcome.passed, **stored},
        )
        if acceptance:
            _accepted(meeting, who, now)
        else:
            for topic in meeting.topics.filter(status=TopicState.SCHEDULED):
                verb = "adopt" if outcome.passed else "not_adopt"
                t_to = states.check("topic", verb, topic.status)
                _move(topic, t_to)
                _event(
                    now,
                    verb,
                    who,
                    topic=topic,
                    from_status="scheduled",
                    to_status=t_to,
                    data={"meeting": meeting.pk},
                )
        tell.closed(meeting, now)
    return meeting


def do_publish(
    meeting: Meeting | int,
    *,
    actor: ActorArg,
    note: str = "",
    now: datetime | None = None,
) -> Meeting:
    """Publish the resolution on the hall's board (公开栏) and to its chat group."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, _("公开决议"))
    states.check("meeting", "publish", meeting.status)
    if meeting.published_at is not None:
        raise IllegalTransitionError(_("决议已经公开"))
    if meeting.purpose == Purpose.ACCEPTANCE:
        raise IllegalTransitionError(_("验收表决随项目实施结果一并公开"))
    on_time = meeting.publish_by is None or now <= meeting.publish_by
    with transaction.atomic():
        _move(meeting, meeting.status, published_at=now, next_due_at=None)
        _event(
            now,
            "publish",
            who,
            meeting=meeting,
            note=_text(note, "note", MAX_NOTE, required=False),
            data={"on_time": on_time, "board": True, "group": True},
        )
        tell.published(meeting, now)
    return meeting


def do_cancel(
    meeting: Meeting | int, *, actor: ActorArg, reason: str, now: datetime | None = None
) -> Meeting:
    """Cancel a meeting before it opens (its topics go back to open; a compelled one stays
    compelled and its deadline keeps running)."""
    now = now or timezone.now()
    who = _who(actor)
    meeting = load_meeting(meeting)
    _officer(who, meeting.hall, pgettext("verb", "取消会议"))
    to = states.check("meeting", "cancel", meeting.status)
    if meeting.compelled_by_id is not None:
        raise IllegalTransitionError(_("依法必须召集的会议不能取消，请重新设定时间"))
    reason = _text(reason, "reason", 500)
    with transaction.atomic():
        before = meeting.status
        _move(meeting, to)
        for topic in meeting.topics.filter(status=TopicState.SCHEDULED):
            _move(topic, TopicState.OPEN)
            _event(now, "unschedule", who, topic=topic, from_status="scheduled", to_status="open")
        _event(now, "cancel", who, meeting=meeting, from_status=before, to_status=to, note=reason)
    return meeting


# --- projects ---------------------------------------------------------------------------------


def do_create_project(
    *, actor: ActorArg, meeting: int, title: str = "", now: datetime | None = None
) -> Project:
    """An adopted resolution becomes a project; its supporters follow it."""
    now = now or timezone.now()
    who = _who(actor)
    decided = load_meeting(meeting)
    _officer(who, decided.hall, _("立项"))
    if decided.status != MeetingState.CLOSED or not decided.passed:
        raise IllegalTransitionError(_("只有通过的决议才能立项"))
    if decided.purpose != Purpose.DECISION:
        raise IllegalTransitionError(_("验收表决不能立项"))
    title = _text(title, "title", 100, required=False) or decided.title
    agenda = list(decided.topics.all())
    followers = set(
        Support.objects.filter(topic__in=agenda, resident__user__isnull=False).values_list(
            "resident__user_id", flat=True
        )
    )
    followers |= {t.raised_by_id for t in agenda if t.raised_by_id}
    followers.add(who.user.pk)
    try:
        with transaction.atomic():
            project = Project.objects.create(
                hall=decided.hall, meeting=decided, title=title, created_at=now
            )
            project.followers.set(list(followers))
            _event(
                now,
                "create",
                who,
                project=project,
                to_status=project.status,
                data={"meeting": decided.pk},
            )
            tell.project(project, "create", f"议事项目已立项：{title}", now)
    except IntegrityError:
        raise ConflictError(_("这项决议已经立项")) from None
    return project


def _project_step(project: Project, who: Actor, verb: str) -> str:
    _officer(who, project.hall, _("实施项目"))
    return states.check("project", verb, project.status)


def _update_progress(project: Project) -> int:
    agg = project.milestones.aggregate(
        total=Count("id"), done=Count("id", filter=Q(done_at__isnull=False))
    )
    return int(agg["done"] * 100 // agg["total"]) if agg["total"] else 0


def do_add_milestone(
    project: Project | int,
    *,
    actor: ActorArg,
    title: str,
    due_on: date | None = None,
    cost: Decimal | float | str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Milestone:
    """Plan a step of the work."""
    now = now or timezone.now()
    who = _who(actor)
    project = load_project(project)
    _project_step(project, who, "milestone")
    with transaction.atomic():
        milestone = Milestone.objects.create(
            project=project,
            title=_text(title, "title", 100),
            due_on=due_on,
            cost=_money(cost),
            note=_text(note, "note", MAX_NOTE, required=False),
        )
        _move(project, project.status, progress=_update_progress(project))
        _event(
            now,
            "milestone",
            who,
            project=project,
            data={"milestone": milestone.pk, "title": milestone.title},
        )
        tell.project(project, "milestone", f"项目新增节点：{milestone.title}", now)
    return milestone


def _money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidError(_("费用：应为以元为单位的金额")) from None
    if amount < 0 or amount >= Decimal("1e10"):
        raise InvalidError(_("费用：应在 0 到 9999999999.99 之间"))
    return amount


def do_complete_milestone(
    project: Project | int,
    *,
    actor: ActorArg,
    milestone: int,
    photos: Sequence[Upload] | None,
    cost: Decimal | float | str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Milestone:
    """A step is done: with dated photos (at least one) and its actual cost."""
    now = now or timezone.now()
    who = _who(actor)
    project = load_project(project)
    _project_step(project, who, "complete_milestone")
    step = Milestone.objects.filter(pk=_int(milestone, "milestone"), project=project).first()
    if step is None:
        raise InvalidError(_("项目节点：本项目没有节点 %(id)s") % {"id": milestone})
    if step.done_at is not None:
        raise IllegalTransitionError(_("该项目节点已经完成"))
    cleaned = _photos(photos)
    if not cleaned:
        raise InvalidError(_("照片：完成的项目节点须附照片"))
    with _Files() as files, transaction.atomic():
        step.done_at = now
        if cost not in (None, ""):
            step.cost = _money(cost)
        if note:
            step.note = _text(note, "note", MAX_NOTE)
        step.save()
        _move(project, project.status, progress=_update_progress(project))
        _event(
            now,
            "complete_milestone",
            who,
            project=project,
            note=step.note,
            data={"milestone": step.pk, "cost": str(step.cost), "progress": project.progress},
            photos=cleaned,
            files=files,
        )
        tell.project(
            project,
            "complete_milestone",
            f"项目节点完成：{step.title}（进度 {project.progress}%）",
            now,
        )
    return step


def do_add_request(
    project: Project | int,
    *,
    actor: ActorArg,
    text: str,
    title: str = "",
    category: str | None = None,
    now: datetime | None = None,
) -> Request:
    """Work the hall cannot do itself becomes a real request (§3): submitted in the hall
    through the request engine, with its clocks, and linked to the project."""
    now = now or timezone.now()
    who = _who(actor)
    project = load_project(project)
    _project_step(project, who, "add_request")
    with transaction.atomic():
        req = request_actions.do_submit(
            actor=who, hall=project.hall, text=text, title=title, category=category, now=now
        )
        project.requests.add(req)
        _move(project, project.status)
        _event(now, "add_request", who, project=project, data={"request": req.pk})
        tell.project(project, "add_request", f"项目派发诉求：{req.title}", now)
    return req


def do_start_acceptance(
    project: Project | int, *, actor: ActorArg, title: str = "", now: datetime | None = None
) -> Meeting:
    """The work is finished: the affected residents vote to accept it (a short vote, no
    notice period). Every milestone must be done and every request resolved."""
    now = now or timezone.now()
    who = _who(actor)
    project = load_project(project)
    to = _project_step(project, who, "start_acceptance")
    open_steps = project.milestones.filter(done_at__isnull=True).count()
    if open_steps:
        raise IllegalTransitionError(_("还有 %(n)s 个项目节点未完成") % {"n": open_steps})
    pending = [r.number for r in project.requests.exclude(status__in=list(REQUEST_DONE))]
    if pending:
        raise IllegalTransitionError(
            _("诉求尚未办结：%(numbers)s") % {"numbers": "、".join(pending)}
        )
    decided = project.meeting
    rule = rules.rule_for(decided.body, _today(now))
    with transaction.atomic():
        meeting = Meeting.objects.create(
            hall=project.hall,
            body=decided.body,
            purpose=Purpose.ACCEPTANCE,
            title=_text(title, "title", 100, required=False) or f"验收：{project.title}"[:100],
            motion=f"验收：{project.title}",
            starts_at=now,
            status=MeetingState.IN_SESSION,
            notified_at=now,
            rule=rule,
            project=project,
            created_by=who.user,
            created_at=now,
        )
        before = project.status
        _move(project, to)
        _event(
            now,
            "start_acceptance",
            who,
            project=project,
            from_status=before,
            to_status=to,
            data={"meeting": meeting.pk},
        )
        _event(
            now,
            "create",
            who,
            meeting=meeting,
            to_status=meeting.status,
            data={"project": project.pk},
        )
        tell.notice(meeting, now)
        tell.project(project, "start_acceptance", f"项目验收表决开始：{project.title}", now)
    return meeting


def _accepted(meeting: Meeting, who: Actor, now: datetime) -> None:
    """An acceptance vote closed: the project is done, or reopened."""
    project = load_project(meeting.project_id)  # type: ignore[arg-type]
    verb = "accept" if meeting.passed else "reject"
    to = states.check("project", verb, project.status)
    fields: dict[str, Any] = {}
    if meeting.passed:
        publish_by = now + _publicity(project.hall)
        fields = {"done_at": now, "publish_by": publish_by, "next_due_at": publish_by}
    else:
        fields = {"reopen_count": project.reopen_count + 1}
    _move(project, to, **fields)
    _event(
        now,
        verb,
        who,
        project=project,
        from_status="acceptance",
        to_status=to,
        data={"meeting": meeting.pk, "yes": meeting.yes, "no": meeting.no},
    )
    tell.project(
        project,
        verb,
        f"项目验收{'通过，已完成' if meeting.passed else '未通过，重新实施'}：{project.title}",
        now,
    )


def do_publish_results(
    project: Project | int, *, actor: ActorArg, note: str = "", now: datetime | None = None
) -> Project:
    """Publish the implementation results on the board and to the chat group."""
    now = now or timezone.now()
    who = _who(actor)
    project = load_project(project)
    _project_step(project, who, "publish")
    if project.published_at is not None:
        raise IllegalTransitionError(_("实施结果已经公开"))
    on_time = project.publish_by is None or now <= project.publish_by
    with transaction.atomic():
        _move(project, project.status, published_at=now, next_due_at=None)
        _event(
            now,
            "publish",
            who,
            project=project,
            note=_text(note, "note", MAX_NOTE, required=False),
            data={"on_time": on_time},
        )
        tell.results(project, now)
    return project


def do_follow(project: Project | int, *, actor: ActorArg, now: datetime | None = None) -> Project:
    """A resident of the hall follows a project (told at every step)."""
    who = _who(actor)
    project = load_project(project)
    if not register.may_take_part(who, project.hall):
        raise ForbiddenError(_("只有本议事厅的居民和工作人员可以关注其项目"))
    project.followers.add(who.user)
    return project


# --- 四议两公开 -------------------------------------------------------------------------------


def do_create_matter(
    *,
    actor: ActorArg,
    hall: Hall | str,
    title: str,
    topic: int | None = None,
    now: datetime | None = None,
) -> Matter:
    """Open the record of a village's major matter (四议两公开)."""
    now = now or timezone.now()
    who = _who(actor)
    hall = _hall(hall)
    if hall.kind != HallKind.VILLAGE:
        raise InvalidError(_("议事厅：“四议两公开”只在村记录"))
    _officer(who, hall, _("记录“四议两公开”"))
    linked = None
    if topic is not None:
        linked = Topic.objects.filter(pk=_int(topic, "topic"), hall=hall).first()
        if linked is None:
            raise InvalidError(_("议题：本村没有议题 %(id)s") % {"id": topic})
    with transaction.atomic():
        matter = Matter.objects.create(
            hall=hall, title=_text(title, "title", 100), topic=linked, created_at=now
        )
        _event(now, "create", who, matter=matter)
    return matter


def do_record_step(
    matter: Matter | int,
    *,
    actor: ActorArg,
    step: str,
    held_on: date,
    attendance: int,
    signatures: Sequence[str],
    note: str = "",
    meeting: int | None = None,
    photos: Sequence[Upload] | None = None,
    now: datetime | None = None,
) -> Step:
    """Record the next of the six steps: in order, each with date, attendance, signatures."""
    now = now or timezone.now()
    who = _who(actor)
    matter = load_matter(matter)
    _officer(who, matter.hall, _("记录“四议两公开”"))
    done = list(matter.steps.order_by("id"))
    expected = states.next_step([s.step for s in done])
    if step not in states.STEP_CODES:
        raise InvalidError(
            _("步骤：应为 %(values)s 之一") % {"values": ", ".join(states.STEP_CODES)}
        )
    if expected is None:
        raise IllegalTransitionError(_("六个步骤已全部记录"))
    if step != expected:
        label = states.STEP_LABELS
        raise IllegalTransitionError(
            _("步骤顺序不对：下一步应是“%(next)s”（%(code)s），不是“%(step)s”")
            % {"next": label[expected], "code": expected, "step": label[step]}
        )
    if done and held_on < done[-1].held_on:
        raise IllegalTransitionError(
            _("日期：早于上一步骤（%(date)s）") % {"date": done[-1].held_on}
        )
    if held_on > _today(now):
        raise InvalidError(_("日期：不能晚于今天"))
    attendance = _int(attendance, "attendance")
    names = [_text(s, "signatures", 50) for s in signatures or []]
    if not names:
        raise InvalidError(_("签名：须有参加人员的签名"))
    if attendance < 1 or (
        attendance < len(names) and step not in ("publish_resolution", "publish_results")
    ):
        raise InvalidError(_("参加人数：不能少于签名人数"))
    linked = None
    if meeting is not None:
        linked = Meeting.objects.filter(
            pk=_int(meeting, "meeting"), hall__path__startswith=matter.hall.path
        ).first()
        if linked is None:
            raise InvalidError(_("会议：本村没有会议 %(id)s") % {"id": meeting})
    cleaned = _photos(photos)
    with _Files() as files, transaction.atomic():
        row = Step.objects.create(
            matter=matter,
            step=step,
            held_on=held_on,
            attendance=attendance,
            signatures="，".join(names),
            note=_text(note, "note", MAX_NOTE, required=False),
            meeting=linked,
            recorded_by=who.user,
            created_at=now,
        )
        _event(
            now,
            "step",
            who,
            matter=matter,
            data={"step": step, "held_on": held_on.isoformat()},
            photos=cleaned,
            files=files,
        )
    return row


# --- the sweep's verb -------------------------------------------------------------------------


def do_late(obj: Meeting | Project, *, due_at: datetime, now: datetime) -> bool:
    """A convene or publicity clock ran out: flag it and tell the township. Guarded by
    `next_due_at` so that two sweeps act once; False if someone else did."""
    model = type(obj)
    with transaction.atomic():
        updated = model.objects.filter(pk=obj.pk, next_due_at=due_at).update(
            next_due_at=None, late=True
        )
        if updated != 1:
            return False
        if isinstance(obj, Meeting):
            clock = "convene_by" if obj.status == MeetingState.DRAFT else "publish_by"
            _event(
                now,
                "late",
                None,
                meeting=obj,
                public=False,
                data={"clock": clock, "due": due_at.isoformat()},
            )
        else:
            clock = "publish_by"
            _event(
                now,
                "late",
                None,
                project=obj,
                public=False,
                data={"clock": clock, "due": due_at.isoformat()},
            )
        tell.late(obj, clock, due_at, now)
    return True


__all__ = [
    "RuleError",
    "do_add_milestone",
    "do_add_request",
    "do_agenda",
    "do_cancel",
    "do_close",
    "do_comment",
    "do_complete_milestone",
    "do_create_matter",
    "do_create_meeting",
    "do_create_project",
    "do_follow",
    "do_late",
    "do_link_request",
    "do_notify",
    "do_open",
    "do_publish",
    "do_publish_results",
    "do_raise_topic",
    "do_record_step",
    "do_sign_in",
    "do_start_acceptance",
    "do_support",
    "do_tally",
    "do_vote",
    "do_withdraw_topic",
    "recount",
    "suggestions",
]

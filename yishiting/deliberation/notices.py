"""Who is told what in the deliberation, through the notification outbox (one module).

- a compelled meeting → the hall's liaisons, managers and committee (in-app);
- a meeting's notice → every member with an account (in-app, with the pre-read) and the
  hall's chat-group robots;
- a closed meeting → its members; a published resolution or result → the hall's robots;
- every step of a project → its followers;
- a missed convene or publicity clock → the township's staff (in-app and SMS).

Keys derive from the object, the verb and the recipient, so a retried write sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from yishiting.deliberation import register
from yishiting.deliberation.models import Meeting, Project, Topic
from yishiting.deliberation.rules import BODY_NAMES, BodyKind
from yishiting.notify import outbox
from yishiting.notify import rules as notify_rules
from yishiting.notify.models import NotifyChannel
from yishiting.notify.outbox import Outgoing
from yishiting.orgs.models import Hall, HallKind, User


def _when(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%m-%d %H:%M") if at else ""


def _users(
    users: Iterable[User], key: str, title: str, body: str, *, sms: bool = False
) -> list[Outgoing]:
    out = []
    for user in {u.pk: u for u in users}.values():
        channels = [NotifyChannel.IN_APP] + ([NotifyChannel.SMS] if sms and user.phone else [])
        for channel in channels:
            out.append(
                Outgoing(
                    channel=channel,
                    destination=f"{channel}:user:{user.pk}",
                    title=title,
                    body=body,
                    url="",
                    key=f"{key}:{channel}:u{user.pk}",
                    kind="deliberation",
                    user_id=user.pk,
                )
            )
    return out


def _group(hall: Hall, key: str, title: str, body: str) -> list[Outgoing]:
    """The hall's chat-group robots (the 群 of §9's publicity)."""
    return [
        Outgoing(
            channel=b.kind,
            destination=b.destination,
            title=title,
            body=body,
            url="",
            key=f"{key}:robot{b.pk}",
            kind="deliberation",
            binding_id=b.pk,
        )
        for b in notify_rules.robots(hall=hall)
    ]


def officers(hall: Hall) -> list[User]:
    """The hall's staff and its committee members with accounts."""
    committee = User.objects.filter(
        residencies__committee=True,
        residencies__active=True,
        residencies__hall__code__in=hall.ancestor_codes(),
    )
    return [*notify_rules.staff_of(hall), *committee]


def members(meeting: Meeting) -> list[User]:
    """Members of the meeting's body who have an account."""
    ids = register.roster(meeting.hall, meeting.body).filter(user__isnull=False)
    return list(User.objects.filter(pk__in=ids.values("user_id")))


def compelled(meeting: Meeting, topic: Topic, now: datetime) -> None:
    """Support crossed the threshold: the officers must convene by the deadline."""
    name = BODY_NAMES[BodyKind(meeting.body)]
    title = f"议题联名达到法定比例，须召集{name}"
    body = f"“{topic.title}”：请于 {_when(meeting.convene_by)} 前召集{name}。"
    items = _users(officers(meeting.hall), f"delib:meeting{meeting.pk}:compelled", title, body)
    outbox.write(items, now=now)


def notice(meeting: Meeting, now: datetime) -> None:
    """The meeting's notice with its pre-read, to members and the hall's group."""
    name = BODY_NAMES[BodyKind(meeting.body)]
    title = f"{name}通知：{meeting.title}"
    body = (
        f"{_when(meeting.starts_at)} {meeting.place}\n表决事项：{meeting.motion}\n{meeting.preread}"
    )
    key = f"delib:meeting{meeting.pk}:notice"
    outbox.write(
        [*_users(members(meeting), key, title, body), *_group(meeting.hall, key, title, body)],
        now=now,
    )


def closed(meeting: Meeting, now: datetime) -> None:
    """The result, to the members."""
    verdict = "通过" if meeting.passed else "未通过"
    title = f"{meeting.title}：{verdict}"
    body = (
        f"应到 {meeting.roster_size}，实到 {meeting.present}；"
        f"赞成 {meeting.yes}，反对 {meeting.no}，弃权 {meeting.abstain}。"
    )
    outbox.write(
        _users(members(meeting), f"delib:meeting{meeting.pk}:closed", title, body), now=now
    )


def published(meeting: Meeting, now: datetime) -> None:
    """The resolution on the hall's chat group (the board is the public page)."""
    title = f"决议公开：{meeting.title}"
    body = f"{meeting.resolution}\n赞成 {meeting.yes}，反对 {meeting.no}，弃权 {meeting.abstain}。"
    outbox.write(_group(meeting.hall, f"delib:meeting{meeting.pk}:publish", title, body), now=now)


def results(project: Project, now: datetime) -> None:
    """The implementation results on the hall's chat group, and to the followers."""
    title = f"实施结果公开：{project.title}"
    body = f"项目已完成并经居民验收通过（进度 {project.progress}%）。"
    key = f"delib:project{project.pk}:publish"
    outbox.write(
        [
            *_group(project.hall, key, title, body),
            *_users(project.followers.all(), key, title, body),
        ],
        now=now,
    )


def project(project: Project, verb: str, text: str, now: datetime) -> None:
    """Every step of a project, to its followers."""
    seq = project.events.count() + 1
    outbox.write(
        _users(
            project.followers.all(), f"delib:project{project.pk}:{verb}:{seq}", project.title, text
        ),
        now=now,
    )


def township_of(hall: Hall) -> Hall | None:
    """The township (乡镇/街道) above a hall."""
    codes = hall.ancestor_codes()
    return Hall.objects.filter(code__in=codes, kind=HallKind.TOWNSHIP).first()


def late(obj: Meeting | Project, clock: str, due_at: datetime, now: datetime) -> None:
    """A missed convene or publicity clock, to the township's staff."""
    township = township_of(obj.hall)
    if township is None:
        return
    what = {
        "convene_by": "未按期召集会议",
        "publish_by": "未按期公开",
    }[clock]
    kind = "meeting" if isinstance(obj, Meeting) else "project"
    title = f"{obj.hall.name}{what}：{obj.title}"
    body = f"时限 {_when(due_at)} 已过。"
    outbox.write(
        _users(
            notify_rules.staff_of(township),
            f"delib:{kind}{obj.pk}:late:{clock}",
            title,
            body,
            sms=True,
        ),
        now=now,
    )

"""Who is told what (PRODUCT.md §4): one function per kind of event, all in this module.

- submit → the hall's liaisons (in-app) and the hall's robots; off-hours also the duty officer;
- escalate → the staff of the hall it climbed to (and its robots); an automatic escalation
  after a missed first response is a breach: the duty officer too;
- dispatch (and a re-dispatch after a return) → the department's officers and robots;
  off-hours the duty officer, who must forward within 5 minutes;
- resolve → the reporter and every co-signer (in-app and SMS);
- breach → the next level up and the duty officer (in-app and SMS);
- supervise → the handler; a 50% / 80% warning → the handler (of the off-hours forward
  clock: the duty officer on shift);
- forward (转办) → the named officer (in-app and SMS), or every officer and robot of the
  department, titled 紧急;
- a close without a rating → a return visit (回访) for the first hall's liaisons;
- return → the dispatchers; reopen → the handler; 不满意 → whoever reviews it;
- every public event → the active outbound webhooks that subscribe to its verb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from yishiting.core.masking import mask_text
from yishiting.core.prepared import Prepared
from yishiting.notify import duty, outbox
from yishiting.notify.models import Notification, NotifyChannel, RobotBinding, Webhook
from yishiting.notify.outbox import Outgoing
from yishiting.orgs import config
from yishiting.orgs.models import Department, Hall, HallKind, Membership, Role, User
from yishiting.orgs.scope import escalation_target
from yishiting.requests.models import Event, Request
from yishiting.requests.states import State, Verb

IN_APP = (NotifyChannel.IN_APP,)
URGENT = (NotifyChannel.IN_APP, NotifyChannel.SMS)

CLOCK_LABELS = {
    "respond_by": "响应",
    "claim_by": "签收",
    "resolve_by": "办结",
    "supervise_by": "督办",
    "forward_by": "转办",
    "rate_by": "评价",
}


def link(req: Request) -> str:
    """The request's page, absolute (robots and SMS need the host)."""
    base = str(getattr(settings, "YISHITING_BASE_URL", "") or "").rstrip("/")
    return f"{base}/r/{req.pk}" if base.startswith(("http://", "https://")) else ""


def _when(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%m-%d %H:%M") if at else ""


# --- who -------------------------------------------------------------------------------------


def _members(*roles: Role) -> Prepared[Membership]:
    return Prepared(
        lambda hall_id: Membership.objects.filter(hall_id=hall_id, role__in=roles).select_related(
            "user"
        ),
        int,
    )


# Read for nearly every event: compiled once (core.prepared).
_hall_staff = _members(Role.LIAISON, Role.MANAGER)
_hall_dispatchers = _members(Role.DISPATCHER)
_followers = Prepared(
    lambda pk: User.objects.filter(following__request_id=pk).order_by("following__id"), int
)


def staff_of(hall: Hall) -> list[User]:
    """Who answers for a hall: its liaisons and managers; the dispatchers of an assignment hall."""
    rows = (_hall_dispatchers if hall.kind == HallKind.ASSIGNMENT else _hall_staff)(hall.pk)
    return _unique(m.user for m in rows)


def dispatchers(county_code: str) -> list[User]:
    """The county's dispatchers (交办员)."""
    rows = Membership.objects.filter(
        role=Role.DISPATCHER, hall__path__startswith=f"/{county_code}/"
    ).select_related("user")
    return _unique(m.user for m in rows)


def officers(department_id: int | None) -> list[User]:
    """A department's officers."""
    if department_id is None:
        return []
    rows = Membership.objects.filter(
        role=Role.DEPARTMENT, department_id=department_id
    ).select_related("user")
    return _unique(m.user for m in rows)


def handlers(req: Request) -> list[User]:
    """Whoever holds the request now: the department's officers, else the hall's staff."""
    if req.department_id is not None and req.status in (
        State.DISPATCHED,
        State.CLAIMED,
        State.ON_HOLD,
        State.RESOLVED,
    ):
        return officers(req.department_id)
    return staff_of(req.hall)


def next_level(req: Request) -> list[User]:
    """Who is above the current handler: the dispatchers over a department, the parent hall's
    staff over a hall, the county's leaders over the assignment hall."""
    if req.department_id is not None:
        return dispatchers(req.hall.county_code)
    if req.hall.kind == HallKind.ASSIGNMENT:
        rows = Membership.objects.filter(
            role=Role.LEADER, hall__code=req.hall.county_code
        ).select_related("user")
        return _unique(m.user for m in rows)
    up = escalation_target(req.hall)
    return staff_of(up) if up is not None else []


def followers(req: Request) -> list[User]:
    """The reporter and everyone following: co-signers and reporters of merged duplicates."""
    users: list[User] = []
    if req.reporter is not None:
        users.append(req.reporter)
    users += _followers(req.pk)
    return _unique(users)


def robots(*, hall: Hall | None = None, department_id: int | None = None) -> list[RobotBinding]:
    """The enabled robots of a hall or a department."""
    enabled = config.cached(
        "robots", lambda: list(RobotBinding.objects.filter(enabled=True).order_by("id"))
    )
    if hall is not None:
        return [b for b in enabled if b.hall_id == hall.pk]
    return [b for b in enabled if b.department_id == department_id]


def _unique(users: Iterable[User]) -> list[User]:
    return list({u.pk: u for u in users}.values())


# --- what ------------------------------------------------------------------------------------


# A text, or one worked out from the request once it is written (a submission's number).
Text = str | Callable[[Request], str]


@dataclass(frozen=True)
class _Entry:
    channel: str
    destination: str
    title: str
    body: Text
    key: str  # after the batch's own key
    kind: str
    user_id: int | None = None
    binding_id: int | None = None


class Batch:
    """The notifications one event (or one reminder) causes: who is told what. Worked out
    before the write transaction, since that means reading who handles the request, the duty
    roster and the robots; `outgoing` gives the rows once the ids in their keys and links are
    known, inside the transaction."""

    def __init__(self, req: Request, kind: str) -> None:
        self.req = req
        self.kind = kind
        self.entries: list[_Entry] = []
        self.hooks: list[Webhook] = []

    def users(
        self,
        users: Iterable[User],
        title: str,
        body: Text,
        channels: tuple[str, ...] = IN_APP,
        kind: str = "",
    ) -> None:
        kind = kind or self.kind
        for user in users:
            for channel in channels:
                if channel == NotifyChannel.SMS and not user.phone:
                    continue
                self.entries.append(
                    _Entry(
                        channel=channel,
                        destination=f"{channel}:user:{user.pk}",
                        title=title,
                        body=body,
                        key=f"{kind}:{channel}:u{user.pk}",
                        kind=kind,
                        user_id=user.pk,
                    )
                )

    def robots(self, bindings: Iterable[RobotBinding], title: str, body: Text) -> None:
        for binding in bindings:
            self.entries.append(
                _Entry(
                    channel=binding.kind,
                    destination=binding.destination,
                    title=title,
                    body=body,
                    key=f"{self.kind}:robot{binding.pk}",
                    kind=self.kind,
                    binding_id=binding.pk,
                )
            )

    def webhooks(self, event: Event) -> None:
        """Every active webhook that wants this public event's verb (one queue per webhook)."""
        if not event.public:
            return
        active = config.cached(
            "webhooks", lambda: list(Webhook.objects.filter(active=True).order_by("id"))
        )
        self.hooks = [h for h in active if h.wants(event.verb)]

    def outgoing(self, key: str, event: Event | None = None) -> list[Outgoing]:
        """The rows, their keys under `key`; `event` (written, with its photos) for the
        webhooks' payloads."""
        url = link(self.req)
        items = [
            Outgoing(
                channel=e.channel,
                destination=e.destination,
                title=e.title,
                body=e.body if isinstance(e.body, str) else e.body(self.req),
                url=url,
                key=f"{key}:{e.key}",
                kind=e.kind,
                user_id=e.user_id,
                binding_id=e.binding_id,
            )
            for e in self.entries
        ]
        if not self.hooks or event is None:
            return items
        from yishiting.notify.webhooks import payload, views

        seen = views(event, self.req)
        for hook in self.hooks:
            hook_key = f"{key}:{event.verb}:webhook{hook.pk}"
            items.append(
                Outgoing(
                    channel=NotifyChannel.WEBHOOK,
                    destination=hook.destination,
                    title=event.verb,
                    body=payload(hook_key, seen),
                    url="",
                    key=hook_key,
                    kind="webhook",
                    webhook_id=hook.pk,
                )
            )
        return items


def _public(req: Request, text: str) -> str:
    """`text` as the public sees it: phones, ID numbers, house numbers and the reporter's
    name masked."""
    from yishiting.api.schemas import reporter_names

    return mask_text(text, reporter_names(req))


def _duty(batch: Batch, at: datetime, title: str, body: str) -> None:
    batch.users(duty.on_duty(batch.req.hall.county_code, at), title, body, URGENT, kind="duty")


def for_event(event: Event, before: Request | None, after: Request) -> Batch:
    """Who `event` tells what, from the request as the event leaves it (`after`): worked out
    before the event's transaction; `write` stores them inside it."""
    req = after
    verb = Verb(event.verb)
    now = event.created_at
    batch = Batch(req, str(verb))
    if outbox.is_muted():
        return batch
    head = f"{req.hall.name} · {req.title}"
    # Chat groups and followers (co-signers among them) get the public, masked text (§6).
    public_head = f"{req.hall.name} · {_public(req, req.title)}"
    match verb:
        case Verb.SUBMIT:
            body = f"{head}\n{req.text[:120]}\n请在 {_when(req.respond_by)} 前响应。"
            batch.users(staff_of(req.hall), "新诉求待响应", body)
            robot_body: Text = (
                f"{public_head}\n{_public(req, req.text)[:120]}\n"
                f"请在 {_when(req.respond_by)} 前响应。"
            )
            if req.channel == "wecom":
                # the resident wrote in this very group under this name: not a disclosure
                name = req.reporter_name or "群众"
                robot_body = lambda r: (  # noqa: E731  # the number exists once it is written
                    f"已收到{name}反映的问题：{r.title}\n编号 {r.number}，查询码 "
                    f"{r.follow_code}。联络员将在 {_when(r.respond_by)} 前响应。"
                )
            batch.robots(robots(hall=req.hall), "新诉求待响应", robot_body)
            if duty.is_off_hours(now):
                _duty(batch, now, "非工作时间新诉求", body)
        case Verb.ESCALATE:
            auto = bool(event.data.get("auto"))
            title = "诉求超时未响应，已自动上报" if auto else "诉求已上报，请响应"
            body = f"{head}\n已上报至{req.hall.name}，请在 {_when(req.respond_by)} 前响应。"
            batch.users(staff_of(req.hall), title, body)
            batch.robots(robots(hall=req.hall), title, body.replace(head, public_head, 1))
            if auto:
                _duty(batch, now, title, body)
        case Verb.DISPATCH | Verb.REVIEW_RETURN:
            dept = req.department.name if req.department else ""
            body = f"{head}\n派往{dept}，请在 {_when(req.claim_by)} 前签收。"
            batch.users(officers(req.department_id), "新派单待签收", body)
            batch.robots(
                robots(department_id=req.department_id),
                "新派单待签收",
                body.replace(head, public_head, 1),
            )
            if duty.is_off_hours(now):
                due = f"\n请在 {_when(req.forward_by)} 前转办。" if req.forward_by else ""
                _duty(batch, now, "非工作时间派单，请转办督办", body + due)
        case Verb.RESOLVE:
            title, note = _public(req, req.title), _public(req, event.note)[:100]
            body = f"您反映的“{title}”已办结：{note}\n请评价办理结果。"
            batch.users(followers(req), "诉求已办结", body, URGENT)
        case Verb.BREACH:
            labels = "、".join(CLOCK_LABELS.get(c, c) for c in event.data.get("clocks", []))
            body = f"{head}\n{labels}时限已过，请督办。"
            batch.users(next_level(req), "诉求超时", body, URGENT)
            batch.users(handlers(req), "诉求超时", body, IN_APP, kind="breach-handler")
            _duty(batch, now, "诉求超时", body)
        case Verb.FORWARD:
            _forward(batch, event, head)
        case Verb.SUPERVISE:
            body = f"{head}\n督办时限 {_when(req.supervise_by)}。{event.note[:100]}"
            batch.users(handlers(req), "督办", body, URGENT)
        case Verb.CLOSE if event.data.get("unrated"):
            body = f"{head}\n群众未在评价期内评价，请电话或上门回访并记录评价。"
            batch.users(staff_of(req.origin_hall), "回访提醒", body, kind="visit")
        case Verb.RETURN:
            body = f"{head}\n部门退单：{event.note[:100]}"
            batch.users(dispatchers(req.hall.county_code), "退单待审核", body)
        case Verb.REOPEN:
            body = f"{head}\n群众反映问题反弹，已重新打开：{event.note[:100]}"
            batch.users(handlers(req), "诉求重新打开", body)
        case Verb.RATE if event.data.get("rating") == "dissatisfied":
            body = f"{head}\n群众评价不满意，请复核：重办或甄别。"
            if req.department_id or req.hall.kind == HallKind.ASSIGNMENT:
                reviewers = dispatchers(req.hall.county_code)
            else:
                reviewers = [
                    m.user
                    for m in Membership.objects.filter(
                        role=Role.MANAGER, hall__in=_ancestors(req.hall)
                    ).select_related("user")
                ]
            batch.users(reviewers, "不满意待复核", body)
    batch.webhooks(event)
    return batch


def write(batch: Batch, event: Event) -> list[Notification]:
    """Store `for_event`'s notifications, inside the event's transaction (the event and its
    photos written, so their ids are known); the rows, for the caller to `outbox.queue` at
    the end of it. The keys name the event, new in this transaction: none can exist yet."""
    items = batch.outgoing(f"e{event.pk}", event)
    return outbox.store(
        items, now=event.created_at, request_id=batch.req.pk, event_id=event.pk, new_keys=True
    )


def _forward(batch: Batch, event: Event, head: str) -> None:
    """转办: tell whoever it was forwarded to at once, marked urgent."""
    data = event.data
    body = f"{head}\n值班转办，请立即处理。{event.note[:100]}"
    title = "紧急转办"
    if data.get("to_kind") == "department":
        department_id = (
            Department.objects.filter(code=data.get("to_department")).values_list("pk", flat=True)
        ).first()
        batch.users(officers(department_id), title, body, URGENT)
        batch.robots(robots(department_id=department_id), title, body)
    else:
        batch.users(User.objects.filter(pk=data.get("to_user")), title, body, URGENT)


def _ancestors(hall: Hall) -> list[Hall]:
    return list(Hall.objects.filter(code__in=hall.ancestor_codes()))


def for_warnings(req: Request, warnings: list[dict[str, Any]], now: datetime) -> list[Outgoing]:
    """The reminders that a clock is 50% / 80% used (催办), once per clock and level: worked out
    before the sweep's transaction (they read who handles the request), written in it
    (`outbox.write`)."""
    items: list[Outgoing] = []
    for w in warnings:
        clock, pct = w["clock"], int(w["pct"])
        reminder = w.get("reminder", pct >= 80)  # rows written before the flag: 80 was it
        batch = Batch(req, "warning")
        label = CLOCK_LABELS.get(clock, clock)
        title = f"催办：{label}时限已过{pct}%" if reminder else f"提醒：{label}时限已过半"
        deadline = datetime.fromisoformat(w["deadline"])
        body = f"{req.hall.name} · {req.title}\n请在 {_when(deadline)} 前{label}。"
        people = followers(req) if clock == "rate_by" else handlers(req)
        if clock == "forward_by":
            people = duty.on_duty(req.hall.county_code, now)
        if clock == "rate_by":
            title, body = (
                "请评价办理结果",
                f"您反映的“{req.title}”已办结，请在 {_when(deadline)} 前评价。",
            )
        batch.users(people, title, body)
        if reminder and clock not in ("rate_by", "forward_by"):
            if req.department_id is not None and req.status != State.RESOLVED:
                batch.robots(robots(department_id=req.department_id), title, body)
            else:
                batch.robots(robots(hall=req.hall), title, body)
        items += batch.outgoing(f"w{req.pk}:{clock}:{w['deadline']}:{pct}")
    return items

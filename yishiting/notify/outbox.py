"""The transactional outbox: write notifications with the event, deliver them afterwards.

`write` is called inside the event's transaction: the rows and the django-tasks task that
delivers them (django-tasks-db keeps it in the same database) commit or roll back with the
event, so a notification is never sent for an event that did not happen nor lost for one that
did. `deliver(key)` sends the next batch of one destination's queue in id order (so in order
per request): it first leases the destination with a conditional update, so two workers never
send from the same queue at once. Sends go in chunks of `CHUNK`: one transaction counts a
chunk's attempts before its sends, one marks their outcomes after them and, after the last,
gives the lease back (two commits per row made the worker fall behind under load on
PostgreSQL, docs/proof.md).

A destination has at most one task queued for it, marked by `Destination.next_task_at` (when
it runs): `queue` adds a task only for a destination with no mark, and a task sends everything
pending when it runs, so an event whose destination has a task queued adds none (one task per
event and destination let the task queue grow without end at full size, docs/proof.md). The
writer locks the destination's row until it commits and the worker clears the mark in the
update that takes the queue, so either the worker reads the writer's rows or the writer sees
no mark and queues a task of its own. A task that finds the queue busy, waiting for a retry
or with a full batch behind it passes its turn on to a task marked for later (`_schedule`).

Failures: a transient one holds the whole destination back with exponential backoff (the rows
keep their order) and the task re-enqueues itself with `run_after`; after
`NOTIFY_MAX_ATTEMPTS` tries a row is dead (listed for admins, who may retry it). A robot that
has no room under its rate limit gets the waiting rows folded into digests (`ratelimit.plan`).

Delivery is at least once: a worker killed after a robot or gateway took a message but before
its chunk was marked sent sends it again when the lease runs out (robots and SMS gateways have
no idempotency key). As seen from this database each row is sent exactly once.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Q, QuerySet, Value, When
from django.utils import timezone

from yishiting.notify import senders
from yishiting.notify.channels.base import DeliveryResult, Message
from yishiting.notify.models import Destination, Notification, NotifyChannel, NotifyStatus
from yishiting.notify.ratelimit import LIMITS, plan

log = logging.getLogger("yishiting.notify")

BATCH = 100
CHUNK = 10
"""Sends between two bookkeeping transactions: a worker killed among them sends at most this
many again (delivery is at least once, above)."""

_muted: contextvars.ContextVar[bool] = contextvars.ContextVar("notify_muted", default=False)


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Write no notifications inside this block (seeding a demo's past must not notify)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted() -> bool:
    """Whether notifications are muted here (`muted`)."""
    return _muted.get()


@dataclass(frozen=True)
class Outgoing:
    """A notification to write: who gets it, how, what it says, and its idempotency key."""

    channel: str
    destination: str
    title: str
    body: str
    url: str
    key: str
    kind: str
    user_id: int | None = None
    binding_id: int | None = None
    webhook_id: int | None = None


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def lease_seconds() -> float:
    """How long a worker holds a destination before another may take over (a killed worker)."""
    return _setting("NOTIFY_LEASE_SECONDS", 60)


def backoff(attempts: int) -> float:
    """Seconds before try number `attempts + 1`: doubling from the base, capped."""
    base = _setting("NOTIFY_RETRY_SECONDS", 2)
    cap = _setting("NOTIFY_RETRY_MAX_SECONDS", 600)
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))


def write(
    items: Iterable[Outgoing],
    *,
    now: datetime,
    request_id: int | None = None,
    event_id: int | None = None,
    new_keys: bool = False,
) -> int:
    """`store` the notifications and `queue` their delivery; call inside the transaction of
    what caused them. Returns how many were new."""
    with transaction.atomic(savepoint=False):  # the caller's, if it has one
        rows = store(items, now=now, request_id=request_id, event_id=event_id, new_keys=new_keys)
        queue(rows)
    return len(rows)


def store(
    items: Iterable[Outgoing],
    *,
    now: datetime,
    request_id: int | None = None,
    event_id: int | None = None,
    new_keys: bool = False,
) -> list[Notification]:
    """Write the notifications, skipping keys already written; the new rows, whose delivery
    the same transaction must `queue`. `new_keys`: the caller knows no key can exist yet
    (they name an event written in this transaction), so the check is skipped."""
    if is_muted():
        return []
    rows = []
    for item in items:
        in_app = item.channel == NotifyChannel.IN_APP
        rows.append(
            Notification(
                request_id=request_id,
                event_id=event_id,
                kind=item.kind,
                channel=item.channel,
                user_id=item.user_id,
                binding_id=item.binding_id,
                webhook_id=item.webhook_id,
                destination=item.destination,
                title=item.title[:200],
                body=item.body,
                url=item.url[:300],
                idempotency_key=item.key[:200],
                # The in-app inbox is this table: an in-app row is delivered once written
                # (open pages are pushed to by the pages' own after-commit hook).
                status=NotifyStatus.SENT if in_app else NotifyStatus.PENDING,
                sent_at=now if in_app else None,
                next_attempt_at=None if in_app else now,
                created_at=now,
            )
        )
    if not rows:
        return []
    fresh = rows
    if not new_keys:
        keys = [r.idempotency_key for r in rows]
        existing = set(
            Notification.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        fresh = [r for r in rows if r.idempotency_key not in existing]
    # ignore_conflicts: a concurrent writer of the same key (two sweeps) wins quietly.
    Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    return fresh


def queue(rows: Iterable[Notification]) -> None:
    """Queue a delivery task for each destination of `rows` that has none queued (its
    `next_task_at` is empty): a queued task sends everything pending when it runs, so an
    event whose destination has one adds nothing to the task queue. Call inside the
    transaction that stored the rows, as late in it as can be: the destinations stay locked
    until it commits, so a worker taking one (`_claim`, which clears the mark) reads these
    rows, or a task is queued here after it."""
    keys = sorted({r.destination for r in rows if r.status == NotifyStatus.PENDING})
    if not keys:
        return
    locked = Destination.objects.select_for_update().order_by("key")
    marks = dict(locked.filter(key__in=keys).values_list("key", "next_task_at"))
    if missing := [k for k in keys if k not in marks]:
        # ignore_conflicts: a concurrent writer created it; it is locked below all the same.
        new = [Destination(key=k) for k in missing]
        Destination.objects.bulk_create(new, ignore_conflicts=True)
        marks.update(locked.filter(key__in=missing).values_list("key", "next_task_at"))
    if due := [k for k in keys if marks.get(k) is None]:
        Destination.objects.filter(key__in=due).update(next_task_at=timezone.now())
        for key in due:
            enqueue(key)


def enqueue(key: str, run_after: datetime | None = None) -> None:
    """Queue a delivery task for one destination (in the caller's transaction)."""
    from yishiting.notify.tasks import deliver_task

    task = deliver_task if run_after is None else deliver_task.using(run_after=run_after)
    task.enqueue(key)


# --- delivery ---------------------------------------------------------------------------------


def _pending(key: str) -> QuerySet[Notification]:
    return Notification.objects.filter(destination=key, status=NotifyStatus.PENDING)


def _claim(key: str, now: datetime) -> str | None:
    """Lease the destination; the token, or None when another worker holds it. Taking the
    queue clears a queued-task mark for now or earlier (it may stand for this task): what is
    written after this gets a task of its own. A mark for later stays: that task will run."""
    token = secrets.token_hex(8)
    until = now + timedelta(seconds=lease_seconds())
    free = Destination.objects.filter(key=key).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )
    mark = Case(
        When(next_task_at__lte=now, then=Value(None)),
        default=F("next_task_at"),
        output_field=DateTimeField(),
    )
    take = {"lease_until": until, "lease_token": token, "next_task_at": mark}
    if free.update(**take) == 1:
        return token
    # Held by another worker, or this destination's first delivery: create it and try again.
    with contextlib.suppress(IntegrityError):  # created by a concurrent worker just now
        Destination.objects.get_or_create(key=key)
    return token if free.update(**take) == 1 else None


def _release(key: str, token: str) -> None:
    Destination.objects.filter(key=key, lease_token=token).update(lease_until=None, lease_token="")


def _message(row: Notification) -> Message:
    return Message.markdown(row.title, row.body or row.title, url=row.url)


def deliver(key: str) -> str:
    """Send the next batch due in one destination's queue; says what happened ("idle",
    "busy", "waiting" for a retry or the rate limit, "sent"). Queues the next task when rows
    must wait, or when the batch was full (the rest go behind other destinations' tasks, so
    one long queue does not hold up the others)."""
    now = timezone.now()
    if not _pending(key).exists():
        # Sent by an earlier task. If this was the task the queue's mark stands for, clear
        # it, so that the next row written queues a task of its own.
        Destination.objects.filter(key=key, next_task_at__lte=now).update(next_task_at=None)
        return "idle"
    token = _claim(key, now)
    if token is None:
        # Another worker holds the queue and may have read it before this task's rows were
        # written. A task marked queued for later will read them; if the mark is for now or
        # earlier it may be this very task: look again in a moment instead.
        _schedule(key, now + timedelta(seconds=1), due_by=now)
        return "busy"
    wait_until: datetime | None = None
    outcome, more, held = "idle", False, True
    try:
        dest = Destination.objects.get(key=key)
        if dest.next_attempt_at is not None and dest.next_attempt_at > now:
            wait_until, outcome = dest.next_attempt_at, "waiting"
        else:
            rows = list(
                _pending(key).select_related("user", "binding", "webhook").order_by("id")[:BATCH]
            )
            if rows:
                held = False  # the batch's last bookkeeping gives the lease back
                wait_until = _send_batch(dest, token, rows)
                outcome = "sent" if wait_until is None else "waiting"
                more = wait_until is None and len(rows) == BATCH
    finally:
        if held:
            _release(key, token)
    if more:
        _schedule(key, timezone.now())
    elif wait_until is not None:
        _schedule(key, wait_until)
    return outcome


def _schedule(key: str, at: datetime, due_by: datetime | None = None) -> None:
    """Queue the task that reads `key` at `at`, unless one is marked queued for then or
    sooner (many waiting rows, one task). `due_by`: only in place of a task marked for then
    or earlier (a task that found the queue busy hands its turn on)."""
    marked = Destination.objects.filter(key=key)
    if due_by is None:
        marked = marked.filter(Q(next_task_at__isnull=True) | Q(next_task_at__gt=at))
    else:
        marked = marked.filter(next_task_at__lte=due_by)
    with transaction.atomic():
        if marked.update(next_task_at=at) == 1:
            enqueue(key, run_after=at if at > timezone.now() else None)


def _send_batch(dest: Destination, token: str, rows: Sequence[Notification]) -> datetime | None:
    """Send one batch in order and give the lease back (with the last chunk's bookkeeping);
    returns when to try again if some rows must wait."""
    by_id = {r.pk: r for r in rows}
    sender = senders.for_row(rows[0])
    limits = LIMITS.get(rows[0].channel)
    clock = timezone.now().timestamp()
    horizon = max((w.seconds for w in limits.windows), default=0) if limits else 0
    sent_log = [t for t in dest.sent_log if t > clock - horizon] if limits else []
    if limits is not None:
        the_plan = plan(
            [(r.pk, _message(r)) for r in rows],
            limits,
            sent_log,
            clock,
            blocked_until=dest.blocked_until,
        )
        sends = [(list(s.keys), s.message) for s in the_plan.sends]
        later = (
            datetime.fromtimestamp(the_plan.wait_until, tz=timezone.get_current_timezone())
            if the_plan.wait_until is not None
            else None
        )
    else:
        sends = [([r.pk], _message(r)) for r in rows]
        later = None
    for first in range(0, len(sends), CHUNK):
        chunk = sends[first : first + CHUNK]
        now = timezone.now()
        # Count the attempts (and renew the lease) before sending: a worker killed during a
        # send leaves its rows pending, to be tried again when the lease runs out.
        with transaction.atomic():
            renewed = Destination.objects.filter(key=dest.key, lease_token=token).update(
                lease_until=now + timedelta(seconds=lease_seconds())
            )
            if renewed != 1:
                # The lease ran out and another worker took the queue: leave it to them.
                return now + timedelta(seconds=1)
            Notification.objects.filter(pk__in=[i for ids, _ in chunk for i in ids]).update(
                attempts=F("attempts") + 1, next_attempt_at=now
            )
        outcomes: list[tuple[list[int], DeliveryResult, int]] = []
        for ids, message in chunk:
            result = _send(sender, message)
            if limits is not None:
                sent_log.append(timezone.now().timestamp())
            attempts = max(by_id[i].attempts for i in ids) + 1
            outcomes.append((ids, result, attempts))
            if _holds(result, attempts):  # the rest wait behind it, in order
                break
        untried = [i for ids, _ in chunk[len(outcomes) :] for i in ids]
        last = first + CHUNK >= len(sends)
        retry_at = _record(dest, token, outcomes, untried, sent_log, limits is not None, last)
        if retry_at is not None:
            return retry_at
    if not sends:  # all must wait for the rate limit
        _release(dest.key, token)
    return later


def _send(sender: senders.Sender | None, message: Message) -> DeliveryResult:
    if sender is None:
        return DeliveryResult.permanent("the recipient has no address for this channel")
    try:
        return sender.send(message)
    except Exception as exc:  # a sender's bug must not wedge the queue
        log.exception("sender failed")
        return DeliveryResult.transient(f"{type(exc).__name__}: {exc}")


def _holds(result: DeliveryResult, attempts: int) -> bool:
    """Whether this failed send holds its queue back for a retry (else it is sent or dead)."""
    return not result.ok and result.retry and attempts < int(_setting("NOTIFY_MAX_ATTEMPTS", 12))


def _record(
    dest: Destination,
    token: str,
    outcomes: Sequence[tuple[list[int], DeliveryResult, int]],
    untried: list[int],
    sent_log: list[float],
    robot: bool,
    last: bool,
) -> datetime | None:
    """Mark the rows of one chunk's sends (ids, result, attempt number) in one transaction,
    and give back the attempt counted for `untried` rows (behind a send that holds the
    queue); the retry time when the queue must wait. The same transaction gives the lease
    back when this was the `last` chunk or the queue must wait."""
    now = timezone.now()
    retry_at: datetime | None = None
    sent: dict[int | None, list[int]] = {}  # single sends by response code: one UPDATE each
    changes: dict[str, object] = {"sent_log": sent_log[-200:]} if robot else {}
    with transaction.atomic():
        for ids, result, attempts in outcomes:
            rows = Notification.objects.filter(pk__in=ids)
            if result.ok:
                if len(ids) == 1:
                    sent.setdefault(result.status, []).extend(ids)
                else:  # a digest: its rows share a token
                    rows.update(
                        status=NotifyStatus.SENT,
                        sent_at=now,
                        last_error="",
                        digest=secrets.token_hex(8),
                        response_code=result.status,
                    )
                continue
            error = result.error[:500]
            if not _holds(result, attempts):
                log.warning("notification %s dead after %s tries: %s", ids, attempts, error)
                rows.update(status=NotifyStatus.DEAD, last_error=error, response_code=result.status)
                continue
            delay = backoff(attempts)
            if result.retry_after is not None:
                delay = max(delay, result.retry_after)
            retry_at = now + timedelta(seconds=delay)
            blocked = now.timestamp() + delay if result.rate_limited else None
            rows.update(last_error=error, next_attempt_at=retry_at, response_code=result.status)
            changes.update(next_attempt_at=retry_at, blocked_until=blocked)
        for status, ids in sent.items():
            Notification.objects.filter(pk__in=ids).update(
                status=NotifyStatus.SENT,
                sent_at=now,
                last_error="",
                digest="",
                response_code=status,
            )
        if untried:
            Notification.objects.filter(pk__in=untried).update(attempts=F("attempts") - 1)
        if last or retry_at is not None:
            changes.update(lease_until=None, lease_token="")
        if changes:  # only while this worker holds the lease (else the new holder's to write)
            Destination.objects.filter(key=dest.key, lease_token=token).update(**changes)
    return retry_at


def recover(now: datetime | None = None) -> int:
    """Re-enqueue destinations whose due rows nobody is sending (a worker killed mid-delivery
    leaves its task marked running forever); returns how many were re-enqueued."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    keys = set(
        Notification.objects.filter(status=NotifyStatus.PENDING, next_attempt_at__lte=stale)
        .values_list("destination", flat=True)
        .distinct()[:500]
    )
    if not keys:
        return 0
    free = Destination.objects.filter(key__in=keys).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )
    free_keys = set(free.values_list("key", flat=True)) | (
        keys - set(Destination.objects.filter(key__in=keys).values_list("key", flat=True))
    )
    with transaction.atomic():
        for key in sorted(free_keys):
            enqueue(key)
    return len(free_keys)


def retry(rows: Iterable[Notification]) -> int:
    """An admin's retry of dead rows: pending again, from the first try."""
    now = timezone.now()
    ids = [r.pk for r in rows if r.status == NotifyStatus.DEAD]
    with transaction.atomic():
        Notification.objects.filter(pk__in=ids).update(
            status=NotifyStatus.PENDING, attempts=0, next_attempt_at=now, last_error=""
        )
        keys = set(Notification.objects.filter(pk__in=ids).values_list("destination", flat=True))
        Destination.objects.filter(key__in=keys).update(next_attempt_at=None, next_task_at=now)
        for key in sorted(keys):
            enqueue(key)
    return len(ids)

"""Per-robot rate limits, and digests instead of drops when more is waiting than may be sent.

Pure logic: nothing here reads a clock or sleeps; the caller passes ``now`` (seconds, any
epoch, as long as it is the one of ``sent_at``) and the times it sent to the robot before.

The published limits, per robot:

* WeCom group robot: 20 messages a minute (errcode 45009 beyond).
* DingTalk custom robot: 20 messages a minute; beyond, errcode 130101 and the robot is
  throttled for 10 minutes.
* Feishu custom bot: 100 messages a minute and 5 a second (9499 "too many request").

They are honoured as sliding windows (no window of that length ever holds more sends than the
limit, whichever way the service counts: a sliding window also satisfies fixed minute buckets),
each lengthened a little so that network delay cannot make two sends look closer together at
the service than they were here.

``plan`` takes the messages waiting for one robot, oldest first, and says what to send now:
each message on its own while the robot has room for them all; otherwise the waiting messages
folded, in order, into as few markdown digests as the robot's size limit allows, as many of
those as there is room for now, and when to plan again for the rest. Nothing is dropped: every
waiting key is either in a send of the plan or in ``deferred``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from yishiting.notify.channels.base import Message, markdown_to_plain

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` sends in any ``seconds``-long stretch of time."""

    limit: int
    seconds: float


@dataclass(frozen=True)
class RobotLimits:
    name: str
    windows: tuple[Window, ...]
    penalty: float
    """Seconds the service blocks the robot after refusing it for sending too fast."""
    digest_max_bytes: int
    """Largest digest body (UTF-8 bytes of markdown) the robot takes, with room to spare."""
    digest_max_items: int = 20


# One second to spare on a minute, a tenth on a second (see the module docstring).
WECOM = RobotLimits("wecom", (Window(20, 61.0),), penalty=60.0, digest_max_bytes=3800)
DINGTALK = RobotLimits("dingtalk", (Window(20, 61.0),), penalty=600.0, digest_max_bytes=3800)
FEISHU = RobotLimits(
    "feishu", (Window(100, 61.0), Window(5, 1.1)), penalty=60.0, digest_max_bytes=15000
)
LIMITS = {limits.name: limits for limits in (WECOM, DINGTALK, FEISHU)}


def _in_window(sent_at: Iterable[float], window: Window, now: float) -> list[float]:
    start = now - window.seconds
    return sorted(t for t in sent_at if start < t <= now)


def capacity(
    limits: RobotLimits, sent_at: Iterable[float], now: float, blocked_until: float | None = None
) -> int:
    """How many messages the robot may take at ``now``."""
    if blocked_until is not None and now < blocked_until:
        return 0
    sent = list(sent_at)
    room = min(w.limit - len(_in_window(sent, w, now)) for w in limits.windows)
    return max(room, 0)


def next_free(
    limits: RobotLimits, sent_at: Iterable[float], now: float, blocked_until: float | None = None
) -> float:
    """The earliest time from ``now`` on at which the robot may take one more message."""
    sent = list(sent_at)
    at = now if blocked_until is None else max(now, blocked_until)
    for window in limits.windows:
        inside = _in_window(sent, window, now)
        excess = len(inside) - window.limit
        if excess >= 0:
            # The oldest sends leave the window one by one; one more must leave to make room.
            at = max(at, inside[excess] + window.seconds)
    return at


@dataclass(frozen=True)
class Send(Generic[K]):
    """One message to send: a waiting message itself (one key) or a digest of several."""

    keys: tuple[K, ...]
    message: Message


@dataclass(frozen=True)
class Plan(Generic[K]):
    sends: tuple[Send[K], ...]
    """To send now, in this order."""
    deferred: tuple[K, ...]
    """Waiting keys not in ``sends``, oldest first."""
    wait_until: float | None
    """When to plan again for ``deferred`` (None when nothing is deferred)."""


DIGEST_TITLE = "议事厅通知汇总（{n}条）"
DIGEST_LINK = "查看"
SUMMARY_CHARS = 60


def digest_line(index: int, message: Message) -> str:
    """One waiting message as one line of a digest: number, title, short summary, link."""
    summary = " ".join(markdown_to_plain(message.body).split())
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1] + "…"
    head = message.title or summary
    line = f"{index}. **{head}**"
    if message.title and summary:
        line += f" {summary}"
    if message.url:
        line += f" [{DIGEST_LINK}]({message.url})"
    return line


def digest(messages: Sequence[Message]) -> Message:
    """Several messages as one markdown message, in their order; a single one stays as it is."""
    if len(messages) == 1:
        return messages[0]
    body = "\n".join(digest_line(i, m) for i, m in enumerate(messages, 1))
    mentions = tuple(dict.fromkeys(p for m in messages for p in m.mention_mobiles))
    return Message.markdown(DIGEST_TITLE.format(n=len(messages)), body, mention_mobiles=mentions)


def chunk(
    pending: Sequence[tuple[K, Message]], limits: RobotLimits
) -> list[list[tuple[K, Message]]]:
    """The waiting messages cut, in order, into runs that each fit one digest of this robot."""
    runs: list[list[tuple[K, Message]]] = []
    size = 0
    for key, message in pending:
        run = runs[-1] if runs else None
        line = len(digest_line(len(run) + 1 if run else 1, message).encode("utf-8")) + 1
        full = run is not None and len(run) >= limits.digest_max_items
        if run is None or full or size + line > limits.digest_max_bytes:
            runs.append([(key, message)])
            size = line
        else:
            run.append((key, message))
            size += line
    return runs


def plan(
    pending: Sequence[tuple[K, Message]],
    limits: RobotLimits,
    sent_at: Iterable[float],
    now: float,
    *,
    blocked_until: float | None = None,
) -> Plan[K]:
    """What to send to one robot at ``now``, given the messages waiting for it (oldest first,
    as ``(key, message)``) and when it was sent to before; see the module docstring."""
    sent = list(sent_at)
    if not pending:
        return Plan((), (), None)
    room = capacity(limits, sent, now, blocked_until)
    if len(pending) <= room:
        return Plan(tuple(Send((key,), message) for key, message in pending), (), None)
    runs = chunk(pending, limits)
    now_runs, later = runs[:room], runs[room:]
    sends = tuple(
        Send(tuple(key for key, _ in run), digest([m for _, m in run])) for run in now_runs
    )
    deferred = tuple(key for run in later for key, _ in run)
    wait_until = None
    if deferred:
        wait_until = next_free(limits, sent + [now] * len(sends), now, blocked_until)
    return Plan(sends, deferred, wait_until)


class RobotLimiter:
    """The same, remembering one robot's sends in memory (for a single worker process).

    A worker that shares robots with others should keep the send times in the database and
    call ``plan`` with them instead.
    """

    def __init__(self, limits: RobotLimits) -> None:
        self.limits = limits
        horizon = max(w.seconds for w in limits.windows)
        self._horizon = horizon
        self.sent_at: deque[float] = deque()
        self.blocked_until: float | None = None

    def _prune(self, now: float) -> None:
        while self.sent_at and self.sent_at[0] <= now - self._horizon:
            self.sent_at.popleft()

    def plan(self, pending: Sequence[tuple[K, Message]], now: float) -> Plan[K]:
        self._prune(now)
        return plan(pending, self.limits, self.sent_at, now, blocked_until=self.blocked_until)

    def sent(self, at: float) -> None:
        """Record one send (successful or not: the service counts the attempt)."""
        self.sent_at.append(at)

    def refused(self, now: float, retry_after: float | None = None) -> None:
        """The service said "too fast": hold the robot for its penalty (or ``retry_after``)."""
        pause = self.limits.penalty if retry_after is None else max(retry_after, 0.0)
        until = now + pause
        self.blocked_until = until if self.blocked_until is None else max(self.blocked_until, until)

    def capacity(self, now: float) -> int:
        self._prune(now)
        return capacity(self.limits, self.sent_at, now, self.blocked_until)

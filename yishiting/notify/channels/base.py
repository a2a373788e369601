"""What every channel shares: the message types, the result of a delivery, the HTTP plumbing.

A channel is anything with ``send(message) -> DeliveryResult``. ``send`` never raises for a
failed delivery: it says whether the message arrived (``ok``), whether trying again later can
help (``retry``), how long to wait first when the service said so (``retry_after``, seconds),
and what went wrong (``error``, safe to show to an admin: it never contains the webhook's key
or secret). ``rate_limited`` marks a refusal for sending too fast, which concerns the robot as a
whole rather than the one message. ``uncertain`` marks a failure after the request may have
reached the service (a timeout or a connection dropped while waiting for the answer, an HTTP
504): the message may have arrived, and sending it again may show it twice. Robots have no
idempotency key, so the caller chooses: retry (at least once) or not (at most once).

Message bodies use the markdown every robot renders alike: ``**bold**``, ``[text](url)`` and
line breaks. Titles are plain text; each robot shows them its own way.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 5.0
"""Seconds to wait for a robot's answer (connect and read each) before counting it as down."""

MAX_REPLY_BYTES = 64 * 1024
USER_AGENT = "yishiting-notify/1"
DETAIL_LABEL = "查看详情"


class MessageKind(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    NEWS = "news"


@dataclass(frozen=True)
class Message:
    """One notification, independent of the channel that carries it.

    ``text``: ``body`` as plain text (markdown is flattened), ``url`` appended.
    ``markdown``: ``title`` and a markdown ``body``, with a button or link to ``url`` if given.
    ``news``: a link card: ``title``, ``body`` as its description, ``url`` (required), ``picurl``.
    ``mention_mobiles``: phone numbers to @-mention where the robot supports it (WeCom text,
    DingTalk); ignored elsewhere.
    """

    kind: MessageKind
    title: str = ""
    body: str = ""
    url: str = ""
    picurl: str = ""
    mention_mobiles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (self.title or self.body):
            raise ValueError("a message needs a title or a body")
        if self.kind is MessageKind.NEWS and not (self.title and self.url):
            raise ValueError("a news message needs a title and a url")
        for link in (self.url, self.picurl):
            if link and urlsplit(link).scheme not in ("http", "https"):
                raise ValueError(f"not an http(s) link: {link!r}")

    @classmethod
    def text(
        cls, body: str, *, title: str = "", url: str = "", mention_mobiles: tuple[str, ...] = ()
    ) -> Message:
        return cls(MessageKind.TEXT, title, body, url, mention_mobiles=mention_mobiles)

    @classmethod
    def markdown(
        cls, title: str, body: str, *, url: str = "", mention_mobiles: tuple[str, ...] = ()
    ) -> Message:
        return cls(MessageKind.MARKDOWN, title, body, url, mention_mobiles=mention_mobiles)

    @classmethod
    def news(cls, title: str, description: str, url: str, *, picurl: str = "") -> Message:
        return cls(MessageKind.NEWS, title, description, url, picurl)

    def plain(self) -> str:
        """The message as plain text: title, body without markdown, then the link."""
        lines = [self.title] if self.title else []
        if self.body:
            lines.append(markdown_to_plain(self.body))
        if self.url:
            lines.append(f"详情：{self.url}")
        return "\n".join(lines)


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    retry: bool = False
    retry_after: float | None = None
    error: str = ""
    rate_limited: bool = False
    uncertain: bool = False
    status: int | None = None
    """The HTTP status the service answered with, when a channel records it (webhooks)."""

    @classmethod
    def delivered(cls) -> DeliveryResult:
        return cls(ok=True)

    @classmethod
    def transient(
        cls,
        error: str,
        *,
        retry_after: float | None = None,
        rate_limited: bool = False,
        uncertain: bool = False,
    ) -> DeliveryResult:
        """Not delivered (or not known to be); the same message may get through later."""
        return cls(False, True, retry_after, error, rate_limited, uncertain)

    @classmethod
    def permanent(cls, error: str) -> DeliveryResult:
        """Not delivered, and sending it again as it is will not help (bad key, bad format)."""
        return cls(False, False, None, error)


class Channel(Protocol):
    def send(self, message: Message) -> DeliveryResult: ...


# --- text helpers ---------------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]]*)\]\((\S+?)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def markdown_to_plain(text: str) -> str:
    """``**a**`` -> ``a``, ``[a](u)`` -> ``a u``: readable where markdown is not rendered."""
    text = _LINK.sub(lambda m: f"{m.group(1)} {m.group(2)}".strip(), text)
    return _EMPHASIS.sub(r"\2", text)


def truncate_utf8(text: str, max_bytes: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (on a character boundary), marked as cut."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    room = max_bytes - len(ellipsis.encode("utf-8"))
    return data[: max(room, 0)].decode("utf-8", errors="ignore") + ellipsis


# --- HTTP -----------------------------------------------------------------------------------


def check_webhook_url(url: str) -> str:
    """The URL, if it is an http(s) URL with a host (urllib would also open file: and ftp:)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a webhook URL must be an http:// or https:// URL with a host")
    return url


def redact_url(url: str) -> str:
    """Scheme and host only: webhook paths and queries carry the robot's key."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return data if isinstance(data, dict) else None


class TransportError(Exception):
    """No HTTP answer at all: refused, reset, timed out, name not resolved, TLS failed.

    ``uncertain``: the request may have been sent in full before the failure."""

    def __init__(self, message: str, *, uncertain: bool) -> None:
        super().__init__(message)
        self.uncertain = uncertain


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A robot never redirects; following one would turn the POST into a GET somewhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_json(url: str, payload: Mapping[str, Any], *, timeout: float) -> HttpReply:
    """POST ``payload`` as UTF-8 JSON; the reply whatever its status, or ``TransportError``."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    try:
        # Built per call so that the proxy settings (https_proxy, no_proxy) are read now.
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=timeout) as response:
            return HttpReply(
                response.status, _lower(response.headers), response.read(MAX_REPLY_BYTES)
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpReply(exc.code, _lower(exc.headers), exc.read(MAX_REPLY_BYTES))
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise TransportError(_describe(reason), uncertain=_maybe_sent(reason)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(_describe(exc), uncertain=_maybe_sent(exc)) from exc


def _maybe_sent(reason: object) -> bool:
    """Could the request have reached the service? Not when the connection never opened."""
    never_connected = (ConnectionRefusedError, socket.gaierror, ssl.SSLCertVerificationError)
    return not isinstance(reason, (*never_connected, str))


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()} if headers is not None else {}


def _describe(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
    return str(reason)


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` (or Feishu's ``x-ogw-ratelimit-reset``), if any."""
    for name in ("retry-after", "x-ogw-ratelimit-reset"):
        value = headers.get(name, "").strip()
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def http_failure(reply: HttpReply) -> DeliveryResult | None:
    """What an HTTP status alone says, when it rules out reading the body: 429, 5xx, 408."""
    if reply.status == 429:
        return DeliveryResult.transient(
            "HTTP 429 Too Many Requests",
            retry_after=retry_after_header(reply.headers),
            rate_limited=True,
        )
    if reply.status >= 500 or reply.status == 408:
        return DeliveryResult.transient(
            f"HTTP {reply.status}",
            retry_after=retry_after_header(reply.headers),
            uncertain=reply.status == 504,
        )
    return None


def deliver(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: float,
    interpret: Callable[[dict[str, Any]], DeliveryResult],
) -> DeliveryResult:
    """POST and turn the answer into a result: transport and HTTP failures here, JSON codes
    by ``interpret(reply_json) -> DeliveryResult``."""
    try:
        reply = post_json(url, payload, timeout=timeout)
    except TransportError as exc:
        return DeliveryResult.transient(
            f"{redact_url(url)} unreachable: {exc}", uncertain=exc.uncertain
        )
    failed = http_failure(reply)
    if failed is not None:
        return failed
    data = reply.json()
    if data is None:
        if 200 <= reply.status < 300:
            # A 200 that is not the robot's JSON: a proxy or portal answering in its place.
            return DeliveryResult.transient(f"HTTP {reply.status} without a JSON answer")
        return DeliveryResult.permanent(f"HTTP {reply.status}")
    return interpret(data)


class SignedRobot:
    """A group robot whose webhook may be signed with a secret (DingTalk 加签, Feishu 签名校验).

    ``clock`` gives the current time in seconds (``time.time`` by default); tests pass their own.
    """

    kind = ""

    def __init__(
        self,
        webhook_url: str,
        secret: str = "",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.webhook_url = check_webhook_url(webhook_url)
        self.secret = secret
        self.timeout = timeout
        self.clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self.webhook_url)}, signed={bool(self.secret)})"

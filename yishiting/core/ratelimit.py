"""Rate limits on log-in and on public submission (§7: 429 with the error body and a
Retry-After header). No puzzle captchas (§6): a resident who is refused is told in words when
to try again.

Counters live in Django's cache alias `ratelimit` (settings.CACHES): in-process memory by
default, which is exact for `yishiting serve` (one process); several server processes share
counts through Redis (when REDIS_URL is set) or the database cache (docs/security.md).

Each limit is `COUNT/SECONDS`, a fixed window: at most COUNT hits in each window of SECONDS
(so a burst across a window boundary may reach twice COUNT, never more).

- log-in: failed attempts per username and per client address (`LoginRateLimitMiddleware`);
  while either is over its limit every attempt is refused before the password is checked;
- public submission: submissions per client address and per hall, by residents and visitors
  (staff capturing on a resident's behalf are not limited), checked in `actions.do_submit`
  for web pages, API v1 and Open311 alike. Submissions made outside an HTTP request (the CLI,
  the demo seed, robots) are not limited.
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from yishiting.core.errors import ActionError

LOGIN_PATHS = ("/accounts/login/", "/admin/login/")


class RateLimitedError(ActionError):
    """Too many attempts: try again after `retry_after` seconds (HTTP 429)."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds`."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """`COUNT/SECONDS`; `0` or an empty text: no limit."""
        text = (text or "").strip()
        if text in ("", "0"):
            return None
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 60))


@dataclass
class Client:
    """The HTTP caller whose request is being handled (set by the middleware)."""

    address: str
    retry_after: int | None = None


_client: contextvars.ContextVar[Client | None] = contextvars.ContextVar(
    "yishiting_client", default=None
)


def enabled() -> bool:
    return bool(settings.YISHITING_RATELIMIT)


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or behind a trusted proxy (YISHITING_BEHIND_PROXY)
    the last address of X-Forwarded-For (the one our own proxy added)."""
    if settings.YISHITING_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")[:64]


def _key(kind: str, value: str, bucket: int) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"yishiting:rl:{kind}:{digest}:{bucket}"


def _window(limit: Limit, now: float) -> tuple[int, int]:
    """(bucket number, seconds until it ends)."""
    bucket = int(now // limit.seconds)
    return bucket, max(1, math.ceil((bucket + 1) * limit.seconds - now))


def count(kind: str, value: str, limit: Limit, now: float | None = None) -> int:
    """Hits so far in the current window."""
    now = time.time() if now is None else now
    bucket, _rest = _window(limit, now)
    return int(caches["ratelimit"].get(_key(kind, value, bucket), 0))


def over(kind: str, value: str, limit: Limit | None, now: float | None = None) -> int | None:
    """Seconds to wait if this key has used up its window, else None (counts nothing)."""
    if limit is None:
        return None
    now = time.time() if now is None else now
    if count(kind, value, limit, now) >= limit.count:
        return _window(limit, now)[1]
    return None


def hit(kind: str, value: str, limit: Limit | None, now: float | None = None) -> int | None:
    """Count one hit; seconds to wait if it was over the limit, else None."""
    if limit is None:
        return None
    now = time.time() if now is None else now
    bucket, rest = _window(limit, now)
    cache = caches["ratelimit"]
    key = _key(kind, value, bucket)
    cache.add(key, 0, timeout=limit.seconds + 1)
    try:
        n = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=limit.seconds + 1)
        n = 1
    return rest if n > limit.count else None


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def check_submit(hall_code: str, *, staff: bool) -> None:
    """Count a public submission in `hall_code`; raise RateLimitedError when the caller's
    address or the hall is over its limit. Outside HTTP requests, and for staff, nothing."""
    client = _client.get()
    if client is None or staff or not enabled():
        return
    now = time.time()
    waits = [
        hit("submit-ip", client.address, Limit.parse(settings.YISHITING_SUBMIT_LIMIT_IP), now),
        hit("submit-hall", hall_code, Limit.parse(settings.YISHITING_SUBMIT_LIMIT_HALL), now),
    ]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        client.retry_after = wait
        raise RateLimitedError(
            _("提交太频繁了，请%(minutes)d分钟后再试。急事请直接联系本议事厅的联络员。")
            % {"minutes": _minutes(wait)},
            retry_after=wait,
        )


class RateLimitMiddleware:
    """Knows the caller's address for the limits, refuses log-in attempts over their limit,
    counts failed log-ins, and gives every 429 its Retry-After header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        client = Client(client_address(request))
        token = _client.set(client)
        try:
            if request.method == "POST" and request.path in LOGIN_PATHS and enabled():
                response = self._login(request, client)
            else:
                response = self.get_response(request)
        finally:
            _client.reset(token)
        if (
            response.status_code == 429
            and client.retry_after
            and not response.has_header("Retry-After")
        ):
            response["Retry-After"] = str(client.retry_after)
        return response

    def _login(self, request: HttpRequest, client: Client) -> HttpResponse:
        username = request.POST.get("username", "").strip().lower()[:150]
        by_name = Limit.parse(settings.YISHITING_LOGIN_LIMIT_USER)
        by_ip = Limit.parse(settings.YISHITING_LOGIN_LIMIT_IP)
        waits = [over("login-user", username, by_name), over("login-ip", client.address, by_ip)]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            client.retry_after = wait
            return self._refused(request, wait)
        response = self.get_response(request)
        # A successful log-in redirects; a failed one shows the form again.
        if response.status_code == 200:
            hit("login-user", username, by_name)
            hit("login-ip", client.address, by_ip)
        return response

    def _refused(self, request: HttpRequest, wait: int) -> HttpResponse:
        message = _("登录失败次数太多，请%(minutes)d分钟后再试。忘记密码请联系管理员。") % {
            "minutes": _minutes(wait)
        }
        template = "admin/login.html" if request.path.startswith("/admin/") else "web/login.html"
        if template == "admin/login.html":
            return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
        return render(
            request,
            template,
            {"rate_limited": message, "form": None, "next": request.POST.get("next", "")},
            status=429,
        )

"""Outbound webhooks (docs/webhooks.md): the payload of an event, its signature, the sender.

The payload is built in the event's transaction (`rules.write`) and stored as the
notification row's body, so that every retry sends the same bytes and the log shows them.
Each try is signed afresh: ``X-Yishiting-Signature: sha256=<hex HMAC-SHA256(secret,
f"{timestamp}.{body}")>`` with ``X-Yishiting-Timestamp`` the unix seconds of that try.

Answers: 2xx delivered; 408, 429 and 5xx, a timeout or no connection: try again later (the
receiver de-duplicates by ``X-Yishiting-Delivery``); any other status: dead at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder

from yishiting.notify.channels.base import (
    DEFAULT_TIMEOUT,
    MAX_REPLY_BYTES,
    USER_AGENT,
    DeliveryResult,
    Message,
    TransportError,
    _describe,
    _maybe_sent,
    _NoRedirect,
    check_webhook_url,
    redact_url,
    retry_after_header,
)

if TYPE_CHECKING:
    from yishiting.requests.models import Event, Request

SIGNATURE_HEADER = "X-Yishiting-Signature"
TIMESTAMP_HEADER = "X-Yishiting-Timestamp"
EVENT_HEADER = "X-Yishiting-Event"
DELIVERY_HEADER = "X-Yishiting-Delivery"


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``ts.body``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    message = str(timestamp).encode("ascii") + b"." + raw
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def views(event: Event, req: Request) -> dict[str, Any]:
    """The public, masked views of the event and its request, as API v1 shows them to nobody
    in particular (no personal data, no actor names)."""
    from yishiting.api.schemas import event_out, reporter_names, request_out

    shown = request_out(req, None, now=event.created_at)
    told = event_out(event, False, reporter_names(req))
    return {"type": event.verb, "created_at": event.created_at, "request": shown, "event": told}


def payload(key: str, seen: dict[str, Any]) -> str:
    """The JSON body of one delivery: its idempotency key and the `views` of the event."""
    data = {"id": key, **seen}
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


class WebhookChannel:
    """POSTs a prepared JSON body (the message's ``body``) to one URL, signed with its secret.

    One channel serves a webhook's whole queue: the message's ``title`` is the event type, the
    body's ``id`` its delivery key (``X-Yishiting-Delivery``). ``clock`` gives unix seconds."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = check_webhook_url(url)
        self.secret = secret
        self.timeout = timeout
        self.clock = clock

    def __repr__(self) -> str:
        return f"WebhookChannel({redact_url(self.url)})"

    def headers(self, event_type: str, body: str, now: float) -> dict[str, str]:
        """Every header of one try."""
        timestamp = int(now)
        delivery = str(json.loads(body).get("id", ""))
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            EVENT_HEADER: event_type,
            DELIVERY_HEADER: delivery,
        }

    def send(self, message: Message) -> DeliveryResult:
        body = message.body
        request = urllib.request.Request(
            self.url,
            data=body.encode("utf-8"),
            method="POST",
            headers=self.headers(message.title, body, self.clock()),
        )
        try:
            status, headers = _post(request, self.timeout)
        except TransportError as exc:
            return DeliveryResult.transient(
                f"{redact_url(self.url)} unreachable: {exc}", uncertain=exc.uncertain
            )
        return interpret(status, headers)


def _post(request: urllib.request.Request, timeout: float) -> tuple[int, dict[str, str]]:
    """The status and headers of the answer (any status), or ``TransportError``."""
    import http.client

    try:
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=timeout) as response:
            response.read(MAX_REPLY_BYTES)
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        with exc:
            exc.read(MAX_REPLY_BYTES)
            headers = exc.headers
            return exc.code, {k.lower(): v for k, v in headers.items()} if headers else {}
    except urllib.error.URLError as exc:
        raise TransportError(_describe(exc.reason), uncertain=_maybe_sent(exc.reason)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(_describe(exc), uncertain=_maybe_sent(exc)) from exc


def interpret(status: int, headers: dict[str, str]) -> DeliveryResult:
    """A receiver's HTTP status as a delivery result (with the status kept for the log)."""
    if 200 <= status < 300:
        return DeliveryResult(ok=True, status=status)
    error = f"HTTP {status}"
    if status in (408, 429) or status >= 500:
        return DeliveryResult(
            ok=False,
            retry=True,
            retry_after=retry_after_header(headers),
            error=error,
            rate_limited=status == 429,
            uncertain=status == 504,
            status=status,
        )
    return DeliveryResult(ok=False, retry=False, error=error, status=status)

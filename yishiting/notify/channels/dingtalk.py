"""DingTalk (钉钉) custom robot: text, markdown, link and actionCard messages, signed.

The protocol, from DingTalk's 自定义机器人接入 (open.dingtalk.com/document/robots/
custom-robot-access): ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` with a
UTF-8 JSON body ``{"msgtype": ..., "<msgtype>": {...}, "at": {...}}``; the answer is
``{"errcode": 0, "errmsg": "ok"}`` or another errcode.

With the 加签 security setting the robot has a secret (``SEC…``) and every request carries
``&timestamp=<ms>&sign=<sign>``: ``sign`` is the HMAC-SHA256 of ``timestamp + "\\n" + secret``
keyed with the secret, base64-encoded, then URL-encoded; the timestamp must be within an hour
of DingTalk's clock. Each robot may send 20 messages a minute; beyond, errcode 130101
("send too fast") and the robot is throttled for 10 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from yishiting.notify.channels.base import (
    DETAIL_LABEL,
    DeliveryResult,
    Message,
    MessageKind,
    SignedRobot,
    deliver,
)

RATE_LIMITED = 130101
"""send too fast, exceed 20 times per minute."""
RATE_LIMITED_NEW = 410100
"""发送速度太快而限流: the same limit under DingTalk's newer error numbering."""
RATE_LIMIT_PAUSE = 600.0
"""Seconds to hold a robot after it was throttled: DingTalk blocks it for 10 minutes."""
SECURITY_FAILED = 310000
"""sign not match / invalid timestamp / keywords not in content / ip not in whitelist."""
RETRYABLE = {-1: "system busy"}


def sign(timestamp_ms: int | str, secret: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), before URL-encoding."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(webhook_url: str, secret: str, timestamp_ms: int) -> str:
    """The webhook URL with ``timestamp`` and ``sign`` (replacing any already there)."""
    parts = urlsplit(webhook_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("timestamp", "sign")]
    query += [("timestamp", str(timestamp_ms)), ("sign", sign(timestamp_ms, secret))]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote_plus)))


class DingTalkRobot(SignedRobot):
    """A DingTalk custom robot: its webhook URL and, if 加签 is on, its secret."""

    kind = "dingtalk"

    def url(self, now: float) -> str:
        if not self.secret:
            return self.webhook_url
        return signed_url(self.webhook_url, self.secret, int(now * 1000))

    def payload(self, message: Message) -> dict[str, Any]:
        if message.kind is MessageKind.NEWS:
            link = {
                "title": message.title,
                "text": message.body or message.title,
                "messageUrl": message.url,
            }
            if message.picurl:
                link["picUrl"] = message.picurl
            return {"msgtype": "link", "link": link}
        at = {"atMobiles": list(message.mention_mobiles), "isAtAll": False}
        mentions = "".join(f" @{mobile}" for mobile in message.mention_mobiles)
        if message.kind is MessageKind.MARKDOWN:
            title = message.title or message.plain().strip().split("\n", 1)[0] or "通知"
            text = _markdown(message) + mentions
            if message.url:
                card = {
                    "title": title,
                    "text": text,
                    "btnOrientation": "0",
                    "singleTitle": DETAIL_LABEL,
                    "singleURL": message.url,
                }
                return {"msgtype": "actionCard", "actionCard": card}
            return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}
        return {"msgtype": "text", "text": {"content": message.plain() + mentions}, "at": at}

    def send(self, message: Message) -> DeliveryResult:
        return deliver(
            self.url(self.clock()),
            self.payload(message),
            timeout=self.timeout,
            interpret=interpret,
        )


def _markdown(message: Message) -> str:
    # DingTalk's markdown needs a blank line to break a line.
    body = message.body.replace("\r\n", "\n").replace("\n", "\n\n")
    return f"#### {message.title}\n\n{body}" if message.title else body


def interpret(reply: dict[str, Any]) -> DeliveryResult:
    """A DingTalk answer as a delivery result."""
    code = reply.get("errcode")
    if code == 0:
        return DeliveryResult.delivered()
    error = f"DingTalk errcode {code}: {reply.get('errmsg', '')}".strip()
    if code in (RATE_LIMITED, RATE_LIMITED_NEW):
        return DeliveryResult.transient(error, retry_after=RATE_LIMIT_PAUSE, rate_limited=True)
    if code in RETRYABLE:
        return DeliveryResult.transient(error)
    return DeliveryResult.permanent(error)

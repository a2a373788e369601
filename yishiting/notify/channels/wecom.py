"""WeCom (企业微信) group robot: text, markdown and news (link card) messages.

The protocol, from WeCom's 群机器人配置说明 (developer.work.weixin.qq.com/document/path/91770):
``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with a UTF-8 JSON body
``{"msgtype": "text"|"markdown"|"news", "<msgtype>": {...}}``; the answer is
``{"errcode": 0, "errmsg": "ok"}`` or another errcode. Text content is at most 2048 bytes,
markdown at most 4096, a news message has 1 to 8 articles (title ≤ 128 bytes, description
≤ 512). Each robot may send at most 20 messages a minute; beyond, errcode 45009.
"""

from __future__ import annotations

from typing import Any

from yishiting.notify.channels.base import (
    DEFAULT_TIMEOUT,
    DETAIL_LABEL,
    DeliveryResult,
    Message,
    MessageKind,
    check_webhook_url,
    deliver,
    redact_url,
    truncate_utf8,
)

TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
NEWS_TITLE_MAX_BYTES = 128
NEWS_DESCRIPTION_MAX_BYTES = 512

RATE_LIMITED = 45009
"""api freq out of limit: more than 20 messages in a minute from this robot."""

RATE_LIMIT_PAUSE = 60.0
"""Seconds to hold a robot after 45009: its window is one minute."""

# Errcodes worth another try as they are; every other non-zero errcode is permanent
# (93000 invalid webhook url, 40008 invalid message type, 40058 invalid parameter, …).
RETRYABLE = {
    -1: "system busy",
    RATE_LIMITED: "api freq out of limit",
    45033: "api concurrent out of limit",
}


class WeComRobot:
    """A WeCom group robot, addressed by its webhook URL (which holds its key)."""

    kind = "wecom"

    def __init__(self, webhook_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.webhook_url = check_webhook_url(webhook_url)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WeComRobot({redact_url(self.webhook_url)})"

    def payload(self, message: Message) -> dict[str, Any]:
        if message.kind is MessageKind.NEWS:
            article = {
                "title": truncate_utf8(message.title, NEWS_TITLE_MAX_BYTES),
                "description": truncate_utf8(message.body, NEWS_DESCRIPTION_MAX_BYTES),
                "url": message.url,
            }
            if message.picurl:
                article["picurl"] = message.picurl
            return {"msgtype": "news", "news": {"articles": [article]}}
        if message.kind is MessageKind.MARKDOWN:
            return {"msgtype": "markdown", "markdown": {"content": _markdown(message)}}
        text: dict[str, Any] = {"content": truncate_utf8(message.plain(), TEXT_MAX_BYTES)}
        if message.mention_mobiles:
            text["mentioned_mobile_list"] = list(message.mention_mobiles)
        return {"msgtype": "text", "text": text}

    def send(self, message: Message) -> DeliveryResult:
        return deliver(
            self.webhook_url, self.payload(message), timeout=self.timeout, interpret=interpret
        )


def _markdown(message: Message) -> str:
    link = f"\n[{DETAIL_LABEL}]({message.url})" if message.url else ""
    head = f"**{message.title}**\n" if message.title else ""
    room = MARKDOWN_MAX_BYTES - len((head + link).encode("utf-8"))
    return head + truncate_utf8(message.body, room) + link


def interpret(reply: dict[str, Any]) -> DeliveryResult:
    """A WeCom answer as a delivery result."""
    code = reply.get("errcode")
    if code == 0:
        return DeliveryResult.delivered()
    error = f"WeCom errcode {code}: {reply.get('errmsg', '')}".strip()
    if code == RATE_LIMITED:
        return DeliveryResult.transient(error, retry_after=RATE_LIMIT_PAUSE, rate_limited=True)
    if code in RETRYABLE:
        return DeliveryResult.transient(error)
    return DeliveryResult.permanent(error)

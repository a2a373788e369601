"""One client per channel, all with ``send(message) -> DeliveryResult`` (see ``base``)."""

from __future__ import annotations

from yishiting.notify.channels.base import (
    DEFAULT_TIMEOUT,
    Channel,
    DeliveryResult,
    Message,
    MessageKind,
)
from yishiting.notify.channels.dingtalk import DingTalkRobot
from yishiting.notify.channels.email import EmailChannel
from yishiting.notify.channels.feishu import FeishuRobot
from yishiting.notify.channels.sms import SmsChannel
from yishiting.notify.channels.wecom import WeComRobot

__all__ = [
    "ROBOTS",
    "Channel",
    "DeliveryResult",
    "DingTalkRobot",
    "EmailChannel",
    "FeishuRobot",
    "Message",
    "MessageKind",
    "SmsChannel",
    "WeComRobot",
    "robot",
]

Robot = WeComRobot | DingTalkRobot | FeishuRobot
ROBOTS = ("wecom", "dingtalk", "feishu")
"""The robot kinds, as ``robot()`` takes them and ``ratelimit.LIMITS`` keys them."""


def robot(
    kind: str, webhook_url: str, secret: str = "", *, timeout: float = DEFAULT_TIMEOUT
) -> Robot:
    """The client for one robot binding: ``kind`` is one of ``ROBOTS``. WeCom robots have no
    secret (their key is in the URL); ``ValueError`` for an unknown kind or a bad URL."""
    if kind == "wecom":
        if secret:
            raise ValueError("a WeCom group robot has no secret: its key is in the webhook URL")
        return WeComRobot(webhook_url, timeout=timeout)
    if kind == "dingtalk":
        return DingTalkRobot(webhook_url, secret, timeout=timeout)
    if kind == "feishu":
        return FeishuRobot(webhook_url, secret, timeout=timeout)
    raise ValueError(f"unknown robot kind {kind!r}; one of {', '.join(ROBOTS)}")

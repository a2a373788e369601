"""Pluggable senders: what carries a notification row, by its channel.

A sender is anything with ``send(Message) -> DeliveryResult`` (``channels.base.Channel``).
`SENDERS` maps a channel to a factory taking the row; `webhook` is the outbound
webhooks' (`webhooks.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from yishiting.notify.channels import EmailChannel, SmsChannel, robot
from yishiting.notify.channels.base import Channel

if TYPE_CHECKING:
    from yishiting.notify.models import Notification

Sender = Channel


def _robot(row: Notification) -> Sender | None:
    binding = row.binding
    if binding is None or not binding.enabled:
        return None
    return robot(binding.kind, binding.webhook_url, binding.secret)


def _sms(row: Notification) -> Sender | None:
    phone = row.user.phone if row.user else ""
    return SmsChannel(phone) if phone else None


def _email(row: Notification) -> Sender | None:
    address = row.user.email if row.user else ""
    return EmailChannel(address) if address else None


def _webhook(row: Notification) -> Sender | None:
    from yishiting.notify.webhooks import WebhookChannel

    hook = row.webhook
    if hook is None or not hook.active:
        return None
    try:
        return WebhookChannel(hook.url, hook.secret)
    except ValueError:  # a URL that is not http(s): dead, not a wedged queue
        return None


SENDERS: dict[str, Callable[[Notification], Sender | None]] = {
    "wecom": _robot,
    "dingtalk": _robot,
    "feishu": _robot,
    "sms": _sms,
    "email": _email,
    "webhook": _webhook,
}


def for_row(row: Notification) -> Sender | None:
    """The sender for a row, or None when its recipient cannot be reached that way."""
    factory = SENDERS.get(row.channel)
    return factory(row) if factory else None

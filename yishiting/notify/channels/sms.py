"""SMS through a pluggable backend; the default backend only logs (no SMS gateway needed).

A backend is any object with ``send_sms(phone, text) -> DeliveryResult``. The one used is
``settings.NOTIFY_SMS_BACKEND`` (a dotted path to a class taking no arguments), defaulting to
``ConsoleSmsBackend``; or pass one to ``SmsChannel`` directly. A real gateway (Aliyun, Tencent
Cloud SMS, a county's own) is a small class of this shape.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol, cast

from django.conf import settings
from django.utils.module_loading import import_string

from yishiting.core.masking import mask_phone
from yishiting.notify.channels.base import DeliveryResult, Message

logger = logging.getLogger("yishiting.notify.sms")

DEFAULT_BACKEND = "yishiting.notify.channels.sms.ConsoleSmsBackend"
SIGNATURE = "【议事厅】"
MAX_CHARS = 300
"""Longer texts are cut: carriers join at most a handful of 67-character parts."""

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class SmsBackend(Protocol):
    def send_sms(self, phone: str, text: str) -> DeliveryResult: ...


class ConsoleSmsBackend:
    """Writes each SMS to the log (the number masked) and keeps it in ``sent``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_sms(self, phone: str, text: str) -> DeliveryResult:
        self.sent.append((phone, text))
        logger.info("SMS to %s: %s", mask_phone(phone), text)
        return DeliveryResult.delivered()


def load_backend(path: str | None = None) -> SmsBackend:
    """An instance of the backend class at ``path``, else at ``settings.NOTIFY_SMS_BACKEND``."""
    path = path or getattr(settings, "NOTIFY_SMS_BACKEND", "") or DEFAULT_BACKEND
    return cast(SmsBackend, import_string(path)())


def render(message: Message, *, signature: str = SIGNATURE, max_chars: int = MAX_CHARS) -> str:
    """The message as one SMS text: the signature, then title, body and link on one line."""
    text = signature + message.plain().replace("\n", " ")
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


class SmsChannel:
    """SMS to one mainland mobile number."""

    kind = "sms"

    def __init__(self, phone: str, backend: SmsBackend | None = None) -> None:
        self.phone = re.sub(r"[\s-]", "", phone)
        self.backend = backend if backend is not None else load_backend()

    def __repr__(self) -> str:
        return f"SmsChannel({mask_phone(self.phone)})"

    def send(self, message: Message) -> DeliveryResult:
        if not _MOBILE.match(self.phone):
            return DeliveryResult.permanent(f"not a mobile number: {mask_phone(self.phone)}")
        try:
            return self.backend.send_sms(self.phone, render(message))
        except Exception as exc:  # a gateway's own failure: worth another try later
            logger.warning("SMS backend failed: %s", exc, exc_info=True)
            return DeliveryResult.transient(f"SMS backend failed: {type(exc).__name__}: {exc}")

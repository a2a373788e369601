"""Email through a pluggable backend; the default backend only logs (no mail server needed).

A backend is any object with ``send_email(to, subject, body) -> DeliveryResult``. The one used
is ``settings.NOTIFY_EMAIL_BACKEND`` (a dotted path to a class taking no arguments), defaulting
to ``ConsoleEmailBackend``. ``DjangoEmailBackend`` hands the mail to Django's own mail system
(``EMAIL_BACKEND``, ``EMAIL_HOST``, …) for real delivery over SMTP.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Protocol, cast

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from yishiting.notify.channels.base import DeliveryResult, Message

logger = logging.getLogger("yishiting.notify.email")

DEFAULT_BACKEND = "yishiting.notify.channels.email.ConsoleEmailBackend"
SUBJECT_PREFIX = "【议事厅】"


class EmailBackend(Protocol):
    def send_email(self, to: str, subject: str, body: str) -> DeliveryResult: ...


def _mask_address(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class ConsoleEmailBackend:
    """Writes each mail to the log (the address masked) and keeps it in ``sent``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_email(self, to: str, subject: str, body: str) -> DeliveryResult:
        self.sent.append((to, subject, body))
        logger.info("Email to %s: %s\n%s", _mask_address(to), subject, body)
        return DeliveryResult.delivered()


class DjangoEmailBackend:
    """Sends through ``django.core.mail`` (and so Django's ``EMAIL_*`` settings)."""

    def send_email(self, to: str, subject: str, body: str) -> DeliveryResult:
        try:
            send_mail(subject, body, None, [to])
        except smtplib.SMTPRecipientsRefused as exc:
            return DeliveryResult.permanent(f"recipient refused: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            return DeliveryResult.transient(f"mail server: {type(exc).__name__}: {exc}")
        return DeliveryResult.delivered()


def load_backend(path: str | None = None) -> EmailBackend:
    """An instance of the backend class at ``path``, else at ``settings.NOTIFY_EMAIL_BACKEND``."""
    path = path or getattr(settings, "NOTIFY_EMAIL_BACKEND", "") or DEFAULT_BACKEND
    return cast(EmailBackend, import_string(path)())


def render(message: Message) -> tuple[str, str]:
    """Subject (one line: a header cannot hold a line break) and plain-text body."""
    first = message.title or message.body.strip().split("\n", 1)[0]
    subject = SUBJECT_PREFIX + " ".join(first.split())[:100]
    return subject, message.plain() + "\n"


class EmailChannel:
    """Email to one address."""

    kind = "email"

    def __init__(self, address: str, backend: EmailBackend | None = None) -> None:
        self.address = address.strip()
        self.backend = backend if backend is not None else load_backend()

    def __repr__(self) -> str:
        return f"EmailChannel({_mask_address(self.address)})"

    def send(self, message: Message) -> DeliveryResult:
        local, at, domain = self.address.partition("@")
        if not (local and at and "." in domain) or any(c in self.address for c in "\r\n ,;"):
            return DeliveryResult.permanent("not an email address")
        subject, body = render(message)
        try:
            return self.backend.send_email(self.address, subject, body)
        except Exception as exc:  # a backend's own failure: worth another try later
            logger.warning("email backend failed: %s", exc, exc_info=True)
            return DeliveryResult.transient(f"email backend failed: {type(exc).__name__}: {exc}")

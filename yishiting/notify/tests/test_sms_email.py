"""SMS and email: console backends by default, pluggable, failures reported not raised."""

from __future__ import annotations

import logging

import pytest
from django.core import mail

from yishiting.notify.channels import DeliveryResult, EmailChannel, Message, SmsChannel
from yishiting.notify.channels import email as email_module
from yishiting.notify.channels import sms as sms_module

URL = "https://yst.example.gov.cn/r/42"


class Flaky:
    def send_sms(self, phone: str, text: str) -> DeliveryResult:
        raise ConnectionError("gateway down")

    def send_email(self, to: str, subject: str, body: str) -> DeliveryResult:
        raise ConnectionError("smtp down")


def test_sms_console_backend_logs_with_the_number_masked(caplog: pytest.LogCaptureFixture) -> None:
    backend = sms_module.ConsoleSmsBackend()
    channel = SmsChannel("138-0000-1111", backend)
    with caplog.at_level(logging.INFO, logger="yishiting.notify.sms"):
        result = channel.send(Message.markdown("诉求已办结", "您反映的**路灯不亮**已修好", url=URL))
    assert result.ok
    assert backend.sent == [
        ("13800001111", f"【议事厅】诉求已办结 您反映的路灯不亮已修好 详情：{URL}")
    ]
    assert "138****1111" in caplog.text
    assert "13800001111" not in caplog.text
    assert "13800001111" not in repr(channel)


def test_sms_is_cut_and_refuses_non_mobiles() -> None:
    backend = sms_module.ConsoleSmsBackend()
    assert SmsChannel("13800001111", backend).send(Message.text("很" * 1000)).ok
    assert len(backend.sent[0][1]) == sms_module.MAX_CHARS
    result = SmsChannel("0319-1234567", backend).send(Message.text("x"))
    assert (result.ok, result.retry) == (False, False)
    result = SmsChannel("13800001111", Flaky()).send(Message.text("x"))
    assert (result.ok, result.retry) == (False, True)
    assert "gateway down" in result.error


def test_sms_backend_from_settings(settings: object) -> None:
    assert isinstance(sms_module.load_backend(), sms_module.ConsoleSmsBackend)
    settings.NOTIFY_SMS_BACKEND = f"{__name__}.Flaky"  # type: ignore[attr-defined]
    assert isinstance(SmsChannel("13800001111").backend, Flaky)


def test_email_console_backend() -> None:
    backend = email_module.ConsoleEmailBackend()
    channel = EmailChannel("liaison@example.gov.cn", backend)
    assert channel.send(Message.markdown("诉求超时\n提醒", "**路灯不亮** 已超时", url=URL)).ok
    [(to, subject, body)] = backend.sent
    assert to == "liaison@example.gov.cn"
    assert subject == "【议事厅】诉求超时 提醒"  # one line
    assert body == f"诉求超时\n提醒\n路灯不亮 已超时\n详情：{URL}\n"
    assert "liaison" not in repr(channel)


@pytest.mark.parametrize("address", ["nobody", "a@b", "a@b.cn\r\nBcc: x@y.cn", "a@b.cn,c@d.cn"])
def test_email_refuses_bad_addresses(address: str) -> None:
    result = EmailChannel(address, email_module.ConsoleEmailBackend()).send(Message.text("x"))
    assert (result.ok, result.retry) == (False, False)


def test_email_through_django(settings: object) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # type: ignore[attr-defined]
    settings.NOTIFY_EMAIL_BACKEND = "yishiting.notify.channels.email.DjangoEmailBackend"  # type: ignore[attr-defined]
    assert EmailChannel("a@example.gov.cn").send(Message.text("你好", title="通知")).ok
    [sent] = mail.outbox
    assert sent.to == ["a@example.gov.cn"]
    assert sent.subject == "【议事厅】通知"
    assert sent.body == "通知\n你好\n"


def test_email_backend_failure_is_transient() -> None:
    result = EmailChannel("a@example.gov.cn", Flaky()).send(Message.text("x"))
    assert (result.ok, result.retry) == (False, True)

"""The notification outbox (§4): one row per message to one recipient, written in the same
transaction as the event that causes it, and the chat-robot bindings of halls and departments.

Rows are delivered per destination (one robot, or one person's SMS or email) in id order by
`outbox.deliver`; `Destination` is that queue's lease and rate-limit memory.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from yishiting.orgs import config
from yishiting.orgs.models import Department, Hall


class RobotKind(models.TextChoices):
    """The group robots a hall or department can bind."""

    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")
    FEISHU = "feishu", _("飞书")


class NotifyChannel(models.TextChoices):
    """How a notification travels."""

    IN_APP = "in_app", _("站内")
    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")
    FEISHU = "feishu", _("飞书")
    SMS = "sms", _("短信")
    EMAIL = "email", _("邮件")
    WEBHOOK = "webhook", _("Webhook")


class NotifyStatus(models.TextChoices):
    """Where a notification stands: waiting (or retrying), delivered, or given up on."""

    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    DEAD = "dead", _("发送失败")


class RobotBinding(models.Model):
    """A group robot of one hall or one department (webhook, secret, inbound callback keys)."""

    hall = models.ForeignKey(
        Hall,
        verbose_name=_("议事厅"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="robots",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="robots",
    )
    kind = models.CharField(_("类型"), max_length=10, choices=RobotKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True)
    webhook_url = models.CharField(_("Webhook 地址"), max_length=500)
    secret = models.CharField(_("加签密钥"), max_length=200, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    # Inbound (WeCom only): the callback's Token and EncodingAESKey, and the receive id (the
    # corp id for an app; empty for a group robot).
    callback_token = models.CharField(_("回调 Token"), max_length=64, blank=True)
    callback_aes_key = models.CharField(_("回调 EncodingAESKey"), max_length=43, blank=True)
    callback_receive_id = models.CharField(_("回调 ReceiveId"), max_length=64, blank=True)

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("群机器人")
        verbose_name_plural = _("群机器人")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hall__isnull=False, department__isnull=True)
                | models.Q(hall__isnull=True, department__isnull=False),
                name="robot_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.name or self.hall or self.department}"

    def clean(self) -> None:
        if (self.hall_id is None) == (self.department_id is None):
            raise ValidationError(_("请指定议事厅或部门之一"))
        from yishiting.notify.channels import robot

        try:
            robot(self.kind, self.webhook_url, self.secret)
        except ValueError as exc:
            raise ValidationError({"webhook_url": str(exc)}) from exc

    @property
    def destination(self) -> str:
        """The outbox queue of this robot."""
        return f"robot:{self.pk}"


class Webhook(models.Model):
    """An outbound webhook: a URL that gets every public event of the chosen verbs, signed."""

    name = models.CharField(_("名称"), max_length=50)
    url = models.CharField(_("接收地址"), max_length=500)
    verbs = models.JSONField(
        _("事件类型"), default=list, blank=True, help_text=_("不选则推送全部事件")
    )
    secret = models.CharField(_("签名密钥"), max_length=200)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("Webhook 订阅")
        verbose_name_plural = _("Webhook 订阅")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from yishiting.notify.channels.base import check_webhook_url
        from yishiting.requests.states import Verb

        try:
            check_webhook_url(self.url)
        except ValueError as exc:
            raise ValidationError({"url": _("请填写 http:// 或 https:// 开头的地址")}) from exc
        known = {v.value for v in Verb}
        if not isinstance(self.verbs, list) or any(v not in known for v in self.verbs):
            raise ValidationError({"verbs": _("未知的事件类型")})

    def wants(self, verb: str) -> bool:
        """Whether this webhook subscribes to `verb` (no verbs chosen: every verb)."""
        return not self.verbs or verb in self.verbs

    @property
    def destination(self) -> str:
        """The outbox queue of this webhook."""
        return f"webhook:{self.pk}"


class Destination(models.Model):
    """One delivery queue (a robot, a person's SMS or email): who holds it, when it may be
    tried next, and what it sent lately (for the robot's rate limit)."""

    key = models.CharField(_("目标"), max_length=64, primary_key=True)
    lease_until = models.DateTimeField(_("占用至"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    blocked_until = models.FloatField(_("限流至"), null=True, blank=True)
    # When the delivery task queued for this destination runs; empty when none is queued
    # (outbox.queue: one task per destination, not one per event).
    next_task_at = models.DateTimeField(_("已排程至"), null=True, blank=True)
    sent_log = models.JSONField(_("最近发送时间"), default=list, blank=True)

    class Meta:
        verbose_name = _("发送队列")
        verbose_name_plural = _("发送队列")

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    """One message to one recipient (a person, or a robot binding), from one event."""

    request = models.ForeignKey(
        "requests.Request",
        verbose_name=_("诉求"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    event = models.ForeignKey(
        "requests.Event",
        verbose_name=_("办理记录"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("事由"), max_length=24)
    channel = models.CharField(_("渠道"), max_length=10, choices=NotifyChannel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    binding = models.ForeignKey(
        RobotBinding,
        verbose_name=_("群机器人"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    webhook = models.ForeignKey(
        Webhook,
        verbose_name=_("Webhook 订阅"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    destination = models.CharField(_("目标"), max_length=64)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=200, unique=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=NotifyStatus.choices, default=NotifyStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    response_code = models.PositiveSmallIntegerField(_("响应状态码"), null=True, blank=True)
    digest = models.CharField(_("汇总批次"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["destination", "id"],
                name="notification_pending",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["user", "channel", "-id"], name="notification_inbox"),
            models.Index(fields=["status", "-id"], name="notification_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.destination} {self.title}"

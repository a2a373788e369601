"""Requests (诉求), their immutable events, attachments and followers.

Only `actions.py` writes these; everything else reads.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yishiting.orgs.models import Category, Department, Hall, Priority
from yishiting.requests.states import (
    PART_STATUS_CHOICES,
    PENDING_CHOICES,
    RATING_CHOICES,
    STATE_CHOICES,
    VERB_CHOICES,
    PartStatus,
    State,
)


def new_follow_code() -> str:
    """A follow-up code (查询码) for anonymous residents: 10 characters, no look-alikes."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Channel(models.TextChoices):
    """Where a request came in."""

    WEB = "web", _("网页")
    API = "api", _("接口")
    CAPTURE = "capture", _("联络员代录")
    WECOM = "wecom", _("企业微信群")
    OPEN311 = "open311", _("Open311")


class RatingChannel(models.TextChoices):
    """Who gave the rating: the reporter, or a return visit (回访) by phone or in person."""

    SELF = "self", _("本人评价")
    PHONE = "phone", _("电话回访")
    IN_PERSON = "in_person", _("上门回访")


class Request(models.Model):
    """A resident's request (诉求) and where it stands. `version` guards every transition."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("当前议事厅"), on_delete=models.PROTECT, related_name="requests"
    )
    origin_hall = models.ForeignKey(
        Hall,
        verbose_name=_("首接议事厅"),
        on_delete=models.PROTECT,
        related_name="originated_requests",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("类别"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    priority = models.CharField(
        _("紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    title = models.CharField(_("标题"), max_length=100)
    text = models.TextField(_("内容"))
    status = models.CharField(
        _("状态"), max_length=16, choices=STATE_CHOICES, default=State.SUBMITTED
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    channel = models.CharField(_("来源"), max_length=10, choices=Channel.choices, default="web")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("反映人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_requests",
    )
    reporter_name = models.CharField(_("反映人姓名"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("反映人电话"), max_length=20, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    follow_code = models.CharField(
        _("查询码"), max_length=12, unique=True, default=new_follow_code, editable=False
    )
    # The submitter's Idempotency-Key, hashed with who sent it (actions.submit_key): a retry
    # of a submit whose answer was lost finds this request instead of filing a second one.
    submit_key = models.CharField(max_length=64, null=True, unique=True, editable=False)
    address = models.CharField(_("地点"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)

    created_at = models.DateTimeField(_("提交时间"), db_index=True)
    updated_at = models.DateTimeField(_("更新时间"))
    first_responded_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    # Deadlines (§4): which ones are set depends on the state (states.CLOCKS_BY_STATE).
    respond_by = models.DateTimeField(_("响应时限"), null=True, blank=True)
    claim_by = models.DateTimeField(_("签收时限"), null=True, blank=True)
    resolve_by = models.DateTimeField(_("办结时限"), null=True, blank=True)
    rate_by = models.DateTimeField(_("评价截止"), null=True, blank=True)
    reopen_until = models.DateTimeField(_("可重开至"), null=True, blank=True)
    supervise_by = models.DateTimeField(_("督办时限"), null=True, blank=True)
    # Off-hours, dispatch + 5 minutes for the duty officer to forward (转办), until forwarded
    # or claimed (§4).
    forward_by = models.DateTimeField(_("转办时限"), null=True, blank=True)
    # Clock seconds left on the resolution clock while on hold.
    resolve_remaining = models.PositiveIntegerField(_("剩余办理时间(秒)"), null=True, blank=True)
    extension_until = models.DateTimeField(_("申请延期至"), null=True, blank=True)
    # The earliest deadline not yet acted on: the sweep reads only rows where this has passed.
    next_due_at = models.DateTimeField(_("下一时限"), null=True, blank=True)
    overdue = models.BooleanField(_("超时"), default=False)
    # Warnings still to give at 50% and 80% of the running clocks, earliest first: each
    # {"clock", "pct", "at", "deadline"}; the earliest `at` also counts in next_due_at.
    warnings = models.JSONField(_("待发提醒"), default=list, blank=True)

    # A decision the request waits for without changing state (docs/handling-rules.md).
    pending_review = models.CharField(
        _("待审核"), max_length=10, choices=PENDING_CHOICES, blank=True, default=""
    )
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    return_count = models.PositiveIntegerField(_("退单次数"), default=0)
    appeal_approved = models.BooleanField(_("甄别通过"), default=False)
    rating = models.CharField(_("评价"), max_length=24, choices=RATING_CHOICES, blank=True)
    rating_channel = models.CharField(
        _("评价方式"), max_length=10, choices=RatingChannel.choices, blank=True
    )
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    reopen_count = models.PositiveIntegerField(_("重开次数"), default=0)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("合并到"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_requests",
    )

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                name="request_next_due",
                condition=models.Q(next_due_at__isnull=False),
            ),
            models.Index(fields=["hall", "status"], name="request_hall_status"),
            models.Index(fields=["department", "status"], name="request_dept_status"),
            models.Index(fields=["status", "overdue"], name="request_status_overdue"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        """The case number (工单编号) a county office quotes: year and sequence."""
        if not self.pk:
            return ""
        return f"{timezone.localtime(self.created_at):%Y}{self.pk:07d}"


class EventQuerySet(models.QuerySet["Event"]):
    """Events are never updated or deleted in bulk either (core.audit adds database triggers)."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError("events are immutable")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("events are immutable")


class Event(models.Model):
    """One thing that happened to a request: immutable once written."""

    request = models.ForeignKey(
        Request, verbose_name=_("诉求"), on_delete=models.PROTECT, related_name="events"
    )
    seq = models.PositiveIntegerField(_("序号"))
    verb = models.CharField(_("动作"), max_length=24, choices=VERB_CHOICES)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_status = models.CharField(_("原状态"), max_length=16, choices=STATE_CHOICES, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=STATE_CHOICES)
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(_("公开"), default=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"))

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["request_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["request", "seq"], name="event_request_seq")]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.seq} {self.verb}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("events are immutable")


def attachment_path(instance: Attachment, filename: str) -> str:
    """Files go under media/requests/<year>/<month>/<random>.<ext>."""
    ext = filename.rsplit(".", 1)[-1].lower()
    return f"requests/{instance.created_at:%Y/%m}/{secrets.token_hex(12)}.{ext}"


class Attachment(models.Model):
    """A photo attached to a request by an event; stored re-encoded, without EXIF."""

    request = models.ForeignKey(
        Request, verbose_name=_("诉求"), on_delete=models.PROTECT, related_name="attachments"
    )
    event = models.ForeignKey(
        Event,
        verbose_name=_("办理记录"),
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=200)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小"))
    width = models.PositiveIntegerField(_("宽"))
    height = models.PositiveIntegerField(_("高"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.file.name or ""


def voice_path(instance: Voice, filename: str) -> str:
    """Voice messages go under media/voice/<year>/<month>/<random>.<ext>."""
    ext = filename.rsplit(".", 1)[-1].lower()
    return f"voice/{instance.created_at:%Y/%m}/{secrets.token_hex(12)}.{ext}"


class Voice(models.Model):
    """A resident's voice message (语音留言) kept with the submission, for handlers only (§6)."""

    request = models.OneToOneField(
        Request, verbose_name=_("诉求"), on_delete=models.PROTECT, related_name="voice"
    )
    event = models.ForeignKey(
        Event, verbose_name=_("办理记录"), on_delete=models.PROTECT, related_name="voices"
    )
    file = models.FileField(_("文件"), upload_to=voice_path, max_length=200)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("语音留言")
        verbose_name_plural = _("语音留言")

    def __str__(self) -> str:
        return self.file.name or ""


class FollowerKind(models.TextChoices):
    """Why someone follows a request."""

    REPORTER = "reporter", _("反映人")
    COSIGNER = "cosigner", _("我也遇到")
    MERGED = "merged", _("合并件反映人")


class Follower(models.Model):
    """A person who is told about a request's progress."""

    request = models.ForeignKey(
        Request, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="followers"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="following",
    )
    kind = models.CharField(_("类型"), max_length=10, choices=FollowerKind.choices)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("关注人")
        verbose_name_plural = _("关注人")
        constraints = [models.UniqueConstraint(fields=["request", "user"], name="follower_unique")]


class Part(models.Model):
    """An assisting department's share of a request (协办), with its own clocks.

    The lead department's share (主办) is the request itself: `Request.department` and the
    request's claim and resolution deadlines. Only `actions.py` writes parts.
    """

    request = models.ForeignKey(
        Request, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="parts"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("协办部门"), on_delete=models.PROTECT, related_name="parts"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=PART_STATUS_CHOICES, default=PartStatus.DISPATCHED
    )
    dispatched_at = models.DateTimeField(_("派单时间"))
    claimed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    posted_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    waived_at = models.DateTimeField(_("免除时间"), null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("免除人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # The department's own deadlines: claim while dispatched, resolution once claimed.
    claim_by = models.DateTimeField(_("签收时限"), null=True, blank=True)
    resolve_by = models.DateTimeField(_("办结时限"), null=True, blank=True)
    overdue = models.BooleanField(_("超时"), default=False)

    class Meta:
        verbose_name = _("协办")
        verbose_name_plural = _("协办")
        ordering = ["request_id", "id"]
        indexes = [models.Index(fields=["department", "status"], name="part_dept_status")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.department_id} {self.status}"

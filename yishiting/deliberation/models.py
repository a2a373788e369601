"""Deliberation (议事, §9): registers, dated rule rows, topics, meetings, ballots, projects.

Only `actions.py` writes topics, meetings, ballots and projects; registers come from the
import (`importer.py`) and the admin; rule rows from the data migration and the admin.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from yishiting.deliberation.rules import BASE_CHOICES, BODY_CHOICES, Base, VoteUnit
from yishiting.deliberation.states import (
    MEETING_CHOICES,
    PROJECT_CHOICES,
    STEP_CHOICES,
    TOPIC_CHOICES,
    MeetingState,
    ProjectState,
    TopicState,
)
from yishiting.orgs import config
from yishiting.orgs.models import Hall

# --- registers ------------------------------------------------------------------------------


class Household(models.Model):
    """A household (户) on a village's or community's register."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("议事厅"), on_delete=models.PROTECT, related_name="households"
    )
    number = models.CharField(_("户号"), max_length=32)
    head = models.CharField(_("户主"), max_length=50, blank=True)
    address = models.CharField(_("住址"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户籍登记")
        ordering = ["hall_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "number"], name="household_hall_number")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.head}"


class Resident(models.Model):
    """An adult resident on the register; linked to a User once verified (实名)."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("议事厅"), on_delete=models.PROTECT, related_name="residents"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="members"
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("实名用户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residencies",
    )
    representative = models.BooleanField(_("村(居)民代表"), default=False)
    committee = models.BooleanField(_("两委成员"), default=False)
    party_member = models.BooleanField(_("党员"), default=False)
    active = models.BooleanField(_("在册"), default=True)

    class Meta:
        verbose_name = _("成年居民")
        verbose_name_plural = _("成年居民")
        ordering = ["hall_id", "household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["hall", "user"],
                name="resident_hall_user",
                condition=models.Q(user__isnull=False),
            ),
            models.UniqueConstraint(fields=["household", "name"], name="resident_household_name"),
        ]
        # Covers the register counts (adults, households, representatives) of a hall.
        indexes = [
            models.Index(
                fields=["hall", "active", "household", "representative"], name="resident_register"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.household_id and self.hall_id and self.household.hall_id != self.hall_id:
            raise ValidationError({"household": _("户须属于同一议事厅")})


# --- rules as data --------------------------------------------------------------------------


class Body(models.Model):
    """One dated rule row of a deciding body (§9): the numbers in force from `effective_from`.

    A county enters a new row (say, the 2025 amendment's) without code; a meeting uses the
    row in force on its date (`rules.rule_for`).
    """

    kind = models.CharField(_("会议类型"), max_length=32, choices=BODY_CHOICES)
    effective_from = models.DateField(_("施行日期"))
    notice_days = models.PositiveSmallIntegerField(_("提前通知天数"), default=0)
    quorum_num = models.PositiveSmallIntegerField(
        _("法定人数分子"), validators=[MinValueValidator(1)]
    )
    quorum_den = models.PositiveSmallIntegerField(
        _("法定人数分母"), validators=[MinValueValidator(1)]
    )
    quorum_strict = models.BooleanField(_("法定人数须超过"), default=False)
    quorum_of = models.CharField(_("法定人数基数"), max_length=16, choices=BASE_CHOICES)
    quorum_alt_num = models.PositiveSmallIntegerField(_("另一法定人数分子"), null=True, blank=True)
    quorum_alt_den = models.PositiveSmallIntegerField(_("另一法定人数分母"), null=True, blank=True)
    quorum_alt_strict = models.BooleanField(_("另一法定人数须超过"), default=False)
    quorum_alt_of = models.CharField(
        _("另一法定人数基数"), max_length=16, choices=BASE_CHOICES, blank=True
    )
    majority_num = models.PositiveSmallIntegerField(_("通过比例分子"), default=1)
    majority_den = models.PositiveSmallIntegerField(_("通过比例分母"), default=2)
    majority_strict = models.BooleanField(_("通过须超过"), default=True)
    majority_of = models.CharField(
        _("通过比例基数"), max_length=16, choices=BASE_CHOICES, default=Base.PRESENT
    )
    compel_num = models.PositiveSmallIntegerField(_("提议召集比例分子"), null=True, blank=True)
    compel_den = models.PositiveSmallIntegerField(_("提议召集比例分母"), null=True, blank=True)
    compel_of = models.CharField(_("提议召集基数"), max_length=16, choices=BASE_CHOICES, blank=True)
    compel_alt_num = models.PositiveSmallIntegerField(_("另一提议比例分子"), null=True, blank=True)
    compel_alt_den = models.PositiveSmallIntegerField(_("另一提议比例分母"), null=True, blank=True)
    compel_alt_of = models.CharField(
        _("另一提议基数"), max_length=16, choices=BASE_CHOICES, blank=True
    )
    convene_days = models.PositiveSmallIntegerField(
        _("提议后召集期限(天)"), default=15, validators=[MinValueValidator(1)]
    )
    callers = models.CharField(
        _("召集人"), max_length=100, default="committee", help_text=_("committee 等，逗号分隔")
    )
    vote_unit = models.CharField(
        _("表决单位"),
        max_length=10,
        choices=[(VoteUnit.PERSON.value, _("每人一票")), (VoteUnit.HOUSEHOLD.value, _("每户一票"))],
        default=VoteUnit.PERSON,
    )
    proxies = models.BooleanField(_("允许户代表代理"), default=False)
    source = models.CharField(_("依据"), max_length=300)

    class Meta:
        verbose_name = _("会议规则")
        verbose_name_plural = _("会议规则")
        ordering = ["kind", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "effective_from"], name="body_kind_date")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_from:%Y-%m-%d}"

    def clean(self) -> None:
        for prefix in ("quorum", "quorum_alt", "majority", "compel", "compel_alt"):
            num, den = getattr(self, f"{prefix}_num"), getattr(self, f"{prefix}_den")
            of = getattr(self, f"{prefix}_of", "x")
            if of and (num is None or not den or num > den):
                raise ValidationError({f"{prefix}_num": _("比例须为 0 到 1 之间的分数")})


class DeliberationRules(models.Model):
    """A county's deliberation settings; a county without a row uses the defaults."""

    county = models.OneToOneField(
        Hall,
        verbose_name=_("县"),
        on_delete=models.CASCADE,
        limit_choices_to={"kind": "county"},
        related_name="deliberation_rules",
    )
    publicity_hours = models.PositiveIntegerField(
        _("公开时限(小时)"),
        default=48,
        validators=[MinValueValidator(1)],
        help_text=_("决议和实施结果须在此时间内在公开栏和群里公布"),
    )

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("议事规则")
        verbose_name_plural = _("议事规则")

    def __str__(self) -> str:
        return str(self.county)

    @classmethod
    def for_county(cls, county_code: str) -> DeliberationRules:
        """The county's row, or the defaults."""
        return config.by_county(cls).get(county_code) or cls()


# --- topics ---------------------------------------------------------------------------------


class Topic(models.Model):
    """A matter raised for residents to discuss and decide (议题)."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("议事厅"), on_delete=models.PROTECT, related_name="topics"
    )
    title = models.CharField(_("标题"), max_length=100)
    text = models.TextField(_("内容"))
    body = models.CharField(_("提请会议"), max_length=32, choices=BODY_CHOICES)
    status = models.CharField(
        _("状态"), max_length=16, choices=TOPIC_CHOICES, default=TopicState.OPEN
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提出人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_as = models.CharField(_("提出身份"), max_length=16, blank=True)
    suggested = models.BooleanField(_("系统建议"), default=False)
    requests = models.ManyToManyField(
        "requests.Request", verbose_name=_("相关诉求"), blank=True, related_name="topics"
    )
    supporters = models.PositiveIntegerField(_("联名人数"), default=0)
    supporting_households = models.PositiveIntegerField(_("联名户数"), default=0)
    supporting_representatives = models.PositiveIntegerField(_("联名代表数"), default=0)
    compelled_at = models.DateTimeField(_("达到提议门槛"), null=True, blank=True)
    created_at = models.DateTimeField(_("提出时间"), db_index=True)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hall", "status"], name="topic_hall_status")]

    def __str__(self) -> str:
        return self.title


class Stance(models.TextChoices):
    """A comment's position on the topic."""

    FOR = "for", _("赞成")
    AGAINST = "against", _("反对")
    NEUTRAL = "neutral", _("中立")


class Comment(models.Model):
    """A comment on a topic; internal ones (committee notes) only for the hall's officers."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("议题"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("留言人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    stance = models.CharField(_("立场"), max_length=8, choices=Stance.choices)
    text = models.TextField(_("内容"))
    public = models.BooleanField(_("公开"), default=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("议题留言")
        verbose_name_plural = _("议题留言")
        ordering = ["topic_id", "id"]

    def __str__(self) -> str:
        return self.text[:30]


class Support(models.Model):
    """A verified resident's support (联名) for a topic: one per person."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("议题"), on_delete=models.CASCADE, related_name="supports"
    )
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="supports"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("联名")
        verbose_name_plural = _("联名")
        constraints = [models.UniqueConstraint(fields=["topic", "resident"], name="support_once")]


# --- meetings -------------------------------------------------------------------------------


def new_token() -> str:
    """The secret in a meeting's sign-in QR code."""
    return secrets.token_urlsafe(12)


class Purpose(models.TextChoices):
    """Why a meeting is held."""

    DECISION = "decision", _("议事决策")
    ACCEPTANCE = "acceptance", _("项目验收")


class Meeting(models.Model):
    """A meeting of a body in a hall, its agenda, and (once closed) its resolution."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("议事厅"), on_delete=models.PROTECT, related_name="meetings"
    )
    body = models.CharField(_("会议类型"), max_length=32, choices=BODY_CHOICES)
    purpose = models.CharField(
        _("用途"), max_length=12, choices=Purpose.choices, default=Purpose.DECISION
    )
    title = models.CharField(_("名称"), max_length=100)
    motion = models.TextField(_("表决事项"), blank=True)
    preread = models.TextField(_("会前材料"), blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("开会时间"))
    status = models.CharField(
        _("状态"), max_length=16, choices=MEETING_CHOICES, default=MeetingState.DRAFT
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    topics = models.ManyToManyField(
        Topic, verbose_name=_("议程"), blank=True, related_name="meetings"
    )
    project = models.ForeignKey(
        "Project",
        verbose_name=_("验收项目"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="acceptance_meetings",
    )
    compelled_by = models.ForeignKey(
        Topic,
        verbose_name=_("提议召集的议题"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="compelled_meetings",
    )
    convene_by = models.DateTimeField(_("召集期限"), null=True, blank=True)
    urgent = models.BooleanField(_("紧急召开"), default=False)
    urgent_reason = models.CharField(_("紧急理由"), max_length=500, blank=True)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    sign_in_token = models.CharField(_("签到码"), max_length=32, default=new_token)
    rule = models.ForeignKey(
        Body,
        verbose_name=_("适用规则"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="meetings",
    )
    # The resolution (决议), written once by close.
    roster_size = models.PositiveIntegerField(_("应到"), null=True, blank=True)
    present = models.PositiveIntegerField(_("实到"), null=True, blank=True)
    yes = models.PositiveIntegerField(_("赞成"), null=True, blank=True)
    no = models.PositiveIntegerField(_("反对"), null=True, blank=True)
    abstain = models.PositiveIntegerField(_("弃权"), null=True, blank=True)
    quorum_met = models.BooleanField(_("达到法定人数"), null=True, blank=True)
    passed = models.BooleanField(_("通过"), null=True, blank=True)
    resolution = models.TextField(_("决议"), blank=True)
    dissent = models.TextField(_("不同意见"), blank=True)
    counts = models.JSONField(_("计票明细"), default=dict, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    publish_by = models.DateTimeField(_("公开时限"), null=True, blank=True)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)
    late = models.BooleanField(_("逾期"), default=False)
    # The earliest clock not yet acted on (convene_by, publish_by): the sweep reads only these.
    next_due_at = models.DateTimeField(_("下一时限"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("召集人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                name="meeting_next_due",
                condition=models.Q(next_due_at__isnull=False),
            ),
            models.Index(fields=["hall", "status"], name="meeting_hall_status"),
        ]

    def __str__(self) -> str:
        return self.title


class Channel(models.TextChoices):
    """How someone was signed in or voted."""

    QR = "qr", _("扫码签到")
    OFFICER = "officer", _("工作人员代签")
    ONLINE = "online", _("网上表决")
    PAPER = "paper", _("纸质表决")


class Attendance(models.Model):
    """One voice present at a meeting: a person (`r:<id>`) or a household (`h:<id>`, for a
    proxy or a one-vote-per-household body). `key` is unique per meeting: signing in twice
    counts once."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("会议"), on_delete=models.CASCADE, related_name="attendance"
    )
    key = models.CharField(_("表决人"), max_length=24)
    resident = models.ForeignKey(
        Resident, verbose_name=_("到会人"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="+"
    )
    proxy = models.BooleanField(_("户代表代理"), default=False)
    channel = models.CharField(_("方式"), max_length=8, choices=Channel.choices)
    created_at = models.DateTimeField(_("签到时间"))

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        constraints = [models.UniqueConstraint(fields=["meeting", "key"], name="attendance_once")]


class Choice(models.TextChoices):
    """A ballot's answer."""

    YES = "yes", _("赞成")
    NO = "no", _("反对")
    ABSTAIN = "abstain", _("弃权")


class Tally(models.Model):
    """A paper tally: the ballots of a signed sheet, entered with a photo of it."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("会议"), on_delete=models.CASCADE, related_name="tallies"
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ballots = models.PositiveIntegerField(_("票数"))
    created_at = models.DateTimeField(_("录入时间"))

    class Meta:
        verbose_name = _("纸质计票")
        verbose_name_plural = _("纸质计票")


class Ballot(models.Model):
    """One vote: `key` as in Attendance, unique per meeting across online and paper."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("会议"), on_delete=models.CASCADE, related_name="ballots"
    )
    key = models.CharField(_("表决人"), max_length=24)
    resident = models.ForeignKey(
        Resident, verbose_name=_("表决人"), on_delete=models.PROTECT, related_name="+"
    )
    choice = models.CharField(_("表决"), max_length=8, choices=Choice.choices)
    channel = models.CharField(_("方式"), max_length=8, choices=Channel.choices)
    tally = models.ForeignKey(
        Tally,
        verbose_name=_("纸质计票"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ballot_rows",
    )
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("选票")
        verbose_name_plural = _("选票")
        constraints = [models.UniqueConstraint(fields=["meeting", "key"], name="ballot_once")]
        indexes = [models.Index(fields=["meeting", "choice"], name="ballot_recount")]


# --- projects -------------------------------------------------------------------------------


class Project(models.Model):
    """The work an adopted resolution decided, carried to done by an acceptance vote."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("议事厅"), on_delete=models.PROTECT, related_name="projects"
    )
    meeting = models.OneToOneField(
        Meeting,
        verbose_name=_("决议会议"),
        on_delete=models.PROTECT,
        related_name="adopted_project",
    )
    title = models.CharField(_("名称"), max_length=100)
    status = models.CharField(
        _("状态"), max_length=16, choices=PROJECT_CHOICES, default=ProjectState.IN_PROGRESS
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    requests = models.ManyToManyField(
        "requests.Request", verbose_name=_("派发诉求"), blank=True, related_name="projects"
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("关注人"), blank=True, related_name="+"
    )
    reopen_count = models.PositiveIntegerField(_("重新实施次数"), default=0)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    publish_by = models.DateTimeField(_("结果公开时限"), null=True, blank=True)
    published_at = models.DateTimeField(_("结果公开时间"), null=True, blank=True)
    late = models.BooleanField(_("逾期"), default=False)
    next_due_at = models.DateTimeField(_("下一时限"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("议事项目")
        verbose_name_plural = _("议事项目")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                name="project_next_due",
                condition=models.Q(next_due_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.title


class Milestone(models.Model):
    """A step of a project, with its date, cost and (once done) dated photos."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="milestones"
    )
    title = models.CharField(_("名称"), max_length=100)
    due_on = models.DateField(_("计划日期"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    cost = models.DecimalField(_("费用(元)"), max_digits=12, decimal_places=2, default=0)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("里程碑")
        verbose_name_plural = _("里程碑")
        ordering = ["project_id", "id"]

    def __str__(self) -> str:
        return self.title


# --- 四议两公开 -------------------------------------------------------------------------------


class Matter(models.Model):
    """A village's major matter (重大事项) decided by 四议两公开."""

    hall = models.ForeignKey(
        Hall, verbose_name=_("议事厅"), on_delete=models.PROTECT, related_name="matters"
    )
    title = models.CharField(_("事项"), max_length=100)
    topic = models.ForeignKey(
        Topic, verbose_name=_("议题"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("四议两公开事项")
        verbose_name_plural = _("四议两公开事项")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Step(models.Model):
    """One of the six steps of a matter, recorded in order."""

    matter = models.ForeignKey(
        Matter, verbose_name=_("事项"), on_delete=models.CASCADE, related_name="steps"
    )
    step = models.CharField(_("步骤"), max_length=24, choices=STEP_CHOICES)
    held_on = models.DateField(_("日期"))
    attendance = models.PositiveIntegerField(_("参加人数"))
    signatures = models.TextField(_("签名"), help_text=_("参加人签名，逗号分隔"))
    note = models.TextField(_("内容"), blank=True)
    meeting = models.ForeignKey(
        Meeting, verbose_name=_("会议"), null=True, blank=True, on_delete=models.SET_NULL
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("记录时间"))

    class Meta:
        verbose_name = _("步骤")
        verbose_name_plural = _("步骤")
        ordering = ["matter_id", "id"]
        constraints = [models.UniqueConstraint(fields=["matter", "step"], name="step_once")]


# --- the event log ----------------------------------------------------------------------------


class Event(models.Model):
    """One thing that happened to a topic, meeting or project: immutable once written."""

    topic = models.ForeignKey(
        Topic, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    matter = models.ForeignKey(
        Matter, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    verb = models.CharField(_("动作"), max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(_("公开"), default=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("议事记录")
        verbose_name_plural = _("议事记录")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.verb} {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("events are immutable")


def photo_path(instance: Photo, filename: str) -> str:
    """Files go under media/deliberation/<year>/<month>/<random>.<ext>."""
    ext = filename.rsplit(".", 1)[-1].lower()
    return f"deliberation/{instance.created_at:%Y/%m}/{secrets.token_hex(12)}.{ext}"


class Photo(models.Model):
    """A photo attached by an event (topic photos, signed tally sheets, milestone proof),
    re-encoded without EXIF like a request's."""

    event = models.ForeignKey(
        Event, verbose_name=_("议事记录"), on_delete=models.PROTECT, related_name="photos"
    )
    file = models.FileField(_("文件"), upload_to=photo_path, max_length=200)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小"))
    width = models.PositiveIntegerField(_("宽"))
    height = models.PositiveIntegerField(_("高"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("议事照片")
        verbose_name_plural = _("议事照片")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.file.name or ""

"""The org tree of a county: halls, departments, people and their roles, categories, clocks."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yishiting.orgs import config
from yishiting.requests.clocks import Basis, WorkingHours


class User(AbstractUser):
    """Anyone who logs in: residents, liaisons, staff. Roles come from memberships."""

    phone = models.CharField(_("手机号"), max_length=20, blank=True, db_index=True)
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class HallKind(models.TextChoices):
    """Kinds of hall (§6)."""

    COUNTY = "county", _("县")
    TOWNSHIP = "township", _("乡镇/街道")
    VILLAGE = "village", _("村")
    COMMUNITY = "community", _("社区")
    COMPOUND = "compound", _("小区")
    SCHOOL_CLASS = "school_class", _("家长议事厅")
    MARKET = "market", _("商户议事厅")
    ASSIGNMENT = "assignment", _("部门集中交办厅")


# Which kinds a hall's parent may have (PRODUCT.md §1, §6). The spec names the first six;
# school-class and market halls may sit wherever a school or a market street does.
PARENT_KINDS: dict[HallKind, frozenset[HallKind]] = {
    HallKind.COUNTY: frozenset(),
    HallKind.TOWNSHIP: frozenset({HallKind.COUNTY}),
    HallKind.VILLAGE: frozenset({HallKind.TOWNSHIP}),
    HallKind.COMMUNITY: frozenset({HallKind.TOWNSHIP}),
    HallKind.COMPOUND: frozenset({HallKind.COMMUNITY, HallKind.TOWNSHIP, HallKind.VILLAGE}),
    HallKind.SCHOOL_CLASS: frozenset(
        {HallKind.COUNTY, HallKind.TOWNSHIP, HallKind.VILLAGE, HallKind.COMMUNITY}
    ),
    HallKind.MARKET: frozenset(
        {HallKind.COUNTY, HallKind.TOWNSHIP, HallKind.VILLAGE, HallKind.COMMUNITY}
    ),
    HallKind.ASSIGNMENT: frozenset({HallKind.COUNTY}),
}

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CODE_VALIDATOR = RegexValidator(CODE_PATTERN, _("编码只能包含字母、数字、下划线和连字符"))


class Hall(models.Model):
    """A 议事厅. `path` (codes from the county down, slash-separated) makes subtree scope one
    indexed prefix match."""

    code = models.CharField(_("编码"), max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=HallKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=400, db_index=True, editable=False)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("议事厅")
        verbose_name_plural = _("议事厅")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == HallKind.COUNTY and self.parent_id is not None:
            raise ValidationError({"parent": _("县级议事厅没有上级")})
        if self.kind != HallKind.COUNTY and self.parent_id is None:
            raise ValidationError({"parent": _("除县级外，议事厅必须有上级")})
        if self.parent is not None:
            if self.pk and self.parent.path.startswith(self.path):
                raise ValidationError({"parent": _("上级不能是本厅或其下级")})
            if (
                self.kind in PARENT_KINDS
                and self.parent.kind not in PARENT_KINDS[HallKind(self.kind)]
            ):
                raise ValidationError({"parent": _("上级议事厅的类型不符合层级")})

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The stored path, not the in-memory one: an ancestor may have moved since loading.
        old_path = (
            Hall.objects.filter(pk=self.pk).values_list("path", flat=True).first()
            if self.pk
            else ""
        )
        self.path = (self.parent.path if self.parent else "/") + self.code + "/"
        with transaction.atomic():
            super().save(*args, **kwargs)
            if old_path and old_path != self.path:
                # Moved or renamed: carry the whole subtree along in one statement.
                Hall.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(models.Value(self.path), Substr("path", len(old_path) + 1))
                )

    @property
    def county_code(self) -> str:
        """Code of the county this hall belongs to (first segment of the path)."""
        return self.path.strip("/").split("/")[0]

    def county(self) -> Hall:
        """The county hall at the top of this hall's tree."""
        return self if self.kind == HallKind.COUNTY else Hall.objects.get(code=self.county_code)

    def contains(self, other: Hall) -> bool:
        """Whether `other` is this hall or below it."""
        return other.path.startswith(self.path)

    def ancestor_codes(self) -> list[str]:
        """Codes from the county down to this hall, this one included."""
        return self.path.strip("/").split("/")


class Department(models.Model):
    """A functional department (职能部门) of a county that claims and fixes requests."""

    code = models.CharField(_("编码"), max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("名称"), max_length=100)
    county = models.ForeignKey(
        Hall,
        verbose_name=_("所属县"),
        on_delete=models.PROTECT,
        limit_choices_to={"kind": HallKind.COUNTY},
        related_name="departments",
    )
    working_hours = models.CharField(
        _("工作时间"),
        max_length=100,
        default="08:30-12:00,13:30-17:30",
        help_text=_("如 08:30-12:00,13:30-17:30"),
    )

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            WorkingHours.parse(self.working_hours)
        except ValueError as exc:
            raise ValidationError({"working_hours": str(exc)}) from exc

    def hours(self) -> WorkingHours:
        """Parsed working hours."""
        return WorkingHours.parse(self.working_hours)


class Role(models.TextChoices):
    """Staff roles of §2 (residents need no membership; admins are superusers)."""

    REPRESENTATIVE = "representative", _("居民/村民代表")
    LIAISON = "liaison", _("联络员")
    MANAGER = "manager", _("管理员")
    DISPATCHER = "dispatcher", _("交办员")
    DEPARTMENT = "department", _("部门人员")
    DUTY = "duty", _("值守人员")
    LEADER = "leader", _("领导")


# Roles whose scope is wider than their hall (scope.py) may only sit in fitting halls: a
# dispatcher membership anywhere in a county dispatches for the whole county (§2).
ROLE_HALL_KINDS: dict[Role, frozenset[HallKind]] = {
    Role.DISPATCHER: frozenset({HallKind.ASSIGNMENT}),
    Role.DUTY: frozenset({HallKind.COUNTY, HallKind.ASSIGNMENT}),
    Role.LEADER: frozenset({HallKind.COUNTY, HallKind.TOWNSHIP}),
}


class Membership(models.Model):
    """A person's role in a hall (or, for department officers, in a department)."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    hall = models.ForeignKey(
        Hall,
        verbose_name=_("议事厅"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("成员角色")
        verbose_name_plural = _("成员角色")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "hall"],
                name="membership_hall_unique",
                condition=models.Q(department__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "department"],
                name="membership_department_unique",
                condition=models.Q(hall__isnull=True),
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(role="department", department__isnull=False, hall__isnull=True)
                    | (
                        ~models.Q(role="department")
                        & models.Q(hall__isnull=False, department__isnull=True)
                    )
                ),
                name="membership_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.hall or self.department}"

    def clean(self) -> None:
        if self.role == Role.DEPARTMENT:
            if self.department_id is None or self.hall_id is not None:
                raise ValidationError(_("部门人员须指定部门，不指定议事厅"))
        elif self.hall_id is None or self.department_id is not None:
            raise ValidationError(_("该角色须指定议事厅，不指定部门"))
        elif (
            self.hall is not None
            and self.role in ROLE_HALL_KINDS
            and self.hall.kind not in ROLE_HALL_KINDS[Role(self.role)]
        ):
            raise ValidationError(_("该角色不能设在这一类议事厅"))


class Priority(models.TextChoices):
    """How hard a request is; picks the resolution clock (§4)."""

    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("一般")
    COMPLEX = "complex", _("复杂")


class Category(models.Model):
    """What a request is about; names the department that usually handles it."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    department = models.ForeignKey(
        Department,
        verbose_name=_("默认部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="categories",
    )
    on_site = models.BooleanField(
        _("需现场照片"), default=False, help_text=_("办结时必须上传现场照片")
    )
    default_priority = models.CharField(
        _("默认紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    keywords = models.TextField(_("关键词"), blank=True, help_text=_("以空格或逗号分隔"))

    class Meta:
        verbose_name = _("诉求类别")
        verbose_name_plural = _("诉求类别")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


BASIS_CHOICES = [
    (Basis.CALENDAR.value, _("自然时间")),
    (Basis.WORKING_DAYS.value, _("工作日")),
    (Basis.WORKING_HOURS.value, _("工作时间")),
]


class ClockPolicy(models.Model):
    """Clock durations (seconds) for a category and priority; no category = the default."""

    category = models.ForeignKey(
        Category,
        verbose_name=_("类别"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policies",
    )
    priority = models.CharField(
        _("紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    first_response_seconds = models.PositiveIntegerField(_("首次响应时限(秒)"), default=300)
    parent_response_seconds = models.PositiveIntegerField(_("上级响应时限(秒)"), default=300)
    claim_seconds = models.PositiveIntegerField(_("签收时限(秒)"), default=30 * 60)
    claim_basis = models.CharField(
        _("签收计时方式"), max_length=16, choices=BASIS_CHOICES, default=Basis.WORKING_HOURS
    )
    resolution_seconds = models.PositiveIntegerField(_("办结时限(秒)"), default=3 * 86400)
    resolution_basis = models.CharField(
        _("办结计时方式"), max_length=16, choices=BASIS_CHOICES, default=Basis.WORKING_DAYS
    )
    rating_window_seconds = models.PositiveIntegerField(_("评价期(秒)"), default=7 * 86400)
    reopen_window_seconds = models.PositiveIntegerField(_("重开期(秒)"), default=30 * 86400)

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("时限规则")
        verbose_name_plural = _("时限规则")
        ordering = ["category__code", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "priority"],
                name="policy_unique",
                condition=models.Q(category__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["priority"],
                name="policy_default_unique",
                condition=models.Q(category__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        default = _("默认")
        return f"{self.category or default} · {self.get_priority_display()}"

    @classmethod
    def for_request(cls, category_id: int | None, priority: str) -> ClockPolicy:
        """The policy for a category and priority: the category's own, else the default row,
        else the built-in defaults of §4."""
        rows = config.cached(
            "clock-policies", lambda: {(p.category_id, p.priority): p for p in cls.objects.all()}
        )
        return (
            rows.get((category_id, priority)) or rows.get((None, priority)) or cls.builtin(priority)
        )

    @classmethod
    def builtin(cls, priority: str) -> ClockPolicy:
        """§4 defaults: urgent 24 hours; normal 3 working days; complex 15 working days."""
        resolution = {
            Priority.URGENT: (86400, Basis.CALENDAR),
            Priority.NORMAL: (3 * 86400, Basis.WORKING_DAYS),
            Priority.COMPLEX: (15 * 86400, Basis.WORKING_DAYS),
        }[Priority(priority)]
        return cls(
            priority=priority, resolution_seconds=resolution[0], resolution_basis=resolution[1]
        )

    def clean(self) -> None:
        for field in (
            "first_response_seconds",
            "parent_response_seconds",
            "claim_seconds",
            "resolution_seconds",
            "rating_window_seconds",
            "reopen_window_seconds",
        ):
            if not getattr(self, field):
                raise ValidationError({field: _("时限必须大于 0")})


class CountyRules(models.Model):
    """A county's handling rules (§3.1, §5); a county without a row uses the defaults."""

    county = models.OneToOneField(
        Hall,
        verbose_name=_("县"),
        on_delete=models.CASCADE,
        limit_choices_to={"kind": HallKind.COUNTY},
        related_name="rules",
    )
    return_window_days = models.PositiveSmallIntegerField(
        _("退单时限(工作日)"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_("派单后多少个工作日内部门可以退单"),
    )
    max_returns = models.PositiveSmallIntegerField(
        _("最多退单次数"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_("退单达到此次数后，只能由交办员决定去向，部门不能再退"),
    )
    reminder_percent = models.PositiveSmallIntegerField(
        _("催办提醒点(%)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("时限用去这一比例时自动提醒办理人"),
    )
    basic_satisfied_weight = models.DecimalField(
        _("基本满意权重"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("计算满意率时“基本满意”算作多少个满意（有的县按 0.9 计）"),
    )

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("办理规则")
        verbose_name_plural = _("办理规则")

    def __str__(self) -> str:
        return str(self.county)

    @classmethod
    def for_county(cls, county_code: str) -> CountyRules:
        """The county's rules, or the defaults when it has none."""
        return config.by_county(cls).get(county_code) or cls()


class DutyShift(models.Model):
    """A duty officer's shift (值班) covering a county."""

    county = models.ForeignKey(
        Hall,
        verbose_name=_("县"),
        on_delete=models.CASCADE,
        limit_choices_to={"kind": HallKind.COUNTY},
        related_name="duty_shifts",
    )
    user = models.ForeignKey(
        User, verbose_name=_("值守人员"), on_delete=models.CASCADE, related_name="duty_shifts"
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("值班")
        verbose_name_plural = _("值班表")
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["county", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"

    @classmethod
    def on_duty(cls, county_code: str, at: datetime) -> list[int]:
        """Ids of whoever has a shift covering `at` in the county, by shift start."""
        since, roster = config.cached("duty-roster", cls._roster)
        if at > since:
            rows = roster.get(county_code, [])
        else:  # before the copy's window: ask the table
            rows = list(
                cls.objects.filter(
                    county__code=county_code, starts_at__lte=at, ends_at__gt=at
                ).values_list("starts_at", "ends_at", "user_id")
            )
        return list(dict.fromkeys(uid for start, end, uid in rows if start <= at < end))

    @classmethod
    def _roster(cls) -> tuple[datetime, dict[str, list[tuple[datetime, datetime, int]]]]:
        """The shifts not over a day ago, by county code (`on_duty`'s copy)."""
        since = timezone.now() - timedelta(days=1)
        roster: dict[str, list[tuple[datetime, datetime, int]]] = {}
        for code, start, end, uid in cls.objects.filter(ends_at__gt=since).values_list(
            "county__code", "starts_at", "ends_at", "user_id"
        ):
            roster.setdefault(code, []).append((start, end, uid))
        return since, roster


class CalendarDay(models.Model):
    """An admin-entered day that overrides the packaged holiday calendar (调休 included)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=50, blank=True)

    objects = config.ConfigQuerySet.as_manager()

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'}"


def calendar_overrides() -> dict[date, bool]:
    """Admin-entered days, for WorkCalendar."""
    return config.cached(
        "calendar", lambda: dict(CalendarDay.objects.values_list("date", "is_workday"))
    )


class ConfigStamp(models.Model):
    """One row whose value changes with every change to the configuration (`orgs.config`)."""

    stamp = models.CharField(max_length=16)

    class Meta:
        verbose_name = _("配置版本")
        verbose_name_plural = _("配置版本")

    def __str__(self) -> str:
        return self.stamp

"""Admin for the org tree: users and their roles, halls, departments, categories, clocks, duty."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from yishiting.orgs.models import (
    CalendarDay,
    Category,
    ClockPolicy,
    CountyRules,
    Department,
    DutyShift,
    Hall,
    Membership,
    User,
)
from yishiting.requests.clocks import Basis

_MINUTE = 60
_HOUR = 3600
_DAY = 86400


def _plain_duration(seconds: int, *, days: bool = True) -> str:
    """'5 分钟', '24 小时', '7 天': the largest whole unit (days from two days up)."""
    if days and seconds % _DAY == 0 and seconds >= 2 * _DAY:
        n = seconds // _DAY
        return ngettext("%(n)s 天", "%(n)s 天", n) % {"n": n}
    if seconds % _HOUR == 0 and seconds:
        n = seconds // _HOUR
        return ngettext("%(n)s 小时", "%(n)s 小时", n) % {"n": n}
    if seconds % _MINUTE == 0 and seconds:
        n = seconds // _MINUTE
        return ngettext("%(n)s 分钟", "%(n)s 分钟", n) % {"n": n}
    return ngettext("%(n)s 秒", "%(n)s 秒", seconds) % {"n": seconds}


def readable_duration(seconds: int | None, basis: str = Basis.CALENDAR) -> str:
    """A clock duration as an admin reads it: '3 工作日', '30 分钟（工作时间）', '5 分钟'."""
    if seconds is None:
        return "-"
    if basis == Basis.WORKING_DAYS:
        if seconds and seconds % _DAY == 0:
            n = seconds // _DAY
            return ngettext("%(n)s 工作日", "%(n)s 工作日", n) % {"n": n}
        return gettext("%(duration)s（按工作日）") % {"duration": _plain_duration(seconds)}
    if basis == Basis.WORKING_HOURS:
        return gettext("%(duration)s（工作时间）") % {
            "duration": _plain_duration(seconds, days=False)
        }
    return _plain_duration(seconds)


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ("hall", "department")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("display_name", "phone", "email")}),
        *(DjangoUserAdmin.fieldsets or ())[2:],  # permissions, important dates
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("个人信息"), {"classes": ("wide",), "fields": ("display_name", "phone")}),
    )
    list_display = ("username", "display_name", "phone", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "memberships__role")
    search_fields = ("username", "display_name", "phone", "email")
    inlines = (MembershipInline,)


@admin.register(Hall)
class HallAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "children_count")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path",)
    fields = ("code", "name", "kind", "parent", "address", "path")
    list_select_related = ("parent",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Hall]:
        return super().get_queryset(request).annotate(children_total=Count("children"))

    @admin.display(description=_("下级数"), ordering="children_total")
    def children_count(self, obj: Any) -> int:
        return obj.children_total


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "county", "working_hours")
    list_filter = ("county",)
    search_fields = ("code", "name")
    autocomplete_fields = ("county",)
    list_select_related = ("county",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "hall", "department")
    list_filter = ("role",)
    search_fields = (
        "user__username",
        "user__display_name",
        "hall__code",
        "hall__name",
        "department__name",
    )
    autocomplete_fields = ("user", "hall", "department")
    list_select_related = ("user", "hall", "department")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "department", "default_priority", "on_site")
    list_filter = ("default_priority", "on_site", "department")
    search_fields = ("code", "name", "keywords")
    autocomplete_fields = ("department",)
    list_select_related = ("department",)


@admin.register(ClockPolicy)
class ClockPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "first_response",
        "parent_response",
        "claim",
        "resolution",
        "rating_window",
        "reopen_window",
    )
    list_filter = ("priority",)
    search_fields = ("category__code", "category__name")
    autocomplete_fields = ("category",)
    list_select_related = ("category",)
    fieldsets = (
        (None, {"fields": ("category", "priority")}),
        (
            _("时限"),
            {
                "description": _(
                    "时限以秒计：5 分钟 = 300，1 小时 = 3600，1 天 = 86400。"
                    "按工作日计时，每个工作日计 86400 秒；按工作时间计时，只计部门工作时间。"
                ),
                "fields": (
                    "first_response_seconds",
                    "parent_response_seconds",
                    ("claim_seconds", "claim_basis"),
                    ("resolution_seconds", "resolution_basis"),
                    "rating_window_seconds",
                    "reopen_window_seconds",
                    "summary",
                ),
            },
        ),
    )
    readonly_fields = ("summary",)

    @admin.display(description=_("首次响应时限"))
    def first_response(self, obj: ClockPolicy) -> str:
        return readable_duration(obj.first_response_seconds)

    @admin.display(description=_("上级响应时限"))
    def parent_response(self, obj: ClockPolicy) -> str:
        return readable_duration(obj.parent_response_seconds)

    @admin.display(description=_("签收时限"))
    def claim(self, obj: ClockPolicy) -> str:
        return readable_duration(obj.claim_seconds, obj.claim_basis)

    @admin.display(description=_("办结时限"))
    def resolution(self, obj: ClockPolicy) -> str:
        return readable_duration(obj.resolution_seconds, obj.resolution_basis)

    @admin.display(description=_("评价期"))
    def rating_window(self, obj: ClockPolicy) -> str:
        return readable_duration(obj.rating_window_seconds)

    @admin.display(description=_("重开期"))
    def reopen_window(self, obj: ClockPolicy) -> str:
        return readable_duration(obj.reopen_window_seconds)

    @admin.display(description=_("时限一览"))
    def summary(self, obj: ClockPolicy) -> str:
        if obj.pk is None:
            return "-"
        return " · ".join(
            f"{column.short_description} {column(obj)}"  # type: ignore[attr-defined]
            for column in (
                self.first_response,
                self.parent_response,
                self.claim,
                self.resolution,
                self.rating_window,
                self.reopen_window,
            )
        )


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    list_display = ("user", "county", "starts_at", "ends_at")
    list_filter = ("county",)
    search_fields = ("user__username", "user__display_name")
    autocomplete_fields = ("user", "county")
    date_hierarchy = "starts_at"
    list_select_related = ("user", "county")

    def changelist_view(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        """A banner for every coming off-hours stretch nobody is on duty for (14 days)."""
        from yishiting.notify.admin import duty_gap_banner

        duty_gap_banner(self, request)
        return super().changelist_view(request, extra_context)


@admin.register(CountyRules)
class CountyRulesAdmin(admin.ModelAdmin):
    """A county's handling rules (§3.1): each field explains itself in its help text."""

    list_display = [
        "county",
        "return_window_days",
        "max_returns",
        "reminder_percent",
        "basic_satisfied_weight",
    ]
    autocomplete_fields = ["county"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"

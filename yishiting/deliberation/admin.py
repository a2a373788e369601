"""Admin for deliberation: registers and rule rows are edited here; topics, meetings,
ballots and projects only change through `actions.py`, so the admin shows them read-only."""

from __future__ import annotations

from django.contrib import admin

from yishiting.deliberation.models import (
    Attendance,
    Ballot,
    Body,
    DeliberationRules,
    Event,
    Household,
    Matter,
    Meeting,
    Milestone,
    Project,
    Resident,
    Step,
    Topic,
)
from yishiting.requests.admin import ReadOnlyInline, ReadOnlyMixin


class ResidentInline(admin.TabularInline):
    model = Resident
    extra = 0
    fields = ("name", "phone", "user", "representative", "committee", "party_member", "active")
    raw_id_fields = ("user",)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("number", "head", "hall", "address")
    list_filter = ("hall__kind",)
    search_fields = ("number", "head", "hall__code", "hall__name")
    raw_id_fields = ("hall",)
    inlines = [ResidentInline]


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "hall",
        "household",
        "user",
        "representative",
        "committee",
        "party_member",
        "active",
    )
    list_filter = ("representative", "committee", "party_member", "active")
    search_fields = ("name", "phone", "hall__code", "hall__name", "user__username")
    raw_id_fields = ("hall", "household", "user")


@admin.register(Body)
class BodyAdmin(admin.ModelAdmin):
    """Rule rows: a county adds a row (with its date and source) to change the numbers."""

    list_display = (
        "kind",
        "effective_from",
        "notice_days",
        "quorum_num",
        "quorum_den",
        "quorum_of",
        "source",
    )
    list_filter = ("kind",)
    ordering = ("kind", "-effective_from")


@admin.register(DeliberationRules)
class DeliberationRulesAdmin(admin.ModelAdmin):
    list_display = ("county", "publicity_hours")


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("verb", "actor", "from_status", "to_status", "note", "public", "created_at")


class MilestoneInline(ReadOnlyInline):
    model = Milestone
    fields = ("title", "due_on", "done_at", "cost", "note")


class StepInline(ReadOnlyInline):
    model = Step
    fields = ("step", "held_on", "attendance", "signatures", "meeting", "recorded_by")


@admin.register(Topic)
class TopicAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "hall",
        "body",
        "status",
        "supporters",
        "supporting_households",
        "created_at",
    )
    list_filter = ("status", "body")
    search_fields = ("title", "hall__code", "hall__name")
    inlines = [EventInline]


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("title", "hall", "body", "purpose", "status", "starts_at", "passed", "late")
    list_filter = ("status", "body", "purpose", "late")
    search_fields = ("title", "hall__code", "hall__name")
    inlines = [EventInline]


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("meeting", "key", "resident", "proxy", "channel", "created_at")


@admin.register(Ballot)
class BallotAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("meeting", "key", "resident", "choice", "channel", "created_at")
    list_filter = ("choice", "channel")


@admin.register(Project)
class ProjectAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("title", "hall", "status", "progress", "reopen_count", "late", "created_at")
    list_filter = ("status", "late")
    inlines = [MilestoneInline, EventInline]


@admin.register(Matter)
class MatterAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("title", "hall", "created_at")
    inlines = [StepInline]

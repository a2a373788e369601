"""Read-only admin for requests and their audit trail.

Requests change only through the case engine (`actions.py`): one verb, one transaction, one
immutable event. The admin may look but never add, change or delete a request, an event, an
attachment or a follower.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yishiting.requests.models import Attachment, Event, Follower, Part, Request, Voice

# A case number is the year and the zero-padded id (Request.number).
_NUMBER_RE = re.compile(r"^\d{4}(\d{7,})$")


class ReadOnlyMixin:
    """No add, change or delete: the admin only shows the audit trail."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("seq", "verb", "from_status", "to_status", "actor", "note", "public", "created_at")
    ordering = ("seq",)
    show_change_link = True


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("file", "content_type", "size", "width", "height", "event", "created_at")


class VoiceInline(ReadOnlyInline):
    model = Voice
    fields = ("file", "content_type", "size", "event", "created_at")


class PartInline(ReadOnlyInline):
    model = Part
    fields = (
        "department",
        "status",
        "dispatched_at",
        "claim_by",
        "claimed_at",
        "resolve_by",
        "posted_at",
        "waived_at",
        "waived_by",
        "overdue",
    )


class FollowerInline(ReadOnlyInline):
    model = Follower
    fields = ("user", "kind", "created_at")


@admin.register(Request)
class RequestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("number", "title", "status", "hall", "department", "overdue", "created_at")
    list_display_links = ("number", "title")
    list_filter = (
        "status",
        "overdue",
        "priority",
        "channel",
        "hall__kind",
        ("department", admin.RelatedOnlyFieldListFilter),
        ("category", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "title",
        "text",
        "follow_code",
        "reporter_name",
        "reporter_phone",
        "address",
        "hall__code",
        "hall__name",
    )
    date_hierarchy = "created_at"
    list_select_related = ("hall", "department")
    inlines = (PartInline, EventInline, AttachmentInline, VoiceInline, FollowerInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "title",
                    "text",
                    "status",
                    "priority",
                    "category",
                    "channel",
                    "version",
                )
            },
        ),
        (
            _("办理"),
            {"fields": ("hall", "origin_hall", "department", "merged_into", "overdue")},
        ),
        (
            _("反映人"),
            {
                "fields": (
                    "reporter",
                    "reporter_name",
                    "reporter_phone",
                    "anonymous",
                    "follow_code",
                    "address",
                    "lat",
                    "lng",
                )
            },
        ),
        (
            _("时间与时限"),
            {
                "fields": (
                    "created_at",
                    "updated_at",
                    "first_responded_at",
                    "resolved_at",
                    "closed_at",
                    "respond_by",
                    "claim_by",
                    "resolve_by",
                    "rate_by",
                    "reopen_until",
                    "supervise_by",
                    "forward_by",
                    "resolve_remaining",
                    "extension_until",
                    "next_due_at",
                )
            },
        ),
        (_("评价"), {"fields": ("rating", "rating_comment", "reopen_count")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field for _title, group in self.fieldsets for field in group["fields"]]

    @admin.display(description=_("编号"), ordering="id")
    def number(self, obj: Request) -> str:
        return obj.number

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Request], search_term: str
    ) -> tuple[QuerySet[Request], bool]:
        """The usual search, plus the case number a resident quotes (e.g. 20250000042)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = _NUMBER_RE.match(search_term.strip())
        if match:
            results |= queryset.filter(pk=int(match.group(1)))
        return results, may_have_duplicates


@admin.register(Event)
class EventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("request", "seq", "verb", "from_status", "to_status", "actor", "created_at")
    list_filter = ("verb", "to_status", "public")
    search_fields = ("request__title", "note")
    date_hierarchy = "created_at"
    list_select_related = ("request", "actor")
    fields = (
        "request",
        "seq",
        "verb",
        "from_status",
        "to_status",
        "actor",
        "note",
        "public",
        "data",
        "created_at",
    )
    readonly_fields = fields
    inlines = (AttachmentInline,)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("file", "request", "event", "content_type", "size", "created_at")
    list_filter = ("content_type",)
    search_fields = ("request__title", "sha256")
    list_select_related = ("request", "event")
    fields = (
        "request",
        "event",
        "file",
        "content_type",
        "size",
        "width",
        "height",
        "sha256",
        "created_at",
    )
    readonly_fields = fields


@admin.register(Follower)
class FollowerAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("request", "user", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("request__title", "user__username", "user__display_name")
    list_select_related = ("request", "user")
    fields = ("request", "user", "kind", "created_at")
    readonly_fields = fields

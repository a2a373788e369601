"""Admin: a county's routing settings (automatic dispatch); its trained models and the
suggestions requests got, to read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from yishiting.routing.models import RequestSuggestion, RoutingModel, RoutingSettings


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    list_display = ["county", "auto_dispatch", "min_confidence", "retrained_on"]
    autocomplete_fields = ["county"]


@admin.register(RoutingModel)
class RoutingModelAdmin(admin.ModelAdmin):
    """Trained models are written by `yishiting routing-train`; here they are only read."""

    list_display = ["county", "created_at", "samples", "cv_macro_f1", "threshold", "train_seconds"]
    exclude = ["blob"]
    readonly_fields = [
        "county",
        "created_at",
        "samples",
        "labels",
        "threshold",
        "cv_macro_f1",
        "train_seconds",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RequestSuggestion)
class RequestSuggestionAdmin(admin.ModelAdmin):
    """What the model suggested for each request at the assignment hall (read only)."""

    list_display = [
        "request",
        "department",
        "category",
        "confidence",
        "threshold",
        "source",
        "auto_dispatched",
        "created_at",
    ]
    list_filter = ["source", "auto_dispatched"]
    raw_id_fields = ["request"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

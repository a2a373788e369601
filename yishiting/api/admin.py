"""Admin for API tokens: list, create (the key is shown once), revoke."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from yishiting.api.models import ApiToken, hash_key


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "prefix_display",
        "name",
        "user",
        "active",
        "created_at",
        "last_used_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("prefix", "name", "user__username", "user__display_name")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ("user", "name")
        return ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ()
        # A token never changes hands and is never un-revoked: only its name is editable.
        return ("user", "prefix", "created_at", "last_used_at", "revoked_at")

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Revoke instead: a revoked token keeps its history (who, when, last used).
        return False

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # As ApiToken.issue: the key is shown once, here, and only its hash is stored.
        key = secrets.token_urlsafe(32)
        obj.prefix = key[:8]
        obj.key_hash = hash_key(key)
        super().save_model(request, obj, form, change)
        messages.success(
            request,
            gettext("新令牌的密钥（只显示这一次，请立即复制保存）：%(key)s") % {"key": key},
        )

    @admin.display(description=_("前缀"), ordering="prefix")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.display(description=_("有效"), boolean=True, ordering="revoked_at")
    def active(self, obj: ApiToken) -> bool:
        return obj.revoked_at is None

    @admin.action(description=_("吊销所选令牌"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = timezone.now()
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
            self.log_change(request, token, gettext("吊销令牌"))
        self.message_user(
            request,
            ngettext("已吊销 %(count)d 个令牌。", "已吊销 %(count)d 个令牌。", len(tokens))
            % {"count": len(tokens)},
            messages.SUCCESS,
        )

"""Admin: robot bindings (webhook and secrets write-only), outbound webhooks (secret
write-only, each with its delivery log), the outbox with its dead letters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yishiting.notify import duty, outbox
from yishiting.notify.models import Notification, NotifyStatus, RobotBinding, Webhook
from yishiting.orgs.models import Hall, HallKind
from yishiting.requests.states import VERB_CHOICES

MAX_GAPS_SHOWN = 5

SECRET_FIELDS = ("webhook_url", "secret", "callback_token", "callback_aes_key")


class RobotBindingForm(forms.ModelForm):
    """Secret fields are never shown back: left empty, the stored value stays."""

    class Meta:
        model = RobotBinding
        fields = "__all__"
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in SECRET_FIELDS:
                self.fields[name].required = False
                self.fields[name].help_text = _("已设置；留空则保持不变")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk:
            stored = RobotBinding.objects.get(pk=self.instance.pk)
            for name in SECRET_FIELDS:
                if not data.get(name):
                    data[name] = getattr(stored, name)
                    setattr(self.instance, name, data[name])
        return data


@admin.register(RobotBinding)
class RobotBindingAdmin(admin.ModelAdmin):
    form = RobotBindingForm
    list_display = ("__str__", "kind", "hall", "department", "enabled")
    list_filter = ("kind", "enabled")
    autocomplete_fields = ("hall", "department")


class WebhookForm(forms.ModelForm):
    """Event types as checkboxes; the secret is never shown back (left empty, it stays)."""

    verbs = forms.MultipleChoiceField(
        label=_("事件类型"),
        choices=VERB_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选则推送全部事件"),
    )

    class Meta:
        model = Webhook
        fields = ("name", "url", "verbs", "secret", "active")
        widgets = {"secret": forms.PasswordInput(render_value=False)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["secret"].required = False
            self.fields["secret"].help_text = _("已设置；留空则保持不变")

    def clean_secret(self) -> str:
        secret = str(self.cleaned_data.get("secret") or "")
        if not secret and self.instance.pk:
            return str(Webhook.objects.get(pk=self.instance.pk).secret)
        return secret


class DeliveryInline(admin.TabularInline):
    """A webhook's delivery log: its notification rows, newest first."""

    model = Notification
    fk_name = "webhook"
    verbose_name = _("投递记录")
    verbose_name_plural = _("投递记录")
    fields = (
        "id",
        "title",
        "idempotency_key",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("name", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    inlines = [DeliveryInline]


@admin.action(description=_("重新发送"))
def retry_dead(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
    n = outbox.retry(queryset.filter(status=NotifyStatus.DEAD))
    modeladmin.message_user(request, _("已重新排队 %(n)s 条") % {"n": n}, messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "channel",
        "destination",
        "title",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "channel", "kind", "webhook")
    search_fields = ("title", "destination", "idempotency_key")
    actions = [retry_dead]
    list_select_related = ("user", "binding", "webhook")
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def duty_gap_banner(modeladmin: Any, request: HttpRequest) -> None:
    """Warn on the duty roster's page of off-hours stretches of the next 14 days with nobody
    on duty (the worker also tells the admins once per stretch)."""
    for county in Hall.objects.filter(kind=HallKind.COUNTY):
        gaps = duty.uncovered(county.code)
        if not gaps:
            continue
        shown = "；".join(
            f"{timezone.localtime(a):%m-%d %H:%M}–{timezone.localtime(b):%m-%d %H:%M}"
            for a, b in gaps[:MAX_GAPS_SHOWN]
        )
        more = len(gaps) - MAX_GAPS_SHOWN
        text = _("%(county)s 未来14天有 %(n)s 段非工作时间无人值班：%(gaps)s") % {
            "county": county.name,
            "n": len(gaps),
            "gaps": shown + ("…" if more > 0 else ""),
        }
        modeladmin.message_user(request, text, messages.WARNING)

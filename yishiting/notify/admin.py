"""Admin: robot bindings (webhook and secrets write-only), outbound webhooks (secret
write-only, each with its delivery log), the outbox with its dead letters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
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


LOG_ROWS = 50
"""How many of a webhook's latest deliveries its page shows (the rest: the 通知 list)."""


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("name", "active", "pending", "dead", "log_link", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    readonly_fields = ("delivery_log",)

    def get_fields(self, request: HttpRequest, obj: Webhook | None = None) -> list[Any]:
        fields: list[Any] = ["name", "url", "verbs", "secret", "active"]
        return [*fields, "delivery_log"] if obj is not None else fields

    def _count(self, obj: Webhook, status: str) -> int:
        return obj.deliveries.filter(status=status).count()

    @admin.display(description=_("待发送"))
    def pending(self, obj: Webhook) -> int:
        return self._count(obj, NotifyStatus.PENDING)

    @admin.display(description=_("发送失败"))
    def dead(self, obj: Webhook) -> int:
        return self._count(obj, NotifyStatus.DEAD)

    @admin.display(description=_("投递记录"))
    def log_link(self, obj: Webhook) -> str:
        return format_html('<a href="{}">{}</a>', *self._all_link(obj))

    @admin.display(description=_("投递记录"))
    def delivery_log(self, obj: Webhook) -> str:
        """The latest deliveries: status, attempts, the receiver's HTTP status, last error."""
        rows = obj.deliveries.order_by("-id")[:LOG_ROWS]
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr>",
            "ID",
            _("事件类型"),
            _("状态"),
            _("尝试次数"),
            _("响应状态码"),
            _("最近错误"),
            _("创建时间"),
            _("发送时间"),
        )
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    reverse("admin:notify_notification_change", args=[r.pk]),
                    r.pk,
                    r.title,
                    r.get_status_display(),
                    r.attempts,
                    r.response_code if r.response_code is not None else "—",
                    r.last_error or "—",
                    timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    timezone.localtime(r.sent_at).strftime("%Y-%m-%d %H:%M:%S")
                    if r.sent_at
                    else "—",
                )
                for r in rows
            ),
        )
        more = format_html('<p><a href="{}">{}</a></p>', *self._all_link(obj))
        return format_html("<table>{}{}</table>{}", head, body, more)

    def _all_link(self, obj: Webhook) -> tuple[str, str]:
        url = reverse("admin:notify_notification_changelist") + f"?webhook__id__exact={obj.pk}"
        return url, str(_("全部投递记录"))


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

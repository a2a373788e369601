from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Notifications: the transactional outbox, robot bindings, inbound WeCom callbacks."""

    name = "yishiting.notify"
    label = "notify"
    verbose_name = _("通知")

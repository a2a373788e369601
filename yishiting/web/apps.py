from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """Pages for every role, live over WebSockets."""

    name = "yishiting.web"
    label = "web"
    verbose_name = _("页面")

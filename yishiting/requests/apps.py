from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    """Residents' requests (诉求), their events and attachments."""

    name = "yishiting.requests"
    label = "requests"
    verbose_name = _("群众诉求")

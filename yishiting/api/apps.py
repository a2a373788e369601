from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """API v1 and its tokens."""

    name = "yishiting.api"
    label = "api"
    verbose_name = _("接口")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliberationConfig(AppConfig):
    """Deliberation (议事): registers, topics, dated rules, meetings, projects (§9)."""

    name = "yishiting.deliberation"
    label = "deliberation"
    verbose_name = _("议事")

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    """Statistics of PRODUCT.md §5: one definition, rollups kept in step with every event."""

    name = "yishiting.stats"
    label = "stats"
    verbose_name = _("统计")

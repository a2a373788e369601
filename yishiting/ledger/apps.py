from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    """Excel in and out: the case ledger (台账) and the import of categories and clocks."""

    name = "yishiting.ledger"
    label = "ledger"
    verbose_name = _("台账")

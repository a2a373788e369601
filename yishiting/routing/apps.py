from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _fingerprint_new_request(
    sender: Any, instance: Any, created: bool, raw: bool, **_: Any
) -> None:
    """Every new request gets its duplicate fingerprint in the transaction that inserts it."""
    if created and not raw:
        from yishiting.routing.duplicates import index_new

        index_new(instance)


class RoutingConfig(AppConfig):
    """Routing intelligence: department suggestion, duplicates, hotspots."""

    name = "yishiting.routing"
    label = "routing"
    verbose_name = _("智能分办")

    def ready(self) -> None:
        # A receiver, not a call in do_submit: the case engine stays unaware of routing, and
        # a failure here is logged and undoes only the fingerprint, never a submission.
        post_save.connect(
            _fingerprint_new_request,
            sender="requests.Request",
            dispatch_uid="routing_fingerprint_new_request",
        )

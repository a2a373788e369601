from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """Pages for every role, live over WebSockets."""

    name = "yishiting.web"
    label = "web"
    verbose_name = _("页面")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from yishiting.deliberation.models import Ballot, Event
        from yishiting.web import delib_live

        post_save.connect(delib_live.on_event, sender=Event, dispatch_uid="web.delib_live")
        post_save.connect(delib_live.on_ballot, sender=Ballot, dispatch_uid="web.delib_ballot")

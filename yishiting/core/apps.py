from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """Shared pieces: home page, commands, translations, security guards."""

    name = "yishiting.core"
    label = "core"

    def ready(self) -> None:
        from yishiting.core import audit

        post_migrate.connect(
            audit.after_migrate,
            sender=apps.get_app_config("requests"),
            dispatch_uid="yishiting-audit-triggers",
        )

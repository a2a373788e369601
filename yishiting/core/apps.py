from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces: home page, commands, translations."""

    name = "yishiting.core"
    label = "core"

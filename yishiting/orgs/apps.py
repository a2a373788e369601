from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    """The org tree: halls, departments, people and their roles, categories and clocks."""

    name = "yishiting.orgs"
    label = "orgs"
    verbose_name = _("组织架构")

    def ready(self) -> None:
        from yishiting.orgs import config

        config.watch()  # every app's configuration models (orgs, notify, deliberation)
        from yishiting.orgs import checks  # noqa: F401  (registers the system checks)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ElectionsConfig(AppConfig):
    name = "campagne.elections"
    verbose_name = _("Élections")

    def ready(self) -> None:
        from campagne.elections.importers.commands import register

        register()

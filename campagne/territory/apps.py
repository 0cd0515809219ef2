from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritoryConfig(AppConfig):
    name = "campagne.territory"
    verbose_name = _("Territoire")

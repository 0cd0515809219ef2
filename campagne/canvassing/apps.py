from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CanvassingConfig(AppConfig):
    name = "campagne.canvassing"
    verbose_name = _("Porte-à-porte et phoning")

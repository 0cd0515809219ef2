from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "campagne.tracking"
    label = "tracking"
    verbose_name = _("Suivi des e-mails")

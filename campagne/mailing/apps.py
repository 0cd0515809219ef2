from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailingConfig(AppConfig):
    name = "campagne.mailing"
    verbose_name = _("E-mailings")

    def ready(self) -> None:
        from campagne.core import recovery
        from campagne.mailing import actions

        # A killed worker's sending is queued again by the next worker.
        recovery.register("mailing", actions.recover_stalled_sendings)

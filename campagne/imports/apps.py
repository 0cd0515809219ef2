from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "campagne.imports"

    def ready(self) -> None:
        from campagne.core import recovery
        from campagne.imports import actions, command
        from campagne.lib.import_registry import register_importer

        # `campagne worker` queues again the imports a killed worker left running.
        recovery.register("imports", actions.recover_stalled_imports)

        register_importer(
            "contacts",
            help="Importer un fichier de contacts (CSV, XLSX, ODS).",
            add_arguments=command.add_arguments,
            handle=command.handle,
        )

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "campagne.imports"

    def ready(self) -> None:
        from campagne.imports import command
        from campagne.lib.import_registry import register_importer

        register_importer(
            "contacts",
            help="Importer un fichier de contacts (CSV, XLSX, ODS).",
            add_arguments=command.add_arguments,
            handle=command.handle,
        )

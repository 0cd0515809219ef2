"""The sub-commands of ``campagne import``: each app registers the files it can import.

``campagne import <name> FILE…`` is one management command (in the core app) whose
sub-commands come from here, so that an app adds its own importer without touching the
command: call ``register_importer`` from the app's ``AppConfig.ready``::

    register_importer(
        "contacts",
        add_arguments=lambda parser: parser.add_argument("--tag"),
        handle=import_contacts,  # (options, log) -> summary dict
        help=_("Importer un fichier de contacts (CSV, XLSX)."),
    )

``handle`` receives the parsed options as a dict (``options["files"]`` is the list of
paths) and a ``log`` callable that writes a progress line to stderr; it returns the
summary the command prints as one JSON line on stdout. It raises ``ImportFileError`` with
a one-line reason when a file is not one it knows: the command exits non-zero with it.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Log = Callable[[str], None]


class ImportFileError(Exception):
    """A file that cannot be imported: unknown layout, unreadable, wrong options.

    The message is one line, in the user's language, shown as is by the command and the
    upload page.
    """


@dataclass(frozen=True)
class Importer:
    name: str
    add_arguments: Callable[[ArgumentParser], None]
    handle: Callable[[dict[str, Any], Log], dict[str, Any]]
    help: str = ""


_importers: dict[str, Importer] = {}


def register_importer(
    name: str,
    add_arguments: Callable[[ArgumentParser], None],
    handle: Callable[[dict[str, Any], Log], dict[str, Any]],
    help: str = "",  # noqa: A002 - argparse's word
) -> None:
    """Add (or replace, on a second ``ready()``) the sub-command ``campagne import <name>``."""
    _importers[name] = Importer(name=name, add_arguments=add_arguments, handle=handle, help=help)


def importers() -> dict[str, Importer]:
    """The registered importers, by name, in registration order."""
    return dict(_importers)

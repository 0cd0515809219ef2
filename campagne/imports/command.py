"""`campagne import contacts FILE --origin TEXT [--mapping M.json] [--dry-run] [--as EMAIL]`.

Registered with ``campagne.lib.import_registry`` (see ``ImportsConfig.ready``). Runs the
same actions as the pages, in this process: progress through ``log`` (stderr), and the
summary the command prints as the last line of stdout, ``{"rows": N, "created": N,
"updated": N, "merged": N, "review": N, "rejected": N}``. Exit status 0 when the file was
read (rejected rows are not failures); ``ImportFileError`` (status 1, a one-line reason)
when it could not be.

Running the same command again after a crash resumes the unfinished batch of the same
file, origin and user where its last chunk committed.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campagne.accounts.models import User
from campagne.accounts.scopes import scope_for
from campagne.imports import actions
from campagne.imports.mapping import ImportOptions, MappingError, load_mapping_file
from campagne.imports.models import ImportBatch
from campagne.imports.pipeline import ImportInterrupted
from campagne.lib.import_registry import ImportFileError, Log
from campagne.people.models import Channel


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("file", help="Fichier CSV, XLSX ou ODS.")
    parser.add_argument(
        "--origin", required=True, help="Origine des données (CNIL), ex. « Pétition 2024 »."
    )
    parser.add_argument("--mapping", help="Fichier JSON de correspondance des colonnes.")
    parser.add_argument(
        "--dry-run", action="store_true", help="Tout vérifier et compter, ne rien écrire."
    )
    parser.add_argument(
        "--as", dest="as_email", help="Importer au nom de ce compte (son périmètre s'applique)."
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Remplacer les valeurs existantes (sinon le fichier ne complète que les vides).",
    )
    parser.add_argument(
        "--tag", action="append", default=[], help="Étiquette ajoutée à chaque personne."
    )
    for channel in Channel.values:
        parser.add_argument(
            f"--consent-{channel}",
            metavar="PREUVE",
            help=f"Tout le fichier a consenti au canal « {channel} » : la preuve.",
        )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="Lignes par transaction (défaut : 50 000 sur SQLite, 10 000 sur PostgreSQL).",
    )
    parser.add_argument(
        "--pause", type=float, default=0.0, help="Pause entre deux lots, en secondes."
    )


class _Progress:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.started = time.monotonic()

    def __call__(self, batch: ImportBatch) -> None:
        total = f" / {batch.estimated_rows}" if batch.estimated_rows else ""
        counts = ", ".join(f"{name} {value}" for name, value in batch.counts.items())
        elapsed = time.monotonic() - self.started
        self.log(
            f"import #{batch.pk}: {batch.next_row}{total} ({batch.progress} %) — {counts} "
            f"— {elapsed:.1f} s"
        )


def _actor(email: str | None) -> User:
    if not email:
        return actions.system_user()
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise PermissionDenied(_("Aucun compte actif pour %(email)s.") % {"email": email})
    return user


def _options(options: dict[str, Any], batch: ImportBatch) -> ImportOptions:
    headers, fields = batch.mapping["headers"], batch.mapping["fields"]
    if options.get("mapping"):
        chosen = load_mapping_file(options["mapping"], headers, fields)
    else:
        chosen = ImportOptions(fields=list(fields))
    for channel in Channel.values:
        proof = options.get(f"consent_{channel}")
        if proof:
            chosen.consents[channel] = {"mode": "statement", "proof": proof}
    chosen.overwrite = chosen.overwrite or bool(options.get("overwrite"))
    chosen.tags += options.get("tag") or []
    return chosen


def _unfinished(batch: ImportBatch) -> ImportBatch | None:
    """An earlier run of the same file, origin, user and settings that did not finish."""
    return (
        ImportBatch.objects.filter(
            file_sha256=batch.file_sha256,
            origin=batch.origin,
            owner=batch.owner,
            mapping=batch.mapping,
            consents=batch.consents,
            overwrite=batch.overwrite,
            tags=batch.tags,
            status__in=[ImportBatch.Status.RUNNING, ImportBatch.Status.FAILED],
        )
        .exclude(pk=batch.pk)
        .order_by("-created_at")
        .first()
    )


def _prepare(options: dict[str, Any], log: Log) -> ImportBatch:
    scope = scope_for(_actor(options.get("as_email")))
    batch = actions.start_import(scope=scope, origin=options["origin"], path=options["file"])
    batch = actions.configure_import(scope=scope, batch=batch, options=_options(options, batch))
    if not options.get("dry_run"):
        earlier = _unfinished(batch)
        if earlier is not None:
            batch.delete()
            log(f"import #{earlier.pk}: reprise après {earlier.next_row} lignes")
            return earlier
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)
    return batch


def handle(options: dict[str, Any], log: Log) -> dict[str, int]:
    run_options = {
        "chunk_size": max(1, options["chunk_size"]) if options.get("chunk_size") else None,
        "pause": max(0.0, options.get("pause") or 0.0),
        "on_progress": _Progress(log),
    }
    try:
        if options.get("dry_run"):
            # Everything runs as for real, in one transaction rolled back at the end.
            with transaction.atomic():
                batch = _prepare(options, log)
                batch = actions.run_import(batch_id=batch.pk, **run_options)
                transaction.set_rollback(True)
        else:
            batch = _prepare(options, log)
            batch = actions.run_import(batch_id=batch.pk, **run_options)
    except ImportFileError:
        raise
    except ImportInterrupted as exc:
        raise ImportFileError(f"{exc} " + _("Relancez la même commande pour reprendre.")) from None
    except ValidationError as exc:
        raise ImportFileError(" ".join(exc.messages)) from None
    except (MappingError, PermissionDenied) as exc:
        raise ImportFileError(str(exc)) from None
    except Exception as exc:
        # The chunks already committed stay; the same command resumes after them.
        raise ImportFileError(
            _("Import interrompu (%(error)s) : relancez la même commande pour reprendre.")
            % {"error": f"{exc.__class__.__name__}: {exc}"}
        ) from exc
    return batch.counts

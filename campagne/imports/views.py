"""Import pages: upload, column check with preview, progress; duplicates and merges.

Thin views: the scope decides (403 for roles that may not import or merge, 404 outside
the scope or for another organizer's import), forms validate, ``actions`` and
``merging`` write. Nothing is written to the contact file before the user has seen the
mapping and the preview and pressed "Lancer l'import".
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.imports import actions, merging
from campagne.imports.forms import MappingForm, MergeForm, UploadForm
from campagne.imports.mapping import MappingError
from campagne.imports.models import ImportBatch, ImportRejectedRow, Merge
from campagne.imports.readers import UnreadableFile
from campagne.lib.phones import display
from campagne.people.exports import safe_cell
from campagne.people.models import Civility, Person, Status
from campagne.territory.models import Commune

FIELD_LABELS = {
    "civility": gettext_lazy("Civilité"),
    "first_name": gettext_lazy("Prénom"),
    "last_name": gettext_lazy("Nom"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Téléphone"),
    "address": gettext_lazy("Adresse"),
    "birth_year": gettext_lazy("Année de naissance"),
    "status": gettext_lazy("Statut"),
    "origin": gettext_lazy("Origine"),
}


def _is_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _import_scope(request: HttpRequest) -> Scope:
    scope = scope_for(request.user)
    actions.require_import(scope)
    return scope


def _batch_for(scope: Scope, pk: int) -> ImportBatch:
    """A batch its owner (or an HQ admin) may see; 404 for anyone else."""
    batches = ImportBatch.objects.all()
    if not scope.is_admin:
        batches = batches.filter(owner=scope.user)
    try:
        return batches.get(pk=pk)
    except ImportBatch.DoesNotExist:
        raise Http404("No such import.") from None


# --- imports ------------------------------------------------------------------------------


@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    scope = _import_scope(request)
    batches = ImportBatch.objects.select_related("owner")
    if not scope.is_admin:
        batches = batches.filter(owner=request.user)
    return render(
        request,
        "imports/list.html",
        {"scope": scope, "batches": batches[:100], "form": UploadForm()},
    )


@login_required
def batch_new(request: HttpRequest) -> HttpResponse:
    scope = _import_scope(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = actions.start_import(
                scope=scope, origin=form.cleaned_data["origin"], upload=form.cleaned_data["file"]
            )
        except UnreadableFile as exc:
            form.add_error("file", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("imports:mapping", pk=batch.pk)
    return render(request, "imports/new.html", {"scope": scope, "form": form})


@login_required
def batch_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step: guessed columns, corrections, preview — then the start button."""
    scope = _import_scope(request)
    batch = _batch_for(scope, pk)
    if batch.status != ImportBatch.Status.DRAFT:
        return redirect("imports:detail", pk=batch.pk)
    headers, fields = batch.mapping["headers"], batch.mapping["fields"]
    form = MappingForm(request.POST or None, headers=headers, fields=fields)
    preview_fields = fields
    if request.method == "POST" and form.is_valid():
        options = form.options()
        preview_fields = options.fields
        if "start" in request.POST:
            try:
                actions.configure_import(scope=scope, batch=batch, options=options)
                actions.queue_import(scope=scope, batch=batch)
            except (MappingError, ValidationError) as exc:
                message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                form.add_error(None, message)
            else:
                messages.success(request, _("Import lancé."))
                return redirect("imports:detail", pk=batch.pk)
    table, rows, problems = actions.preview(scope=scope, batch=batch, fields=preview_fields)
    codes = {row.commune for row in rows if row.commune}
    context = {
        "commune_names": dict(Commune.objects.filter(pk__in=codes).values_list("code", "name")),
        "scope": scope,
        "batch": batch,
        "form": form,
        "rows": rows,
        "problems": sorted(problems.items(), key=lambda item: -item[1]),
        "sampled": len(table.sample),
        "table": table,
        "columns": list(
            zip(
                form.column_fields(),
                [
                    [cells[i] for _line, cells in table.sample[:3] if cells[i]]
                    for i in range(len(headers))
                ],
                strict=True,
            )
        ),
    }
    template = "imports/mapping.html"
    if _is_fragment(request) and "start" not in request.POST:
        template += "#preview"
    return render(request, template, context)


@login_required
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _import_scope(request)
    batch = _batch_for(scope, pk)
    template = "imports/detail.html"
    if _is_fragment(request):
        template += "#progress"
    return render(request, template, {"scope": scope, "batch": batch})


@login_required
@require_POST
def batch_resume(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _import_scope(request)
    batch = _batch_for(scope, pk)
    try:
        actions.queue_import(scope=scope, batch=batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Import relancé : il reprend où il s'était arrêté."))
    return redirect("imports:detail", pk=batch.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def batch_rejected(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The rejected rows as CSV: the original cells, the line, the reasons."""
    scope = _import_scope(request)
    batch = _batch_for(scope, pk)
    headers = batch.mapping.get("headers", [])
    writer = csv.writer(_Echo(), delimiter=";")

    def rows() -> Iterator[str]:
        yield "\ufeff"  # So that Excel reads UTF-8.
        yield writer.writerow([_("ligne"), _("motifs"), *headers])
        rejected = ImportRejectedRow.objects.filter(batch=batch).order_by("line")
        for line, cells, reasons in rejected.values_list("line", "cells", "reasons").iterator(
            chunk_size=2000
        ):
            yield writer.writerow([line, " ; ".join(reasons), *(safe_cell(c) for c in cells)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejets-import-{batch.pk}.csv"'
    return response


# --- duplicates and merges ----------------------------------------------------------------


def _display(person: Person, field: str) -> str:
    if field == "address":
        parts = [person.address_line, person.address_extra, person.postal_code]
        parts.append(person.commune.name if person.commune else "")
        return " ".join(part for part in parts if part)
    value = getattr(person, field)
    if field == "phone":
        return display(value)
    if field == "status":
        return str(dict(Status.choices).get(value, value))
    if field == "civility":
        return str(dict(Civility.choices).get(value, value)) if value else ""
    return "" if value is None else str(value)


def _comparison(a: Person, b: Person, form: MergeForm) -> list[dict[str, Any]]:
    rows = []
    for field, bound in form.rows():
        left, right = _display(a, field), _display(b, field)
        rows.append(
            {
                "label": FIELD_LABELS[field],
                "a": left,
                "b": right,
                "same": left == right,
                "choice": bound,
            }
        )
    extra = [
        (_("Autres e-mails"), "other_emails", "address"),
        (_("Autres téléphones"), "other_phones", "number"),
    ]
    for label, relation, attribute in extra:
        left = ", ".join(getattr(x, attribute) for x in getattr(a, relation).all())
        right = ", ".join(getattr(x, attribute) for x in getattr(b, relation).all())
        rows.append({"label": label, "a": left, "b": right, "same": left == right, "choice": None})
    tags_a = ", ".join(sorted(t.name for t in a.tags.all()))
    tags_b = ", ".join(sorted(t.name for t in b.tags.all()))
    rows.append(
        {
            "label": _("Étiquettes"),
            "a": tags_a,
            "b": tags_b,
            "same": tags_a == tags_b,
            "choice": None,
        }
    )
    consents_a = ", ".join(
        f"{c.get_channel_display()} {'✓' if c.granted else '✗'}" for c in a.consents.all()
    )
    consents_b = ", ".join(
        f"{c.get_channel_display()} {'✓' if c.granted else '✗'}" for c in b.consents.all()
    )
    rows.append(
        {
            "label": _("Consentements"),
            "a": consents_a,
            "b": consents_b,
            "same": consents_a == consents_b,
            "choice": None,
        }
    )
    return rows


def _merge_page(
    request: HttpRequest, scope: Scope, a: Person, b: Person, candidate: Any = None
) -> HttpResponse:
    form = MergeForm(request.POST or None, a=a, b=b)
    if request.method == "POST" and "merge" in request.POST and form.is_valid():
        survivor, merged, choices = form.result()
        try:
            merge = merging.merge_people(
                scope=scope, survivor=survivor, merged=merged, choices=choices
            )
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, message)
        else:
            messages.success(request, _("Fiches fusionnées."))
            return redirect("imports:merge", pk=merge.pk)
    context = {
        "scope": scope,
        "a": a,
        "b": b,
        "form": form,
        "rows": _comparison(a, b, form),
        "candidate": candidate,
    }
    return render(request, "imports/compare.html", context)


@login_required
def candidate_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_read_people, _("Votre rôle ne donne pas accès au fichier."))
    candidates = actions.candidates_for(scope).select_related(
        "person_a__commune", "person_b__commune"
    )
    batch = request.GET.get("import", "")
    if batch.isdigit():
        candidates = candidates.filter(batch_id=int(batch))
    return render(
        request,
        "imports/candidates.html",
        {"scope": scope, "candidates": candidates[:200], "batch": batch},
    )


@login_required
def candidate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_read_people, _("Votre rôle ne donne pas accès au fichier."))
    candidate = actions.candidate_for(scope, pk)
    if request.method == "POST":
        scope.require(scope.can_write_people, _("Votre rôle ne permet pas de fusionner."))
        if "dismiss" in request.POST:
            actions.dismiss_candidate(scope=scope, candidate=candidate)
            messages.success(request, _("Noté : ce sont deux personnes différentes."))
            return redirect("imports:candidates")
    return _merge_page(request, scope, candidate.person_a, candidate.person_b, candidate)


@login_required
def merge_new(request: HttpRequest) -> HttpResponse:
    """Merge two people by hand: ``?a=<id>&b=<id>`` (from a person's page)."""
    scope = scope_for(request.user)
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas de fusionner."))
    a = scope.person_for_write(request.GET.get("a") or request.POST.get("a"))
    b = scope.person_for_write(request.GET.get("b") or request.POST.get("b"))
    if a.pk == b.pk:
        raise Http404("Same person.")
    return _merge_page(request, scope, a, b)


def _merge_for(scope: Scope, pk: int) -> Merge:
    """A merge whose survivor is in the user's scope; 404 otherwise."""
    merge = Merge.objects.filter(pk=pk).first()
    if merge is None:
        raise Http404("No such merge.")
    scope.person(merge.survivor_id)
    return merge


@login_required
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_read_people, _("Votre rôle ne donne pas accès au fichier."))
    merge = _merge_for(scope, pk)
    return render(
        request,
        "imports/merge.html",
        {"scope": scope, "merge": merge, "merged": merge.snapshot.get("fields", {})},
    )


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    merge = _merge_for(scope, pk)
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas d'annuler une fusion."))
    try:
        result = merging.undo_merge(scope=scope, merge=merge)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("imports:merge", pk=merge.pk)
    if result["kept"]:
        messages.warning(
            request,
            _("Fusion annulée. Valeurs modifiées depuis, conservées : %(fields)s")
            % {"fields": ", ".join(result["kept"])},
        )
    else:
        messages.success(request, _("Fusion annulée : les deux fiches sont rétablies."))
    return redirect(reverse("people:detail", args=[result["person"].pk]))

"""Segment pages: the list, a segment's page, the form with its live count, export, delete.

Thin views: segments are loaded through ``segments.models.segment_for`` (404 when the
user may not see it) and ``segment_for_write`` (then 403 for a read-only role); writes go
through ``segments.actions``, exports through ``segments.exports``. Members are always
counted within the user's scope.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.people.forms import ExportForm
from campagne.segments import actions, exports
from campagne.segments.definition import Definition
from campagne.segments.forms import SegmentForm
from campagne.segments.models import (
    Segment,
    can_edit_segments,
    can_read_segments,
    members,
    segment_for,
    segment_for_write,
)
from campagne.segments.summary import describe

PREVIEW_SIZE = 20


def _require_reader(scope: Scope) -> None:
    scope.require(can_read_segments(scope), _("Votre rôle ne donne pas accès aux segments."))


def _require_editor(scope: Scope) -> None:
    scope.require(can_edit_segments(scope), _("Votre rôle ne permet pas de modifier un segment."))


def _audience(scope: Scope, definition: Definition, segment: Segment | None) -> dict[str, Any]:
    """Count and first members of a definition, or the reason it cannot be counted."""
    try:
        people = members(definition, scope, segment_id=segment.pk if segment else None)
        count = people.count()
        preview = (
            list(people.select_related("commune").prefetch_related("tags")[:PREVIEW_SIZE])
            if count
            else []
        )
    except ValidationError as exc:
        return {"audience_error": " ".join(exc.messages)}
    return {"count": count, "preview": preview, "preview_size": PREVIEW_SIZE}


@login_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    _require_reader(scope)
    segments = Segment.objects.visible_to(scope).select_related("owner")
    context = {"scope": scope, "segments": segments, "can_edit": can_edit_segments(scope)}
    return render(request, "segments/list.html", context)


@login_required
@require_GET
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    segment = segment_for(scope, pk)
    context = {
        "scope": scope,
        "segment": segment,
        "summary": describe(segment.criteria),
        "can_edit": can_edit_segments(scope),
        "export_form": ExportForm(),
        **_audience(scope, segment.criteria, segment),
    }
    return render(request, "segments/detail.html", context)


@login_required
@require_GET
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    """The count of a saved segment, as a fragment (the list loads these lazily)."""
    scope = scope_for(request.user)
    segment = segment_for(scope, pk)
    try:
        context: dict[str, Any] = {"count": segment.count(scope)}
    except ValidationError as exc:
        context = {"audience_error": " ".join(exc.messages)}
    return render(request, "segments/count.html", context)


def _form_audience(scope: Scope, form: SegmentForm, segment: Segment | None) -> dict[str, Any]:
    """Count and first members of what the (bound) form describes."""
    form.is_valid()
    if form.criteria_errors() or not hasattr(form, "definition"):
        return {"audience_error": _("Corrigez les critères signalés pour voir le compte.")}
    return _audience(scope, form.definition, segment)


@login_required
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live count of the form being edited (htmx): count and first members."""
    scope = scope_for(request.user)
    _require_reader(scope)
    segment = None
    if request.POST.get("segment"):
        segment = segment_for(scope, request.POST["segment"])
    form = SegmentForm(request.POST, scope=scope, segment=segment)
    context = {"scope": scope, **_form_audience(scope, form, segment)}
    return render(request, "segments/audience.html#response", context)


@login_required
def segment_create(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    _require_editor(scope)
    form = SegmentForm(request.POST or None, scope=scope)
    if "compter" in request.POST:  # the count button, for browsers without JavaScript
        return _form_page(request, scope, form, segment=None, counting=True)
    if request.method == "POST" and form.is_valid():
        try:
            segment = actions.create_segment(
                scope=scope,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                definition=form.definition,
            )
        except ValidationError as exc:
            form.add_action_error(exc)
        else:
            messages.success(request, _("Segment « %(name)s » créé.") % {"name": segment.name})
            return redirect("segments:detail", pk=segment.pk)
    return _form_page(request, scope, form, segment=None)


@login_required
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    segment = segment_for_write(scope, pk)
    form = SegmentForm(request.POST or None, scope=scope, segment=segment)
    if "compter" in request.POST:
        return _form_page(request, scope, form, segment=segment, counting=True)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_segment(
                scope=scope,
                segment=segment,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                definition=form.definition,
            )
        except ValidationError as exc:
            form.add_action_error(exc)
        else:
            messages.success(request, _("Segment enregistré."))
            return redirect("segments:detail", pk=segment.pk)
    return _form_page(request, scope, form, segment=segment)


def _form_page(
    request: HttpRequest,
    scope: Scope,
    form: SegmentForm,
    *,
    segment: Segment | None,
    counting: bool = False,
) -> HttpResponse:
    context: dict[str, Any] = {"scope": scope, "form": form, "segment": segment}
    if counting or form.is_bound:
        context.update(_form_audience(scope, form, segment))
    else:
        definition = segment.criteria if segment is not None else Definition()
        context.update(_audience(scope, definition, segment))
    failed = form.is_bound and not counting and bool(form.errors)
    if failed:
        name = next((name for name in form.fields if name in form.errors), None)
        if name:
            form.fields[name].widget.attrs["autofocus"] = True
    context["failed"] = failed
    return render(request, "segments/form.html", context, status=400 if failed else 200)


@login_required
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    segment = segment_for_write(scope, pk)
    error = ""
    if request.method == "POST":
        try:
            actions.delete_segment(scope=scope, segment=segment)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Segment « %(name)s » supprimé.") % {"name": segment.name})
            return redirect("segments:list")
    context = {"scope": scope, "segment": segment, "error": error}
    return render(request, "segments/delete_confirm.html", context, status=400 if error else 200)


@login_required
@require_POST
def segment_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    scope = scope_for(request.user)
    segment = segment_for(scope, pk)
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez un format d'export."))
        return redirect("segments:detail", pk=segment.pk)
    try:
        return exports.export_segment(scope=scope, segment=segment, fmt=form.cleaned_data["format"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("segments:detail", pk=segment.pk)

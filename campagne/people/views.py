"""People pages: the list, a person's page, the person form, exports and erasure.

Thin views: load through the user's scope (404 outside it, 403 for a role that may only
read), validate with a form, call ``people.actions`` or ``people.exports``. With htmx,
the list and the tag/consent forms answer with template partials; without JavaScript
every form still works as a plain page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.lib.phones import display
from campagne.people import actions, exports
from campagne.people.filters import PeopleFilters
from campagne.people.forms import (
    ConsentForm,
    ExportForm,
    PersonFilterForm,
    PersonForm,
    RemoveTagForm,
    TagForm,
)
from campagne.people.models import (
    Channel,
    Civility,
    EventKind,
    Person,
    PersonQuerySet,
    Status,
    Tag,
    TimelineEvent,
)
from campagne.territory.models import Commune

PAGE_SIZE = 50
# Offset pagination reads the skipped rows: past this page (10,000 rows, about 0.2 s at a
# million people with a common tag as filter), the user is asked to refine the search.
MAX_PAGE = 200
TIMELINE_LIMIT = 100


def _is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


# --- the list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListPage:
    """One page of the list, found without counting the whole list."""

    people: list[Person]
    number: int
    has_next: bool

    @property
    def start(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1

    @property
    def end(self) -> int:
        return self.start + len(self.people) - 1

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def capped(self) -> bool:
        """There are more rows, but no further page: the search must be refined."""
        return self.has_next and self.number >= MAX_PAGE


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def list_page(parts: list[PersonQuerySet], number: int) -> ListPage:
    """Read one page from the list's parts, plus one row to know if a next page exists.

    The parts (see ``PersonQuerySet.search_parts``) follow each other; a page may straddle
    two. Nothing is counted, except on a later page that starts past a whole part, and
    then at most the rows before the page.
    """
    wanted = PAGE_SIZE + 1
    skip = (number - 1) * PAGE_SIZE
    rows: list[Person] = []
    for part in parts:
        if len(rows) >= wanted:
            break
        chunk = list(part.select_related("commune")[skip : skip + wanted - len(rows)])
        if chunk:
            rows += chunk
            skip = 0
        elif skip:
            skip -= part[:skip].count()
    page = rows[:PAGE_SIZE]
    prefetch_related_objects(page, "tags")
    return ListPage(people=page, number=number, has_next=len(rows) > PAGE_SIZE)


def _filter_fields(filters: PeopleFilters) -> list[tuple[str, str]]:
    """The filters as (name, value) pairs a form or a query string can carry."""
    pairs: list[tuple[str, str]] = []
    for name, value in filters.as_dict().items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


def _page_url(query: str, number: int) -> str:
    params = f"{query}&page={number}" if query else f"page={number}"
    return f"{reverse('people:list')}?{params}"


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_read_people, _("Votre rôle ne donne pas accès au fichier."))
    form = PersonFilterForm(request.GET, scope=scope)
    page = None
    filter_fields: list[tuple[str, str]] = []
    if form.is_valid():
        filters = form.filters()
        number = _page_number(request.GET.get("page"))
        page = list_page(filters.parts(scope, depth=number * PAGE_SIZE + 1), number)
        filter_fields = _filter_fields(filters)
    query = urlencode(filter_fields)
    context = {
        "scope": scope,
        "form": form,
        "page": page,
        "filter_fields": filter_fields,
        "previous_url": _page_url(query, page.number - 1) if page and page.has_previous else "",
        "next_url": _page_url(query, page.number + 1) if page and page.has_next else "",
    }
    template = "people/list.html"
    if _is_fragment_request(request):
        template += "#results_response"
    response = render(request, template, context)
    # The same URL answers a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
def commune_options(request: HttpRequest) -> HttpResponse:
    """Suggestions for a commune field: the communes of the scope matching what is typed."""
    scope = scope_for(request.user)
    text = request.GET.get("commune", "").strip()
    # Two characters at least: one letter would list half of France's communes.
    communes = list(scope.communes().autocomplete(text)[:20]) if len(text) >= 2 else []
    return render(request, "people/commune_options.html", {"communes": communes})


@login_required
@require_POST
def person_export(request: HttpRequest) -> HttpResponseBase:
    scope = scope_for(request.user)
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    form = PersonFilterForm(request.POST, scope=scope)
    export_form = ExportForm(request.POST)
    back = reverse("people:list")
    if not form.is_valid() or not export_form.is_valid():
        messages.error(request, _("Export impossible : corrigez les filtres."))
        query = urlencode(
            [
                (key, value)
                for key, values in request.POST.lists()
                if key in form.fields
                for value in values
            ]
        )
        return redirect(f"{back}?{query}" if query else back)
    filters = form.filters()
    try:
        return exports.export_people(
            scope=scope, filters=filters, fmt=export_form.cleaned_data["format"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        query = urlencode(_filter_fields(filters))
        return redirect(f"{back}?{query}" if query else back)


# --- one person -------------------------------------------------------------------------


def _value_label(field: str, value: Any, communes: dict[str, str]) -> str:
    """A timeline value as people read it."""
    if value is None or value == "":
        return "—"
    if field == "commune":
        return f"{communes[value]} ({value})" if value in communes else str(value)
    if field == "status":
        return str(dict(Status.choices).get(value, value))
    if field == "civility":
        return str(dict(Civility.choices).get(value, value))
    if field in ("phone", "other_phones"):
        return display(str(value))
    return str(value)


def _field_label(field: str) -> str:
    labels = {"other_emails": _("autre e-mail"), "other_phones": _("autre téléphone")}
    if field in labels:
        return labels[field]
    try:
        return str(Person._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:  # a field removed since the event was written
        return field


def _commune_names(events: list[TimelineEvent]) -> dict[str, str]:
    """The names of the communes that edits on the timeline refer to, in one query."""
    codes = {
        code
        for event in events
        if event.kind == EventKind.EDITED
        for code in (event.data.get("changes") or {}).get("commune") or []
        if code
    }
    if not codes:
        return {}
    return dict(Commune.objects.filter(code__in=codes).values_list("code", "name"))


def describe_event(event: TimelineEvent, communes: dict[str, str]) -> dict[str, Any]:
    """What the timeline shows for one event: its title, and changes or details."""
    data = event.data or {}
    changes: list[tuple[str, str, str]] = []
    details: list[str] = []
    if event.kind == EventKind.EDITED:
        for field, pair in (data.get("changes") or {}).items():
            old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            changes.append(
                (
                    _field_label(field),
                    _value_label(field, old, communes),
                    _value_label(field, new, communes),
                )
            )
    elif event.kind in (EventKind.TAGGED, EventKind.UNTAGGED):
        details.append(str(data.get("tag", "")))
    elif event.kind == EventKind.CONSENT:
        channel = str(dict(Channel.choices).get(data.get("channel"), data.get("channel", "")))
        state = _("accordé") if data.get("granted") else _("retiré")
        details.append(f"{channel} : {state}")
        if data.get("source"):
            details.append(_("source : %(source)s") % {"source": data["source"]})
        if data.get("proof"):
            details.append(_("preuve : %(proof)s") % {"proof": data["proof"]})
    elif event.kind in (EventKind.CREATED, EventKind.IMPORTED):
        if data.get("origin"):
            details.append(_("origine : %(origin)s") % {"origin": data["origin"]})
    elif event.kind == EventKind.EXPORTED:
        details.append(_("export des données (RGPD)") if data.get("what") == "rgpd" else "")
    else:
        details.extend(f"{key} : {value}" for key, value in data.items())
    return {
        "event": event,
        "title": event.get_kind_display(),
        "changes": changes,
        "details": [line for line in details if line],
    }


def _detail_context(scope: Scope, person: Person, **extra: Any) -> dict[str, Any]:
    events = list(person.events.all()[: TIMELINE_LIMIT + 1])
    communes = _commune_names(events[:TIMELINE_LIMIT])
    consents = person.consent_map()
    context = {
        "scope": scope,
        "person": person,
        "tags": list(person.tags.all()),
        "other_emails": list(person.other_emails.all()),
        "other_phones": [display(p.number) for p in person.other_phones.all()],
        "consent_rows": [
            {"channel": value, "label": label, "consent": consents.get(value)}
            for value, label in Channel.choices
        ],
        "timeline": [describe_event(event, communes) for event in events[:TIMELINE_LIMIT]],
        "timeline_truncated": len(events) > TIMELINE_LIMIT,
        "timeline_limit": TIMELINE_LIMIT,
        "tag_form": TagForm(),
        "consent_form": ConsentForm(),
        "notice": "",
    }
    if scope.can_write_people:
        context["tag_names"] = list(Tag.objects.values_list("name", flat=True)[:500])
    context.update(extra)
    return context


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    person = scope.person(pk)
    return render(request, "people/detail.html", _detail_context(scope, person))


def _focus_first(form: Any, fallback: str) -> None:
    """Put the focus back where the user has work to do after a fragment is swapped in."""
    name = next((name for name in form.fields if name in form.errors), fallback)
    form.fields[name].widget.attrs["autofocus"] = True


def _panel_response(
    request: HttpRequest,
    scope: Scope,
    person: Person,
    *,
    partial: str,
    notice: str,
    ok: bool,
    **forms: Any,
) -> HttpResponse:
    """After a tag or consent form: the refreshed panel (htmx) or the page (no JS)."""
    if not _is_fragment_request(request):
        if ok:
            messages.success(request, notice)
            return redirect("people:detail", pk=person.pk)
        context = _detail_context(scope, person, **forms)
        return render(request, "people/detail.html", context, status=400)
    context = _detail_context(scope, person, notice=notice, **forms)
    # 200 even on a form error: htmx swaps only successful answers, and the panel with its
    # error messages is what must be shown.
    return render(request, f"people/detail.html#{partial}", context)


@login_required
@require_POST
def tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    person = scope.person_for_write(pk)
    form = TagForm(request.POST)
    notice, ok = "", False
    if form.is_valid():
        try:
            tag = actions.add_tag(scope=scope, person=person, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc.messages)
        else:
            notice, ok = _("Étiquette « %(name)s » ajoutée.") % {"name": tag.name}, True
            form = TagForm()
    if not ok:
        notice = " ".join(form.errors.get("name", []))
    _focus_first(form, "name")
    return _panel_response(
        request, scope, person, partial="tags_response", notice=notice, ok=ok, tag_form=form
    )


@login_required
@require_POST
def tag_remove(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    person = scope.person_for_write(pk)
    form = RemoveTagForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    removed = bool(name) and actions.remove_tag(scope=scope, person=person, name=name)
    if removed:
        notice = _("Étiquette « %(name)s » retirée.") % {"name": name}
    else:
        notice = _("Cette étiquette n'était pas sur la fiche.")
    tag_form = TagForm()
    _focus_first(tag_form, "name")
    return _panel_response(
        request, scope, person, partial="tags_response", notice=notice, ok=True, tag_form=tag_form
    )


@login_required
@require_POST
def consent_set(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    person = scope.person_for_write(pk)
    form = ConsentForm(request.POST)
    notice, ok = "", False
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.set_consent(
                scope=scope,
                person=person,
                channel=data["channel"],
                granted=data["granted"],
                source=data["source"],
                proof=data["proof"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            ok = True
            label = dict(Channel.choices)[data["channel"]]
            if data["granted"]:
                notice = _("Consentement %(channel)s accordé.") % {"channel": label}
            else:
                notice = _("Consentement %(channel)s retiré.") % {"channel": label}
            form = ConsentForm()
    if not ok:
        notice = _("Le consentement n'a pas été enregistré : corrigez le formulaire.")
    _focus_first(form, "channel")
    return _panel_response(
        request,
        scope,
        person,
        partial="consents_response",
        notice=notice,
        ok=ok,
        consent_form=form,
    )


@login_required
@require_POST
def person_data_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The RGPD export of one person (right of access), as a JSON download."""
    scope = scope_for(request.user)
    person = scope.person(pk)
    data = actions.export_person_data(scope=scope, person=person)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="personne-{person.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def person_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then erase a person for real (RGPD art. 17)."""
    scope = scope_for(request.user)
    person = scope.person(pk)
    scope.require(scope.can_erase_people, _("Votre rôle ne permet pas d'effacer une fiche."))
    if request.method == "POST":
        actions.erase_person(scope=scope, person=person)
        # The message does not repeat the name: the person is gone, their name with them.
        messages.success(request, _("La fiche a été effacée définitivement."))
        return redirect("people:list")
    return render(request, "people/erase_confirm.html", {"scope": scope, "person": person})


# --- create and edit --------------------------------------------------------------------


@login_required
def person_create(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas de créer une fiche."))
    form = PersonForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        try:
            person = actions.create_person(scope=scope, **form.person_fields())
        except ValidationError as exc:
            form.add_action_error(exc)
        else:
            messages.success(request, _("Fiche créée."))
            return redirect("people:detail", pk=person.pk)
    return _form_page(request, scope, form, person=None)


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    person = scope.person_for_write(pk)
    form = PersonForm(request.POST or None, scope=scope, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            changes = actions.update_person(scope=scope, person=person, **form.person_fields())
        except ValidationError as exc:
            form.add_action_error(exc)
        else:
            messages.success(
                request, _("Fiche enregistrée.") if changes else _("Aucune modification.")
            )
            return redirect("people:detail", pk=person.pk)
    return _form_page(request, scope, form, person=person)


def _form_page(
    request: HttpRequest, scope: Scope, form: PersonForm, *, person: Person | None
) -> HttpResponse:
    if form.errors:
        name = next((name for name in form.fields if name in form.errors), None)
        if name:
            form.fields[name].widget.attrs["autofocus"] = True
    context = {"scope": scope, "form": form, "person": person}
    return render(request, "people/form.html", context, status=400 if form.errors else 200)

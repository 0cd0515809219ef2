"""Forms of the people pages: list filters, person, tags, consents.

Forms validate and normalise input (e-mail, E.164 phone, a commune of the user's scope);
the writes themselves are made by ``campagne.people.actions``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campagne.accounts.scopes import Scope
from campagne.lib.phones import display
from campagne.lib.text import search_key
from campagne.people import validation
from campagne.people.actions import EDITABLE_FIELDS
from campagne.people.filters import PeopleFilters
from campagne.people.models import Channel, Person, Status, Tag
from campagne.territory.models import Commune, Departement

# INSEE codes: five characters, Corsica's départements being 2A and 2B.
_INSEE = r"[0-9][0-9AB][0-9]{3}"
_CODE_ONLY = re.compile(rf"^{_INSEE}$")
_CODE_IN_PARENS = re.compile(rf"\(({_INSEE})\)\s*$")
_POSTCODE_AND_TOWN = re.compile(r"^(\d{5})\s+(.+)$")


def commune_label(commune: Commune) -> str:
    """How a commune is written in a commune field, and read back: "Digne-les-Bains (04070)"."""
    return f"{commune.name} ({commune.code})"


class CommuneField(forms.CharField):
    """A commune among ``communes`` (the user's scope), typed as text.

    Accepts what the suggestions list fills in ("Digne-les-Bains (04070)"), an INSEE code,
    a postcode, "postcode town", or a town name when it is unambiguous.
    """

    default_error_messages = {
        "unknown": _("Aucune commune de votre périmètre ne correspond : choisissez-en une."),
        "ambiguous": _("Plusieurs communes correspondent : choisissez-en une dans la liste."),
    }

    def __init__(self, *, communes: QuerySet[Commune] | None = None, **kwargs: Any) -> None:
        self.communes = communes if communes is not None else Commune.objects.none()
        kwargs.setdefault("max_length", 220)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Commune | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        return self.resolve(text)

    def resolve(self, text: str) -> Commune:
        candidates: list[Commune]
        in_parens = _CODE_IN_PARENS.search(text)
        code = in_parens.group(1) if in_parens else text.upper()
        if in_parens or _CODE_ONLY.match(code):
            candidates = list(self.communes.filter(code=code)[:1])
            if not candidates and not in_parens and text.isdigit():
                # Not an INSEE code of the scope: perhaps a postcode.
                candidates = list(self.communes.for_postcode(text).distinct()[:2])
        elif match := _POSTCODE_AND_TOWN.match(text):
            candidates = list(self.communes.for_postcode(match.group(1), match.group(2))[:2])
        else:
            key = search_key(text)
            candidates = list(self.communes.filter(search_name=key)[:2]) if key else []
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise ValidationError(self.error_messages["ambiguous"], code="ambiguous")
        raise ValidationError(self.error_messages["unknown"], code="unknown")


def _commune_widget(datalist_id: str) -> forms.TextInput:
    """A text input whose suggestions (a <datalist>) come from the server as one types."""
    return forms.TextInput(
        attrs={
            "list": datalist_id,
            "autocomplete": "off",
            # "hx-get" (the suggestions URL) is set by the form, once URLs are loaded.
            "hx-trigger": "input changed delay:250ms",
            "hx-target": f"#{datalist_id}",
            "hx-swap": "innerHTML",
            "hx-push-url": "false",
            "hx-sync": "this:replace",
        }
    )


class PersonFilterForm(forms.Form):
    """The list's search box and filters, read from the query string."""

    q = forms.CharField(
        label=_("Rechercher"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Nom, e-mail ou téléphone"),
                "autocomplete": "off",
            }
        ),
    )
    status = forms.ChoiceField(
        label=_("Statut"), required=False, choices=[("", _("Tous")), *Status.choices]
    )
    tag = forms.ModelChoiceField(
        label=_("Étiquette"),
        required=False,
        queryset=Tag.objects.all(),
        to_field_name="name",
        empty_label=_("Toutes"),
    )
    departement = forms.ModelChoiceField(
        label=_("Département"),
        required=False,
        queryset=Departement.objects.none(),
        empty_label=_("Tous"),
    )
    commune = CommuneField(
        label=_("Commune"), required=False, widget=_commune_widget("filter-commune-options")
    )
    consents = forms.MultipleChoiceField(
        label=_("Consentement accordé"),
        required=False,
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, data: Any = None, *, scope: Scope, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        communes = scope.communes()
        self.fields["departement"].queryset = Departement.objects.filter(  # type: ignore[attr-defined]
            code__in=communes.values("departement_id")
        )
        self.fields["commune"].communes = communes  # type: ignore[attr-defined]
        self.fields["commune"].widget.attrs["hx-get"] = reverse("people:communes")
        # Live search: the list follows the search box as one types (see list.html).
        self.fields["q"].widget.attrs.update(
            {
                "hx-get": reverse("people:list"),
                "hx-trigger": "keyup changed delay:300ms, search",
                "hx-include": "closest form",
                "hx-sync": "closest form:replace",
            }
        )

    def filters(self) -> PeopleFilters:
        """The validated filters; call after ``is_valid()``."""
        data = self.cleaned_data
        return PeopleFilters(
            q=data["q"].strip(),
            status=data["status"],
            tag=data["tag"].name if data["tag"] else "",
            departement=data["departement"].code if data["departement"] else "",
            commune=data["commune"].code if data["commune"] else "",
            consents=tuple(sorted(data["consents"])),
        )


def _person_field(name: str, **overrides: Any) -> forms.Field:
    """The model's own form field (label, length, choices), with a few overrides."""
    field = Person._meta.get_field(name).formfield(**overrides)
    assert field is not None  # noqa: S101 — every name below is an editable model field
    return field


class PersonForm(forms.Form):
    """Create or edit a person. Field names are those of ``actions.EDITABLE_FIELDS``."""

    civility = _person_field("civility")
    first_name = _person_field("first_name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    last_name = _person_field("last_name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.CharField(
        label=_("E-mail principal"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Téléphone principal"),
        required=False,
        max_length=30,
        help_text=_("Un numéro français (06 12 34 56 78) ou international (+32 …)."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    address_line = _person_field("address_line")
    address_extra = _person_field("address_extra")
    postal_code = forms.RegexField(
        label=_("Code postal"),
        required=False,
        regex=r"^\d{5}$",
        error_messages={"invalid": _("Un code postal a cinq chiffres.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    commune = CommuneField(
        label=_("Commune"),
        help_text=_("Tapez le nom, le code postal ou le code INSEE, puis choisissez."),
        widget=_commune_widget("person-commune-options"),
    )
    birth_year = forms.IntegerField(label=_("Année de naissance"), required=False, min_value=1900)
    status = _person_field("status")
    origin = _person_field(
        "origin",
        help_text=_(
            "Où et comment ces données ont été collectées (CNIL), par ex. « salon du 12 mars »."
        ),
    )

    def __init__(
        self, data: Any = None, *, scope: Scope, person: Person | None = None, **kwargs: Any
    ) -> None:
        if person is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(person)
        super().__init__(data, **kwargs)
        commune = self.fields["commune"]
        commune.communes = scope.communes()  # type: ignore[attr-defined]
        # Only a role that may file someone without a commune (HQ) may leave it empty.
        commune.required = not scope.covers_commune(None)
        commune.widget.attrs["hx-get"] = reverse("people:communes")

    def clean_birth_year(self) -> int | None:
        return validation.check_birth_year(self.cleaned_data["birth_year"])

    def clean_email(self) -> str:
        on_file = self.initial.get("email") or ""
        return validation.clean_email(self.cleaned_data["email"], on_file=on_file)

    def clean_phone(self) -> str:
        return validation.clean_phone(self.cleaned_data["phone"])

    def clean_origin(self) -> str:
        return self.cleaned_data["origin"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            validation.require_identifier(data)
        return data

    def person_fields(self) -> dict[str, Any]:
        """The cleaned values, keyed as the actions expect them."""
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}

    def add_action_error(self, error: ValidationError) -> None:
        """Show an action's ValidationError next to the field it names, if it is ours."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)


def initial_for(person: Person) -> dict[str, Any]:
    initial = {name: getattr(person, name) for name in EDITABLE_FIELDS}
    initial["phone"] = display(person.phone)
    initial["commune"] = commune_label(person.commune) if person.commune else ""
    return initial


class TagForm(forms.Form):
    name = forms.CharField(
        label=_("Ajouter une étiquette"),
        max_length=60,
        widget=forms.TextInput(attrs={"list": "tag-options", "autocomplete": "off"}),
    )


class RemoveTagForm(forms.Form):
    name = forms.CharField(max_length=60)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Canal"), choices=Channel.choices)
    granted = forms.TypedChoiceField(
        label=_("Consentement"),
        choices=[("1", _("Accordé")), ("0", _("Retiré"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=200,
        help_text=_("Comment la personne l'a exprimé : formulaire, appel, courrier…"),
    )
    proof = forms.CharField(
        label=_("Preuve"),
        help_text=_("Ce qui permet de le démontrer : texte coché, date et heure, référence."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])

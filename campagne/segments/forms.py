"""The segment form: a name, and each criterion of a definition as plain form fields.

The form turns its fields into a ``Definition`` (and back, to edit a segment); checks
against the database (tags, territories, referenced segments, cycles) are made by
``segments.actions.check_definition``, whose errors the view puts back on the fields.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campagne.accounts.scopes import Scope
from campagne.people.models import Channel, Status, Tag
from campagne.segments.actions import DESCRIPTION_MAX, NAME_MAX
from campagne.segments.definition import Definition
from campagne.segments.models import Segment
from campagne.territory.models import Departement, Region

YES_NO = [("", _("Indifférent")), ("yes", _("Oui")), ("no", _("Non"))]
_CODES_SPLIT = re.compile(r"[\s,;]+")

# Form field → where its value goes in a definition (and where its errors come from).
FIELD_PATHS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "tags_any": ("tags", "any"),
    "tags_all": ("tags", "all"),
    "tags_none": ("tags", "none"),
    "regions": ("territory", "regions"),
    "departements": ("territory", "departements"),
    "communes": ("territory", "communes"),
    "consents": ("consents",),
    "origin_contains": ("origin", "contains"),
    "origin_equals": ("origin", "equals"),
    "created_after": ("created", "after"),
    "created_before": ("created", "before"),
    "last_contact_after": ("last_contact", "after"),
    "last_contact_before": ("last_contact", "before"),
    "has_email": ("has_email",),
    "has_phone": ("has_phone",),
    "birth_year_min": ("birth_year", "min"),
    "birth_year_max": ("birth_year", "max"),
    "engaged_days": ("engaged_days",),
    "include_segments": ("include_segments",),
    "exclude_segments": ("exclude_segments",),
}
# Errors of ``check_definition`` and of the schema, by key, shown on this field.
ERROR_FIELDS = {
    "tags": "tags_any",
    "regions": "regions",
    "departements": "departements",
    "communes": "communes",
    "segments": "include_segments",
    "created": "created_before",
    "last_contact": "last_contact_before",
    "birth_year": "birth_year_max",
}


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SegmentForm(forms.Form):
    # Checked by ``actions`` (a name is needed to save, not to count the members).
    name = forms.CharField(label=_("Nom du segment"), max_length=NAME_MAX, required=False)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Pour qui, pour quoi : ce que les autres doivent savoir de ce segment."),
    )
    status = forms.MultipleChoiceField(
        label=_("Statut (l'un de)"),
        required=False,
        choices=Status.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    tags_any = forms.ModelMultipleChoiceField(
        label=_("A au moins une de ces étiquettes"),
        required=False,
        queryset=Tag.objects.all(),
        to_field_name="name",
    )
    tags_all = forms.ModelMultipleChoiceField(
        label=_("A toutes ces étiquettes"),
        required=False,
        queryset=Tag.objects.all(),
        to_field_name="name",
    )
    tags_none = forms.ModelMultipleChoiceField(
        label=_("N'a aucune de ces étiquettes"),
        required=False,
        queryset=Tag.objects.all(),
        to_field_name="name",
    )
    regions = forms.ModelMultipleChoiceField(
        label=_("Régions"), required=False, queryset=Region.objects.none()
    )
    departements = forms.ModelMultipleChoiceField(
        label=_("Départements"), required=False, queryset=Departement.objects.none()
    )
    communes = forms.CharField(
        label=_("Communes (codes INSEE)"),
        required=False,
        max_length=12000,
        help_text=_("Séparés par des espaces ou des virgules, par exemple : 04070 04112."),
    )
    consents = forms.MultipleChoiceField(
        label=_("Consentement accordé pour (tous)"),
        required=False,
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    has_email = forms.ChoiceField(label=_("A une adresse e-mail"), required=False, choices=YES_NO)
    has_phone = forms.ChoiceField(label=_("A un téléphone"), required=False, choices=YES_NO)
    origin_contains = forms.CharField(
        label=_("Origine des données contient"), required=False, max_length=200
    )
    origin_equals = forms.CharField(
        label=_("Origine des données est exactement"), required=False, max_length=200
    )
    created_after = forms.DateField(
        label=_("Fiche créée à partir du"), required=False, widget=_date_input()
    )
    created_before = forms.DateField(
        label=_("Fiche créée avant le"), required=False, widget=_date_input()
    )
    last_contact_after = forms.DateField(
        label=_("Dernier contact à partir du"), required=False, widget=_date_input()
    )
    last_contact_before = forms.DateField(
        label=_("Dernier contact avant le"), required=False, widget=_date_input()
    )
    birth_year_min = forms.IntegerField(
        label=_("Né(e) en ou après"), required=False, min_value=1900, max_value=2100
    )
    birth_year_max = forms.IntegerField(
        label=_("Né(e) en ou avant"), required=False, min_value=1900, max_value=2100
    )
    engaged_days = forms.IntegerField(
        label=_("Engagé (clic ou ouverture d'un e-mail) dans les N derniers jours"),
        required=False,
        min_value=1,
        max_value=3650,
    )
    include_segments = forms.ModelMultipleChoiceField(
        label=_("Ajouter les membres de ces segments"),
        required=False,
        queryset=Segment.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    exclude_segments = forms.ModelMultipleChoiceField(
        label=_("Retirer les membres de ces segments"),
        required=False,
        queryset=Segment.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, data: Any = None, *, scope: Scope, segment: Segment | None = None, **kwargs: Any
    ) -> None:
        if segment is not None and data is None:
            kwargs.setdefault("initial", initial_for(segment))
        super().__init__(data, **kwargs)
        self.segment = segment
        communes = scope.communes()
        departements = Departement.objects.filter(code__in=communes.values("departement_id"))
        self.fields["departements"].queryset = departements  # type: ignore[attr-defined]
        self.fields["regions"].queryset = Region.objects.filter(  # type: ignore[attr-defined]
            code__in=departements.values("region_id")
        )
        others = Segment.objects.visible_to(scope)
        if segment is not None:
            others = others.exclude(pk=segment.pk)
        for name in ("include_segments", "exclude_segments"):
            self.fields[name].queryset = others  # type: ignore[attr-defined]
        for name in ("tags_any", "tags_all", "tags_none", "regions", "departements"):
            self.fields[name].widget.attrs["size"] = 6
            self.fields[name].help_text = _("Plusieurs choix : Ctrl (ou Cmd) + clic.")

    def clean_communes(self) -> list[str]:
        text = self.cleaned_data["communes"]
        return [code.upper() for code in _CODES_SPLIT.split(text) if code]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.criteria_errors():
            try:
                self.definition = Definition.model_validate(self._definition_data(cleaned))
            except pydantic.ValidationError as exc:
                for error in exc.errors():
                    self.add_error(_field_for(error["loc"]), _schema_message(error))
        return cleaned

    def criteria_errors(self) -> bool:
        return any(name in self.errors for name in (*FIELD_PATHS, "__all__"))

    def _definition_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for field, path in FIELD_PATHS.items():
            value = _definition_value(field, cleaned.get(field))
            if value in (None, [], ""):
                continue
            target = data
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = value
        return data

    def add_action_error(self, exc: ValidationError) -> None:
        """Put the errors of ``segments.actions`` on the fields they are about."""
        for key, messages in exc.message_dict.items():
            field = key if key in self.fields else ERROR_FIELDS.get(key)
            self.add_error(field, messages)


def _definition_value(field: str, value: Any) -> Any:
    if field in ("has_email", "has_phone"):
        return {"yes": True, "no": False}.get(value or "")
    if field in ("tags_any", "tags_all", "tags_none"):
        return [tag.name for tag in value or []]
    if field in ("regions", "departements", "include_segments", "exclude_segments"):
        return [item.pk for item in value or []]
    return value


def _field_for(loc: tuple[Any, ...]) -> str | None:
    for field, path in FIELD_PATHS.items():
        if tuple(loc[: len(path)]) == path:
            return field
    return ERROR_FIELDS.get(str(loc[0])) if loc else None


def _schema_message(error: dict[str, Any]) -> str:
    """The schema's errors in French: only the ones a form can produce."""
    message = str(error.get("msg", ""))
    if "after" in message and "before" in message:
        return str(_("La date de début doit précéder la date de fin."))
    if "min" in message and "max" in message:
        return str(_("L'année minimale dépasse l'année maximale."))
    if "included and excluded" in message:
        return str(_("Un segment ne peut pas être à la fois ajouté et retiré."))
    if error.get("type") == "string_pattern_mismatch":
        return str(_("Code INSEE invalide : %(value)s.") % {"value": error.get("input", "")})
    return str(_("Valeur invalide."))


def initial_for(segment: Segment) -> dict[str, Any]:
    """The form's initial values for an existing segment."""
    definition = segment.criteria
    data = definition.model_dump(mode="json")
    initial: dict[str, Any] = {"name": segment.name, "description": segment.description}
    for field, path in FIELD_PATHS.items():
        value: Any = data
        for key in path:
            value = value[key]
        if field in ("has_email", "has_phone"):
            value = {True: "yes", False: "no"}.get(value, "")
        elif field == "communes":
            value = " ".join(value)
        initial[field] = value
    return initial

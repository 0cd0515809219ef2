"""Forms of the import pages: the upload, the column mapping, the merge choices."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from campagne.imports.actions import field_choices
from campagne.imports.mapping import ImportOptions
from campagne.imports.merging import CHOICE_FIELDS, MERGED, SURVIVOR, default_choices
from campagne.people.models import Channel

CONSENT_MODES = [
    ("none", _("Le fichier ne dit rien (ou une colonne le dit)")),
    ("statement", _("Tout le fichier a consenti")),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_(
            "CSV (tout séparateur, tout encodage), XLSX ou ODS ; la première ligne "
            "donne les noms des colonnes."
        ),
    )
    origin = forms.CharField(
        label=_("Origine des données"),
        max_length=200,
        help_text=_(
            "Où et comment ces personnes ont donné leurs coordonnées (CNIL) : "
            "« pétition école Jean Jaurès, mars 2024 »."
        ),
    )


class MappingForm(forms.Form):
    """One select per column, then the consent declarations and the options."""

    overwrite = forms.BooleanField(
        label=_("Remplacer les valeurs existantes"),
        required=False,
        help_text=_(
            "Sans cette case, le fichier ne remplit que les champs vides des fiches existantes."
        ),
    )
    tags = forms.CharField(
        label=_("Étiquettes ajoutées à chaque personne"),
        required=False,
        max_length=300,
        help_text=_("Séparées par des virgules."),
    )

    def __init__(self, *args: Any, headers: list[str], fields: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = field_choices()
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=fields[index]
            )
        for channel, label in Channel.choices:
            self.fields[f"consent_{channel}"] = forms.ChoiceField(
                label=label, choices=CONSENT_MODES, initial="none", required=False
            )
            self.fields[f"proof_{channel}"] = forms.CharField(
                label=_("Preuve du consentement (%(channel)s)") % {"channel": label},
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def consent_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"consent_{ch}"], self[f"proof_{ch}"]) for ch in Channel.values]

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            fields=[data.get(f"column_{index}") or "" for index in range(len(self.headers))],
            consents={
                channel: {
                    "mode": data.get(f"consent_{channel}") or "none",
                    "proof": data.get(f"proof_{channel}", ""),
                }
                for channel in Channel.values
            },
            overwrite=data.get("overwrite", False),
            tags=[tag for tag in (data.get("tags") or "").split(",") if tag.strip()],
        )


class MergeForm(forms.Form):
    """Which of two people is kept, and for each field which one's value (``a`` or ``b``)."""

    keep = forms.ChoiceField(label=_("Fiche conservée"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, a: Any, b: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.a, self.b = a, b
        self.fields["keep"].choices = [
            ("a", _("n° %(id)s") % {"id": a.pk}),
            ("b", _("n° %(id)s") % {"id": b.pk}),
        ]
        self.fields["keep"].initial = "a"
        defaults = default_choices(a, b)
        for field in CHOICE_FIELDS:
            self.fields[f"choice_{field}"] = forms.ChoiceField(
                choices=[("a", str(a.pk)), ("b", str(b.pk))],
                initial="b" if defaults[field] == MERGED else "a",
                widget=forms.RadioSelect,
                required=False,
            )

    def rows(self) -> list[tuple[str, forms.BoundField]]:
        return [(field, self[f"choice_{field}"]) for field in CHOICE_FIELDS]

    def result(self) -> tuple[Any, Any, dict[str, str]]:
        """(survivor, merged, choices for ``merge_people``)."""
        keep_a = self.cleaned_data["keep"] == "a"
        survivor, merged = (self.a, self.b) if keep_a else (self.b, self.a)
        kept_side = "a" if keep_a else "b"
        choices = {
            field: SURVIVOR
            if (self.cleaned_data.get(f"choice_{field}") or kept_side) == kept_side
            else MERGED
            for field in CHOICE_FIELDS
        }
        return survivor, merged, choices

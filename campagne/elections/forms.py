"""The upload form of the import page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from campagne.elections.models import ElectionKind, ImportKind

MAX_UPLOAD_BYTES = 1024 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type de fichier"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_("CSV, TXT (éventuellement .gz), XLSX ou GeoJSON, tel que publié."),
    )
    election_kind = forms.ChoiceField(
        label=_("Élection"),
        choices=[("", _("— d'après le fichier —")), *ElectionKind.choices],
        required=False,
    )
    year = forms.IntegerField(label=_("Année"), min_value=1958, max_value=2100, required=False)
    round = forms.TypedChoiceField(
        label=_("Tour"),
        choices=[("", "—"), (1, "1"), (2, "2")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    date = forms.DateField(
        label=_("Date du scrutin"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    code_commune = forms.CharField(
        label=_("Propriété du code commune (contours)"), max_length=100, required=False
    )
    code_bv = forms.CharField(
        label=_("Propriété du code de bureau (contours)"), max_length=100, required=False
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("Fichier trop gros (1 Go au plus)."))
        return upload

    def options(self) -> dict[str, Any]:
        """The importer options, JSON-safe, as ``ImportJob.options`` stores them."""
        data = self.cleaned_data
        if data["kind"] == ImportKind.RESULTS:
            return {
                "kind": data.get("election_kind") or None,
                "year": data.get("year"),
                "round": data.get("round"),
                "date": data["date"].isoformat() if data.get("date") else None,
            }
        if data["kind"] == ImportKind.CONTOURS:
            return {
                "code_commune": data.get("code_commune") or None,
                "code_bv": data.get("code_bv") or None,
            }
        return {}

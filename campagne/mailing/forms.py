from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campagne.accounts.scopes import Scope
from campagne.mailing.models import Mailing, MailingSettings, Sender
from campagne.mailing.rendering import check_merge_fields
from campagne.segments.models import Segment


class MailingForm(forms.ModelForm):
    class Meta:
        model = Mailing
        fields = [
            "sender",
            "subject",
            "preheader",
            "body",
            "reason",
            "segments",
            "excluded_segments",
            "subject_b",
            "ab_sample_percent",
            "ab_wait_minutes",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 16})}
        help_texts = {
            "subject_b": gettext_lazy(
                "Facultatif : un second objet, essayé sur un échantillon. Celui qui obtient "
                "le plus de clics (pas d'ouvertures) part ensuite au reste de l'audience."
            ),
        }

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only validated senders, only the segments this user may see.
        self.fields["sender"].queryset = Sender.objects.filter(validated=True)
        visible = Segment.objects.visible_to(scope)
        self.fields["segments"].queryset = visible
        self.fields["excluded_segments"].queryset = visible
        # Only used with a subject B: left empty, they keep the model's defaults.
        for name in ("ab_sample_percent", "ab_wait_minutes"):
            self.fields[name].required = False
        self.fields["ab_sample_percent"].widget.attrs.update(min=2, max=50)
        self.fields["ab_wait_minutes"].widget.attrs.update(min=10)

    def _merge_checked(self, name: str) -> str:
        value = self.cleaned_data[name]
        try:
            check_merge_fields(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return value

    def clean_subject(self) -> str:
        return self._merge_checked("subject")

    def clean_subject_b(self) -> str:
        return self._merge_checked("subject_b").strip()

    def clean_body(self) -> str:
        return self._merge_checked("body")

    def clean_ab_sample_percent(self) -> int:
        value = self.cleaned_data["ab_sample_percent"]
        if value is None:
            return Mailing._meta.get_field("ab_sample_percent").get_default()
        if not 2 <= value <= 50:
            raise ValidationError(
                _("L'échantillon va de %(low)s à %(high)s %% de l'audience.")
                % {"low": 2, "high": 50}
            )
        return value

    def clean_ab_wait_minutes(self) -> int:
        value = self.cleaned_data["ab_wait_minutes"]
        if value is None:
            return Mailing._meta.get_field("ab_wait_minutes").get_default()
        if not 10 <= value <= 7 * 24 * 60:
            raise ValidationError(_("Le test dure de 10 minutes à 7 jours."))
        return value


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Envoyer le"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


class ReviewForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Commentaire pour l'auteur"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SenderForm(forms.ModelForm):
    class Meta:
        model = Sender
        fields = ["name", "address", "reply_to"]


class MailingSettingsForm(forms.ModelForm):
    class Meta:
        model = MailingSettings
        fields = ["approval_required"]

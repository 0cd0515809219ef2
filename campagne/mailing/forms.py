from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from campagne.accounts.scopes import Scope
from campagne.mailing.models import Mailing, Sender
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
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 16})}

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only validated senders, only the segments this user may see.
        self.fields["sender"].queryset = Sender.objects.filter(validated=True)
        visible = Segment.objects.visible_to(scope)
        self.fields["segments"].queryset = visible
        self.fields["excluded_segments"].queryset = visible

    def _merge_checked(self, name: str) -> str:
        value = self.cleaned_data[name]
        try:
            check_merge_fields(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return value

    def clean_subject(self) -> str:
        return self._merge_checked("subject")

    def clean_body(self) -> str:
        return self._merge_checked("body")

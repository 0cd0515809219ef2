from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Adresse e-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class MagicLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Adresse e-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Nom du jeton"), max_length=100)

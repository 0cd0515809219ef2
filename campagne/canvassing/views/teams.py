"""Teams pages under /terrain/equipes/: the list, a team, creating and editing one,
taking a member out.

Thin views: teams load through ``teams.team_for`` / ``team_for_write`` (404 outside the
scope, 403 for a read-only role), writes go through ``canvassing.teams``. A team is
created with its name and commune first; its leader and members are then chosen among
the accounts of that commune's territory, which the edit page lists.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from campagne.accounts.models import User
from campagne.accounts.scopes import Scope, scope_for
from campagne.canvassing import actions, teams
from campagne.canvassing.models import Session, Team
from campagne.people.forms import CommuneField, commune_label


def _user_label(user: User) -> str:
    return f"{user.get_full_name() or user.email} ({user.email})"


def _commune_input() -> forms.TextInput:
    """A text input whose suggestions (the communes of the scope) come as one types."""
    return forms.TextInput(
        attrs={
            "list": "team-commune-options",
            "autocomplete": "off",
            "hx-trigger": "input changed delay:250ms",
            "hx-target": "#team-commune-options",
            "hx-swap": "innerHTML",
            "hx-push-url": "false",
            "hx-sync": "this:replace",
        }
    )


class TeamForm(forms.Form):
    """A team's name and commune; with ``team``, also its leader and members, chosen
    among the accounts of the team's territory."""

    name = forms.CharField(label=gettext_lazy("Nom"), max_length=teams.NAME_MAX_LENGTH)
    commune = CommuneField(label=gettext_lazy("Commune"), widget=_commune_input())
    leader = forms.ModelChoiceField(
        label=gettext_lazy("Responsable"), queryset=User.objects.none(), required=False
    )
    members = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Membres"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, scope: Scope, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commune"].communes = scope.communes()  # type: ignore[attr-defined]
        self.fields["commune"].widget.attrs["hx-get"] = reverse("people:communes")
        if team is None:
            del self.fields["leader"], self.fields["members"]
            return
        people = teams.choosable(team.commune, team)
        for name in ("leader", "members"):
            field = self.fields[name]
            field.queryset = people  # type: ignore[attr-defined]
            field.label_from_instance = _user_label  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(team: Team) -> dict[str, Any]:
        return {
            "name": team.name,
            "commune": commune_label(team.commune),
            "leader": team.leader_id,
            "members": list(team.members.values_list("pk", flat=True)),
        }


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- pages ----------------------------------------------------------------------------------
@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    return render(
        request,
        "canvassing/teams/team_list.html",
        {"teams": teams.team_list(scope), "can_manage": scope.can_manage_field},
    )


@login_required
@require_GET
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    team = teams.team_for(scope, pk)
    sessions = (
        scope.sessions()
        .filter(team=team, status__in=Session.OPEN_STATUSES)
        .select_related("turf", "campaign")
        .order_by("starts_at", "id")[:50]
    )
    return render(
        request,
        "canvassing/teams/team_detail.html",
        {
            "team": team,
            "members": team.members.order_by("last_name", "first_name", "email"),
            "sessions": sessions,
            "can_manage": scope.can_manage_field,
        },
    )


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    actions.require_manager(scope)
    form = TeamForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team = teams.create_team(scope=scope, name=data["name"], commune=data["commune"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("Équipe créée : choisissez maintenant son responsable et ses membres.")
            )
            return redirect("canvassing:team_edit", pk=team.pk)
    return render(
        request,
        "canvassing/teams/team_form.html",
        {"form": form, "team": None},
        status=400 if form.errors else 200,
    )


@login_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    team = teams.team_for_write(scope, pk)
    form = TeamForm(
        request.POST or None, scope=scope, team=team, initial=TeamForm.initial_for(team)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            teams.update_team(
                scope=scope,
                team=team,
                name=data["name"],
                commune=data["commune"],
                leader=data["leader"],
                members=data["members"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Équipe enregistrée."))
            return redirect("canvassing:team", pk=team.pk)
    return render(
        request,
        "canvassing/teams/team_form.html",
        {"form": form, "team": team},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def team_remove_member(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    team = teams.team_for_write(scope, pk)
    try:
        member = teams.remove_member(scope=scope, team=team, user_id=request.POST.get("member"))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(member)s ne fait plus partie de l'équipe.")
            % {"member": member.get_full_name() or member.email},
        )
    return redirect("canvassing:team", pk=team.pk)


urlpatterns = [
    path("equipes/", team_list, name="teams"),
    path("equipes/nouvelle/", team_create, name="team_create"),
    path("equipes/<int:pk>/", team_detail, name="team"),
    path("equipes/<int:pk>/modifier/", team_edit, name="team_edit"),
    path("equipes/<int:pk>/retirer/", team_remove_member, name="team_remove_member"),
]

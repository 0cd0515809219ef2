from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from campagne.accounts import actions, magic_links
from campagne.accounts.forms import ApiTokenForm, MagicLinkForm


def ratelimited_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Per-IP cap on login posts, on top of django-axes' per-account lockout."""
    return ratelimit(key="ip", rate="30/m", method="POST", block=True)(view)


@ratelimit(key="ip", rate="10/h", method="POST", block=True)
@ratelimit(key="post:email", rate="5/h", method="POST", block=True)
def magic_link_request(request: HttpRequest) -> HttpResponse:
    form = MagicLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.send_magic_link(email=form.cleaned_data["email"])
        # Same answer whether or not the address has an account.
        return render(
            request, "accounts/magic_link_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "accounts/magic_link.html", {"form": form})


@ratelimit(key="ip", rate="30/m", block=True)
def magic_login(request: HttpRequest, token: str) -> HttpResponse:
    user = magic_links.user_for_token(token)
    if user is None:
        return render(request, "accounts/magic_link_invalid.html", status=400)
    if request.method == "POST":
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("core:home")
    # A confirmation step: mail scanners that follow links must not use up the token.
    return render(request, "accounts/magic_link_confirm.html", {"account": user})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    tokens = request.user.api_tokens.filter(revoked_at__isnull=True)  # type: ignore[union-attr]
    return render(
        request, "accounts/profile.html", {"tokens": tokens, "token_form": ApiTokenForm()}
    )


@login_required
@require_POST
@ratelimit(key="user", rate="20/h", block=True)
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Donnez un nom au jeton."))
        return redirect("accounts:profile")
    token, raw = actions.create_api_token(user=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
    tokens = request.user.api_tokens.filter(revoked_at__isnull=True)  # type: ignore[union-attr]
    return render(
        request,
        "accounts/profile.html",
        {"tokens": tokens, "token_form": ApiTokenForm(), "new_token": raw, "new_token_obj": token},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if actions.revoke_api_token(user=request.user, token_id=token_id):  # type: ignore[arg-type]
        messages.success(request, _("Jeton révoqué."))
    return redirect("accounts:profile")

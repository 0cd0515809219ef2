from django.contrib.auth import views as auth_views
from django.urls import path

from campagne.accounts import views
from campagne.accounts.forms import EmailLoginForm

app_name = "accounts"
urlpatterns = [
    path(
        "connexion/",
        views.ratelimited_login(
            auth_views.LoginView.as_view(
                authentication_form=EmailLoginForm, redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("lien/", views.magic_link_request, name="magic_link"),
    path("lien/<str:token>/", views.magic_login, name="magic_login"),
    path("moi/", views.profile, name="profile"),
    path("moi/jetons/", views.token_create, name="token_create"),
    path("moi/jetons/<int:token_id>/revoquer/", views.token_revoke, name="token_revoke"),
]

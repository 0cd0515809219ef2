from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from django.views.i18n import set_language

from campagne.api import api

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
    path("", include("campagne.core.urls")),
    path("comptes/", include("campagne.accounts.urls")),
    path("personnes/", include("campagne.people.urls")),
    path("elections/", include("campagne.elections.urls")),
    path("imports/", include("campagne.imports.urls")),
    path("segments/", include("campagne.segments.urls")),
    path("ciblage/", include("campagne.targeting.urls")),
    path("m/", include("campagne.mailing.urls")),
    path("demo/", include("campagne.demo.urls")),
    path("m/", include("campagne.tracking.urls")),
    # E-mail services' bounce/complaint webhooks (django-anymail, signed or basic auth).
    path("webhooks/anymail/", include("campagne.mailing.webhooks")),
    path("terrain/", include("campagne.canvassing.urls")),
]

# The interface language comes from the session/cookie (set_language) or the browser,
# not from the URL, so public links stay the same in both languages.
__all__ = ["urlpatterns", "i18n_patterns"]

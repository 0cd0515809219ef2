"""Field pages under /terrain/: organizing, the field app, dashboards, phone banking."""

from campagne.canvassing.views import calls, dashboard, field, organize, teams

app_name = "canvassing"

urlpatterns = [
    *organize.urlpatterns,
    *field.urlpatterns,
    *dashboard.urlpatterns,
    *calls.urlpatterns,
    *teams.urlpatterns,
]

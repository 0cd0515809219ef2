from django.urls import path

from campagne.elections import views

app_name = "elections"
urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_job, name="import_job"),
]

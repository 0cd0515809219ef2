from django.urls import path

from campagne.mailing import views

app_name = "mailing"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

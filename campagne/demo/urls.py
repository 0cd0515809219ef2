from django.urls import path

from campagne.demo import views

app_name = "demo"

urlpatterns = [
    path("boite/", views.inbox, name="inbox"),
    path("boite/<int:pk>/", views.message, name="message"),
]

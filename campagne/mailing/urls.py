from django.urls import path

from campagne.mailing import views

app_name = "mailing"

urlpatterns = [
    path("", views.mailing_list, name="list"),
    path("nouveau/", views.mailing_create, name="create"),
    path("<int:pk>/", views.mailing_detail, name="detail"),
    path("<int:pk>/envoyer/", views.mailing_send, name="send"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

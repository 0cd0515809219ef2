from django.urls import path

from campagne.mailing import views

app_name = "mailing"

urlpatterns = [
    path("", views.mailing_list, name="list"),
    path("nouveau/", views.mailing_create, name="create"),
    path("reglages/", views.mailing_settings, name="settings"),
    path("expediteurs/", views.sender_list, name="senders"),
    path("expediteurs/<int:pk>/validation/", views.sender_validate, name="sender_validate"),
    path("<int:pk>/", views.mailing_detail, name="detail"),
    path("<int:pk>/modifier/", views.mailing_edit, name="edit"),
    path("<int:pk>/envoyer/", views.mailing_send, name="send"),
    path("<int:pk>/soumettre/", views.mailing_submit, name="submit"),
    path("<int:pk>/validation/", views.mailing_review, name="review"),
    path("<int:pk>/programmer/", views.mailing_schedule, name="schedule"),
    path("<int:pk>/deprogrammer/", views.mailing_unschedule, name="unschedule"),
    path("<int:pk>/pause/", views.mailing_pause, name="pause"),
    path("<int:pk>/reprendre/", views.mailing_resume, name="resume"),
    path("<int:pk>/annuler/", views.mailing_cancel, name="cancel"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

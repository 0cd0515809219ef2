from django.urls import path

from campagne.people import views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("nouvelle/", views.person_create, name="create"),
    path("export/", views.person_export, name="export"),
    path("communes/", views.commune_options, name="communes"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/modifier/", views.person_edit, name="edit"),
    path("<int:pk>/etiquettes/", views.tag_add, name="tag_add"),
    path("<int:pk>/etiquettes/retirer/", views.tag_remove, name="tag_remove"),
    path("<int:pk>/consentements/", views.consent_set, name="consent"),
    path("<int:pk>/donnees/", views.person_data_export, name="data_export"),
    path("<int:pk>/effacer/", views.person_erase, name="erase"),
]

from django.urls import path

from campagne.targeting import views

app_name = "targeting"
urlpatterns = [
    path("", views.profile_list, name="profiles"),
    path("nouveau/", views.profile_create, name="create"),
    path("camp/", views.profile_side, name="side"),
    path("rattachement/", views.attach, name="attach"),
    path("bureaux/<str:station_id>/", views.station_detail, name="station"),
    path("<int:pk>/", views.profile_detail, name="detail"),
    path("<int:pk>/modifier/", views.profile_edit, name="edit"),
    path("<int:pk>/supprimer/", views.profile_delete, name="delete"),
    path("<int:pk>/recalculer/", views.profile_rescore, name="rescore"),
    path("<int:pk>/carte.geojson", views.profile_geojson, name="geojson"),
    path("<int:pk>/export/", views.profile_export, name="export"),
]

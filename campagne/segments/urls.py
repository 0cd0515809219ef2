from django.urls import path

from campagne.segments import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("nouveau/", views.segment_create, name="create"),
    path("compter/", views.segment_preview, name="preview"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/nombre/", views.segment_count, name="count"),
    path("<int:pk>/modifier/", views.segment_edit, name="edit"),
    path("<int:pk>/supprimer/", views.segment_delete, name="delete"),
    path("<int:pk>/export/", views.segment_export, name="export"),
]

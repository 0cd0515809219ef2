from django.urls import path

from campagne.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.batch_list, name="list"),
    path("nouveau/", views.batch_new, name="new"),
    path("<int:pk>/", views.batch_detail, name="detail"),
    path("<int:pk>/colonnes/", views.batch_mapping, name="mapping"),
    path("<int:pk>/reprendre/", views.batch_resume, name="resume"),
    path("<int:pk>/rejets.csv", views.batch_rejected, name="rejected"),
    path("doublons/", views.candidate_list, name="candidates"),
    path("doublons/<int:pk>/", views.candidate_detail, name="candidate"),
    path("fusion/", views.merge_new, name="merge_new"),
    path("fusions/<int:pk>/", views.merge_detail, name="merge"),
    path("fusions/<int:pk>/annuler/", views.merge_undo, name="merge_undo"),
]

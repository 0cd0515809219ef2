from django.urls import path

from campagne.tracking import views

app_name = "tracking"

# Mounted under /m/ next to campagne.mailing's pages: short public links.
urlpatterns = [
    path("c/<str:token>/", views.click, name="click"),
    path("o/<str:token>.gif", views.open_pixel, name="open"),
    path("<int:pk>/rapport/", views.report, name="report"),
]

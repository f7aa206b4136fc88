from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("health/", views.health),
    path("slow/", views.slow),
    path("visits/", views.visits),
]

from django.urls import path

from jobs import views as jobs

from . import views

urlpatterns = [
    path("", views.index),
    path("health/", views.health),
    path("slow/", views.slow),
    path("visits/", views.visits),
    path("tasks/enqueue/", jobs.enqueue),
    path("tasks/stats/", jobs.stats),
]

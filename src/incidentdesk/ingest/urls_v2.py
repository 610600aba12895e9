from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("enqueue", views.enqueue, name="enqueue"),
    path("change/enqueue", views.change_enqueue, name="change-enqueue"),
]

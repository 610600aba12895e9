from django.urls import path

from . import queue_views, views

app_name = "incidents"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("queue/live", views.queue_live, name="queue_live"),
    path("queue/views", queue_views.view_save, name="view_save"),
    path("queue/views/<int:view_id>/delete", queue_views.view_delete, name="view_delete"),
    path("queue/bulk", queue_views.bulk, name="bulk"),
    path("incidents/<str:ref>", views.incident_detail, name="detail"),
    path("incidents/<str:ref>/live", views.incident_live, name="live"),
    path("incidents/<str:ref>/triage", views.triage_form, name="triage"),
    path("incidents/<str:ref>/act/<slug:action>", views.incident_action, name="act"),
]

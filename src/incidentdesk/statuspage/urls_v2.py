"""The Statuspage-compatible API, mounted at /api/v2/: the read documents and the public
subscriber endpoints."""

from django.urls import path, re_path

from . import api_v2, views

app_name = "statuspage_v2"
urlpatterns = [
    *(path(name, views.v2_view(name), name=name) for name in api_v2.DOCUMENTS),
    path("components/<str:pk>.json", views.v2_component, name="component"),
    path("incidents/<str:public_id>.json", views.v2_incident, name="incident"),
    path("subscribers.json", views.v2_subscribers, name="subscribers"),
    path("subscribers/<str:handle>.json", views.v2_subscriber, name="subscriber"),
    re_path(r"^(?P<rest>.*)$", views.v2_not_found, name="not_found"),
]

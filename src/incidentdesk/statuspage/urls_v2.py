"""The Statuspage-compatible read API, mounted at /api/v2/."""

from django.urls import path, re_path

from . import api_v2, views

app_name = "statuspage_v2"
urlpatterns = [
    *(path(name, views.v2_view(name), name=name) for name in api_v2.DOCUMENTS),
    path("components/<str:pk>.json", views.v2_component, name="component"),
    path("incidents/<str:public_id>.json", views.v2_incident, name="incident"),
    re_path(r"^(?P<rest>.*)$", views.v2_not_found, name="not_found"),
]

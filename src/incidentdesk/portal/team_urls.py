"""The team's side of duplicates, under /incidents/INC-n/."""

from django.urls import re_path

from . import views

app_name = "portal-team"
REF = r"(?P<ref>[Ii][Nn][Cc]-[0-9]{1,18})"
urlpatterns = [
    re_path(rf"^incidents/{REF}/similar$", views.similar, name="similar"),
    re_path(rf"^incidents/{REF}/merge$", views.merge, name="merge"),
    re_path(rf"^incidents/{REF}/organisations$", views.link_organisation, name="link"),
]

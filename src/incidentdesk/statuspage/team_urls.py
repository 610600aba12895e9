"""The team's side of the status page under /incidents/INC-n/: the public update composer."""

from django.urls import re_path

from . import views_composer

app_name = "statuspage-team"
REF = r"(?P<ref>[Ii][Nn][Cc]-[0-9]{1,18})"
urlpatterns = [
    re_path(rf"^incidents/{REF}/update$", views_composer.compose, name="compose"),
]

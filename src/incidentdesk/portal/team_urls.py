"""The team's side of duplicates, under /incidents/INC-n/, and of held mail under /mail/held."""

from django.urls import path, re_path

from . import views

app_name = "portal-team"
REF = r"(?P<ref>[Ii][Nn][Cc]-[0-9]{1,18})"
urlpatterns = [
    re_path(rf"^incidents/{REF}/similar$", views.similar, name="similar"),
    re_path(rf"^incidents/{REF}/merge$", views.merge, name="merge"),
    path("mail/held", views.held_mail, name="held-mail"),
    re_path(
        r"^mail/held/(?P<held>[0-9]{1,18})/(?P<action>accept|discard)$",
        views.held_mail_decide,
        name="held-mail-decide",
    ),
    re_path(rf"^incidents/{REF}/organisations$", views.link_organisation, name="link"),
]

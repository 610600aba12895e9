from django.urls import path

from . import views_pages

app_name = "oncall"

urlpatterns = [
    path("oncall/", views_pages.oncall_page, name="page"),
    path("oncall/feed/<str:token>.ics", views_pages.oncall_feed, name="feed"),
    path("oncall/ack/<str:token>", views_pages.acknowledge_link, name="ack"),
    path("oncall/integrations/", views_pages.integrations_page, name="integrations"),
    path(
        "oncall/integrations/<int:pk>/revoke",
        views_pages.integration_revoke,
        name="integration_revoke",
    ),
]

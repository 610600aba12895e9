from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from incidentdesk.api import api
from incidentdesk.core import views as core_views
from incidentdesk.monitoring.views import metrics_view

urlpatterns = [
    path(
        "favicon.ico", RedirectView.as_view(url=static("incidentdesk/favicon.svg"), permanent=True)
    ),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("api/v2/", include("incidentdesk.statuspage.urls_v2")),
    path("v2/", include("incidentdesk.ingest.urls_v2")),
    path("status/", include("incidentdesk.statuspage.urls")),
    path("portal/", include("incidentdesk.portal.urls")),
    path("", include("incidentdesk.home.urls")),
    path("", include("incidentdesk.reviews.urls")),
    path("", include("incidentdesk.comms.urls")),
    path("", include("incidentdesk.ingest.urls")),
    path("", include("incidentdesk.policy.urls")),
    path("", include("incidentdesk.accounts.urls")),
    path("", include("incidentdesk.portal.team_urls")),
    path("", include("incidentdesk.statuspage.team_urls")),
    path("", include("incidentdesk.incidents.urls")),
]

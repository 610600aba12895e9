"""The JSON API at /api/v1: routers of each app mounted on one NinjaAPI."""

from __future__ import annotations

from ninja import NinjaAPI

from incidentdesk.accounts.api import router as accounts_router
from incidentdesk.accounts.api_auth import ActiveSession, BearerToken
from incidentdesk.comms.api import router as comms_router
from incidentdesk.core.api import ApiDocs, install_error_handlers, reject_unsafe_text
from incidentdesk.incidents.api import router as incidents_router
from incidentdesk.ingest.api import router as ingest_router
from incidentdesk.ingest.api_escalation import router as escalation_router
from incidentdesk.policy.api import router as policy_router
from incidentdesk.portal.api import router as portal_router
from incidentdesk.reviews.api import router as reviews_router
from incidentdesk.statuspage.api import router as statuspage_router

api = NinjaAPI(
    title="IncidentDesk API",
    version="1",
    description="Report and work incidents under the Incident Management Policy.",
    auth=[BearerToken(), ActiveSession()],
    urls_namespace="api-v1",
    docs=ApiDocs(),
)
install_error_handlers(api)
api.add_decorator(reject_unsafe_text)
api.add_router("", incidents_router)
api.add_router("", policy_router)
api.add_router("", comms_router)
api.add_router("", statuspage_router)
api.add_router("", portal_router)
api.add_router("", reviews_router)
api.add_router("", accounts_router)
api.add_router("", ingest_router)
api.add_router("", escalation_router)

import os

from django.core.wsgi import get_wsgi_application

from incidentdesk.core.lifeline import follow_parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidentdesk.settings")
django_application = get_wsgi_application()

from incidentdesk.ingest import front as ingest_front  # noqa: E402  (needs the settings above)
from incidentdesk.monitoring.metrics import count_requests, observe_request  # noqa: E402
from incidentdesk.statuspage.front import wrap  # noqa: E402

# alert events (ingest/front.py), then the prepared public front (statuspage/front.py),
# answer before Django
application = ingest_front.wrap(wrap(django_application, count_requests), observe_request)
# a web process whose `serve` was killed stops at once: nothing of it keeps the port
follow_parent(on_orphaned=lambda: os._exit(0))

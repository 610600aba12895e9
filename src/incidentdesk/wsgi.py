import os

from django.core.wsgi import get_wsgi_application

from incidentdesk.core.lifeline import follow_parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidentdesk.settings")
django_application = get_wsgi_application()

from incidentdesk.statuspage.front import wrap  # noqa: E402  (needs the settings above)

# the prepared public front answers before Django (statuspage/front.py)
application = wrap(django_application)
# a web process whose `serve` was killed stops at once: nothing of it keeps the port
follow_parent(on_orphaned=lambda: os._exit(0))

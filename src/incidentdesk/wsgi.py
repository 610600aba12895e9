import os

from django.core.wsgi import get_wsgi_application

from incidentdesk.core.lifeline import follow_parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidentdesk.settings")
application = get_wsgi_application()
# a web process whose `serve` was killed stops at once: nothing of it keeps the port
follow_parent(on_orphaned=lambda: os._exit(0))

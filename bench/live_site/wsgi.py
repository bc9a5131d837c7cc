"""WSGI entry point (gunicorn gthread): a thread per stream."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.live_site.settings")
application = get_wsgi_application()

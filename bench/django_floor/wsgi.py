"""WSGI entry point (gunicorn): the sync view."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_floor.settings")
application = get_wsgi_application()

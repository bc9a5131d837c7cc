"""WSGI entry point (runserver, gunicorn): sync views."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_projects.django_chat.chat_site.settings")
application = get_wsgi_application()

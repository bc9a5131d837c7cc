"""ASGI entry point (uvicorn): the async views, which never block the event loop."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_projects.django_chat.chat_site.settings")
os.environ.setdefault("CHAT_ASYNC_VIEWS", "1")
application = get_asgi_application()

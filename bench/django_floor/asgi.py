"""ASGI entry point (uvicorn): the async view."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_floor.settings")
os.environ.setdefault("CHAT_ASYNC_VIEWS", "1")
application = get_asgi_application()

"""``/live`` through ``pb_ssr_django.live_view``, and ``/stats``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from pb_ssr_django import live_view
from pb_ssr_django.conf import get_config

from . import FEEDS, stats


async def live_stats(request: HttpRequest) -> JsonResponse:
    return JsonResponse(stats(get_config().relay(FEEDS)))


urlpatterns = [
    path("live", live_view(FEEDS), name="live"),
    path("stats", live_stats, name="stats"),
]

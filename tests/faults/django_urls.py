"""The fault app in Django: the pages of :mod:`tests.faults.apps`, as a ``ROOT_URLCONF``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .apps import titles


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home")


def notes(request: Any) -> HttpResponse:
    items = request.pb.collection("private_notes").get_full_list()
    return HttpResponse(f"{request.pb_user.get('id') or '-'}|{titles(items)}")


async def anotes(request: Any) -> HttpResponse:
    client = await request.apb()
    items = await client.collection("private_notes").get_full_list()
    user = await request.apb_user()
    return HttpResponse(f"{user.get('id') or '-'}|{titles(items)}")


def missing(request: Any) -> HttpResponse:
    request.pb.collection("private_notes").get_one("nosuchrecord123")
    return HttpResponse("found?")


urlpatterns = [
    path("", home),
    path("notes", notes),
    path("anotes", anotes),
    path("missing", missing),
]

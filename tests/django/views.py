"""Sync and async views for the Django adapter tests."""

from __future__ import annotations

from html import escape
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from pb_ssr import AsyncPocketBase, BlockingCallError, Feed, PocketBase, Record
from pb_ssr_django import login_required, superuser_required

# -- sync -----------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    # Never touches PocketBase: no cookie work, no Vary.
    return HttpResponse("home")


def whoami(request: Any) -> HttpResponse:
    user = request.pb_user
    if not user:
        return HttpResponse(f"anonymous authenticated={user.is_authenticated}")
    return HttpResponse(f"user:{user['email']}")


def notes(request: Any) -> HttpResponse:
    assert isinstance(request.pb, PocketBase)
    items = request.pb.collection("private_notes").get_full_list()
    user_id = request.pb_user.get("id") or "-"
    return HttpResponse(f"{user_id}|" + ",".join(sorted(item["title"] for item in items)))


def template_page(request: Any) -> HttpResponse:
    return render(request, "pb_ssr_tests/page.html")


@login_required
def private(request: Any) -> HttpResponse:
    return HttpResponse(f"private:{request.pb_user['email']}")


@superuser_required
def admin_only(request: Any) -> HttpResponse:
    return HttpResponse(f"admin:{request.pb_user['email']}")


@csrf_exempt
def api_login(request: Any) -> HttpResponse:
    data = request.POST
    client = request.pb_session.client()
    client.collection("users").auth_with_password(data["email"], data["password"])
    return HttpResponse("ok")


@csrf_exempt
def api_logout(request: Any) -> HttpResponse:
    request.pb_session.logout()
    return HttpResponse("bye")


# -- async ----------------------------------------------------------------------------------


async def async_whoami(request: Any) -> HttpResponse:
    client = await request.apb()
    assert isinstance(client, AsyncPocketBase)
    user = await request.apb_user()
    record = client.auth_store.record
    if not user:
        assert record is None
        return HttpResponse("anonymous")
    assert record is not None and record["id"] == user["id"]
    return HttpResponse(f"user:{user['email']}")


async def async_notes(request: Any) -> HttpResponse:
    client = await request.apb()
    items = await client.collection("private_notes").get_full_list()
    return HttpResponse(",".join(sorted(item["title"] for item in items)) or "-")


async def async_sync_read(request: Any) -> HttpResponse:
    # What a template or context processor does in an async view: a sync read.
    try:
        user = request.pb_user
        return HttpResponse(f"known: user:{user['email']}" if user else "known: anonymous")
    except BlockingCallError:
        user = await request.apb_user()
        return HttpResponse(f"must await, then user:{user['email']}")


@login_required
async def async_private(request: Any) -> HttpResponse:
    user = await request.apb_user()
    return HttpResponse(f"private-async:{user['email']}")


@superuser_required
async def async_admin_only(request: Any) -> HttpResponse:
    user = await request.apb_user()
    return HttpResponse(f"admin-async:{user['email']}")


# -- live updates ---------------------------------------------------------------------------


def _message_item(action: str, record: Record) -> str:
    return f'<li id="msg-{record.id}">{escape(str(record.get("text", "")))}</li>'


#: What the test pages may follow (tests/django/test_live.py).
LIVE_FEEDS = [Feed("messages", "messages", render=_message_item), Feed("notes", "private_notes")]

"""The floor's views: the chat page by hand (sync and async) and a password sign-in."""

from __future__ import annotations

import os
from typing import Any

import httpx
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods

PB_URL = os.environ.get("PB_URL", "http://127.0.0.1:8090")
LIST_URL = f"{PB_URL}/api/collections/messages/records"
LIST_PARAMS = {"page": 1, "perPage": 50, "sort": "-created", "expand": "user"}
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100)

#: One pooled client per worker process (gunicorn's threads share it).
http = httpx.Client(trust_env=False, limits=LIMITS)
#: One pooled async client per worker process, made in its event loop on first use.
_ahttp: httpx.AsyncClient | None = None


def ahttp() -> httpx.AsyncClient:
    global _ahttp
    if _ahttp is None:
        _ahttp = httpx.AsyncClient(trust_env=False, limits=LIMITS)
    return _ahttp


def pb_user(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the signed-in user's record, kept in the session at sign-in."""
    return {"pb_user": request.session.get("pb_user")}


def _to_login() -> HttpResponse:
    return redirect("pb_ssr:login")


def _page(request: HttpRequest, answer: httpx.Response) -> HttpResponse:
    if answer.status_code == 401:
        request.session.flush()
        return _to_login()
    answer.raise_for_status()
    data = answer.json()
    context = {"messages_list": data["items"], "total": data["totalItems"]}
    return render(request, "chat/index.html", context)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    token = request.session.get("pb_token")
    if not token:
        return _to_login()
    answer = http.get(LIST_URL, params=LIST_PARAMS, headers={"Authorization": token})
    return _page(request, answer)


@require_GET
async def aindex(request: HttpRequest) -> HttpResponse:
    token = await request.session.aget("pb_token")
    if not token:
        return _to_login()
    answer = await ahttp().get(LIST_URL, params=LIST_PARAMS, headers={"Authorization": token})
    return _page(request, answer)


def nothing(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The endpoints the templates link to; only their URLs matter here."""
    return HttpResponse("")


LOGIN_FORM = """<form method="post">
<input type="hidden" name="csrfmiddlewaretoken" value="{token}">
<input type="email" name="email"><input type="password" name="password">
<button type="submit">Sign in</button></form>"""


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Password sign-in (CSRF checked by the middleware); token and user go to the session."""
    if request.method == "POST":
        answer = http.post(
            f"{PB_URL}/api/collections/users/auth-with-password",
            json={"identity": request.POST["email"], "password": request.POST["password"]},
        )
        if answer.status_code != 200:
            return HttpResponseBadRequest("wrong email or password")
        data = answer.json()
        request.session.cycle_key()
        request.session["pb_token"] = data["token"]
        request.session["pb_user"] = data["record"]
        return redirect("index")
    return HttpResponse(LOGIN_FORM.format(token=escape(get_token(request))))

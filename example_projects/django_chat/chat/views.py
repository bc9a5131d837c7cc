"""The chat's pages, sync flavour (WSGI)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from example_projects import stats as shared_stats
from pb_ssr import ClientResponseError
from pb_ssr_django import login_required, service


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    pb: Any = request.pb  # type: ignore[attr-defined]
    page = pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
    context = {"messages_list": page.items, "total": page.total_items}
    return render(request, "chat/index.html", context)


@require_POST
@login_required
def post_message(request: HttpRequest) -> HttpResponse:
    text = (request.POST.get("text") or "").strip()
    if not text:
        flash.error(request, "Write something first.")
        return redirect("index")
    pb: Any = request.pb  # type: ignore[attr-defined]
    try:
        pb.collection("messages").create({"text": text, "user": request.pb_user.id})  # type: ignore[attr-defined]
    except ClientResponseError as exc:
        flash.error(request, exc.data.get("text", {}).get("message") or "Could not post it.")
    return redirect("index")


@require_http_methods(["GET", "POST"])
@login_required
def edit_message(request: HttpRequest, message_id: str) -> HttpResponse:
    pb: Any = request.pb  # type: ignore[attr-defined]
    try:
        message = pb.collection("messages").get_one(message_id)
        if message.get("user") != request.pb_user.id:  # type: ignore[attr-defined]
            raise Http404  # PocketBase's updateRule would refuse it anyway
        if request.method == "POST":
            text = (request.POST.get("text") or "").strip()
            if text:
                pb.collection("messages").update(message_id, {"text": text})
                return redirect("index")
            flash.error(request, "Write something first.")
    except ClientResponseError as exc:
        if exc.status in (403, 404):
            raise Http404 from exc
        if exc.status != 400:
            raise
        flash.error(request, exc.data.get("text", {}).get("message") or "Could not save it.")
    return render(request, "chat/edit.html", {"message": message})


@require_POST
@login_required
def delete_message(request: HttpRequest, message_id: str) -> HttpResponse:
    pb: Any = request.pb  # type: ignore[attr-defined]
    try:
        pb.collection("messages").delete(message_id)
    except ClientResponseError as exc:
        if exc.status in (403, 404):
            raise Http404 from exc
        raise
    return redirect("index")


@require_GET
@login_required
def stats(request: HttpRequest) -> HttpResponse:
    data = shared_stats.compute_stats(service(), request.pb_user.id)  # type: ignore[attr-defined]
    return render(request, "chat/stats.html", data)

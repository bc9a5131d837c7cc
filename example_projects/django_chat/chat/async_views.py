"""The chat's pages, async flavour (ASGI): every PocketBase call is awaited."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from example_projects import stats as shared_stats
from pb_ssr import ClientResponseError
from pb_ssr_django import login_required, service


@require_GET
@login_required
async def index(request: HttpRequest) -> HttpResponse:
    pb = await request.apb()  # type: ignore[attr-defined]
    page = await pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
    context = {"messages_list": page.items, "total": page.total_items}
    return render(request, "chat/index.html", context)


@require_POST
@login_required
async def post_message(request: HttpRequest) -> HttpResponse:
    text = (request.POST.get("text") or "").strip()
    if not text:
        flash.error(request, "Write something first.")
        return redirect("index")
    pb = await request.apb()  # type: ignore[attr-defined]
    user = await request.apb_user()  # type: ignore[attr-defined]
    try:
        await pb.collection("messages").create({"text": text, "user": user.id})
    except ClientResponseError as exc:
        flash.error(request, exc.data.get("text", {}).get("message") or "Could not post it.")
    return redirect("index")


@require_http_methods(["GET", "POST"])
@login_required
async def edit_message(request: HttpRequest, message_id: str) -> HttpResponse:
    pb = await request.apb()  # type: ignore[attr-defined]
    user = await request.apb_user()  # type: ignore[attr-defined]
    try:
        message = await pb.collection("messages").get_one(message_id)
        if message.get("user") != user.id:
            raise Http404  # PocketBase's updateRule would refuse it anyway
        if request.method == "POST":
            text = (request.POST.get("text") or "").strip()
            if text:
                await pb.collection("messages").update(message_id, {"text": text})
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
async def delete_message(request: HttpRequest, message_id: str) -> HttpResponse:
    pb = await request.apb()  # type: ignore[attr-defined]
    try:
        await pb.collection("messages").delete(message_id)
    except ClientResponseError as exc:
        if exc.status in (403, 404):
            raise Http404 from exc
        raise
    return redirect("index")


@require_GET
@login_required
async def stats(request: HttpRequest) -> HttpResponse:
    user = await request.apb_user()  # type: ignore[attr-defined]
    data = await shared_stats.acompute_stats(service(), user.id)
    return render(request, "chat/stats.html", data)

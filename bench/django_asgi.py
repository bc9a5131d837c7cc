"""Does pb-ssr's middleware add a thread hop to an all-async Django stack?

Two Django ASGI handlers in one process, the same all-async middleware stack but for
``PocketBaseMiddleware``, each serving one ``async def`` view:

  (a) with pb-ssr: the view awaits ``request.apb_user()`` for a signed-in cookie
      whose validation is cached (primed by one real ``auth-refresh``) and returns
      the user's id;
  (b) without: the same view, returning the id from a constant.

Requests are driven straight into each handler's ASGI callable on one event loop
(no sockets, no server), interleaved, and timed per request. A sync-only middleware
would make Django wrap it in ``sync_to_async``: a thread hop per request, which shows
up as tens of microseconds and a second thread in the profile. The count of
threads that ran middleware code is reported as well.

Target: a/b <= 1.10. Run: ``.venv/bin/python bench/django_asgi.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import seeded_server, write_json

TARGET = 1.10
SECRET_KEY = "bench-django-asgi-" + "d" * 32


def configure(url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["pb_ssr_django"],
        MIDDLEWARE=[],
        POCKETBASE={"URL": url, "COOKIE_SECURE": False},
        USE_TZ=True,
    )
    django.setup()


threads_seen: set[int] = set()


async def whoami(request: Any) -> Any:
    from django.http import JsonResponse

    threads_seen.add(threading.get_ident())
    if hasattr(request, "apb_user"):
        user = await request.apb_user()
        return JsonResponse({"id": user.id})
    return JsonResponse({"id": "constant-id-0001"})


urlpatterns: list[Any] = []


def handler(middleware: list[str]) -> Any:
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler

    settings.MIDDLEWARE = middleware
    return ASGIHandler()


async def request(app: Any, cookie: str) -> bytes:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/me/",
        "raw_path": b"/me/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench.test"), (b"cookie", f"pb_auth={cookie}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("bench.test", 80),
    }
    body: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(body)


async def measure(apps: dict[str, Any], cookie: str, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in apps}
    names = list(apps)
    for _ in range(200):
        for name in names:
            await request(apps[name], cookie)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            await request(apps[name], cookie)
            out[name].append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)

    with seeded_server(messages=1) as (server, user):
        configure(server.url)
        from django.urls import path

        urlpatterns.append(path("me/", whoami))
        stack = [
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ]
        apps = {
            "with_pb_ssr": handler([*stack, "pb_ssr_django.middleware.PocketBaseMiddleware"]),
            "without": handler(stack),
        }
        from pb_ssr_django.conf import get_config

        manager = get_config().manager
        cookie = manager.codec.dump(user.token, user.record, max_age=3600).value

        async def run() -> dict[str, list[float]]:
            first = await request(apps["with_pb_ssr"], cookie)
            assert user.id.encode() in first, first
            threads_seen.clear()
            return await measure(apps, cookie, args.rounds)

        samples = asyncio.run(run())
        calls = manager.validator.upstream_calls

    med = {k: statistics.median(v) * 1e6 for k, v in samples.items()}
    ratio = med["with_pb_ssr"] / med["without"]
    print(
        f"async view: with pb-ssr {med['with_pb_ssr']:.0f} us, without {med['without']:.0f} us "
        f"-> {ratio:.2f}x (target <= {TARGET}); threads that ran the view: {len(threads_seen)}; "
        f"auth-refresh calls {calls}"
    )
    write_json(
        "django_asgi",
        {
            "median_us": med,
            "ratio_with_over_without": ratio,
            "view_threads": len(threads_seen),
            "auth_refresh_calls": calls,
            "target": TARGET,
        },
    )
    return 0 if ratio <= TARGET and len(threads_seen) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())

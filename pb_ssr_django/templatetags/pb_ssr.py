"""``{% load pb_ssr %}``: file URLs of PocketBase records in templates.

As a filter, for the plain URL::

    <img src="{{ message|pb_file_url:message.image }}" alt="">

As a tag, with options::

    <img src="{% pb_file_url pb_user pb_user.avatar thumb="100x100" %}" alt="">
    <a href="{% pb_file_url doc doc.file download=True %}">Download</a>

URLs point at ``POCKETBASE["PUBLIC_URL"]`` (the address browsers reach PocketBase
at), or ``URL`` when it is not set. Protected files need a file token and are
better served through a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from ..conf import get_config

__all__ = ["pb_file_url", "pb_file_url_filter", "register"]

register = template.Library()


def pb_file_url(
    record: Mapping[str, Any] | None,
    filename: str | None,
    thumb: str | None = None,
    download: bool = False,
    token: str | None = None,
) -> str:
    """Return the URL of *record*'s file *filename* (``""`` when either is missing).

    :param thumb: a thumb size such as ``"100x100"`` (images only).
    :param download: serve the file as an attachment.
    :param token: a *file* token (``pb.files.get_token()``) for protected files.
    """
    return get_config().file_url(record, filename, thumb, download, token)


def pb_file_url_filter(record: Mapping[str, Any] | None, filename: str | None) -> str:
    """The filter form: ``{{ record|pb_file_url:record.avatar }}``."""
    return pb_file_url(record, filename)


register.filter("pb_file_url", pb_file_url_filter)
register.simple_tag(pb_file_url, name="pb_file_url")

"""``{% load pb_ssr %}``: file URLs of records, ``{{ msg|pb_file_url:msg.image }}`` or
``{% pb_file_url user user.avatar thumb="100x100" download=True token=t %}``.

URLs point at ``POCKETBASE["PUBLIC_URL"]`` (or ``URL``).
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

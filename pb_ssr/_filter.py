"""Safe parameter binding for PocketBase filter expressions."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["build_filter", "filter_literal"]


def filter_literal(value: Any) -> str:
    """Return *value* as a PocketBase filter literal.

    Same rules as the JS SDK's ``pb.filter`` with one deliberate fix: the SDK
    escapes only ``'``, but PocketBase's lexer also treats ``\\`` as an escape,
    so a value ending in a backslash could swallow the closing quote and let a
    second parameter inject filter syntax. pb-ssr escapes ``\\`` first.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Cannot use {value!r} in a PocketBase filter.")
        # Plain digits: PocketBase's filter lexer has no exponent syntax (1e+308).
        return format(decimal.Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        # Naive datetimes are taken as UTC: PocketBase stores and compares UTC.
        return _quote(value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}Z")
    if isinstance(value, dt.date):
        return _quote(value.strftime("%Y-%m-%d") + " 00:00:00.000Z")
    if isinstance(value, str):
        return _quote(value)
    # Anything else (lists, dicts, ...) is compared as its JSON text, like the SDK.
    return _quote(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_filter(expr: str, params: Mapping[str, Any] | None = None) -> str:
    """Replace each ``{:name}`` placeholder in *expr* by the escaped *params* value.

    :param expr: a PocketBase filter with ``{:name}`` placeholders.
    :param params: the values; each is escaped with :func:`filter_literal`.

    Example::

        pb.filter("user = {:user} && created > {:since}", user=uid, since=yesterday)
    """
    if not isinstance(expr, str):
        raise TypeError("The filter expression must be a str.")
    if not params:
        return expr
    # Replace in one pass so that a value containing "{:other}" is never re-expanded.
    out: list[str] = []
    pos = 0
    while True:
        start = expr.find("{:", pos)
        if start < 0:
            out.append(expr[pos:])
            break
        end = expr.find("}", start + 2)
        if end < 0:
            out.append(expr[pos:])
            break
        name = expr[start + 2 : end]
        out.append(expr[pos:start])
        if name in params:
            out.append(filter_literal(params[name]))
        else:
            out.append(expr[start : end + 1])
        pos = end + 1
    return "".join(out)

"""Type aliases and protocols shared across pb-ssr."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import IO, Any, TypeAlias

import httpx

__all__ = [
    "AfterSend",
    "BeforeSend",
    "FileContent",
    "FileInput",
    "FilesArg",
    "HeadersArg",
    "QueryArg",
    "StrList",
    "TimeoutArg",
]

#: A file's content: bytes or a binary file object.
FileContent: TypeAlias = bytes | IO[bytes]
#: One upload: content, ``(filename, content)`` or ``(filename, content, content_type)``.
FileInput: TypeAlias = FileContent | tuple[str, FileContent] | tuple[str, FileContent, str]
#: ``{"field": upload}`` or ``{"field": [upload, ...]}`` for multi-file fields.
FilesArg: TypeAlias = Mapping[str, FileInput | Sequence[FileInput]]
#: Extra request headers.
HeadersArg: TypeAlias = Mapping[str, str]
#: Extra query parameters (``None`` values are dropped).
QueryArg: TypeAlias = Mapping[str, Any]
#: A comma-joined option given as a string or a list of strings (``expand``, ``fields``, ``sort``).
StrList: TypeAlias = str | Sequence[str]
#: Seconds, or an ``httpx.Timeout``.
TimeoutArg: TypeAlias = float | httpx.Timeout
#: ``before_send(request)``: inspect or change the outgoing request; return it, a
#: replacement, or ``None`` to keep it. The async client also accepts a coroutine.
BeforeSend: TypeAlias = Callable[
    [httpx.Request], "httpx.Request | Awaitable[httpx.Request | None] | None"
]
#: ``after_send(response, data)``: return the data the caller should get. The
#: async client also accepts a coroutine.
AfterSend: TypeAlias = Callable[[httpx.Response, Any], Any]

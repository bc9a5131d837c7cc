"""The batch API's request queue, shared by the sync and async batches (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ._base import RequestSpec
from ._types import FilesArg, QueryArg, StrList
from ._urls import encode_segment, record_query

__all__ = ["BatchQueue", "SubBatch"]


@dataclass(slots=True)
class BatchQueue:
    """The requests queued on a batch, in order."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, list[Any]] = field(default_factory=dict)

    def add(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        files: FilesArg | None,
        headers: Mapping[str, str] | None,
    ) -> None:
        index = len(self.requests)
        entry: dict[str, Any] = {"method": method, "url": url}
        if body is not None:
            entry["body"] = dict(body)
        if headers:
            entry["headers"] = dict(headers)
        self.requests.append(entry)
        for name, value in (files or {}).items():
            items = value if isinstance(value, list) else [value]
            # PocketBase maps multipart files to batch items as requests.N.field.
            self.files.setdefault(f"requests.{index}.{name}", []).extend(items)

    def spec(self, *, query: QueryArg | None, headers: Mapping[str, str] | None) -> RequestSpec:
        if not self.requests:
            raise ValueError("The batch is empty: queue requests with batch.collection(...) first.")
        body = {"requests": self.requests}
        if self.files:
            return RequestSpec(
                "POST",
                "/api/batch",
                query=query,
                headers=headers,
                body=body,
                files=self.files,
            )
        return RequestSpec("POST", "/api/batch", query=query, headers=headers, body=body)


class SubBatch:
    """Queue record operations of one collection on a batch (no I/O until ``send``)."""

    def __init__(self, queue: BatchQueue, collection: str) -> None:
        self._queue = queue
        self._base = f"/api/collections/{encode_segment(collection, 'collection name')}/records"

    def _url(self, record_id: str | None, expand: StrList | None, fields: StrList | None) -> str:
        url = self._base + (
            f"/{encode_segment(record_id, 'record id')}" if record_id is not None else ""
        )
        q = record_query(expand=expand, fields=fields)
        if q:
            url += "?" + "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in q.items())
        return url

    def create(
        self,
        body: Mapping[str, Any] | None = None,
        files: FilesArg | None = None,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue a record create."""
        self._queue.add("POST", self._url(None, expand, fields), body or {}, files, headers)

    def upsert(
        self,
        body: Mapping[str, Any],
        files: FilesArg | None = None,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue an upsert: update the record with ``body["id"]`` or create it."""
        self._queue.add("PUT", self._url(None, expand, fields), body, files, headers)

    def update(
        self,
        record_id: str,
        body: Mapping[str, Any] | None = None,
        files: FilesArg | None = None,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue a record update."""
        self._queue.add("PATCH", self._url(record_id, expand, fields), body or {}, files, headers)

    def delete(self, record_id: str, *, headers: Mapping[str, str] | None = None) -> None:
        """Queue a record delete."""
        self._queue.add("DELETE", self._url(record_id, None, None), None, None, headers)

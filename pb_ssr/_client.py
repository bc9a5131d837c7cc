"""The two clients: :class:`PocketBase` (sync) and :class:`AsyncPocketBase`.

Hand-written twins that only differ in how they send; the services they hand
out are generated (``pb_ssr/_sync`` from ``pb_ssr/_async``).
"""

from __future__ import annotations

import asyncio
import inspect
from types import TracebackType
from typing import Any, Self

import httpx

from ._async._services import AsyncBatch, AsyncFileService, AsyncHealthService, AsyncRecordService
from ._auth_store import AuthStore
from ._base import DEFAULT_TIMEOUT, BaseClient, RequestSpec
from ._breaker import calls
from ._pool import async_transport, bridge_executor, sync_transport
from ._realtime import AsyncRealtimeService, RealtimeService
from ._sync._services import Batch, FileService, HealthService, RecordService
from ._types import AfterSend, BeforeSend, FilesArg, HeadersArg, QueryArg, TimeoutArg

__all__ = ["AsyncPocketBase", "PocketBase"]


class PocketBase(BaseClient[RecordService, FileService, HealthService, Batch, RealtimeService]):
    """A PocketBase client for one request (or one job), sync flavour.

    Cheap to construct: it borrows the process-wide connection pool instead of
    opening its own, so create one per request and let it go. Its auth state
    (``auth_store``) is its own and never shared. The API mirrors the official
    JS SDK in snake_case.

    :param base_url: PocketBase's address, e.g. ``"http://127.0.0.1:8090"``.
    :param http_client: an ``httpx.Client`` to send through instead of the shared
        default pool (for custom TLS, proxies or transports). It must not carry
        auth headers: auth travels per request.
    :param auth_store: initial auth state (``AuthStore(token, record)``).
    :param lang: ``Accept-Language`` for PocketBase's messages.
    :param timeout: per-request timeout (seconds or ``httpx.Timeout``).
    :param headers: headers for every request of this client.
    :param before_send: ``before_send(request)`` hook.
    :param after_send: ``after_send(response, data)`` hook.

    Example::

        pb = PocketBase("http://127.0.0.1:8090")
        pb.collection("users").auth_with_password("ada@example.com", "secret")
        page = pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
    """

    http_client_type = httpx.Client
    _http: httpx.Client | None
    _record_service = RecordService
    _file_service = FileService
    _health_service = HealthService
    _batch = Batch
    _realtime_service = RealtimeService

    def __init__(
        self,
        base_url: str,
        *,
        http_client: httpx.Client | None = None,
        auth_store: AuthStore | None = None,
        lang: str = "en-US",
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        headers: HeadersArg | None = None,
        before_send: BeforeSend | None = None,
        after_send: AfterSend | None = None,
    ) -> None:
        super().__init__(
            base_url,
            http_client=http_client,
            auth_store=auth_store,
            lang=lang,
            timeout=timeout,
            headers=headers,
            before_send=before_send,
            after_send=after_send,
        )

    def send(
        self,
        path: str,
        *,
        method: str = "GET",
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        body: Any = None,
        files: FilesArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> Any:
        """Send any API request and return the decoded JSON (``None`` for no content).

        For endpoints without a service (settings, collections, custom routes)::

            pb.send("/api/hello", method="POST", body={"name": "ada"})
        """
        return self._send(self._spec(path, method, query, headers, body, files, timeout))

    def _send(self, spec: RequestSpec) -> Any:
        http = self._http
        request = self._build_request(http, spec)
        if self.before_send is not None:
            replaced = self.before_send(request)
            if inspect.isawaitable(replaced):
                raise TypeError("A coroutine before_send hook needs AsyncPocketBase.")
            if replaced is not None:
                request = replaced
        self._allow(request)
        try:
            response = http.send(request) if http is not None else _send_pooled(request)
        except httpx.HTTPError as exc:
            raise self._transport_error(request, exc) from exc
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_status(response.status_code)
        data = self._read_json(response)
        if self.after_send is not None:
            data = self.after_send(response, data)
        return self._raise_for_status(request, response, data)

    def close(self) -> None:
        """Stop this client's realtime connection, if any. The shared pool stays open."""
        if self._realtime is not None:
            self._realtime.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncPocketBase(
    BaseClient[
        AsyncRecordService, AsyncFileService, AsyncHealthService, AsyncBatch, AsyncRealtimeService
    ]
):
    """The asyncio twin of :class:`PocketBase`: same API, every call awaited.

    Borrows the running event loop's shared ``httpx.AsyncClient``.

    :param http_client: an ``httpx.AsyncClient`` to use instead of the shared pool.
    :param sync_pool: send through the process's *sync* pool instead of the running
        loop's own pool. For event loops that live for one request only (Flask's
        ``async def`` views, ``asyncio.run`` per job): a per-loop pool would open a new
        connection every time, the sync pool keeps them alive. While the loop runs no
        other task the call is made right there; concurrent calls (``gather``) go
        through worker threads. Never on a loop shared by many requests (uvicorn).

    Example::

        pb = AsyncPocketBase("http://127.0.0.1:8090")
        await pb.collection("users").auth_with_password("ada@example.com", "secret")
    """

    http_client_type = httpx.AsyncClient
    _http: httpx.AsyncClient | None
    _record_service = AsyncRecordService
    _file_service = AsyncFileService
    _health_service = AsyncHealthService
    _batch = AsyncBatch
    _realtime_service = AsyncRealtimeService

    def __init__(
        self,
        base_url: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        auth_store: AuthStore | None = None,
        lang: str = "en-US",
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        headers: HeadersArg | None = None,
        before_send: BeforeSend | None = None,
        after_send: AfterSend | None = None,
        sync_pool: bool = False,
    ) -> None:
        super().__init__(
            base_url,
            http_client=http_client,
            auth_store=auth_store,
            lang=lang,
            timeout=timeout,
            headers=headers,
            before_send=before_send,
            after_send=after_send,
        )
        self.sync_pool = sync_pool

    async def send(
        self,
        path: str,
        *,
        method: str = "GET",
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        body: Any = None,
        files: FilesArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> Any:
        """Send any API request and return the decoded JSON (``None`` for no content)."""
        return await self._send(self._spec(path, method, query, headers, body, files, timeout))

    async def _send(self, spec: RequestSpec) -> Any:
        http = self._http
        request = self._build_request(http, spec)
        if self.before_send is not None:
            replaced = self.before_send(request)
            if inspect.isawaitable(replaced):
                replaced = await replaced
            if replaced is not None:
                request = replaced
        self._allow(request)
        try:
            if http is not None:
                response = await http.send(request)
            elif self.sync_pool:
                if len(asyncio.all_tasks()) <= 1:
                    # This task is all the loop runs (Flask's per-request loop): a
                    # blocking call starves nobody, and skips two thread hand-offs.
                    response = _send_pooled(request)
                else:
                    loop = asyncio.get_running_loop()
                    response = await loop.run_in_executor(bridge_executor(), _send_pooled, request)
            else:
                response = await _asend_pooled(request)
        except httpx.HTTPError as exc:
            raise self._transport_error(request, exc) from exc
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_status(response.status_code)
        data = self._read_json(response)
        if self.after_send is not None:
            data = self.after_send(response, data)
            if inspect.isawaitable(data):
                data = await data
        return self._raise_for_status(request, response, data)

    def _derived_kwargs(self) -> dict[str, Any]:
        return {**super()._derived_kwargs(), "sync_pool": self.sync_pool}

    async def aclose(self) -> None:
        """Stop this client's realtime connection, if any. The shared pool stays open."""
        if self._realtime is not None:
            await self._realtime.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _send_pooled(request: httpx.Request) -> httpx.Response:
    """Send through the shared pool's transport and read the whole body.

    What ``httpx.Client.send`` does for us, minus the layers pb-ssr never uses:
    no cookie jar (a shared one would carry one user's cookies to the next), no
    redirects (the client does not follow them either), no auth flow.
    """
    calls.api = True  # the breaker's read watch applies to this call
    try:
        response = sync_transport().handle_request(request)
        try:
            response.read()
        finally:
            response.close()
    finally:
        calls.api = False
    response.request = request
    return response


async def _asend_pooled(request: httpx.Request) -> httpx.Response:
    """The async twin of :func:`_send_pooled`, on the running loop's pool."""
    response = await async_transport().handle_async_request(request)
    try:
        await response.aread()
    finally:
        await response.aclose()
    response.request = request
    return response

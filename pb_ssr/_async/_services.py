"""PocketBase API services: records and auth, files, health, batch.

``pb_ssr/_async/_services.py`` is the source; ``scripts/unasync.py`` generates
``pb_ssr/_sync/_services.py`` from it and CI checks that it is up to date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._auth_store import auth_record_matches
from .._base import UNSET, RequestSpec, _Unset
from .._batch import BatchQueue, SubBatch
from .._errors import ClientResponseError
from .._records import ListResult, Record, RecordAuthResponse, RecordSubscription, to_record
from .._tokens import decode_claims
from .._types import FilesArg, HeadersArg, QueryArg, StrList, TimeoutArg
from .._urls import encode_segment, file_url, join, record_query, topic_with_options

if TYPE_CHECKING:
    from .._client import AsyncPocketBase

__all__ = [
    "AsyncBatch",
    "AsyncFileService",
    "AsyncHealthService",
    "AsyncRecordService",
]


class AsyncRecordService:
    """Records and auth of one collection: ``pb.collection("name")``.

    Mirrors the JS SDK's ``RecordService`` in snake_case. Every auth method
    that succeeds saves the token and record into the client's ``auth_store``.
    """

    def __init__(self, client: AsyncPocketBase, collection: str) -> None:
        if not isinstance(collection, str) or not collection:
            raise ValueError("A collection name or id is required.")
        self.client = client
        self.collection = collection
        self._base = f"/api/collections/{encode_segment(collection, 'collection name')}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.collection!r}>"

    # -- CRUD ----------------------------------------------------------------------

    async def get_list(
        self,
        page: int = 1,
        per_page: int = 30,
        *,
        filter: str | None = None,
        sort: StrList | None = None,
        expand: StrList | None = None,
        fields: StrList | None = None,
        skip_total: bool = False,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> ListResult:
        """Return one page of records.

        :param page: the page number, from 1.
        :param per_page: records per page (PocketBase caps it at 1000).
        :param filter: a filter expression; build it with ``pb.filter`` when it
            holds user input.
        :param sort: e.g. ``"-created,id"`` or ``["-created", "id"]``.
        :param expand: relations to expand, e.g. ``"user"``.
        :param fields: the fields to return, e.g. ``"id,text,expand.user.name"``.
        :param skip_total: skip counting (faster); totals are then ``-1``.

        Example::

            page = await pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
            for msg in page.items:
                print(msg["text"], msg.expand["user"]["name"])
        """
        q = record_query(
            expand=expand,
            fields=fields,
            query=query,
            page=page,
            perPage=per_page,
            filter=filter,
            sort=join(sort),
            skipTotal=True if skip_total else None,
        )
        data = await self.client._send(
            RequestSpec(
                "GET", self._base + "/records", query=q, headers=headers, timeout=_t(timeout)
            )
        )
        return ListResult.from_json(data)

    async def get_full_list(
        self,
        *,
        batch: int = 1000,
        filter: str | None = None,
        sort: StrList | None = None,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> list[Record]:
        """Return every matching record, fetched *batch* at a time.

        :param batch: page size of each request (1 to 1000).
        """
        if batch < 1:
            raise ValueError("batch must be at least 1.")
        out: list[Record] = []
        page = 1
        while True:
            result = await self.get_list(
                page,
                batch,
                filter=filter,
                sort=sort,
                expand=expand,
                fields=fields,
                skip_total=True,
                query=query,
                headers=headers,
                timeout=timeout,
            )
            out.extend(result.items)
            if len(result.items) < result.per_page or not result.items:
                return out
            page += 1

    async def get_first_list_item(
        self,
        filter: str,
        *,
        sort: StrList | None = None,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> Record:
        """Return the first record matching *filter*; raise a 404 error when none does."""
        result = await self.get_list(
            1,
            1,
            filter=filter,
            sort=sort,
            expand=expand,
            fields=fields,
            skip_total=True,
            query=query,
            headers=headers,
            timeout=timeout,
        )
        if not result.items:
            raise _not_found(self.client.build_url(self._base + "/records"))
        return result.items[0]

    async def get_one(
        self,
        record_id: str,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> Record:
        """Return one record by id (a 404 error when it does not exist or is hidden)."""
        if not record_id:
            raise _not_found(self.client.build_url(self._base + "/records/"))
        data = await self.client._send(
            RequestSpec(
                "GET",
                self._record_path(record_id),
                query=record_query(expand=expand, fields=fields, query=query),
                headers=headers,
                timeout=_t(timeout),
            )
        )
        return to_record(data)

    async def create(
        self,
        body: Mapping[str, Any] | None = None,
        files: FilesArg | None = None,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> Record:
        """Create a record and return it.

        :param body: the field values.
        :param files: uploads, ``{"field": content}`` or ``{"field": [content, ...]}``
            where content is bytes, a binary file or ``(filename, content[, type])``.
        """
        data = await self.client._send(
            RequestSpec(
                "POST",
                self._base + "/records",
                query=record_query(expand=expand, fields=fields, query=query),
                headers=headers,
                body=body or {},
                files=files,
                timeout=_t(timeout),
            )
        )
        return to_record(data)

    async def update(
        self,
        record_id: str,
        body: Mapping[str, Any] | None = None,
        files: FilesArg | None = None,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> Record:
        """Update a record and return it.

        Like the JS SDK, updating the signed-in record refreshes the auth store's copy.
        """
        data = await self.client._send(
            RequestSpec(
                "PATCH",
                self._record_path(record_id),
                query=record_query(expand=expand, fields=fields, query=query),
                headers=headers,
                body=body or {},
                files=files,
                timeout=_t(timeout),
            )
        )
        record = to_record(data)
        store = self.client.auth_store
        if auth_record_matches(store.record, self.collection, record_id):
            merged = dict(store.record or {})
            merged.update(record)
            store.save(store.token, merged)
        return record

    async def delete(
        self,
        record_id: str,
        *,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> bool:
        """Delete a record. Deleting the signed-in record clears the auth store."""
        await self.client._send(
            RequestSpec(
                "DELETE",
                self._record_path(record_id),
                query=query,
                headers=headers,
                timeout=_t(timeout),
            )
        )
        if auth_record_matches(self.client.auth_store.record, self.collection, record_id):
            self.client.auth_store.clear()
        return True

    # -- realtime ------------------------------------------------------------------

    async def subscribe(
        self,
        topic: str,
        callback: Callable[[RecordSubscription], Any],
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        filter: str | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
    ) -> Callable[[], Any]:
        """Call *callback* for each realtime change of this collection.

        :param topic: ``"*"`` for every record (listRule applies) or a record id
            (viewRule applies).
        :param callback: receives a :class:`RecordSubscription`.
        :returns: a function that removes this subscription (await it on the
            async client).

        The events are filtered by PocketBase with this client's auth.
        """
        if not topic:
            raise ValueError("Give a topic: '*' or a record id.")
        full = topic_with_options(
            f"{self.collection}/{topic}",
            expand=expand,
            fields=fields,
            filter=filter,
            query=query,
            headers=headers,
        )

        def deliver(topic_name: str, data: Any) -> Any:
            data = data if isinstance(data, Mapping) else {}
            return callback(
                RecordSubscription(
                    action=str(data.get("action", "")),
                    record=to_record(data.get("record")),
                    topic=topic_name,
                )
            )

        return await self.client.realtime.subscribe(full, deliver)

    async def unsubscribe(self, topic: str | None = None) -> None:
        """Remove this collection's subscriptions to *topic* (all of them when ``None``)."""
        realtime = self.client.realtime
        if topic is None:
            await realtime.unsubscribe_by_prefix(self.collection + "/")
        else:
            await realtime.unsubscribe(f"{self.collection}/{topic}")

    # -- auth ----------------------------------------------------------------------

    async def _auth(self, path: str, body: Mapping[str, Any], **kw: Any) -> RecordAuthResponse:
        data = await self.client._send(self._spec("POST", path, body=body, **kw))
        auth = RecordAuthResponse.from_json(data)
        if not auth.token:
            raise ClientResponseError(
                url=self.client.build_url(self._base + path),
                status=500,
                response={"message": "PocketBase answered an auth request without a token."},
            )
        self.client.auth_store.save(auth.token, auth.record)
        return auth

    def _spec(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> RequestSpec:
        return RequestSpec(
            method,
            self._base + path,
            query=record_query(expand=expand, fields=fields, query=query),
            headers=headers,
            body=body,
            timeout=_t(timeout),
        )

    async def list_auth_methods(
        self,
        *,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
    ) -> dict[str, Any]:
        """Return the collection's enabled auth methods (password, OAuth2 providers, OTP, MFA)."""
        data = await self.client._send(
            self._spec("GET", "/auth-methods", fields=fields, query=query, headers=headers)
        )
        return dict(data) if isinstance(data, Mapping) else {}

    async def auth_with_password(
        self,
        identity: str,
        password: str,
        *,
        mfa_id: str | None = None,
        identity_field: str | None = None,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> RecordAuthResponse:
        """Sign in with an identity (email or username) and password.

        When MFA is on, the first factor fails with a 401 whose ``exc.mfa_id``
        must be passed to the second factor (``mfa_id=``).
        """
        body: dict[str, Any] = {"identity": identity, "password": password}
        if mfa_id:
            body["mfaId"] = mfa_id
        if identity_field:
            body["identityField"] = identity_field
        return await self._auth(
            "/auth-with-password",
            body,
            expand=expand,
            fields=fields,
            query=query,
            headers=headers,
            timeout=timeout,
        )

    async def auth_refresh(
        self,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> RecordAuthResponse:
        """Confirm the current token with PocketBase and store the renewed one.

        Also the only way to learn whether a token was revoked. An impersonation
        token comes back unchanged (it is not refreshable).
        """
        return await self._auth(
            "/auth-refresh",
            {},
            expand=expand,
            fields=fields,
            query=query,
            headers=headers,
            timeout=timeout,
        )

    async def request_otp(
        self, email: str, *, query: QueryArg | None = None, headers: HeadersArg | None = None
    ) -> str:
        """Mail a one-time password to *email* and return its ``otpId``.

        PocketBase returns an id even for an unknown email, so the answer never
        reveals whether an account exists.
        """
        data = await self.client._send(
            self._spec("POST", "/request-otp", body={"email": email}, query=query, headers=headers)
        )
        otp_id = data.get("otpId") if isinstance(data, Mapping) else None
        return otp_id if isinstance(otp_id, str) else ""

    async def auth_with_otp(
        self,
        otp_id: str,
        password: str,
        mfa_id: str | None = None,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> RecordAuthResponse:
        """Sign in with the code mailed by ``request_otp`` (``password`` is that code)."""
        body: dict[str, Any] = {"otpId": otp_id, "password": password}
        if mfa_id:
            body["mfaId"] = mfa_id
        return await self._auth(
            "/auth-with-otp",
            body,
            expand=expand,
            fields=fields,
            query=query,
            headers=headers,
            timeout=timeout,
        )

    async def auth_with_oauth2_code(
        self,
        provider: str,
        code: str,
        code_verifier: str,
        redirect_url: str,
        create_data: Mapping[str, Any] | None = None,
        *,
        mfa_id: str | None = None,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> RecordAuthResponse:
        """Finish an OAuth2 sign-in: exchange the provider's *code* for a PocketBase token.

        The server-side flow: take ``authURL``, ``state`` and ``codeVerifier`` from
        ``list_auth_methods()``, send the browser to ``authURL + quote(redirect_url)``,
        check ``state`` on the way back, then call this. ``meta`` of the answer holds
        the provider's data (``isNew``, ``email``, ``avatarURL``...).
        """
        body: dict[str, Any] = {
            "provider": provider,
            "code": code,
            "codeVerifier": code_verifier,
            "redirectURL": redirect_url,
        }
        if create_data:
            body["createData"] = dict(create_data)
        if mfa_id:
            body["mfaId"] = mfa_id
        return await self._auth(
            "/auth-with-oauth2",
            body,
            expand=expand,
            fields=fields,
            query=query,
            headers=headers,
            timeout=timeout,
        )

    async def impersonate(
        self,
        record_id: str,
        duration: int = 0,
        *,
        expand: StrList | None = None,
        fields: StrList | None = None,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> AsyncPocketBase:
        """Return a new client signed in as *record_id* (superusers only).

        :param duration: token lifetime in seconds; 0 uses the collection default.

        The token is not refreshable. This client's auth store is left untouched.
        """
        other = type(self.client)(self.client.base_url, **self.client._derived_kwargs())
        data = await other._send(
            RequestSpec(
                "POST",
                f"{self._base}/impersonate/{encode_segment(record_id, 'record id')}",
                query=record_query(expand=expand, fields=fields, query=query),
                headers={"Authorization": self.client.auth_store.token, **(headers or {})},
                body={"duration": int(duration)},
                timeout=_t(timeout),
            )
        )
        auth = RecordAuthResponse.from_json(data)
        other.auth_store.save(auth.token, auth.record)
        return other

    async def request_verification(
        self, email: str, *, query: QueryArg | None = None, headers: HeadersArg | None = None
    ) -> bool:
        """Mail a verification link to *email* (silently does nothing for unknown emails)."""
        await self.client._send(
            self._spec(
                "POST", "/request-verification", body={"email": email}, query=query, headers=headers
            )
        )
        return True

    async def confirm_verification(
        self, token: str, *, query: QueryArg | None = None, headers: HeadersArg | None = None
    ) -> bool:
        """Confirm an email with the *token* from the verification mail.

        Marks the signed-in record verified when it is the one confirmed.
        """
        await self.client._send(
            self._spec(
                "POST", "/confirm-verification", body={"token": token}, query=query, headers=headers
            )
        )
        claims = decode_claims(token)
        store = self.client.auth_store
        if claims and auth_record_matches(store.record, claims.collection_id, claims.record_id):
            store.save(store.token, {**(store.record or {}), "verified": True})
        return True

    async def request_password_reset(
        self, email: str, *, query: QueryArg | None = None, headers: HeadersArg | None = None
    ) -> bool:
        """Mail a password-reset link to *email* (silently does nothing for unknown emails)."""
        await self.client._send(
            self._spec(
                "POST",
                "/request-password-reset",
                body={"email": email},
                query=query,
                headers=headers,
            )
        )
        return True

    async def confirm_password_reset(
        self,
        token: str,
        password: str,
        password_confirm: str,
        *,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
    ) -> bool:
        """Set a new password with the *token* from the reset mail (old tokens stop working)."""
        await self.client._send(
            self._spec(
                "POST",
                "/confirm-password-reset",
                body={"token": token, "password": password, "passwordConfirm": password_confirm},
                query=query,
                headers=headers,
            )
        )
        return True

    async def request_email_change(
        self, new_email: str, *, query: QueryArg | None = None, headers: HeadersArg | None = None
    ) -> bool:
        """Mail a confirmation link to *new_email* (needs a signed-in client)."""
        await self.client._send(
            self._spec(
                "POST",
                "/request-email-change",
                body={"newEmail": new_email},
                query=query,
                headers=headers,
            )
        )
        return True

    async def confirm_email_change(
        self,
        token: str,
        password: str,
        *,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
    ) -> bool:
        """Confirm an email change with the mailed *token* and the account *password*.

        Old tokens stop working, so a signed-in store for that record is cleared.
        """
        await self.client._send(
            self._spec(
                "POST",
                "/confirm-email-change",
                body={"token": token, "password": password},
                query=query,
                headers=headers,
            )
        )
        claims = decode_claims(token)
        store = self.client.auth_store
        if claims and auth_record_matches(store.record, claims.collection_id, claims.record_id):
            store.clear()
        return True

    def _record_path(self, record_id: str) -> str:
        return f"{self._base}/records/{encode_segment(record_id, 'record id')}"


class AsyncFileService:
    """File URLs and file tokens: ``pb.files``."""

    def __init__(self, client: AsyncPocketBase) -> None:
        self.client = client

    def get_url(
        self,
        record: Mapping[str, Any],
        filename: str,
        *,
        thumb: str | None = None,
        token: str | None = None,
        download: bool = False,
        query: QueryArg | None = None,
    ) -> str:
        """Return the URL of a record's file (``""`` when record or filename is missing).

        :param thumb: a thumb size such as ``"100x100"`` (images only).
        :param token: a *file* token from :meth:`get_token`, needed for protected fields.
        :param download: serve as an attachment.
        """
        return file_url(
            self.client.base_url,
            record,
            filename,
            thumb=thumb,
            token=token,
            download=download,
            query=query,
        )

    async def get_token(
        self, *, query: QueryArg | None = None, headers: HeadersArg | None = None
    ) -> str:
        """Return a short-lived (3 minutes) file token for protected files; needs auth."""
        data = await self.client._send(
            RequestSpec("POST", "/api/files/token", query=query, headers=headers)
        )
        token = data.get("token") if isinstance(data, Mapping) else None
        return token if isinstance(token, str) else ""


class AsyncHealthService:
    """PocketBase's health endpoint: ``pb.health``."""

    def __init__(self, client: AsyncPocketBase) -> None:
        self.client = client

    async def check(
        self,
        *,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> dict[str, Any]:
        """Return ``{"code": 200, "message": ..., "data": {...}}`` when PocketBase is up."""
        data = await self.client._send(
            RequestSpec("GET", "/api/health", query=query, headers=headers, timeout=_t(timeout))
        )
        return dict(data) if isinstance(data, Mapping) else {}


class AsyncBatch:
    """A transactional batch of record writes: ``pb.create_batch()``.

    Queue operations per collection, then ``send()`` them as one all-or-nothing
    request. PocketBase's batch API is off by default (Settings > Application).

    Example::

        batch = pb.create_batch()
        batch.collection("messages").create({"text": "hi", "user": uid})
        batch.collection("messages").delete(old_id)
        results = await batch.send()  # [{"status": 200, "body": {...}}, {"status": 204, ...}]
    """

    def __init__(self, client: AsyncPocketBase) -> None:
        self.client = client
        self._queue = BatchQueue()

    def collection(self, name: str) -> SubBatch:
        """Return a queue for record operations on collection *name*."""
        return SubBatch(self._queue, name)

    async def send(
        self,
        *,
        query: QueryArg | None = None,
        headers: HeadersArg | None = None,
        timeout: TimeoutArg | None = None,
    ) -> list[dict[str, Any]]:
        """Send the queued operations; return one ``{"status", "body"}`` per operation."""
        spec = self._queue.spec(query=query, headers=headers)
        spec.timeout = _t(timeout)
        data = await self.client._send(spec)
        return [dict(item) for item in data] if isinstance(data, list) else []


def _t(timeout: TimeoutArg | None) -> TimeoutArg | _Unset:
    return UNSET if timeout is None else timeout


def _not_found(url: str) -> ClientResponseError:
    return ClientResponseError(
        url=url,
        status=404,
        response={"status": 404, "message": "The requested resource wasn't found.", "data": {}},
    )

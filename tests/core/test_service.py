"""ServiceClient against a real PocketBase: the superuser token, its cache and renewal,
thread and task safety, impersonation, pre-issued tokens and configuration.

Sign-ins are counted by a recording transport that forwards to the real server;
the thread-safety test also checks PocketBase's own request log.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest

from pb_ssr import ClientResponseError, PocketBase, ServiceClient, Settings, decode_claims
from pb_ssr._tokens import SUPERUSERS_COLLECTION_ID
from pb_ssr.testing import PocketBaseServer, TestUser

from .test_session import wait_for_next_token_second

SIGN_IN = "/api/collections/_superusers/auth-with-password"
#: Lifetime of a ``_superusers`` auth token on PocketBase 0.40.6.
SUPERUSER_TOKEN_LIFETIME = 86_400


class Recorder:
    """Paths of the requests a client sent, through either transport below."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def add(self, request: httpx.Request) -> None:
        with self._lock:
            self.paths.append(request.url.path)
        assert "X-Forwarded-For" not in request.headers

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for p in self.paths if p == path)

    def impersonations(self) -> int:
        with self._lock:
            return sum(1 for p in self.paths if "/impersonate/" in p)


class RecordingTransport(httpx.BaseTransport):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.recorder.add(request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.recorder.add(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def http(recorder: Recorder) -> Iterator[httpx.Client]:
    client = httpx.Client(transport=RecordingTransport(recorder))
    yield client
    client.close()


@pytest.fixture
def credentials(pocketbase_server: PocketBaseServer) -> dict[str, str]:
    return {
        "email": pocketbase_server.superuser_email,
        "password": pocketbase_server.superuser_password,
    }


@pytest.fixture
def service(pocketbase_url: str, credentials: dict[str, str], http: httpx.Client) -> ServiceClient:
    return ServiceClient(pocketbase_url, http_client=http, **credentials)


@pytest.fixture(autouse=True)
def _no_superuser_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PB_SUPERUSER_EMAIL", "PB_SUPERUSER_PASSWORD", "PB_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def superuser_impersonation(pb_superuser: PocketBase, duration: int = 600) -> str:
    record = pb_superuser.auth_store.record
    assert record is not None
    other = pb_superuser.collection("_superusers").impersonate(record.id, duration)
    return other.auth_store.token


# -- the superuser token --------------------------------------------------------------


def test_client_is_a_superuser(service: ServiceClient, recorder: Recorder) -> None:
    pb = service.client()
    assert pb.auth_store.is_superuser
    assert pb.auth_store.record is not None
    assert pb.auth_store.record.collection_name == "_superusers"
    # Superuser-only data: the superusers themselves.
    admins = pb.collection("_superusers").get_full_list()
    assert [a["email"] for a in admins] == [service._email]
    assert recorder.count(SIGN_IN) == 1


def test_the_token_is_cached(service: ServiceClient, recorder: Recorder) -> None:
    first = service.token()
    claims = decode_claims(first)
    assert claims is not None and claims.is_superuser
    for _ in range(5):
        assert service.token() == first
        service.client().collection("users").get_list(1, 1)
    assert service.collection("users").get_list(1, 1).page == 1
    assert recorder.count(SIGN_IN) == 1


def test_the_token_is_renewed_when_due(
    pocketbase_url: str, credentials: dict[str, str], http: httpx.Client, recorder: Recorder
) -> None:
    # Superuser tokens last a day: renewing within more than that renews every time.
    service = ServiceClient(
        pocketbase_url, http_client=http, renew_within=SUPERUSER_TOKEN_LIFETIME + 60, **credentials
    )
    first = service.token()
    assert recorder.count(SIGN_IN) == 1
    wait_for_next_token_second(first, SUPERUSER_TOKEN_LIFETIME)
    second = service.token()
    assert recorder.count(SIGN_IN) == 2
    assert second != first
    first_claims, second_claims = decode_claims(first), decode_claims(second)
    assert first_claims is not None and second_claims is not None
    assert first_claims.exp is not None and second_claims.exp is not None
    assert second_claims.exp > first_claims.exp
    assert service.client().auth_store.token != first
    assert recorder.count(SIGN_IN) == 3


def test_invalidate_signs_in_again(service: ServiceClient, recorder: Recorder) -> None:
    service.token()
    service.invalidate()
    service.token()
    assert recorder.count(SIGN_IN) == 2


def test_one_sign_in_for_many_threads(
    pocketbase_server: PocketBaseServer, credentials: dict[str, str], recorder: Recorder
) -> None:
    user_agent = f"pb-ssr-service-{secrets.token_hex(4)}"
    http = httpx.Client(transport=RecordingTransport(recorder), headers={"User-Agent": user_agent})
    service = ServiceClient(pocketbase_server.url, http_client=http, **credentials)
    start = threading.Barrier(32)

    def ask() -> str:
        start.wait(10)
        return service.token()

    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            tokens = list(pool.map(lambda _: ask(), range(32)))
        marker = secrets.token_hex(6)
        http.get(f"{pocketbase_server.url}/api/health", params={"marker": marker})
    finally:
        http.close()

    assert len(set(tokens)) == 1 and tokens[0]
    assert recorder.count(SIGN_IN) == 1
    pocketbase_server.wait_for_logs(f"data.url ~ '{marker}'", count=1)
    logs = pocketbase_server.request_logs(
        f"data.userAgent = '{user_agent}' && data.url ~ '_superusers/auth-with-password'"
    )
    assert [log["data"]["status"] for log in logs] == [200]
    assert logs[0]["data"]["userIP"] == "127.0.0.1"


@pytest.mark.anyio
async def test_one_sign_in_for_many_tasks(
    pocketbase_url: str, credentials: dict[str, str], recorder: Recorder
) -> None:
    ahttp = httpx.AsyncClient(transport=AsyncRecordingTransport(recorder))
    service = ServiceClient(pocketbase_url, async_http_client=ahttp, **credentials)
    try:
        tokens = await asyncio.gather(*(service.atoken() for _ in range(50)))
        pb = await service.aclient()
        assert pb.auth_store.is_superuser and pb.auth_store.token == tokens[0]
        page = await pb.collection("users").get_list(1, 1)
        assert page.page == 1
    finally:
        await ahttp.aclose()
    assert len(set(tokens)) == 1 and tokens[0]
    assert recorder.count(SIGN_IN) == 1


# -- impersonation -------------------------------------------------------------------


def test_as_user_sees_exactly_that_users_data(
    service: ServiceClient, recorder: Recorder, users_with_private_notes: list[TestUser]
) -> None:
    alice, bob = users_with_private_notes[:2]
    as_alice = service.as_user(alice.id)
    assert as_alice.auth_store.record is not None and as_alice.auth_store.record.id == alice.id
    assert not as_alice.auth_store.is_superuser
    assert as_alice.headers == {}
    notes = as_alice.collection("private_notes").get_full_list()
    assert [n["title"] for n in notes] == [f"note of {alice.id}"]
    as_bob = service.as_user(bob.id)
    notes = as_bob.collection("private_notes").get_full_list()
    assert [n["title"] for n in notes] == [f"note of {bob.id}"]
    # The superuser itself sees them all.
    assert len(service.collection("private_notes").get_full_list()) >= len(users_with_private_notes)
    assert recorder.impersonations() == 2

    again = service.as_user(alice.id)
    assert again.auth_store.token == as_alice.auth_store.token
    assert again is not as_alice and again.auth_store is not as_alice.auth_store
    assert recorder.impersonations() == 2
    claims = decode_claims(again.auth_store.token)
    assert claims is not None and not claims.refreshable and claims.record_id == alice.id

    # Another duration is another token.
    service.as_user(alice.id, duration=120)
    assert recorder.impersonations() == 3


@pytest.mark.anyio
async def test_aas_user(
    pocketbase_url: str,
    credentials: dict[str, str],
    recorder: Recorder,
    users_with_private_notes: list[TestUser],
) -> None:
    alice = users_with_private_notes[2]
    ahttp = httpx.AsyncClient(transport=AsyncRecordingTransport(recorder))
    service = ServiceClient(pocketbase_url, async_http_client=ahttp, **credentials)
    try:
        as_alice = await service.aas_user(alice.id)
        notes = await as_alice.collection("private_notes").get_full_list()
        again = await service.aas_user(alice.id)
    finally:
        await ahttp.aclose()
    assert [n["title"] for n in notes] == [f"note of {alice.id}"]
    assert again.auth_store.token == as_alice.auth_store.token
    assert recorder.impersonations() == 1
    assert recorder.count(SIGN_IN) == 1


# -- pre-issued tokens -----------------------------------------------------------------


def test_a_pre_issued_token_is_used_and_never_renewed(
    pocketbase_url: str, pb_superuser: PocketBase, http: httpx.Client, recorder: Recorder
) -> None:
    token = superuser_impersonation(pb_superuser)
    # Even "renew whenever less than a year is left" must not touch it: it cannot be renewed.
    service = ServiceClient(pocketbase_url, token=token, renew_within=365 * 86400, http_client=http)
    assert service.token() == token
    pb = service.client()
    assert pb.auth_store.token == token and pb.auth_store.is_superuser
    assert pb.collection("_superusers").get_full_list()
    assert service.token() == token
    assert recorder.count(SIGN_IN) == 0
    assert token not in repr(service)


@pytest.mark.anyio
async def test_a_pre_issued_token_async(pocketbase_url: str, pb_superuser: PocketBase) -> None:
    token = await asyncio.to_thread(superuser_impersonation, pb_superuser)
    service = ServiceClient(pocketbase_url, token=token)
    assert await service.atoken() == token
    pb = await service.aclient()
    assert await pb.collection("_superusers").get_full_list()


def test_an_expired_pre_issued_token_is_a_clear_error(
    pocketbase_url: str, http: httpx.Client, recorder: Recorder
) -> None:
    claims = {
        "type": "auth",
        "collectionId": SUPERUSERS_COLLECTION_ID,
        "id": "expiredsuperus1",
        "refreshable": False,
        "exp": int(time.time()) - 60,
    }
    token = jwt.encode(claims, "not-pocketbase's-key-" + "x" * 32, algorithm="HS256")
    service = ServiceClient(pocketbase_url, token=token, http_client=http)
    with pytest.raises(ClientResponseError) as info:
        service.token()
    assert info.value.status == 401
    assert "expired" in info.value.message
    with pytest.raises(ClientResponseError):
        service.client()
    assert token not in str(info.value) and token not in repr(info.value)
    assert recorder.paths == []


def test_a_pre_issued_token_that_is_no_jwt_is_a_clear_error(
    pocketbase_url: str, http: httpx.Client, recorder: Recorder
) -> None:
    # A typo'd or truncated SERVICE_TOKEN must fail with an error that says so,
    # not an internal AssertionError.
    with pytest.raises((ValueError, ClientResponseError)) as info:  # noqa: PT012
        service = ServiceClient(pocketbase_url, token="not-a-token", http_client=http)
        service.token()
    assert "token" in str(info.value).lower()
    assert recorder.count(SIGN_IN) == 0


# -- configuration -------------------------------------------------------------------


def test_missing_credentials_name_the_settings(pocketbase_url: str) -> None:
    with pytest.raises(ValueError, match="PB_SUPERUSER_EMAIL"):
        ServiceClient(pocketbase_url)
    with pytest.raises(ValueError, match="PB_SUPERUSER_EMAIL"):
        ServiceClient(pocketbase_url, email="admin@example.test")
    with pytest.raises(ValueError, match="PB_SUPERUSER_EMAIL"):
        ServiceClient.from_settings(Settings.from_mapping({"URL": pocketbase_url}))


def test_from_settings_reads_the_settings_keys(
    pocketbase_url: str,
    credentials: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    http: httpx.Client,
    recorder: Recorder,
) -> None:
    # The explicit keys win over the environment.
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", "wrong@example.test")
    monkeypatch.setenv("PB_SUPERUSER_PASSWORD", "wrong-password")
    settings = Settings.from_mapping(
        {
            "URL": pocketbase_url,
            "SUPERUSER_EMAIL": credentials["email"],
            "SUPERUSER_PASSWORD": credentials["password"],
        }
    )
    service = ServiceClient.from_settings(settings, http_client=http)
    assert service.client().auth_store.is_superuser
    assert recorder.count(SIGN_IN) == 1


def test_from_settings_falls_back_to_the_environment(
    pocketbase_url: str, credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", credentials["email"])
    monkeypatch.setenv("PB_SUPERUSER_PASSWORD", credentials["password"])
    email = credentials["email"]
    settings = Settings.from_mapping({"URL": pocketbase_url})
    assert email == settings.SUPERUSER_EMAIL
    service = ServiceClient.from_settings(settings, renew_within=60)
    assert service.renew_within == 60
    assert service.client().auth_store.is_superuser
    assert credentials["password"] not in repr(settings)


def test_from_settings_with_a_service_token(
    pocketbase_url: str, pb_superuser: PocketBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = superuser_impersonation(pb_superuser)
    monkeypatch.setenv("PB_SERVICE_TOKEN", token)
    settings = Settings.from_mapping({"URL": pocketbase_url})
    service = ServiceClient.from_settings(settings)
    assert service.token() == token
    assert token not in repr(settings) and token not in repr(service)


def test_repr_shows_no_secret(service: ServiceClient, credentials: dict[str, str]) -> None:
    token = service.token()
    text = repr(service)
    assert credentials["password"] not in text and token not in text
    assert credentials["email"] in text


def test_service_calls_carry_no_forwarded_address(
    service: ServiceClient, users_with_private_notes: list[TestUser]
) -> None:
    # The Recorder also asserts it on every request the service sends.
    assert service.client().headers == {}
    assert service.as_user(users_with_private_notes[3].id).headers == {}
    names = {k.lower() for k in service.client()._request_headers(None)}
    assert not names & {"x-forwarded-for", "x-real-ip", "forwarded"}


def test_a_service_per_process_is_cheap(service: ServiceClient, recorder: Recorder) -> None:
    # Many units of work: one sign-in, and no client holds another's auth state.
    clients: list[PocketBase] = [service.client() for _ in range(20)]
    assert len({id(c.auth_store) for c in clients}) == 20
    clients[0].auth_store.clear()
    assert service.client().auth_store.token == service.token()
    assert recorder.count(SIGN_IN) == 1

"""Run the real PocketBase binary for tests.

:class:`PocketBaseServer` starts ``pocketbase serve`` on a free loopback port in a
private temporary directory, creates a superuser, and offers a few superuser-only
helpers (settings, collections, users, request logs). It uses only the standard
library, ``httpx`` and ``pyjwt``, never the pb-ssr client, so a broken client cannot
break the fixture that tests it.

Every server gets its own root directory holding ``pb_data/`` and
``pb_migrations/``. The user's migrations are *copied* in and the server runs with
``--automigrate=false``: with automigrate on, PocketBase writes a migration file for
every collection change made through the API, which would leak collections between
tests or into the user's own project.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx
import jwt

__all__ = [
    "BINARY_ENV_VAR",
    "PocketBaseServer",
    "ServerAPIError",
    "TestUser",
    "binary_version",
    "find_binary",
]

#: Environment variable naming the PocketBase binary to run.
BINARY_ENV_VAR = "PB_SSR_POCKETBASE_BIN"

_INSTALL_HINT = 'pip install "pb-ssr[server]"'
_LOG_NAME = "pocketbase.log"


class ServerAPIError(RuntimeError):
    """A superuser request made by :class:`PocketBaseServer` got an error response.

    :param method: The HTTP method of the failed request.
    :param path: The request path, e.g. ``/api/collections/users/records``.
    :param status: The HTTP status code.
    :param body: The decoded JSON body, or the raw text when it was not JSON.
    """

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        #: The HTTP method of the failed request.
        self.method = method
        #: The request path.
        self.path = path
        #: The HTTP status code of the response.
        self.status = status
        #: The decoded JSON body, or the raw text when it was not JSON.
        self.body = body
        super().__init__(f"{method} {path} failed with HTTP {status}: {_shorten(repr(body))}")


@dataclass(frozen=True)
class TestUser:
    """An auth record created by :meth:`PocketBaseServer.create_user`, already logged in.

    The password and token are left out of ``repr()`` so that they do not end up in
    test reports.

    :param record: The record as returned by ``auth-with-password``.
    :param email: The email the user logs in with.
    :param password: The user's password.
    :param token: An auth token obtained with ``auth-with-password``.
    """

    # Tells pytest not to collect this class when a test module imports it.
    __test__: ClassVar[bool] = False

    record: dict[str, Any]
    email: str
    password: str = field(repr=False)
    token: str = field(repr=False)

    @property
    def id(self) -> str:
        """The record id."""
        return str(self.record["id"])

    @property
    def collection(self) -> str:
        """The name of the auth collection the record belongs to."""
        return str(self.record["collectionName"])


class PocketBaseServer:
    """A real PocketBase server for tests, on a free loopback port.

    Use it as a context manager, or call :meth:`start` and :meth:`close`::

        with PocketBaseServer(migrations_dir="pb_migrations") as server:
            user = server.create_user(name="Ada")
            httpx.get(f"{server.url}/api/health")

    All arguments are keyword-only.

    :param migrations_dir: A directory of PocketBase migrations (JS files). Its files
        are copied into the server's own ``pb_migrations/``; the directory itself is
        never written to.
    :param superuser_email: Email of the superuser created before the server starts.
    :param superuser_password: Password of that superuser; a random one by default.
    :param binary: Path or name of the ``pocketbase`` binary. By default the
        ``PB_SSR_POCKETBASE_BIN`` environment variable, then the binary installed by
        ``pocketbase-bin`` next to this Python, then ``pocketbase`` on ``PATH``.
    :param host: The loopback address to listen on.
    :param port: The port to listen on; a free one by default.
    :param root: A directory to hold ``pb_data/`` and ``pb_migrations/``. By default
        a temporary directory, deleted by :meth:`close`.
    :param env: Extra environment variables for the PocketBase process.
    :raises ValueError: if ``host`` is not a loopback address or ``migrations_dir``
        is not a directory.
    :raises RuntimeError: if no PocketBase binary can be found.
    """

    #: Seconds to wait for ``/api/health`` to answer after starting the process.
    start_timeout: float = 20.0
    #: Seconds to wait for the process to exit after SIGTERM before killing it.
    stop_timeout: float = 10.0
    #: Seconds before its expiry at which the cached superuser token is renewed.
    token_renew_margin: float = 300.0
    #: How many times to retry on a port taken between choosing it and binding it.
    port_attempts: int = 3

    def __init__(
        self,
        *,
        migrations_dir: str | os.PathLike[str] | None = None,
        superuser_email: str = "admin@example.test",
        superuser_password: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        root: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(
                f"host {host!r} is not a loopback address; the test server only listens "
                "on loopback (127.0.0.1, ::1 or localhost)."
            )
        if migrations_dir is not None and not Path(migrations_dir).is_dir():
            raise ValueError(f"migrations_dir {os.fspath(migrations_dir)!r} is not a directory.")
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port {port!r} is not a valid TCP port.")
        self._binary = find_binary(binary)
        self._migrations_source = None if migrations_dir is None else Path(migrations_dir)
        self._superuser_email = superuser_email
        self._superuser_password = (
            secrets.token_urlsafe(18) if superuser_password is None else superuser_password
        )
        self._host = host
        self._requested_port = port
        self._port = port
        self._requested_root = None if root is None else Path(root)
        self._root: Path | None = self._requested_root
        self._env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._http: httpx.Client | None = None
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._paused = False

    def __repr__(self) -> str:
        state = "stopped" if not self.is_running else "paused" if self._paused else "running"
        where = self.url if self._port is not None else "no port yet"
        return f"<PocketBaseServer {where} {state}>"

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_running(self) -> bool:
        """Whether the PocketBase process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def port(self) -> int:
        """The port the server listens on.

        :raises RuntimeError: if no port was given and the server was never started.
        """
        if self._port is None:
            raise RuntimeError("The server has no port yet; call start() first.")
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:53127``."""
        return f"http://{_host_port(self._host, self.port)}"

    @property
    def root(self) -> Path:
        """The directory holding ``pb_data/``, ``pb_migrations/`` and the log file.

        :raises RuntimeError: if no root was given and the server was never started.
        """
        if self._root is None:
            raise RuntimeError("The server has no root directory yet; call start() first.")
        return self._root

    @property
    def data_dir(self) -> Path:
        """The PocketBase data directory (``--dir``)."""
        return self.root / "pb_data"

    @property
    def log_path(self) -> Path:
        """The file that receives the server's stdout and stderr."""
        return self.root / _LOG_NAME

    @property
    def superuser_email(self) -> str:
        """Email of the superuser created at start."""
        return self._superuser_email

    @property
    def superuser_password(self) -> str:
        """Password of the superuser created at start."""
        return self._superuser_password

    @property
    def binary(self) -> str:
        """The resolved path of the PocketBase binary."""
        return self._binary

    def start(self) -> None:
        """Prepare the root directory, create the superuser and start serving.

        Does nothing if the server is already running. Blocks until
        ``/api/health`` answers 200.

        :raises RuntimeError: if the superuser cannot be created, or the server exits
            or does not answer within :attr:`start_timeout` seconds. The message ends
            with the tail of the server log.
        """
        if self.is_running:
            return
        self._prepare_root()
        self._upsert_superuser()
        # `superuser upsert` rotates the superuser's tokenKey: a cached token is dead now.
        self._token = None
        if self._port is not None:
            # Without this check, another server already on the port (a developer's
            # own PocketBase, say) would answer the health check in our place.
            if not _port_is_free(self._host, self._port):
                raise RuntimeError(
                    f"Port {self._port} on {self._host} is already in use; pass another "
                    "port, or none to use a free one."
                )
            self._serve()
            return
        # The free port is found by binding and releasing it, so another process can
        # take it before PocketBase binds it: try again with a new one.
        error: _PortTaken | None = None
        for _ in range(self.port_attempts):
            self._port = _free_port(self._host)
            try:
                self._serve()
            except _PortTaken as exc:
                self._port = None
                error = exc
            else:
                return
        raise RuntimeError(f"PocketBase could not bind a free port on {self._host}.") from error

    def stop(self) -> None:
        """Stop the server process; the data directory is kept.

        Sends SIGTERM, waits :attr:`stop_timeout` seconds, then kills. Safe to call
        more than once.
        """
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._paused:
            self.resume()  # a stopped process would not act on SIGTERM until thawed
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process, self.stop_timeout)

    def restart(self) -> None:
        """Stop and start again on the same port with the same data directory.

        Use it to simulate "PocketBase restarted": records, collections, settings and
        tokens survive.
        """
        self.stop()
        self.start()

    @property
    def is_paused(self) -> bool:
        """Whether :meth:`pause` froze the process (and :meth:`resume` has not thawed it)."""
        return self._paused

    def pause(self) -> None:
        """Freeze the process with ``SIGSTOP``: a hung PocketBase.

        The kernel still accepts connections on its port and the requests sit
        there unanswered, as with a stuck disk, a long SQLite lock or a paused VM.
        :meth:`resume` (or :meth:`stop`) thaws it. POSIX only.

        :raises RuntimeError: if the server is not running.
        """
        process = self._process
        if process is None or process.poll() is not None:
            raise RuntimeError("The PocketBase server is not running; start() it first.")
        os.kill(process.pid, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Thaw a :meth:`pause`-d process (``SIGCONT``); it answers what was waiting."""
        process = self._process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
        self._paused = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Keep the server frozen inside a ``with`` block::

        with server.paused():
            ...  # every call to PocketBase hangs here
        """
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def close(self) -> None:
        """Stop the server and delete its root directory if it was a temporary one.

        Safe to call more than once. A later :meth:`start` begins from scratch.
        """
        self.stop()
        self._token = None
        self._token_renew_at = 0.0
        if self._requested_root is None and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            self._port = self._requested_port

    def log_tail(self, n: int = 40) -> str:
        """Return the last ``n`` lines of the server log.

        :param n: How many lines to return.
        """
        if self._root is None:
            return ""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines[-n:])

    def superuser_token(self) -> str:
        """Return a superuser auth token, logging in when needed.

        The token is cached until :attr:`token_renew_margin` seconds before it expires.

        :raises ServerAPIError: if the login fails.
        """
        if self._token is not None and time.time() < self._token_renew_at:
            return self._token
        body = self._send(
            "POST",
            "/api/collections/_superusers/auth-with-password",
            json={"identity": self._superuser_email, "password": self._superuser_password},
        )
        token = str(body["token"])
        claims = jwt.decode(token, options={"verify_signature": False})
        exp = claims.get("exp")
        self._token = token
        self._token_renew_at = (
            float(exp) - self.token_renew_margin if isinstance(exp, int | float) else 0.0
        )
        return token

    def api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send a request authenticated as the superuser and return the decoded JSON.

        ::

            server.api("GET", "/api/collections/users/records", params={"perPage": 5})

        :param method: The HTTP method.
        :param path: The path, starting with ``/api/``.
        :param json: A JSON body to send.
        :param params: Query parameters.
        :returns: The decoded JSON body, or ``None`` for an empty response (204).
        :raises ServerAPIError: on a response with status 400 or above.
        :raises RuntimeError: if the server is not running.
        """
        try:
            return self._send(method, path, json=json, params=params, auth=True)
        except ServerAPIError as exc:
            if exc.status != 401 or self._token is None:
                raise
        # A test may have invalidated the cached token (for example by changing the
        # collection's token secret): log in again once.
        self._token = None
        return self._send(method, path, json=json, params=params, auth=True)

    def update_settings(self, patch: Mapping[str, Any]) -> dict[str, Any]:
        """Change the server settings and return all of them.

        ::

            server.update_settings({"batch": {"enabled": True}})

        :param patch: The settings to change, e.g. ``{"rateLimits": {"enabled": True}}``.
        """
        result: dict[str, Any] = self.api("PATCH", "/api/settings", json=dict(patch))
        return result

    def import_collections(
        self, collections: Sequence[Mapping[str, Any]], *, delete_missing: bool = False
    ) -> None:
        """Create or update collections in one go (``PUT /api/collections/import``).

        :param collections: Collection definitions, as exported by the dashboard.
        :param delete_missing: Also delete the collections that are not listed. This
            includes the default ``users`` collection.
        """
        body = {"collections": [dict(c) for c in collections], "deleteMissing": delete_missing}
        self.api("PUT", "/api/collections/import", json=body)

    def create_collection(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create a collection and return it.

        ::

            server.create_collection({"name": "notes", "type": "base",
                                      "fields": [{"name": "body", "type": "text"}]})

        :param spec: The collection definition.
        """
        result: dict[str, Any] = self.api("POST", "/api/collections", json=dict(spec))
        return result

    def create_user(
        self,
        *,
        email: str | None = None,
        password: str | None = None,
        collection: str = "users",
        **fields: Any,
    ) -> TestUser:
        """Create an auth record and log it in with its password.

        The record is created by the superuser, so ``verified`` can be set; it
        defaults to ``True``.

        ::

            user = server.create_user(name="Ada")
            httpx.post(f"{server.url}/api/collections/users/auth-refresh",
                       headers={"Authorization": user.token})

        :param email: The email; a random ``user-…@example.test`` by default.
        :param password: The password; a random one by default.
        :param collection: The auth collection to create the record in.
        :param fields: Other record fields, e.g. ``name="Ada"`` or ``verified=False``.
        :raises ServerAPIError: if the record cannot be created or cannot log in
            (for example when the collection requires MFA).
        """
        email = f"user-{secrets.token_hex(4)}@example.test" if email is None else email
        password = secrets.token_urlsafe(18) if password is None else password
        fields.setdefault("verified", True)
        body = {**fields, "email": email, "password": password, "passwordConfirm": password}
        self.api("POST", f"/api/collections/{collection}/records", json=body)
        login = self._send(
            "POST",
            f"/api/collections/{collection}/auth-with-password",
            json={"identity": email, "password": password},
        )
        return TestUser(
            record=dict(login["record"]), email=email, password=password, token=login["token"]
        )

    def request_logs(self, filter: str | None = None) -> list[dict[str, Any]]:
        """Return the request logs, newest first (at most 1000).

        PocketBase writes logs in batches, a few seconds after the request; use
        :meth:`wait_for_logs` to wait for them.

        :param filter: A PocketBase filter on the log, e.g.
            ``"data.url ~ 'auth-refresh' && data.status = 200"``.
        """
        expr = "data.type = 'request'"
        if filter:
            expr = f"{expr} && ({filter})"
        params = {"filter": expr, "sort": "-created", "perPage": 1000, "skipTotal": 1}
        page = self.api("GET", "/api/logs", params=params)
        return list(page["items"])

    def wait_for_logs(
        self, filter: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Poll :meth:`request_logs` until at least ``count`` logs match.

        ::

            logs = server.wait_for_logs("data.url ~ 'auth-refresh'", count=2)

        :param filter: A PocketBase filter on the log.
        :param count: How many matching logs to wait for.
        :param timeout: Seconds to wait.
        :returns: The matching logs, newest first.
        :raises TimeoutError: if fewer than ``count`` logs match after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            logs = self.request_logs(filter)
            if len(logs) >= count:
                return logs
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Found {len(logs)} request log(s) matching {filter!r} after "
                    f"{timeout} s, expected at least {count}."
                )
            time.sleep(0.25)

    @property
    def _migrations_path(self) -> Path:
        return self.root / "pb_migrations"

    def _prepare_root(self) -> None:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="pb-ssr-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._migrations_path.mkdir(parents=True, exist_ok=True)
        source = self._migrations_source
        if source is not None and source.resolve() != self._migrations_path.resolve():
            shutil.copytree(source, self._migrations_path, dirs_exist_ok=True)

    def _common_args(self) -> list[str]:
        # Every directory is passed explicitly: PocketBase's defaults are relative to
        # the data dir or to the binary, and must not pick up a stray pb_public/ or
        # pb_hooks/ from the user's project or the virtualenv.
        return [
            f"--dir={self.data_dir}",
            f"--migrationsDir={self._migrations_path}",
            f"--hooksDir={self.root / 'pb_hooks'}",
            f"--publicDir={self.root / 'pb_public'}",
            "--automigrate=false",
        ]

    def _process_env(self) -> dict[str, str]:
        return {**os.environ, **self._env}

    def _upsert_superuser(self) -> None:
        # "--" ends the flags: a random password may start with "-".
        args = [self._binary, "superuser", "upsert", *self._common_args(), "--"]
        args += [self._superuser_email, self._superuser_password]
        result = subprocess.run(
            args,
            cwd=self.root,
            env=self._process_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=self.start_timeout,
            check=False,
        )
        output = (result.stdout + result.stderr).decode(errors="replace")
        # Older PocketBase releases (0.23.12 and 0.26.6 among them) print "Error: ..."
        # and yet exit 0 when the upsert fails.
        if result.returncode != 0 or output.lstrip().startswith("Error:"):
            raise RuntimeError(
                f"`pocketbase superuser upsert` failed with exit code {result.returncode} "
                f"for {self._superuser_email!r}:\n{self._redact(_last_lines(output, 20))}"
            )

    def _serve(self) -> None:
        args = [self._binary, "serve", f"--http={_host_port(self._host, self.port)}"]
        args += self._common_args()
        with self.log_path.open("ab") as log:
            log.write(f"--- pb-ssr: starting {self.url}\n".encode())
            log.flush()
            process = subprocess.Popen(
                args,
                cwd=self.root,
                env=self._process_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._process = process
        # Kills the process at interpreter exit if close() is never called.
        self._finalizer = weakref.finalize(self, _terminate, process, self.stop_timeout)
        self._wait_healthy(process)

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                if process.poll() is not None:
                    self.stop()
                    error = (
                        _PortTaken if "address already in use" in self.log_tail(5) else RuntimeError
                    )
                    raise error(
                        f"PocketBase exited with code {process.returncode} while starting "
                        f"on {self.url}.\n" + self._log_excerpt()
                    )
                try:
                    if client.get(f"{self.url}/api/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() >= deadline:
                    self.stop()
                    raise RuntimeError(
                        f"PocketBase did not answer {self.url}/api/health within "
                        f"{self.start_timeout} s.\n" + self._log_excerpt()
                    )
                time.sleep(0.05)

    def _log_excerpt(self) -> str:
        return f"Last lines of {self.log_path}:\n{self._redact(self.log_tail())}"

    def _redact(self, text: str) -> str:
        for secret in (self._superuser_password, self._token):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _client(self) -> httpx.Client:
        if not self.is_running:
            raise RuntimeError(f"{self!r} is not running; call start() first.")
        if self._http is None:
            # trust_env=False: a proxy from HTTP_PROXY must not sit between the tests
            # and a loopback server.
            self._http = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
        return self._http

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = False,
    ) -> Any:
        client = self._client()
        headers = {"Authorization": self.superuser_token()} if auth else {}
        response = client.request(method, path, json=json, params=params, headers=headers)
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            raise ServerAPIError(method, path, response.status_code, body)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


class _PortTaken(RuntimeError):
    pass


def find_binary(binary: str | os.PathLike[str] | None = None) -> str:
    """Return the path of the PocketBase binary to run.

    Looks at ``binary``, then the ``PB_SSR_POCKETBASE_BIN`` environment variable, then
    the ``pocketbase`` script installed by ``pocketbase-bin`` in this Python's scripts
    directory, then ``pocketbase`` on ``PATH``.

    :param binary: An explicit path or command name.
    :raises RuntimeError: if no binary is found; the message says how to install one.
    """
    for given, origin in ((binary, "the binary argument"), (os.environ.get(BINARY_ENV_VAR), None)):
        if given:
            found = shutil.which(os.fspath(given))
            if found is None:
                raise RuntimeError(
                    f"PocketBase binary {os.fspath(given)!r} from "
                    f"{origin or BINARY_ENV_VAR} does not exist or is not executable."
                )
            # Absolute: the server runs with its root directory as the working directory,
            # where a relative path such as ".pb-matrix/0.23.12/bin/pocketbase" is wrong.
            return os.path.abspath(found)
    bundled = Path(sysconfig.get_path("scripts")) / "pocketbase"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled)
    on_path = shutil.which("pocketbase")
    if on_path is not None:
        return on_path
    raise RuntimeError(
        "No PocketBase binary found. Install it with "
        f"`{_INSTALL_HINT}`, or set {BINARY_ENV_VAR} to its path."
    )


def binary_version(binary: str | os.PathLike[str] | None = None) -> tuple[int, ...]:
    """Return the version of a PocketBase binary, e.g. ``(0, 40, 6)``.

    Runs ``pocketbase --version``. Tests use it to expect what each release does
    where releases differ (``make test-matrix`` runs the suite on several).

    :param binary: As for :func:`find_binary`; by default the binary it finds.
    :raises RuntimeError: if no binary is found or it prints no version.
    """
    path = find_binary(binary)
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    words = out.stdout.split()
    try:
        return tuple(int(part) for part in words[-1].lstrip("v").split("."))
    except (IndexError, ValueError):
        raise RuntimeError(f"{path} --version printed no version: {out.stdout!r}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # On POSIX, SO_REUSEADDR ignores the TIME_WAIT connections a stopped server
        # leaves behind (as PocketBase's own listener does) but still fails on a
        # live listener. On Windows it would allow stealing the port instead.
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    os.kill(process.pid, signal.SIGCONT)  # a paused process acts on SIGTERM only once thawed
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _last_lines(text: str, n: int) -> str:
    return "\n".join(text.splitlines()[-n:])


def _shorten(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + "…"

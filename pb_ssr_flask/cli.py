"""``flask pb ...`` commands: check the PocketBase side, create development users."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from pb_ssr import (
    ClientResponseError,
)

from .globals import config

__all__ = ["pb_cli"]

pb_cli = AppGroup("pb", help="pb-ssr: check PocketBase, manage development users.")


@pb_cli.command("check")
def check_command() -> None:
    """Check connectivity and the PocketBase settings that matter server-side."""
    state = config()
    click.echo(f"PocketBase at {state.settings.URL}")
    problems = 0
    for found in state.report(source="POCKETBASE_"):
        problems += found.level in ("warn", "fail")
        text = f"{found.message} {found.hint}" if found.level == "warn" else found.message
        click.echo(f"  {found.level.upper() if found.level != 'ok' else 'ok':<6}{text}".rstrip())
    raise SystemExit(1 if problems else 0)


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

"""Command-line tools: ``flask create-user``, ``flask init-db``, ``flask demo``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from survey import demo
from survey.accounts import create_user


def init_app(app: Flask) -> None:
    """Register the commands on ``app``."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(init_db_command)
    app.cli.add_command(demo_command)


@click.command("create-user")
@click.argument("username")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
)
@click.option("--name", "display_name", default="", help="Name shown in the desk.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
def create_user_command(username: str, password: str, display_name: str, admin: bool) -> None:
    """Create an evaluator account."""
    try:
        user = create_user(username, password, display_name, admin)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created user {user.username} (id {user.id})")


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the database schema (the same as ``flask db upgrade``)."""
    upgrade()
    click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


@click.command("demo")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to serve on (0.0.0.0 for phones on the LAN).",
)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Upgrade the database, add the demo project (once), print the links and serve."""
    upgrade()
    login = demo.ensure_demo()
    shown_host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 - only chooses what to print
    base = current_app.config.get("PUBLIC_BASE_URL") or f"http://{shown_host}:{port}"
    click.echo(demo.describe(login, base))
    if not no_serve:
        # ``app.run`` is a no-op inside the ``flask`` command, so serve with Werkzeug directly.
        run_simple(host, port, current_app._get_current_object(), threaded=True)

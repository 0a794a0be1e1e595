"""The ``flask`` program in production without a SECRET_KEY: every command is listed and explains itself;
running one that needs the key refuses in one line; the server and the app outside the program refuse.

Two checks start the real program as a process of its own (the key is read from the environment when the
process starts, and a server must refuse to start); the rest run the same program in this process
(``flask_keyless``), so that each does not pay for starting Python and importing the app."""

from __future__ import annotations

import click
import pytest
from flask import Flask

from survey.platform.cli_guard import MISSING_KEY, THROWAWAY_KEY, SecretKeyMissing, refuse_keyless_commands
from tests.test_cli_commands import flask_keyless, flask_production


def _keyed_commands(app) -> list[tuple[str, ...]]:
    """Every command path the app registers (``("db", "upgrade")``), groups included."""
    paths: list[tuple[str, ...]] = []

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            paths.append((*prefix, name))
            if isinstance(command, click.Group):
                walk(command, (*prefix, name))

    walk(app.cli, ())
    return paths


@pytest.mark.sqlite_only  # lists the commands an app registers, the same whatever its database
def test_the_top_level_help_lists_every_command_without_a_key(app, tmp_path):
    shown = flask_production("--help", cwd=tmp_path)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr and not shown.stderr.strip(), shown.stderr
    listed = _listed_commands(shown.stdout)
    assert {path[0] for path in _keyed_commands(app)} | {"run", "shell", "routes"} <= listed
    assert {"indicators", "demo", "responses", "project", "channel", "unit", "db"} <= listed
    in_this_process = flask_keyless("--help", cwd=tmp_path)  # the program the other tests here run in this process
    assert (
        in_this_process.exit_code == 0
        and not in_this_process.stderr
        and _listed_commands(in_this_process.stdout) == listed
    )


def _listed_commands(help_text: str) -> set[str]:
    return {line.split()[0] for line in help_text.split("Commands:")[1].splitlines() if line.strip()}


def test_the_server_refuses_to_start_in_one_line(tmp_path):
    refused = flask_production("run", "--port", "5113", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"Error: {MISSING_KEY}" and not refused.stdout.strip()
    assert not (tmp_path / "never.sqlite").exists(), "refused before the database was touched"


@pytest.mark.parametrize(
    "command",
    [("demo",), ("responses", "import"), ("db", "upgrade"), ("indicators",), ("indicators", "check"), ("run",)],
)
def test_a_commands_help_works_without_a_key(command, tmp_path):
    shown = flask_keyless(*command, "--help", cwd=tmp_path)
    assert shown.exit_code == 0, shown.stderr
    assert f"flask {' '.join(command)} [OPTIONS]" in shown.stdout and not shown.stderr.strip()
    assert not (tmp_path / "never.sqlite").exists()


@pytest.mark.parametrize(
    "command",
    [("demo", "--no-serve"), ("unit", "list", "1"), ("db", "upgrade"), ("shell",), ("run", "--port", "5113")],
)
def test_running_a_command_that_needs_the_key_refuses_in_one_line(command, tmp_path):
    refused = flask_keyless(*command, cwd=tmp_path)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"Error: {MISSING_KEY}" and not refused.stdout.strip()
    assert not (tmp_path / "never.sqlite").exists(), "refused before the database was touched"


def test_an_option_value_spelled_like_help_does_not_run_the_command(tmp_path):
    refused = flask_keyless("create-user", "bob", "--password", "--help", cwd=tmp_path)
    assert refused.exit_code == 1 and refused.stderr.strip() == f"Error: {MISSING_KEY}"


def test_keyless_copies_refuse_and_leave_the_shared_commands_alone():
    """The commands are module-level objects shared by every app in the process (and by the tests)."""
    ran = []

    @click.group("things")
    def things() -> None:
        """A group."""

    @things.command("list")
    def things_list() -> None:
        ran.append("list")

    @click.command("check")
    def check() -> None:
        ran.append("check")

    indicators = click.Group("indicators", commands={"check": check})
    app = Flask(__name__)
    app.config[THROWAWAY_KEY] = True
    app.cli.add_command(things)
    app.cli.add_command(indicators)
    refuse_keyless_commands(app)
    with pytest.raises(SecretKeyMissing):
        app.cli.commands["things"].commands["list"].callback()
    app.cli.commands["indicators"].commands["check"].callback()  # file-only: runs
    things_list.callback()
    assert ran == ["check", "list"] and things.commands["list"] is things_list
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        app.test_client().get("/")


def test_a_keyed_app_keeps_its_commands_as_they_are(app):
    assert not app.config.get(THROWAWAY_KEY)
    refuse_keyless_commands(app)
    from survey.projects.cli import demo_command

    assert app.cli.commands["demo"] is demo_command

"""``flask`` commands without a ``SECRET_KEY``: help for every command, and the file-only commands run.

The app refuses to start in production without a secret key (``survey.platform.config``): signed cookies
would be forgeable. But the ``flask`` program builds the whole app before it can show the help of one
of the app's commands, or list them, or run any of them; refusing there hid every command (``flask
--help`` printed a traceback and only Flask's own commands) and refused ``flask demo --help``.

So when the ``flask`` program builds the app to look a command up or to list them, the app gets a
throwaway key, and every command it registered is swapped for a copy that refuses, in one line, when
it is actually run; its help, which Click prints before running anything, still works. The exceptions
are ``FILE_ONLY_COMMANDS``: ``flask indicators check|score|export FILE`` never serve a page, sign a
cookie or open the database, so an evaluator checking a table on a laptop or a CI job needs no key.

Anything else still refuses when the app is built: a server (``flask run``, gunicorn), ``flask shell``,
and the commands of Flask and its extensions that build the app only when they run.
"""

from __future__ import annotations

import copy
import functools
import os

import click
from flask import Flask
from flask.cli import FlaskGroup

FILE_ONLY_COMMANDS = frozenset(
    {("indicators",), ("indicators", "check"), ("indicators", "score"), ("indicators", "export")}
)
THROWAWAY_KEY = "SECRET_KEY_THROWAWAY"  # config flag: this app's key was made up to list or explain commands
MISSING_KEY = (
    "SECRET_KEY is not set. Set the SECRET_KEY environment variable (or instance/config.py) "
    "to a long random value, or SURVEY_ENV=development for a local trial."
)


class SecretKeyMissing(click.ClickException, RuntimeError):
    """No key in production: one line from the ``flask`` program, a ``RuntimeError`` for gunicorn and tests."""

    def __init__(self) -> None:
        super().__init__(MISSING_KEY)


def looking_up_commands() -> bool:
    """True when the ``flask`` program builds the app to find or list its commands (not to run its own).

    Flask builds the app from its top-level group when a command of the app is named or the commands are
    listed (help, shell completion); ``flask run``, ``shell``, ``routes`` and extension commands build it
    from their own context, only once they run.
    """
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":  # set by flask.cli before it builds the app
        return False
    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.command, FlaskGroup)


def refuse_keyless_commands(app: Flask) -> None:
    """For an app with a throwaway key: every command but the file-only ones refuses when run, and so
    does every request (nothing here may serve pages signed with a key no one will have tomorrow)."""
    if not app.config.get(THROWAWAY_KEY):
        return
    for name, command in list(app.cli.commands.items()):
        app.cli.commands[name] = _refusing_copy(command, (name,))
    serve = app.wsgi_app

    @functools.wraps(serve)
    def refuse_to_serve(environ, start_response):
        raise SecretKeyMissing()

    app.wsgi_app = refuse_to_serve  # type: ignore[method-assign]
    app.extensions["keyless_wsgi_app"] = serve


def _refusing_copy(command: click.Command, path: tuple[str, ...]) -> click.Command:
    """A copy of ``command`` (and of a group's sub-commands) whose run refuses; the original is shared by
    every app in the process (module-level commands, Flask-Migrate's ``db``), so it is left as it is."""
    if path in FILE_ONLY_COMMANDS and not isinstance(command, click.Group):
        return command
    guarded = copy.copy(command)
    if isinstance(command, click.Group):  # its own callback runs before a sub-command's --help: left alone
        guarded.commands = {name: _refusing_copy(sub, (*path, name)) for name, sub in command.commands.items()}
    elif command.callback is not None:
        guarded.callback = _refusing(command.callback)
    return guarded


def _refusing(callback):
    @functools.wraps(callback)
    def refuse(*_args, **_kwargs):
        raise SecretKeyMissing()

    return refuse

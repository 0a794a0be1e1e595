"""Which ``flask`` commands only read and write files, and so may run without a ``SECRET_KEY``.

The app refuses to start in production without a secret key (``survey.config``): signed cookies
would be forgeable. ``flask indicators check|score|export FILE`` never serve a page, sign a cookie
or open the database, so an evaluator checking a table on a laptop or a CI job must not need one. The
``flask`` command builds the whole app before it can run any of the app's commands, so the decision
is made from the command line the ``flask`` program was started with; anything else (a server, a
command that touches the database, an app built by gunicorn) still needs the key.
"""

from __future__ import annotations

import os
import sys

# ``flask indicators`` alone (or with --help) only prints the group's help.
FILE_ONLY_COMMANDS = frozenset(
    {("indicators",), ("indicators", "check"), ("indicators", "score"), ("indicators", "export")}
)
# Options of the ``flask`` program itself that take a value (flask.cli.FlaskGroup).
VALUE_OPTIONS = frozenset({"--app", "-A", "--env-file", "-e"})


def command_words(argv: list[str]) -> list[str]:
    """The command and sub-command named on a ``flask`` command line, skipping the program's own options."""
    words: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in VALUE_OPTIONS:
            skip = True
        elif arg.startswith("-"):
            if not words:  # the program's own flags (--debug); a sub-command's options end the search
                continue
            break
        else:
            words.append(arg)
            if len(words) == 2:
                break
    return words


def file_only_command(argv: list[str] | None = None) -> bool:
    """True when this process is the ``flask`` program running one of ``FILE_ONLY_COMMANDS``."""
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":  # set by flask.cli before it builds the app
        return False
    words = command_words(sys.argv[1:] if argv is None else argv)
    return tuple(words) in FILE_ONLY_COMMANDS

"""Instructions per respondent, counted by valgrind's callgrind: a figure other load cannot move.

The two cores here are shared with other machines' work: the same run of ``bench/submit.py`` gave a bare
limit of 949/s one hour and 535/s the next. Seconds measured then say as much about the neighbours as
about the code. Callgrind counts the instructions a process executes instead, which is the same for the
same code and input however busy the machine is, so a change can be judged by one run.

Each respondent is one page view (GET) and one submission (POST) of the 20-question questionnaire,
called in process through the WSGI interface with the production settings (JSON request logs, CSRF on,
rate limits off as in ``bench/submit.py``): no HTTP server, so gunicorn's own share is not in the figure.
Only the measured respondents are counted (the app's start and a warm-up are run with counting off).
The bare app of ``bench/bare_app.py`` is counted the same way, for the ratio. PostgreSQL's own server
process is not counted: its work shows in the round trips, which ``--database postgresql`` also prints.

    python bench/instructions.py                        # ours and bare, SQLite, 300 respondents each
    python bench/instructions.py --databases sqlite,postgresql --respondents 500

Needs ``valgrind`` (Debian package ``valgrind``); runs about a minute per figure.
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.phones import answers_body, encoded_answers, hidden_fields, keep_cookies  # noqa: E402 - after the path set-up

WARM_UP = 30


def _environ(method: str, path: str, cookies: dict, body: bytes = b"") -> dict:
    """A WSGI environ as gunicorn builds it for a phone on loopback."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "bench-phone",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }  # fmt: skip
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _call(app, environ: dict) -> tuple[int, list, bytes]:
    """One request through the WSGI interface: status, headers, body."""
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen.update(status=status, headers=headers)

    body = b"".join(app(environ, start_response))
    return int(seen["status"][:3]), seen["headers"], body


def _respondent(app, path: str, answers: bytes) -> None:
    """A new phone: fetch the form, keep its cookies, post ``answers`` (form-encoded, made beforehand so
    the phone's own work is not counted) with the page's hidden fields; anything but 200/303 stops the run."""
    status, headers, page = _call(app, _environ("GET", path, {}))
    if status != 200:
        raise SystemExit(f"page view answered {status}")
    cookies: dict[str, str] = {}
    keep_cookies(cookies, [value for name, value in headers if name.lower() == "set-cookie"])
    body = answers_body(hidden_fields(page.decode()), answers)
    status, _headers, body = _call(app, _environ("POST", path, cookies, body))
    if status != 303:
        raise SystemExit(f"submission answered {status}: {body[:500]!r}")


def child(url: str, path: str, respondents: int, flags: str) -> None:
    """Under valgrind: start the app, warm up, then run ``respondents`` while the parent has counting on."""
    os.environ.update({
        "DATABASE_URL": url, "SECRET_KEY": "bench-" + "k" * 32, "SURVEY_ENV": "production",
        "SESSION_COOKIE_SECURE": "0", "FLASK_RATELIMIT_ENABLED": "false",
    })  # fmt: skip
    if path == "/s/bare":
        from bench.bare_app import create_app
    else:
        from app import create_app
    app, rng = create_app(), random.Random(1)
    answers = [encoded_answers(rng) for _ in range(WARM_UP + respondents)]
    for encoded in answers[:WARM_UP]:
        _respondent(app, path, encoded)
    Path(flags, "ready").touch()
    _wait_for(Path(flags, "go"))
    for encoded in answers[WARM_UP:]:
        _respondent(app, path, encoded)
    Path(flags, "done").touch()
    _wait_for(Path(flags, "end"))


def _wait_for(flag: Path, process: subprocess.Popen | None = None, errors: Path | None = None) -> None:
    """Wait for the other process to leave ``flag``; if the counted process dies first, show why."""
    while not flag.exists():
        if process is not None and process.poll() is not None:
            last = errors.read_text(errors="replace").splitlines()[-15:] if errors else []
            raise SystemExit("the counted process ended early:\n" + "\n".join(last))
        time.sleep(0.05)


def count(url: str, path: str, respondents: int) -> float:
    """Instructions per respondent of one app on one database (callgrind, counting only the measured part)."""
    with tempfile.TemporaryDirectory(prefix="survey-callgrind-") as flags:
        output = os.path.join(flags, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={output}",
            sys.executable, __file__, "--child", url, path, str(respondents), flags,
        ]  # fmt: skip
        environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
        errors = Path(flags, "stderr.txt")
        with errors.open("w") as stderr:  # the child keeps its own descriptor
            process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=stderr)
        _wait_for(Path(flags, "ready"), process, errors)
        _control(process.pid, "on")
        Path(flags, "go").touch()
        _wait_for(Path(flags, "done"), process, errors)
        _control(process.pid, "off")
        Path(flags, "end").touch()
        process.wait()
        total = 0
        for name in glob.glob(output + "*"):
            for line in Path(name).read_text().splitlines():
                if line.startswith(("summary:", "totals:")):
                    total = max(total, int(line.split()[1]))
        return total / respondents


def _control(pid: int, state: str) -> None:
    command = ["callgrind_control", "--instr=" + state, str(pid)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--respondents", type=int, default=300)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, path, respondents, flags = args.child
        child(url, path, int(respondents), flags)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    from bench.bare_app import create_schema
    from bench.phones import drop_database, fresh_database, prepare_questionnaire

    with tempfile.TemporaryDirectory(prefix="survey-bench-") as folder:
        for kind in args.databases.split(","):
            figures = {}
            for app, name in (("ours", f"survey_count_{os.getpid()}"), ("bare", f"survey_count_bare_{os.getpid()}")):
                url = fresh_database(kind, folder, name)
                try:
                    if app == "bare":
                        create_schema(url)
                        path = "/s/bare"
                    else:
                        path = "/s/" + prepare_questionnaire(url)
                    figures[app] = count(url, path, args.respondents)
                finally:
                    drop_database(url)
            ours, bare = figures["ours"] / 1e6, figures["bare"] / 1e6
            print(
                f"{kind}: {ours:.2f} M instructions per respondent (page view + submission), bare app {bare:.2f} M,"
                f" ratio {ours / bare:.2f}; {args.respondents} respondents each"
            )


if __name__ == "__main__":
    main()

"""Running an evaluator's report template with bounds on time, memory, output and operator results.

Flask-free on purpose: this module is what a separate render process imports (``survey.reports.text``
words its outcomes for the desk). A team's template is Jinja text an evaluator types; the sandbox
already blocks attribute tricks, but not work: nested ``range`` loops ran for minutes, ``"x" * 50000000``
built a 100 MB page and ``7 ** (10**7)`` held a worker for seconds. So every template runs here:

* in a child process (``render_bounded``), a fresh interpreter killed when the wall-time deadline passes and with its
  address space capped, so a loop with an empty body (which calls no sandbox hook Jinja could check a
  deadline in), a single huge allocation, or a deep recursion cannot hang or swell the web worker, and
  the worker's other threads (respondents' requests) keep the interpreter while it runs;
* with operator results bounded inside the sandbox (``*``, ``**``, ``%``, ``+`` on numbers, strings and
  lists; ``range``), so the usual attacks stop at once with a precise reason instead of at the deadline;
* with the output cut off past ``MAX_OUTPUT_CHARS`` while it is generated.

Outcomes are plain tuples (``("ok", text)`` or ``("error", kind, line, detail)``) so that the parent
can word them in the reader's language; ``kind`` names the bound or the error class.
"""

from __future__ import annotations

import json
import operator
import os
import pickle
import resource
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

TEMPLATE_NAME = "<template>"  # the file name Jinja gives templates made from strings
MAX_SECONDS = 5  # wall time of one render; a report section renders in milliseconds
MAX_OUTPUT_CHARS = 200_000  # a report's satisfaction section is a few thousand characters
MAX_STRING = 100_000  # characters (or items) an operator may build
MAX_RANGE = 10_000  # numbers ``range`` may produce
MAX_INT_BITS = 4_096  # about 1,200 decimal digits: far beyond any figure a report quotes
MEMORY_HEADROOM = 512 * 1024 * 1024  # address space the render process may add to what it starts with
MAX_RENDERS = 2  # render processes one web worker runs at once (the machine has a few cores, not dozens)
SLOT_WAIT = 2  # seconds a render waits for one of them; a normal render takes a fraction of a second
NICENESS = 10  # a render process yields the CPU to respondents' requests

_slots = threading.BoundedSemaphore(MAX_RENDERS)


class TooLarge(Exception):
    """An operator or ``range`` would build a result past a bound; ``what`` names which."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class TooLong(Exception):
    """The output passed ``MAX_OUTPUT_CHARS``."""


def _bits(value: Any) -> int:
    """How many bits an integer operand has (floats and booleans count as small)."""
    return abs(value).bit_length() if isinstance(value, int) and not isinstance(value, bool) else 64


def _length(value: Any) -> int | None:
    """The length of a string or sequence operand, ``None`` for numbers."""
    return len(value) if isinstance(value, str | list | tuple | bytes) else None


def _check_multiply(left: Any, right: Any) -> None:
    """``"x" * 50000000`` and ``2 ** 4000 * 2 ** 4000``: refused before they are built."""
    for seq, count in ((left, right), (right, left)):
        size = _length(seq)
        if size is not None and isinstance(count, int) and size * max(count, 0) > MAX_STRING:
            raise TooLarge("repeat")
    if isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INT_BITS:
        raise TooLarge("number")


def _check_power(base: Any, exponent: Any) -> None:
    """``7 ** (10**7)``: the result's size is known from the operands, so it is refused unbuilt."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent > MAX_INT_BITS or _bits(base) * exponent > MAX_INT_BITS:
            raise TooLarge("number")


def _check_result(value: Any) -> Any:
    """A string, list or number an operator returned, within the bounds (``%`` formatting, ``+``)."""
    size = _length(value)
    if size is not None and size > MAX_STRING:
        raise TooLarge("repeat")
    if isinstance(value, int) and _bits(value) > MAX_INT_BITS:
        raise TooLarge("number")
    return value


def bounded_range(*args: int) -> range:
    """``range`` of at most ``MAX_RANGE`` numbers (Jinja's sandbox allows 100,000 per call, nested freely)."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TooLarge("range")
    return numbers


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with every arithmetic operator intercepted and bounded (see ``call_binop``)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.globals["range"] = bounded_range

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        """Refuse an operation whose result is too large to build, before building it where that is known."""
        if operator_name == "*":
            _check_multiply(left, right)
        elif operator_name == "**":
            _check_power(left, right)
        return _check_result(BINOPS[operator_name](left, right))


BINOPS = {
    "*": operator.mul,
    "**": operator.pow,
    "%": operator.mod,
    "+": operator.add,
}


def template_line(error: BaseException) -> int | None:
    """The template line an error happened on (Jinja rewrites tracebacks to point into the template)."""
    line = getattr(error, "lineno", None)
    if line:
        return line
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == TEMPLATE_NAME]
    return frames[-1].lineno if frames else None


def _kind(error: BaseException) -> str:
    """The outcome's kind: which bound was hit, or which class of template error happened."""
    if isinstance(error, TooLarge):
        return "too_large:" + error.what
    if isinstance(error, TooLong):
        return "too_long"
    if isinstance(error, MemoryError):
        return "too_large:memory"
    if isinstance(error, RecursionError):
        return "recursion"
    if isinstance(error, TemplateSyntaxError):
        return "syntax"
    if isinstance(error, SecurityError):
        return "security"
    if isinstance(error, UndefinedError):
        return "undefined"
    return "other"


def render_here(template_text: str, context: dict[str, Any]) -> tuple:
    """Render in this process with the operator and output bounds (no deadline: ``render_bounded`` adds it)."""
    try:
        template = BoundedEnvironment().from_string(template_text)
        chunks, size = [], 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TooLong()
            chunks.append(chunk)
        return ("ok", "".join(chunks))
    except (TooLarge, TooLong, MemoryError, RecursionError) as error:
        return ("error", _kind(error), template_line(error), "")
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        return ("error", _kind(error), template_line(error), getattr(error, "message", None) or str(error))


def _limit(seconds: float) -> None:
    """Bound this process: its address space at what it uses now plus ``MEMORY_HEADROOM`` (a huge
    allocation becomes a ``MemoryError`` here instead of swapping the server), its CPU time a little past
    the parent's deadline (the kernel ends it even if the parent was killed before it could), and its
    priority below the web workers'."""
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = current + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    os.nice(NICENESS)


def main() -> None:
    """The render process: read ``(template, context, seconds)`` pickled on stdin, write the outcome as JSON
    on stdout.

    The parent is the web worker, so what comes in is trusted; what goes out is plain JSON, never a pickle,
    since the template that produced it is not.
    """
    template_text, context, seconds = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from the parent
    _limit(seconds)
    try:
        outcome = render_here(template_text, context)
    except MemoryError:
        outcome = ("error", "too_large:memory", None, "")
    except Exception as error:  # noqa: BLE001 - whatever a template provokes is reported, never a crash
        outcome = ("error", "other", template_line(error), str(error)[:500])
    sys.stdout.write(json.dumps(outcome))


def render_bounded(template_text: str, context: dict[str, Any], seconds: float = MAX_SECONDS) -> tuple:
    """Render in a child process killed after ``seconds``: ``("ok", text)`` or ``("error", kind, line, detail)``.

    ``kind`` is ``timeout`` when the deadline passed, ``too_large:memory`` when the process died of its
    memory cap, and ``busy`` when ``MAX_RENDERS`` renders of this worker were still running ``SLOT_WAIT``
    seconds later (a short wait: the waiting request holds one of the worker's threads, which respondents
    need); otherwise what ``render_here`` found. The child is a fresh interpreter running this file
    (``python -I``: no user site, no current directory), not a fork of the multi-threaded web worker,
    which could inherit a lock another thread holds; it imports Jinja only and starts in 0.1–0.2 s.
    While it runs, this thread waits without the GIL, so the worker's other threads keep serving.
    """
    if not _slots.acquire(timeout=min(seconds, SLOT_WAIT)):
        return ("error", "busy", None, "")
    try:
        return _run_child(template_text, context, seconds)
    finally:
        _slots.release()


def _run_child(template_text: str, context: dict[str, Any], seconds: float) -> tuple:
    command = [sys.executable, "-I", os.path.abspath(__file__)]
    payload = pickle.dumps((template_text, context, seconds))
    started = time.monotonic()
    with subprocess.Popen(  # noqa: S603 - our own interpreter and file, no shell
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as process:
        try:
            output, _ = process.communicate(payload, timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return ("error", "timeout", None, "")
    try:
        return tuple(json.loads(output))
    except ValueError:  # no answer: the process died, of its memory cap or (past the deadline) its CPU cap
        return ("error", "timeout" if time.monotonic() - started >= seconds else "too_large:memory", None, "")


if __name__ == "__main__":
    main()

"""The private scratch directory: where exports may spill raw answers to disk while they are written.

XlsxWriter streams a large responses sheet through a temporary file (tens of MB for 50,000 responses) and
the .sav/.dta writers go through one too. In the system's ``/tmp`` such a file outlives a killed worker,
readable by other accounts on the machine and outside the retention period and 删除全部答卷. So every
process of the app (each gunicorn worker, each export process of ``survey.jobs.queue``) writes its temporary files
in its own folder ``<SCRATCH_DIR>/<pid>-<start time>`` (default ``instance/tmp``, mode 0700), set as
``tempfile.tempdir`` for the whole process, and every process that starts removes the folders of
processes that no longer run: a worker killed mid-export leaves nothing behind once any process of the app
starts again (gunicorn starts its replacement at once). The folder name carries the process's start time
as well as its id, so a recycled process id never keeps a dead process's files alive.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from flask import Flask

CONFIG_KEY = "SCRATCH_DIR"
_claimed: dict[Path, Path] = {}  # root → this process's own folder in it (claimed once per process)


def process_tag(pid: int) -> str | None:
    """``<pid>-<start time in clock ticks>`` of a running process (Linux /proc), ``<pid>`` elsewhere;
    None when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _tag_without_proc(pid)
    return f"{pid}-{stat.rsplit(')', 1)[1].split()[19]}"  # field 22 of proc(5): starttime


def _tag_without_proc(pid: int) -> str | None:
    """Without /proc only the id can be checked."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # another account's process: alive
    return str(pid)


def _is_live(name: str) -> bool:
    """Whether a folder named ``<pid>-<start>`` belongs to a process that still runs."""
    pid = name.split("-", 1)[0]
    return pid.isdigit() and process_tag(int(pid)) == name


def clean(root: Path, keep: Path | None = None) -> list[str]:
    """Remove everything in ``root`` but the folders of running processes (and ``keep``); return the names."""
    removed = []
    for entry in root.iterdir() if root.is_dir() else ():
        if entry == keep or (entry.is_dir() and not entry.is_symlink() and _is_live(entry.name)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def scratch_root(app: Flask) -> Path:
    """The configured scratch directory (``SCRATCH_DIR``), else ``instance/tmp``."""
    return Path(app.config.get(CONFIG_KEY) or os.path.join(app.instance_path, "tmp"))


def claim(root: Path) -> Path:
    """This process's own folder in ``root`` (made once, 0700), after removing dead processes' leftovers."""
    if root in _claimed:
        return _claimed[root]
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    own = root / (process_tag(os.getpid()) or str(os.getpid()))
    shutil.rmtree(own, ignore_errors=True)  # a folder with our own tag cannot hold anything of ours yet
    clean(root, keep=own)
    own.mkdir(mode=0o700)
    _claimed[root] = own
    return own


def init_app(app: Flask) -> Path:
    """Clean the scratch directory and make this process write its temporary files there, in its own folder."""
    global _fork_hook
    own = claim(scratch_root(app))
    tempfile.tempdir = str(own)  # tempfile.mkstemp/TemporaryFile/… and libraries that use them
    app.extensions["scratch"] = own
    if not _fork_hook:  # an app made before a fork (gunicorn's preload_app): each child claims its own folder
        os.register_at_fork(after_in_child=_after_fork)
        _fork_hook = True
    return own


_fork_hook = False


def _after_fork() -> None:
    """In a forked child, the parent's folders are not ours: claim this process's own in the same roots."""
    current = tempfile.tempdir
    roots = {root: own for root, own in _claimed.items()}
    _claimed.clear()
    for root, parents_own in roots.items():
        own = claim(root)
        if current == str(parents_own):
            tempfile.tempdir = str(own)


def release() -> None:
    """Remove this process's folders (an export process whose web worker has gone)."""
    for own in _claimed.values():
        shutil.rmtree(own, ignore_errors=True)

"""A run's temporary files, and when a run may publish its outputs.

**Temporary files.** Every output is written in full under a temporary name and renamed into
place (core.io.atomic_path, validation.publish.staged_dirs). The temporary files and staging
directories live in a hidden folder `.dunning-tmp/` beside their target: the same file system, so
the rename is atomic, but never a file of a declared output (`.dvcignore` and `.gitignore` list the
folder, so neither DVC's hash of an output directory nor git sees it). The folder is removed when
empty. A killed run (SIGKILL, a power cut) leaves its debris there; the next run that writes beside
the same target sweeps it: entries named by this module whose process is gone, and older than the
sweeping process. Nothing else is ever deleted.

**A dead parent publishes nothing.** A stage run by DVC (DVC sets `DVC_STAGE` for every stage
command) is bound to its parent by `bind_to_parent()`: on Linux the kernel sends it SIGTERM when
the parent dies (prctl PR_SET_PDEATHSIG), and every publish first checks that the parent (and,
when the parent is a shell, the shell's parent: DVC runs commands through `$SHELL -c`) is still
the one it started under. SIGTERM, SIGINT and SIGHUP are held while a rename publishes, so a
signal never stops a swap half-way; the command line turns SIGTERM and SIGHUP into `Aborted`
(`aborting_on_termination()`) so that the temporary files are removed on the way out.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

SCRATCH = ".dunning-tmp"
#: Entries of the scratch folder: NAME.KIND.PID.RANDOM (RANDOM from tempfile: letters, digits, "_").
_ENTRY = re.compile(r"^(?P<name>.+)\.(?P<kind>tmp|staging|old)\.(?P<pid>\d+)\.[A-Za-z0-9_]+$")
#: When this module was imported: every entry this process makes is younger.
_STARTED = time.time()
_swept: set[Path] = set()

_SHELLS = frozenset({"sh", "dash", "bash", "zsh", "ksh", "mksh", "fish"})
_HELD = {signal.SIGTERM, signal.SIGINT} | ({signal.SIGHUP} if hasattr(signal, "SIGHUP") else set())
_PR_SET_PDEATHSIG = 1
#: The parent pids this run was started under (the parent, then the shell's parent); None: not bound.
_bound: tuple[int, ...] | None = None


class Aborted(BaseException):
    """The run was stopped before publishing: a termination signal, or the parent process is gone.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way turns it into
    a data error; the command line prints it as one line and exits with EXIT_ABORTED."""


# --- temporary files -------------------------------------------------------------------------


def temp_file(directory: Path, name: str) -> Path:
    """A new empty file in DIRECTORY/.dunning-tmp/ for an output NAME in DIRECTORY."""
    return _make(Path(directory), name, "tmp", _mkstemp)


def temp_dir(directory: Path, name: str, kind: str = "staging") -> Path:
    """A new empty directory in DIRECTORY/.dunning-tmp/ (`kind`: "staging" for a build, "old" for a
    retired output), with the usual permissions (mkdtemp makes it private)."""
    path = _make(Path(directory), name, kind, _mkdtemp)
    path.chmod(0o777 & ~_umask())
    return path


def release(path: Path) -> None:
    """Remove `path` (a temporary file or directory, if still there), then its scratch folder if empty."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    if path.parent.name == SCRATCH:
        with contextlib.suppress(OSError):  # not empty: another output of this run is still being written
            path.parent.rmdir()


def sweep(directory: Path) -> list[Path]:
    """Remove what killed runs left in DIRECTORY/.dunning-tmp/; returns what was removed.

    Only entries named by this module, made before this process started, by a process that is gone
    (a run still writing is never touched). A retired output ("old") whose target is missing, which
    only a run killed in the middle of a swap leaves, is moved back instead of deleted.
    """
    scratch = Path(directory) / SCRATCH
    removed: list[Path] = []
    try:
        entries = list(scratch.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        match = _ENTRY.match(entry.name)
        if match is None or not _stale(entry, int(match["pid"])):
            continue
        target = scratch.parent / match["name"]
        kept = entry / match["name"]
        if match["kind"] == "old" and kept.exists() and not target.exists():
            os.replace(kept, target)
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    with contextlib.suppress(OSError):
        scratch.rmdir()
    return removed


def _make(directory: Path, name: str, kind: str, create: Callable[[Path, str], Path]) -> Path:
    prefix = f"{name}.{kind}.{os.getpid()}."
    scratch = directory / SCRATCH
    for attempt in range(5):
        if scratch not in _swept:
            sweep(directory)
            _swept.add(scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            return create(scratch, prefix)
        except FileNotFoundError:  # the folder was emptied and removed in between (another writer's release)
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _mkstemp(scratch: Path, prefix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=prefix, dir=scratch)
    os.close(fd)
    return Path(name)


def _mkdtemp(scratch: Path, prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))


def _stale(entry: Path, pid: int) -> bool:
    try:
        if entry.lstat().st_mtime >= _STARTED:
            return False
    except FileNotFoundError:
        return False
    return pid == os.getpid() or not _alive(pid)  # our own pid on an older entry: a reused pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- the parent process ----------------------------------------------------------------------


def bind_to_parent(environ: dict[str, str] | None = None) -> bool:
    """When run as a DVC stage (DVC_STAGE set), end with the parent and never publish after it.

    Returns whether the run is bound. Call it first thing: the binding covers what runs after it
    (pipeline/__main__.py does, before the heavy imports); a second call keeps the first binding.
    """
    global _bound
    env = os.environ if environ is None else environ
    if _bound is not None:
        return True
    if not env.get("DVC_STAGE"):
        return False
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    parent = os.getppid()
    chain = [parent]
    if _command_name(parent) in _SHELLS:  # `$SHELL -c CMD` that did not exec CMD: bind to its parent too
        grandparent = _parent_of(parent)
        if grandparent is not None:
            chain.append(grandparent)
    _bound = tuple(chain)
    return True


def check_parent() -> None:
    """Raise Aborted when the run is bound to a parent that is gone (nothing is published then)."""
    if _bound is None:
        return
    now = [os.getppid()]
    if len(_bound) > 1:
        now.append(_parent_of(_bound[0]))
    if tuple(now) != _bound:
        raise Aborted(
            f"the process that started this run (pid {_bound[-1]}) is gone; nothing more is published "
            "(rerun the pipeline)"
        )


@contextlib.contextmanager
def aborting_on_termination() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP raise Aborted (in the main thread), so that temporary files are
    removed on the way out and the previous outputs stay as they were. The handlers are restored after."""

    def _raise(signum: int, _frame) -> None:
        raise Aborted(f"stopped by {signal.Signals(signum).name}; nothing more is published")

    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {name: signal.signal(getattr(signal, name), _raise) for name in names}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


@contextlib.contextmanager
def publishing() -> Iterator[None]:
    """Around the renames that publish outputs: refuse when the parent is gone, and hold SIGTERM,
    SIGINT and SIGHUP until the renames are done (a held signal is delivered right after)."""
    held = hasattr(signal, "pthread_sigmask")
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD) if held else None
    try:
        check_parent()
        yield
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _parent_of(pid: int) -> int | None:
    """The parent of process `pid` (Linux /proc), or None when it is gone or unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # fields after "(comm)": state, ppid, ...

"""Safe output folders: ownership marker, one run at a time, atomic swap, no litter.

Every folder decision-stack writes carries a marker file (:data:`MARKER`). A command
refuses (exit 2, nothing touched) an ``--out`` that is a file, or a non-empty folder
without the marker, because the folder is replaced or rewritten. One run at a time
writes an output: a lock file beside the folder (``.<name>.lock``, an OS lock that
dies with its process, via filelock) with a note of who holds it
(``.<name>.lock.json``: pid, start time, command). A second run exits 2 naming the
running one; a lock left by a dead process (the pid is gone, or is another process
now) is taken over. New contents are built in a hidden temporary folder beside the
target (``.<name>.tmp-*``) and swapped in at the end with one atomic rename
exchange, so a killed or failed run leaves the previous folder as it was; temporary
folders left by killed runs are removed by the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from analysis.errors import BadInputError

__all__ = [
    "MARKER",
    "check_output_dir",
    "os_error_message",
    "output_lock",
    "remove_stale",
    "staging_dir",
    "swap_into_place",
    "write_marker",
]

#: file that marks a folder as written by decision-stack
MARKER = ".decision-stack"


def _is_ours(folder: Path, kind: str) -> bool:
    """Whether ``folder`` was written by decision-stack (marker, or an older run's layout)."""
    if (folder / MARKER).exists():
        return True
    names = [p.name for p in folder.iterdir()]
    if kind == "metrics":  # before the marker: a metrics run always wrote these two
        return "run.json" in names and "quality.json" in names
    if kind == "reports":  # before the marker: quarter folders with an index page
        visible = [folder / n for n in names if not n.startswith(".")]
        return bool(visible) and all(p.is_dir() and (p / "index.html").exists() for p in visible)
    return False


def check_output_dir(path: str | Path, *, kind: str, option: str = "--out") -> Path:
    """Refuse an output path that is a file or a foreign non-empty folder (exit 2).

    ``kind`` is ``metrics`` (the folder is replaced whole) or ``reports`` (quarter
    folders inside it are replaced). A missing or empty folder is fine.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> check_output_dir(d, kind="metrics")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.errors.BadInputError: ...: --out is a folder decision-stack did not write ...
    >>> check_output_dir(d / "new", kind="metrics").name
    'new'
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise BadInputError(
            f"{option} is a file, not a folder: give a new or empty folder", file=out
        )
    if out.is_dir() and any(out.iterdir()) and not _is_ours(out, kind):
        raise BadInputError(
            f"{option} is a folder decision-stack did not write and it is not empty "
            f"(its contents would be replaced): give a new or empty folder",
            file=out,
        )
    return out


def write_marker(folder: str | Path) -> None:
    """Mark ``folder`` as written by decision-stack."""
    (Path(folder) / MARKER).write_text(
        "This folder is written by decision-stack; its contents are replaced by each run.\n"
    )


# --- lock -----------------------------------------------------------------------------
def _process_started(pid: int) -> float | None:
    """Start time (epoch seconds) of a live process, or None when it is gone."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _holder(info_path: Path) -> dict:
    try:
        return json.loads(info_path.read_text())
    except (OSError, ValueError):
        return {}


def _alive(holder: dict) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return True  # unknown holder: assume it runs
    started = _process_started(pid)
    if started is None:
        return False
    recorded = holder.get("process_started")
    return not isinstance(recorded, int | float) or abs(started - recorded) < 2.0


@contextlib.contextmanager
def output_lock(path: str | Path) -> Iterator[Path]:
    """Hold the lock of output ``path`` for the block; a second holder gets exit 2.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with output_lock(out):
    ...     with output_lock(out):  # doctest: +ELLIPSIS
    ...         pass
    Traceback (most recent call last):
    ...
    analysis.errors.BadInputError: ...: another decision-stack run (pid ..., started ...) is writing this folder; wait for it to finish
    """
    from filelock import FileLock, Timeout

    out = Path(path).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.parent / f".{out.name}.lock"
    info_path = out.parent / f".{out.name}.lock.json"
    lock = FileLock(str(lock_path), timeout=0)
    for attempt in (1, 2):
        try:
            lock.acquire()
            break
        except Timeout:
            holder = _holder(info_path)
            if attempt == 1 and holder and not _alive(holder):
                # held by what a dead run left behind (e.g. an orphaned child): take over
                with contextlib.suppress(OSError):
                    lock_path.unlink()
                lock = FileLock(str(lock_path), timeout=0)
                continue
            pid = holder.get("pid", "unknown")
            started = holder.get("started", "unknown time")
            raise BadInputError(
                f"another decision-stack run (pid {pid}, started {started}) is writing this "
                "folder; wait for it to finish",
                file=out,
            ) from None
    try:
        import psutil

        me = os.getpid()
        info = {
            "pid": me,
            "process_started": psutil.Process(me).create_time(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:500],
        }
        tmp = info_path.with_name(info_path.name + f".{me}")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, info_path)
        yield out
    finally:
        with contextlib.suppress(OSError):
            if _holder(info_path).get("pid") == os.getpid():
                info_path.unlink()
        lock.release()


# --- staging and swap -----------------------------------------------------------------
def remove_stale(target: str | Path) -> None:
    """Under the lock: restore a folder a killed swap left aside, drop temporary folders."""
    out = Path(target)
    parent = out.parent
    if not parent.is_dir():
        return
    name = glob.escape(out.name)
    olds = sorted(parent.glob(f".{name}.old-*"))
    if olds and not out.exists():
        os.replace(olds.pop(), out)  # killed between the two renames of a swap
    for stale in [*olds, *parent.glob(f".{name}.tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def staging_dir(target: str | Path) -> Path:
    """A new hidden temporary folder beside ``target`` (same file system)."""
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False when unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_into_place(new: str | Path, target: str | Path) -> None:
    """Put the folder ``new`` at ``target``; the previous ``target`` is removed.

    One atomic exchange where the OS has it; otherwise two renames, and a kill between
    them is repaired by :func:`remove_stale` on the next run.
    """
    new, out = Path(new), Path(target)
    if not out.exists():
        os.replace(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the previous folder
        return
    backup = out.with_name(f".{out.name}.old-{os.getpid()}-{int(time.time())}")
    os.replace(out, backup)
    os.replace(new, out)
    shutil.rmtree(backup, ignore_errors=True)


def os_error_message(err: OSError) -> str:
    """One line for an operating-system error, saying what it is (disk full, permission).

    Examples
    --------
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device", "out/x"))
    'disk full (no space left on device) writing out/x; free some space and run again'
    """
    where = f" writing {err.filename}" if err.filename else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full (no space left on device){where}; free some space and run again"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied{where}; check that you may write there"
    return " ".join(str(err).split())[:300]

"""File-system edges: atomic output folders and parquet/JSON writers.

Nothing else in the package writes files; transforms stay pure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | Path, *, merge: bool = True) -> Iterator[Path]:
    """Yield a temporary folder that replaces/merges into ``out_dir`` only on success.

    On any exception the temporary folder is removed and ``out_dir`` is left
    untouched, so a failed command writes nothing half-done.
    With ``merge=True`` files already in ``out_dir`` that the run did not
    produce are kept (e.g. a data folder that also holds inputs).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_output_dir(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (target / "a.txt").read_text()
    'hi'
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not out.exists():
        os.replace(tmp, out)
        return
    if not merge:
        backup = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, backup)
        os.replace(tmp, out)
        shutil.rmtree(backup, ignore_errors=True)
        return
    for src in sorted(tmp.rglob("*")):
        if src.is_dir():
            continue
        dest = out / src.relative_to(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
    shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as stable, human-readable JSON (sorted keys)."""
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_table(frame: pl.DataFrame | pl.LazyFrame, path: str | Path) -> int:
    """Write a frame as parquet (collecting or streaming a LazyFrame); return its row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, pl.LazyFrame):
        frame.sink_parquet(path)
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    frame.write_parquet(path)
    return frame.height

"""File-system edges: atomic output folders and parquet/JSON writers.

Nothing else in the package writes files; transforms stay pure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl


@contextlib.contextmanager
def atomic_output_dir(
    out_dir: str | Path, *, merge: bool = True, kind: str = "metrics"
) -> Iterator[Path]:
    """Yield a temporary folder that replaces/merges into ``out_dir`` only on success.

    On any exception the temporary folder is removed and ``out_dir`` is left
    untouched, so a failed command writes nothing half-done. One run at a time
    writes ``out_dir`` (:func:`analysis.outputs.output_lock`; a second exits 2), and
    temporary folders left by killed runs are removed first.
    With ``merge=False`` the folder is replaced whole, by one atomic swap; it must be
    new, empty or written by decision-stack (else exit 2, nothing touched), and it is
    marked as such. With ``merge=True`` files already in ``out_dir`` that the run did
    not produce are kept (e.g. a data folder that also holds inputs).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_output_dir(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (target / "a.txt").read_text()
    'hi'
    """
    from analysis.outputs import (
        check_output_dir,
        output_lock,
        remove_stale,
        staging_dir,
        swap_into_place,
        write_marker,
    )

    out = Path(out_dir)
    if not merge:
        check_output_dir(out, kind=kind)
    with output_lock(out):
        if not merge:
            check_output_dir(out, kind=kind)  # again, now that no one else writes it
        remove_stale(out)
        tmp = staging_dir(out)
        try:
            yield tmp
            if not merge:
                write_marker(tmp)
                swap_into_place(tmp, out)
                return
            if not out.exists():
                os.replace(tmp, out)
                return
            for src in sorted(tmp.rglob("*")):
                if src.is_dir():
                    continue
                dest = out / src.relative_to(tmp)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
        finally:
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

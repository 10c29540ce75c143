"""Links between the quarterly team reports and the change-impact reports.

Both live in one reports folder::

    reports/
      2026Q3/index.html         decision-stack report --out reports
      impact/index.html         decision-stack impact ... --reports reports
      impact/impact.json        the impact reports' manifest (change, name, page)

The quarter index lists the impact reports found beside it when it is written
(:func:`impact_section`), and the impact index links the quarter folders found
beside it (:func:`quarter_section`); so whichever runs second links both ways. Links
are relative; every value read from disk is escaped, and a page is linked only when it
is a plain file name that exists.
"""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = [
    "IMPACT_DIR",
    "IMPACT_MANIFEST",
    "impact_entries",
    "impact_section",
    "quarter_section",
    "write_impact_manifest",
]

#: the impact reports' folder inside a reports folder, and its manifest
IMPACT_DIR = "impact"
IMPACT_MANIFEST = "impact.json"


def _href(*parts: str) -> str:
    """A relative link from path segments: each percent-encoded, then HTML-escaped."""
    return html.escape("/".join(quote(p, safe="") for p in parts), quote=True)


def _plain_file(folder: Path, name: object) -> bool:
    """``name`` is a file name (no folder part) of an existing file in ``folder``."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and (folder / name).is_file()
    )


def write_impact_manifest(folder: Path, entries: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``impact.json``: one entry per change (``change_id``, ``name``, ``html``, ``status``)."""
    path = Path(folder) / IMPACT_MANIFEST
    path.write_text(json.dumps({"changes": list(entries)}, indent=2, sort_keys=True) + "\n")
    return path


def impact_entries(reports_root: Path) -> list[dict[str, Any]]:
    """The impact reports in ``reports_root/impact`` (from its manifest), name order.

    Entries whose page is missing keep ``html`` as None. No manifest: an empty list.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> impact_entries(root)
    []
    >>> (root / "impact").mkdir()
    >>> _ = (root / "impact" / "a.html").write_text("x")
    >>> _ = write_impact_manifest(root / "impact", [
    ...     {"change_id": "a", "name": "A", "html": "a.html", "status": "ok"},
    ...     {"change_id": "b", "name": "B", "html": "../../etc/passwd", "status": "ok"}])
    >>> [(e["name"], e["html"]) for e in impact_entries(root)]
    [('A', 'a.html'), ('B', None)]
    """
    folder = Path(reports_root) / IMPACT_DIR
    entries: list[dict[str, Any]] = []
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        raw = json.loads((folder / IMPACT_MANIFEST).read_text(encoding="utf-8"))["changes"]
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            page = item.get("html")
            entries.append(
                {
                    "change_id": str(item.get("change_id", "")),
                    "name": str(item.get("name") or item.get("change_id") or ""),
                    "html": page if _plain_file(folder, page) else None,
                    "status": str(item.get("status", "")),
                }
            )
    return sorted(entries, key=lambda e: (e["name"].lower(), e["change_id"]))


def impact_section(reports_root: Path) -> str:
    """HTML for the quarter index: links to ``../impact/`` pages, or "" when there are none.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> impact_section(root)
    ''
    >>> (root / "impact").mkdir()
    >>> _ = (root / "impact" / "index.html").write_text("x")
    >>> _ = (root / "impact" / "c.html").write_text("x")
    >>> _ = write_impact_manifest(root / "impact",
    ...     [{"change_id": "c", "name": "<b>AI</b>", "html": "c.html", "status": "ok"}])
    >>> print(impact_section(root))  # doctest: +NORMALIZE_WHITESPACE
    <h2>Change impact</h2>
    <p>Did a change help? <a href="../impact/index.html">All change-impact reports</a>.</p>
    <ul><li><a href="../impact/c.html">&lt;b&gt;AI&lt;/b&gt;</a></li></ul>
    """
    folder = Path(reports_root) / IMPACT_DIR
    if not (folder / "index.html").is_file():
        return ""
    items = []
    for e in impact_entries(reports_root):
        name = html.escape(e["name"])
        if e["html"]:
            items.append(f'<li><a href="{_href("..", IMPACT_DIR, e["html"])}">{name}</a></li>')
        else:
            items.append(f'<li>{name} <span class="muted">(report failed)</span></li>')
    listing = f"\n<ul>{''.join(items)}</ul>" if items else ""
    return (
        "<h2>Change impact</h2>\n"
        f'<p>Did a change help? <a href="{_href("..", IMPACT_DIR, "index.html")}">'
        f"All change-impact reports</a>.</p>{listing}"
    )


def quarter_section(reports_root: Path) -> str:
    """HTML for the impact index: links to the quarter indexes beside ``impact/``.

    A quarter folder is a folder holding ``index.html`` and ``reports.json``.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> quarter_section(root)
    ''
    >>> (root / "2026Q3").mkdir()
    >>> for name in ("index.html", "reports.json"):
    ...     _ = (root / "2026Q3" / name).write_text("x")
    >>> print(quarter_section(root))
    <p>Quarterly team reports: <a href="../2026Q3/index.html">2026Q3</a></p>
    """
    root = Path(reports_root)
    quarters = []
    with contextlib.suppress(OSError):
        quarters = sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir()
            and not p.name.startswith(".")
            and p.name != IMPACT_DIR
            and (p / "index.html").is_file()
            and (p / "reports.json").is_file()
        )
    if not quarters:
        return ""
    links = ", ".join(
        f'<a href="{_href("..", q, "index.html")}">{html.escape(q)}</a>' for q in quarters
    )
    return f"<p>Quarterly team reports: {links}</p>"

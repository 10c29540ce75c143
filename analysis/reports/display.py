"""Show report items in a notebook: markdown text, figures (as PNG) and tables.

``show`` is the one call the notebooks use, so figures always land in the notebook
as ``image/png`` outputs (embedded as base64 in the HTML export) whatever the
matplotlib backend of the kernel.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from matplotlib.figure import Figure

__all__ = ["figure_png", "show"]


def figure_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes on the Agg canvas.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure_png(Figure(figsize=(1, 1)))[:4]
    b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _flatten(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, list | tuple):
            yield from _flatten(item)
        elif item is not None:
            yield item


def show(*items: Any) -> None:
    """Display items in order: ``str`` as markdown, figures as PNG, anything else as is.

    ``None`` is skipped and lists are flattened, so a section builder can return
    ``[note, figure, table]`` with optional parts.

    Examples
    --------
    >>> show(None, [])  # nothing to show: no output
    """
    from IPython.display import Image, Markdown, display

    for item in _flatten(items):
        if isinstance(item, str):
            display(Markdown(item))
        elif isinstance(item, Figure):
            display(Image(data=figure_png(item), format="png"))
        else:
            display(item)

"""Show report items in a notebook: markdown text, figures (as PNG) and tables.

``show`` is the one call the notebooks use, so figures always land in the notebook
as ``image/png`` outputs (embedded as base64 in the HTML export) whatever the
matplotlib backend of the kernel.

It is also the one place where values from the data are made inert for HTML
(the choke point: section builders interpolate team names, rep names, ids and
activity subjects freely, and never escape anything themselves):

* markdown text: every ``<`` that could open a tag, comment or autolink becomes
  ``&lt;`` and every ``[`` becomes ``&#91;`` (no raw HTML, no ``javascript:``
  links or images from the data). Section builders therefore never use raw HTML
  or markdown links.
* pandas ``Styler`` tables: cells, headers and the caption are HTML-escaped.
* polars and pandas frames escape themselves; great_tables objects and the
  report ``tables.Table`` (rendered by great_tables) escape their cells themselves.
* anything else is shown as plain text.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable
from typing import Any

from matplotlib.figure import Figure

__all__ = ["escape_markdown", "figure_png", "safe_styler", "show"]

#: ``<`` followed by what can start raw HTML or an autolink in CommonMark
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


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


def escape_markdown(text: str) -> str:
    """Markdown with no raw HTML and no links: safe whatever the data put into it.

    Comparisons such as ``48 < 70`` and markdown emphasis are kept as they are.

    Examples
    --------
    >>> escape_markdown("**<img src=x onerror=alert(1)>** 48 < 70")
    '**&lt;img src=x onerror=alert(1)>** 48 < 70'
    >>> escape_markdown("[click](javascript:alert(1))")
    '&#91;click](javascript:alert(1))'
    """
    return _TAG_START.sub("&lt;", text).replace("[", "&#91;")


def safe_styler(styler: Any) -> Any:
    """Escape a pandas ``Styler``'s cells, headers and caption for HTML (once).

    The report tables are frames of display strings, so the default formatter with
    ``escape="html"`` shows them unchanged, only escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> s = safe_styler(pd.DataFrame({"<b>": ["<i>x</i>"]}).style.set_caption("<u>"))
    >>> html_text = s.to_html()
    >>> "<i>" in html_text or "<b>" in html_text or "<u>" in html_text
    False
    """
    if getattr(styler, "_decision_stack_escaped", False):
        return styler
    styler = styler.format(escape="html")
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if styler.caption is not None:
        styler = styler.set_caption(html.escape(str(styler.caption)))
    styler._decision_stack_escaped = True
    return styler


def _flatten(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, list | tuple):
            yield from _flatten(item)
        elif item is not None:
            yield item


def _self_escaping(item: Any) -> bool:
    """Frames whose HTML representation escapes every value itself."""
    import pandas as pd
    import polars as pl

    from analysis.reports.tables import Table  # renders through great_tables, which escapes

    module = type(item).__module__ or ""
    return isinstance(item, pd.DataFrame | pd.Series | pl.DataFrame | pl.Series | Table) or (
        module.split(".")[0] == "great_tables"
    )


def show(*items: Any) -> None:
    """Display items in order: ``str`` as markdown, figures as PNG, tables escaped.

    ``None`` is skipped and lists are flattened, so a section builder can return
    ``[note, figure, table]`` with optional parts. Every value from the data is made
    inert here (module docstring).

    Examples
    --------
    >>> show(None, [])  # nothing to show: no output
    """
    from IPython.display import Image, Markdown, display
    from pandas.io.formats.style import Styler

    for item in _flatten(items):
        if isinstance(item, str):
            display(Markdown(escape_markdown(item)))
        elif isinstance(item, Figure):
            display(Image(data=figure_png(item), format="png"))
        elif isinstance(item, Styler):
            display(safe_styler(item))
        elif _self_escaping(item):
            display(item)
        else:
            display({"text/plain": str(item)}, raw=True)

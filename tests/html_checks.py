"""What an HTML page would fetch from elsewhere (the reports must be self-contained)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: attributes through which a page loads something
_LOADING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
#: ``url(http...)``, ``@import "http..."``, and an ``import("http...")`` in a script
_CSS_OR_JS = re.compile(
    r"""url\(\s*['"]?\s*(?:https?:)?//|@import\s+['"](?:https?:)?//|import\(\s*['"](?:https?:)?//""",
    re.IGNORECASE,
)


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.external: list[str] = []
        self.images: list[str] = []
        self.tables = 0
        self.scripts = 0
        self._raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in _LOADING.get(tag, ()):
            value = values.get(name) or ""
            if _EXTERNAL.match(value):
                self.external.append(f"<{tag} {name}={value[:80]}>")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "table":
            self.tables += 1
        if tag == "script":
            self.scripts += 1
        if tag in ("script", "style"):
            self._raw = tag
        style = values.get("style") or ""
        if _CSS_OR_JS.search(style):
            self.external.append(f"<{tag} style={style[:80]}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            for match in _CSS_OR_JS.finditer(data):
                self.external.append(f"<{self._raw}> {data[match.start() : match.start() + 80]}")


def page_loads(page: str) -> _Loads:
    """Parse ``page``: what it loads from elsewhere, its images, tables and scripts.

    Examples
    --------
    >>> p = page_loads('<script src="https://cdn.x/a.js"></script><img src="data:image/png;base64,AA">')
    >>> p.external, len(p.images), p.scripts
    (['<script src=https://cdn.x/a.js>'], 1, 1)
    """
    parser = _Loads()
    parser.feed(page)
    parser.close()
    return parser

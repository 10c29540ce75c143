"""decision-stack: measure the sales decision stack from the activity log.

Notebooks start with ``from analysis import load_metrics``: see
:func:`analysis.reports.data.load_metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["MetricsBundle", "__version__", "load_metrics"]

if TYPE_CHECKING:
    from analysis.reports.data import MetricsBundle, load_metrics


def __getattr__(name: str) -> Any:
    """``load_metrics`` and ``MetricsBundle`` load on first use (the CLI stays light)."""
    if name in ("load_metrics", "MetricsBundle"):
        from analysis.reports import data

        return getattr(data, name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")

"""Messages and progress: ``logging`` for messages, tqdm for long work, both quiet on demand.

Every module logs through :func:`get_logger` (the ``analysis`` logger). Messages go to
the *current* ``sys.stderr`` (so redirections and test captures see them) as
``[decision-stack] message``; :func:`configure` with ``quiet=True`` (``--quiet``) keeps
only warnings and errors. Long work shows one kind of progress: a tqdm bar from
:func:`progress`, hidden when quiet.

Examples
--------
>>> configure(quiet=True)
>>> get_logger("analysis.pipeline").isEnabledFor(logging.INFO)
False
>>> configure(quiet=False)
>>> get_logger("analysis.pipeline").isEnabledFor(logging.INFO)
True
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

__all__ = ["configure", "get_logger", "is_quiet", "progress"]

ROOT = "analysis"
PREFIX = "[decision-stack] "


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever ``sys.stderr`` is when a record is emitted."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # the base class assigns it; ignored
        pass


def _root() -> logging.Logger:
    logger = logging.getLogger(ROOT)
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter(PREFIX + "%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger


def get_logger(name: str = ROOT) -> logging.Logger:
    """The package logger (``analysis`` or a child of it), set up on first use."""
    _root()
    return logging.getLogger(name)


def configure(*, quiet: bool = False) -> None:
    """``quiet``: warnings and errors only, and no progress bars."""
    _root().setLevel(logging.WARNING if quiet else logging.INFO)


def is_quiet() -> bool:
    """True when informational messages (and progress bars) are off."""
    return not _root().isEnabledFor(logging.INFO)


def progress(*, enabled: bool = True, **kwargs: Any) -> Any:
    """A tqdm progress bar on stderr, disabled when ``enabled`` is false or quiet.

    Examples
    --------
    >>> with progress(total=2, desc="demo", enabled=False) as bar:
    ...     bar.update(2)
    >>> bar.disable
    True
    """
    from tqdm.auto import tqdm

    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("leave", False)
    return tqdm(disable=not enabled or is_quiet(), **kwargs)

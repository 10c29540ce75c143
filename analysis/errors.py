"""Errors the command line turns into exit status 2 with one clear line."""

from __future__ import annotations


class BadInputError(Exception):
    """Bad input or bad usage: the CLI prints ``str(err)`` on one line and exits 2.

    Examples
    --------
    >>> str(BadInputError("missing column", file="reps.csv", column="team"))
    'reps.csv: column team: missing column'
    """

    def __init__(self, message: str, *, file: object | None = None, column: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.column = column
        super().__init__(message)

    def __str__(self) -> str:
        parts = [
            p for p in (self.file, None if self.column is None else f"column {self.column}") if p
        ]
        text = ": ".join([*parts, self.message])
        return " ".join(text.split())  # always a single line

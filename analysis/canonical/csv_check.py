"""Check a canonical CSV file before polars reads it: shape problems and malformed lines.

One streaming pass over the file (constant memory) finds:

* problems that make the whole file unusable, each a :class:`BadInputError` (exit 2)
  naming the file and what to do: not UTF-8, old Mac (CR-only) line endings, a
  likely wrong delimiter (a header of one column holding ``;``, tab or ``|``), and
  duplicate header names;
* *malformed records*: a record whose number of fields differs from the header's, or
  whose quoting is broken (a quote inside an unquoted field, text after a closing
  quote, a quote never closed). Each is reported with its line number (the header
  is line 1) and quarantined as ``malformed_row``; the rest of the file is read.

Records follow RFC 4180: fields separated by ``,``; a field in double quotes may hold
commas, doubled quotes and line breaks. A quote never closed would swallow the rest
of the file, so a multi-line record that does not parse is cut back to its first line
(that line is malformed) and reading goes on with the next line. An empty line is a
record of empty values (as polars reads it), not a malformed one.

Well-formed files (the usual case) are confirmed by a vectorised pass (numpy, a few
seconds per GB); only a file that fails it gets the exact line-by-line pass that
finds each malformed record.
"""

from __future__ import annotations

import atexit
import codecs
import csv
import io
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import BadInputError

__all__ = ["CsvCheck", "check_csv", "write_without"]

_FIELD = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)'
_RECORD = re.compile(rf"{_FIELD}(?:,{_FIELD})*", re.DOTALL)
_ONE_FIELD = re.compile(_FIELD, re.DOTALL)


def _record_pattern(separator: str) -> re.Pattern[str]:
    """The RFC 4180 record pattern for a one-character ``separator``."""
    if separator == ",":
        return _RECORD
    sep = re.escape(separator)
    one = rf'(?:"(?:[^"]|"")*"|[^"{sep}\r\n]*)'
    return re.compile(rf"{one}(?:{sep}{one})*", re.DOTALL)


#: a quoted record may span at most this many lines before it is taken as broken
MAX_RECORD_LINES = 10_000
_CHUNK = 1 << 20


@dataclass
class CsvCheck:
    """What one pass over a CSV file found."""

    header: list[str]
    records: int = 0
    #: (line number, record text) of every malformed record, in file order
    malformed: list[tuple[int, str]] = field(default_factory=list)
    #: 1-based data-record numbers (counting malformed ones) of the malformed records
    malformed_records: list[int] = field(default_factory=list)


def _fields(text: str, separator: str = ",") -> int | None:
    """Number of fields of a record, or None when its quoting is broken."""
    if '"' not in text:
        return text.count(separator) + 1
    if _record_pattern(separator).fullmatch(text) is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=separator)
    return len(next(reader))


def _lines(path: Path):  # type: ignore[no-untyped-def]
    """Decoded lines (without their line ending), raising a clear error on bad UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    pending = ""
    offset = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                raise BadInputError(
                    f"not UTF-8 text (a byte at about offset {offset + err.start} cannot be "
                    "read; the file is probably Latin-1 or Windows-1252): save it as UTF-8 "
                    "(e.g. 'CSV UTF-8' in Excel) and run again",
                    file=path,
                ) from None
            offset += len(chunk)
            pending += text
            parts = pending.split("\n")
            pending = parts.pop()
            for part in parts:
                yield part[:-1] if part.endswith("\r") else part
            if not chunk:
                break
    if pending:
        yield pending[:-1] if pending.endswith("\r") else pending


def _data_offset(path: Path) -> int:
    """Byte offset of the first data line (after the header line)."""
    with open(path, "rb") as fh:
        head = b""
        while b"\n" not in head:
            block = fh.read(1 << 16)
            if not block:
                return len(head)
            head += block
    return head.index(b"\n") + 1


def check_csv(
    path: str | Path,
    *,
    fast: bool = True,
    separator: str = ",",
    duplicate_names_ok: bool = False,
) -> CsvCheck:
    """One pass over ``path``: the header, and every malformed record (module docstring).

    ``separator`` is the one-character field separator (the wrong-delimiter check is
    made for commas only); ``duplicate_names_ok`` accepts a header naming a column twice
    (the ingest readers, whose CRM exports may, take the first).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text('a,b\\n1,2\\n3,4,5\\n"6\\n7",8\\n9,1"0\\n11,12\\n')
    >>> found = check_csv(p)
    >>> found.records, [line for line, _ in found.malformed], found.malformed_records
    (5, [3, 6], [2, 4])
    """
    path = Path(path)
    lines = _lines(path)
    header_line = next(lines, None)
    if header_line is None or not header_line.strip():
        raise BadInputError("empty file (no header row)", file=path)
    if "\r" in header_line:
        raise BadInputError(
            "uses old Mac line endings (CR only): convert it to LF or CRLF line endings "
            "(e.g. save it again as CSV) and run again",
            file=path,
        )
    if len(separator) != 1 or separator in '"\r\n':
        raise BadInputError(f"unusable field separator {separator!r}: give one character")
    n = _fields(header_line, separator)
    if n is None:
        raise BadInputError("the header row's quoting is broken: fix the first line", file=path)
    header = next(csv.reader([header_line], delimiter=separator))
    if len(header) == 1 and separator == ",":
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in header_line:
                raise BadInputError(
                    f"looks {name}-separated (the header has one column holding {sep!r}): "
                    "save it comma-separated and run again",
                    file=path,
                )
    seen: dict[str, str] = {}
    for name in header:
        key = name.strip().lower()
        if key in seen and not duplicate_names_ok:
            raise BadInputError(
                f"duplicate column name {name!r} (also {seen[key]!r}; names are matched "
                "case-insensitively): rename or drop one of them",
                file=path,
            )
        seen[key] = name
    if fast:
        ok, records = _well_formed(path, n, _data_offset(path), separator=separator)
        if ok:
            return CsvCheck(header=header, records=records)
    result = CsvCheck(header=header)
    line_no = 1
    queue: list[tuple[int, str]] = []  # lines pushed back after a cut-back record

    def next_line() -> tuple[int, str] | None:
        nonlocal line_no
        if queue:
            return queue.pop()
        text = next(lines, None)
        if text is None:
            return None
        line_no += 1
        return line_no, text

    while (item := next_line()) is not None:
        start, text = item
        if not text:  # an empty line: a row of empty values for polars
            result.records += 1
            continue
        parts = [(start, text)]
        # a quote left open continues the record on the next line
        odd = text.count('"') % 2 == 1
        while odd and len(parts) < MAX_RECORD_LINES:
            more = next_line()
            if more is None:
                break
            parts.append(more)
            odd ^= more[1].count('"') % 2 == 1
        if len(parts) > 1:
            text = "\n".join(t for _, t in parts)
        count = _fields(text, separator)
        result.records += 1
        if count == n:
            continue
        if len(parts) > 1:  # cut back: only the first line is malformed
            queue.extend(reversed(parts[1:]))
            text = parts[0][1]
        result.malformed.append((start, text))
        result.malformed_records.append(result.records)
    return result


_SCAN_CHUNK = 1 << 25


def _well_formed(path: Path, fields: int, start: int, *, separator: str = ",") -> tuple[bool, int]:
    """Vectorised pass (numpy, 32 MiB at a time) over the data after the header.

    True when every record has ``fields`` fields and every quote sits where RFC 4180
    allows it (so no malformed record exists); also the number of records. Quote
    parity carries across lines and chunks, so quoted line breaks are understood. Only
    the positions of commas, quotes and line feeds are handled, never every byte.
    """
    import numpy as np

    comma, quote, newline, cr = ord(separator), 34, 10, 13
    if comma > 127:  # a multi-byte separator: the exact pass decides
        return False, 0
    parity = 0  # inside a quoted field at the chunk start
    seps_open = 0  # separators in the record still open at the chunk start
    length_open = 0  # bytes of that record so far
    prev = newline  # the byte before the chunk
    records = 0
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    with open(path, "rb") as fh:
        fh.seek(start)
        chunk = fh.read(_SCAN_CHUNK)
        while chunk:
            following = fh.read(_SCAN_CHUNK)
            try:
                decoder.decode(chunk, final=not following)
            except UnicodeDecodeError:
                return False, records  # the exact pass says where
            arr = np.frombuffer(chunk, dtype=np.uint8)
            last = len(arr) - 1
            qpos = np.flatnonzero(arr == quote)
            cpos = np.flatnonzero(arr == comma)
            npos = np.flatnonzero(arr == newline)
            if len(qpos):
                opening = ((np.arange(len(qpos)) + parity) & 1) == 0
                before = np.where(qpos > 0, arr[np.maximum(qpos - 1, 0)], prev)
                after = np.where(
                    qpos < last,
                    arr[np.minimum(qpos + 1, last)],
                    following[0] if following else newline,
                )
                # an opening quote follows a separator, a record start or (escaped) a
                # quote; a closing quote is followed by a separator, a line end or a quote
                bad_open = opening & (before != comma) & (before != newline) & (before != quote)
                bad_close = (
                    ~opening
                    & (after != comma)
                    & (after != newline)
                    & (after != cr)
                    & (after != quote)
                )
                if np.any(bad_open | bad_close):
                    return False, records
                cpos = cpos[((np.searchsorted(qpos, cpos) + parity) & 1) == 0]
                npos = npos[((np.searchsorted(qpos, npos) + parity) & 1) == 0]
            elif parity:
                cpos = npos = cpos[:0]
            ends = npos
            if len(ends):
                before_end = np.searchsorted(cpos, ends)
                counts = np.diff(np.concatenate(([0], before_end)))
                counts[0] += seps_open
                starts = np.concatenate(([-1], ends[:-1]))
                lengths = ends - starts - 1
                lengths[0] += length_open
                last_byte = np.where(ends > 0, arr[np.maximum(ends - 1, 0)], prev)
                # an empty line (nothing, or a lone CR) is a row of empty values
                blank = (lengths == 0) | ((lengths == 1) & (last_byte == cr))
                if np.any(~blank & (counts + 1 != fields)):
                    return False, records
                records += len(ends)
                seps_open = len(cpos) - int(before_end[-1])
                length_open = last - int(ends[-1])
            else:
                seps_open += len(cpos)
                length_open += len(arr)
            parity = (parity + len(qpos)) & 1
            prev = int(arr[-1])
            chunk = following
    if parity:
        return False, records  # a quote never closed
    if length_open and not (length_open == 1 and prev == cr):
        if seps_open + 1 != fields:
            return False, records
        records += 1
    return True, records


def _cleanup(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def write_without(path: str | Path, check: CsvCheck, *, separator: str = ",") -> Path:
    """A copy of the CSV without its malformed records (a temporary file, removed at exit)."""
    bad = {line for line, _ in check.malformed}
    folder = tempfile.mkdtemp(prefix="decision-stack-csv-")
    atexit.register(_cleanup, folder)
    out = Path(folder) / Path(path).name
    with open(out, "w", encoding="utf-8", newline="") as dest:
        dest.write(separator.join(_quote(h, separator) for h in check.header) + "\n")
        lines = _lines(Path(path))
        next(lines)
        line_no = 1
        for text in lines:
            line_no += 1
            if line_no not in bad:
                dest.write(text + "\n")
    return out


def _quote(name: str, separator: str = ",") -> str:
    special = (separator, '"', "\n", "\r")
    return f'"{name.replace(chr(34), chr(34) * 2)}"' if any(c in name for c in special) else name

"""Reading x,y data from a CSV file: the one reader the CLI and the app use.

Accepted (``accepted()``, shown beside every upload): two numeric columns separated by
commas, semicolons, tabs, pipes or spaces; an optional header row (with more columns,
the columns named x and y are taken); UTF-8 (or UTF-16 with its byte-order mark) text;
at most ``limits().rows`` rows and ``limits().upload_mb`` MB; values up to ``MAX_ABS``
in size.

Cleaning, always reported in ``XY.notes`` (the app and the CLI show every note):

* blank lines and lines starting with ``#`` are skipped;
* with ``;`` as the delimiter a decimal comma is read as a point (``1,5;2`` is 1.5, 2);
* rows that are not two finite numbers (text, an empty cell, NaN, inf, a missing or an
  extra column) are dropped, if at most half the rows are; more than that is an error
  (usually a wrong file or delimiter);
* text that is not UTF-8 is read as Latin-1 (only the numbers matter);
* more rows than a KDE keeps (``limits().kde_points``) are thinned to a random subset
  (seed 0, so the same file gives the same subset).

Anything else -- an empty or binary file, fewer than 2 good rows, no spread, values
beyond ``MAX_ABS``, too many rows or bytes -- raises ``DataError`` saying what is
accepted. Pandas parses (its C engine, with a row-by-row fallback for ragged files).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .validate import InvalidInput, check_bytes, limits

MAX_ABS = 1e6            # the explorer draws a box of a few units; beyond this float32 particles lose precision
DELIMITERS = (",", ";", "\t", "|")


def accepted() -> str:
    lim = limits()
    return ("a CSV of x,y rows: two numeric columns separated by comma, semicolon, tab, pipe or spaces "
            f"(or columns named x and y), an optional header, 2 to {lim.rows:,} rows of finite numbers "
            f"up to {MAX_ABS:g} in size, at most {lim.upload_mb} MB")



class DataError(ValueError):
    pass


@dataclass
class XY:
    """The points read, (n, 2) float64, and what cleaning did to the file."""

    points: np.ndarray
    rows_read: int
    notes: list[str] = field(default_factory=list)


def read_xy_file(path) -> XY:
    """``read_xy`` of a file."""
    try:
        import os
        check_bytes(os.path.getsize(path), f"'{path}'")
        with open(path, "rb") as fh:
            return read_xy(fh.read())
    except OSError as e:
        raise DataError(f"cannot read '{path}': {e.strerror}") from None
    except InvalidInput as e:
        raise DataError(f"{e}") from None


def _decode(raw: bytes, notes: list) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):          # UTF-16 with a BOM (Excel's "Unicode text")
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"the file claims UTF-16 but is not; expected {accepted()}") from None
    if b"\x00" in raw[:8192]:
        raise DataError("the file is binary (a spreadsheet, an image, a model?), not CSV text; save it as CSV: "
                        f"expected {accepted()}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append("the file is not UTF-8: read as Latin-1 (only its numbers are used)")
        return raw.decode("latin-1")


def _delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the first lines into the same number (>= 2) of fields;
    None: whitespace."""
    best, best_score = None, 0
    for d in DELIMITERS:
        counts = [len(_split(ln, d)) for ln in lines]
        if min(counts) >= 2:
            score = sum(c == counts[0] for c in counts)
            if score > best_score:
                best, best_score = d, score
    return best


def read_xy(source) -> XY:
    """Parse CSV text or bytes (an upload, a file) into ``XY``; DataError otherwise."""
    notes: list[str] = []
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            check_bytes(len(source))
            text = _decode(bytes(source), notes)
        else:
            check_bytes(len(source))
            text = str(source)
    except InvalidInput as e:
        raise DataError(f"{e}") from None
    lim = limits()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"the file is empty; expected {accepted()}")
    if len(lines) > lim.rows + 1:
        raise DataError(f"the file has {len(lines):,} rows, more than this server reads ({lim.rows:,}; "
                        f"{lim.env_name('rows')} raises it): take a sample of the rows; expected {accepted()}")
    delim = _delimiter(lines[:20])
    first = [c.strip().strip('"').strip() for c in _split(lines[0], delim)]
    if len(first) < 2:
        raise DataError(f"the first row has one column ({lines[0][:40]!r}): no comma, semicolon, tab, pipe or "
                        f"space separates x from y; expected {accepted()}")
    cols, header = (0, 1), False
    if not _numeric(first[0], delim) and not _numeric(first[1], delim):
        header = True
        names = [c.lower() for c in first]
        if "x" in names and "y" in names:
            cols = (names.index("x"), names.index("y"))
        elif len(names) != 2:
            raise DataError(f"the header names {len(names)} columns but none is called x and y; "
                            f"expected {accepted()}")
    elif len(first) > 2:
        raise DataError(f"the rows have {len(first)} columns and no header names x and y; expected {accepted()}")
    body = lines[1:] if header else lines
    n = len(body)
    if n < 2:
        raise DataError(f"the file has {n} data row(s); a density needs at least 2; expected {accepted()}")
    xy, kept = _parse(body, delim, cols, len(first) if header else 2)
    dropped = n - len(xy)
    if dropped:
        where = "data rows " + ", ".join(map(str, np.flatnonzero(~kept)[:5] + 1)) + (" ..." if dropped > 5 else "")
        if dropped > n / 2 or len(xy) < 2:
            raise DataError(f"{dropped:,} of {n:,} rows are not two finite numbers ({where}): is this "
                            f"the right file and delimiter? expected {accepted()}")
        notes.append(f"dropped {dropped:,} of {n:,} rows that were not two finite numbers ({where})")
    big = np.abs(xy).max() if len(xy) else 0.0
    if big > MAX_ABS:
        raise DataError(f"values up to {big:.3g} in size: rescale the data to within ±{MAX_ABS:g} (the explorer "
                        "draws a box a few units wide); expected " + accepted())
    if (xy.std(0) == 0).any():
        raise DataError("the data have no spread in x or in y (all values equal); a 2-D density needs both")
    rows_read = len(xy)
    if rows_read > lim.kde_points:
        keep = np.sort(np.random.default_rng(0).choice(rows_read, lim.kde_points, replace=False))
        xy = xy[keep]
        notes.append(f"kept a random {lim.kde_points:,} of the {rows_read:,} rows (seed 0): a KDE's score costs "
                     f"one kernel per point ({lim.env_name('kde_points')} raises it)")
    return XY(xy, rows_read, notes)


def _split(line: str, delim) -> list[str]:
    if not delim:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delim, quoting=csv.QUOTE_NONE))
    except csv.Error:            # e.g. a NUL character: the row will not be numbers anyway
        return line.split(delim)


def _numeric(cell: str, delim) -> bool:
    try:
        float(cell.replace(",", ".") if delim == ";" else cell)
        return True
    except ValueError:
        return False


def _parse(body: list[str], delim, cols, ncols) -> tuple[np.ndarray, np.ndarray]:
    """(points, kept mask over body rows): pandas reads every row as text; a row is kept
    if its x and y are finite numbers and it has no field beyond the ``ncols`` expected."""
    names = list(range(ncols + 1))               # one spare column catches extra fields
    try:
        frame = pd.read_csv(io.StringIO("\n".join(body)), sep=delim if delim else r"\s+", header=None, names=names,
                            dtype=str, engine="c", quoting=csv.QUOTE_NONE, skip_blank_lines=False,
                            on_bad_lines="skip", keep_default_na=False)
    except (pd.errors.ParserError, ValueError):   # e.g. a stray quote or NUL: split row by row instead
        frame = None
    if frame is None or len(frame) != len(body):  # lines with more fields than the spare were dropped
        frame = _aligned(body, delim, ncols)
    vals = []
    for c in cols:
        s = frame[c].astype(str).str.strip().str.strip('"')
        if delim == ";":
            s = s.str.replace(",", ".", regex=False)
        vals.append(pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64))
    xy = np.stack(vals, 1)
    kept = np.isfinite(xy).all(1)
    kept &= frame[ncols].astype(str).str.strip().eq("").to_numpy() | frame[ncols].isna().to_numpy()
    return xy[kept], kept


def _aligned(body, delim, ncols):
    """Row-by-row split (slow path, only for ragged files): the first ncols fields and
    whether more follow."""
    rows = []
    for ln in body:
        f = _split(ln, delim)
        rows.append((f + [""] * (ncols + 1))[:ncols] + [",".join(f[ncols:])])
    return pd.DataFrame(rows, columns=list(range(ncols + 1)))

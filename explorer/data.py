"""Reading x,y data from CSV text: the one reader the CLI and the app use.

Accepted: two numeric columns (comma, semicolon, tab or whitespace separated), an
optional header row; with more columns, columns named x and y are taken. Every row
must be finite numbers; between 2 and ``MAX_ROWS`` rows. Anything else raises
``DataError`` with a message that says what is accepted.
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np

MAX_ROWS = 1_000_000
ACCEPTED = ("a CSV of x,y rows: two numeric columns (or columns named x and y), "
            f"an optional header, 2 to {MAX_ROWS:,} rows of finite numbers")


class DataError(ValueError):
    pass


def read_xy_file(path) -> np.ndarray:
    """``read_xy`` of a file's bytes."""
    try:
        with open(path, "rb") as fh:
            return read_xy(fh.read())
    except OSError as e:
        raise DataError(f"cannot read '{path}': {e.strerror}") from None


def read_xy(source) -> np.ndarray:
    """Parse CSV text or bytes into an (n, 2) float64 array."""
    if isinstance(source, (bytes, bytearray)):
        try:
            text = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"the file is not UTF-8 text; expected {ACCEPTED}") from None
    else:
        text = source
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"the file is empty; expected {ACCEPTED}")
    if len(lines) > MAX_ROWS + 1:
        raise DataError(f"the file has {len(lines):,} rows, more than {MAX_ROWS:,}; expected {ACCEPTED}")
    sample = lines[0]
    delim = next((d for d in (",", ";", "\t") if d in sample), None)
    rows = ([r for r in csv.reader(lines, delimiter=delim)] if delim else [ln.split() for ln in lines])
    rows = [[c.strip() for c in r] for r in rows]
    cols = [0, 1]
    try:
        [float(c) for c in rows[0]]
    except ValueError:
        header = [c.lower() for c in rows[0]]
        rows = rows[1:]
        if "x" in header and "y" in header:
            cols = [header.index("x"), header.index("y")]
        elif len(header) != 2:
            raise DataError(f"the header names {len(header)} columns but none is called x and y; "
                            f"expected {ACCEPTED}") from None
    if len(rows) < 2:
        raise DataError(f"the file has {len(rows)} data row(s); a density needs at least 2; expected {ACCEPTED}")
    out = np.empty((len(rows), 2))
    for i, r in enumerate(rows):
        if len(r) < max(cols) + 1 or (cols == [0, 1] and len(r) != 2):
            raise DataError(f"row {i + 1} has {len(r)} column(s); expected {ACCEPTED}")
        try:
            a, b = float(r[cols[0]]), float(r[cols[1]])
        except ValueError:
            raise DataError(f"row {i + 1} is not numeric ({', '.join(r)[:40]!r}); expected {ACCEPTED}") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise DataError(f"row {i + 1} holds NaN or inf; expected {ACCEPTED}")
        out[i] = a, b
    if (out.std(0) == 0).any():
        raise DataError("the data have no spread in x or in y (all values equal); a 2-D density needs both")
    return out

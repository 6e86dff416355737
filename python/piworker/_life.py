"""Boards between Python and pisubmit's life: arrays or lists of rows in,
RLE files (Golly's format) on the way, arrays out."""

from __future__ import annotations

import os
import re
from typing import Any, List

from . import _values


def to_cells_text(board: Any) -> str:
    """A board (a 2-D array, a list of rows of 0/1 or of '.'/'O' strings)
    as a plaintext .cells pattern of exactly its size."""
    rows: List[str] = []
    np = _values.numpy()
    if np is not None and isinstance(board, np.ndarray):
        if board.ndim != 2:
            raise ValueError(f"life: a board must be 2-D, this array has {board.ndim} dimensions")
        rows = ["".join("O" if v else "." for v in row) for row in board.tolist()]
    else:
        for i, row in enumerate(board):
            if isinstance(row, str):
                bad = set(row) - set(".O*o")
                if bad:
                    raise ValueError(f"life: row {i} holds {sorted(bad)!r}: use '.' for dead and 'O' for alive")
                rows.append("".join("O" if c in "O*o" else "." for c in row))
            else:
                rows.append("".join("O" if v else "." for v in row))
    if not rows or not rows[0]:
        raise ValueError("life: the board is empty")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"life: row {i} has {len(row)} cells, row 0 has {width}")
    # A .cells row that ends in dead cells may be cut short; keep them whole
    # so that the pattern's size is the board's.
    return "!piworker board\n" + "\n".join(rows) + "\n"


_RUN = re.compile(rb"(\d*)([bo$!A-Za-z.])")


def read_rle(path: str, width: int, height: int) -> Any:
    """pisubmit's RLE output as a height x width array of 0/1 (uint8), or a
    list of bytearrays without NumPy."""
    with open(path, "rb") as f:
        lines = [ln for ln in f.read().splitlines() if not ln.startswith(b"#")]
    if not lines or not lines[0].startswith(b"x"):
        raise ValueError(f"life: {path} is not an RLE file")
    body = b"".join(lines[1:])
    rows = [bytearray(width) for _ in range(height)]
    y = x = 0
    for count, tag in _RUN.findall(body):
        n = int(count) if count else 1
        if tag == b"!":
            break
        if tag == b"$":
            y += n
            x = 0
        elif tag in (b"b", b"."):
            x += n
        else:
            if y >= height or x + n > width:
                raise ValueError(f"life: {path} has cells outside {width}x{height}")
            rows[y][x : x + n] = b"\x01" * n
            x += n
    np = _values.numpy()
    if np is not None:
        return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width).copy()
    return rows


def is_rle_text(text: str) -> bool:
    """RLE (a header line "x = ..." after the comments) rather than .cells."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            return line.startswith("x")
    return False


def is_pattern_file(board: Any) -> bool:
    """A path (of an RLE or .cells file) rather than the pattern's text:
    text has more than one line."""
    return isinstance(board, os.PathLike) or (isinstance(board, str) and "\n" not in board.strip())

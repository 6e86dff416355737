"""Numbers in and out: NumPy arrays when NumPy is there, the standard
library's array and memoryview otherwise."""

from __future__ import annotations

import array
import sys
from typing import Any, Iterable, Optional, Tuple

try:  # NumPy is optional: everything works without it.
    import numpy as _np
except ImportError:  # pragma: no cover - the no-NumPy tests hide it
    _np = None


_numpy_hidden = False


def numpy() -> Any:
    """NumPy, or None when it is not installed (or hidden by the tests)."""
    return None if _numpy_hidden else _np


def hide_numpy(hidden: bool) -> None:
    """For the tests: behave as if NumPy were not installed."""
    global _numpy_hidden
    _numpy_hidden = hidden


def u64_from_text(lines: bytes) -> Any:
    """Decimal numbers, one a line, as uint64: a NumPy array or array('Q')."""
    np = numpy()
    words = lines.split()
    if np is not None:
        return np.array(words, dtype=np.uint64) if words else np.zeros(0, dtype=np.uint64)
    return array.array("Q", map(int, words))


def npy_parts(path: str) -> Tuple[bytes, bytes]:
    """A .npy file's header (its dict, as text) and its body, for a reader
    without NumPy: pisubmit's files hold C-order arrays, so the body is the
    values in order."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY" or len(data) < 10:
        raise ValueError(f"{path}: not a .npy file")
    # Version 1.0 gives the header's length in 2 bytes, 2.0 and 3.0 in 4.
    size = 2 if data[6] == 1 else 4
    end = 8 + size + int.from_bytes(data[8 : 8 + size], "little")
    return data[8 + size : end], data[end:]


def read_u64_npy(path: str) -> Any:
    """A 1-D little-endian uint64 .npy file as pisubmit writes one: NumPy's
    array, or array('Q') read past the header without NumPy."""
    np = numpy()
    if np is not None:
        return np.load(path, allow_pickle=False)
    header, body = npy_parts(path)
    if b"'<u8'" not in header:
        raise ValueError(f"{path}: not little-endian uint64 ({header.decode(errors='replace').strip()})")
    out = array.array("Q")
    out.frombytes(body)
    if sys.byteorder != "little":
        out.byteswap()
    return out


# Formats of a buffer's items, by (kind, size): what reduce's --dtype names.
_DTYPES = {("f", 8): "f64", ("i", 8): "i64", ("f", 4): "f32", ("i", 4): "i32"}


def buffer_dtype(view: memoryview) -> Optional[str]:
    """reduce's --dtype for a buffer's items in this machine's order, or
    None when the format is not one reduce reads."""
    fmt = view.format.lstrip("@=<")
    if view.format.startswith(">") or (view.format.startswith("!")):
        return None
    kinds = {"d": ("f", 8), "f": ("f", 4), "q": ("i", 8), "l": ("i", view.itemsize), "i": ("i", 4)}
    kind = kinds.get(fmt)
    return _DTYPES.get(kind) if kind else None


def numbers_to_buffer(values: Iterable[Any]) -> Tuple[memoryview, str]:
    """An iterable of Python numbers as a buffer: int64 when every one is an
    int that fits, else float64."""
    items = list(values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        try:
            return memoryview(array.array("q", items)).cast("B"), "i64"
        except OverflowError:
            pass
    return memoryview(array.array("d", (float(v) for v in items))).cast("B"), "f64"


LITTLE_ENDIAN = sys.byteorder == "little"


def address_of(view: memoryview) -> Tuple[int, memoryview]:
    """The address of a contiguous byte view's first byte, and a view that
    must stay alive while the address is used (it keeps the memory
    exported: the owner cannot resize or free it). Read-only buffers
    without NumPy are copied once; everything else is read in place."""
    import ctypes

    if len(view) == 0:
        return 0, view
    np = numpy()
    if np is not None:
        flat = np.frombuffer(view, dtype=np.uint8)
        return int(flat.ctypes.data), memoryview(flat)
    if view.readonly:
        view = memoryview(bytearray(view))
    return ctypes.addressof(ctypes.c_char.from_buffer(view)), view

"""The package without NumPy: arrays are the standard library's."""

from __future__ import annotations

import array

import pytest

import piworker
from piworker import _values


@pytest.fixture
def no_numpy():
    _values.hide_numpy(True)
    yield
    _values.hide_numpy(False)


def test_primes_come_as_array_q(cluster, no_numpy):
    got = cluster.primes_array(1, 100)
    assert isinstance(got, array.array) and got.typecode == "Q"
    assert got.tolist()[:5] == [2, 3, 5, 7, 11] and len(got) == 25
    chunks = list(cluster.iter_primes(1, 1000))
    assert all(isinstance(c, array.array) for c in chunks)


def test_life_comes_as_rows_of_bytes(cluster, no_numpy):
    rows = cluster.life([".....", "..O..", "..O..", "..O..", "....."], 1)
    assert [bytes(r) for r in rows] == [b"\0\0\0\0\0", b"\0\0\0\0\0", b"\0\1\1\1\0", b"\0\0\0\0\0", b"\0\0\0\0\0"]


def test_reduce_of_lists_and_buffers(cluster, no_numpy):
    assert cluster.reduce("sum", [1, 2, 3]) == 6
    assert cluster.reduce("max", array.array("d", [1.5, -2.0, 7.25])) == 7.25
    assert cluster.reduce("count", array.array("i", range(10))) == 10


def test_npy_files_read_without_numpy_are_checked(tmp_path, no_numpy):
    # A version 2.0 header (4-byte length), as NumPy writes for long
    # dicts: the body after it is what is read.
    header = b"{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }".ljust(59) + b"\n"
    v2 = tmp_path / "v2.npy"
    v2.write_bytes(b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header + (7).to_bytes(8, "little") * 2)
    assert _values.read_u64_npy(str(v2)).tolist() == [7, 7]
    floats = tmp_path / "floats.npy"
    f8 = header.replace(b"<u8", b"<f8")
    floats.write_bytes(b"\x93NUMPY\x01\x00" + len(f8).to_bytes(2, "little") + f8 + bytes(16))
    with pytest.raises(ValueError, match="not little-endian uint64"):
        _values.read_u64_npy(str(floats))
    text = tmp_path / "primes.txt"
    text.write_text("2\n3\n")
    with pytest.raises(ValueError, match="not a .npy file"):
        _values.read_u64_npy(str(text))

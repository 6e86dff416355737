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

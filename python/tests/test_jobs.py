"""Every job call against real workers, checked against pisubmit's own
answer to the same job and against references in Python itself."""

from __future__ import annotations

import array
import math
import random

import pytest

import piworker
from conftest import pisubmit_json, sieve

# NumPy is required here (the test venv sees Debian's python3-numpy); the
# no-NumPy paths are in test_without_numpy.py.
import numpy as np  # noqa: E402


def hosts(c: piworker.Cluster) -> list:
    return c.hosts.split(",")


def test_ping_and_status_name_every_worker(cluster):
    pinged = cluster.ping()
    assert [h["address"] for h in pinged] == hosts(cluster)
    assert all(h["state"] == "ok" and h["rtt_ms"] >= 0 for h in pinged)
    assert [h["threads"] for h in pinged] == [2, 1]
    status = cluster.status()
    assert [h["address"] for h in status] == hosts(cluster)
    # This machine is no Pi: facts it lacks are None, not missing or 0.
    for h in status:
        assert h["state"] == "up"
        assert "temp_c" in h and (h["temp_c"] is None or isinstance(h["temp_c"], float))
        assert h["model"] is None or isinstance(h["model"], str)
    assert cluster.threads() == 3


def test_loopsum_is_pisubmits_and_the_closed_form(cluster):
    got = cluster.loopsum()
    assert got == pisubmit_json(hosts(cluster), "loopsum")["result"]
    # Seed 000: sum over t < 4001, u < 4001 of t*u = (4000*4001/2)^2.
    assert got == (4000 * 4001 // 2) ** 2
    assert cluster.loopsum((-300, 9001), 7001, 0.1) == pisubmit_json(
        hosts(cluster), "loopsum", "--t-range", "-300..9001", "--u-len", "7001", "--c", "0.1"
    )["result"]


def test_pi_and_its_report(cluster):
    got = cluster.pi(2_000_000, seed=7)
    want = pisubmit_json(hosts(cluster), "pi", "--samples", "2000000", "--seed", "7")
    assert got == want["result"]
    assert abs(got - math.pi) < 0.01
    report = cluster.last_report
    assert report["job"] == "pi" and report["samples"] == 2_000_000 and report["inside"] == want["inside"]
    assert report["wall_ms"] > 0
    assert sum(h["pieces"] for h in report["hosts"]) >= 1
    assert all(h["failures"] == 0 for h in report["hosts"])


def test_primes_count_largest_array_and_chunks(cluster):
    reference = sieve(2_000_000)
    assert cluster.primes(1, 2_000_000) == (len(reference), reference[-1])
    assert cluster.primes(24, 28) == piworker.Primes(0, None)
    got = cluster.primes_array(1, 2_000_000)
    assert isinstance(got, np.ndarray) and got.dtype == np.uint64
    assert got.tolist() == reference
    # Chunks come as they arrive; 10^7 numbers are several pieces.
    chunks = list(cluster.iter_primes(10**7, 2 * 10**7))
    assert len(chunks) > 1
    joined = np.concatenate(chunks)
    assert len(joined) == cluster.primes(10**7, 2 * 10**7).count
    assert (np.diff(joined.astype(np.int64)) > 0).all()


def test_powers_is_pythons_pow(cluster):
    nums, exps = [1.5, 2.0, 3.0, 10.0], [1.0, 2.0, 0.5, -3.0]
    table = cluster.powers(nums, exps)
    assert table == [[n**e for n in nums] for e in exps]


def test_reduce_of_arrays_buffers_lists_and_files(cluster, tmp_path):
    rng = random.Random(5)
    floats = np.array([rng.uniform(-1e300, 1e300) for _ in range(100_000)] + [1e-300, -3.5])
    assert cluster.reduce("sum", floats) == math.fsum(floats.tolist())
    assert cluster.reduce("min", floats) == floats.min()
    assert cluster.reduce("max", floats) == floats.max()
    assert cluster.reduce("count", floats) == len(floats)
    ints = np.array([rng.randrange(-(2**63), 2**63) for _ in range(50_000)], dtype=np.int64)
    # The exact sum overflows int64: it comes back as a Python int.
    assert cluster.reduce("sum", ints) == sum(ints.tolist())
    assert cluster.reduce("sum", ints[::3]) == sum(ints[::3].tolist()), "a strided view"
    assert cluster.reduce("sum", np.arange(12, dtype=np.int32).reshape(3, 4)) == 66
    assert cluster.reduce("sum", np.array([0.5, 0.25], dtype=np.float32)) == 0.75
    assert cluster.reduce("sum", array.array("d", [0.1] * 10)) == math.fsum([0.1] * 10)
    assert cluster.reduce("sum", [1, 2, 3, 2**62, 2**62]) == 6 + 2**63
    assert cluster.reduce("sum", (x / 10 for x in range(100))) == math.fsum(x / 10 for x in range(100))
    text = tmp_path / "values.txt"
    text.write_text("\n".join(str(x) for x in range(1, 1001)) + "\n")
    assert cluster.reduce("sum", text) == 500500
    assert cluster.reduce("sum", str(text)) == 500500
    with pytest.raises(piworker.UsageError, match="complex"):
        cluster.reduce("sum", np.zeros(3, dtype=np.complex128))


def test_reduce_reads_an_array_in_its_own_dtype_and_order_without_a_copy(cluster):
    rng = random.Random(9)
    ints = [rng.randrange(0, 120) for _ in range(10_001)]
    floats = [rng.uniform(-1e6, 1e6) for _ in range(10_001)]
    for descr in ["<f8", ">f8", "<f4", ">f4"]:
        a = np.array(floats, dtype=descr)
        assert cluster.reduce("sum", a) == math.fsum(a.tolist()), descr
        assert cluster.reduce("min", a) == a.min() and cluster.reduce("max", a) == a.max(), descr
    for descr in ["<i8", ">i8", "<i4", ">i4", "<i2", ">i2", "|i1", "<u4", ">u4", "<u2", ">u2", "|u1"]:
        a = np.array(ints, dtype=descr)
        assert cluster.reduce("sum", a) == sum(ints), descr
        assert cluster.reduce("count", a) == len(ints), descr
    negative = np.array([-128, -1, 127], dtype=np.int8)
    assert cluster.reduce("sum", negative) == -2 and cluster.reduce("min", negative) == -128
    # A Fortran-ordered board is read where it lies: ravel("K") is a view.
    board = np.asfortranarray(np.arange(600, dtype=">i4").reshape(20, 30))
    assert np.shares_memory(board.ravel(order="K"), board)
    assert cluster.reduce("sum", board) == sum(range(600))
    with pytest.raises(piworker.UsageError, match="uint64"):
        cluster.reduce("sum", np.zeros(3, dtype=np.uint64))
    with pytest.raises(piworker.UsageError, match="bool"):
        cluster.reduce("sum", np.zeros(3, dtype=bool))


def test_echo_counts_every_byte(cluster):
    assert cluster.echo(3_000_000) == 3_000_000


def test_farm_yields_in_order_or_as_they_finish(cluster):
    tasks = ["300 slow", "10 quick", "20 second"]
    assert list(cluster.farm(tasks)) == tasks
    unordered = list(cluster.farm(iter(tasks), ordered=False))
    assert sorted(unordered) == sorted(tasks)
    assert unordered[-1] == "300 slow", unordered
    assert cluster.last_report["result"] == 3


def test_farm_tasks_are_read_as_they_are_produced(cluster):
    # A generator that waits for the first result before producing the
    # second task: it only ends if the farm reads tasks as they come and
    # yields results before its input ends.
    got = []
    results = None

    def tasks():
        yield "5 first"
        while not got:
            import time

            time.sleep(0.01)
        yield "5 second"

    results = cluster.farm(tasks(), ordered=False)
    for line in results:
        got.append(line)
    assert got == ["5 first", "5 second"]


def test_exec_over_a_range_and_over_lines(start_worker, job_dir, tmp_path):
    job_dir.add("square", "#!/bin/sh\nseq $PIW_START $((PIW_END - 1)) | while read n; do echo $((n * n)); done\n")
    job_dir.add("upper", "#!/bin/sh\ntr a-z A-Z\n")
    workers = [start_worker(2, ["--job-dir", job_dir.path]), start_worker(1, ["--job-dir", job_dir.path])]
    c = piworker.Cluster([w.address for w in workers])
    assert list(c.exec("square", range=(0, 50), pieces=7)) == [str(n * n) for n in range(50)]
    assert list(c.exec("upper", lines=["alpha", "beta", "gamma"])) == ["ALPHA", "BETA", "GAMMA"]
    listed = tmp_path / "words.txt"
    listed.write_text("one\ntwo\nthree\nfour\n")
    assert list(c.exec("upper", lines=listed, block=3)) == ["ONE", "TWO", "THREE", "FOUR"]
    assert c.last_report["job"].startswith("exec")


def test_life_from_an_array_a_list_and_an_rle(cluster, tmp_path):
    blinker = np.zeros((8, 8), dtype=np.uint8)
    blinker[3, 2:5] = 1
    after_one = cluster.life(blinker, 1)
    assert after_one.shape == (8, 8)
    assert after_one[2:5, 3].tolist() == [1, 1, 1] and after_one.sum() == 3
    assert (cluster.life(blinker, 2) == blinker).all()
    block = cluster.life(["....", ".OO.", ".OO.", "...."], 10)
    assert block.tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    # A glider on a 16x16 torus is back where it began after 64 generations.
    glider = tmp_path / "glider.rle"
    glider.write_text("x = 3, y = 3, rule = B3/S23\nbob$2bo$3o!\n")
    start = cluster.life(glider, 0, width=16, height=16)
    assert start.sum() == 5
    assert (cluster.life(glider, 64, width=16, height=16) == start).all()
    assert cluster.last_report["result"] == 5 and len(cluster.last_report["hash"]) == 64
    # The same glider given as RLE text, and as .cells text.
    as_text = cluster.life("x = 3, y = 3\nbob$2bo$3o!\n", 64, width=16, height=16)
    assert (as_text == start).all()
    cells = cluster.life("!glider\n.O.\n..O\nOOO\n", 64, width=16, height=16)
    assert (cells == start).all()


def test_hosts_from_a_file_and_from_pisubmit_hosts(two_workers, tmp_path, monkeypatch):
    listed = tmp_path / "pi_list.txt"
    listed.write_text("# the lab\n" + "\n".join(w.address for w in two_workers) + "\n")
    from_file = piworker.Cluster(f"@{listed}")
    assert [h["address"] for h in from_file.ping()] == [w.address for w in two_workers]
    monkeypatch.setenv("PISUBMIT_HOSTS", ",".join(w.address for w in two_workers))
    from_env = piworker.Cluster()
    assert from_env.threads() == 3
    monkeypatch.delenv("PISUBMIT_HOSTS")
    with pytest.raises(piworker.UsageError, match="PISUBMIT_HOSTS"):
        piworker.Cluster().ping()


def test_reduce_says_nan_and_infinities(cluster, tmp_path):
    values = tmp_path / "odd.txt"
    values.write_text("1\ninf\n")
    assert cluster.reduce("sum", values) == math.inf
    values.write_text("1\n-inf\n2\n")
    assert cluster.reduce("sum", values) == -math.inf
    values.write_text("1\nnan\n")
    assert math.isnan(cluster.reduce("sum", values))
    values.write_text("inf\n-inf\n")
    assert math.isnan(cluster.reduce("sum", values)), "+inf with -inf is NaN"
    values.write_text("# nothing\n")
    assert cluster.reduce("min", values) is None and cluster.reduce("count", values) == 0


def test_leaving_a_farm_early_cancels_its_pieces(cluster):
    import time

    results = cluster.farm(["10 a", "20000 b", "20000 c", "20000 d"], ordered=False)
    assert next(results) == "10 a"
    results.close()
    deadline = time.monotonic() + 1.0
    busy = None
    while time.monotonic() < deadline:
        busy = sum(h.get("threads_busy") or 0 for h in cluster.status())
        if busy == 0:
            break
        time.sleep(0.05)
    assert busy == 0, "the abandoned farm's tasks still run a second later"
    for line in cluster.farm(["5 after"]):
        assert line == "5 after"

"""Each exception, Ctrl-C, a worker that dies mid-call, and the GIL."""

from __future__ import annotations

import math
import os
import signal
import threading
import time

import numpy as np
import pytest

import piworker
from conftest import free_port, key_file


def test_bad_arguments_are_usage_errors_with_pisubmits_message(cluster):
    with pytest.raises(piworker.UsageError, match=r"primes: b \(1\) is less than a \(10\)"):
        cluster.primes(10, 1)
    with pytest.raises(ValueError):  # a UsageError is a ValueError too
        cluster.reduce("median", [1.0])
    with pytest.raises(piworker.UsageError, match="range="):
        list(cluster.exec("anything"))


def test_nobody_listening_is_no_worker(start_worker):
    c = piworker.Cluster(f"127.0.0.1:{free_port()}", connect_timeout=1)
    with pytest.raises(piworker.NoWorkerError, match="no worker could be reached") as caught:
        c.ping()
    assert not isinstance(caught.value, piworker.RefusedError)
    assert isinstance(caught.value, ConnectionError)


def test_key_and_allow_refusals_are_refused_errors(start_worker, tmp_path):
    key = key_file(str(tmp_path), "cluster.key")
    other = key_file(str(tmp_path), "other.key")
    keyed = start_worker(1, ["--key", key])
    with pytest.raises(piworker.RefusedError, match="requires the cluster key"):
        piworker.Cluster(keyed.address, connect_timeout=1).ping()
    with pytest.raises(piworker.RefusedError, match="does not know our cluster key"):
        piworker.Cluster(keyed.address, key=other, connect_timeout=1).ping()
    assert piworker.Cluster(keyed.address, key=key).pi(1000) > 2
    fenced = start_worker(1, ["--allow", "198.18.0.0/15"])
    with pytest.raises(piworker.RefusedError, match="not allowed to use this worker"):
        piworker.Cluster(fenced.address, connect_timeout=1).ping()


def test_a_program_that_fails_everywhere_is_a_failed_job(start_worker, job_dir):
    job_dir.add("broken", "#!/bin/sh\necho 'no such data' >&2\nexit 3\n")
    workers = [start_worker(1, ["--job-dir", job_dir.path]) for _ in range(2)]
    c = piworker.Cluster([w.address for w in workers], retries=2)
    with pytest.raises(piworker.JobFailedError, match="broken") as caught:
        list(c.exec("broken", range=(0, 4), pieces=2))
    message = str(caught.value)
    assert "failed on 2 workers" in message, message
    assert "exited with status 3" in message and "no such data" in message, message


def busy_threads(c: piworker.Cluster) -> int:
    return sum(h.get("threads_busy") or 0 for h in c.status())


def test_ctrl_c_raises_keyboard_interrupt_and_cancels_the_pieces(cluster):
    # Three spin tasks of 20 s each keep every core busy; Ctrl-C comes 0.5 s in.
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        list(cluster.farm(["20000 a", "20000 b", "20000 c"]))
    timer.join()
    assert time.monotonic() - started < 10, "the call ended long before its tasks would have"
    deadline = time.monotonic() + 1.0
    while busy_threads(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert busy_threads(cluster) == 0, "the workers still run the cancelled pieces a second later"
    # The cluster still works after an interrupted call.
    assert cluster.pi(10_000) > 2


def test_ctrl_c_during_a_direct_call_too(cluster):
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        cluster.pi(10**13)
    timer.join()
    deadline = time.monotonic() + 1.0
    while busy_threads(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert busy_threads(cluster) == 0


def test_a_worker_killed_mid_call_gives_the_same_answer(start_worker):
    workers = [start_worker(1), start_worker(1), start_worker(1)]
    c = piworker.Cluster([w.address for w in workers], heartbeat_timeout=2)
    # Big enough that the kill lands while pieces run: a third of the way
    # through an undisturbed run.
    samples = 50_000_000
    while True:
        started = time.monotonic()
        calm = c.pi(samples, seed=3)
        took = time.monotonic() - started
        if took > 0.6:
            break
        samples *= 4
    killer = threading.Timer(took / 3, workers[1].kill)
    killer.start()
    assert c.pi(samples, seed=3) == calm
    killer.join()
    states = {h["address"]: h["state"] for h in c.last_report["hosts"]}
    assert states[workers[1].address] != "ok", states


def test_a_worker_killed_mid_reduce_from_memory_gives_the_same_sum(start_worker):
    # The pieces a dead worker held are read again from the caller's
    # array (lent, not copied) and sent elsewhere: the same exact sum.
    workers = [start_worker(1), start_worker(1), start_worker(1)]
    c = piworker.Cluster([w.address for w in workers], heartbeat_timeout=2)
    values = np.random.default_rng(7).standard_normal(1 << 24)
    while True:
        started = time.monotonic()
        calm = c.reduce("sum", values)
        took = time.monotonic() - started
        if took > 0.6 or len(values) >= 1 << 27:
            break
        values = np.concatenate([values, values * 0.5])
    killer = threading.Timer(took / 3, workers[1].kill)
    killer.start()
    assert c.reduce("sum", values) == calm
    killer.join()
    states = {h["address"]: h["state"] for h in c.last_report["hosts"]}
    assert states[workers[1].address] != "ok", states
    assert c.reduce("sum", values[:100_000]) == math.fsum(values[:100_000].tolist())


def test_waiting_releases_the_gil(cluster):
    # A Python thread counts while the call waits on the workers: with the
    # GIL held it could not run at all.
    counted = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counted[0] += 1

    t = threading.Thread(target=count)
    t.start()
    list(cluster.farm(["400 a", "400 b"]))
    stop.set()
    t.join()
    assert counted[0] > 100_000, counted[0]


def test_sigterm_keeps_its_default_after_a_call(cluster, tmp_path):
    # Signal handlers are the process's: a call must not leave SIGTERM
    # caught. A child Python makes a call, then SIGTERMs itself.
    import subprocess
    import sys

    script = (
        "import os, signal, piworker\n"
        f"piworker.Cluster({cluster.hosts!r}).pi(1000)\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "import time; time.sleep(5); print('still alive')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == -signal.SIGTERM, (done.returncode, done.stdout, done.stderr)

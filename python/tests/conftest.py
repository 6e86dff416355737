"""Real piworker processes on loopback for the package's tests.

PIWORKER_BIN and PISUBMIT_BIN name the binaries (default: the release
build of this repository). Each worker gets its own free port on 127.0.0.1
and is killed when its test ends.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Optional

import pytest

import piworker

ROOT = Path(__file__).resolve().parents[2]
PIWORKER = os.environ.get("PIWORKER_BIN", str(ROOT / "target" / "release" / "piworker"))
PISUBMIT = os.environ.get("PISUBMIT_BIN", str(ROOT / "target" / "release" / "pisubmit"))


class Worker:
    """One piworker on 127.0.0.1, started with `args`."""

    def __init__(self, threads: int = 2, args: Optional[List[str]] = None) -> None:
        self.process = subprocess.Popen(
            [PIWORKER, "--listen", "127.0.0.1:0", "--threads", str(threads), *(args or [])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The worker names its port on stderr once it listens.
        deadline = time.monotonic() + 10
        self.address = ""
        assert self.process.stderr is not None
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            found = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
            if found:
                self.address = found.group(1)
                break
            if not line and self.process.poll() is not None:
                break
        if not self.address:
            self.process.kill()
            raise RuntimeError(f"{PIWORKER} did not start listening")
        # Keep reading its log, so that a chatty worker never blocks on a
        # full pipe; the lines are kept for tests that look at them.
        self.log: List[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


@pytest.fixture
def start_worker():
    """Starts workers for one test: start_worker(threads=2, args=[...])."""
    started: List[Worker] = []

    def start(threads: int = 2, args: Optional[List[str]] = None) -> Worker:
        w = Worker(threads, args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


@pytest.fixture
def two_workers(start_worker):
    return [start_worker(2), start_worker(1)]


@pytest.fixture
def cluster(two_workers) -> piworker.Cluster:
    return piworker.Cluster([w.address for w in two_workers], connect_timeout=5)


def pisubmit_json(hosts: List[str], *argv: str, stdin: Optional[str] = None) -> dict:
    """pisubmit's own --json answer to the same job: the reference."""
    out = subprocess.run(
        [PISUBMIT, *argv, "--hosts", ",".join(hosts), "--json", "--quiet"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture
def job_dir():
    """A directory of job programs for --job-dir: job_dir.add(name, body)."""
    with tempfile.TemporaryDirectory(prefix="piworker-py-jobs-") as d:
        os.chmod(d, 0o755)

        class Jobs:
            path = d

            @staticmethod
            def add(name: str, body: str) -> None:
                p = Path(d) / name
                p.write_text(body)
                p.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

        yield Jobs


def key_file(directory: str, name: str) -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(path, 0o600)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sieve(n: int) -> List[int]:
    """The primes up to n, by Eratosthenes: the tests' reference."""
    flags = bytearray([1]) * (n + 1)
    flags[0:2] = b"\0\0"
    for i in range(2, int(n**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = bytearray(len(flags[i * i :: i]))
    return [i for i, f in enumerate(flags) if f]

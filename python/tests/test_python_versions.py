"""The abi3 extension on the oldest CPython it promises (3.9) and on the
newest this machine has, beside the one running the suite."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

SMOKE = """
import sys, piworker
c = piworker.Cluster(sys.argv[1])
print(sys.version_info[:2], c.pi(10**6), tuple(c.primes(1, 10**6)), c.reduce("sum", [1, 2, 3]), list(c.farm(["1 a"])))
"""


def interpreters() -> list:
    def version(path: str) -> tuple:
        return tuple(int(part) for part in Path(path).parts[-3].split(".") if part.isdigit())

    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")), key=version)
    return [p for p in found if version(p) >= (3, 9)]


@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_the_extension_runs_on_other_pythons(which, cluster):
    found = interpreters()
    if not found:
        pytest.skip("SKIPPED: no other CPython under ~/.pyenv/versions to try the abi3 extension with")
    python = found[0] if which == "oldest" else found[-1]
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    done = subprocess.run([python, "-c", SMOKE, cluster.hosts], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "(78498, 999983) 6 ['1 a']" in done.stdout, done.stdout
    if which == "oldest":
        assert "(3, 9)" in done.stdout, f"the oldest CPython here is not 3.9: {done.stdout}"

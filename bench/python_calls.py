#!/usr/bin/env python3
"""The Python package against pisubmit on the same jobs and workers.

    bench/python_calls.py HOSTS REPS ROWS_OUT

Each job runs REPS interleaved rounds both ways: `pisubmit JOB --json` as
a process (whole wall time: start, connect, run, exit) and the same job as
a call of one long-lived piworker.Cluster (whole call: connect, run, the
report parsed), both timed here with time.perf_counter. The reduce rows
compare pisubmit reading a 1 GiB file with the package folding a 1 GiB
NumPy array from memory. Rows go to ROWS_OUT as bench_row's arguments, a
row per line, tab-separated; bench/python.sh records them."""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import piworker

HOSTS, REPS, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PISUBMIT = os.environ.get("PISUBMIT_BIN", "target/release/pisubmit")
REDUCE_BYTES = int(os.environ.get("PY_REDUCE_BYTES", str(1 << 30)))


def pisubmit(*argv, stdin=None):
    started = time.perf_counter()
    subprocess.run(
        [PISUBMIT, *argv, "--hosts", HOSTS, "--json", "--quiet"], input=stdin, check=True, stdout=subprocess.DEVNULL
    )
    return (time.perf_counter() - started) * 1000


def python(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def rounds(cli_argv, call, stdin=None):
    cli, py = [], []
    pisubmit(*cli_argv, stdin=stdin), python(call)  # warm-up
    for _ in range(REPS):
        cli.append(pisubmit(*cli_argv, stdin=stdin))
        py.append(python(call))
    return cli, py


def row(out, measure, py, cli, target, note=""):
    fmt = lambda xs: " ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    out.write("\t".join(["Python package", measure, "ms", "lower", fmt(py), "pisubmit (a process per job)", fmt(cli), target, note]) + "\n")


def main():
    c = piworker.Cluster(HOSTS)
    jobs = [
        ("empty job (ping)", ["ping"], c.ping, "-"),
        ("seed 000 loop sum", ["loopsum"], c.loopsum, "ratio>=0.95"),
        ("pi, 2e9 darts", ["pi", "--samples", "2000000000"], lambda: c.pi(2_000_000_000), "ratio>=0.95"),
        ("primes below 1e9, counted", ["primes", "--from", "1", "--to", "1000000000"], lambda: c.primes(1, 10**9), "ratio>=0.95"),
    ]
    with open(OUT, "w") as out:
        for measure, argv, call, target in jobs:
            cli, py = rounds(argv, call)
            row(out, measure, py, cli, target)
            print(f"python: {measure}: pisubmit {sorted(cli)[len(cli) // 2]:.2f} ms, Python {sorted(py)[len(py) // 2]:.2f} ms", file=sys.stderr)
        # Seed 001's farm at its smallest: 10,000 tasks of 0 ms, fed as they
        # are produced (the Tiny tasks rows run the same through dispy).
        tasks = [f"0 task {i}" for i in range(10_000)]
        stdin = ("\n".join(tasks) + "\n").encode()
        cli, py = rounds(["farm", "--unordered", "spin"], lambda: sum(1 for _ in c.farm(tasks, ordered=False)), stdin)
        row(out, "farm of 10,000 0-ms tasks (a generator's results)", py, cli, "ratio>=0.95")
        print(f"python: farm: pisubmit {sorted(cli)[len(cli) // 2]:.1f} ms, Python {sorted(py)[len(py) // 2]:.1f} ms", file=sys.stderr)
        values = np.random.default_rng(1).standard_normal(REDUCE_BYTES // 8)
        with tempfile.TemporaryDirectory(prefix="piworker-bench-", dir="target") as tmp:
            path = os.path.join(tmp, "values.f64")
            values.tofile(path)
            cli, py = rounds(["reduce", "--op", "sum", "--dtype", "f64", "--input", path], lambda: c.reduce("sum", values))
            assert c.reduce("sum", values) == c.reduce("sum", path, dtype="f64"), "memory and file sums differ"
        gib = REDUCE_BYTES / (1 << 30)
        row(out, f"reduce sum of {gib:g} GiB of f64: NumPy array from memory against pisubmit from a file", py, cli, "ratio>=1")
        print(f"python: reduce: pisubmit {sorted(cli)[len(cli) // 2]:.1f} ms, Python {sorted(py)[len(py) // 2]:.1f} ms", file=sys.stderr)


main()

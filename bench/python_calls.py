#!/usr/bin/env python3
"""The Python package against pisubmit on the same jobs and workers.

    bench/python_calls.py HOSTS REPS ROWS_OUT

Each job runs REPS interleaved rounds both ways: `pisubmit JOB --json` as
a process (whole wall time: start, connect, run, exit) and the same job as
a call of one long-lived piworker.Cluster (whole call: connect, run, the
report parsed), both timed here with time.perf_counter. The reduce rows
compare pisubmit reading a 1 GiB file with the package folding a 1 GiB
NumPy array from memory. Rows go to ROWS_OUT as bench_row's arguments, a
row per line, tab-separated; bench/python.sh records them.

The anchors, when bench/python.sh found them (it says loudly when it did
not, and then that row is left out, never faked):
  BENCH_MPI_PI    the mpi4py + NumPy pi command without its N and SEED
                  (mpirun ... python3 bench/mpi_pi.py): a third side of the
                  pi rounds, timed as a whole command (mpirun's start-up
                  included, as bench/pi.sh does), and checked to count the
                  same darts inside as the Python call.
  BENCH_MPI_NP    its -np, for the row's label.
  BENCH_DISPY_PY, BENCH_DISPY_PORT, BENCH_DISPY_VERSION
                  the dispy venv's python, a running dispynode's port and
                  dispy's version: bench/tiny_dispy.py --mode throughput -n
                  TINY_ANCHOR_N (1000) against Cluster.farm of TINY_PW_N
                  (100000) `0 i` tasks, rounds interleaved, as bench/tiny.sh
                  measures dispy against pisubmit farm."""

import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

import piworker

HOSTS, REPS, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PISUBMIT = os.environ.get("PISUBMIT_BIN", "target/release/pisubmit")
REDUCE_BYTES = int(os.environ.get("PY_REDUCE_BYTES", str(1 << 30)))
ANCHOR_TIMEOUT_S = 1800  # for a stuck anchor: mpi4py's 2e9 darts take ~10 s here


def pisubmit(*argv, stdin=None):
    """One pisubmit command's whole wall time. A farm's results are read
    from its stdout, line by line as a Python caller gets them from
    Cluster.farm (with --json pisubmit would hold them for its report and
    write none); every other job's answer is its --json report."""
    started = time.perf_counter()
    if argv[0] == "farm":
        done = subprocess.run([PISUBMIT, *argv, "--hosts", HOSTS, "--quiet"], input=stdin, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines, tasks = done.stdout.count(b"\n"), stdin.count(b"\n")
        if lines != tasks:
            sys.exit(f"python_calls: pisubmit farm printed {lines} results for {tasks} tasks")
    else:
        subprocess.run(
            [PISUBMIT, *argv, "--hosts", HOSTS, "--json", "--quiet"], input=stdin, check=True, stdout=subprocess.DEVNULL
        )
    return (time.perf_counter() - started) * 1000


def python(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def rounds(cli_argv, call, stdin=None, anchor=None):
    """REPS interleaved rounds after a warm-up: pisubmit, the Python call
    and, given, anchor() (which returns its own milliseconds)."""
    cli, py, anc = [], [], []
    pisubmit(*cli_argv, stdin=stdin), python(call), anchor and anchor()  # warm-up
    for _ in range(REPS):
        cli.append(pisubmit(*cli_argv, stdin=stdin))
        py.append(python(call))
        if anchor:
            anc.append(anchor())
    return cli, py, anc


def row(out, measure, py, cli, target, note="", anchor="pisubmit (a process per job)", unit="ms", better="lower"):
    fmt = lambda xs: " ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    out.write("\t".join(["Python package", measure, unit, better, fmt(py), anchor, fmt(cli), target, note]) + "\n")


def median(xs):
    return sorted(xs)[len(xs) // 2]


def key_values(text):
    """The KEY=VALUE words the anchors print, as a dict (the first of each)."""
    found = {}
    for k, v in re.findall(r"\b(\w+)=(\S+)", text):
        found.setdefault(k, v)
    return found


def anchor_run(who, argv, keys):
    """Runs an anchor's whole command; returns its milliseconds and the
    KEY=VALUE words it printed, or stops the bench with what went wrong.
    The anchor runs in a process group of its own, stopped whole if this
    script is stopped (mpirun's ranks, dispy's client)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=ANCHOR_TIMEOUT_S)
    except BaseException as e:
        stop_group(proc)
        if isinstance(e, subprocess.TimeoutExpired):
            sys.exit(f"python_calls: {who} gave no answer in {ANCHOR_TIMEOUT_S} s: {' '.join(argv)}")
        raise
    ms = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        sys.exit(f"python_calls: {who} failed (exit {proc.returncode}): {' '.join(argv)}\n{stderr[-2000:]}")
    found = key_values(stdout)
    missing = [k for k in keys if k not in found]
    if missing:
        sys.exit(f"python_calls: {who} printed no {', '.join(missing)}= in: {stdout!r}")
    return ms, found


def stop_group(proc):
    """TERM to proc's process group, KILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            pass
    proc.wait()


def positive(name, default):
    text = os.environ.get(name, str(default))
    if not re.fullmatch(r"[1-9][0-9]*", text):
        sys.exit(f"python_calls: {name} must be a whole number >= 1, not {text!r}")
    return int(text)


def pi_against_mpi4py(out, c, samples, seed):
    """The pi rounds with mpi4py as a third side; rows for both anchors."""
    mpi = os.environ.get("BENCH_MPI_PI")
    anchor = None
    if mpi:

        def anchor():
            ms, got = anchor_run("mpi4py pi", [*mpi.split(), str(samples), str(seed)], ["inside", "samples"])
            mine = c.last_report  # the Python call that ran just before
            if int(got["samples"]) != samples or got["inside"] != str(mine["inside"]):
                sys.exit(f"python_calls: mpi4py counted {got['inside']} of {got['samples']} darts inside, "
                         f"the Python call {mine['inside']} of {samples} (same darts, seed {seed}): the generators differ")
            if abs(4 * int(got["inside"]) / samples - math.pi) > 0.01:
                sys.exit(f"python_calls: mpi4py's pi from {got['inside']} of {samples} darts is not near pi")
            return ms

    cli, py, anc = rounds(["pi", "--samples", str(samples), "--seed", str(seed)], lambda: c.pi(samples, seed), anchor=anchor)
    row(out, "pi, 2e9 darts", py, cli, "ratio>=0.95")
    line = f"python: pi, 2e9 darts: pisubmit {median(cli):.1f} ms, Python {median(py):.1f} ms"
    if anc:
        np_ = os.environ.get("BENCH_MPI_NP", "?")
        note = f"the same darts (seed {seed}), {c.last_report['inside']} inside; mpi4py: whole command, mpirun's start-up included"
        row(out, "pi, 2e9 darts", py, anc, "-", note, f"mpi4py + NumPy (mpirun -np {np_})")
        line += f", mpi4py {median(anc):.1f} ms"
    print(line, file=sys.stderr)


def farm_against_dispy(out, c):
    """Cluster.farm's throughput against dispy's, as bench/tiny.sh measures
    pisubmit farm's: N `0 i` tasks in one call, N / the call's wall time,
    each answer checked; dispy's own count of jobs a second."""
    port = os.environ.get("BENCH_DISPY_PORT")
    if not port:
        return
    n, anchor_n, cpus = positive("TINY_PW_N", 100000), positive("TINY_ANCHOR_N", 1000), len(os.sched_getaffinity(0))
    tasks = [f"0 {i}" for i in range(1, n + 1)]

    def farm():
        started = time.perf_counter()
        got = list(c.farm(tasks))
        rate = n / (time.perf_counter() - started)
        if got != tasks:
            bad = next((i for i, (a, b) in enumerate(zip(tasks, got)) if a != b), min(len(got), n))
            sys.exit(f"python_calls: Cluster.farm gave {len(got)} results for {n} tasks, first difference at {bad}")
        return rate

    def dispy():
        argv = [os.environ["BENCH_DISPY_PY"], "bench/tiny_dispy.py", "--node-port", port, "--mode", "throughput", "-n", str(anchor_n)]
        _, got = anchor_run("dispy", argv, ["tasks_per_s", "cpus"])
        if int(got["cpus"]) != cpus:
            sys.exit(f"python_calls: dispynode serves {got['cpus']} CPUs, not {cpus}")
        return float(got["tasks_per_s"])

    py, anc = [], []
    farm()  # warm-up; dispy warms itself up (tiny_dispy.py's --warmup jobs)
    for _ in range(REPS):
        py.append(farm())
        anc.append(dispy())
    row(out, f"throughput, tiny tasks, {cpus} cores: Cluster.farm", py, anc, "-",
        f"Python: {n} `0 i` tasks, one Cluster.farm call; dispy: {anchor_n} compute(n) -> n, first submit to last result",
        f"dispy {os.environ['BENCH_DISPY_VERSION']} (dispynode on this machine)", "tasks/s", "higher")
    print(f"python: tiny tasks: Cluster.farm {median(py):.0f} tasks/s, dispy {median(anc):.1f} tasks/s", file=sys.stderr)


def plain(out, measure, argv, call, target):
    """A job timed both ways, with no third side; its row."""
    cli, py, _ = rounds(argv, call)
    row(out, measure, py, cli, target)
    print(f"python: {measure}: pisubmit {median(cli):.2f} ms, Python {median(py):.2f} ms", file=sys.stderr)


def main():
    c = piworker.Cluster(HOSTS)
    with open(OUT, "w") as out:
        plain(out, "empty job (ping)", ["ping"], c.ping, "-")
        plain(out, "seed 000 loop sum", ["loopsum"], c.loopsum, "ratio>=0.95")
        pi_against_mpi4py(out, c, 2_000_000_000, 1)
        primes = ["primes", "--from", "1", "--to", "1000000000"]
        plain(out, "primes below 1e9, counted", primes, lambda: c.primes(1, 10**9), "ratio>=0.95")
        # Seed 001's farm at its smallest: 10,000 tasks of 0 ms from a list,
        # each result handed over as it comes (pisubmit's read from its stdout).
        tasks = [f"0 task {i}" for i in range(10_000)]
        stdin = ("\n".join(tasks) + "\n").encode()
        cli, py, _ = rounds(["farm", "--unordered", "spin"], lambda: sum(1 for _ in c.farm(tasks, ordered=False)), stdin)
        row(out, "farm of 10,000 0-ms tasks (each result read as it comes)", py, cli, "ratio>=0.95")
        print(f"python: farm: pisubmit {median(cli):.1f} ms, Python {median(py):.1f} ms", file=sys.stderr)
        farm_against_dispy(out, c)
        values = np.random.default_rng(1).standard_normal(REDUCE_BYTES // 8)
        with tempfile.TemporaryDirectory(prefix="piworker-bench-", dir="target") as tmp:
            path = os.path.join(tmp, "values.f64")
            values.tofile(path)
            cli, py, _ = rounds(["reduce", "--op", "sum", "--dtype", "f64", "--input", path], lambda: c.reduce("sum", values))
            assert c.reduce("sum", values) == c.reduce("sum", path, dtype="f64"), "memory and file sums differ"
        gib = REDUCE_BYTES / (1 << 30)
        row(out, f"reduce sum of {gib:g} GiB of f64: NumPy array from memory against pisubmit from a file", py, cli, "ratio>=1")
        print(f"python: reduce: pisubmit {median(cli):.1f} ms, Python {median(py):.1f} ms", file=sys.stderr)


# bench/python.sh stops this script with TERM (on its exit or Ctrl-C):
# unwind, so that the running anchor or pisubmit is stopped too.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
main()

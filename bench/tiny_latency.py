#!/usr/bin/env python3
"""Closed-loop latency of a line-based task runner, for bench/tiny.sh.

    tiny_latency.py [-n N] [--warmup W] [--task FMT] [--expect FMT] -- CMD [ARG...]

Starts CMD with pipes on its stdin and stdout, then, one task at a time:
writes task line i (FMT with {i} replaced by i, default `0 {i}`: a piworker
farm spin task of 0 ms), flushes, and waits for the next line of output,
which must equal --expect (default: the task line itself). Only then is the
next line written, so exactly one task is ever in flight and each task's
time is a full round trip: line in, task run, line back. The first W tasks
warm up and are not counted; then N are timed. After the last task, stdin
is closed and CMD must exit 0.

Works for `pisubmit farm spin` (prints each task's line back as it
finishes) and for GNU parallel reading arguments from stdin
(`parallel -j1 echo`, task `{i}`), or anything else that answers each
input line with one output line before it needs the next.

Output: key=value lines (n, median_us, p10_us, p90_us, mean_us, wall_s).
Exits 1 if an answer is wrong or missing, or CMD fails, or nothing comes
back within --timeout seconds of the start."""
import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=2000, help="tasks timed [2000]")
    p.add_argument("--warmup", type=int, default=200, help="tasks first, not timed [200]")
    p.add_argument("--task", default="0 {i}", help="task line; {i} is its number [0 {i}]")
    p.add_argument("--expect", default=None, help="the answer line [the task line]")
    p.add_argument("--timeout", type=float, default=120, help="give up after this long [120]")
    p.add_argument("cmd", nargs="+", help="the command (after --)")
    o = p.parse_args()
    expect = o.expect if o.expect is not None else o.task

    proc = subprocess.Popen(o.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    # Unbuffered, line at a time: read() on the raw pipe and split here, so a
    # line never waits in a Python buffer and select() sees every byte.
    signal.signal(signal.SIGTERM, lambda *_: (proc.kill(), sys.exit(143)))
    out = proc.stdout.fileno()
    pending = b""
    deadline = time.monotonic() + o.timeout

    def fail(msg):
        print(f"tiny_latency: {msg}", file=sys.stderr)
        proc.kill()
        proc.wait()
        sys.exit(1)

    def read_line():
        nonlocal pending
        while b"\n" not in pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                fail(f"no answer within {o.timeout:g} s")
            chunk = os.read(out, 65536)
            if not chunk:
                fail(f"{o.cmd[0]} closed its output (exit {proc.wait()})")
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        return line.decode()

    lat = []
    start = time.perf_counter()
    for i in range(-o.warmup, o.n):
        line = (o.task.format(i=i) + "\n").encode()
        t = time.perf_counter()
        try:
            proc.stdin.write(line)
        except BrokenPipeError:
            fail(f"{o.cmd[0]} closed its input (exit {proc.wait()})")
        answer = read_line()
        dt = time.perf_counter() - t
        if answer != expect.format(i=i):
            fail(f"task {i}: expected {expect.format(i=i)!r}, got {answer!r}")
        if i >= 0:
            lat.append(dt * 1e6)
    wall = time.perf_counter() - start
    proc.stdin.close()
    rest = proc.stdout.read()
    try:
        rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        fail(f"{o.cmd[0]} did not exit after its input ended")
    if rc != 0:
        fail(f"{o.cmd[0]} exited with {rc}")
    if pending or rest.strip():
        fail(f"unexpected output after the last answer: {(pending + rest)[:200]!r}")
    lat.sort()
    print(f"n={o.n}")
    print(f"median_us={statistics.median(lat):.1f}")
    print(f"p10_us={lat[len(lat) // 10]:.1f}")
    print(f"p90_us={lat[len(lat) * 9 // 10]:.1f}")
    print(f"mean_us={statistics.fmean(lat):.1f}")
    print(f"wall_s={wall:.3f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""dispy's tiny task, for bench/tiny.sh: `compute(n) -> n` on a dispynode
running on this machine, over loopback only. Run it with the bench venv's
python (target/bench/venv/bin/python, where bench/install-anchors.sh put
dispy):

    tiny_dispy.py --node-port P --mode throughput|latency -n N [--warmup W]

P is the port a dispynode on this machine listens on: start it with
`dispynode.py -i 127.0.0.1 -p P-1 ...` (dispynode listens on its -p plus
one). The node is named by address and port, so dispy pings it directly
instead of broadcasting on the LAN, and this client listens on 127.0.0.1
only, on a free port of its own (--port, or one picked just before, so that
runs side by side do not collide on dispy's fixed default, 9700).

throughput: N jobs submitted back to back with cluster.submit(i), then every
  result collected; timed from the first submit to the last result.
latency:    N jobs one at a time, submit then wait for job(); each one timed.

Setup (JobCluster created, the node found and the computation sent, up to
the first job's result) and W warm-up jobs come first and are not counted;
setup_s reports how long setup took. Every result must equal its argument,
or the script exits 1. Output: key=value lines on stdout, dispy's log on
stderr."""
import argparse
import atexit
import logging
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time

import dispy


def compute(n):
    return n


def setup():
    # Run in dispynode's setup process, which then forks each job (instead
    # of dispynode's main process forking it). Needed for tiny jobs:
    # without a setup, dispynode 4.15.2 starts each job with
    # multiprocessing.Process(...).start() in its main process, and a job
    # that ends before start() has returned makes the node's result thread
    # die (AssertionError "can only join a started process" in __reply_Q);
    # every later result is lost and the client waits forever. A setup that
    # defines a global is dispy's documented way to have the setup process
    # fork the jobs; that path joins no Process object.
    global tiny_ready
    tiny_ready = True
    return 0


def run(cluster, args):
    """Submits args (one job each), waits for all; checks the results."""
    jobs = [cluster.submit(a) for a in args]
    for a, job in zip(args, jobs):
        check(a, job)


def check(arg, job):
    result = job()
    if job.status != dispy.DispyJob.Finished or result != arg:
        sys.exit(f"tiny_dispy: job {arg} returned {result!r} (status {job.status}, "
                 f"exception {job.exception!r})")


def free_port():
    """A port free for TCP and UDP on loopback. dispy binds without
    SO_REUSEADDR and, when the bind fails, only logs it and waits forever."""
    while True:
        with socket.socket() as t, socket.socket(type=socket.SOCK_DGRAM) as u:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                u.bind(("", port))
            except OSError:
                continue
            return port


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--node-port", type=int, required=True,
                   help="the dispynode's port (its -p plus one)")
    p.add_argument("--port", type=int, default=0,
                   help="this client's port (TCP and UDP) [a free one]")
    p.add_argument("--mode", choices=("throughput", "latency"), required=True)
    p.add_argument("-n", type=int, required=True, help="jobs measured")
    p.add_argument("--warmup", type=int, default=20, help="jobs run first, not measured")
    p.add_argument("--timeout", type=float, default=120,
                   help="give up (exit 1) after this many seconds: dispy waits forever "
                   "for a node it cannot reach or a result that was lost")
    p.add_argument("--no-setup", action="store_true",
                   help="no setup function (dispynode's main process forks each job: "
                   "hangs on tiny jobs, see setup())")
    o = p.parse_args()

    # dispy keeps a fault-recovery shelf (_dispy_YYYYMMDDHHMMSS*) in the
    # current directory and uses the cwd as its dest_path: keep both in a
    # temporary directory. Registered before dispy's own atexit handlers,
    # so it runs after them (they close the shelf).
    tmp = tempfile.mkdtemp(prefix="tiny-dispy-")
    atexit.register(shutil.rmtree, tmp, True)
    os.chdir(tmp)

    def give_up(signum, _frame):
        if signum == signal.SIGALRM:
            print(f"tiny_dispy: no answer after {o.timeout:g} s", file=sys.stderr, flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
        os._exit(1 if signum == signal.SIGALRM else 128 + signum)  # not dispy's atexit:
        # it would wait for the lost jobs
    for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, give_up)
    signal.setitimer(signal.ITIMER_REAL, o.timeout)

    t0 = time.perf_counter()
    cluster = dispy.JobCluster(
        compute,
        setup=None if o.no_setup else setup,
        nodes=[("127.0.0.1", o.node_port)],  # ping this node only: no broadcast
        host="127.0.0.1",                    # listen on loopback only
        dispy_port=o.port or free_port(),
        recover_file=os.path.join(tmp, "recover"),
        loglevel=int(os.environ.get("DISPY_LOGLEVEL", logging.WARNING)))
    try:
        check(-1, cluster.submit(-1))        # the node has joined and runs jobs
        setup_s = time.perf_counter() - t0
        run(cluster, list(range(-o.warmup - 1, -1)))
        nodes = cluster.status().nodes
        print(f"setup_s={setup_s:.3f}")
        print(f"nodes={len(nodes)}")
        print(f"cpus={sum(n.cpus for n in nodes)}")
        print(f"n={o.n}")
        if o.mode == "throughput":
            t = time.perf_counter()
            run(cluster, list(range(o.n)))
            wall = time.perf_counter() - t
            print(f"wall_s={wall:.4f}")
            print(f"tasks_per_s={o.n / wall:.1f}")
        else:
            lat = []
            for i in range(o.n):
                t = time.perf_counter()
                check(i, cluster.submit(i))
                lat.append((time.perf_counter() - t) * 1e6)
            lat.sort()
            print(f"median_us={statistics.median(lat):.1f}")
            print(f"p10_us={lat[len(lat) // 10]:.1f}")
            print(f"p90_us={lat[len(lat) * 9 // 10]:.1f}")
            print(f"mean_us={statistics.fmean(lat):.1f}")
        sys.stdout.flush()
    finally:
        cluster.close()


if __name__ == "__main__":
    main()

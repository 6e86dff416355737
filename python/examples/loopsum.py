"""Seed 000's double loop sum on the cluster, checked against the seed's
own loop in plain Python for a small size.

    python examples/loopsum.py "pi[01-04]"            # t and u over 0..4001
    python examples/loopsum.py "pi[01-04]" --size 8001 --check-size 500

The seed cut t's range into 16 pieces by hand (four Pis, four threads
each) and sent each Pi its list over a socket; here the cluster cuts it.
"""

import argparse
import sys
import time

import piworker


def seed_loop(size, c):
    """The seed's calc_1s, all four threads' ranges in one: t and u over
    0..size, summed in the same order."""
    total = 0
    for t in range(size):
        for u in range(size):
            total += t * u * c
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="?", help="host spec (default: $PISUBMIT_HOSTS)")
    parser.add_argument("--size", type=int, default=4001, help="t and u run over 0..SIZE (the seed's 4001)")
    parser.add_argument("--c", type=float, default=1.0, help="the constant factor (the seed's 1.0)")
    parser.add_argument("--check-size", type=int, default=300, help="size of the plain-Python comparison")
    args = parser.parse_args()

    cluster = piworker.Cluster(args.hosts)
    started = time.perf_counter()
    total = cluster.loopsum((0, args.size), args.size, args.c)
    seconds = time.perf_counter() - started
    print(f"cluster: sum of t*u*{args.c} for t, u in 0..{args.size} = {total!r} ({seconds:.3f} s)")

    n = args.check_size
    on_cluster = cluster.loopsum((0, n), n, args.c)
    started = time.perf_counter()
    in_python = seed_loop(n, args.c)
    seconds = time.perf_counter() - started
    print(f"check: size {n}: cluster {on_cluster!r}, plain Python {in_python!r} ({seconds:.3f} s)")
    # The cluster adds its rows exactly and rounds once; the seed's running
    # float total rounds at every step, so with a c like 0.1 the last digits
    # may differ. With c = 1.0 every partial sum is an exact integer.
    print("same answer" if on_cluster == in_python else f"differ by {on_cluster - in_python!r}")


if __name__ == "__main__":
    try:
        main()
    except piworker.PiworkerError as e:
        sys.exit(f"loopsum: {e}")

"""Seed 001's dart-board pi and its scaling study: the same darts on the
first 1, 2, ... N hosts, a table of hosts, seconds and speed-up, and a
plot of it when matplotlib is installed.

    python examples/pi_scaling.py "pi[01-08]" --samples 100000000 --png scaling.png

Only the count of darts inside the quarter circle comes back from each
piece (the blog's lesson: sending every dart's coordinates back killed
the speed-up), and the answer is the same on any number of hosts.
"""

import argparse
import sys
import time

import piworker


def time_pi(cluster, samples, seed, repeat):
    """pi, and the best wall time of `repeat` runs (the least disturbed)."""
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        value = cluster.pi(samples, seed)
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    return value, best


def plot(rows, path):
    """Seconds against hosts, with the 1/N the blog expected; False when
    matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # a file, no window: works over ssh too
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    hosts = [r[0] for r in rows]
    seconds = [r[2] for r in rows]
    fig, ax = plt.subplots()
    ax.plot(hosts, seconds, "o-", label="measured")
    ax.plot(hosts, [seconds[0] / n for n in hosts], "--", label="time on 1 host / N")
    ax.set_xticks(hosts)
    ax.set_xlabel("hosts")
    ax.set_ylabel("seconds")
    ax.set_title("Monte Carlo pi")
    ax.legend()
    fig.savefig(path)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="?", help="host spec (default: $PISUBMIT_HOSTS)")
    parser.add_argument("--key", help="the cluster key's file")
    parser.add_argument("--samples", type=int, default=1_000_000, help="darts (the blog's 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the fastest counts")
    parser.add_argument("--png", default="pi_scaling.png", help="where to draw the plot")
    args = parser.parse_args()

    # ping() names every worker of the spec ("pi[01-08]" or "@pi_list.txt"
    # expanded), in the spec's order.
    everyone = piworker.Cluster(args.hosts, key=args.key)
    addresses = [h["address"] for h in everyone.ping() if h["state"] == "ok"]
    if not addresses:
        sys.exit("pi_scaling: no worker answered")

    rows = []
    print(f"{'hosts':>5} {'seconds':>9} {'speed-up':>8}  pi")
    for n in range(1, len(addresses) + 1):
        first_n = piworker.Cluster(addresses[:n], key=args.key)
        value, seconds = time_pi(first_n, args.samples, args.seed, args.repeat)
        used = len(first_n.last_report["hosts"])  # the run's own report: who took part
        speedup = rows[0][2] / seconds if rows else 1.0
        rows.append((used, value, seconds))
        print(f"{used:>5} {seconds:>9.4f} {speedup:>8.2f}  {value!r}")

    if plot(rows, args.png):
        print(f"plot: {args.png}")
    else:
        print("plot: matplotlib is not installed, so no plot (pip install matplotlib)")


if __name__ == "__main__":
    try:
        main()
    except piworker.PiworkerError as e:
        sys.exit(f"pi_scaling: {e}")

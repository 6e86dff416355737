"""Seed 004's prime number finder and its temperature display.

    python examples/prime_finder.py @pi_list.txt --from 1 --to 1000000000 --npy primes.npy

Shows what the Tk head node showed (the number of primes found and the
largest), writes every prime to a .npy file that np.load reads (the
seed's unique_primes.txt when NumPy is not installed), then the
cluster's temperatures as a dict {host: degrees C} and as a grid, one row
per desk of three Pis, coloured as the seed's display coloured its
squares: blue 40 C, green 50, yellow 60, orange 70, red 80.
"""

import argparse
import sys

import piworker

try:
    import numpy as np
except ImportError:
    np = None

COLOURS = ["blue", "green", "yellow", "orange", "red"]  # 40, 50, ... 80 C


def colour(temp_c):
    """The seed's colour scale as a word: the nearest of its five colours,
    clamped to 40..80 C; grey for a host without a sensor."""
    if temp_c is None:
        return "grey"
    clamped = max(40.0, min(80.0, temp_c))
    return COLOURS[round((clamped - 40.0) / 10.0)]


def write_npy(cluster, a, b, count, path):
    """Every prime of [a, b] into a uint64 .npy, a chunk at a time as the
    primes arrive: the file is NumPy's own, its memory bounded."""
    if count == 0:
        np.save(path, np.zeros(0, dtype=np.uint64))
        return 0
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint64, shape=(count,))
    filled = 0
    for chunk in cluster.iter_primes(a, b):
        out[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    out.flush()
    del out
    return filled


def write_text(cluster, a, b, path):
    """The seed's unique_primes.txt: one prime a line."""
    written = 0
    with open(path, "w") as f:
        for chunk in cluster.iter_primes(a, b):
            f.writelines(f"{p}\n" for p in chunk)
            written += len(chunk)
    return written


def print_grid(temps, cols):
    cells = [f"{host:<21} {'-' if t is None else f'{t:5.1f} C':>7} {colour(t):<6}" for host, t in temps.items()]
    for i in range(0, len(cells), cols):
        print(" | ".join(cells[i : i + cols]).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="?", help="host spec (default: $PISUBMIT_HOSTS)")
    parser.add_argument("--from", dest="a", type=int, default=1, help="first number (the seed's MIN_VAL)")
    parser.add_argument("--to", dest="b", type=int, default=1_000_000, help="last number, included")
    parser.add_argument("--npy", default="primes.npy", help="where to write the primes")
    parser.add_argument("--cols", type=int, default=3, help="Pis per row of the grid (a desk holds 3)")
    args = parser.parse_args()

    cluster = piworker.Cluster(args.hosts)
    found = cluster.primes(args.a, args.b)
    print(f"Number of primes found: {found.count}")
    print(f"Max Prime: {found.largest}")

    if np is not None:
        written = write_npy(cluster, args.a, args.b, found.count, args.npy)
        print(f"wrote {written} primes to {args.npy}")
    else:
        written = write_text(cluster, args.a, args.b, "unique_primes.txt")
        print(f"NumPy is not installed: wrote {written} primes to unique_primes.txt instead of {args.npy}")
    if written != found.count:
        sys.exit(f"prime_finder: counted {found.count} primes but received {written}")

    temps = {h["address"]: h.get("temp_c") for h in cluster.status()}
    print(f"temperatures: {temps}")
    print_grid(temps, args.cols)


if __name__ == "__main__":
    try:
        main()
    except piworker.PiworkerError as e:
        sys.exit(f"prime_finder: {e}")

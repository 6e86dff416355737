"""Seed 003's bcast/scatter/gather tutorial: numbers raised to powers.

    python examples/powers_table.py "pi[01-04]"
    python examples/powers_table.py "pi[01-04]" --nums 1.5,2,10 --exps 0.5,2,-1

In the tutorial the root broadcasts the numbers, scatters the powers over
the ranks, each rank computes its rows, and the root gathers them and
prints the list. Here the cluster does the broadcast, scatter and gather:
row i of the table is every number raised to power i.
"""

import argparse
import sys

import piworker


def numbers(text):
    return [float(x) for x in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="?", help="host spec (default: $PISUBMIT_HOSTS)")
    parser.add_argument("--nums", type=numbers, default=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], help="the raw numbers")
    parser.add_argument("--exps", type=numbers, default=[1, 2, 3, 4, 5], help="the powers")
    args = parser.parse_args()

    result = piworker.Cluster(args.hosts).powers(args.nums, args.exps)

    # The tutorial's root prints the gathered list as it is...
    print(result)
    # ...and the same as a table, a row per power.
    print()
    print("power | " + " ".join(f"{n:>10g}" for n in args.nums))
    for exp, row in zip(args.exps, result):
        print(f"{exp:>5g} | " + " ".join(f"{v:>10g}" for v in row))


if __name__ == "__main__":
    try:
        main()
    except piworker.PiworkerError as e:
        sys.exit(f"powers_table: {e}")

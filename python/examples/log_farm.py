"""Seed 001's log analysis as a farm: one task per log file, each run by
a job program on whichever core is free.

    python examples/log_farm.py "pi[01-08]" /shared/logs/temp_*.log
    python examples/log_farm.py "pi[01-08]" --job logcount --unordered /shared/logs/*.log

The job program (installed on every Pi in /etc/piworker/jobs.d, see
docs/PYTHON.md) reads a log file's path on stdin and prints one line,
`PATH READINGS MAX_C`. The Pis open the files themselves, so the paths
must mean the same file there (a shared directory).
"""

import argparse
import os
import sys

import piworker


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", help="host spec ('' for $PISUBMIT_HOSTS)")
    parser.add_argument("logs", nargs="+", help="the log files")
    parser.add_argument("--job", default="logcount", help="the job program's name on the Pis")
    parser.add_argument("--unordered", action="store_true", help="print results as files finish")
    args = parser.parse_args()

    cluster = piworker.Cluster(args.hosts or None)
    paths = (os.path.abspath(p) for p in args.logs)  # the Pis do not share our directory
    readings, hottest = 0, None
    for line in cluster.exec(args.job, lines=paths, ordered=not args.unordered):
        print(line)
        path, count, max_c = line.rsplit(" ", 2)
        readings += int(count)
        if max_c != "-" and (hottest is None or float(max_c) > hottest[1]):
            hottest = (path, float(max_c))
    print(f"{len(args.logs)} files, {readings} readings")
    if hottest:
        print(f"hottest: {hottest[1]} C in {hottest[0]}")


if __name__ == "__main__":
    try:
        main()
    except piworker.PiworkerError as e:
        sys.exit(f"log_farm: {e}")

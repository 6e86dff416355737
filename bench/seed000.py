#!/usr/bin/env python3
"""Seed 000's loop as the blog runs it on one Pi: four threads, each
summing t*u*c over its quarter of the rows in pure Python, the thread
totals appended to lists and added up at the end (calc_1s in the post,
without its sockets).

    seed000.py T_END U_LEN [THREADS]

Prints `total=<float> wall_ms=<ms>`, timed from starting the threads to
the sum, as the post's `time.time() - initial_time`."""
import sys
import threading
import time


def calc(t0, t1, u_len, c, totals):
    total = 0
    for t in range(t0, t1):
        for u in range(u_len):
            total += t * u * c
    totals.append(total)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip())
    t_end, u_len = int(sys.argv[1]), int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) == 4 else 4
    bounds = [t_end * i // threads for i in range(threads + 1)]
    totals = []
    start = time.time()
    workers = [threading.Thread(target=calc, args=(bounds[i], bounds[i + 1], u_len, 1.0, totals))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    total = sum(totals)
    print(f"total={total:.17g} wall_ms={(time.time() - start) * 1e3:.3f}")


if __name__ == "__main__":
    main()

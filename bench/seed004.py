#!/usr/bin/env python3
"""Seed 004's worker without its sockets: the blog's own is_prime over
[MIN, MAX], counting instead of sending each prime to the head in a new
TCP connection (which would only make it slower).

    seed004.py MIN MAX

Prints `count=<n> largest=<p>`."""
import sys


def is_prime(n):
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    for i in range(3, int(n**0.5) + 1, 2):
        if n % i == 0:
            return False
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    lo, hi = int(sys.argv[1]), int(sys.argv[2])
    count, largest = 0, 0
    for value in range(lo, hi + 1):
        if is_prime(value):
            count += 1
            largest = value
    print(f"count={count} largest={largest}")


if __name__ == "__main__":
    main()

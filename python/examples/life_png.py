"""Conway's Life (seed 004's "work in progress") from an RLE file to a
picture: the board after G generations, one square of SCALE pixels per
cell, alive cells black.

    python examples/life_png.py "pi[01-04]" acorn.rle 5206 acorn.png --width 512 --height 512

The picture is a PNG drawn with matplotlib when it is installed, else a
plain PBM (a text format most image viewers open) written with the
standard library, named like OUT with .pbm.
"""

import argparse
import os
import sys

import piworker


def scaled(board, scale):
    """The board's rows (a NumPy array or a list of bytearrays) as lists
    of 0/1, each cell repeated scale x scale times."""
    rows = []
    for row in board:
        wide = [1 if v else 0 for v in bytes(row) for _ in range(scale)]
        rows.extend([wide] * scale)
    return rows


def write_png(rows, path):
    """False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    plt.imsave(path, rows, cmap="gray_r", vmin=0, vmax=1)
    return True


def write_pbm(rows, path):
    """Plain PBM (P1): the size, then a digit a pixel, 1 for black."""
    with open(path, "w") as f:
        f.write(f"P1\n{len(rows[0])} {len(rows)}\n")
        for row in rows:
            f.write(" ".join(map(str, row)) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", help="host spec ('' for $PISUBMIT_HOSTS)")
    parser.add_argument("rle", help="the pattern: an RLE (Golly, LifeWiki) or .cells file")
    parser.add_argument("generations", type=int)
    parser.add_argument("out", help="the picture's file, like board.png")
    parser.add_argument("--width", type=int, help="board width (default: the file's, or twice the pattern, >= 512)")
    parser.add_argument("--height", type=int, help="board height (default: as the width)")
    parser.add_argument("--scale", type=int, default=1, help="pixels per cell")
    args = parser.parse_args()

    cluster = piworker.Cluster(args.hosts or None)
    board = cluster.life(args.rle, args.generations, width=args.width, height=args.height)
    report = cluster.last_report
    print(f"generation {args.generations}: {report['result']} alive on {report['width']}x{report['height']}")

    rows = scaled(board, args.scale)
    if write_png(rows, args.out):
        print(f"wrote {args.out}")
    else:
        pbm = os.path.splitext(args.out)[0] + ".pbm"
        write_pbm(rows, pbm)
        print(f"matplotlib is not installed: wrote {pbm}")


if __name__ == "__main__":
    try:
        main()
    except piworker.PiworkerError as e:
        sys.exit(f"life_png: {e}")

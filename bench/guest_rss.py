#!/usr/bin/env python3
"""The resident memory of a program running under qemu-user, without
qemu's own: what the program would have resident on an arm board.

    guest_rss.py PID QEMU_LOG

PID is the qemu process; QEMU_LOG is the file its `-d page -D FILE`
options write. qemu logs the guest's address space after every mmap the
guest makes, and where that space starts in its own (guest_base); this
reads the last such layout, and counts the pages of those ranges that are
present in qemu's page tables (/proc/PID/pagemap, bit 63) or swapped out
(bit 62). Prints `rss_kib=<n>`. Needs to be the same user as qemu or
root."""
import re
import struct
import sys

LAYOUT = "page layout changed"
RANGE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) +[0-9a-f]+ +[-rwx]{3}$")
PAGE = 4096


def guest_layout(log_path):
    """(guest_base, [(start, end), ...]) from the last layout in the log."""
    base, ranges = None, None
    with open(log_path) as log:
        for line in log:
            line = line.strip()
            m = re.match(r"^(?:guest_base|Locating guest address space @) +(0x[0-9a-f]+)$", line)
            if m:
                base = int(m.group(1), 16)
            elif line.startswith(LAYOUT):
                ranges = []
            elif ranges is not None:
                r = RANGE.match(line)
                if r:
                    ranges.append((int(r.group(1), 16), int(r.group(2), 16)))
    if base is None or not ranges:
        raise ValueError(f"{log_path}: no guest_base or no page layout (was qemu run with -d page?)")
    return base, ranges


def resident_pages(pid, base, ranges):
    pages = 0
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for start, end in ranges:
            first, count = (base + start) // PAGE, (end - start) // PAGE
            pagemap.seek(first * 8)
            entries = pagemap.read(count * 8)
            for (entry,) in struct.iter_unpack("<Q", entries):
                if entry >> 62 & 3:
                    pages += 1
    return pages


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        base, ranges = guest_layout(argv[2])
        print(f"rss_kib={resident_pages(int(argv[1]), base, ranges) * PAGE // 1024}")
    except (OSError, ValueError) as e:
        print(f"guest_rss.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

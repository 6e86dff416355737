#!/usr/bin/env python3
"""Writes the hand-made seed inputs under fuzz/regressions/<target>/.

Run from anywhere; the files are small and committed. Crash inputs found by
fuzzing are copied next to them by hand (see README.md)."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions")


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def i64(v): return struct.pack(">q", v)
def i128(v): return (v % (1 << 128)).to_bytes(16, "big")
def f64(v): return struct.pack(">d", v)
def string(s): b = s.encode(); return u16(len(b)) + b
def f64_list(vs): return u32(len(vs)) + b"".join(f64(v) for v in vs)
def exact_sum(special, partials): return f64(special) + f64_list(partials)


def frame(ftype, job, payload, version=1, flags=0):
    return b"PIWK" + u8(version) + u8(ftype) + u16(flags) + u32(job) + u32(len(payload)) + payload


HELLO = u8(1) + u8(0) + string("0.1.0")
WELCOME = u8(1) + u8(0) + string("0.1.0") + string("pi1") + string("aarch64") + u16(4) + u32(16 << 20)
# Protocol 1.1: the client's nonce in Hello, the worker's nonce and proof in Welcome.
HELLO_11 = u8(1) + u8(1) + string("0.1.0") + bytes(range(16))
WELCOME_11 = u8(1) + u8(1) + string("0.1.0") + string("pi1") + string("aarch64") + u16(4) + u32(16 << 20) \
    + u8(1) + bytes(range(16)) + bytes(range(32))
ERROR = u16(6) + string("loopsum: t1 (2) is less than t0 (5)")


def submit(kind, flags, params): return u8(kind) + u8(flags) + params


LOOPSUM = i64(0) + i64(4001) + i64(4001) + f64(1.0)
SEEDS = {
    "frame": {
        "seed-hello": frame(0x01, 0, HELLO),
        "seed-submit-then-data": frame(0x10, 7, submit(5, 1, b"\x00\x02")) + frame(0x11, 7, b"1\n2\n"),
        "seed-ping-flags-and-truncated": frame(0x03, 0, b"", flags=0x8001) + frame(0x11, 1, b"abcdef")[:20],
        "seed-error-other-major": frame(0x22, 0, ERROR, version=2),
        "seed-huge-length": b"PIWK\x01\x11\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff",
    },
    "handshake": {
        "seed-hello": HELLO,
        "seed-welcome": WELCOME,
        "seed-hello-1.1-nonce": HELLO_11,
        "seed-welcome-1.1-key": WELCOME_11,
        "seed-error": ERROR,
        "seed-submit": submit(1, 0, LOOPSUM),
    },
    "job_params": {
        "seed-loopsum": submit(1, 0, LOOPSUM),
        "seed-pi": submit(2, 0, u64(42) + u64(0) + u64(1_000_000)),
        "seed-primes": submit(3, 0, u64(1) + u64(100) + u8(1)),
        "seed-powers": submit(4, 0, f64_list([2.0, 3.0]) + f64_list([1.0, 2.0, -0.5])),
        "seed-reduce": submit(5, 1, u8(0) + u8(2)),
        "seed-echo": submit(6, 1, b""),
        "seed-spin": submit(7, 0, u32(10) + b"payload"),
    },
    "job_results": {
        "seed-loopsum": exact_sum(0.0, [64032004000000.0]),
        "seed-pi-or-primes": u64(785_398) + u64(1_000_000),
        "seed-primes-partial": b"".join(u64(p) for p in [2, 3, 5, 7, 11]),
        # 1.4's gaps: tag 1, the first prime, then half-gaps as LEB128 (the
        # last one, 150, takes two bytes).
        "seed-primes-gaps-partial": u8(1) + u64(2) + bytes([1, 1, 1, 2, 1, 0x96, 0x01]),
        "seed-powers": u32(2) + u32(2) + b"".join(f64(v) for v in [2.0, 3.0, 4.0, 9.0]),
        "seed-reduce-sum-i64": u64(3) + u8(2) + i128(-12345678901234567890),
        "seed-reduce-sum-text": u64(2) + u8(7) + i128(7) + u8(1) + exact_sum(0.0, [7.0]),
        "seed-reduce-min-f64": u64(1) + u8(3) + f64(-2.5),
        "seed-echo": u64(1 << 20),
    },
    "reduce_stream": {
        # op, dtype, n, n u16 chunk lengths, stream
        "seed-text-sum": bytes([0, 2, 2]) + u16(3) + u16(9) + b"# seed 002\n1234567890123456\n\n-5\n2.5\r\n7",
        "seed-i64-min": bytes([1, 1, 1]) + u16(5) + b"".join(i64(v) for v in [5, -7, 1 << 62]),
        "seed-f64-sum-stray": bytes([0, 0, 0]) + f64(0.1) + f64(1e308) + b"\x01\x02",
    },
}

for target, files in SEEDS.items():
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(ROOT, target, name), "wb") as f:
            f.write(data)

"""The Cluster: one object per set of workers, one method per job."""

from __future__ import annotations

import json
import os
import tempfile
from collections import namedtuple
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from . import _errors, _life, _streams, _values
from ._piworker import CallFailed, reduce_memory as _reduce_memory, run as _run

PathLike = Union[str, "os.PathLike[str]"]
Primes = namedtuple("Primes", ["count", "largest"])
# Stands for the results pipe's path in a streamed command line.
_OUT = "{results pipe}"


class Cluster:
    """The workers of a host spec, as pisubmit's --hosts takes it.

    `hosts` is a spec string ("pi[01-04]", "192.168.{4..67}.{1..3}:7878",
    "@pi_list.txt", comma-separated), a list of such strings, or None for
    PISUBMIT_HOSTS. `key` is the cluster key's file (pisubmit --key).
    The other settings are pisubmit's global options of the same names.

    Every call runs on pisubmit's own engine with the GIL released, and
    leaves pisubmit's --json report of the run in `last_report`.
    """

    def __init__(
        self,
        hosts: Union[str, Sequence[str], None] = None,
        key: Optional[PathLike] = None,
        *,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        heartbeat_timeout: Optional[float] = None,
        retries: Optional[int] = None,
        piece_timeout: Optional[Union[float, str]] = None,
    ) -> None:
        if hosts is not None and not isinstance(hosts, str):
            hosts = ",".join(hosts)
        self.hosts: Optional[str] = hosts
        self.key: Optional[str] = os.fspath(key) if key is not None else None
        self._global: List[str] = ["--json", "--quiet"]
        if hosts is not None:
            self._global += ["--hosts", hosts]
        if key is not None:
            self._global += ["--key", os.fspath(key)]
        for flag, value in (
            ("--timeout", timeout),
            ("--connect-timeout", connect_timeout),
            ("--heartbeat-timeout", heartbeat_timeout),
            ("--retries", retries),
            ("--piece-timeout", piece_timeout),
        ):
            if value is not None:
                self._global += [flag, str(value)]
        self.last_report: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        return f"Cluster({self.hosts!r})"

    # --- running pisubmit's commands -------------------------------------

    def _call(
        self, argv: List[str], input_fd: Optional[int] = None, output_fd: Optional[int] = None, cancel: Any = None
    ) -> Dict[str, Any]:
        env_hosts = os.environ.get("PISUBMIT_HOSTS")
        try:
            text = _run(argv + self._global, env_hosts, input_fd, output_fd, cancel)
        except CallFailed as e:
            kind, message = e.args
            raise _errors.from_call(kind, message) from None
        report = json.loads(text) if text.strip() else {}
        self.last_report = report
        return report

    def _streamed(self, argv: List[str], lines: Optional[Iterable[Any]] = None) -> _streams.Running:
        """`argv` running on its own thread, its results read as they come."""
        feed = _streams.feed_lines(lines) if lines is not None else None

        def call(output_fd: int, cancel: Any) -> Dict[str, Any]:
            # A job that writes a file (primes --output) is given the pipe
            # by its name; the others write their results to output_fd.
            named = [a.replace(_OUT, f"/dev/fd/{output_fd}") for a in argv]
            input_fd = feed[0] if feed else None
            try:
                if named != argv:
                    return self._call(named, input_fd, cancel=cancel)
                return self._call(argv, input_fd, output_fd, cancel)
            finally:
                if feed:
                    os.close(feed[0])
                    feed[1].join(timeout=1)
                    if feed[2]:
                        raise feed[2][0]

        return _streams.Running(call)

    # --- the cluster -------------------------------------------------------

    def ping(self) -> List[Dict[str, Any]]:
        """Every worker's handshake: address, hostname, arch, version,
        threads, state and round trip (rtt_ms); None where absent."""
        return self._call(["ping"])["hosts"]

    def status(self) -> List[Dict[str, Any]]:
        """What every worker says of itself (pisubmit status --json): load,
        temperature, memory, throttling, jobs; None where a fact is absent."""
        return self._call(["status"])["hosts"]

    def threads(self) -> int:
        """Cores the reachable workers offer together."""
        return sum(h.get("threads") or 0 for h in self.ping() if h.get("state") == "ok")

    # --- the seeds' jobs ---------------------------------------------------

    def loopsum(self, t_range: Sequence[int] = (0, 4001), u_len: int = 4001, c: float = 1.0) -> float:
        """Seed 000's sum over t in t_range (end excluded) and u in 0..u_len
        of t*u*c, each row summed in the seed's order, rows added exactly."""
        t0, t1 = t_range
        report = self._call(["loopsum", "--t-range", f"{t0}..{t1}", "--u-len", str(u_len), "--c", repr(float(c))])
        return float(report["result"])

    def pi(self, samples: int, seed: int = 1) -> float:
        """Seed 001's Monte Carlo pi from `samples` darts of stream `seed`;
        the same answer on any cluster."""
        return float(self._call(["pi", "--samples", str(samples), "--seed", str(seed)])["result"])

    def primes(self, a: int, b: int) -> Primes:
        """How many primes lie in [a, b], and the largest (None if none)."""
        report = self._call(["primes", "--from", str(a), "--to", str(b)])
        return Primes(int(report["result"]), report.get("max"))

    def iter_primes(self, a: int, b: int) -> Iterator[Any]:
        """The primes of [a, b] in order, a chunk (a uint64 NumPy array, or
        array('Q')) at a time as they arrive; memory stays bounded."""
        run = self._streamed(["primes", "--from", str(a), "--to", str(b), "--output", _OUT])
        return _prime_chunks(run)

    def primes_array(self, a: int, b: int) -> Any:
        """Every prime of [a, b] in one uint64 array (NumPy's, or array('Q'))."""
        # pisubmit writes them as a .npy file, raw little-endian uint64,
        # which is read back whole: decimal text through a pipe cost a
        # parse of every prime (bench/python.sh).
        with tempfile.TemporaryDirectory(prefix="piworker-primes-") as tmp:
            path = os.path.join(tmp, "primes.npy")
            self._call(["primes", "--from", str(a), "--to", str(b), "--output", path])
            return _values.read_u64_npy(path)

    def powers(self, nums: Sequence[float], exps: Sequence[float]) -> List[List[float]]:
        """Seed 003's table: result[i][j] = nums[j] ** exps[i]."""
        csv = lambda xs: ",".join(repr(float(x)) for x in xs)  # noqa: E731
        report = self._call(["powers", "--nums", csv(nums), "--exps", csv(exps)])
        return [[float(v) for v in row] for row in report["result"]]

    def reduce(self, op: str, data: Any, dtype: Optional[str] = None) -> Union[int, float, None]:
        """sum, min, max or count over `data`: a NumPy array, any buffer of
        8- or 4-byte numbers, a file's path (binary with `dtype`, text
        without), or an iterable of numbers. Sums are exact: the same bits
        however the data is split."""
        if isinstance(data, (str, os.PathLike)):
            argv = ["reduce", "--op", op, "--input", os.fspath(data)]
            if dtype is not None:
                argv += ["--dtype", dtype]
            return _reduced(self._call(argv))
        view, given = _as_buffer(data)
        address, pinned = _values.address_of(view)
        # The workers read the memory in place: `view` and `pinned` keep it
        # exported (it cannot be resized or freed) until the call returns.
        try:
            text = _reduce_memory(
                self._global, op, dtype or given, address, len(pinned), os.environ.get("PISUBMIT_HOSTS")
            )
        except CallFailed as e:
            kind, message = e.args
            raise _errors.from_call(kind, message) from None
        del pinned
        self.last_report = json.loads(text)
        return _reduced(self.last_report)

    def echo(self, nbytes: int) -> int:
        """Sends `nbytes` through the workers and checks them; bytes back."""
        return int(self._call(["echo", "--bytes", str(nbytes)])["result"])

    # --- job programs and farms --------------------------------------------

    def exec(
        self,
        name: str,
        range: Optional[Sequence[int]] = None,
        pieces: Optional[int] = None,
        lines: Union[PathLike, Iterable[Any], None] = None,
        block: Optional[int] = None,
        ordered: bool = True,
        time_limit: Optional[float] = None,
        memory_limit: Optional[str] = None,
    ) -> Iterator[str]:
        """Runs job program `name` (see `pisubmit jobs`) over pieces of
        `range` (A, B: B excluded), or over `lines`: a file's path (in
        blocks of `block` lines) or any iterable, one task per item, read
        as it is produced (a farm). Yields the programs' output lines in
        piece order, or as pieces finish with ordered=False."""
        argv = ["exec", name, "--ordered" if ordered else "--unordered"]
        feed = None
        if range is not None:
            argv += ["--range", f"{range[0]}..{range[1]}"]
            if pieces is not None:
                argv += ["--pieces", str(pieces)]
        elif isinstance(lines, (str, os.PathLike)):
            argv += ["--lines", os.fspath(lines)]
            if block is not None:
                argv += ["--block", str(block)]
        elif lines is not None:
            feed = lines
        else:
            raise _errors.UsageError("exec: give range=(A, B) or lines=")
        if time_limit is not None:
            argv += ["--time-limit", str(time_limit)]
        if memory_limit is not None:
            argv += ["--memory-limit", str(memory_limit)]
        return _lines_then_report(self._streamed(argv, feed))

    def farm(self, tasks: Iterable[Any], ordered: bool = True) -> Iterator[str]:
        """The built-in spin farm: each task is "MILLISECONDS [TEXT]" (seed
        001's analysis jobs stand-in); yields each task's result line."""
        argv = ["farm", "--ordered" if ordered else "--unordered", "spin"]
        return _lines_then_report(self._streamed(argv, tasks))

    # --- life ----------------------------------------------------------------

    def life(
        self,
        board: Any,
        generations: int,
        *,
        width: Optional[int] = None,
        height: Optional[int] = None,
        wrap: bool = True,
        exchange_every: Optional[int] = None,
    ) -> Any:
        """Conway's Life: `board` is a 2-D array or list of rows (0/1 or
        '.'/'O'), an RLE or .cells file's path, or RLE/.cells text. A board
        is run at its own size; a pattern is centred on width x height.
        Returns the board after `generations` as a height x width uint8
        array (a list of bytearrays without NumPy); population and the
        board's SHA-256 are in last_report."""
        with tempfile.TemporaryDirectory(prefix="piworker-life-") as tmp:
            if _life.is_pattern_file(board):
                source = os.fspath(board)
            else:
                if isinstance(board, str):
                    text = board
                else:
                    text, cols, rows = _life.to_cells_text(board)
                    width, height = width or cols, height or rows
                source = os.path.join(tmp, "board.rle" if _life.is_rle_text(text) else "board.cells")
                with open(source, "w") as f:
                    f.write(text)
            out = os.path.join(tmp, "out.npy")
            argv = ["life", "--generations", str(generations), "--input", source, "--output", out]
            argv += ["--wrap"] if wrap else ["--dead"]
            if width is not None:
                argv += ["--width", str(width)]
            if height is not None:
                argv += ["--height", str(height)]
            if exchange_every is not None:
                argv += ["--exchange-every", str(exchange_every)]
            report = self._call(argv)
            return _life.read_board(out, int(report["width"]), int(report["height"]))


def _reduced(report: Dict[str, Any]) -> Union[int, float, None]:
    """reduce's answer: an int, a float (NaN and infinities, which JSON
    cannot hold, are named by `non_finite`), or None for min or max of
    nothing."""
    value = report["result"]
    if value is None:
        return float(report["non_finite"]) if "non_finite" in report else None
    return value if isinstance(value, int) else float(value)


def _as_buffer(data: Any) -> "tuple[memoryview, str]":
    """`data` as a contiguous buffer of bytes, and reduce's name for its
    values: for a NumPy array its own (`dtype.str`, "<f8", ">i2", "|u1"),
    which the engine reads in either byte order and widens as it sends,
    so the array is not converted here."""
    np = _values.numpy()
    if np is not None and isinstance(data, np.ndarray):
        if data.dtype.kind not in "fiu":
            raise _errors.UsageError(f"reduce: a {data.dtype} array holds no numbers reduce reads (floats or integers)")
        # The order of the values does not change sum, min, max or count:
        # a C- or Fortran-ordered array is read where it lies (ravel("K")
        # is a view of it); only a strided view is copied.
        flat = data.ravel(order="K")
        return memoryview(flat.view(np.uint8)), data.dtype.str
    try:
        view = memoryview(data)
    except TypeError:
        return _values.numbers_to_buffer(data)
    name = _values.buffer_dtype(view)
    if name is None:
        raise _errors.UsageError(f"reduce: a buffer of format {view.format!r} is not f64, i64, f32 or i32")
    return view.cast("B") if view.c_contiguous else memoryview(view.tobytes()), name


def _prime_chunks(run: _streams.Running) -> Iterator[Any]:
    def parsed() -> Iterator[Any]:
        tail = b""
        for data in run.chunks(1 << 20):
            data = tail + data
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if cut:
                yield _values.u64_from_text(data[:cut])
        if tail.strip():
            yield _values.u64_from_text(tail)

    return _streams.stop_when_closed(run, parsed())


def _lines_then_report(run: _streams.Running) -> Iterator[str]:
    return _streams.stop_when_closed(run, run.lines())

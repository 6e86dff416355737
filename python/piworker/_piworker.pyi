"""Type hints of the Rust extension (python/src/lib.rs)."""

from typing import Optional, Sequence

VERSION: str

class CallFailed(Exception):
    """args: (kind, message); kind is "usage", "connect", "job" or "findings"."""

def run(
    argv: Sequence[str],
    env_hosts: Optional[str] = None,
    input_fd: Optional[int] = None,
    output_fd: Optional[int] = None,
    cancel: Optional["Cancel"] = None,
) -> str:
    """Runs a pisubmit command line; returns what pisubmit prints."""

def reduce_memory(
    globals: Sequence[str],
    op: str,
    dtype: str,
    address: int,
    length: int,
    env_hosts: Optional[str] = None,
    cancel: Optional["Cancel"] = None,
) -> str:
    """Folds `length` bytes at `address` (kept alive by the caller) with
    reduce's `op`; `dtype` is a --dtype name or NumPy's (`a.dtype.str`).
    Returns the --json report."""

class Cancel:
    """Stops a call from another thread (a generator closed early)."""

    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...

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

class Cancel:
    """Stops a call from another thread (a generator closed early)."""

    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...

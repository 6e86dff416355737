"""Feeding task lines to a call and reading its results while it runs.

The engine runs with the GIL released; task lines go to it through a pipe
that a thread of ours fills from the caller's iterable, and results come
back through another pipe that the caller's generator reads, so a farm
yields results while its tasks are still arriving.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Iterable, Iterator, Optional

from ._piworker import Cancel


def feed_lines(lines: Iterable[Any]) -> tuple[int, threading.Thread, list]:
    """A pipe's read end that yields `lines` (one str per line, newline
    added), filled by a daemon thread; its errors land in the list."""
    read_fd, write_fd = os.pipe()
    errors: list = []

    # A list, tuple or range is all there already: its lines go in large
    # writes. Any other iterable may be slow to make its next task (a
    # generator reading a queue or a sensor): each of its lines is flushed
    # as it comes, so that its task starts at once. A write per line cost
    # a farm of 10,000 0-ms tasks from a list about a third of its time.
    eager = isinstance(lines, (list, tuple, range))

    def fill() -> None:
        try:
            with os.fdopen(write_fd, "w", encoding="utf-8", newline="\n") as pipe:
                for line in lines:
                    text = str(line)
                    if "\n" in text:
                        raise ValueError(f"a task line holds a newline: {text!r}")
                    pipe.write(text + "\n")
                    if not eager:
                        pipe.flush()
        except BrokenPipeError:
            pass  # the call ended (failed or interrupted) before the input did
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            errors.append(e)

    thread = threading.Thread(target=fill, name="piworker-input", daemon=True)
    thread.start()
    return read_fd, thread, errors


class Running:
    """A call running on a thread of its own, writing results to a pipe.

    `call(output_fd, cancel)` runs the command; a caller that stops reading
    early calls `stop()`, which cancels the call on the workers."""

    def __init__(self, call: Callable[[int, Any], Any]) -> None:
        self._read_fd, self._write_fd = os.pipe()
        self._reader: Optional[Any] = None
        self.cancel = Cancel()
        self.result: Any = None
        self.error: Optional[BaseException] = None

        def work() -> None:
            try:
                self.result = call(self._write_fd, self.cancel)
            except BaseException as e:  # noqa: BLE001 - re-raised by join()
                self.error = e
            finally:
                os.close(self._write_fd)

        self._thread = threading.Thread(target=work, name="piworker-call", daemon=True)
        self._thread.start()

    def chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        """The results' bytes as they come, until the call ends."""
        self._reader = os.fdopen(self._read_fd, "rb", buffering=0)
        with self._reader as pipe:
            while True:
                data = pipe.read(size)
                if not data:
                    return
                yield data

    def stop(self) -> None:
        """Nobody reads the results any more: cancel the call if it still
        runs (its pieces are cancelled on the workers) and wait for it."""
        if not self._thread.is_alive():
            return
        self.cancel.cancel()
        # A call blocked writing results to a full pipe sees it closed.
        if self._reader is not None:
            self._reader.close()
        else:
            os.close(self._read_fd)
        self._thread.join()

    def lines(self) -> Iterator[str]:
        """The results, a line at a time, as they come."""
        tail = b""
        for data in self.chunks():
            tail += data
            *whole, tail = tail.split(b"\n")
            for line in whole:
                yield line.decode("utf-8", "replace")
        if tail:
            yield tail.decode("utf-8", "replace")

    def join(self) -> Any:
        """The call's return value, or its exception raised here."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.result


def stop_when_closed(run: Running, results: Iterator[Any]) -> Iterator[Any]:
    """`results`, then the call's end (its exception raised here); a
    consumer that stops early (break, close, an exception) cancels it."""
    finished = False
    try:
        yield from results
        finished = True
    finally:
        if not finished:
            run.stop()
    run.join()

"""The exceptions a call raises, each with pisubmit's own message."""

from __future__ import annotations


class PiworkerError(Exception):
    """Anything that stopped a call; the message is pisubmit's."""


class UsageError(PiworkerError, ValueError):
    """Arguments pisubmit refuses (a bad range, a missing file, ...)."""


class NoWorkerError(PiworkerError, ConnectionError):
    """No worker could be reached, or none was left to finish the job."""


class RefusedError(NoWorkerError):
    """Workers answered but refused us: a wrong or missing cluster key, or
    an address outside their --allow list."""


class JobFailedError(PiworkerError):
    """The job ran and failed (a piece failed on every worker it tried, a
    job program exited non-zero everywhere, the --timeout passed)."""


# Words of pisubmit's messages that mean a worker turned us away (its key
# or its --allow list) rather than could not be reached; a "Connection
# refused" is a worker that is not listening, so not one of these.
_REFUSAL_WORDS = ("cluster key", "not allowed to use this worker", "refused this machine")


def from_call(kind: str, message: str) -> PiworkerError:
    """The typed exception for one of _piworker.CallFailed's kinds."""
    if kind == "usage":
        return UsageError(message)
    if kind == "connect":
        if any(word in message for word in _REFUSAL_WORDS):
            return RefusedError(message)
        return NoWorkerError(message)
    if kind == "job":
        if message.startswith("no worker") or "no worker left" in message:
            return NoWorkerError(message)
        return JobFailedError(message)
    return PiworkerError(message)

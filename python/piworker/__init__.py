"""piworker: run jobs on a shelf of Raspberry Pis from Python.

    import piworker
    c = piworker.Cluster("pi[01-04]", key="/etc/piworker/cluster.key")
    c.pi(10**9)                      # seed 001's pi, on every core
    c.primes(1, 10**9)               # Primes(count=50847534, largest=999999937)
    c.reduce("sum", numpy_array)     # exact, however it is split

The same engine as pisubmit (scheduler, retries, heartbeats, exact merges,
keys); docs/PYTHON.md has the seeds' programs in Python.
"""

from ._cluster import Cluster, Primes
from ._errors import JobFailedError, NoWorkerError, PiworkerError, RefusedError, UsageError
from ._piworker import VERSION as __version__

__all__ = [
    "Cluster",
    "Primes",
    "PiworkerError",
    "UsageError",
    "NoWorkerError",
    "RefusedError",
    "JobFailedError",
    "__version__",
]

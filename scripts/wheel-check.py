#!/usr/bin/env python3
"""The calls scripts/wheel-test.sh makes through an installed wheel, and the
answers pisubmit gives to the same jobs.

  wheel-check.py expect PISUBMIT HOSTS DIR   runs each job with `PISUBMIT
                                             --json` and writes DIR/expected.json
                                             (and the input files it reads)
  wheel-check.py check HOSTS DIR             runs each job through the
                                             installed piworker package and
                                             compares with DIR/expected.json

`check` runs with the python of a fresh venv holding only the wheel (no
NumPy: the package's no-NumPy path), natively and inside an arm64 Debian
tree under qemu-user; `expect` runs on the host. Both sides take the jobs
from JOBS below, so they cannot drift apart. Standard library only.
"""

import array
import importlib.util
import json
import os
import platform
import random
import subprocess
import sys

# Seed 002's long integers, negatives too: the sum needs more than 64 bits
# and stays exact; and decimals over many magnitudes, whose exact sum does
# not depend on how the list is cut. pisubmit reads them as text, the
# package sends them as binary in the machine's order: the answers agree
# only if the binary is read in the order NumPy and array() write it.
_rng = random.Random(19)
INTS = [_rng.choice((1, -1)) * _rng.randrange(2**61, 2**63 - 1) for _ in range(3000)]
FLOATS = [_rng.uniform(-1, 1) * 10.0 ** _rng.randrange(-12, 13) for _ in range(3000)]
TASKS = [f"{_rng.randrange(1, 20)} task-{i}" for i in range(24)]


def _hosts_facts(hosts):
    return [[h["arch"], h["version"], h["state"], h["threads"]] for h in hosts]


def _int_file(d):
    return os.path.join(d, "ints.txt")


def _float_file(d):
    return os.path.join(d, "floats.txt")


def _write_inputs(d):
    with open(_int_file(d), "w") as f:
        f.writelines(f"{v}\n" for v in INTS)
    with open(_float_file(d), "w") as f:
        f.writelines(f"{v!r}\n" for v in FLOATS)  # repr: the same doubles back


def _primes_array(c):
    got = c.primes_array(1, 100000)
    if not isinstance(got, array.array) or got.typecode != "Q":
        raise AssertionError(f"without NumPy primes_array gave {type(got).__name__}, not array('Q')")
    return [len(got), got[-1]]


def _reduce(op, data, text_file):
    """pisubmit's reduce of the text file against the package's reduce of
    `data`: a list, or a function of the directory giving the file's path."""
    given = data if callable(data) else lambda d: data
    argv = ["reduce", "--op", op, "--input", "{dir}/" + text_file]
    return (argv, None, lambda r: r["result"], lambda c, d: c.reduce(op, given(d)))


# name: (pisubmit arguments, its stdin, its answer from the --json report,
#        the same call through the package)
JOBS = {
    "ping": (["ping"], None, lambda r: _hosts_facts(r["hosts"]), lambda c, d: _hosts_facts(c.ping())),
    "pi": (["pi", "--samples", "300000", "--seed", "7"], None, lambda r: r["result"], lambda c, d: c.pi(300000, 7)),
    "primes": (
        ["primes", "--from", "1", "--to", "3000000"],
        None,
        lambda r: [r["result"], r["max"]],
        lambda c, d: list(c.primes(1, 3000000)),
    ),
    "primes_array": (
        ["primes", "--from", "1", "--to", "100000"],
        None,
        lambda r: [r["result"], r["max"]],
        lambda c, d: _primes_array(c),
    ),
    "reduce sum, list of ints": _reduce("sum", INTS, "ints.txt"),
    "reduce sum, list of floats": _reduce("sum", FLOATS, "floats.txt"),
    "reduce max, list of floats": _reduce("max", FLOATS, "floats.txt"),
    "reduce sum, text file": _reduce("sum", _float_file, "floats.txt"),
    "farm": (["farm", "spin"], "".join(t + "\n" for t in TASKS), lambda r: r["results"], lambda c, d: list(c.farm(TASKS))),
}


def _plain(value):
    """The value as JSON would give it back (tuples as lists, ...)."""
    return json.loads(json.dumps(value))


def expect(pisubmit, hosts, d):
    _write_inputs(d)
    answers = {}
    for name, (argv, stdin, answer, _) in JOBS.items():
        args = [a.replace("{dir}", d) for a in argv]
        cmd = [pisubmit, "--hosts", hosts, "--json", "--timeout", "60"] + args
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=90)
        if done.returncode != 0:
            sys.exit(f"wheel-check: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
        answers[name] = _plain(answer(json.loads(done.stdout)))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(answers, f)


def _short(value, width=44):
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 3] + "..."


def check(hosts, d):
    import piworker  # the installed wheel's, never a source tree's

    extension = importlib.util.find_spec("piworker._piworker").origin
    print(f"  python {platform.python_version()} on {platform.machine()}, "
          f"piworker {piworker.__version__} from {extension}")
    if importlib.util.find_spec("numpy") is not None:
        sys.exit("wheel-check: NumPy is importable here, so the no-NumPy path would not be tested")
    with open(os.path.join(d, "expected.json")) as f:
        expected = json.load(f)
    c = piworker.Cluster(hosts, timeout=60)
    wrong = []
    for name, (_, _, _, call) in JOBS.items():
        try:
            got = _plain(call(c, d))
        except Exception as e:  # noqa: BLE001 - reported with the job's name
            got = f"raised {type(e).__name__}: {e}"
        ok = got == expected[name]
        print(f"  {name:<28} {_short(expected[name]):<44} {'=' if ok else 'DIFF'}")
        if not ok:
            wrong.append(f"{name}: the package gave {_short(got, 300)}, pisubmit {_short(expected[name], 300)}")
    if wrong:
        sys.exit("wheel-check: FAIL:\n  " + "\n  ".join(wrong))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "expect":
        expect(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(*sys.argv[2:])
    else:
        sys.exit(__doc__)

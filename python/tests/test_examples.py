"""The seeds' programs in python/examples, each run as a user runs it
(`python examples/NAME.py HOSTS ...`) against real workers, its output
checked against answers found another way: closed forms, the seed's own
loops, a sieve, Python's pow, the glider's known walk."""

from __future__ import annotations

import ast
import importlib.util
import math
import os
import random
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

from conftest import pisubmit_json, sieve

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: object, hide: Sequence[str] = (), cwd=None, env=None, ok: bool = True):
    """Runs examples/NAME as `python NAME ARGS...`; `hide` makes modules
    unimportable in it (sys.modules[m] = None), as if not installed."""
    argv = [str(EXAMPLES / name), *map(str, args)]
    if hide:
        shim = (
            "import runpy, sys\n"
            f"sys.modules.update(dict.fromkeys({list(hide)!r}))\n"
            f"sys.argv = {argv!r}\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')\n"
        )
        command = [sys.executable, "-c", shim]
    else:
        command = [sys.executable, *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd, env=env)
    if ok:
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


# --- seed 000: the loop sum ---------------------------------------------------


def test_loopsum_is_the_closed_form_and_the_seeds_loop(cluster):
    out = run_example("loopsum.py", cluster.hosts, "--size", 4001, "--check-size", 120).stdout
    # sum over t, u < N of t*u = (N(N-1)/2)^2
    total = float(re.search(r"= (\S+) \(", out).group(1))
    assert total == (4000 * 4001 // 2) ** 2, out
    on_cluster, in_python = re.search(r"cluster (\S+), plain Python (\S+) \(", out).groups()
    assert float(on_cluster) == float(in_python) == (119 * 120 // 2) ** 2, out
    assert "same answer" in out


def test_examples_take_the_hosts_from_pisubmit_hosts(cluster):
    env = dict(os.environ, PISUBMIT_HOSTS=cluster.hosts)
    out = run_example("loopsum.py", "--size", 101, "--check-size", 10, env=env).stdout
    assert float(re.search(r"= (\S+) \(", out).group(1)) == (100 * 101 // 2) ** 2


# --- seed 001: pi and its scaling study ------------------------------------


def scaling_rows(out: str) -> List[List[str]]:
    return [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s", line)]


def test_pi_scaling_times_the_first_1_2_3_hosts_of_a_hosts_file(start_worker, tmp_path):
    workers = [start_worker(1) for _ in range(3)]
    hosts_file = tmp_path / "pi_list.txt"
    hosts_file.write_text("# the shelf\n" + "\n".join(w.address for w in workers) + "\n")
    png = tmp_path / "scaling.png"
    out = run_example(
        "pi_scaling.py", f"@{hosts_file}", "--samples", 300_000, "--repeat", 1, "--png", png, hide=["matplotlib"]
    ).stdout
    rows = scaling_rows(out)
    assert [r[0] for r in rows] == ["1", "2", "3"], out
    assert rows[0][2] == "1.00", "the speed-up of one host is 1"
    assert all(float(r[1]) > 0 for r in rows)
    want = pisubmit_json([w.address for w in workers], "pi", "--samples", "300000", "--seed", "1")["result"]
    assert [float(r[3]) for r in rows] == [want] * 3, "the same darts on any number of hosts"
    assert abs(want - math.pi) < 0.02
    assert "matplotlib is not installed" in out
    assert not png.exists()


def test_pi_scaling_draws_its_plot_with_matplotlib(cluster, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "scaling.png"
    out = run_example("pi_scaling.py", cluster.hosts, "--samples", 100_000, "--repeat", 1, "--png", png).stdout
    assert f"plot: {png}" in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100


# --- seed 003: the powers table ----------------------------------------------


def test_powers_table_prints_the_gathered_list_and_a_table(cluster):
    out = run_example("powers_table.py", cluster.hosts).stdout.splitlines()
    nums, exps = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 2, 3, 4, 5]
    assert ast.literal_eval(out[0]) == [[math.pow(n, p) for n in nums] for p in exps]
    table = out[2:]
    assert len(table) == 1 + len(exps)
    assert table[-1].split() == ["5", "|", "1", "32", "243", "1024", "3125", "7776"]


def test_powers_table_of_other_numbers(cluster):
    out = run_example("powers_table.py", cluster.hosts, "--nums", "1.5,2,10", "--exps", "0.5,-1").stdout
    assert ast.literal_eval(out.splitlines()[0]) == [
        [math.sqrt(1.5), math.sqrt(2), math.sqrt(10)],
        [1 / 1.5, 0.5, 0.1],
    ]


# --- seed 004: the prime finder and its temperature grid -------------------


def fake_pi(root: Path, temp_c) -> Path:
    """A --host-root whose thermal zone reads temp_c (None: no sensor)."""
    if temp_c is not None:
        zone = root / "sys/class/thermal/thermal_zone0"
        zone.mkdir(parents=True)
        (zone / "type").write_text("cpu-thermal\n")
        (zone / "temp").write_text(f"{round(temp_c * 1000)}\n")
    else:
        root.mkdir(parents=True)
    return root


def test_prime_finder_writes_an_npy_and_a_grid_of_temperatures(start_worker, tmp_path):
    np = pytest.importorskip("numpy")
    temps = [41.2, 66.0, 79.5, None]
    workers = [start_worker(1, ["--host-root", str(fake_pi(tmp_path / f"pi{i}", t))]) for i, t in enumerate(temps)]
    hosts = ",".join(w.address for w in workers)
    npy = tmp_path / "primes.npy"
    out = run_example("prime_finder.py", hosts, "--from", 1, "--to", 300_000, "--npy", npy, "--cols", 3).stdout
    reference = sieve(300_000)
    assert f"Number of primes found: {len(reference)}\n" in out
    assert f"Max Prime: {reference[-1]}\n" in out
    saved = np.load(npy)
    assert saved.dtype == np.uint64 and saved.shape == (len(reference),)
    assert saved.tolist() == reference

    grid = ast.literal_eval(re.search(r"temperatures: (\{.*\})", out).group(1))
    assert grid == {w.address: t for w, t in zip(workers, temps)}
    lines = out.splitlines()
    first_row = lines.index(next(line for line in lines if line.startswith(workers[0].address)))
    assert len(lines[first_row].split(" | ")) == 3 and len(lines[first_row + 1].split(" | ")) == 1
    cells = " | ".join(lines[first_row:]).split(" | ")
    assert [cell.split()[-1] for cell in cells] == ["blue", "orange", "red", "grey"]
    assert cells[1].split()[1:3] == ["66.0", "C"]


def test_prime_finder_without_numpy_writes_the_seeds_text_file(cluster, tmp_path):
    out = run_example("prime_finder.py", cluster.hosts, "--to", 20_000, hide=["numpy"], cwd=tmp_path).stdout
    assert "NumPy is not installed" in out
    written = (tmp_path / "unique_primes.txt").read_text().split()
    assert [int(p) for p in written] == sieve(20_000)
    assert not (tmp_path / "primes.npy").exists()


def test_prime_finder_colours_are_the_seeds_scale():
    spec = importlib.util.spec_from_file_location("prime_finder", EXAMPLES / "prime_finder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The seed's anchors: blue=40, green=50, yellow=60, orange=70, red=80.
    assert [module.colour(t) for t in (40, 50, 60, 70, 80)] == ["blue", "green", "yellow", "orange", "red"]
    assert [module.colour(t) for t in (12.0, 44.9, 45.1, 99.0, None)] == ["blue", "blue", "green", "red", "grey"]


# --- seed 001: a farm of a job program over log files ----------------------

# The same program as docs/PYTHON.md shows, installed in a --job-dir.
LOGCOUNT = '''#!/usr/bin/env python3
import sys

for line in sys.stdin:
    path = line.strip()
    temps = []
    with open(path) as log:
        for entry in log:  # 2020-08-03 14:00:05 temp=48.3'C
            fields = entry.split()
            if len(fields) == 3 and fields[2].startswith("temp="):
                temps.append(float(fields[2][5:].rstrip("'C")))
    print(path, len(temps), max(temps) if temps else "-")
'''


def test_the_job_program_is_the_one_the_docs_show():
    doc = (EXAMPLES.parents[1] / "docs" / "PYTHON.md").read_text()
    shown = re.search(r"```python\n(#!/usr/bin/env python3\n.*?)```", doc, re.S)
    assert shown and shown.group(1) == LOGCOUNT


def test_log_farm_counts_every_file_on_the_workers(start_worker, job_dir, tmp_path):
    job_dir.add("logcount", LOGCOUNT)
    workers = [start_worker(1, ["--job-dir", job_dir.path]) for _ in range(2)]
    hosts = ",".join(w.address for w in workers)
    rng = random.Random(1)
    logs = {}  # path -> the temperatures written, as the log shows them
    for i in range(7):
        temps = [round(rng.uniform(40, 85), 1) for _ in range(rng.randrange(0, 40) if i else 0)]
        path = tmp_path / f"temp_{i:02}.log"
        body = [f"2020-08-03 14:{n // 12:02}:{n % 12 * 5:02} temp={t}'C" for n, t in enumerate(temps)]
        path.write_text("\n".join(["# vcgencmd measure_temp every 5 s", *body]) + "\n")
        logs[str(path)] = temps

    out = run_example("log_farm.py", hosts, *logs, cwd=tmp_path).stdout.splitlines()
    expected = [f"{p} {len(t)} {max(t) if t else '-'}" for p, t in logs.items()]
    assert out[: len(logs)] == expected
    assert out[len(logs)] == f"{len(logs)} files, {sum(len(t) for t in logs.values())} readings"
    # The first file (in the order given) that holds the highest reading.
    highest = max(t for ts in logs.values() for t in ts)
    first = next(p for p, ts in logs.items() if highest in ts)
    assert out[len(logs) + 1] == f"hottest: {highest} C in {first}"

    # Relative paths are made absolute for the workers; --unordered gives
    # the same lines in any order.
    names = [Path(p).name for p in logs]
    unordered = run_example("log_farm.py", hosts, "--unordered", *names, cwd=tmp_path).stdout.splitlines()
    assert sorted(unordered[: len(logs)]) == sorted(expected)


def test_log_farm_names_a_missing_file_and_fails(start_worker, job_dir, tmp_path):
    job_dir.add("logcount", LOGCOUNT)
    workers = [start_worker(1, ["--job-dir", job_dir.path]) for _ in range(2)]
    hosts = ",".join(w.address for w in workers)
    (tmp_path / "here.log").write_text("2020-08-03 14:00:00 temp=50.0'C\n")
    done = run_example("log_farm.py", hosts, "here.log", "gone.log", cwd=tmp_path, ok=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    last = done.stderr.strip().splitlines()
    assert any(line.startswith("log_farm: ") for line in last), done.stderr
    assert str(tmp_path / "gone.log") in done.stderr and "logcount" in done.stderr


# --- Life from an RLE to a picture -------------------------------------------

GLIDER = "#N Glider\nx = 3, y = 3, rule = B3/S23\nbob$2bo$3o!\n"


def read_pbm(path: Path) -> List[List[int]]:
    words = path.read_text().split()
    assert words[0] == "P1"
    width, height = int(words[1]), int(words[2])
    pixels = [int(w) for w in words[3:]]
    assert len(pixels) == width * height
    return [pixels[y * width : (y + 1) * width] for y in range(height)]


def cells_of(pixels: List[List[int]], scale: int) -> set:
    """The alive cells of a picture drawn `scale` pixels a cell, checking
    that each cell's square is one colour."""
    alive = set()
    for y in range(0, len(pixels), scale):
        for x in range(0, len(pixels[0]), scale):
            square = {pixels[y + dy][x + dx] for dy in range(scale) for dx in range(scale)}
            assert len(square) == 1, (x, y, square)
            if square == {1}:
                alive.add((y // scale, x // scale))
    return alive


def glider_walk(start: set, size: int) -> set:
    """A glider (bob$2bo$3o) moves one cell down and right every 4 generations."""
    return {((y + 1) % size, (x + 1) % size) for y, x in start}


@pytest.mark.parametrize("hide", [["matplotlib"], ["numpy", "matplotlib"]], ids=["no-matplotlib", "no-numpy"])
def test_life_png_writes_a_pbm_without_matplotlib(cluster, tmp_path, hide):
    rle = tmp_path / "glider.rle"
    rle.write_text(GLIDER)
    boards = []
    for generations in (0, 4, 64):
        out = run_example(
            "life_png.py", cluster.hosts, rle, generations, tmp_path / f"g{generations}.png",
            "--width", 16, "--height", 16, "--scale", 2, hide=hide,
        ).stdout
        assert f"generation {generations}: 5 alive on 16x16" in out
        assert "matplotlib is not installed" in out and not (tmp_path / f"g{generations}.png").exists()
        pixels = read_pbm(tmp_path / f"g{generations}.pbm")
        assert len(pixels) == 32 and len(pixels[0]) == 32
        boards.append(cells_of(pixels, 2))
    start, four, sixty_four = boards
    ys, xs = min(y for y, _ in start), min(x for _, x in start)
    assert {(y - ys, x - xs) for y, x in start} == {(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)}, "the RLE's glider"
    assert four == glider_walk(start, 16)
    assert sixty_four == start, "16 steps of one cell round a 16x16 torus"


def test_life_png_draws_a_png_with_matplotlib(cluster, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    rle = tmp_path / "glider.rle"
    rle.write_text(GLIDER)
    png = tmp_path / "glider.png"
    out = run_example("life_png.py", cluster.hosts, rle, 4, png, "--width", 16, "--height", 12, "--scale", 3).stdout
    assert f"wrote {png}" in out
    image = matplotlib.image.imread(str(png))
    assert image.shape[:2] == (36, 48)
    dark = (image[:, :, :3].mean(axis=2) < 0.5).sum()
    assert dark == 5 * 3 * 3, "five black cells of 3x3 pixels"

#!/usr/bin/env python3
"""Renders the rows that the bench scripts recorded (bench_row in
bench/lib.sh) as a Markdown table, and puts it into docs/PERFORMANCE.md
between the two marker lines, replacing the table of the previous run.

    bench/table.py ROWS.tsv DOC.md [--print] [--markers NAME]

--markers NAME puts the table between the marker lines of NAME instead
(`<!-- bench-table:NAME:begin ...` and `<!-- bench-table:NAME:end -->`),
so that `make bench-net` keeps its own table beside `make bench`'s.

Each row holds every run's value, so the table shows the median and the
spread (min-max) of each side and the ratio of the medians, expressed as
piworker's speed over the anchor's: above 1, piworker is faster. The
header names the machine, the date and every tool's version."""
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

BEGIN = "<!-- bench-table:begin (written by `make bench`; edits here are lost) -->"
END = "<!-- bench-table:end -->"


def markers(name):
    """The marker lines of the table called NAME (None: `make bench`'s)."""
    if name is None:
        return BEGIN, END
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise RowError(f"--markers {name!r}: use lower-case letters, digits and dashes")
    return (f"<!-- bench-table:{name}:begin (written by `make bench-{name}`; edits here are lost) -->",
            f"<!-- bench-table:{name}:end -->")


class RowError(Exception):
    pass


def samples(text, where):
    try:
        values = [float(v) for v in text.split()]
    except ValueError:
        raise RowError(f"{where}: not a list of numbers: {text!r}")
    if not values:
        raise RowError(f"{where}: no samples")
    return values


def parse(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            where = f"{path}:{n}"
            if len(fields) != 9:
                raise RowError(f"{where}: expected 9 tab-separated fields, found {len(fields)}")
            section, measure, unit, better, pw, anchor, anchor_values, target, note = fields
            if better not in ("lower", "higher"):
                raise RowError(f"{where}: field 4 must be lower or higher, not {better!r}")
            row = dict(section=section, measure=measure, unit=unit, better=better,
                       pw=samples(pw, where + " piworker samples"), anchor=anchor,
                       anchor_values=None, target=target, note=note)
            if anchor != "-":
                row["anchor_values"] = samples(anchor_values, where + " anchor samples")
            if target != "-" and not re.fullmatch(r"(ratio|value)(>=|<=)[0-9.eE+-]+", target):
                raise RowError(f"{where}: target {target!r} is not ratio>=R, value<=V or value>=V")
            rows.append(row)
    return rows


def number(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M" if a < 1e9 else f"{v:.3g}"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def cell(values, unit):
    med = statistics.median(values)
    text = f"**{number(med)}** {unit}"
    if len(values) > 1:
        text += f" ({number(min(values))}–{number(max(values))}, n={len(values)})"
    return text


def ratio(row):
    if row["anchor_values"] is None:
        return None
    pw, an = statistics.median(row["pw"]), statistics.median(row["anchor_values"])
    if pw == 0 or an == 0:
        return None
    return an / pw if row["better"] == "lower" else pw / an


def verdict(row, r):
    target = row["target"]
    if target == "-":
        return ""
    kind, op, limit = re.fullmatch(r"(ratio|value)(>=|<=)(.*)", target).groups()
    value = r if kind == "ratio" else statistics.median(row["pw"])
    if value is None:
        return "no value"
    ok = value >= float(limit) if op == ">=" else value <= float(limit)
    shown = f"{'ratio' if kind == 'ratio' else ''} {op.replace('>=', '≥').replace('<=', '≤')} {limit}".strip()
    return f"{shown}: {'met' if ok else '**NOT MET**'}"


def render_rows(rows):
    out = ["| measure | piworker | anchor | anchor's value | ratio | target |",
           "|---|---|---|---|---|---|"]
    section = None
    for row in rows:
        if row["section"] != section:
            section = row["section"]
            out.append(f"| **{section}** | | | | | |")
        r = ratio(row)
        measure = row["measure"] + (f" ({row['note']})" if row["note"] else "")
        anchor = "" if row["anchor"] == "-" else row["anchor"]
        anchor_cell = "" if row["anchor_values"] is None else cell(row["anchor_values"], row["unit"])
        out.append(f"| {measure} | {cell(row['pw'], row['unit'])} | {anchor} | {anchor_cell} | "
                   f"{'' if r is None else f'**{r:.2f}**'} | {verdict(row, r)} |")
    return out


def version(cmd, pattern=r"(\d+[\d.]*[\w.+~-]*)"):
    try:
        text = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(pattern, text)
    return m.group(1) if m else None


def python_module_version(module):
    venv = os.path.join("target", "bench", "venv", "bin", "python")
    python = venv if os.path.exists(venv) else "/usr/bin/python3"
    return version([python, "-c", f"import {module}; print({module}.__version__)"])


def header():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) / 2**20
    except OSError:
        mem_gib = 0
    commit = version(["git", "describe", "--always", "--dirty"], r"(\S+)")
    tools = [
        ("piworker", f"git {commit}" if commit else None),
        ("rustc", version(["rustc", "--version"])),
        ("gcc", version(["gcc", "-dumpfullversion"])),
        ("Open MPI", version(["mpirun", "--version"])),
        ("Python", version(["/usr/bin/python3", "--version"])),
        ("mpi4py", python_module_version("mpi4py")),
        ("NumPy", python_module_version("numpy")),
        ("dispy", python_module_version("dispy")),
        ("GNU parallel", version(["parallel", "--version"], r"GNU parallel (\d+)")),
        ("primesieve", version(["primesieve", "--version"])),
        ("qemu-user", version(["qemu-aarch64-static", "--version"], r"version (\S+)")),
    ]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"Measured {now} on {os.cpu_count()} CPUs ({cpu}), {mem_gib:.0f} GiB, "
        f"Linux {platform.release()}. Load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}.",
        "",
        "Versions: " + ", ".join(f"{name} {v}" for name, v in tools if v) + ".",
        "",
        "Each cell is the **median** of the runs with the spread (min–max) and the number of runs. "
        "**ratio** is piworker's speed over the anchor's, from the medians: above 1, piworker is faster "
        "(for times it is the anchor's time over piworker's).",
        "",
    ]


def splice(doc, block, name=None):
    first, last = markers(name)
    text = open(doc, encoding="utf-8").read()
    begin, end = text.find(first), text.find(last)
    if begin < 0 or end < begin:
        raise RowError(f"{doc}: the marker lines are missing; add\n{first}\n{last}\nwhere the table goes")
    new = text[:begin] + first + "\n" + "\n".join(block) + "\n" + text[end:]
    tmp = doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, doc)


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    rows_path, doc, options = argv[1], argv[2], argv[3:]
    try:
        name = None
        if "--markers" in options:
            at = options.index("--markers")
            if at + 1 >= len(options):
                raise RowError("--markers needs a NAME")
            name = options[at + 1]
            markers(name)
        rows = parse(rows_path)
        if not rows:
            raise RowError(f"{rows_path}: no rows")
        block = header() + render_rows(rows)
        if "--print" in options:
            print("\n".join(block))
        else:
            splice(doc, block, name)
            print(f"bench: wrote {len(rows)} rows to {doc}")
    except (OSError, RowError) as e:
        print(f"bench/table.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

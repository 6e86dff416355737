//! NumPy's own files against real workers on loopback: `tofile()` and
//! `np.save()` output written by NumPy (/usr/bin/python3, numpy 1.24),
//! folded by pisubmit and compared with NumPy's answers (math.fsum for the
//! exact f64 sum, Python ints for integer sums); every refusal's message.
//! NumPy missing is a failure, not a skip.

mod common;

use common::{pisubmit, temp_dir, Worker};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Writes the test files into argv[1] and prints, per file, what NumPy
/// says each reduce gives.
const WRITE_FILES: &str = r#"
import json, math, pickle, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(19)
answers = {}

def answer(name, a, dtype=None):
    flat = np.asarray(a).ravel(order="K")
    if flat.dtype.kind == "f":
        vals = [float(x) for x in flat.astype(np.float64)]
        s = math.fsum(vals)
    else:
        vals = [int(x) for x in flat]
        s = sum(vals)
    answers[name] = {
        "dtype": dtype,
        "sum": s,
        "min": min(vals) if vals else None,
        "max": max(vals) if vals else None,
        "count": len(vals),
    }

def raw(name, a, dtype):
    a.tofile(f"{d}/{name}")
    answer(name, a, dtype)

def saved(name, a):
    np.save(f"{d}/{name}", a)
    answer(name, a)

doubles = rng.standard_normal(1_000_000) * 10.0 ** rng.integers(-20, 21, 1_000_000)
ints = rng.integers(-(2**40), 2**40, 300_000)
raw("doubles.f64", doubles, "f64")
raw("doubles.f64be", doubles.astype(">f8"), "f64be")
raw("ints.i64", ints, "i64")
raw("ints.i64be", ints.astype(">i8"), "i64be")
raw("floats.f32", rng.standard_normal(1_500_001).astype(np.float32), "f32")
raw("floats.f32be", rng.standard_normal(1001).astype(">f4"), "f32be")
raw("ints.i32", rng.integers(-(2**31), 2**31, 70_001).astype(np.int32), "i32")
raw("ints.i32be", rng.integers(-(2**31), 2**31, 999).astype(">i4"), "i32be")

saved("le_f8.npy", doubles[:200_000])
saved("be_f8.npy", doubles[:3333].astype(">f8"))
saved("le_i8.npy", ints)
saved("be_i8.npy", ints[:777].astype(">i8"))
saved("le_f4.npy", rng.standard_normal(5000).astype("<f4"))
saved("be_f4.npy", rng.standard_normal(5000).astype(">f4"))
saved("le_i4.npy", rng.integers(-(2**31), 2**31, 4096).astype("<i4"))
saved("be_i4.npy", rng.integers(-(2**31), 2**31, 4096).astype(">i4"))
saved("grid_c.npy", rng.standard_normal((300, 400)))
saved("grid_fortran.npy", np.asfortranarray(rng.integers(-1000, 1000, (123, 45)).astype(np.int32)))
saved("empty.npy", np.zeros(0))
saved("small_i2.npy", rng.integers(-30000, 30000, 999).astype("<i2"))
saved("small_u1.npy", rng.integers(0, 256, 999).astype(np.uint8))

# What reduce must refuse.
np.save(f"{d}/objects.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
np.save(f"{d}/structured.npy", np.zeros(4, dtype=[("x", "<f8"), ("y", "<i4")]))
np.save(f"{d}/complex.npy", np.zeros(4, dtype=np.complex128))
np.save(f"{d}/truncated.npy", np.arange(100, dtype=np.float64))
with open(f"{d}/truncated.npy", "r+b") as f:
    f.truncate(f.seek(0, 2) - 5)
with open(f"{d}/pickled.npy", "wb") as f:
    pickle.dump([1.0, 2.0], f, protocol=4)
with open(f"{d}/text.npy", "w") as f:
    f.write("1.5\n2.5\n")
with open(f"{d}/numbers.txt", "w") as f:
    f.write("".join(f"{x!r}\n" for x in doubles[:1000]))
(np.arange(7, dtype=np.uint8)).tofile(f"{d}/seven.bytes")
print(json.dumps(answers))
"#;

/// NumPy writes the files; its answers per file.
fn numpy_files(dir: &Path) -> serde_json::Map<String, Value> {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", WRITE_FILES, dir.to_str().expect("UTF-8 path")])
        .output()
        .expect("/usr/bin/python3 must exist: these tests compare with NumPy");
    assert!(
        out.status.success(),
        "/usr/bin/python3 with numpy is required (apt-get install python3-numpy), not skipped:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the generator's JSON");
    v.as_object().expect("a JSON object").clone()
}

fn reduce(hosts: &str, dir: &Path, op: &str, file: &str, dtype: Option<&str>) -> common::Run {
    let path = dir.join(file);
    let mut args = vec!["--json", "reduce", "--op", op, "--input", path.to_str().expect("UTF-8 path")];
    if let Some(d) = dtype {
        args.extend(["--dtype", d]);
    }
    pisubmit(hosts, &args)
}

/// The same number: integers exactly, floats to the bit.
fn same(got: &Value, want: &Value, what: &str) {
    match (got.as_i64(), want.as_i64()) {
        (Some(g), Some(w)) => assert_eq!(g, w, "{what}"),
        _ if want.is_null() => assert!(got.is_null(), "{what}: {got} instead of null"),
        _ => {
            let (g, w) = (got.as_f64().expect("a number"), want.as_f64().expect("a number"));
            assert_eq!(g.to_bits(), w.to_bits(), "{what}: pisubmit {g:e}, NumPy {w:e}");
        }
    }
}

#[test]
fn numpy_files_fold_to_numpys_answers() {
    let dir = temp_dir("e2e-numpy-answers");
    let answers = numpy_files(&dir);
    let (a, b) = (Worker::start(&[]), Worker::start(&[]));
    let hosts = common::hosts(&[&a, &b]);
    assert!(answers.len() >= 20, "the generator wrote {} files", answers.len());
    for (file, want) in &answers {
        let dtype = want["dtype"].as_str();
        for op in ["sum", "min", "max", "count"] {
            let run = reduce(&hosts, &dir, op, file, dtype);
            assert_eq!(run.code, 0, "{op} of {file}: {}", run.stderr);
            same(&run.json()["result"], &want[op], &format!("{op} of {file} (--dtype {dtype:?})"));
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn what_cannot_be_read_is_refused_with_the_reason_and_the_file() {
    let dir = temp_dir("e2e-numpy-refused");
    numpy_files(&dir);
    let w = Worker::start(&[]);
    let refusals: &[(&str, Option<&str>, &[&str])] = &[
        ("objects.npy", None, &["object array", "never unpickles"]),
        ("structured.npy", None, &["structured dtype"]),
        ("complex.npy", None, &["'<c16'", "is not one reduce reads"]),
        ("truncated.npy", None, &["truncated", "(100,)", "only 795 bytes"]),
        ("pickled.npy", None, &["not a .npy file", "pickle"]),
        ("text.npy", None, &["not a .npy file", "31 2e 35 0a 32 2e"]),
        ("le_f8.npy", Some("i64"), &["--dtype i64 disagrees", "'<f8'"]),
        ("seven.bytes", Some("f64"), &["7 bytes is not a whole number of 8-byte f64 values"]),
        ("numbers.txt", Some("f64"), &["looks like text, not f64 values", "--dtype text"]),
        ("doubles.f64", None, &["binary data, not text"]),
        ("doubles.f64", Some("text"), &["binary data, not text"]),
    ];
    for (file, dtype, words) in refusals {
        let run = reduce(&w.addr(), &dir, "sum", file, *dtype);
        assert_eq!(run.code, 2, "{file} --dtype {dtype:?} is a usage error: {} {}", run.stdout, run.stderr);
        assert!(run.stderr.contains(file), "{file}: the message names the file: {}", run.stderr);
        for word in *words {
            assert!(run.stderr.contains(word), "{file}: {word:?} not in {}", run.stderr);
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// Loads a .npy with NumPy and prints what the test compares.
const LOAD: &str = r#"
import json, sys
import numpy as np
a = np.load(sys.argv[1])
print(json.dumps({"dtype": a.dtype.str, "shape": list(a.shape), "values": [int(x) for x in a.ravel()]}))
"#;

fn numpy_load(path: &Path) -> Value {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", LOAD, path.to_str().expect("UTF-8 path")])
        .output()
        .expect("/usr/bin/python3 must exist: these tests compare with NumPy");
    assert!(out.status.success(), "np.load({}) failed:\n{}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the loader's JSON")
}

#[test]
fn primes_and_life_write_npy_files_numpy_loads() {
    let dir = temp_dir("e2e-numpy-output");
    let (a, b) = (Worker::start(&[]), Worker::start(&[]));
    let hosts = common::hosts(&[&a, &b]);
    let (npy, txt) = (dir.join("p.npy"), dir.join("p.txt"));
    for out in [&npy, &txt] {
        let run = pisubmit(
            &hosts,
            &["--json", "primes", "--from", "1", "--to", "5000000", "--output", out.to_str().unwrap()],
        );
        assert_eq!(run.json()["result"], 348_513, "{}", run.stderr);
    }
    let loaded = numpy_load(&npy);
    assert_eq!((loaded["dtype"].as_str(), &loaded["shape"]), (Some("<u8"), &serde_json::json!([348_513])));
    let text: Vec<u64> = std::fs::read_to_string(&txt).unwrap().lines().map(|l| l.parse().expect("a prime")).collect();
    let values: Vec<u64> = loaded["values"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(values == text, "the .npy holds the text output's primes");
    let empty = dir.join("none.npy");
    let run =
        pisubmit(&hosts, &["--json", "primes", "--from", "24", "--to", "28", "--output", empty.to_str().unwrap()]);
    assert_eq!(run.json()["result"], 0);
    assert_eq!(numpy_load(&empty)["shape"], serde_json::json!([0]));

    // A glider on a 13 x 21 board: the .npy board is the RLE board.
    let glider = dir.join("glider.rle");
    std::fs::write(&glider, "x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n").unwrap();
    let (board, rle) = (dir.join("board.npy"), dir.join("board.rle"));
    for out in [&board, &rle] {
        let run = pisubmit(
            &hosts,
            &[
                "--json",
                "life",
                "--input",
                glider.to_str().unwrap(),
                "--width",
                "21",
                "--height",
                "13",
                "--generations",
                "9",
                "--output",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let loaded = numpy_load(&board);
    assert_eq!((loaded["dtype"].as_str(), &loaded["shape"]), (Some("|u1"), &serde_json::json!([13, 21])));
    let cells: Vec<u64> = loaded["values"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let pattern = piworker::life::pattern::parse_rle(&std::fs::read_to_string(&rle).unwrap(), "board.rle").unwrap();
    assert_eq!((pattern.width, pattern.height), (21, 13), "the RLE is the whole board");
    let live: std::collections::HashSet<(u32, u32)> = pattern.live.iter().copied().collect();
    let want: Vec<u64> =
        (0..13).flat_map(|y| (0..21).map(move |x| (x, y))).map(|c| u64::from(live.contains(&c))).collect();
    assert_eq!(cells.iter().sum::<u64>(), 5, "a glider is five cells");
    assert!(cells == want, "the .npy board is the RLE board");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

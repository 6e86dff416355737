//! Exact sums at the edges of f64's range, through pisubmit and real
//! workers: values in different pieces (pisubmit cuts reduce input every
//! 4 MiB, so padding puts each block in its own piece), running sums that
//! overflow while the total does not, and infinities and NaN. Answers are
//! checked against Python's `fractions.Fraction`, whose float() is correctly
//! rounded, reading the same file.

mod common;

use common::{hosts, pisubmit, temp_dir, Worker};
use std::path::Path;
use std::process::Command;

/// A comment line: reduce skips it, so it pads a block into its own piece.
const PAD_LINE: &str = "# padding so that the next values start another 4 MiB piece ...................\n";
/// Comfortably more than pisubmit's 4 MiB reduce piece.
const PAD_LINES: usize = 60_000;

/// Text with each block of lines followed by enough padding to end a piece.
fn padded_text(blocks: &[Vec<String>]) -> String {
    let pad = PAD_LINE.repeat(PAD_LINES);
    let mut text = String::new();
    for block in blocks {
        block.iter().for_each(|line| {
            text.push_str(line);
            text.push('\n');
        });
        text.push_str(&pad);
    }
    text
}

/// The answer as pisubmit prints it ("reduce: sum = V over N values",
/// "loopsum: V"), read back exactly (it prints the shortest text that reads
/// back to the same f64).
fn printed(hosts: &str, args: &[&str], prefix: &str) -> f64 {
    let run = pisubmit(hosts, args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    let line = run.stdout.lines().find_map(|l| l.strip_prefix(prefix));
    let value = line.unwrap_or_else(|| panic!("no {prefix:?} in {}", run.stdout)).split(" over ").next().unwrap();
    value.parse().unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

fn sum_of(hosts: &str, args: &[&str]) -> f64 {
    printed(hosts, args, "reduce: sum = ")
}

/// How many pieces the job was cut into (from --json).
fn pieces(hosts: &str, args: &[&str]) -> i64 {
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(args);
    let v = pisubmit(hosts, &json_args).json();
    v["hosts"].as_array().unwrap().iter().map(|h| h["pieces"].as_i64().unwrap()).sum()
}

/// IEEE's sum of the file's values by Python, exactly: each value as a
/// whole number of 2^-1074, added as integers, then Fraction's correctly
/// rounded float(). `dtype` is "text" or "f64" (big-endian, as today's
/// reduce reads it).
const REFERENCE: &str = r##"
import math, struct, sys
from fractions import Fraction
path, dtype = sys.argv[1], sys.argv[2]
if dtype == "f64":
    values = [v for (v,) in struct.iter_unpack(">d", open(path, "rb").read())]
else:
    values = [float(l) for l in open(path) if l.strip() and not l.startswith("#")]
nan = any(math.isnan(v) for v in values)
plus, minus = math.inf in values, -math.inf in values
if nan or (plus and minus):
    r = math.nan
elif plus or minus:
    r = math.inf if plus else -math.inf
else:
    scale = 2 ** 1074
    units = sum(n * (scale // d) for n, d in (v.as_integer_ratio() for v in values))
    try:
        r = float(Fraction(units, scale))
    except OverflowError:
        r = math.inf if units > 0 else -math.inf
print(struct.unpack(">Q", struct.pack(">d", r))[0])
"##;

fn python_sum(path: &Path, dtype: &str) -> f64 {
    let out = Command::new("python3")
        .args(["-c", REFERENCE, path.to_str().unwrap(), dtype])
        .output()
        .expect("python3 runs (the reference sum)");
    assert!(out.status.success(), "python3: {}", String::from_utf8_lossy(&out.stderr));
    f64::from_bits(String::from_utf8(out.stdout).unwrap().trim().parse().unwrap())
}

fn assert_same(got: f64, want: f64, what: &str) {
    assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{what}: got {got:e}, want {want:e}");
}

fn lines(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

#[test]
fn the_issues_lines_give_1_7e308_in_both_orders_and_any_cut() {
    let w: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let (one, three) = (hosts(&[&w[0]]), hosts(&[&w[0], &w[1], &w[2]]));
    let dir = temp_dir("e2e-exactsum-issue");
    for order in [["1.7e308", "1.7e308", "-1.7e308"], ["1.7e308", "-1.7e308", "1.7e308"]] {
        // All in one piece, then each value in a piece of its own.
        let together = dir.join("together.txt");
        std::fs::write(&together, lines(&order).join("\n") + "\n").unwrap();
        let apart = dir.join("apart.txt");
        std::fs::write(&apart, padded_text(&order.map(|v| vec![v.to_string()]))).unwrap();
        for file in [&together, &apart] {
            let args = ["reduce", "--op", "sum", "--input", file.to_str().unwrap()];
            for hosts in [&one, &three] {
                assert_same(sum_of(hosts, &args), 1.7e308, &format!("{order:?} in {file:?} on {hosts}"));
            }
            assert_same(python_sum(file, "text"), 1.7e308, "the reference");
        }
        let args = ["reduce", "--op", "sum", "--input", apart.to_str().unwrap()];
        assert!(pieces(&three, &args) >= 3, "each value has a piece of its own");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn huge_values_cancelling_across_pieces_give_the_exact_total() {
    let w: Vec<Worker> = (0..2).map(|_| Worker::start(&[])).collect();
    let two = hosts(&[&w[0], &w[1]]);
    let dir = temp_dir("e2e-exactsum-cancel");
    let up: Vec<String> = ["1.7e308"; 3000].iter().map(|s| s.to_string()).collect();
    let mut down: Vec<String> = ["-1.7e308"; 3000].iter().map(|s| s.to_string()).collect();
    down.extend(lines(&["1e-300", "5e-324", "-0.1", "0.30000000000000004"]));
    // Within a piece the running sum swings past f64::MAX and back.
    let mut swing: Vec<String> =
        (0..2000).map(|i| if i % 4 < 2 { "1.5e308" } else { "-1.5e308" }.to_string()).collect();
    swing.extend(lines(&["1.7976931348623157e308", "-1.5e308"]));
    let tail: Vec<String> = (0..1000).map(|i| format!("{}", (i as f64) * 1e-310)).collect();
    let cases = [
        ("interleaved.txt", vec![up.clone(), down.clone(), swing.clone(), tail.clone()]),
        ("reversed.txt", vec![tail, swing, down, up]),
    ];
    for (name, blocks) in cases {
        let file = dir.join(name);
        std::fs::write(&file, padded_text(&blocks)).unwrap();
        let args = ["reduce", "--op", "sum", "--input", file.to_str().unwrap()];
        let want = python_sum(&file, "text");
        assert!(want.is_finite(), "the total is in range: {want}");
        assert_same(sum_of(&two, &args), want, name);
        assert_same(sum_of(&hosts(&[&w[1]]), &args), want, name);
        assert!(pieces(&two, &args) >= 4, "{name}: each block has a piece of its own");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn infinities_and_nan_follow_ieee_in_every_piece() {
    let w: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let three = hosts(&[&w[0], &w[1], &w[2]]);
    let dir = temp_dir("e2e-exactsum-special");
    let cases: [(&[&str], f64); 5] = [
        (&["inf", "1.7e308", "-1.7e308"], f64::INFINITY),
        (&["1.7e308", "-inf", "1.7e308"], f64::NEG_INFINITY),
        (&["inf", "1", "-inf"], f64::NAN),
        (&["1", "2", "nan"], f64::NAN),
        (&["1.7976931348623157e308", "1.7976931348623157e308", "1"], f64::INFINITY),
    ];
    for (values, want) in cases {
        let file = dir.join("special.txt");
        std::fs::write(&file, padded_text(&values.iter().map(|v| vec![v.to_string()]).collect::<Vec<_>>())).unwrap();
        assert_same(python_sum(&file, "text"), want, "the reference");
        let got = sum_of(&three, &["reduce", "--op", "sum", "--input", file.to_str().unwrap()]);
        assert_same(got, want, &format!("{values:?}"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Deterministic doubles: huge ones that the file's second half cancels,
/// subnormals, and any exponent.
fn adversarial_doubles(n: usize) -> Vec<f64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut values: Vec<f64> = (0..n / 2)
        .map(|i| {
            let r = next();
            match i % 4 {
                0 | 1 => f64::MAX * (0.5 + (r >> 11) as f64 / (1u64 << 54) as f64),
                2 => f64::from_bits(r >> 12) * if r & 1 == 0 { 1.0 } else { -1.0 },
                _ => f64::from_bits(r & !(0x7ff << 52) | ((r >> 52) % 0x7ff) << 52),
            }
        })
        .collect();
    // Every huge value is cancelled (the total stays in range), the others
    // are not.
    let cancelling: Vec<f64> =
        values.iter().rev().map(|v| if v.abs() > 1e300 { -v } else { (next() % 1000) as f64 / 3.0 }).collect();
    values.extend(cancelling);
    values
}

#[test]
fn binary_f64_input_sums_exactly_across_workers() {
    let w: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let (one, three) = (hosts(&[&w[0]]), hosts(&[&w[0], &w[1], &w[2]]));
    let dir = temp_dir("e2e-exactsum-binary");
    let file = dir.join("values.f64");
    // 1.5 million values: 12 MB, three pieces; big-endian as reduce reads it.
    let bytes: Vec<u8> = adversarial_doubles(1_500_000).iter().flat_map(|v| v.to_be_bytes()).collect();
    std::fs::write(&file, bytes).unwrap();
    let want = python_sum(&file, "f64");
    assert!(want.is_finite(), "the total is in range: {want}");
    let args = ["reduce", "--op", "sum", "--dtype", "f64be", "--input", file.to_str().unwrap()];
    assert_same(sum_of(&three, &args), want, "three workers");
    assert_same(sum_of(&one, &args), want, "one worker");
    assert!(pieces(&three, &args) >= 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_piece_far_beyond_f64s_range_travels_exactly() {
    let w: Vec<Worker> = (0..2).map(|_| Worker::start(&[])).collect();
    let two = hosts(&[&w[0], &w[1]]);
    let dir = temp_dir("e2e-exactsum-far");
    let file = dir.join("max.f64");
    // A whole 4 MiB piece of f64::MAX (its sum, 2^19 * f64::MAX, goes back
    // to the head as 2^19 finite partials), then one of -f64::MAX, then 0.5.
    let n = 1 << 19;
    let mut values = vec![f64::MAX; n];
    values.extend(vec![-f64::MAX; n]);
    values.push(0.5);
    std::fs::write(&file, values.iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>()).unwrap();
    let args = ["reduce", "--op", "sum", "--dtype", "f64be", "--input", file.to_str().unwrap()];
    assert_same(sum_of(&two, &args), 0.5, "f64::MAX cancelled across pieces");
    assert!(pieces(&two, &args) >= 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loopsum_rows_that_overflow_in_pieces_cancel_exactly() {
    let w: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let (one, three) = (hosts(&[&w[0]]), hosts(&[&w[0], &w[1], &w[2]]));
    // Rows of about t * 5e303 (each finite), summed over t in -1000..1002:
    // rows t and -t cancel exactly, but a piece's running sum of rows on
    // one side passes f64::MAX. The exact total is row 1001 alone.
    let args = ["loopsum", "--t-range", "-1000..1002", "--u-len", "100000", "--c", "1e294"];
    let want = piworker::jobs::loopsum::row_sum(1001, 100_000, 1e294);
    assert!(want.is_finite() && want > 1e306);
    for hosts in [&one, &three] {
        assert_same(printed(hosts, &args, "loopsum: "), want, hosts);
    }
    assert!(pieces(&three, &args) >= 4, "the rows are cut into pieces");
}

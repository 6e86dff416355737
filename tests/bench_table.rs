//! `make bench` writes its table into docs/PERFORMANCE.md through
//! bench/table.py: the ratios and verdicts it prints, that a second run
//! replaces the table instead of adding one, and that a bad row is an
//! error naming its line, with the document left as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BEGIN: &str = "<!-- bench-table:begin (written by `make bench`; edits here are lost) -->";
const END: &str = "<!-- bench-table:end -->";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("piworker-bench-table-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn render(rows: &Path, doc: &Path) -> Output {
    render_with(rows, doc, &[])
}

fn render_with(rows: &Path, doc: &Path, options: &[&str]) -> Output {
    Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/table.py"))
        .arg(rows)
        .arg(doc)
        .args(options)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs bench/table.py")
}

fn row(fields: [&str; 9]) -> String {
    fields.join("\t") + "\n"
}

#[test]
fn the_table_has_medians_spreads_ratios_and_verdicts_and_replaces_the_last_one() {
    let dir = scratch("ok");
    let doc = dir.join("PERFORMANCE.md");
    fs::write(&doc, format!("# Performance\n\nbefore\n\n{BEGIN}\nold table\n{END}\n\nafter\n")).unwrap();
    let rows = dir.join("rows.tsv");
    let mut text = row(["Pi", "2e9 darts", "ms", "lower", "100 90 130", "Open MPI C", "200 210 190", "ratio>=1", ""]);
    text += &row(["Pi", "2e9 darts", "ms", "lower", "100 90 130", "mpi4py", "50", "ratio>=1", "a note"]);
    text += &row(["Transfers", "reduce", "MiB/s", "higher", "900", "raw TCP", "2000", "ratio>=0.5", ""]);
    text += &row(["Footprint", "binary", "MiB", "lower", "0.94", "-", "-", "value<=2", ""]);
    fs::write(&rows, &text).unwrap();

    for _ in 0..2 {
        let out = render(&rows, &doc);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let written = fs::read_to_string(&doc).unwrap();
    assert_eq!(written.matches(BEGIN).count(), 1, "{written}");
    assert!(!written.contains("old table"));
    assert!(written.starts_with("# Performance\n\nbefore\n\n") && written.ends_with(&format!("{END}\n\nafter\n")));
    // Lower is better: the ratio is the anchor's median over piworker's (200 / 100).
    assert!(written.contains("| 2e9 darts | **100** ms (90.0–130, n=3) | Open MPI C | **200** ms (190–210, n=3) | **2.00** | ratio ≥ 1: met |"), "{written}");
    assert!(written.contains("| 2e9 darts (a note) | **100** ms (90.0–130, n=3) | mpi4py | **50.0** ms | **0.50** | ratio ≥ 1: **NOT MET** |"), "{written}");
    // Higher is better: piworker's over the anchor's.
    assert!(
        written
            .contains("| reduce | **900** MiB/s | raw TCP | **2,000** MiB/s | **0.45** | ratio ≥ 0.5: **NOT MET** |"),
        "{written}"
    );
    assert!(written.contains("| binary | **0.94** MiB |  |  |  | ≤ 2: met |"), "{written}");
    for header in ["| **Pi** |", "| **Transfers** |", "| **Footprint** |", "Versions: ", "Measured "] {
        assert_eq!(written.matches(header).count(), 1, "{header} in {written}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_row_is_an_error_naming_it_and_the_document_is_untouched() {
    let dir = scratch("bad");
    let doc = dir.join("PERFORMANCE.md");
    let original = format!("{BEGIN}\nkept\n{END}\n");
    fs::write(&doc, &original).unwrap();
    let rows = dir.join("rows.tsv");
    let good = row(["S", "m", "ms", "lower", "1", "-", "-", "-", ""]);
    for (bad, expected) in [
        (row(["S", "m", "ms", "sideways", "1", "-", "-", "-", ""]), "rows.tsv:2: field 4 must be lower or higher"),
        (
            row(["S", "m", "ms", "lower", "1 x", "-", "-", "-", ""]),
            "rows.tsv:2 piworker samples: not a list of numbers",
        ),
        (row(["S", "m", "ms", "lower", "1", "C", "2", "faster", ""]), "rows.tsv:2: target 'faster'"),
        ("S\tm\tms\n".to_string(), "rows.tsv:2: expected 9 tab-separated fields, found 3"),
    ] {
        fs::write(&rows, good.clone() + &bad).unwrap();
        let out = render(&rows, &doc);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
        assert_eq!(fs::read_to_string(&doc).unwrap(), original);
    }
    // A document without the markers is refused, not appended to.
    fs::write(&doc, "# no markers\n").unwrap();
    fs::write(&rows, &good).unwrap();
    let out = render(&rows, &doc);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the marker lines are missing"));
    assert_eq!(fs::read_to_string(&doc).unwrap(), "# no markers\n");
    let _ = fs::remove_dir_all(&dir);
}

/// `make bench-net` keeps its own table (`--markers net`): rendering it
/// leaves `make bench`'s table alone, and the other way round.
#[test]
fn a_named_table_has_its_own_markers_and_leaves_the_other_table_alone() {
    let dir = scratch("named");
    let doc = dir.join("PERFORMANCE.md");
    let net_begin = "<!-- bench-table:net:begin (written by `make bench-net`; edits here are lost) -->";
    let net_end = "<!-- bench-table:net:end -->";
    fs::write(&doc, format!("{BEGIN}\nmain table\n{END}\n\n## Emulated\n\n{net_begin}\nold net\n{net_end}\n")).unwrap();
    let rows = dir.join("rows.tsv");
    let emulated =
        ["Emulated cluster: lab-100", "pi, 4 Pis (lab-100)", "s", "lower", "2.5", "the same on 1 Pi", "10", "-", ""];
    fs::write(&rows, row(emulated)).unwrap();
    let out = render_with(&rows, &doc, &["--markers", "net"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = fs::read_to_string(&doc).unwrap();
    assert!(written.starts_with(&format!("{BEGIN}\nmain table\n{END}\n")), "{written}");
    assert!(!written.contains("old net"), "{written}");
    // Lower is better: the ratio is the 1-Pi time over the 4-Pi one, the speed-up.
    assert!(
        written.contains("| pi, 4 Pis (lab-100) | **2.50** s | the same on 1 Pi | **10.0** s | **4.00** |  |"),
        "{written}"
    );

    let main = ["Pi", "2e9 darts", "ms", "lower", "100", "-", "-", "-", ""];
    fs::write(&rows, row(main)).unwrap();
    assert!(render(&rows, &doc).status.success());
    let written = fs::read_to_string(&doc).unwrap();
    assert!(!written.contains("main table") && written.contains("| 2e9 darts |"), "{written}");
    assert!(written.contains("| pi, 4 Pis (lab-100) |"), "the net table must stay: {written}");

    for (bad, expected) in
        [(&["--markers"][..], "--markers needs a NAME"), (&["--markers", "Net!"][..], "--markers 'Net!'")]
    {
        let before = fs::read_to_string(&doc).unwrap();
        let out = render_with(&rows, &doc, bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
        assert_eq!(fs::read_to_string(&doc).unwrap(), before);
    }
    let _ = fs::remove_dir_all(&dir);
}

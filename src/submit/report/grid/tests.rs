//! The grid's snapshot and property tests.

use super::colours::{band_letter, Rgb};
use super::text::{columns, fit_name};
use super::*;
use std::path::PathBuf;

/// A varied, deterministic lab: racks of 20, some long or non-ASCII names, temperatures
/// spread over 35..85 °C, some hosts down, without a sensor, throttled or under-voltage.
fn sample_tiles(n: usize) -> Vec<Tile> {
    (0..n).map(sample_tile).collect()
}

fn sample_tile(i: usize) -> Tile {
    let (rack, node) = (i / 20 + 1, i % 20 + 1);
    let name = match i % 29 {
        9 => format!("pi-lab-east-wing-rack{rack:02}-node{node:02}.cluster.local"),
        10 => format!("π-café-ñode-{i}"),
        _ => format!("pi-r{rack:02}-n{node:02}"),
    };
    let up = i % 17 != 5;
    // A step coprime with 501 walks the tenths of 35.0..85.0 in a scattered order.
    let temp = 35.0 + ((i * 347 + 120) % 501) as f32 / 10.0;
    let threads = match i % 23 {
        8 => None,
        _ if i % 5 == 2 => Some(8),
        _ => Some(4),
    };
    Tile {
        name,
        state: if up { TileState::Up } else { TileState::Unreachable },
        temp_c: (up && i % 13 != 3).then_some(temp),
        load1: up.then_some(((i * 97 + 13) % 650) as f32 / 100.0),
        threads: if up { threads } else { None },
        throttled_now: up && i % 11 == 7,
        under_voltage_now: up && i % 19 == 2,
        throttled_before: up && i % 7 == 4,
    }
}

fn size(cols: u16, rows: u16) -> TermSize {
    TermSize { cols, rows }
}

/// Compares with `tests/snapshots/grid_<name>.txt`; with PIW_UPDATE_SNAPSHOTS=1 writes it.
fn assert_snapshot(name: &str, actual: &str) {
    let path: PathBuf =
        [env!("CARGO_MANIFEST_DIR"), "tests", "snapshots", &format!("grid_{name}.txt")].iter().collect();
    if std::env::var("PIW_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(expected) => expected,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "snapshot {} is missing: create it with `PIW_UPDATE_SNAPSHOTS=1 cargo test grid`, \
             then read it and commit it",
            path.display()
        ),
        Err(e) => panic!("reading snapshot {}: {e}", path.display()),
    };
    if expected != actual {
        let (line, want, got) = expected
            .lines()
            .chain(std::iter::repeat("<end>"))
            .zip(actual.lines().chain(std::iter::repeat("<end>")))
            .enumerate()
            .find(|(_, (want, got))| want != got)
            .map(|(i, (want, got))| (i + 1, want, got))
            .unwrap_or((0, "", ""));
        panic!(
            "rendering differs from snapshot {}, first at line {line}:\n  want {want:?}\n  got  {got:?}\n\
             full rendering:\n{actual}\nif the change is intended: PIW_UPDATE_SNAPSHOTS=1 cargo test grid",
            path.display()
        );
    }
}

fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC '[' parameters, then one final byte in '@'..='~'.
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn snapshot_1_host_80x24() {
    assert_snapshot("1_host_80x24", &render(&sample_tiles(1), size(80, 24), false));
}

#[test]
fn snapshot_12_hosts_80x24() {
    assert_snapshot("12_hosts_80x24", &render(&sample_tiles(12), size(80, 24), false));
}

#[test]
fn snapshot_40_hosts_80x24_compact() {
    assert_snapshot("40_hosts_80x24", &render(&sample_tiles(40), size(80, 24), false));
}

#[test]
fn snapshot_240_hosts_80x24() {
    assert_snapshot("240_hosts_80x24", &render(&sample_tiles(240), size(80, 24), false));
}

#[test]
fn snapshot_12_hosts_120x40() {
    assert_snapshot("12_hosts_120x40", &render(&sample_tiles(12), size(120, 40), false));
}

#[test]
fn snapshot_12_hosts_80x24_colour() {
    assert_snapshot("12_hosts_80x24_colour", &render(&sample_tiles(12), size(80, 24), true));
}

#[test]
fn temp_rgb_is_the_seeds_map() {
    // By hand from the seed: t = (T - 40) / 40.
    // 45: t = 0.125, g = int(255 * 0.5) = 127, b = 128.
    // 55: t = 0.375, r = int(255 * 0.5) = 127.
    // 60: t = 0.5 is the third branch with g = int(255 * 1) = 255: yellow.
    // 65: t = 0.625, g = int(255 * (1 - 0.5)) = 127.
    // 67.5: t = 0.6875, g = int(255 * 0.25) = 63.
    // 70: t = 0.75 is already the last branch: red.
    let expected: [(f32, Rgb); 12] = [
        (40.0, (0, 0, 255)),
        (45.0, (0, 127, 128)),
        (50.0, (0, 255, 0)),
        (55.0, (127, 255, 0)),
        (60.0, (255, 255, 0)),
        (65.0, (255, 127, 0)),
        (67.5, (255, 63, 0)),
        (70.0, (255, 0, 0)),
        (75.0, (255, 0, 0)),
        (80.0, (255, 0, 0)),
        (-5.0, (0, 0, 255)),
        (105.0, (255, 0, 0)),
    ];
    for (temp, rgb) in expected {
        assert_eq!(temp_rgb(temp), rgb, "at {temp} °C");
    }
    assert_eq!(temp_rgb(39.9), temp_rgb(40.0));
    assert_eq!(temp_rgb(80.1), temp_rgb(80.0));
}

#[test]
fn band_letters_follow_the_colour_segments() {
    let bands: Vec<char> = [35.0, 49.9, 50.0, 59.9, 60.0, 69.9, 70.0, 90.0].map(band_letter).to_vec();
    assert_eq!(bands, ['B', 'B', 'G', 'G', 'Y', 'Y', 'R', 'R']);
}

#[test]
fn density_follows_the_terminal() {
    assert_eq!(plan(1, size(120, 40)).density, Density::Large);
    assert_eq!(plan(12, size(120, 40)).density, Density::Large);
    assert_eq!(plan(12, size(80, 24)).density, Density::Large);
    assert_eq!(plan(40, size(80, 24)).density, Density::Compact);
    assert_eq!(plan(240, size(80, 24)).density, Density::Tiny);
    let overflow = plan(1000, size(80, 24));
    assert_eq!(overflow.density, Density::Tiny);
    assert!(overflow.grid_lines > room_for_grid(size(80, 24)));
}

/// Every line fits the width, and every host is drawn where the plan puts it: its name
/// (or the cut prefix) on a large or compact tile, its band and mark on a tiny one.
fn check_rendering(tiles: &[Tile], term: TermSize, colour: bool) {
    let cols = usize::from(term.cols);
    let out = render(tiles, term, colour);
    if !colour {
        assert!(!out.contains('\x1b'), "escape code without colour");
    }
    let lines: Vec<String> = strip_escapes(&out).lines().map(str::to_string).collect();
    for line in &lines {
        assert!(columns(line) <= cols, "{} columns > {cols} at {term:?}: {line:?}", columns(line));
    }
    let plan = plan(tiles.len(), term);
    let width = plan.density.width();
    for (i, tile) in tiles.iter().enumerate() {
        let (row, col) = (i / plan.columns, i % plan.columns);
        let pitch = plan.density.height() + plan.density.gap_lines();
        let line = &lines[1 + row * pitch];
        let shown: String = line.chars().skip(col * (width + GAP)).take(width).collect();
        let what = format!("host {i} ({:?}) at {term:?}, colour {colour}", tile.name);
        if plan.density == Density::Tiny {
            let expected =
                if colour { format!(" {}", tile.top_mark()) } else { format!("{}{}", tile.band(), tile.top_mark()) };
            assert_eq!(format!("{shown:width$}"), expected, "{what}");
        } else {
            // The whole name, or its host part, or "…" and the end of either.
            let shown = shown.trim_end();
            let host = tile.name.split('.').next().unwrap();
            let end = shown.strip_prefix('…').unwrap_or(shown);
            let whole = shown == tile.name || shown == host;
            let cut = shown.starts_with('…') && (tile.name.ends_with(end) || host.ends_with(end));
            assert!(!end.is_empty() && (whole || cut), "{what}: shown as {shown:?}");
        }
    }
}

#[test]
fn every_host_is_drawn_and_every_line_fits() {
    let sizes = [(80, 24), (120, 40), (100, 30), (40, 12), (20, 6), (16, 5), (9, 4), (3, 3), (200, 60)];
    for n in [0, 1, 12, 40, 60, 240, 1000] {
        let tiles = sample_tiles(n);
        for (cols, rows) in sizes {
            for colour in [false, true] {
                check_rendering(&tiles, size(cols, rows), colour);
            }
        }
    }
}

#[test]
fn tiny_grid_lists_the_hosts_needing_attention() {
    let out = render(&sample_tiles(240), size(80, 24), false);
    assert!(out.lines().count() <= 24);
    for label in ["X down:", "V under-voltage:", "T throttled:", "hottest:"] {
        assert!(out.lines().any(|l| l.starts_with(label)), "no {label:?} line in\n{out}");
    }
    assert!(out.contains(" more"), "long lists are cut with a count:\n{out}");
}

#[test]
fn attention_list_stays_within_its_lines() {
    let kinds = attention(&sample_tiles(240));
    for room in 0..8 {
        let lines = attention_lines(&kinds, 60, room);
        assert!(lines.len() <= room);
        assert!(lines.iter().all(|l| columns(l) <= 60), "{lines:#?}");
    }
}

#[test]
fn header_counts_and_names_the_hottest() {
    let mut tiles = sample_tiles(3);
    tiles[1].temp_c = Some(81.25);
    tiles[2].state = TileState::Unreachable;
    tiles[2].temp_c = Some(99.0);
    let header = render(&tiles, size(200, 40), false).lines().next().unwrap().to_string();
    assert!(header.starts_with("3 hosts, 2 up, 1 down, hottest 81.2°C (pi-r01-n02), mean load "), "{header}");
}

#[test]
fn long_names_keep_what_tells_hosts_apart() {
    assert_eq!(fit_name("pi-r01-n07", 10), "pi-r01-n07");
    assert_eq!(fit_name("pi-r01-n07", 8), "…r01-n07");
    assert_eq!(fit_name("pi-r01-n07.lab.example", 15), "pi-r01-n07     ");
    assert_eq!(fit_name("pi-lab-east-wing-rack08-node15.cluster.local", 15), "…-rack08-node15");
    assert_eq!(fit_name("10.0.0.123:7070", 10), "….123:7070");
    assert_eq!(fit_name("fd00::1:2:3:4", 8), "…1:2:3:4");
    assert_eq!(fit_name("π-café-ñode-10", 8), "…ñode-10");
}

#[test]
fn control_chars_in_names_cannot_reach_the_terminal() {
    let mut tiles = sample_tiles(1);
    tiles[0].name = "evil\x1b[2J\nhost".to_string();
    let out = render(&tiles, size(80, 24), false);
    assert!(!out.contains('\x1b'));
    assert!(out.contains("evil?[2J?host"));
}

#[test]
fn rendering_is_deterministic() {
    let tiles = sample_tiles(240);
    assert_eq!(render(&tiles, size(80, 24), true), render(&tiles, size(80, 24), true));
}

/// To look at the colours: `cargo test grid::tests::show -- --ignored --nocapture`.
#[test]
#[ignore]
fn show() {
    for n in [12, 60, 240] {
        print!("{}", render(&sample_tiles(n), size(100, 30), true));
    }
}

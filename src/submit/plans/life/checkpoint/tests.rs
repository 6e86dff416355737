use super::*;
use crate::submit::plans::life::fill_random;

fn saved(width: u32, height: u32, edges: Edges) -> Saved {
    let mut board = Board::new(width, height);
    fill_random(&mut board, 0.4, 7);
    let params = vec![("width".to_string(), width.to_string()), ("input".to_string(), "a b.rle".to_string())];
    Saved { meta: Meta { generation: 1234, params }, board, edges }
}

#[test]
fn both_formats_read_back_exactly() {
    for (w, h, edges) in [(1, 1, Edges::Wrap), (64, 3, Edges::Dead), (130, 67, Edges::Wrap), (200, 9, Edges::Dead)] {
        let s = saved(w, h, edges);
        for format in [Format::Rle, Format::Binary] {
            let back = decode(&encode(&s, format)).unwrap_or_else(|e| panic!("{w}x{h} {format:?}: {e}"));
            assert_eq!(back.meta, s.meta, "{format:?}");
            assert_eq!((back.board.digest(), back.edges), (s.board.digest(), s.edges), "{w}x{h} {format:?}");
        }
    }
}

#[test]
fn the_rle_is_byte_for_byte_what_to_rle_writes() {
    for (w, h, density, edges) in [(1, 1, 0.9, Edges::Wrap), (300, 40, 0.5, Edges::Dead), (129, 70, 0.02, Edges::Wrap)]
    {
        let mut s = saved(w, h, edges);
        s.board = Board::new(w, h);
        fill_random(&mut s.board, density, 3);
        // An empty row at the top and two at the bottom.
        for x in 0..w {
            s.board.set(x, 0, false);
            s.board.set(x, h - 1, false);
        }
        let check = meta::check(&s.meta.text(), &s.board, edges);
        let mut comments: Vec<String> = s.meta.text().lines().map(str::to_string).collect();
        comments.push(format!("check {check:016x}"));
        let want = crate::life::pattern::to_rle(&s.board, edges, None, &comments);
        assert_eq!(String::from_utf8(encode(&s, Format::Rle)).unwrap(), want, "{w}x{h}");
    }
}

#[test]
fn the_rle_is_what_the_pattern_reader_reads() {
    let s = saved(130, 67, Edges::Dead);
    let text = String::from_utf8(encode(&s, Format::Rle)).unwrap();
    assert!(text.starts_with("#C pisubmit life checkpoint 1\n#C generation 1234\n"), "{text}");
    let p = crate::life::pattern::parse(&text, "c.rle").unwrap();
    let grid = p.grid.unwrap();
    assert_eq!((grid.width, grid.height, grid.edges), (130, 67, Edges::Dead));
    let mut board = Board::new(130, 67);
    p.place_centered(&mut board).unwrap();
    assert_eq!(board.digest(), s.board.digest());
}

#[test]
fn truncated_corrupted_and_foreign_files_are_named() {
    let s = saved(130, 67, Edges::Wrap);
    for format in [Format::Rle, Format::Binary] {
        let bytes = encode(&s, format);
        for cut in [5, 40, bytes.len() / 2, bytes.len() - 3] {
            let e = decode(&bytes[..cut]).err().unwrap_or_else(|| panic!("{format:?} cut at {cut} was read"));
            assert!(e.contains("truncated") || e.contains("not a pisubmit"), "{format:?} cut at {cut}: {e}");
        }
        let mut flipped = bytes.clone();
        let at = bytes.len() - 20;
        flipped[at] = if flipped[at] == b'o' { b'b' } else { flipped[at] ^ 1 };
        let e = decode(&flipped).err().unwrap_or_else(|| panic!("{format:?} with a flipped byte was read"));
        assert!(e.contains("corrupt") || e.contains("unexpected") || e.contains("outside"), "{format:?}: {e}");
    }
    assert!(decode(b"").unwrap_err().contains("empty"));
    assert!(decode(b"x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n")
        .unwrap_err()
        .contains("not a pisubmit life checkpoint"));
    let huge = b"#C pisubmit life checkpoint 1\n#C generation 0\n#C check 0\nx = 9999999, y = 9999999, rule = B3/S23:T9999999,9999999\n!";
    assert!(decode(huge).unwrap_err().contains("9999999x9999999"));
}

#[test]
fn writes_are_atomic_and_leave_no_temporary_file() {
    let dir = std::env::temp_dir().join(format!("piw-ckpt-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.rle");
    let s = saved(64, 64, Edges::Wrap);
    write_atomic(&path, &encode(&s, Format::Rle)).unwrap();
    assert!(!temp_path(&path).exists());
    assert_eq!(load(&path).unwrap().unwrap().board.digest(), s.board.digest());
    assert!(load(&dir.join("none")).unwrap().is_none());
    let e = write_atomic(&dir.join("no/such/dir/c"), b"x").unwrap_err().to_string();
    assert!(e.contains("no/such/dir/c.tmp") && e.contains("create"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_writer_writes_the_newest_board_and_reports_failures() {
    let dir = std::env::temp_dir().join(format!("piw-ckpt-writer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.bin");
    let mut s = saved(100, 50, Edges::Wrap);
    let w = writer::Writer::start(&path, &s).unwrap();
    for g in 1..=20 {
        s.meta.generation = g;
        w.offer(s.clone()).unwrap();
    }
    let done = w.finish().unwrap();
    assert_eq!(done.count + done.superseded, 21);
    assert_eq!(load(&path).unwrap().unwrap().meta.generation, 20);
    let _ = std::fs::remove_dir_all(&dir);
}

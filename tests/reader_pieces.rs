//! A long net file is read a piece at a time (`textformat::parse_pieces`, used by `load`): the
//! pieces together are exactly the one-piece read, or they are declined and the one-piece
//! reader runs, with its errors and warnings where it puts them.

mod common;

use std::path::PathBuf;

use caffe_mem::load::{load, load_bytes, ReadOptions};
use caffe_mem::textformat::{parse, parse_pieces, Parsed, Pos, MSG_NETPARAMETER};

/// The pieces of `src` read `block` bytes at a time, joined; `None` when declined.
fn read_in_pieces(src: &[u8], block: usize) -> (Option<Parsed>, usize) {
    let (joined, count, _) = read_in_pieces_pausing(src, block, 0);
    (joined, count)
}

/// `read_in_pieces`, pausing a millisecond at every `pause`th piece (0: never). Meanwhile the
/// reading thread, with a text waiting for the paused one, reads the pieces after it itself.
/// Also returns how many threads decoded pieces: the wire is joined from what each piece
/// decoded to (a copy of its wire, with the lines of its root fields).
fn read_in_pieces_pausing(
    src: &[u8],
    block: usize,
    pause: usize,
) -> (Option<Parsed>, usize, usize) {
    let mut joined = Parsed::with_wire(Vec::new());
    let mut count = 0;
    let mut threads = Vec::new();
    let decode = |piece: &Parsed| {
        let lines: Vec<u32> = piece.root_fields.iter().map(|(_, p)| p.line).collect();
        (piece.wire.clone(), lines, std::thread::current().id())
    };
    let read = parse_pieces(
        src,
        MSG_NETPARAMETER,
        block,
        || decode,
        |piece, decoded| {
            if pause > 0 && count % pause == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let (wire, lines, thread) = decoded;
            assert!(
                wire == piece.wire,
                "piece {count}: decoded from another piece"
            );
            // Decoded before its lines were shifted: a piece after the first starts with a field.
            assert!(
                count == 0 || lines.first() == Some(&1),
                "piece {count}: {lines:?}"
            );
            if !threads.contains(&thread) {
                threads.push(thread);
            }
            joined.wire.extend_from_slice(&wire);
            joined.root_fields.append(&mut piece.root_fields);
            joined.unknown.append(&mut piece.unknown);
            joined
                .unknown_root_names
                .append(&mut piece.unknown_root_names);
            count += 1;
            true
        },
    );
    (read.unwrap().then_some(joined), count, threads.len())
}

#[test]
fn pieces_join_into_the_one_piece_read() {
    let files = common::net_files();
    let (mut joined, mut declined) = (0, 0);
    for path in &files {
        let text = std::fs::read(path).unwrap();
        // Without indentation, pieces cut inside layers must be declined.
        let flat = common::unindented(&text);
        for (src, indented) in [(text, true), (flat, false)] {
            let whole = parse(&src, MSG_NETPARAMETER);
            // A cut at every layer, at some, and (mostly) none.
            for block in [1, 61, 4096] {
                let file = format!("{} (block {block}, indented {indented})", path.display());
                match (read_in_pieces(&src, block), &whole) {
                    ((Some(got), _), Ok(want)) => {
                        assert!(got.wire == want.wire, "{file}: the wire differs");
                        assert_eq!(got.root_fields, want.root_fields, "{file}");
                        assert_eq!(got.unknown, want.unknown, "{file}");
                        assert_eq!(got.unknown_root_names, want.unknown_root_names, "{file}");
                        joined += 1;
                    }
                    ((Some(_), _), Err(e)) => panic!("{file}: read in pieces, whole: {e:?}"),
                    ((None, _), whole) => {
                        assert!(whole.is_err() || !indented, "{file}: declined");
                        declined += 1;
                    }
                }
            }
        }
    }
    assert!(
        joined > 1000 && declined > 10,
        "{joined} joined, {declined} declined"
    );
}

#[test]
fn a_long_layer_is_one_piece() {
    // The second layer is longer than a block: no cut inside it, pieces around it.
    // Lines 3 to 202 are the long layer's bottoms, 203 closes it, 204 to 213 are short layers.
    let long = "  bottom: 'x'\n".repeat(200);
    let short = "layer { name: 'c' }\n".repeat(10);
    let text = format!("layer {{ name: 'a' }}\nlayer {{\n{long}}}\n{short}");
    let (joined, count) = read_in_pieces(text.as_bytes(), 64);
    let joined = joined.expect("read in pieces");
    assert_eq!(
        joined.wire,
        parse(text.as_bytes(), MSG_NETPARAMETER).unwrap().wire
    );
    assert!(count >= 4, "{count} pieces");
    let lines: Vec<u32> = joined.root_fields.iter().map(|(_, p)| p.line).collect();
    assert_eq!(
        lines,
        [1, 2].into_iter().chain(204..214).collect::<Vec<u32>>()
    );
}

/// A net of `layers` layers with comments and strings holding quotes, braces and `#`, and an
/// unknown field every 97 layers.
fn net_with_comments(layers: usize) -> String {
    let mut text = String::from("# a net 'with' comments {\nname: 'n#1'\n");
    for i in 0..layers {
        text.push_str(&format!("layer {{\n  name: 'c{i} # {{' # not a name }}\n"));
        if i % 97 == 0 {
            text.push_str("  # 'quoted\n  odd: 1\n");
        }
        text.push_str("  type: \"ReLU\"  bottom: 'x'\n}\n");
    }
    text
}

#[test]
fn pieces_read_on_either_thread_join_into_the_one_piece_read() {
    let text = net_with_comments(3000);
    let want = parse(text.as_bytes(), MSG_NETPARAMETER).unwrap();
    assert_eq!(want.unknown.len(), 31);
    // Pieces of a few layers. Pausing at every second piece, the calling thread leaves most of
    // them to the reading thread; never pausing, it reads the first one and more.
    for pause in [0, 2, 7, 50] {
        let (got, count, threads) = read_in_pieces_pausing(text.as_bytes(), 256, pause);
        let got = got.unwrap_or_else(|| panic!("pause {pause}: declined"));
        assert!(count > 500, "{count} pieces");
        // Which thread decoded which piece is the scheduler's choice: only reported.
        if threads < 2 {
            eprintln!("pause {pause}: one thread decoded every piece");
        }
        assert!(got.wire == want.wire, "pause {pause}: the wire differs");
        assert_eq!(got.root_fields, want.root_fields, "pause {pause}");
        assert_eq!(got.unknown, want.unknown, "pause {pause}");
        assert_eq!(
            got.unknown_root_names, want.unknown_root_names,
            "pause {pause}"
        );
    }
    // The last unknown field, in layer 2910: after 2 lines, 2910 layers of 4 lines and 30
    // pairs of lines, the layer's fourth line.
    assert_eq!(
        want.unknown[30].pos,
        Pos {
            line: 11_706,
            col: 3
        }
    );
}

#[test]
fn a_piece_that_does_not_read_is_declined_on_either_thread() {
    let bad_number = common::big_net_with_a_bad_number();
    let name_twice = common::big_net(20_000) + "name: 'again'\n";
    for text in [bad_number, name_twice] {
        for pause in [0, 2, 50] {
            let (got, _, _) = read_in_pieces_pausing(text.as_bytes(), 4096, pause);
            assert!(got.is_none(), "pause {pause}: read");
        }
    }
}

/// A file of its own for each test, removed when dropped.
struct TempNet(PathBuf);

impl TempNet {
    fn new(name: &str, text: &str) -> TempNet {
        let path = std::env::temp_dir().join(format!("caffe-mem-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempNet(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempNet {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_long_net_file_loads_as_its_text_does() {
    let text = common::big_net(20_000) + "layer {\n  name: 'last'\n  unknown_field: 1\n}\n";
    assert!(text.len() > 1 << 20);
    let file = TempNet::new("long.prototxt", &text);
    let (mut from_file, mut from_text) = (Vec::new(), Vec::new());
    let got = load(file.path(), ReadOptions::default(), &mut from_file).unwrap();
    let want = load_bytes(
        file.path().into(),
        text.as_bytes(),
        ReadOptions::default(),
        &mut from_text,
    )
    .unwrap();
    assert_eq!(got.layers.len(), 20_001);
    assert!(got.layers == want.layers, "the layers differ");
    assert_eq!(got.net, want.net);
    assert_eq!(got.root_fields, want.root_fields);
    assert_eq!(got.root_fields.last().map(|(_, p)| p.line), Some(20_002));
    // The unknown field, where it is.
    assert_eq!(from_file, from_text);
    assert_eq!((from_file[0].line, from_file[0].col), (20_004, 3));
}

/// `(line, col, message)` of the error `load` gives for a file of `text`.
fn error_at(text: &str) -> (u32, u32, String) {
    let file = TempNet::new("error.prototxt", text);
    let Err(e) = load(file.path(), ReadOptions::default(), &mut Vec::new()) else {
        panic!("should not read");
    };
    let whole = load_bytes(
        "t".into(),
        text.as_bytes(),
        ReadOptions::default(),
        &mut Vec::new(),
    );
    let message = |e: &caffe_mem::error::Error| e.to_string().replace(file.path(), "t");
    assert_eq!(message(&e), message(&whole.unwrap_err()));
    common::error_place(&e)
}

#[test]
fn errors_in_a_long_file_are_where_the_one_piece_reader_puts_them() {
    let (line, col, message) = error_at(&common::big_net_with_a_bad_number());
    assert_eq!((line, col), (15_002, 97), "{message}");
    assert!(message.contains("unsigned"), "{message}");
    // A non-repeated field in the first piece and the last: an error of the whole, at the
    // second.
    let (line, col, message) = error_at(&(common::big_net(20_000) + "name: 'again'\n"));
    assert_eq!((line, col), (20_002, 1), "{message}");
    assert!(message.contains("more than once"), "{message}");
    // A name that is not UTF-8 (layer 19990, line 19992).
    let text = common::big_net(20_000).replacen("name: 'c19990'", "name: 'c\\377'", 1);
    let (line, col, message) = error_at(&text);
    assert_eq!((line, col), (19_992, 15), "{message}");
    assert!(message.contains("not valid UTF-8"), "{message}");
}

#[test]
fn a_long_solver_is_read_as_a_solver() {
    let net = TempNet::new("solver-net.prototxt", &common::big_net(10));
    // Comments make the solver long; its `net` field is at the end, after the first piece.
    let text = "# padding\n".repeat(150_000) + &format!("base_lr: 0.1\nnet: '{}'\n", net.path());
    let solver = TempNet::new("solver.prototxt", &text);
    let got = load(solver.path(), ReadOptions::default(), &mut Vec::new()).unwrap();
    let solver_file = got.solver.expect("read as a solver");
    assert_eq!(solver_file.solver.base_lr, Some(0.1));
    assert_eq!(got.layers.len(), 10);
}

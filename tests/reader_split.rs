//! The two-thread reader (`textformat::parse_split`) gives exactly what the one-piece reader
//! gives, or declines so that the one-piece reader runs: every field of `Parsed`, every error
//! and its position.

mod common;

use caffe_mem::load::{load_bytes, ReadOptions};
use caffe_mem::proto::{LayerParameter, NetParameter};
use caffe_mem::textformat::{
    parse_nested, parse_split, split_points, Parsed, TextError, MSG_NETPARAMETER,
    MSG_SOLVERPARAMETER,
};
use prost::Message as _;

/// Every place `parse_split` may be asked to cut at: each line start with a name.
fn line_starts(src: &[u8]) -> Vec<usize> {
    (1..src.len())
        .filter(|&at| src[at - 1] == b'\n' && (src[at].is_ascii_alphabetic() || src[at] == b'_'))
        .collect()
}

fn line_of(src: &[u8], at: usize) -> usize {
    src[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Compares a split read with the one-piece read (or its error), naming the cut and the first
/// difference on failure (the lists are too long to print whole).
fn check(file: &str, src: &[u8], at: usize, whole: &Result<Parsed, TextError>, split: &Parsed) {
    let line = line_of(src, at);
    let Ok(whole) = whole else {
        panic!("{file}: cut at line {line} read, the whole fails: {whole:?}");
    };
    let what = format!("{file}: cut at line {line}");
    same(&whole.wire, &split.wire, &format!("{what}: wire"));
    same(&whole.root_fields, &split.root_fields, &what);
    same(&whole.unknown, &split.unknown, &what);
    same(&whole.unknown_root_names, &split.unknown_root_names, &what);
    same(&whole.nested_fields, &split.nested_fields, &what);
}

/// Asserts two lists are equal, showing where they first differ.
fn same<T: PartialEq + std::fmt::Debug>(want: &[T], got: &[T], what: &str) {
    if let Some(i) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i)) {
        panic!(
            "{what}: item {i} of {} differs: {:?} != {:?}",
            want.len(),
            want.get(i),
            got.get(i)
        );
    }
}

#[test]
fn split_reads_equal_the_one_piece_read_at_every_cut() {
    let files = common::net_files();
    let (mut split, mut declined) = (0, 0);
    for path in &files {
        let text = std::fs::read(path).unwrap();
        // Without indentation, cuts inside layers must be declined. (Tried in the smaller
        // files, where every line is a cut.)
        let flat = common::unindented(&text);
        let small = text.len() < 32 << 10;
        let variants = [(text, ""), (flat, " (unindented)")];
        for (src, how) in variants.into_iter().take(if small { 2 } else { 1 }) {
            let file = format!("{}{how}", path.display());
            // Every file is read as a net (as `load` first does) and as a solver with its nets.
            for (msg, nested) in [
                (MSG_NETPARAMETER, None),
                (MSG_SOLVERPARAMETER, Some(MSG_NETPARAMETER)),
            ] {
                // Under a MiB: this is the one-piece reader.
                let whole = parse_nested(&src, msg, nested);
                let points: Vec<usize> = split_points(&src, msg, 0).collect();
                // A cut at each line is tried in the smaller files, at each proposed one in all.
                let cuts = if small {
                    line_starts(&src)
                } else {
                    points.clone()
                };
                for at in cuts {
                    match parse_split(&src, msg, nested, at) {
                        Some(parsed) => {
                            check(&file, &src, at, &whole, &parsed);
                            split += 1;
                        }
                        None => {
                            // An indented net read as a net is cut at each proposed point.
                            let is_net = whole
                                .as_ref()
                                .is_ok_and(|w| w.unknown_root_names.is_empty());
                            assert!(
                                !(how.is_empty()
                                    && msg == MSG_NETPARAMETER
                                    && is_net
                                    && points.contains(&at)),
                                "{file}: the cut at line {} was declined",
                                line_of(&src, at)
                            );
                            declined += 1;
                        }
                    }
                }
            }
        }
    }
    // Both ways are taken, many times.
    assert!(
        split > 1000 && declined > 1000,
        "{split} split, {declined} declined"
    );
}

fn layer_lines(p: &Parsed) -> Vec<u32> {
    let lines = p.root_fields.iter().filter(|(n, _)| *n == 100);
    lines.map(|(_, pos)| pos.line).collect()
}

#[test]
fn a_large_net_is_read_in_two_parts_with_its_positions() {
    let text = common::big_net(20_000);
    assert!(text.len() > 1 << 20);
    let src = text.as_bytes();
    let mid = split_points(src, MSG_NETPARAMETER, src.len() / 2)
        .next()
        .unwrap();
    let split = parse_split(src, MSG_NETPARAMETER, None, mid).expect("a clean cut");
    // What `parse_nested` gives is what the two parts give, which is right: each layer where it
    // is, the name first.
    let parsed = parse_nested(src, MSG_NETPARAMETER, None).unwrap();
    check("big", src, mid, &Ok(split), &parsed);
    assert_eq!(parsed.root_fields[0].0, 1);
    same(
        &layer_lines(&parsed),
        &(2..20_002).collect::<Vec<u32>>(),
        "lines",
    );
    // The wire is whole: prost reads every layer, in order, and so does the reader's
    // two-thread decoding.
    let mut want = NetParameter::decode(parsed.wire.as_slice()).unwrap();
    assert_eq!(want.layer.len(), 20_000);
    assert_eq!(want.layer[19_999].name(), "c19999");
    let mut w = Vec::new();
    let f = load_bytes("big".into(), src, ReadOptions::default(), &mut w).unwrap();
    assert!(w.is_empty(), "{w:?}");
    let layers: Vec<LayerParameter> = f.layers.iter().map(|l| (**l).clone()).collect();
    assert!(
        layers == std::mem::take(&mut want.layer),
        "the layers differ"
    );
    assert_eq!(f.net, want);
}

/// `(line, col, message)` of the error `load_bytes` gives.
fn error_at(text: &str) -> (u32, u32, String) {
    let mut w = Vec::new();
    let Err(e) = load_bytes("t".into(), text.as_bytes(), ReadOptions::default(), &mut w) else {
        panic!("should not read");
    };
    common::error_place(&e)
}

#[test]
fn errors_in_the_second_part_are_where_the_one_piece_reader_puts_them() {
    let (line, col, message) = error_at(&common::big_net_with_a_bad_number());
    assert_eq!((line, col), (15_002, 97), "{message}");
    assert!(message.contains("unsigned"), "{message}");
    // An unclosed block at the end: reported at the end of the file.
    let text = common::big_net(20_000) + "layer {\n";
    let (line, col, message) = error_at(&text);
    assert_eq!((line, col), (20_003, 1), "{message}");
    assert!(message.contains("not closed"), "{message}");
    // A non-repeated field in both parts: an error of the whole, at the second.
    let text = common::big_net(20_000) + "  name: 'again'\n";
    let (line, col, message) = error_at(&text);
    assert_eq!((line, col), (20_002, 3), "{message}");
    assert!(message.contains("more than once"), "{message}");
}

#[test]
fn a_cut_inside_a_block_is_declined() {
    // From the middle on, the layers are inside a block the schema does not know, written
    // without indentation: each of their lines looks like a root layer.
    let mut text = common::big_net(10_000);
    text.push_str("extra {\n");
    text.push_str(&common::big_net(10_000)["name: 'big'\n".len()..]);
    text.push_str("}\nlayer { name: 'last' }\n");
    let src = text.as_bytes();
    let mid = split_points(src, MSG_NETPARAMETER, src.len() / 2)
        .next()
        .unwrap();
    assert!(mid > text.find("extra {").unwrap());
    assert!(parse_split(src, MSG_NETPARAMETER, None, mid).is_none());
    // The one-piece reader runs instead: the outer layers, the block skipped with a warning.
    let mut w = Vec::new();
    let f = load_bytes("t".into(), src, ReadOptions::default(), &mut w).unwrap();
    assert_eq!(f.layers.len(), 10_001);
    assert_eq!(f.layers[10_000].name(), "last");
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].line, w[0].col), (10_002, 1));
    assert!(
        w[0].message.contains("unknown field 'extra'"),
        "{}",
        w[0].message
    );
    let lines = layer_lines(&parse_nested(src, MSG_NETPARAMETER, None).unwrap());
    assert_eq!(lines.last(), Some(&20_004));
}

#[test]
fn no_string_runs_on_past_a_line() {
    // A `\` does not escape a line break (it did in a skipped field, numbering every later line
    // one short): the string is not closed, and a cut after it is declined.
    let src = b"extra: 'a\\\nlayer { name: 1 }'\nlayer { name: 'b' }\n";
    assert_eq!(split_points(src, MSG_NETPARAMETER, 0).next(), Some(11));
    assert!(parse_split(src, MSG_NETPARAMETER, None, 11).is_none());
    assert!(parse_split(src, MSG_NETPARAMETER, None, 30).is_none());
    let e = parse_nested(src, MSG_NETPARAMETER, None).unwrap_err();
    assert_eq!((e.pos.line, e.pos.col), (1, 8));
    assert_eq!(e.message, "string literal is not closed");
}

#[test]
fn only_cuts_at_a_name_starting_a_line_are_tried() {
    let src = b"name: 'n'\nlayer { name: 'a' }\n  layer { name: 'b' }\n";
    // Not at a line start, at an indented line, at the end: declined before reading.
    for at in [0, 5, 10 + 3, 30, src.len()] {
        assert!(
            parse_split(src, MSG_NETPARAMETER, None, at).is_none(),
            "{at}"
        );
    }
    assert_eq!(
        split_points(src, MSG_NETPARAMETER, 0).collect::<Vec<_>>(),
        vec![10]
    );
    let whole = parse_nested(src, MSG_NETPARAMETER, None);
    let split = parse_split(src, MSG_NETPARAMETER, None, 10).expect("a clean cut");
    check("small", src, 10, &whole, &split);
    assert_eq!(layer_lines(&split), vec![2, 3]);
}

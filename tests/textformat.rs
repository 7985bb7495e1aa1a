//! The text-format reader: each grammar feature of SPEC §1, and each kind of syntax error
//! with its position and exit code.

use caffe_mem::load::{load_bytes, NetFile, ReadOptions, Warning};
use caffe_mem::Error;

fn read(text: &str) -> (NetFile, Vec<Warning>) {
    let mut w = Vec::new();
    let net = load_bytes(
        "t.prototxt".into(),
        text.as_bytes(),
        ReadOptions::default(),
        &mut w,
    )
    .unwrap_or_else(|e| panic!("should parse: {e}"));
    (net, w)
}

fn fail(text: &[u8]) -> Error {
    let mut w = Vec::new();
    match load_bytes("t.prototxt".into(), text, ReadOptions::default(), &mut w) {
        Ok(_) => panic!("should not parse: {}", String::from_utf8_lossy(text)),
        Err(e) => e,
    }
}

/// (line, col, exit code) of a parse error.
fn where_(e: &Error) -> (u32, u32, i32) {
    let (_, pos) = e.location().expect("parse errors have a location");
    let pos = pos.expect("and a position");
    (pos.line, pos.col, e.exit_code())
}

#[test]
fn the_test_nets_use_every_grammar_feature() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/grammar.prototxt"
    ))
    .unwrap();
    let (f, w) = read(&text);
    assert!(w.is_empty(), "{w:?}");
    let (net, layers) = (f.net, f.layers);
    // Adjacent strings concatenate, single quotes and C escapes work.
    assert_eq!(net.name(), "gram\"mar\tnet\u{1}A");
    assert!(net.layer.is_empty(), "the layers are decoded apart");
    assert_eq!(layers.len(), 4);
    let input = &layers[0];
    // `field: { }`, `< >` delimiters, list syntax for repeated scalars.
    assert_eq!(
        input.input_param().unwrap().shape[0].dim,
        vec![2, 3, 32, 32]
    );
    let conv = &layers[1];
    let cp = conv.convolution_param().unwrap();
    // Hex and octal integers: 0x10 = 16, 010 = 8.
    assert_eq!(cp.num_output(), 16);
    assert_eq!(cp.kernel_size, vec![3]);
    assert_eq!(cp.pad, vec![1]);
    assert_eq!(cp.stride, vec![1]);
    assert_eq!(cp.group(), 8);
    // Booleans spelled 'f' and 'True'.
    assert!(!cp.bias_term());
    // Exponent floats, a trailing 'f', and '-inf'.
    let wf = cp.weight_filler.as_ref().unwrap();
    assert_eq!(wf.std(), 1e-2);
    assert_eq!(wf.mean(), 2.5);
    assert_eq!(wf.min(), f32::NEG_INFINITY);
    assert!(wf.max().is_nan());
    // Repeated messages in list syntax.
    assert_eq!(conv.param.len(), 2);
    assert_eq!(conv.param[1].lr_mult(), 2.0);
    // Enum by name and by number: pool 1 = AVE, engine CAFFE.
    let pool = layers[2].pooling_param().unwrap();
    assert_eq!(
        pool.pool(),
        caffe_mem::proto::pooling_parameter::PoolMethod::Ave
    );
    assert_eq!(
        pool.engine(),
        caffe_mem::proto::pooling_parameter::Engine::Caffe
    );
    assert_eq!(layers[3].r#type(), "Softmax");
}

#[test]
fn layer_positions_are_remembered() {
    let (f, _) = read("name: 'x'\n\n  layer { name: 'a' }\nlayer {\n name: 'b' }\n");
    let layers: Vec<(u32, u32)> = f
        .root_fields
        .iter()
        .filter(|(n, _)| *n == 100)
        .map(|(_, p)| (p.line, p.col))
        .collect();
    assert_eq!(layers, vec![(3, 3), (4, 1)]);
}

#[test]
fn unknown_fields_warn_with_their_place_and_are_skipped() {
    let (f, w) = read(
        "layer {\n  name: 'a'\n  fancy_param { x: 1 nested { y: [1, 2] } }\n  weird: 'z' 'w'\n  type: 'ReLU'\n}\n",
    );
    assert_eq!(f.layers[0].r#type(), "ReLU");
    assert_eq!(w.len(), 2);
    assert_eq!((w[0].line, w[0].col), (3, 3));
    assert_eq!(
        w[0].message,
        "unknown field 'fancy_param' in caffe.LayerParameter"
    );
    assert_eq!((w[1].line, w[1].col), (4, 3));
}

#[test]
fn strict_makes_unknown_fields_errors() {
    let mut w = Vec::new();
    let e = load_bytes(
        "t.prototxt".into(),
        b"layer { bogus: 1 }",
        ReadOptions { strict: true },
        &mut w,
    )
    .unwrap_err();
    assert_eq!(where_(&e), (1, 9, 3));
    assert!(e.to_string().contains("unknown field 'bogus'"));
}

#[test]
fn unknown_enum_values_warn() {
    let (f, w) = read("layer { pooling_param { pool: FANCY } }");
    assert!(f.layers[0].pooling_param().unwrap().pool.is_none());
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message.contains("unknown value 'FANCY'"),
        "{}",
        w[0].message
    );
}

#[test]
fn syntax_errors_have_positions_and_exit_3() {
    // Unclosed block: reported at end of file.
    let e = fail(b"layer {\n  name: 'a'\n");
    assert_eq!(where_(&e), (3, 1, 3));
    assert!(e.to_string().contains("not closed"), "{e}");
    // A string whose last byte, the file's, is an escape.
    let e = fail(b"name: 'a\\");
    assert_eq!(where_(&e), (1, 7, 3));
    assert!(
        e.to_string().contains("string literal is not closed"),
        "{e}"
    );
    // A scalar without ':'.
    let e = fail(b"layer { name 'a' }");
    assert_eq!(where_(&e), (1, 14, 3));
    // A non-repeated field twice, as protobuf refuses it.
    let e = fail(b"layer { name: 'a' name: 'b' }");
    assert_eq!(where_(&e), (1, 19, 3));
    assert!(e.to_string().contains("more than once"), "{e}");
    // Out of range for int32 (3000000000 > 2^31 - 1).
    let e = fail(b"layer { convolution_param { axis: 3000000000 } }");
    assert_eq!(where_(&e), (1, 35, 3));
    // A negative number for an unsigned field.
    let e = fail(b"layer { convolution_param { num_output: -1 } }");
    assert!(e.to_string().contains("unsigned"), "{e}");
    // An unclosed string.
    let e = fail(b"name: 'abc\nlayer {}");
    assert_eq!(where_(&e), (1, 7, 3));
    // A stray character.
    let e = fail(b"layer { name: 'a' } @");
    assert_eq!(where_(&e), (1, 21, 3));
    // A bad escape.
    let e = fail(b"name: 'a\\qb'");
    assert!(e.to_string().contains("escape"), "{e}");
    // Not a number.
    let e = fail(b"layer { dropout_param { dropout_ratio: 0.5.5 } }");
    assert!(e.to_string().contains("not a number"), "{e}");
}

#[test]
fn binary_files_are_named_as_such() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    let e = fail(png);
    assert_eq!(e.exit_code(), 3);
    assert!(e.to_string().contains("binary file"), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut text = String::new();
    for _ in 0..100_000 {
        text.push_str("x {");
    }
    let e = fail(text.as_bytes());
    assert_eq!(e.exit_code(), 3);
    assert!(e.to_string().contains("nested more than"), "{e}");
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let (f, w) = read("\u{feff}name: 'bom'");
    assert!(w.is_empty());
    assert_eq!(f.net.name(), "bom");
}

#[test]
fn solvers_are_told_from_nets_and_inline_nets_read() {
    let mut w = Vec::new();
    let f = load_bytes(
        "solver.prototxt".into(),
        b"base_lr: 0.01\nnet_param { name: 'inline' layer { name: 'a' type: 'Input' top: 'a' } }\ntype: 'Adam'\n",
        ReadOptions::default(),
        &mut w,
    )
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(f.net.name(), "inline");
    let s = f.solver.expect("read as a solver");
    assert_eq!(s.solver.r#type(), "Adam");
    assert_eq!(s.solver.base_lr(), 0.01);
}

/// Floats read exactly as Rust's own parser reads them, which the reader's fast path for plain
/// decimals must match: signs, points, exponents, and the edges of that path (2^53 digits,
/// 10^22) and past them.
#[test]
fn floats_read_as_the_standard_parser_reads_them() {
    let mantissas = [
        "0",
        "1",
        "10",
        "0.5",
        ".5",
        "5.",
        "0.1",
        "0.30000000000000004",
        "3.14159",
        "0.000001",
        "9007199254740992",
        "9007199254740993",
        "123456789012345678901",
        "1.7976931348623157",
        "2.2250738585072014",
        "0.0000000000000000000000000000000000001",
    ];
    let exponents = [
        "", "e0", "e05", "e-5", "E+3", "e22", "e-22", "e23", "e-23", "e308", "e-400",
    ];
    let mut literals = Vec::new();
    for sign in ["", "-", "+"] {
        for m in mantissas {
            for e in exponents {
                literals.push(format!("{sign}{m}{e}"));
            }
        }
    }
    let values: String = literals
        .iter()
        .map(|l| format!("double_data: {l} "))
        .collect();
    let (f, _) = read(&format!("layer {{ name: 'a' blobs {{ {values}}} }}"));
    let read = &f.layers[0].rare.as_ref().unwrap().blobs[0].double_data;
    assert_eq!(read.len(), literals.len());
    for (literal, got) in literals.iter().zip(read) {
        let want: f64 = literal.parse().unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{literal}");
    }
}

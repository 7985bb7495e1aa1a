//! The compact JSON writer (src/json.rs), which the command line uses, against serde_json
//! itself: the same bytes as serde_json's of the report, on reports large enough to be written
//! on two threads and on small ones.

mod common;
#[path = "../benches/common/gen.rs"]
mod gen;

use caffe_mem::json::THREADED_MIN;
use caffe_mem::layers::Phase;
use caffe_mem::memory::{Dtype, Flags};
use caffe_mem::pipeline::{self, Options, Walked};
use caffe_mem::report::Report;

fn walked<'o>(opts: &'o Options, text: &[u8]) -> Walked<'o> {
    pipeline::walk_bytes(opts, "net.prototxt".to_string(), text).expect("walks")
}

/// The report written as the command line writes it (from the walk, the memory figures
/// computed meanwhile) is serde_json's output of the report made from that walk, byte for
/// byte; returns the report.
fn assert_same(w: Walked) -> Report {
    let mut ours = Vec::new();
    w.write_compact(&mut ours).expect("writes");
    let report = pipeline::report(w.finish().expect("memory figures"));
    let theirs = serde_json::to_vec(&report).expect("serializes");
    same(&ours, &theirs);
    report
}

/// A difference is reported by position rather than by printing megabytes.
fn same(ours: &[u8], theirs: &[u8]) {
    if let Some(at) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
        let near = |v: &[u8]| {
            String::from_utf8_lossy(&v[at.saturating_sub(60)..(at + 60).min(v.len())]).into_owned()
        };
        panic!(
            "byte {at} differs:\n ours: {}\n serde_json: {}",
            near(ours),
            near(theirs)
        );
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "one output is a prefix of the other"
    );
}

#[test]
fn a_large_report_is_written_as_serde_json_writes_it() {
    let (text, _) = gen::resnet(10_000);
    // TEST and defaults; TRAIN with every optional part of the report (`fit`, the buffers,
    // flattened settings), in fp16 (2-byte activations).
    let plain = Options::default();
    let full = Options {
        phase: Some(Phase::Train),
        memory: Flags {
            dtype: Dtype::Fp16,
            gpu_mem: Some(11 << 30),
            buffers: true,
            ..Flags::default()
        },
        ..Options::default()
    };
    for opts in [plain, full] {
        let r = assert_same(walked(&opts, text.as_bytes()));
        // Several chunks per array on the threaded path, and not a whole number of them.
        assert!(
            r.layers.len() >= 2 * THREADED_MIN,
            "{} layers",
            r.layers.len()
        );
        assert!(r.blobs.len() >= THREADED_MIN, "{} blobs", r.blobs.len());
    }
}

#[test]
fn a_small_report_is_written_as_serde_json_writes_it() {
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/alexnet.prototxt"
    ))
    .expect("testdata");
    let r = assert_same(walked(&Options::default(), &text));
    assert!(r.layers.len() < THREADED_MIN);
}

/// Every net of testdata and the corpus: the layers and blobs, written by hand, against
/// serde_json's derived output (a layer with several tops, shared parameters, odd floats...).
#[test]
fn every_net_is_written_as_serde_json_writes_it() {
    let mut written = 0;
    for path in common::net_files() {
        let text = std::fs::read(&path).expect("readable");
        let opts = Options::default();
        // Nets that Caffe refuses have no report.
        let Ok(w) = pipeline::walk_bytes(&opts, path.display().to_string(), &text) else {
            continue;
        };
        assert_same(w);
        written += 1;
    }
    assert!(written >= 90, "only {written} nets analyzed");
}

/// The values the hand-written elements spell differently from the usual: names JSON must
/// escape (a quote, a backslash, a tab, a control byte; non-ASCII is not escaped), a name
/// shared by parameters (`shared_from`), an unknown type (a note), floats that are not whole,
/// infinite (`null`) or tiny, and a negative dimension in no shape (dims are checked).
#[test]
fn escapes_floats_and_shared_parameters_are_written_as_serde_json_writes_them() {
    let text = br#"
name: "odd"
input: "da\"ta"
input_shape { dim: 2 dim: 3 dim: 4 dim: 5 }
layer { name: "ip\\1\t" type: "InnerProduct" bottom: "da\"ta" top: "t\001op"
  param { name: "shared" lr_mult: 0.1 decay_mult: inf }
  param { lr_mult: 1e-30 decay_mult: -0 }
  inner_product_param { num_output: 7 } }
layer { name: "ip2\303\251" type: "InnerProduct" bottom: "da\"ta" top: "out"
  param { name: "shared" lr_mult: 0.1 }
  inner_product_param { num_output: 7 bias_term: false } }
layer { name: "mystery" type: "NotACaffeLayer" bottom: "out" top: "m" }
"#;
    let r = assert_same(walked(&Options::default(), text));
    // The net is the one meant: the escapes decoded (a Split's name too), the parameter
    // shared, the type unknown.
    assert_eq!(r.layers[1].name, "da\"ta_input_0_split");
    assert_eq!(r.layers[2].name, "ip\\1\t");
    assert_eq!(r.layers[2].tops, ["t\u{1}op"]);
    assert_eq!(r.layers[3].name, "ip2\u{e9}");
    assert_eq!(
        r.layers[3].params[0].shared_from.as_deref(),
        Some("ip\\1\t")
    );
    assert_eq!(r.layers[4].notes.len(), 1);
}

/// Layer names JSON must escape while every top is plain: a blob's producer and consumers are
/// layer names, so the blobs, which copy names unchecked after layers with none escaped, must
/// check them here. Names of several lengths, the escape early, late and in a last part word.
#[test]
fn escaped_layer_names_with_plain_tops_are_written_as_serde_json_writes_them() {
    let text = br#"
name: "esc"
input: "data"
input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer { name: "conv\"1" type: "Convolution" bottom: "data" top: "c1"
  convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu_eleven\\" type: "ReLU" bottom: "c1" top: "c1" }
layer { name: "pool" type: "Pooling" bottom: "c1" top: "p1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "a_longer_name_with\ta_tab" type: "ReLU" bottom: "p1" top: "p1" }
"#;
    let r = assert_same(walked(&Options::default(), text));
    assert_eq!(r.blobs[1].producer, "conv\"1");
    assert_eq!(r.blobs[1].consumers, ["relu_eleven\\", "pool"]);
    assert_eq!(r.blobs[2].consumers, ["a_longer_name_with\ta_tab"]);
}

//! The compact JSON writer (src/json.rs) against serde_json itself: the same bytes, on reports
//! large enough to be written on two threads and on small ones.

#[path = "../benches/common/gen.rs"]
mod gen;

use caffe_mem::json::{write_compact, THREADED_MIN};
use caffe_mem::layers::Phase;
use caffe_mem::memory::Flags;
use caffe_mem::pipeline::{self, Options};
use caffe_mem::report::Report;

fn report(opts: &Options, text: &[u8]) -> Report {
    let analyzed =
        pipeline::analyze_bytes(opts, "net.prototxt".to_string(), text).expect("analyzes");
    pipeline::report(analyzed)
}

/// The writer's output is serde_json's, byte for byte; a difference is reported by position
/// rather than by printing megabytes.
fn assert_same(report: &Report) {
    let mut ours = Vec::new();
    write_compact(&mut ours, report).expect("writes");
    let theirs = serde_json::to_vec(report).expect("serializes");
    if let Some(at) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        let near = |v: &[u8]| {
            String::from_utf8_lossy(&v[at.saturating_sub(60)..(at + 60).min(v.len())]).into_owned()
        };
        panic!(
            "byte {at} differs:\n ours: {}\n serde_json: {}",
            near(&ours),
            near(&theirs)
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
    // flattened settings).
    let plain = Options::default();
    let full = Options {
        phase: Some(Phase::Train),
        memory: Flags {
            gpu_mem: Some(11 << 30),
            buffers: true,
            ..Flags::default()
        },
        ..Options::default()
    };
    for opts in [plain, full] {
        let r = report(&opts, text.as_bytes());
        // Several chunks per array on the threaded path, and not a whole number of them.
        assert!(
            r.layers.len() >= 2 * THREADED_MIN,
            "{} layers",
            r.layers.len()
        );
        assert!(r.blobs.len() >= THREADED_MIN, "{} blobs", r.blobs.len());
        assert_same(&r);
    }
}

#[test]
fn a_small_report_is_written_as_serde_json_writes_it() {
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/alexnet.prototxt"
    ))
    .expect("testdata");
    let r = report(&Options::default(), &text);
    assert!(r.layers.len() < THREADED_MIN);
    assert_same(&r);
}

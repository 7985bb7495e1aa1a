//! The whole analysis: reader, upgrade, filter, Split insertion, the walk with every layer rule,
//! the memory models, and the report in every output format. Any input either fails with an
//! error whose exit code is 1, 2 or 3, or yields a report whose totals are the sums of their
//! parts. A net that builds in TEST is built again in TRAIN with `--batch 3`, which takes the
//! other branches of the walk and of the memory models (backward pass, solver state), and the
//! two reports are diffed. The net one sample larger as a large net finds it beside its walk
//! (`rebatch::ahead`) must not panic whatever the walk makes of the net, and must agree with
//! `rebatch::rebatch` whenever the walk does.

#![no_main]

use caffe_mem::analysis::walk_numbered;
use caffe_mem::format::{self, Format, Style};
use caffe_mem::layers::Phase;
use caffe_mem::memory::Flags;
use caffe_mem::numbering;
use caffe_mem::pipeline::{build_bytes, next_walk, report, walk_bytes, Options};
use caffe_mem::rebatch;
use caffe_mem::report::Report;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a u64"))
}

/// fixed + batch x per_sample, or `None` when it does not fit 64 bits.
fn line(fixed: u64, per_sample: u64, batch: u64) -> Option<u64> {
    per_sample.checked_mul(batch)?.checked_add(fixed)
}

/// Each memory figure is fixed + batch x per_sample = total (a net without a batch axis has
/// per_sample 0), and each model's whole is the sum of its parts.
fn check_memory(memory: &Value) {
    let batch = memory["batch"].as_u64().unwrap_or(0);
    for model in ["caffe", "ideal"] {
        let m = &memory[model];
        let mut sum = Some([0u64; 3]);
        for part in m["parts"].as_object().expect("parts").values() {
            let f = [u(&part["fixed"]), u(&part["per_sample"]), u(&part["total"])];
            assert_eq!(line(f[0], f[1], batch), Some(f[2]), "{model}: {part}");
            sum = sum.and_then(|s| {
                Some([
                    s[0].checked_add(f[0])?,
                    s[1].checked_add(f[1])?,
                    s[2].checked_add(f[2])?,
                ])
            });
        }
        // With `--buffers`, each listed buffer is a line of its own.
        for b in m["buffers"].as_array().into_iter().flatten() {
            let f = [u(&b["fixed"]), u(&b["per_sample"]), u(&b["total"])];
            assert_eq!(line(f[0], f[1], batch), Some(f[2]), "{model}: {b}");
        }
        let whole = [u(&m["fixed"]), u(&m["per_sample"]), u(&m["total"])];
        assert_eq!(
            Some(whole),
            sum,
            "{model}: the total is not the sum of its parts"
        );
    }
}

/// Analyses `data` into a report, checked and rendered in every format.
fn run(opts: &Options, data: &[u8]) -> Option<Report> {
    let refused = |e: caffe_mem::error::Error| {
        assert!((1..=3).contains(&e.exit_code()), "{e}");
        None
    };
    let w = match walk_bytes(opts, "fuzz.prototxt".to_string(), data) {
        Err(e) => return refused(e),
        Ok(w) => w,
    };
    // The compact JSON as the command line writes it (from the walk, the memory figures
    // computed meanwhile) is serde_json's of the report made from that walk.
    let mut written = Vec::new();
    let json = w.write_compact(&mut written);
    let analyzed = match w.finish() {
        Err(e) => {
            assert!(
                json.is_err(),
                "the JSON was written without its memory figures"
            );
            return refused(e);
        }
        Ok(a) => a,
    };
    let r = report(analyzed);
    assert!(
        json.is_ok() && written == serde_json::to_vec(&r).expect("the report serialises"),
        "the JSON written from the walk is not the report's"
    );
    let macs = r.layers.iter().try_fold(0u64, |t, l| t.checked_add(l.macs));
    assert_eq!(
        Some(r.totals.macs),
        macs,
        "total MACs are not the layers' sum"
    );
    let json = serde_json::to_value(&r).expect("the report serialises");
    check_memory(&json["memory"]);
    for f in [Format::Table, Format::Markdown, Format::Csv, Format::Dot] {
        let _ = format::render(&r, f, None, Style::default());
    }
    Some(r)
}

/// `rebatch::ahead` on the net's layers in TEST, and, when the walk builds them, checked
/// against it: what it then finds is what `rebatch::rebatch` finds after the walk.
fn ahead(data: &[u8]) {
    let opts = Options::default();
    let Ok(b) = build_bytes(&opts, "fuzz.prototxt".into(), data) else {
        return;
    };
    let numbering = numbering::number(&b.nodes);
    let found = rebatch::ahead(&b.file, &b.nodes, &numbering, &b.walk);
    let Ok(a) = walk_numbered(
        &b.file,
        &b.nodes,
        &mut numbering::Feed::whole(&numbering),
        &b.walk,
        &mut Vec::new(),
    ) else {
        return;
    };
    if let (Some(found), Some(next)) = (&found, next_walk(&a, &b.walk)) {
        if let Some(sizes) = found.sizes(&a, &next) {
            assert_eq!(
                Some(sizes.to_vec()),
                rebatch::rebatch(&b.file, &a, &next),
                "found beside the walk, not as after it"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    ahead(data);
    let Some(test) = run(&Options::default(), data) else {
        return;
    };
    // TRAIN also lists the caffe model's buffers (`--buffers`).
    let train = Options {
        phase: Some(Phase::Train),
        batch: Some(3),
        memory: Flags {
            buffers: true,
            ..Flags::default()
        },
        ..Options::default()
    };
    if let Some(train) = run(&train, data) {
        for f in [Format::Json, Format::Table, Format::Csv] {
            let _ = format::diff::render(&test, &train, f, None, Style::default());
        }
    }
});

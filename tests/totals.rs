//! Whole-net totals against published figures (parameters; conv + fc multiply-accumulates for
//! one image). A mismatch here means a shape or counting bug.

mod common;

use caffe_mem::pipeline::{self, Options};

/// (corpus file, parameters, learnable parameters, MACs for one image)
const PUBLISHED: [(&str, u64, u64, u64); 5] = [
    // AlexNet at 227x227: 60,965,224 parameters, 724.4M MACs.
    (
        "BVLC__caffe/models/bvlc_alexnet/deploy.prototxt",
        60_965_224,
        60_965_224,
        724_406_816,
    ),
    // VGG-16 at 224: 138,357,544 parameters, 15.47G MACs.
    (
        "ethereon__netscope/presets/vgg-16.prototxt",
        138_357_544,
        138_357_544,
        15_470_264_320,
    ),
    // ResNet-50: 25,557,096 learnable parameters, 3.858G MACs; its 53 BatchNorm layers add
    // 53,173 statistics (2 x channels + 1 each) that never learn.
    (
        "KaimingHe__deep-residual-networks/prototxt/ResNet-50-deploy.prototxt",
        25_610_269,
        25_557_096,
        3_857_973_248,
    ),
    // GoogLeNet at 224: 6,998,552 parameters, 1.583G MACs.
    (
        "BVLC__caffe/models/bvlc_googlenet/deploy.prototxt",
        6_998_552,
        6_998_552,
        1_582_671_872,
    ),
    // SqueezeNet 1.1 at 227: 1,235,496 parameters, 387.7M MACs.
    (
        "DeepScale__SqueezeNet/SqueezeNet_v1.1/deploy.prototxt",
        1_235_496,
        1_235_496,
        387_747_520,
    ),
];

#[test]
fn totals_match_published_figures() {
    let Some(shared) = common::shared() else {
        return;
    };
    for (rel, params, learnable, macs) in PUBLISHED {
        let opts = Options {
            path: shared
                .join("corpus")
                .join(rel)
                .to_string_lossy()
                .into_owned(),
            batch: Some(1),
            ..Default::default()
        };
        let r = pipeline::report(pipeline::analyze(&opts).unwrap());
        assert_eq!(r.totals.params, params, "{rel}: parameters");
        assert_eq!(
            r.totals.learnable_params, learnable,
            "{rel}: learnable parameters"
        );
        assert_eq!(r.totals.macs, macs, "{rel}: MACs");
    }
}

#[test]
fn macs_scale_with_the_batch() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/alexnet.prototxt");
    let at = |batch| {
        let opts = Options {
            path: path.to_string(),
            batch: Some(batch),
            ..Default::default()
        };
        pipeline::report(pipeline::analyze(&opts).unwrap()).totals
    };
    let (one, eight) = (at(1), at(8));
    assert_eq!(one.macs, 724_406_816);
    assert_eq!(eight.macs, 8 * one.macs);
    assert_eq!(eight.params, one.params);
}

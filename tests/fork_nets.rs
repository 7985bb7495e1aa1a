//! Fork nets that no oracle built, checked by hand against their fork's code.

mod common;

use caffe_mem::layers::PoolingRule;
use caffe_mem::pipeline::{self, Options};

fn shapes_of(opts: &Options, names: &[&str]) -> Vec<Vec<Vec<i64>>> {
    let a = pipeline::analyze(opts).unwrap().analysis;
    names
        .iter()
        .map(|n| {
            a.layers
                .iter()
                .find(|l| l.name() == *n)
                .unwrap_or_else(|| panic!("no layer {n}"))
                .output_shapes
                .iter()
                .map(|s| s.to_vec())
                .collect()
        })
        .collect()
}

/// yolov3-tiny was written for ChenYingpeng/darknet2caffe's pooling_layer.cpp: Caffe's rule
/// makes its size-2 stride-1 max pool 13 -> 12, and the route (Concat) of 24 with 26 fails,
/// as it does in real BVLC Caffe; darknet's rule keeps 13 and the net builds.
#[test]
fn yolov3_tiny_needs_darknet_pooling() {
    let Some(shared) = common::shared() else {
        return;
    };
    let path = shared
        .join("corpus/ChenYingpeng__caffe-yolov3/prototxt/yolov3-tiny.prototxt")
        .to_string_lossy()
        .into_owned();
    let caffe = Options {
        path: path.clone(),
        ..Default::default()
    };
    let e = pipeline::analyze(&caffe)
        .err()
        .expect("Caffe's pooling refuses the net");
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().contains("layer21-route"), "{e}");
    let darknet = Options {
        path,
        pooling: PoolingRule::Darknet,
        ..Default::default()
    };
    // 416 halves five times to 13 (k2 s2: ceil((416-2)/2)+1 = 208, ...); layer12 (k2 s1):
    // ceil((13-2)/1)+1 = 12, +1 as kernel - stride = 1 is odd = 13. The upsample doubles
    // 13 to 26, and the route joins 128 + 256 channels at 26x26.
    let got = shapes_of(
        &darknet,
        &[
            "layer10-maxpool",
            "layer12-maxpool",
            "layer20-upsample",
            "layer21-route",
        ],
    );
    assert_eq!(
        got,
        vec![
            vec![vec![1, 256, 13, 13]],
            vec![vec![1, 512, 13, 13]],
            vec![vec![1, 128, 26, 26]],
            vec![vec![1, 384, 26, 26]],
        ]
    );
}

/// OpenPose's BODY_25 deploy declares a 16x16 input through net-level input_dim (the real
/// size is set at run time): three 2x2 stride-2 max pools take it to 2x2, and the last
/// stage's output has 78 channels: 26 heat maps (25 parts + background) and 26 x 2 PAFs.
#[test]
fn openpose_body25_builds() {
    let Some(shared) = common::shared() else {
        return;
    };
    let opts = Options {
        path: shared
            .join("corpus/CMU-Perceptual-Computing-Lab__openpose/models/pose/body_25/pose_deploy.prototxt")
            .to_string_lossy()
            .into_owned(),
        ..Default::default()
    };
    let a = pipeline::analyze(&opts).unwrap().analysis;
    assert_eq!(a.layers[0].output_shapes[..], [vec![1, 3, 16, 16]]);
    assert_eq!(
        a.layers.last().unwrap().output_shapes[..],
        [vec![1, 78, 2, 2]]
    );
}

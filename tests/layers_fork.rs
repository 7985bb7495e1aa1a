//! The fork layer rules (`src/layers/fork/`): hand-worked unit cases per rule, then every
//! fork-typed layer of the fork oracles' goldens (`../shared/golden-fork`, the inisis fork;
//! `../shared/golden-multi`, BVLC plus the fork layers listed in its README), fed the golden's
//! own bottom shapes, and finally hand-checked layers of corpus nets no oracle built.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use caffe_mem::filter::{self, State};
use caffe_mem::layers::{self, fork, Ctx, Out, Phase, RuleResult, Shape};
use caffe_mem::load::{self, ReadOptions};
use caffe_mem::proto::LayerParameter;
use caffe_mem::textformat::Pos;
use caffe_mem::upgrade;
use common::shapes;
use serde_json::Value;

// ---- helpers ----

/// The layers of a net text (any format), upgraded to today's, with where each starts.
fn upgraded(file: &str, text: &str) -> (Vec<Arc<LayerParameter>>, Vec<Pos>) {
    let mut warnings = Vec::new();
    let loaded = load::load_bytes(
        file.to_string(),
        text.as_bytes(),
        ReadOptions::default(),
        &mut warnings,
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut net = loaded.net;
    let u = upgrade::upgrade(&loaded.file, &mut net, loaded.layers, &loaded.root_fields)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    (u.layers, u.positions)
}

fn net_layers(file: &str, text: &str) -> Vec<LayerParameter> {
    let layers = upgraded(file, text).0;
    layers.into_iter().map(Arc::unwrap_or_clone).collect()
}

/// One layer from its prototxt text (`layer { ... }`).
fn layer(text: &str) -> LayerParameter {
    net_layers("<test>", text).remove(0)
}

fn run_given(text: &str, bottoms: &[Vec<i64>], given: &[(&str, Vec<i64>)]) -> RuleResult {
    let lp = layer(text);
    let given: HashMap<String, Shape> = given
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone().into()))
        .collect();
    let ctx = Ctx {
        phase: Phase::Test,
        given: &given,
        pooling: Default::default(),
    };
    let bottoms: Vec<Shape> = bottoms.iter().map(|b| b.clone().into()).collect();
    let refs: Vec<&Shape> = bottoms.iter().collect();
    layers::infer(&lp, &refs, &ctx).expect("a rule knows this type")
}

fn run(text: &str, bottoms: &[Vec<i64>]) -> RuleResult {
    run_given(text, bottoms, &[])
}

fn ok(text: &str, bottoms: &[Vec<i64>]) -> Out {
    run(text, bottoms).unwrap_or_else(|e| panic!("refused: {e:?}\n{text}"))
}

/// The refusal's message, which must contain `part`.
fn refused(text: &str, bottoms: &[Vec<i64>], part: &str) -> String {
    match run(text, bottoms) {
        Ok(out) => panic!("accepted ({out:?}), expected a refusal with '{part}'\n{text}"),
        Err(e) => {
            assert!(e.message.contains(part), "'{}' lacks '{part}'", e.message);
            e.message
        }
    }
}

// ---- SSD (weiliu89/caffe@4817bf8b) ----

#[test]
fn prior_box_counts_priors_as_ssd_does() {
    // Ratios {1, 2, 1/2} (2 flipped) for one min_size, plus one for max_size: 4 priors;
    // 19*19 cells * 4 priors * 4 coordinates = 5776.
    let out = ok(
        r#"layer { type: "PriorBox" bottom: "f" bottom: "img" top: "p"
           prior_box_param { min_size: 60 max_size: 110 aspect_ratio: 2 flip: true } }"#,
        &[vec![1, 512, 19, 19], vec![1, 3, 300, 300]],
    );
    assert_eq!(out.tops, vec![vec![1, 2, 5776]]);
    assert!(out.params.is_empty());
    assert_eq!(out.flops, 2 * 5776);
    // Ratios 2, 3 flipped: {1, 2, 1/2, 3, 1/3}, two min sizes, no max: 10 priors;
    // 10*10*10*4 = 4000.
    let out = ok(
        r#"layer { type: "PriorBox" bottom: "f" top: "p"
           prior_box_param { min_size: 30 min_size: 40 aspect_ratio: [2, 3] } }"#,
        &[vec![1, 256, 10, 10]],
    );
    assert_eq!(out.tops, vec![vec![1, 2, 4000]]);
    // A repeated ratio and the reciprocal of a kept one are dropped: {1, 2, 1/2} (flip
    // off adds nothing): 3 priors on 3x5 = 180.
    let out = ok(
        r#"layer { type: "PriorBox" bottom: "f" top: "p"
           prior_box_param { min_size: 30 aspect_ratio: [2, 2, 0.5] flip: false } }"#,
        &[vec![1, 8, 3, 5]],
    );
    assert_eq!(out.tops, vec![vec![1, 2, 180]]);
    refused(
        r#"layer { type: "PriorBox" bottom: "f" top: "p" prior_box_param { aspect_ratio: 2 } }"#,
        &[vec![1, 8, 3, 5]],
        "min_size",
    );
    refused(
        r#"layer { type: "PriorBox" bottom: "f" top: "p"
           prior_box_param { min_size: 30 max_size: 20 } }"#,
        &[vec![1, 8, 3, 5]],
        "max_size must be greater",
    );
    refused(
        r#"layer { type: "PriorBox" bottom: "f" top: "p"
           prior_box_param { min_size: 30 img_size: 300 img_h: 300 img_w: 300 } }"#,
        &[vec![1, 8, 3, 5]],
        "not both",
    );
    refused(
        r#"layer { type: "PriorBox" bottom: "f" top: "p"
           prior_box_param { min_size: 30 variance: [0.1, 0.2] } }"#,
        &[vec![1, 8, 3, 5]],
        "exactly four",
    );
}

#[test]
fn permute_reorders_axes() {
    let text =
        r#"layer { type: "Permute" bottom: "a" top: "b" permute_param { order: [0, 2, 3, 1] } }"#;
    assert_eq!(
        ok(text, &[vec![1, 12, 19, 19]]).tops,
        vec![vec![1, 19, 19, 12]]
    );
    // Unlisted axes follow in order: [2] then 0, 1, 3.
    let text = r#"layer { type: "Permute" bottom: "a" top: "b" permute_param { order: 2 } }"#;
    assert_eq!(ok(text, &[vec![2, 3, 4, 5]]).tops, vec![vec![4, 2, 3, 5]]);
    let dup = r#"layer { type: "Permute" bottom: "a" top: "b" permute_param { order: [1, 1] } }"#;
    refused(dup, &[vec![2, 3, 4, 5]], "duplicate");
    let big = r#"layer { type: "Permute" bottom: "a" top: "b" permute_param { order: 4 } }"#;
    refused(big, &[vec![2, 3, 4, 5]], "less than the input dimension");
}

#[test]
fn normalize_scale_blob_and_flops() {
    let text = r#"layer { type: "Normalize" bottom: "a" top: "b"
                  norm_param { across_spatial: false channel_shared: false } }"#;
    let out = ok(text, &[vec![2, 512, 38, 38]]);
    assert_eq!(out.tops, vec![vec![2, 512, 38, 38]]);
    assert_eq!(out.params, vec![vec![512]]);
    // 4 per element (2*512*38*38 = 1478656 elements) + one root per position (2*38*38 = 2888).
    assert_eq!(out.flops, 4 * 1_478_656 + 2888);
    // channel_shared (the default) keeps one scalar: Blob(vector<int>(0)), shape [].
    let out = ok(
        r#"layer { type: "Normalize" bottom: "a" top: "b" }"#,
        &[vec![2, 8, 3, 3]],
    );
    assert_eq!(out.params, vec![Vec::<i64>::new()]);
    // across_spatial (the default): one norm per sample: 4*144 + 2.
    assert_eq!(out.flops, 4 * 144 + 2);
    refused(
        r#"layer { type: "Normalize" bottom: "a" top: "b" }"#,
        &[vec![5]],
        ">=2",
    );
}

#[test]
fn detection_output_and_evaluate_setup_shapes() {
    // 1917 priors (PriorBox concat [1, 2, 7668]); 21 classes; shared locations.
    let text = r#"layer { type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior"
                  top: "det" detection_output_param { num_classes: 21 } }"#;
    let bottoms = [vec![1, 7668], vec![1, 40257], vec![1, 2, 7668]];
    assert_eq!(ok(text, &bottoms).tops, vec![vec![1, 1, 1, 7]]);
    refused(
        text,
        &[vec![1, 7664], vec![1, 40257], vec![1, 2, 7668]],
        "location predictions",
    );
    refused(
        r#"layer { type: "DetectionOutput" bottom: "l" bottom: "c" bottom: "p" top: "d" }"#,
        &bottoms,
        "num_classes",
    );
    // 20 positive classes (background 0) + the 1 zero-filled detection row.
    let text = r#"layer { type: "DetectionEvaluate" bottom: "det" bottom: "label" top: "eval"
                  detection_evaluate_param { num_classes: 21 background_label_id: 0 } }"#;
    let out = ok(text, &[vec![1, 1, 1, 7], vec![1, 1, 1, 8]]);
    assert_eq!(out.tops, vec![vec![1, 1, 21, 5]]);
    refused(text, &[vec![1, 1, 1, 6], vec![1, 1, 1, 8]], "[1, 1, D, 7]");
}

#[test]
fn multibox_loss_is_a_scalar() {
    let text = r#"layer { type: "MultiBoxLoss" bottom: "loc" bottom: "conf" bottom: "prior"
                  bottom: "label" top: "loss" multibox_loss_param { num_classes: 21 } }"#;
    let bottoms = [
        vec![24, 7668],
        vec![24, 40257],
        vec![1, 2, 7668],
        vec![1, 1, 1, 8],
    ];
    let out = ok(text, &bottoms);
    assert_eq!(out.tops, vec![Vec::<i64>::new()]);
    // 4 * 24*7668 + 3 * 24*40257.
    assert_eq!(out.flops, 4 * 184_032 + 3 * 966_168);
    let mut bad = bottoms.clone();
    bad[1] = vec![12, 40257];
    refused(text, &bad, "same first dimension");
}

#[test]
fn annotated_data_from_resize_param() {
    let text = r#"layer { type: "AnnotatedData" top: "data" top: "label"
                  data_param { batch_size: 24 }
                  transform_param { resize_param { resize_mode: WARP height: 300 width: 300 } } }"#;
    let out = ok(text, &[]);
    assert_eq!(out.tops, vec![vec![24, 3, 300, 300], vec![1, 1, 1, 8]]);
    // A crop wins over the resize for its axis.
    let text = r#"layer { type: "AnnotatedData" top: "data"
                  data_param { batch_size: 2 } transform_param { crop_size: 256
                  force_gray: true resize_param { height: 300 width: 300 } } }"#;
    assert_eq!(ok(text, &[]).tops, vec![vec![2, 1, 256, 256]]);
    // FIT_SMALL_SIZE follows each image and needs batch 1.
    let text = r#"layer { type: "AnnotatedData" top: "data" data_param { batch_size: 8 }
                  transform_param { resize_param { resize_mode: FIT_SMALL_SIZE height: 300 width: 300 } } }"#;
    refused(text, &[], "batch size of 1");
    // No size anywhere: the images decide, so --input must.
    let text = r#"layer { type: "AnnotatedData" top: "data" data_param { batch_size: 8 } }"#;
    let e = run(text, &[]).unwrap_err();
    assert!(e.hint.unwrap().contains("--input data=8,3,H,W"));
    let out = run_given(text, &[], &[("data", vec![8, 3, 512, 512])]).unwrap();
    assert_eq!(out.tops, vec![vec![8, 3, 512, 512]]);
}

// ---- Faster R-CNN, R-FCN, Python ----

#[test]
fn roi_pooling_takes_the_region_count() {
    let text = r#"layer { type: "ROIPooling" bottom: "conv5_3" bottom: "rois" top: "pool5"
                  roi_pooling_param { pooled_w: 7 pooled_h: 6 spatial_scale: 0.0625 } }"#;
    let out = ok(text, &[vec![2, 512, 38, 63], vec![128, 5]]);
    assert_eq!(out.tops, vec![vec![128, 512, 6, 7]]);
    assert_eq!(out.flops, 128 * 512 * 6 * 7);
    refused(
        r#"layer { type: "ROIPooling" bottom: "a" bottom: "r" top: "p" roi_pooling_param { pooled_w: 7 } }"#,
        &[vec![1, 8, 4, 4], vec![3, 5]],
        "pooled_h must be > 0",
    );
    refused(text, &[vec![1, 8, 4, 4]], "2 bottom");
}

#[test]
fn psroi_pooling_checks_position_sensitive_channels() {
    // output_dim 21 * group 7 * 7 = 1029 channels.
    let text = r#"layer { type: "PSROIPooling" bottom: "maps" bottom: "rois" top: "p"
                  psroi_pooling_param { spatial_scale: 0.0625 output_dim: 21 group_size: 7 } }"#;
    let out = ok(text, &[vec![1, 1029, 38, 50], vec![300, 5]]);
    assert_eq!(out.tops, vec![vec![300, 21, 7, 7]]);
    refused(
        text,
        &[vec![1, 1028, 38, 50], vec![300, 5]],
        "channel number",
    );
}

#[test]
fn smooth_l1_loss_bottoms_and_flops() {
    let four = r#"layer { type: "SmoothL1Loss" bottom: "p" bottom: "t" bottom: "i" bottom: "o"
                  top: "loss" loss_weight: 1 }"#;
    let b = vec![1, 324];
    let out = ok(four, &[b.clone(), b.clone(), b.clone(), b.clone()]);
    assert_eq!(out.tops, vec![Vec::<i64>::new()]);
    assert_eq!(out.flops, 6 * 324);
    let three = r#"layer { type: "SmoothL1Loss" bottom: "p" bottom: "t" bottom: "i" top: "l" }"#;
    refused(
        three,
        &[b.clone(), b.clone(), b.clone()],
        "inside and outside",
    );
    let two = r#"layer { type: "SmoothL1Loss" bottom: "p" bottom: "t" top: "l" }"#;
    assert_eq!(ok(two, &[b.clone(), b.clone()]).flops, 4 * 324);
    refused(two, &[b.clone(), vec![1, 320]], "differs from bottom 0");
}

#[test]
fn proposal_tops_come_from_input() {
    // inisis/caffe@09f69efe's C++ Proposal: NMS decides how many regions survive.
    let text = r#"layer { name: "proposal" type: "Proposal" bottom: "cls" bottom: "bbox"
                  bottom: "im_info" top: "rois" top: "scores" }"#;
    let bottoms = [vec![1, 18, 38, 50], vec![1, 36, 38, 50], vec![1, 3]];
    let e = run(text, &bottoms).unwrap_err();
    assert!(e.message.contains("'rois'"), "{}", e.message);
    assert_eq!(e.hint.as_deref(), Some("use --input rois=R,5"));
    let e = run_given(text, &bottoms, &[("rois", vec![300, 5])]).unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("use --input scores=R"));
    let out = run_given(
        text,
        &bottoms,
        &[("rois", vec![300, 5]), ("scores", vec![300])],
    )
    .unwrap();
    assert_eq!(out.tops, vec![vec![300, 5], vec![300]]);
}

// ---- PSPNet, SegNet, DeepLab ----

#[test]
fn bn_follows_pspnet_or_segnet_by_its_fields() {
    // PSPNet (hszhao/PSPNet@798bdc90): 4 blobs of [1, C, 1, 1].
    let psp = r#"layer { type: "BN" bottom: "a" top: "a" bn_param { frozen: true } }"#;
    let out = ok(psp, &[vec![1, 64, 237, 237]]);
    assert_eq!(out.tops, vec![vec![1, 64, 237, 237]]);
    assert_eq!(out.params, vec![vec![1, 64, 1, 1]; 4]);
    assert_eq!(out.flops, 4 * 64 * 237 * 237);
    let bare = r#"layer { type: "BN" bottom: "a" top: "a" }"#;
    assert_eq!(ok(bare, &[vec![2, 8, 3, 3]]).params.len(), 4);
    // SegNet (alexgkendall/caffe-segnet@344c113b): 2 blobs, optional batch-stat tops.
    let segnet = r#"layer { type: "BN" bottom: "a" top: "b" top: "mean" top: "var"
                    bn_param { scale_filler { type: "constant" value: 1 } } }"#;
    let out = ok(segnet, &[vec![4, 64, 360, 480]]);
    assert_eq!(
        out.tops,
        vec![vec![4, 64, 360, 480], vec![1, 64, 1, 1], vec![1, 64, 1, 1]]
    );
    assert_eq!(out.params, vec![vec![1, 64, 1, 1]; 2]);
    // INFERENCE mode allows one top only.
    let inference = r#"layer { type: "BN" bottom: "a" top: "b" top: "m"
                       bn_param { bn_mode: INFERENCE } }"#;
    refused(inference, &[vec![1, 8, 2, 2]], "1 top");
}

#[test]
fn interp_sizes() {
    let one = |param: &str, bottom: Vec<i64>| -> RuleResult {
        run(
            &format!(
                r#"layer {{ type: "Interp" bottom: "a" top: "b" interp_param {{ {param} }} }}"#
            ),
            &[bottom],
        )
    };
    // zoom 8: 60 + 59*7 = 473 (PSPNet's input size relies on this).
    let out = one("zoom_factor: 8", vec![1, 21, 60, 60]).unwrap();
    assert_eq!(out.tops, vec![vec![1, 21, 473, 473]]);
    assert_eq!(out.flops, 9 * 21 * 473 * 473);
    // shrink 8: (473 - 1) / 8 + 1 = 60.
    let out = one("shrink_factor: 8", vec![1, 3, 473, 473]).unwrap();
    assert_eq!(out.tops, vec![vec![1, 3, 60, 60]]);
    let out = one("height: 60 width: 70", vec![1, 512, 1, 1]).unwrap();
    assert_eq!(out.tops, vec![vec![1, 512, 60, 70]]);
    // Both factors: shrink (9-1)/2+1 = 5, then zoom 5 + 4*2 = 13.
    let out = one("shrink_factor: 2 zoom_factor: 3", vec![1, 1, 9, 9]).unwrap();
    assert_eq!(out.tops, vec![vec![1, 1, 13, 13]]);
    // A factor wins over height/width: zoom 2 on 10 gives 19.
    let out = one("zoom_factor: 2 height: 5 width: 5", vec![1, 1, 10, 10]).unwrap();
    assert_eq!(out.tops, vec![vec![1, 1, 19, 19]]);
    // Crop first: 67 - 7 - 8 = 52, then zoom 2: 103.
    let out = one("zoom_factor: 2 pad_beg: -7 pad_end: -8", vec![1, 1, 67, 67]).unwrap();
    assert_eq!(out.tops, vec![vec![1, 1, 103, 103]]);
    assert!(one("pad_beg: 1 zoom_factor: 2", vec![1, 1, 4, 4]).is_err());
    assert!(one("zoom_factor: 0", vec![1, 1, 4, 4]).is_err());
    assert!(one("height: 5", vec![1, 1, 4, 4]).is_err());
    // Two bottoms (afriesen/caffe@50d9efb3): the second's height and width.
    let two = r#"layer { type: "Interp" bottom: "a" bottom: "ref" top: "b" }"#;
    let out = ok(two, &[vec![1, 21, 60, 60], vec![1, 3, 473, 500]]);
    assert_eq!(out.tops, vec![vec![1, 21, 473, 500]]);
    let two_zoom = r#"layer { type: "Interp" bottom: "a" bottom: "r" top: "b" interp_param { zoom_factor: 2 } }"#;
    refused(two_zoom, &[vec![1, 1, 4, 4], vec![1, 1, 8, 8]], "ambiguous");
}

#[test]
fn upsample_segnet_and_darknet() {
    // SegNet unpooling (2 bottoms): pool4 of a 360x480 input is 23x30; 23*2 - 1 = 45.
    let pad = r#"layer { type: "Upsample" bottom: "pool4" bottom: "pool4_mask" top: "up"
                 upsample_param { scale: 2 pad_out_h: true } }"#;
    let pool4 = vec![1, 64, 23, 30];
    assert_eq!(
        ok(pad, &[pool4.clone(), pool4.clone()]).tops,
        vec![vec![1, 64, 45, 60]]
    );
    let exact = r#"layer { type: "Upsample" bottom: "p" bottom: "m" top: "u"
                   upsample_param { scale: 2 upsample_h: 23 upsample_w: 30 } }"#;
    let pool5 = vec![1, 512, 12, 15];
    assert_eq!(
        ok(exact, &[pool5.clone(), pool5.clone()]).tops,
        vec![vec![1, 512, 23, 30]]
    );
    // SegNet's default scale is 2.
    let bare = r#"layer { type: "Upsample" bottom: "p" bottom: "m" top: "u" }"#;
    assert_eq!(
        ok(bare, &[pool5.clone(), pool5.clone()]).tops,
        vec![vec![1, 512, 24, 30]]
    );
    refused(bare, &[pool5.clone(), vec![1, 512, 12, 14]], "differ");
    let pad3 = r#"layer { type: "Upsample" bottom: "p" bottom: "m" top: "u"
                  upsample_param { scale: 3 pad_out_w: true } }"#;
    refused(pad3, &[pool5.clone(), pool5.clone()], "scale of 2");
    // darknet2caffe (1 bottom): the last two axes times scale, at any rank.
    let yolo = r#"layer { type: "Upsample" bottom: "a" top: "b" upsample_param { scale: 2 } }"#;
    assert_eq!(
        ok(yolo, &[vec![1, 256, 13, 13]]).tops,
        vec![vec![1, 256, 26, 26]]
    );
    assert_eq!(ok(yolo, &[vec![2, 8]]).tops, vec![vec![4, 16]]);
    refused(yolo, &[vec![8]], "fewer");
    // darknet's scale defaults to 1.
    let unit = r#"layer { type: "Upsample" bottom: "a" top: "b" }"#;
    assert_eq!(ok(unit, &[vec![1, 2, 3, 4]]).tops, vec![vec![1, 2, 3, 4]]);
    // inisis's dims_num 3 scales the last axis only.
    let dims3 = r#"layer { type: "Upsample" bottom: "a" top: "b" upsample_param { scale: 2 dims_num: 3 } }"#;
    assert_eq!(ok(dims3, &[vec![1, 4, 5]]).tops, vec![vec![1, 4, 10]]);
}

#[test]
fn segmentation_data_layers() {
    // SegNet's DenseImageData without a size: the images decide.
    let dense = r#"layer { type: "DenseImageData" top: "data" top: "label"
                   dense_image_data_param { source: "train.txt" batch_size: 4 } }"#;
    let e = run(dense, &[]).unwrap_err();
    assert!(e.hint.unwrap().contains("--input data=4,3,H,W"));
    // Given the image, the label follows it.
    let out = run_given(dense, &[], &[("data", vec![4, 3, 360, 480])]).unwrap();
    assert_eq!(out.tops, vec![vec![4, 3, 360, 480], vec![4, 1, 360, 480]]);
    let sized = r#"layer { type: "DenseImageData" top: "data" top: "label"
                   dense_image_data_param { batch_size: 2 new_height: 360 new_width: 480
                   crop_height: 224 crop_width: 300 is_color: false } }"#;
    assert_eq!(
        ok(sized, &[]).tops,
        vec![vec![2, 1, 224, 300], vec![2, 1, 224, 300]]
    );
    let half = r#"layer { type: "DenseImageData" top: "data" top: "label"
                  dense_image_data_param { new_height: 360 } }"#;
    refused(half, &[], "new_height and new_width");
    // DeepLab's ImageSegData: crop 514; the sizes top [B, 1, 1, 2].
    let seg = r#"layer { type: "ImageSegData" top: "data" top: "label" top: "dim"
                 image_data_param { batch_size: 10 } transform_param { crop_size: 306 } }"#;
    assert_eq!(
        ok(seg, &[]).tops,
        vec![
            vec![10, 3, 306, 306],
            vec![10, 1, 306, 306],
            vec![10, 1, 1, 2]
        ]
    );
    let mean = r#"layer { type: "ImageSegData" top: "data"
                  transform_param { crop_size: 306 mean_file: "m.binaryproto" } }"#;
    refused(mean, &[], "mean file");
}

#[test]
fn deeplab_padding_accuracy_and_writer() {
    let crop = r#"layer { type: "Padding" bottom: "a" top: "b" padding_param { pad_beg: -7 pad_end: -8 } }"#;
    assert_eq!(
        ok(crop, &[vec![1, 21, 529, 529]]).tops,
        vec![vec![1, 21, 514, 514]]
    );
    let pad =
        r#"layer { type: "Padding" bottom: "a" top: "b" padding_param { pad_beg: 1 pad_end: 2 } }"#;
    assert_eq!(ok(pad, &[vec![1, 1, 4, 5]]).tops, vec![vec![1, 1, 7, 8]]);
    let mixed = r#"layer { type: "Padding" bottom: "a" top: "b" padding_param { pad_beg: 1 pad_end: -2 } }"#;
    refused(mixed, &[vec![1, 1, 4, 5]], "both positive or negative");
    let acc = r#"layer { type: "SegAccuracy" bottom: "score" bottom: "label" top: "acc" }"#;
    let out = ok(acc, &[vec![1, 21, 514, 514], vec![1, 1, 514, 514]]);
    assert_eq!(out.tops, vec![vec![1, 1, 1, 3]]);
    assert_eq!(out.flops, 21 * 514 * 514);
    refused(
        acc,
        &[vec![1, 21, 514, 514], vec![1, 2, 514, 514]],
        "one channel",
    );
    let out = ok(
        r#"layer { type: "MatWrite" bottom: "a" mat_write_param { prefix: "out/" } }"#,
        &[vec![1, 21, 514, 514]],
    );
    assert_eq!(out, Out::default());
    refused(
        r#"layer { type: "MatWrite" bottom: "a" mat_write_param { period: 0 } }"#,
        &[vec![1, 2, 3, 4]],
        "period",
    );
}

// ---- mobile nets ----

#[test]
fn convolution_depthwise_ignores_num_output() {
    // farmingyard/caffe-mobilenet@f7d7d130: one 3x3 filter per input channel.
    let text = r#"layer { type: "ConvolutionDepthwise" bottom: "a" top: "b"
                  convolution_param { num_output: 64 group: 2 kernel_size: 3 stride: 1 pad: 1 } }"#;
    let out = ok(text, &[vec![1, 32, 208, 208]]);
    assert_eq!(out.tops, vec![vec![1, 32, 208, 208]]);
    assert_eq!(out.params, vec![vec![32, 1, 3, 3], vec![32]]);
    // MACs 32*208*208*9 = 12460032; flops 2*MACs + 32*208*208 bias adds.
    assert_eq!(out.macs, 12_460_032);
    assert_eq!(out.flops, 2 * 12_460_032 + 1_384_448);
    // Stride 2: (208 + 2 - 3) / 2 + 1 = 104; no bias.
    let text = r#"layer { type: "ConvolutionDepthwise" bottom: "a" top: "b"
                  convolution_param { kernel_h: 3 kernel_w: 5 stride: 2 pad_h: 1 pad_w: 2 bias_term: false } }"#;
    let out = ok(text, &[vec![2, 16, 208, 208]]);
    assert_eq!(out.tops, vec![vec![2, 16, 104, 104]]);
    assert_eq!(out.params, vec![vec![16, 1, 3, 5]]);
    // Unsigned arithmetic: (2 - 5) wraps, /1 + 1 gives 2^32 - 2, stored as int -2: refused.
    let wrap = r#"layer { type: "ConvolutionDepthwise" bottom: "a" top: "b"
                  convolution_param { kernel_size: 5 stride: 1 pad: 0 } }"#;
    refused(wrap, &[vec![1, 4, 2, 2]], "negative");
    // No pad: the fork reads past an empty list.
    let nopad = r#"layer { type: "ConvolutionDepthwise" bottom: "a" top: "b"
                   convolution_param { kernel_size: 3 stride: 1 } }"#;
    let e = run(nopad, &[vec![1, 4, 8, 8]]).unwrap_err();
    assert!(e.hint.unwrap().contains("set pad"));
}

#[test]
fn depthwise_convolution_is_a_grouped_convolution() {
    // yonghenglh6/DepthwiseConvolution@2b9cf52a: Convolution's rule, group respected.
    let text = r#"layer { type: "DepthwiseConvolution" bottom: "a" top: "b"
                  convolution_param { num_output: 32 group: 32 kernel_size: 3 stride: 2 pad: 1 } }"#;
    let out = ok(text, &[vec![1, 32, 112, 112]]);
    // (112 + 2 - 3) / 2 + 1 = 56.
    assert_eq!(out.tops, vec![vec![1, 32, 56, 56]]);
    assert_eq!(out.params, vec![vec![32, 1, 3, 3], vec![32]]);
    // N*Cout*Hout*Wout*(Cin/g)*kh*kw = 32*56*56*9.
    assert_eq!(out.macs, 32 * 56 * 56 * 9);
}

#[test]
fn shuffle_channel_keeps_the_shape() {
    let text = r#"layer { type: "ShuffleChannel" bottom: "a" top: "b" shuffle_channel_param { group: 3 } }"#;
    assert_eq!(
        ok(text, &[vec![1, 60, 28, 28]]).tops,
        vec![vec![1, 60, 28, 28]]
    );
    // Legacy reshape: [N, C] becomes [N, C, 1, 1]; C % group is only checked in Forward.
    assert_eq!(ok(text, &[vec![2, 8]]).tops, vec![vec![2, 8, 1, 1]]);
    let zero = r#"layer { type: "ShuffleChannel" bottom: "a" top: "b" shuffle_channel_param { group: 0 } }"#;
    refused(zero, &[vec![1, 6, 2, 2]], "group");
    assert_eq!(ok(text, &[vec![1, 60, 28, 28]]).flops, 0);
}

// ---- element-wise ----

#[test]
fn fork_activations_and_axpy() {
    for ty in ["ReLU6", "Mish", "SeLu", "SeLuDropout"] {
        let text = format!(r#"layer {{ type: "{ty}" bottom: "a" top: "a" }}"#);
        let out = ok(&text, &[vec![1, 32, 608, 608]]);
        assert_eq!(out.tops, vec![vec![1, 32, 608, 608]], "{ty}");
        assert_eq!(out.flops, 32 * 608 * 608, "{ty}");
        assert!(run(&text, &[vec![1], vec![1]]).is_err(), "{ty}");
    }
    let axpy = r#"layer { type: "Axpy" bottom: "s" bottom: "x" bottom: "y" top: "z" }"#;
    let x = vec![1, 256, 56, 56];
    let out = ok(axpy, &[vec![1, 256, 1, 1], x.clone(), x.clone()]);
    assert_eq!(out.tops, vec![x.clone()]);
    assert_eq!(out.flops, 2 * 256 * 56 * 56);
    assert_eq!(
        ok(axpy, &[vec![1, 256], x.clone(), x.clone()]).tops,
        vec![x.clone()]
    );
    refused(axpy, &[vec![1, 128, 1, 1], x.clone(), x.clone()], "axis 1");
    refused(
        axpy,
        &[vec![1, 256, 2, 1], x.clone(), x.clone()],
        "[N, C, 1, 1]",
    );
    refused(
        axpy,
        &[vec![1, 256, 1, 1], x.clone(), vec![1, 256, 56, 55]],
        "same shape",
    );
}

#[test]
fn unknown_types_are_not_claimed() {
    let given = HashMap::new();
    let ctx = Ctx {
        phase: Phase::Test,
        given: &given,
        pooling: Default::default(),
    };
    let lp = layer(r#"layer { type: "NoSuchLayer" bottom: "a" top: "b" }"#);
    let b = Shape::from([1, 2]);
    assert!(fork::infer("NoSuchLayer", &lp, &[&b], &ctx).is_none());
}

// ---- the fork oracles ----

/// Every fork-typed layer of every loaded fork golden, in order, fed the golden's own bottom
/// shapes: the tops and parameter blobs must be what the fork build made. Each golden is one
/// fork's code (its README's table), which is what the rules follow.
#[test]
fn fork_rules_match_the_fork_oracles() {
    let Some(shared) = common::shared() else {
        return;
    };
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for dir in ["golden-fork", "golden-multi"] {
        let gdir = shared.join(dir);
        for path in common::golden_files(&gdir) {
            let g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if g.get("error").is_some() {
                continue;
            }
            let src = &g["_source"];
            let rel = src["net"].as_str().unwrap();
            let net = if src["variant"].as_bool().unwrap_or(false) {
                gdir.join("variants").join(rel)
            } else {
                shared.join("corpus").join(rel)
            };
            let label = path
                .strip_prefix(&shared)
                .unwrap_or(&path)
                .display()
                .to_string();
            check_golden(&g, &net, &label, &mut checked, &mut failures);
        }
    }
    eprintln!("fork layers checked against the oracles: {checked:?}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every fork type the oracles built is covered.
    for ty in [
        "PriorBox",
        "Permute",
        "Normalize",
        "DetectionOutput",
        "MultiBoxLoss",
        "DetectionEvaluate",
        "BN",
        "Interp",
        "ROIPooling",
        "SmoothL1Loss",
        "Axpy",
        "ShuffleChannel",
        "ConvolutionDepthwise",
        "Upsample",
        "Mish",
    ] {
        assert!(
            checked.get(ty).is_some_and(|&n| n > 0),
            "no golden layer of type {ty} was checked"
        );
    }
}

fn check_golden(
    g: &Value,
    net: &Path,
    label: &str,
    checked: &mut BTreeMap<String, usize>,
    failures: &mut Vec<String>,
) {
    let text = std::fs::read_to_string(net).unwrap_or_else(|e| panic!("{}: {e}", net.display()));
    let phase = match g["phase"].as_str() {
        Some("TRAIN") => Phase::Train,
        _ => Phase::Test,
    };
    let state = State {
        phase,
        stages: g["stages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        level: g["level"].as_i64().unwrap_or(0) as i32,
    };
    let (all, positions) = upgraded(&net.display().to_string(), &text);
    let (kept, _) = filter::filter(label, all, positions, &state).unwrap();
    let by_name: HashMap<&str, &LayerParameter> =
        kept.iter().map(|l| (l.name(), l.as_ref())).collect();
    let given = HashMap::new();
    let ctx = Ctx {
        phase,
        given: &given,
        pooling: Default::default(),
    };
    for gl in g["layers"].as_array().unwrap() {
        let name = gl["name"].as_str().unwrap();
        let ty = gl["type"].as_str().unwrap();
        let bottom_shapes: Vec<Shape> = gl["bottoms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                shapes(&Value::Array(vec![g["blobs"][b.as_str().unwrap()].clone()]))
                    .remove(0)
                    .into()
            })
            .collect();
        let refs: Vec<&Shape> = bottom_shapes.iter().collect();
        let Some(lp) = by_name.get(name) else {
            continue; // Split layers and the Input layer made from net-level inputs.
        };
        if fork::infer(ty, lp, &refs, &ctx).is_none() {
            continue; // a BVLC type
        }
        *checked.entry(ty.to_string()).or_default() += 1;
        let want_tops = shapes(&gl["top_shapes"]);
        let want_params = shapes(&gl["param_shapes"]);
        match layers::infer(lp, &refs, &ctx) {
            Some(Ok(out)) if out.tops == want_tops && out.params == want_params => {}
            Some(Ok(out)) => failures.push(format!(
                "{label}: {name} ({ty}): tops {:?} params {:?}, the fork built {want_tops:?} {want_params:?}",
                out.tops, out.params
            )),
            Some(Err(e)) => failures.push(format!("{label}: {name} ({ty}) refused: {e:?}")),
            None => failures.push(format!("{label}: {name} ({ty}): no rule")),
        }
    }
}

// ---- corpus nets no oracle built: hand-checked ----

/// A corpus net's layers (upgraded), when ../shared is there.
fn corpus_layers(rel: &str) -> Option<HashMap<String, LayerParameter>> {
    let shared = common::shared()?;
    let path = shared.join("corpus").join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Some(
        net_layers(rel, &text)
            .into_iter()
            .map(|l| (l.name().to_string(), l))
            .collect(),
    )
}

fn infer_named(
    net: &HashMap<String, LayerParameter>,
    name: &str,
    bottoms: &[Vec<i64>],
    given: &[(&str, Vec<i64>)],
) -> RuleResult {
    let lp = net.get(name).unwrap_or_else(|| panic!("no layer {name}"));
    let given: HashMap<String, Shape> = given
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone().into()))
        .collect();
    let ctx = Ctx {
        phase: Phase::Test,
        given: &given,
        pooling: Default::default(),
    };
    let bottoms: Vec<Shape> = bottoms.iter().map(|b| b.clone().into()).collect();
    let refs: Vec<&Shape> = bottoms.iter().collect();
    layers::infer(lp, &refs, &ctx).expect("a rule knows this type")
}

/// py-faster-rcnn VGG16 end2end test (rbgirshick/caffe-fast-rcnn@0dcd397b ROIPooling; the
/// proposal is a Python layer, so its rois come from --input).
#[test]
fn faster_rcnn_end2end_hand_checked() {
    let Some(net) = corpus_layers(
        "rbgirshick__py-faster-rcnn/models/pascal_voc/VGG16/faster_rcnn_end2end/test.prototxt",
    ) else {
        return;
    };
    // A 600x800 image: conv5_3 is 1/16 of it, 38x50 after four ceil-rounded 2x2 pools.
    let conv5_3 = vec![1, 512, 38, 50];
    let rpn = [vec![1, 18, 38, 50], vec![1, 36, 38, 50], vec![1, 3]];
    let e = infer_named(&net, "proposal", &rpn, &[]).unwrap_err();
    assert!(e.message.contains("'rois'"));
    assert!(e.hint.unwrap().contains("--input rois="));
    let rois = infer_named(&net, "proposal", &rpn, &[("rois", vec![300, 5])]).unwrap();
    assert_eq!(rois.tops, vec![vec![300, 5]]);
    let pool5 = infer_named(&net, "roi_pool5", &[conv5_3, vec![300, 5]], &[]).unwrap();
    assert_eq!(pool5.tops, vec![vec![300, 512, 7, 7]]);
}

/// R-FCN ResNet-18 (daijifeng001/caffe-rfcn@543f8f6a PSROIPooling): 21 classes and 8 box
/// outputs on a 7x7 grid.
#[test]
fn rfcn_hand_checked() {
    let Some(net) = corpus_layers(
        "soeaver__caffe-model/det/rfcn/models/pascal_voc/resnet18/deploy_rfcn_voc_resnet18-priv-merge.prototxt",
    ) else {
        return;
    };
    let rois = vec![300, 5];
    // rfcn_cls has 21*7*7 = 1029 channels, rfcn_bbox 8*7*7 = 392.
    let cls = infer_named(
        &net,
        "psroipooled_cls_rois",
        &[vec![1, 1029, 38, 50], rois.clone()],
        &[],
    );
    assert_eq!(cls.unwrap().tops, vec![vec![300, 21, 7, 7]]);
    let loc = infer_named(
        &net,
        "psroipooled_loc_rois",
        &[vec![1, 392, 38, 50], rois],
        &[],
    );
    assert_eq!(loc.unwrap().tops, vec![vec![300, 8, 7, 7]]);
}

/// SegNet basic (alexgkendall/caffe-segnet@344c113b BN, Upsample) on its 360x480 input.
#[test]
fn segnet_hand_checked() {
    let Some(net) =
        corpus_layers("alexgkendall__SegNet-Tutorial/Example_Models/segnet_basic_camvid.prototxt")
    else {
        return;
    };
    let bn = infer_named(&net, "conv1_bn", &[vec![1, 64, 360, 480]], &[]).unwrap();
    assert_eq!(bn.tops, vec![vec![1, 64, 360, 480]]);
    assert_eq!(bn.params, vec![vec![1, 64, 1, 1]; 2]);
    // Four ceil-rounded 2x2 pools: 360 -> 180 -> 90 -> 45 -> 23, 480 -> ... -> 30; unpooling
    // with pad_out_h gives 23*2 - 1 = 45 back.
    let pool4 = vec![1, 64, 23, 30];
    let up4 = infer_named(&net, "upsample4", &[pool4.clone(), pool4], &[]).unwrap();
    assert_eq!(up4.tops, vec![vec![1, 64, 45, 60]]);
    let pool3 = vec![1, 64, 45, 60];
    let up3 = infer_named(&net, "upsample3", &[pool3.clone(), pool3], &[]).unwrap();
    assert_eq!(up3.tops, vec![vec![1, 64, 90, 120]]);
}

/// SegNet's training net reads CamVid through DenseImageData with no size: --input gives it.
#[test]
fn segnet_train_data_hand_checked() {
    let Some(net) = corpus_layers("alexgkendall__SegNet-Tutorial/Models/segnet_train.prototxt")
    else {
        return;
    };
    let e = infer_named(&net, "data", &[], &[]).unwrap_err();
    assert!(e.hint.unwrap().contains("--input data=4,3,H,W"));
    let out = infer_named(&net, "data", &[], &[("data", vec![4, 3, 360, 480])]).unwrap();
    assert_eq!(out.tops, vec![vec![4, 3, 360, 480], vec![4, 1, 360, 480]]);
    // upsample5 names its output size: 23x30 from 12x15.
    let pool5 = vec![4, 512, 12, 15];
    let up5 = infer_named(&net, "upsample5", &[pool5.clone(), pool5], &[]).unwrap();
    assert_eq!(up5.tops, vec![vec![4, 512, 23, 30]]);
}

/// DeepLab v1 (TheLegendAli/DeepLab-Context@fb04e9e2): a V1 file with the fork's
/// IMAGE_SEG_DATA, INTERP, PADDING, SEG_ACCURACY and MAT_WRITE types. The file's own comment:
/// input 16k+2 = 514 (k = 32), 2k+3 = 67 after the 4th pool, zoom 8 gives 8*67-7 = 529, and
/// cropping 7 + 8 gives 514 back.
#[test]
fn deeplab_v1_hand_checked() {
    let Some(net) = corpus_layers("TheLegendAli__DeepLab-Context/voc12/vgg128_noup/test.prototxt")
    else {
        return;
    };
    let data = infer_named(&net, "data", &[], &[]).unwrap();
    assert_eq!(data.tops, vec![vec![1, 3, 514, 514]]);
    let interp = infer_named(&net, "fc8_interp", &[vec![1, 21, 67, 67]], &[]).unwrap();
    assert_eq!(interp.tops, vec![vec![1, 21, 529, 529]]);
    let crop = infer_named(&net, "fc8_crop", &[vec![1, 21, 529, 529]], &[]).unwrap();
    assert_eq!(crop.tops, vec![vec![1, 21, 514, 514]]);
    let acc = infer_named(
        &net,
        "accuracy",
        &[vec![1, 21, 514, 514], vec![1, 1, 514, 514]],
        &[],
    )
    .unwrap();
    assert_eq!(acc.tops, vec![vec![1, 1, 1, 3]]);
    let write = infer_named(&net, "fc8_crop_mat", &[vec![1, 21, 514, 514]], &[]).unwrap();
    assert!(write.tops.is_empty());
}

/// yolov3-tiny (ChenYingpeng/darknet2caffe@f6d9ea33 Upsample): 13x13 doubled to 26x26. Its
/// Concat with the 26x26 route only fits with darknet2caffe's own Pooling (see the fork
/// README); the Upsample rule itself is checked here.
#[test]
fn yolov3_tiny_upsample_hand_checked() {
    let Some(net) = corpus_layers("ChenYingpeng__caffe-yolov3/prototxt/yolov3-tiny.prototxt")
    else {
        return;
    };
    let up = infer_named(&net, "layer20-upsample", &[vec![1, 128, 13, 13]], &[]).unwrap();
    assert_eq!(up.tops, vec![vec![1, 128, 26, 26]]);
}

/// soeaver's PSPNet with SELU (SeLu/SeLuDropout from HolmesShuan's SNN layers; Interp from
/// PSPNet): fixed 64x64 and 513x513 resizes.
#[test]
fn pspnet_selu_hand_checked() {
    let Some(net) = corpus_layers(
        "soeaver__caffe-model/seg/pspnet/models/pascal_voc/resnet101-v2/deploy_psp_resnet101-v2-merge-selu.prototxt",
    ) else {
        return;
    };
    let selu = infer_named(&net, "auxi_psp_pool1_conv_relu", &[vec![1, 256, 1, 1]], &[]).unwrap();
    assert_eq!(selu.tops, vec![vec![1, 256, 1, 1]]);
    let interp = infer_named(&net, "auxi_psp_pool1_interp", &[vec![1, 256, 1, 1]], &[]).unwrap();
    assert_eq!(interp.tops, vec![vec![1, 256, 64, 64]]);
    let drop = infer_named(&net, "auxi_feat_dropout", &[vec![1, 256, 64, 64]], &[]).unwrap();
    assert_eq!(drop.tops, vec![vec![1, 256, 64, 64]]);
    let score = infer_named(&net, "auxi_score_map_interp", &[vec![1, 21, 64, 64]], &[]).unwrap();
    assert_eq!(score.tops, vec![vec![1, 21, 513, 513]]);
}

/// Fork layers check their blob counts in Caffe's words too: PSPNet's Interp takes one or two
/// bottoms (interp_layer.hpp MinBottomBlobs 1, MaxBottomBlobs 2), ImageSegData makes one to three
/// tops.
#[test]
fn fork_blob_counts_use_caffes_words() {
    let b = vec![1, 8, 4, 4];
    refused(
        r#"layer { name: "i" type: "Interp" bottom: "a" bottom: "b" bottom: "c" top: "i"
             interp_param { zoom_factor: 2 } }"#,
        &[b.clone(), b.clone(), b],
        "Interp Layer takes at most 2 bottom blob(s) as input (got 3)",
    );
    refused(
        r#"layer { name: "d" type: "ImageSegData" }"#,
        &[],
        "ImageSegData Layer produces at least 1 top blob(s) as output (got 0)",
    );
}

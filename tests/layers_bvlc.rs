//! The BVLC layer rules on hand-worked examples: each test states Caffe's arithmetic in a
//! comment and checks the tops, parameter blobs, MACs and FLOPs (or the refusal) the rule gives.

use std::collections::HashMap;

use caffe_mem::layers::{self, Ctx, Out, Phase, RuleError, Shape};
use caffe_mem::load::{load_bytes, ReadOptions};
use caffe_mem::proto::LayerParameter;

/// One layer from prototxt text (the inside of `layer { ... }`).
fn layer(text: &str) -> LayerParameter {
    let mut warnings = Vec::new();
    let src = format!("layer {{ {text} }}");
    let f = load_bytes(
        "t.prototxt".into(),
        src.as_bytes(),
        ReadOptions::default(),
        &mut warnings,
    )
    .unwrap_or_else(|e| panic!("test layer should parse: {e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let first = f.layers.into_iter().next().expect("one layer");
    std::sync::Arc::unwrap_or_clone(first)
}

fn run_with(text: &str, bottoms: &[&[i64]], given: &[(&str, &[i64])]) -> Result<Out, RuleError> {
    let lp = layer(text);
    let shapes: Vec<Shape> = bottoms.iter().map(|&b| b.into()).collect();
    let refs: Vec<&Shape> = shapes.iter().collect();
    let given: HashMap<String, Shape> = given
        .iter()
        .map(|&(k, v)| (k.to_string(), v.into()))
        .collect();
    let ctx = Ctx {
        phase: Phase::Test,
        given: &given,
        pooling: Default::default(),
    };
    layers::bvlc::infer(lp.r#type(), &lp, &refs, &ctx).expect("a BVLC type")
}

fn ok(text: &str, bottoms: &[&[i64]]) -> Out {
    run_with(text, bottoms, &[]).unwrap_or_else(|e| panic!("should build: {e:?}"))
}

/// The refusal message; `part` must occur in it.
fn refused(text: &str, bottoms: &[&[i64]], part: &str) -> RuleError {
    match run_with(text, bottoms, &[]) {
        Ok(out) => panic!("should be refused ({part}), got {out:?}"),
        Err(e) => {
            assert!(
                e.message.contains(part),
                "message {:?} should contain {part:?}",
                e.message
            );
            e
        }
    }
}

/// A loss's top: a scalar, no axes.
fn scalar() -> Vec<i64> {
    Vec::new()
}

fn shapes(v: &[&[i64]]) -> Vec<Shape> {
    v.iter().map(|&s| s.into()).collect()
}

// ---------------------------------------------------------------- convolution family

#[test]
fn convolution_alexnet_conv1() {
    // (227 + 0 - 11) / 4 + 1 = 55; weight [96, 3/1, 11, 11].
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 96 kernel_size: 11 stride: 4 }",
        &[&[10, 3, 227, 227]],
    );
    assert_eq!(out.tops, shapes(&[&[10, 96, 55, 55]]));
    assert_eq!(out.params, shapes(&[&[96, 3, 11, 11], &[96]]));
    // MACs 10 * 96 * 55*55 * 3 * 11*11 = 1_054_152_000;
    // FLOPs 2 * MACs + 10*96*55*55 bias adds = 2_108_304_000 + 2_904_000.
    assert_eq!(out.macs, 1_054_152_000);
    assert_eq!(out.flops, 2_111_208_000);
}

#[test]
fn convolution_group_pad_and_no_bias() {
    // AlexNet conv2: (27 + 4 - 5) / 1 + 1 = 27; group 2: weight [256, 96/2, 5, 5].
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' convolution_param { num_output: 256 \
         kernel_size: 5 pad: 2 group: 2 bias_term: false }",
        &[&[1, 96, 27, 27]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 256, 27, 27]]));
    assert_eq!(out.params, shapes(&[&[256, 48, 5, 5]]));
    // 256 * 729 * 48 * 25 = 223_948_800 MACs, no bias adds.
    assert_eq!(out.macs, 223_948_800);
    assert_eq!(out.flops, 2 * 223_948_800);
}

#[test]
fn convolution_truncates_toward_zero_like_cpp() {
    // (4 - 5) / 2 + 1: C++ int division gives -1/2 = 0, so 1 (not floor's 0).
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 1 kernel_size: 5 stride: 2 }",
        &[&[1, 1, 4, 4]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 1, 1]]));
    // (3 - 5) / 2 + 1 = -1 + 1 = 0: an empty top, which Caffe allows.
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 1 kernel_size: 5 stride: 2 }",
        &[&[1, 1, 3, 3]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 0, 0]]));
    // (2 - 5) / 1 + 1 = -2: refused.
    refused(
        "type: 'Convolution' bottom: 'd' top: 'c' convolution_param { num_output: 1 kernel_size: 5 }",
        &[&[1, 1, 2, 2]],
        "does not fit",
    );
}

#[test]
fn convolution_dilation_and_rectangular_kernel() {
    // Extent 2*(3-1)+1 = 5: (10 - 5) / 1 + 1 = 6.
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 2 kernel_size: 3 dilation: 2 }",
        &[&[1, 1, 10, 10]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 2, 6, 6]]));
    // h: (32 + 2 - 5) / 2 + 1 = 15; w: (20 + 0 - 3) / 1 + 1 = 18.
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' convolution_param { num_output: 4 \
         kernel_h: 5 kernel_w: 3 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0 }",
        &[&[1, 3, 32, 20]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 4, 15, 18]]));
    assert_eq!(out.params, shapes(&[&[4, 3, 5, 3], &[4]]));
    // DeepLab's hole is dilation: extent 4*(3-1)+1 = 9, (20 + 8 - 9) / 1 + 1 = 20.
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 1 kernel_size: 3 pad: 4 hole: 4 }",
        &[&[1, 1, 20, 20]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 20, 20]]));
}

#[test]
fn convolution_n_d() {
    // 3-D: every spatial axis (8, 16, 16) with k 3, pad 1 keeps its size.
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 8 kernel_size: 3 pad: 1 }",
        &[&[2, 4, 8, 16, 16]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 8, 8, 16, 16]]));
    assert_eq!(out.params, shapes(&[&[8, 4, 3, 3, 3], &[8]]));
    // MACs 2 * 8 * (8*16*16) * 4 * 27 = 3_538_944.
    assert_eq!(out.macs, 3_538_944);
    // One kernel_size per axis: (8 - 1)/1 + 1 = 8, (16 - 3) + 1 = 14, (16 - 5) + 1 = 12.
    let out = ok(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 1 kernel_size: [1, 3, 5] bias_term: false }",
        &[&[1, 2, 8, 16, 16]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 8, 14, 12]]));
    assert_eq!(out.params, shapes(&[&[1, 2, 1, 3, 5]]));
    // kernel_h/w are 2-D only; kernel_size given twice for 3 axes is refused.
    refused(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 1 kernel_h: 3 kernel_w: 3 }",
        &[&[1, 1, 4, 4, 4]],
        "only be used for 2D",
    );
    refused(
        "type: 'Convolution' bottom: 'd' top: 'c' \
         convolution_param { num_output: 1 kernel_size: [3, 3] }",
        &[&[1, 1, 4, 4, 4]],
        "kernel_size specified 2 times; 3 spatial dims",
    );
}

#[test]
fn convolution_several_bottoms_and_refusals() {
    // Two bottoms of one shape: two tops, twice the MACs.
    let one = ok(
        "type: 'Convolution' bottom: 'a' top: 'x' convolution_param { num_output: 2 kernel_size: 1 }",
        &[&[1, 3, 4, 4]],
    );
    let two = ok(
        "type: 'Convolution' bottom: 'a' bottom: 'b' top: 'x' top: 'y' \
         convolution_param { num_output: 2 kernel_size: 1 }",
        &[&[1, 3, 4, 4], &[1, 3, 4, 4]],
    );
    assert_eq!(two.tops.len(), 2);
    assert_eq!(two.macs, 2 * one.macs);
    refused(
        "type: 'Convolution' bottom: 'a' bottom: 'b' top: 'x' top: 'y' \
         convolution_param { num_output: 2 kernel_size: 1 }",
        &[&[1, 3, 4, 4], &[1, 3, 5, 4]],
        "shape mismatch",
    );
    refused(
        "type: 'Convolution' bottom: 'a' top: 'x' convolution_param { num_output: 2 }",
        &[&[1, 3, 4, 4]],
        "kernel_size must be specified once",
    );
    refused(
        "type: 'Convolution' bottom: 'a' top: 'x' convolution_param { num_output: 3 kernel_size: 1 group: 2 }",
        &[&[1, 4, 4, 4]],
        "Number of output should be multiples of group",
    );
    refused(
        "type: 'Convolution' bottom: 'a' top: 'x' convolution_param { num_output: 4 kernel_size: 1 group: 3 }",
        &[&[1, 4, 4, 4]],
        "not a multiple of group",
    );
    refused(
        "type: 'Convolution' bottom: 'a' top: 'x' convolution_param { kernel_size: 1 }",
        &[&[1, 4, 4, 4]],
        "num_output must be positive",
    );
    refused(
        "type: 'Convolution' bottom: 'a' top: 'x' \
         convolution_param { num_output: 1 kernel_size: 1 stride_h: 0 stride_w: 1 }",
        &[&[1, 4, 4, 4]],
        "Stride dimensions must be nonzero",
    );
    refused(
        "type: 'Convolution' bottom: 'a' top: 'x' \
         convolution_param { num_output: 1 kernel_size: 3 weight_filler { type: 'bilinear' } }",
        &[&[1, 4, 4, 4, 4]],
        "bilinear",
    );
}

#[test]
fn deconvolution_upsampling() {
    // FCN 2x upsampling: 2*(16-1) + 1*(4-1)+1 - 0 = 34; weight [Cin 21, 21/21, 4, 4].
    let out = ok(
        "type: 'Deconvolution' bottom: 'd' top: 'u' convolution_param { num_output: 21 \
         kernel_size: 4 stride: 2 group: 21 bias_term: false }",
        &[&[1, 21, 16, 16]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 21, 34, 34]]));
    assert_eq!(out.params, shapes(&[&[21, 1, 4, 4]]));
    // MACs N*Cin*Hin*Win*(Cout/g)*k*k = 1 * 21 * 256 * 1 * 16 = 86_016.
    assert_eq!(out.macs, 86_016);
    assert_eq!(out.flops, 172_032);
    // 32x with pad 16: 32*(10-1) + 64 - 32 = 320; weight [Cin 3, Cout 5, 64, 64] and bias.
    let out = ok(
        "type: 'Deconvolution' bottom: 'd' top: 'u' \
         convolution_param { num_output: 5 kernel_size: 64 stride: 32 pad: 16 }",
        &[&[2, 3, 10, 10]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 5, 320, 320]]));
    assert_eq!(out.params, shapes(&[&[3, 5, 64, 64], &[5]]));
    // MACs 2*3*100*5*4096 = 12_288_000; bias adds 2*5*320*320 = 1_024_000.
    assert_eq!(out.macs, 12_288_000);
    assert_eq!(out.flops, 2 * 12_288_000 + 1_024_000);
}

#[test]
fn im2col_unfolds_patches() {
    // Channels 3*2*2 = 12; (5 - 2) / 1 + 1 = 4.
    let out = ok(
        "type: 'Im2col' bottom: 'd' top: 'c' convolution_param { kernel_size: 2 }",
        &[&[1, 3, 5, 5]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 12, 4, 4]]));
    assert!(out.params.is_empty());
    assert_eq!((out.macs, out.flops), (0, 0));
}

// ---------------------------------------------------------------- pooling

#[test]
fn pooling_ceil_rounding() {
    // ceil((55 - 3) / 2) + 1 = 27; 9 comparisons per output.
    let out = ok(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { pool: MAX kernel_size: 3 stride: 2 }",
        &[&[10, 96, 55, 55]],
    );
    assert_eq!(out.tops, shapes(&[&[10, 96, 27, 27]]));
    assert_eq!(out.flops, 10 * 96 * 27 * 27 * 9);
    // GoogLeNet: ceil((112 - 3) / 2) + 1 = ceil(54.5) + 1 = 56 (floor would give 55).
    let text = "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 3 stride: 2 }";
    assert_eq!(
        ok(text, &[&[1, 64, 112, 112]]).tops,
        shapes(&[&[1, 64, 56, 56]])
    );
    let floor = "type: 'Pooling' bottom: 'd' top: 'p' \
                 pooling_param { kernel_size: 3 stride: 2 round_mode: FLOOR }";
    assert_eq!(
        ok(floor, &[&[1, 64, 112, 112]]).tops,
        shapes(&[&[1, 64, 55, 55]])
    );
    // The fork field `ceil_mode: false` rounds down as well.
    let fork = "type: 'Pooling' bottom: 'd' top: 'p' \
                pooling_param { kernel_size: 3 stride: 2 ceil_mode: false }";
    assert_eq!(
        ok(fork, &[&[1, 64, 112, 112]]).tops,
        shapes(&[&[1, 64, 55, 55]])
    );
}

#[test]
fn pooling_clip_rule_with_padding() {
    // H 3, k 2, s 2, pad 1: ceil((3 + 2 - 2) / 2) + 1 = 3, but the third window would start
    // at 2*2 - 1 = 3, in the padding ((3-1)*2 = 4 >= 3 + 1): clipped to 2.
    let out = ok(
        "type: 'Pooling' bottom: 'd' top: 'p' \
         pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 }",
        &[&[1, 1, 3, 3]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 2, 2]]));
    // AVE: k*k + 1 = 5 per output.
    assert_eq!(out.flops, 4 * 5);
    // Without padding there is no clip: ceil((3 - 2) / 2) + 1 = 2 as well, by rounding.
    let out = ok(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 2 stride: 2 }",
        &[&[1, 1, 3, 3]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 2, 2]]));
    // H 6, k 3, s 2, pad 1: ceil(5 / 2) + 1 = 4; (4-1)*2 = 6 < 7, kept.
    let out = ok(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 3 stride: 2 pad: 1 }",
        &[&[1, 1, 6, 6]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 4, 4]]));
}

#[test]
fn pooling_global_and_tops() {
    // Global: kernel 7x7 -> 1x1; AVE 49 + 1 per output.
    let out = ok(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { pool: AVE global_pooling: true }",
        &[&[2, 1024, 7, 7]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 1024, 1, 1]]));
    assert_eq!(out.flops, 2 * 1024 * 50);
    // MAX may have a second top, the mask, of the same shape.
    let out = ok(
        "type: 'Pooling' bottom: 'd' top: 'p' top: 'mask' pooling_param { kernel_size: 2 stride: 2 }",
        &[&[1, 1, 4, 4]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 2, 2], &[1, 1, 2, 2]]));
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' top: 'm' \
         pooling_param { pool: AVE kernel_size: 2 stride: 2 }",
        &[&[1, 1, 4, 4]],
        "at most 1 top",
    );
}

#[test]
fn pooling_refusals() {
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 2 pad: 2 }",
        &[&[1, 1, 8, 8]],
        "pad must be less than kernel",
    );
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' \
         pooling_param { pool: STOCHASTIC kernel_size: 3 pad: 1 }",
        &[&[1, 1, 8, 8]],
        "Padding implemented only for average and max pooling",
    );
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' \
         pooling_param { global_pooling: true kernel_size: 3 }",
        &[&[1, 1, 8, 8]],
        "Global_pooling",
    );
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 3 kernel_h: 3 kernel_w: 3 }",
        &[&[1, 1, 8, 8]],
        "kernel_size OR kernel_h and kernel_w",
    );
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_h: 3 }",
        &[&[1, 1, 8, 8]],
        "kernel_size OR kernel_h and kernel_w",
    );
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 3 stride: 0 }",
        &[&[1, 1, 8, 8]],
        "stride must be positive",
    );
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 3 }",
        &[&[1, 8, 8]],
        "Input must have 4 axes",
    );
    // ceil((1 - 5) / 1) + 1 = -3.
    refused(
        "type: 'Pooling' bottom: 'd' top: 'p' pooling_param { kernel_size: 5 }",
        &[&[1, 1, 1, 1]],
        "pooled size would be -3",
    );
}

#[test]
fn spp_pyramid() {
    // H = W = 13. Level 0: 1 bin, kernel 13, pad 0 -> 1x1.
    // Level 1: 2 bins, kernel ceil(13/2) = 7, pad (14 - 13 + 1) / 2 = 1, stride 7:
    //   ceil((13 + 2 - 7) / 7) + 1 = 3, clipped ((3-1)*7 = 14 >= 14) to 2.
    // Level 2: 4 bins, kernel 4, pad (16 - 13 + 1) / 2 = 2: ceil(13 / 4) + 1 = 5, clipped
    //   ((5-1)*4 = 16 >= 15) to 4.
    // Flattened: 256 * (1 + 4 + 16) = 5376.
    let out = ok(
        "type: 'SPP' bottom: 'd' top: 's' spp_param { pyramid_height: 3 }",
        &[&[2, 256, 13, 13]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 5376]]));
    // MAX: 2*256 * (1*169 + 4*49 + 16*16) = 512 * 621.
    assert_eq!(out.flops, 512 * 621);
    let out = ok(
        "type: 'SPP' bottom: 'd' top: 's' spp_param { pyramid_height: 1 }",
        &[&[2, 256, 13, 13]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 256, 1, 1]]));
    refused(
        "type: 'SPP' bottom: 'd' top: 's' spp_param { pyramid_height: 0 }",
        &[&[2, 256, 13, 13]],
        "pyramid_height",
    );
}

// ---------------------------------------------------------------- inner product, embed

#[test]
fn inner_product() {
    // K = 256*6*6 = 9216; weight [4096, 9216]; MACs 10 * 9216 * 4096.
    let out = ok(
        "type: 'InnerProduct' bottom: 'd' top: 'f' inner_product_param { num_output: 4096 }",
        &[&[10, 256, 6, 6]],
    );
    assert_eq!(out.tops, shapes(&[&[10, 4096]]));
    assert_eq!(out.params, shapes(&[&[4096, 9216], &[4096]]));
    assert_eq!(out.macs, 377_487_360);
    assert_eq!(out.flops, 2 * 377_487_360 + 40_960);
    // axis 2 (or -1) on [5, 3, 4]: M = 15, K = 4; transpose stores the weight as [K, N].
    for axis in ["2", "-1"] {
        let out = ok(
            &format!(
                "type: 'InnerProduct' bottom: 'd' top: 'f' inner_product_param {{ \
                 num_output: 7 axis: {axis} transpose: true bias_term: false }}"
            ),
            &[&[5, 3, 4]],
        );
        assert_eq!(out.tops, shapes(&[&[5, 3, 7]]));
        assert_eq!(out.params, shapes(&[&[4, 7]]));
        assert_eq!(out.macs, 15 * 4 * 7);
    }
    refused(
        "type: 'InnerProduct' bottom: 'd' top: 'f' inner_product_param { num_output: 7 axis: 3 }",
        &[&[5, 3, 4]],
        "out of range",
    );
}

#[test]
fn inner_product_refuses_a_weight_over_int_max() {
    // 30000 x 100000 = 3e9 weights: Blob refuses more than INT_MAX elements.
    refused(
        "type: 'InnerProduct' bottom: 'd' top: 'f' inner_product_param { num_output: 30000 }",
        &[&[1, 100_000]],
        "INT_MAX",
    );
}

#[test]
fn embed() {
    // Each of the 20*5 indices looks up a 50-wide row; bias adds 100 * 50.
    let out = ok(
        "type: 'Embed' bottom: 'w' top: 'e' embed_param { input_dim: 1000 num_output: 50 }",
        &[&[20, 5]],
    );
    assert_eq!(out.tops, shapes(&[&[20, 5, 50]]));
    assert_eq!(out.params, shapes(&[&[1000, 50], &[50]]));
    assert_eq!((out.macs, out.flops), (0, 5000));
    refused(
        "type: 'Embed' bottom: 'w' top: 'e' embed_param { num_output: 50 }",
        &[&[20, 5]],
        "input_dim must be positive",
    );
}

// ---------------------------------------------------------------- neurons

#[test]
fn neurons_keep_the_shape() {
    let b: &[i64] = &[2, 3, 4];
    for (ty, per) in [
        ("ReLU", 1),
        ("ELU", 1),
        ("Threshold", 1),
        ("BNLL", 1),
        ("Power", 1),
        ("Clip", 1),
        ("Swish", 1),
        ("Dropout", 1),
        ("AbsVal", 1),
        ("Sigmoid", 4),
        ("TanH", 1),
        ("Exp", 1),
        ("Log", 1),
    ] {
        let out = ok(&format!("type: '{ty}' bottom: 'x' top: 'y'"), &[b]);
        assert_eq!(out.tops, shapes(&[b]), "{ty}");
        assert!(out.params.is_empty(), "{ty}");
        assert_eq!(out.flops, 24 * per, "{ty}");
    }
    // In place is fine for ReLU, not for AbsVal.
    ok("type: 'ReLU' bottom: 'x' top: 'x'", &[b]);
    refused(
        "type: 'AbsVal' bottom: 'x' top: 'x'",
        &[b],
        "does not allow in-place",
    );
    refused(
        "type: 'ReLU' bottom: 'x' bottom: 'z' top: 'y'",
        &[b, b],
        "takes 1 bottom",
    );
}

#[test]
fn exp_and_log_bases() {
    // base 2: inner scale ln 2 != 1 adds a multiply; shift 1 adds the outer scale: 3 each.
    let out = ok(
        "type: 'Exp' bottom: 'x' top: 'y' exp_param { base: 2 shift: 1 }",
        &[&[10]],
    );
    assert_eq!(out.flops, 30);
    // Log base 10: 1/ln 10 != 1 adds one multiply.
    let out = ok(
        "type: 'Log' bottom: 'x' top: 'y' log_param { base: 10 }",
        &[&[10]],
    );
    assert_eq!(out.flops, 20);
    refused(
        "type: 'Exp' bottom: 'x' top: 'y' exp_param { base: -2 }",
        &[&[10]],
        "base must be strictly positive",
    );
    // log(1) = 0: 1/log(base) is infinite.
    refused(
        "type: 'Log' bottom: 'x' top: 'y' log_param { base: 1 }",
        &[&[10]],
        "not finite",
    );
}

#[test]
fn prelu() {
    let out = ok("type: 'PReLU' bottom: 'x' top: 'y'", &[&[2, 16, 4, 4]]);
    assert_eq!(out.params, shapes(&[&[16]]));
    assert_eq!(out.flops, 512);
    let out = ok(
        "type: 'PReLU' bottom: 'x' top: 'y' prelu_param { channel_shared: true }",
        &[&[2, 16, 4, 4]],
    );
    assert_eq!(out.params, vec![scalar()]);
    refused("type: 'PReLU' bottom: 'x' top: 'y'", &[&[16]], ">=2");
    refused(
        "type: 'PReLU' bottom: 'x' top: 'y'",
        &[&[1, 2, 3, 4, 5]],
        "legacy accessors",
    );
}

// ---------------------------------------------------------------- normalisation

#[test]
fn lrn() {
    // ACROSS_CHANNELS, n = 5: 2*5 + 4 = 14 per element.
    let out = ok(
        "type: 'LRN' bottom: 'x' top: 'y' lrn_param { local_size: 5 }",
        &[&[10, 96, 55, 55]],
    );
    assert_eq!(out.tops, shapes(&[&[10, 96, 55, 55]]));
    assert_eq!(out.flops, 10 * 96 * 55 * 55 * 14);
    // WITHIN_CHANNEL, n = 3: 3*3 + 6 = 15 per element.
    let out = ok(
        "type: 'LRN' bottom: 'x' top: 'y' lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL }",
        &[&[1, 2, 4, 4]],
    );
    assert_eq!(out.flops, 32 * 15);
    refused(
        "type: 'LRN' bottom: 'x' top: 'y' lrn_param { local_size: 4 }",
        &[&[1, 2, 4, 4]],
        "odd values for local_size",
    );
    refused("type: 'LRN' bottom: 'x' top: 'y'", &[&[2, 4, 4]], "4 axes");
}

#[test]
fn batch_norm() {
    let out = ok("type: 'BatchNorm' bottom: 'x' top: 'x'", &[&[2, 16, 8, 8]]);
    assert_eq!(out.tops, shapes(&[&[2, 16, 8, 8]]));
    assert_eq!(out.params, shapes(&[&[16], &[16], &[1]]));
    assert_eq!(out.flops, 2 * 2048);
    // [N, C] works too; one axis does not (Reshape reads shape(1)).
    assert_eq!(
        ok("type: 'BatchNorm' bottom: 'x' top: 'y'", &[&[4, 10]]).params,
        shapes(&[&[10], &[10], &[1]])
    );
    refused(
        "type: 'BatchNorm' bottom: 'x' top: 'y'",
        &[&[4]],
        "at least 2 axes",
    );
}

#[test]
fn scale_and_bias() {
    // Learned scale over axis 1 (num_axes 1): [16]; with bias_term a bias [16]; 2 FLOPs.
    let out = ok(
        "type: 'Scale' bottom: 'x' top: 'x' scale_param { bias_term: true }",
        &[&[2, 16, 8, 8]],
    );
    assert_eq!(out.params, shapes(&[&[16], &[16]]));
    assert_eq!(out.flops, 2 * 2048);
    // num_axes -1: to the end, [16, 8, 8]; num_axes 0: a scalar [].
    let out = ok(
        "type: 'Scale' bottom: 'x' top: 'y' scale_param { num_axes: -1 }",
        &[&[2, 16, 8, 8]],
    );
    assert_eq!(out.params, shapes(&[&[16, 8, 8]]));
    let out = ok(
        "type: 'Scale' bottom: 'x' top: 'y' scale_param { num_axes: 0 }",
        &[&[2, 16, 8, 8]],
    );
    assert_eq!(out.params, vec![scalar()]);
    // The scale as a second bottom [2, 16] at axis 0: no learned scale; the bias takes
    // bottom[1]'s axes.
    let out = ok(
        "type: 'Scale' bottom: 'x' bottom: 's' top: 'y' scale_param { axis: 0 bias_term: true }",
        &[&[2, 16, 8, 8], &[2, 16]],
    );
    assert_eq!(out.params, shapes(&[&[2, 16]]));
    refused(
        "type: 'Scale' bottom: 'x' bottom: 's' top: 'y'",
        &[&[2, 16, 8, 8], &[8]],
        "dimension mismatch",
    );
    refused(
        "type: 'Scale' bottom: 'x' top: 'y' scale_param { axis: 2 num_axes: 3 }",
        &[&[2, 16, 8, 8]],
        "extends past bottom[0]'s shape",
    );
    // Bias: learned [16] by default, none with a second bottom.
    let out = ok("type: 'Bias' bottom: 'x' top: 'y'", &[&[2, 16, 8, 8]]);
    assert_eq!((out.params, out.flops), (shapes(&[&[16]]), 2048));
    let out = ok(
        "type: 'Bias' bottom: 'x' bottom: 'b' top: 'y'",
        &[&[2, 16, 8, 8], &[16, 8]],
    );
    assert!(out.params.is_empty());
}

#[test]
fn mvn_and_softmax() {
    // MVN reshapes through num/channels/height/width: [4, 10] -> [4, 10, 1, 1].
    let out = ok("type: 'MVN' bottom: 'x' top: 'y'", &[&[4, 10]]);
    assert_eq!(out.tops, shapes(&[&[4, 10, 1, 1]]));
    assert_eq!(out.flops, 40 * 5);
    let out = ok(
        "type: 'MVN' bottom: 'x' top: 'y' mvn_param { normalize_variance: false }",
        &[&[4, 10, 2, 2]],
    );
    assert_eq!(out.flops, 160 * 2);
    let out = ok("type: 'Softmax' bottom: 'x' top: 'y'", &[&[2, 10]]);
    assert_eq!((out.tops, out.flops), (shapes(&[&[2, 10]]), 100));
    refused(
        "type: 'Softmax' bottom: 'x' top: 'y' softmax_param { axis: 2 }",
        &[&[2, 10]],
        "out of range",
    );
}

// ---------------------------------------------------------------- arithmetic

#[test]
fn eltwise() {
    // SUM of 2: 1 add per element; with coefficients 2 more multiplies.
    let b: &[i64] = &[2, 3];
    let out = ok("type: 'Eltwise' bottom: 'a' bottom: 'b' top: 'c'", &[b, b]);
    assert_eq!((out.tops, out.flops), (shapes(&[b]), 6));
    let out = ok(
        "type: 'Eltwise' bottom: 'a' bottom: 'b' top: 'c' eltwise_param { coeff: 1 coeff: -1 }",
        &[b, b],
    );
    assert_eq!(out.flops, 18);
    // MAX of 3: 2 comparisons per element.
    let out = ok(
        "type: 'Eltwise' bottom: 'a' bottom: 'b' bottom: 'c' top: 'd' eltwise_param { operation: MAX }",
        &[b, b, b],
    );
    assert_eq!(out.flops, 12);
    refused(
        "type: 'Eltwise' bottom: 'a' bottom: 'b' top: 'c' eltwise_param { coeff: 1 coeff: 1 coeff: 1 }",
        &[b, b],
        "one coefficient per bottom blob",
    );
    refused(
        "type: 'Eltwise' bottom: 'a' bottom: 'b' top: 'c' eltwise_param { operation: PROD coeff: 1 coeff: 2 }",
        &[b, b],
        "only takes coefficients for summation",
    );
    refused(
        "type: 'Eltwise' bottom: 'a' bottom: 'b' top: 'c'",
        &[b, &[2, 4]],
        "same shape",
    );
    refused(
        "type: 'Eltwise' bottom: 'a' top: 'c'",
        &[b],
        "at least 2 bottom",
    );
}

#[test]
fn reduction() {
    // SUM over axes 1.. of [2, 3, 4]: top [2], one add per input.
    let out = ok(
        "type: 'Reduction' bottom: 'x' top: 'r' reduction_param { axis: 1 }",
        &[&[2, 3, 4]],
    );
    assert_eq!((out.tops, out.flops), (shapes(&[&[2]]), 24));
    // Default axis 0: a scalar.
    assert_eq!(
        ok("type: 'Reduction' bottom: 'x' top: 'r'", &[&[2, 3]]).tops,
        vec![scalar()]
    );
    // MEAN: coefficient 1/12 scales the 2 outputs: 24 + 2.
    let out = ok(
        "type: 'Reduction' bottom: 'x' top: 'r' reduction_param { operation: MEAN axis: 1 }",
        &[&[2, 3, 4]],
    );
    assert_eq!(out.flops, 26);
    let out = ok(
        "type: 'Reduction' bottom: 'x' top: 'r' reduction_param { operation: SUMSQ axis: -1 }",
        &[&[2, 3, 4]],
    );
    assert_eq!((out.tops, out.flops), (shapes(&[&[2, 3]]), 48));
}

#[test]
fn argmax() {
    // Without axis: [N, 1, top_k] (at least 3 axes); out_max_val doubles axis 1.
    let t = "type: 'ArgMax' bottom: 'x' top: 'a' argmax_param { top_k: 5 }";
    assert_eq!(ok(t, &[&[10, 1000]]).tops, shapes(&[&[10, 1, 5]]));
    let t = "type: 'ArgMax' bottom: 'x' top: 'a' argmax_param { top_k: 5 out_max_val: true }";
    assert_eq!(ok(t, &[&[10, 1000]]).tops, shapes(&[&[10, 2, 5]]));
    assert_eq!(
        ok("type: 'ArgMax' bottom: 'x' top: 'a'", &[&[10, 3, 4, 5]]).tops,
        shapes(&[&[10, 1, 1, 1]])
    );
    // With axis: that axis becomes top_k.
    let t = "type: 'ArgMax' bottom: 'x' top: 'a' argmax_param { axis: 1 top_k: 3 }";
    let out = ok(t, &[&[10, 21, 4]]);
    assert_eq!((out.tops, out.flops), (shapes(&[&[10, 3, 4]]), 840));
    refused(
        "type: 'ArgMax' bottom: 'x' top: 'a' argmax_param { axis: 1 top_k: 30 }",
        &[&[10, 21]],
        "top_k must be less than or equal to the dimension of the axis",
    );
    refused(
        "type: 'ArgMax' bottom: 'x' top: 'a' argmax_param { top_k: 0 }",
        &[&[10, 21]],
        "top k must not be less than 1",
    );
}

// ---------------------------------------------------------------- data movement

#[test]
fn concat() {
    let t = "type: 'Concat' bottom: 'a' bottom: 'b' top: 'c'";
    let out = ok(t, &[&[2, 3, 4, 4], &[2, 5, 4, 4]]);
    assert_eq!((out.tops, out.flops), (shapes(&[&[2, 8, 4, 4]]), 0));
    let t = "type: 'Concat' bottom: 'a' bottom: 'b' top: 'c' concat_param { concat_dim: 0 }";
    assert_eq!(ok(t, &[&[2, 3], &[5, 3]]).tops, shapes(&[&[7, 3]]));
    let t = "type: 'Concat' bottom: 'a' bottom: 'b' top: 'c' concat_param { axis: -1 }";
    assert_eq!(ok(t, &[&[2, 3], &[2, 5]]).tops, shapes(&[&[2, 8]]));
    refused(
        "type: 'Concat' bottom: 'a' bottom: 'b' top: 'c'",
        &[&[2, 3, 4, 4], &[2, 5, 4, 5]],
        "same shape, except at concat_axis",
    );
    refused(
        "type: 'Concat' bottom: 'a' bottom: 'b' top: 'c' concat_param { axis: 1 concat_dim: 1 }",
        &[&[2, 3], &[2, 3]],
        "not both",
    );
    refused(
        "type: 'Concat' bottom: 'a' bottom: 'b' top: 'c' concat_param { concat_dim: 2 }",
        &[&[2, 3], &[2, 3]],
        "concat_dim out of range",
    );
}

#[test]
fn slice() {
    // Points 3 and 7 on an axis of 10: sizes 3, 4, 3.
    let out = ok(
        "type: 'Slice' bottom: 'x' top: 'a' top: 'b' top: 'c' \
         slice_param { axis: 1 slice_point: 3 slice_point: 7 }",
        &[&[2, 10, 4]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 3, 4], &[2, 4, 4], &[2, 3, 4]]));
    // No points: equal parts; slice_dim is the legacy axis field.
    let out = ok(
        "type: 'Slice' bottom: 'x' top: 'a' top: 'b' slice_param { slice_dim: 2 }",
        &[&[2, 10, 4]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 10, 2], &[2, 10, 2]]));
    refused(
        "type: 'Slice' bottom: 'x' top: 'a' top: 'b' top: 'c'",
        &[&[2, 10, 4]],
        "should evenly divide",
    );
    refused(
        "type: 'Slice' bottom: 'x' top: 'a' top: 'b' top: 'c' slice_param { slice_point: 5 slice_point: 4 }",
        &[&[2, 10, 4]],
        "greater than the previous",
    );
    refused(
        "type: 'Slice' bottom: 'x' top: 'a' top: 'b' slice_param { slice_point: 2 slice_point: 4 }",
        &[&[2, 10, 4]],
        "one fewer slice point than tops",
    );
    refused(
        "type: 'Slice' bottom: 'x' top: 'a' top: 'b' slice_param { slice_point: 12 }",
        &[&[2, 10, 4]],
        "beyond the slice axis",
    );
}

#[test]
fn split_and_flatten() {
    let out = ok(
        "type: 'Split' bottom: 'x' top: 'a' top: 'b' top: 'c'",
        &[&[2, 3]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 3], &[2, 3], &[2, 3]]));
    refused("type: 'Split' bottom: 'x' top: 'x'", &[&[2, 3]], "in-place");
    let b: &[i64] = &[2, 3, 4, 5];
    let t = |p: &str| format!("type: 'Flatten' bottom: 'x' top: 'y' flatten_param {{ {p} }}");
    assert_eq!(ok(&t(""), &[b]).tops, shapes(&[&[2, 60]]));
    assert_eq!(ok(&t("axis: 2"), &[b]).tops, shapes(&[&[2, 3, 20]]));
    assert_eq!(ok(&t("end_axis: 2"), &[b]).tops, shapes(&[&[2, 12, 5]]));
    // end_axis just before axis flattens nothing into a new axis of 1.
    assert_eq!(
        ok(&t("axis: 1 end_axis: 0"), &[b]).tops,
        shapes(&[&[2, 1, 3, 4, 5]])
    );
    refused(&t("axis: 3 end_axis: 1"), &[b], "comes after end_axis");
    refused("type: 'Flatten' bottom: 'x' top: 'x'", &[b], "in-place");
}

#[test]
fn reshape() {
    let b: &[i64] = &[2, 3, 4, 5];
    let t = |p: &str| format!("type: 'Reshape' bottom: 'x' top: 'y' reshape_param {{ {p} }}");
    // 0 copies axis 0; -1 is 120 / 2 = 60.
    assert_eq!(
        ok(&t("shape { dim: 0 dim: -1 }"), &[b]).tops,
        shapes(&[&[2, 60]])
    );
    assert_eq!(
        ok(&t("shape { dim: 0 dim: 0 dim: -1 dim: 1 }"), &[b]).tops,
        shapes(&[&[2, 3, 20, 1]])
    );
    // axis 1, num_axes 1 replaces the 3 with [3, 1].
    assert_eq!(
        ok(&t("axis: 1 num_axes: 1 shape { dim: 3 dim: 1 }"), &[b]).tops,
        shapes(&[&[2, 3, 1, 4, 5]])
    );
    // axis -1 with num_axes 0 inserts after the last axis (start = 4 + -1 + 1).
    assert_eq!(
        ok(&t("axis: -1 num_axes: 0 shape { dim: 1 }"), &[b]).tops,
        shapes(&[&[2, 3, 4, 5, 1]])
    );
    // axis 2 onward to [-1]: 4*5 = 20.
    assert_eq!(
        ok(&t("axis: 2 shape { dim: -1 }"), &[b]).tops,
        shapes(&[&[2, 3, 20]])
    );
    refused(&t("shape { dim: -1 dim: -1 }"), &[b], "multiple -1");
    refused(&t("shape { dim: 7 dim: -1 }"), &[b], "must be divisible");
    refused(
        &t("shape { dim: 2 dim: 3 }"),
        &[b],
        "output count must match",
    );
    refused(
        &t("shape { dim: 0 dim: 0 }"),
        &[&[6]],
        "no corresponding bottom axis",
    );
    refused(&t("shape { dim: 0 dim: -1 }"), &[&[0, 3]], "multiply to 0");
    refused("type: 'Reshape' bottom: 'x' top: 'x'", &[b], "in-place");
}

#[test]
fn crop() {
    // FCN: crop [1, 21, 44, 44] to [., ., 32, 32] at offset 6 from axis 2.
    let out = ok(
        "type: 'Crop' bottom: 'a' bottom: 'b' top: 'c' crop_param { axis: 2 offset: 6 }",
        &[&[1, 21, 44, 44], &[1, 3, 32, 32]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 21, 32, 32]]));
    // One offset per cropped axis from axis 1: 21-0 >= 21, 44-2 >= 40, 44-3 >= 41.
    let out = ok(
        "type: 'Crop' bottom: 'a' bottom: 'b' top: 'c' \
         crop_param { axis: 1 offset: 0 offset: 2 offset: 3 }",
        &[&[1, 21, 44, 44], &[1, 21, 40, 41]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 21, 40, 41]]));
    // 44 - 13 = 31 < 32.
    refused(
        "type: 'Crop' bottom: 'a' bottom: 'b' top: 'c' crop_param { offset: 13 }",
        &[&[1, 21, 44, 44], &[1, 3, 32, 32]],
        "out-of-bounds",
    );
    refused(
        "type: 'Crop' bottom: 'a' bottom: 'b' top: 'c' crop_param { offset: 1 offset: 2 offset: 3 }",
        &[&[1, 21, 44, 44], &[1, 3, 32, 32]],
        "number of offset values",
    );
}

#[test]
fn tile_filter_batch_reindex() {
    let out = ok(
        "type: 'Tile' bottom: 'x' top: 'y' tile_param { tiles: 4 }",
        &[&[2, 3]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 12]]));
    refused(
        "type: 'Tile' bottom: 'x' top: 'y'",
        &[&[2, 3]],
        "must be specified",
    );
    // 3 * (2^31 - 1) elements: over INT_MAX.
    refused(
        "type: 'Tile' bottom: 'x' top: 'y' tile_param { axis: 0 tiles: 2147483647 }",
        &[&[1, 3]],
        "INT_MAX",
    );
    let out = ok(
        "type: 'Filter' bottom: 'a' bottom: 'b' bottom: 's' top: 'x' top: 'y'",
        &[&[6, 3, 4], &[6, 7], &[6, 1]],
    );
    assert_eq!(out.tops, shapes(&[&[6, 3, 4], &[6, 7]]));
    refused(
        "type: 'Filter' bottom: 'a' bottom: 's' top: 'x'",
        &[&[6, 3], &[6, 2]],
        "singletons",
    );
    refused(
        "type: 'Filter' bottom: 'a' bottom: 's' top: 'x'",
        &[&[5, 3], &[6]],
        "same 0th dimension",
    );
    let out = ok(
        "type: 'BatchReindex' bottom: 'x' bottom: 'i' top: 'y'",
        &[&[10, 3, 4], &[5]],
    );
    assert_eq!(out.tops, shapes(&[&[5, 3, 4]]));
}

// ---------------------------------------------------------------- inputs and sinks

#[test]
fn input_shapes_and_given() {
    let t = "type: 'Input' top: 'a' top: 'b' input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } }";
    assert_eq!(ok(t, &[]).tops, shapes(&[&[1, 3, 8, 8], &[1, 3, 8, 8]]));
    let t = "type: 'Input' top: 'a' top: 'b' \
             input_param { shape { dim: 1 dim: 3 } shape { dim: 1 } }";
    assert_eq!(ok(t, &[]).tops, shapes(&[&[1, 3], &[1]]));
    // --input wins over the file.
    let out = run_with(t, &[], &[("a", &[4, 3])]).unwrap();
    assert_eq!(out.tops, shapes(&[&[4, 3], &[1]]));
    refused(
        "type: 'Input' top: 'a' top: 'b' top: 'c' \
         input_param { shape { dim: 1 } shape { dim: 2 } }",
        &[],
        "3 tops vs. 2 shapes",
    );
    let e = refused("type: 'Input' top: 'img'", &[], "'img'");
    assert_eq!(e.hint.as_deref(), Some("use --input img=N,C,H,W"));
    // Over INT_MAX elements.
    refused(
        "type: 'Input' top: 'a' input_param { shape { dim: 65536 dim: 65536 } }",
        &[],
        "INT_MAX",
    );
}

#[test]
fn data_layers() {
    // Data: channels live in the database.
    let t = "type: 'Data' top: 'data' top: 'label' \
             data_param { batch_size: 64 } transform_param { crop_size: 227 }";
    let e = refused(
        t,
        &[],
        "shape of blob 'data' cannot be known from the net (a Data layer reads it from its database)",
    );
    assert!(e.hint.unwrap().starts_with("use --input data=N,C,H,W"));
    let out = run_with(t, &[], &[("data", &[64, 3, 227, 227])]).unwrap();
    assert_eq!(out.tops, shapes(&[&[64, 3, 227, 227], &[64]]));
    // ImageData: resized grey images.
    let out = ok(
        "type: 'ImageData' top: 'data' top: 'label' image_data_param { \
         batch_size: 50 new_height: 256 new_width: 256 is_color: false }",
        &[],
    );
    assert_eq!(out.tops, shapes(&[&[50, 1, 256, 256], &[50]]));
    let out = ok(
        "type: 'ImageData' top: 'data' top: 'label' image_data_param { batch_size: 50 } \
         transform_param { crop_size: 227 }",
        &[],
    );
    assert_eq!(out.tops, shapes(&[&[50, 3, 227, 227], &[50]]));
    refused(
        "type: 'ImageData' top: 'data' top: 'label' image_data_param { batch_size: 5 }",
        &[],
        "cannot be known",
    );
    refused(
        "type: 'ImageData' top: 'data' top: 'label' image_data_param { new_height: 5 }",
        &[],
        "new_height and new_width to be set at the same time",
    );
    // WindowData: colour windows warped to crop_size.
    let out = ok(
        "type: 'WindowData' top: 'data' top: 'label' window_data_param { batch_size: 128 } \
         transform_param { crop_size: 227 }",
        &[],
    );
    assert_eq!(out.tops, shapes(&[&[128, 3, 227, 227], &[128]]));
    // MemoryData.
    let out = ok(
        "type: 'MemoryData' top: 'data' top: 'label' memory_data_param { \
         batch_size: 64 channels: 1 height: 28 width: 28 }",
        &[],
    );
    assert_eq!(out.tops, shapes(&[&[64, 1, 28, 28], &[64]]));
    refused(
        "type: 'MemoryData' top: 'data' top: 'label' memory_data_param { batch_size: 64 }",
        &[],
        "must be specified and positive",
    );
    // HDF5Data: every top needs --input.
    let t = "type: 'HDF5Data' top: 'data' top: 'label' hdf5_data_param { batch_size: 10 }";
    refused(t, &[], "'data'");
    let out = run_with(t, &[], &[("data", &[10, 4]), ("label", &[10])]).unwrap();
    assert_eq!(out.tops, shapes(&[&[10, 4], &[10]]));
    let e = match run_with(t, &[], &[("data", &[10, 4])]) {
        Err(e) => e,
        Ok(o) => panic!("{o:?}"),
    };
    assert!(e.message.contains("'label'") && e.hint.unwrap().contains("--input label="));
}

#[test]
fn dummy_data_parameter_python_and_sinks() {
    let out = ok(
        "type: 'DummyData' top: 'a' top: 'b' dummy_data_param { shape { dim: 2 dim: 3 } }",
        &[],
    );
    assert_eq!(out.tops, shapes(&[&[2, 3], &[2, 3]]));
    // Legacy 4-D fields, once or once per top.
    let out = ok(
        "type: 'DummyData' top: 'a' top: 'b' dummy_data_param { \
         num: 5 channels: 3 channels: 1 height: 4 width: 4 }",
        &[],
    );
    assert_eq!(out.tops, shapes(&[&[5, 3, 4, 4], &[5, 1, 4, 4]]));
    refused(
        "type: 'DummyData' top: 'a' dummy_data_param { num: 5 shape { dim: 1 } }",
        &[],
        "Both shape and legacy fields",
    );
    refused(
        "type: 'DummyData' top: 'a' top: 'b' top: 'c' \
         dummy_data_param { shape { dim: 1 } shape { dim: 2 } }",
        &[],
        "Must specify 'shape' once, or once per top blob",
    );
    let out = ok(
        "type: 'Parameter' top: 'w' parameter_param { shape { dim: 3 dim: 4 } }",
        &[],
    );
    assert_eq!(
        (out.tops, out.params),
        (shapes(&[&[3, 4]]), shapes(&[&[3, 4]]))
    );
    // Python: only --input can say.
    let t = "type: 'Python' bottom: 'x' top: 'score' python_param { module: 'm' layer: 'L' }";
    let e = refused(t, &[&[1, 2]], "'score'");
    assert_eq!(e.hint.as_deref(), Some("use --input score=N,C,H,W"));
    let out = run_with(t, &[&[1, 2]], &[("score", &[1, 21, 8, 8])]).unwrap();
    assert_eq!(out.tops, shapes(&[&[1, 21, 8, 8]]));
    assert!(
        ok("type: 'Silence' bottom: 'a' bottom: 'b'", &[&[1], &[2, 3]])
            .tops
            .is_empty()
    );
    assert!(
        ok("type: 'HDF5Output' bottom: 'a' bottom: 'b'", &[&[1], &[2]])
            .tops
            .is_empty()
    );
}

// ---------------------------------------------------------------- accuracy and losses

#[test]
fn accuracy() {
    let out = ok(
        "type: 'Accuracy' bottom: 'p' bottom: 'l' top: 'acc'",
        &[&[100, 10], &[100]],
    );
    assert_eq!((out.tops, out.flops), (vec![Shape::scalar()], 1000));
    // The per-class second top is [C].
    let out = ok(
        "type: 'Accuracy' bottom: 'p' bottom: 'l' top: 'acc' top: 'per_class'",
        &[&[100, 10], &[100]],
    );
    assert_eq!(out.tops, vec![scalar(), vec![10]]);
    refused(
        "type: 'Accuracy' bottom: 'p' bottom: 'l' top: 'acc' accuracy_param { top_k: 11 }",
        &[&[100, 10], &[100]],
        "number of classes",
    );
    refused(
        "type: 'Accuracy' bottom: 'p' bottom: 'l' top: 'acc'",
        &[&[100, 10], &[50]],
        "Number of labels must match",
    );
}

#[test]
fn losses() {
    // SoftmaxWithLoss: softmax 5 per score + 2 per label = 5*1000 + 200.
    let out = ok(
        "type: 'SoftmaxWithLoss' bottom: 'p' bottom: 'l' top: 'loss'",
        &[&[100, 10], &[100]],
    );
    assert_eq!((out.tops, out.flops), (vec![Shape::scalar()], 5200));
    // The optional second top is the softmax output; labels per pixel: 2 * 4*4 = 32.
    let out = ok(
        "type: 'SoftmaxWithLoss' bottom: 'p' bottom: 'l' top: 'loss' top: 'prob'",
        &[&[2, 21, 4, 4], &[2, 1, 4, 4]],
    );
    assert_eq!(out.tops, vec![scalar(), vec![2, 21, 4, 4]]);
    // No top written: Caffe adds one itself.
    assert!(ok(
        "type: 'SoftmaxWithLoss' bottom: 'p' bottom: 'l'",
        &[&[4, 3], &[4]]
    )
    .tops
    .is_empty());
    refused(
        "type: 'SoftmaxWithLoss' bottom: 'p' bottom: 'l' top: 'loss'",
        &[&[100, 10], &[50]],
        "same first dimension",
    );
    let out = ok(
        "type: 'EuclideanLoss' bottom: 'a' bottom: 'b' top: 'loss'",
        &[&[10, 5], &[10, 5, 1]],
    );
    assert_eq!((out.tops, out.flops), (vec![Shape::scalar()], 150));
    refused(
        "type: 'EuclideanLoss' bottom: 'a' bottom: 'b' top: 'loss'",
        &[&[10, 5], &[10, 4]],
        "same dimension",
    );
    let out = ok(
        "type: 'SigmoidCrossEntropyLoss' bottom: 'a' bottom: 'b' top: 'loss'",
        &[&[10, 5], &[10, 5]],
    );
    assert_eq!(out.flops, 500);
    let out = ok(
        "type: 'HingeLoss' bottom: 'a' bottom: 'b' top: 'loss' hinge_loss_param { norm: L2 }",
        &[&[10, 5], &[10]],
    );
    assert_eq!(out.flops, 200);
    let out = ok(
        "type: 'InfogainLoss' bottom: 'a' bottom: 'b' bottom: 'h' top: 'loss'",
        &[&[10, 5], &[10], &[5, 5]],
    );
    assert_eq!((out.tops, out.flops), (vec![Shape::scalar()], 400));
    refused(
        "type: 'InfogainLoss' bottom: 'a' bottom: 'b' bottom: 'h' top: 'loss'",
        &[&[10, 5], &[10], &[4, 4]],
        "5x5",
    );
    refused(
        "type: 'InfogainLoss' bottom: 'a' bottom: 'b' top: 'loss'",
        &[&[10, 5], &[10]],
        "source must be specified",
    );
    ok(
        "type: 'MultinomialLogisticLoss' bottom: 'a' bottom: 'b' top: 'loss'",
        &[&[10, 5], &[10, 1, 1, 1]],
    );
    refused(
        "type: 'MultinomialLogisticLoss' bottom: 'a' bottom: 'b' top: 'loss'",
        &[&[10, 5], &[10, 2]],
        "one per item",
    );
    // Contrastive: 3 per feature element + 5 per pair = 3*128 + 5*64.
    let out = ok(
        "type: 'ContrastiveLoss' bottom: 'a' bottom: 'b' bottom: 's' top: 'loss'",
        &[&[64, 2], &[64, 2], &[64]],
    );
    assert_eq!((out.tops, out.flops), (vec![Shape::scalar()], 704));
    refused(
        "type: 'ContrastiveLoss' bottom: 'a' bottom: 'b' bottom: 's' top: 'loss'",
        &[&[64, 2, 3], &[64, 2, 3], &[64]],
        "must be 1 on every axis",
    );
}

// ---------------------------------------------------------------- recurrent

#[test]
fn lstm() {
    // T 20, N 4, D 100, H 256: W_xc [1024, 100], b_c [1024], W_hc [1024, 256].
    let out = ok(
        "type: 'LSTM' bottom: 'x' bottom: 'cont' top: 'h' recurrent_param { num_output: 256 }",
        &[&[20, 4, 100], &[20, 4]],
    );
    assert_eq!(out.tops, shapes(&[&[20, 4, 256]]));
    assert_eq!(out.params, shapes(&[&[1024, 100], &[1024], &[1024, 256]]));
    // MACs T*N*4H*(D + H) = 80 * 1024 * 356; FLOPs 2*MACs + 80 * 256 * (4 + 1 + 4 + 19).
    assert_eq!(out.macs, 29_163_520);
    assert_eq!(out.flops, 2 * 29_163_520 + 80 * 256 * 28);
    // A static input [N, 50] adds W_xc_static [1024, 50] before W_hc; exposed states add
    // bottoms and tops [1, N, H].
    let out = ok(
        "type: 'LSTM' bottom: 'x' bottom: 'cont' bottom: 's' bottom: 'h0' bottom: 'c0' \
         top: 'h' top: 'hT' top: 'cT' recurrent_param { num_output: 8 expose_hidden: true }",
        &[&[3, 2, 5], &[3, 2], &[2, 50], &[1, 2, 8], &[1, 2, 8]],
    );
    assert_eq!(out.tops, shapes(&[&[3, 2, 8], &[1, 2, 8], &[1, 2, 8]]));
    assert_eq!(out.params, shapes(&[&[32, 5], &[32], &[32, 50], &[32, 8]]));
    refused(
        "type: 'LSTM' bottom: 'x' bottom: 'cont' bottom: 'h0' bottom: 'c0' \
         top: 'h' top: 'hT' top: 'cT' recurrent_param { num_output: 8 expose_hidden: true }",
        &[&[3, 2, 5], &[3, 2], &[1, 2, 8], &[1, 2, 7]],
        "shape mismatch",
    );
    refused(
        "type: 'LSTM' bottom: 'x' bottom: 'cont' top: 'h' recurrent_param { num_output: 8 }",
        &[&[3, 2], &[3, 2]],
        "out of range",
    );
    refused(
        "type: 'LSTM' bottom: 'x' bottom: 'cont' top: 'h' recurrent_param { num_output: 8 }",
        &[&[3, 2, 5], &[3, 2, 1]],
        "exactly 2 axes",
    );
    refused(
        "type: 'LSTM' bottom: 'x' bottom: 'cont' top: 'h'",
        &[&[3, 2, 5], &[3, 2]],
        "num_output must be positive",
    );
}

#[test]
fn rnn_and_lstm_unit() {
    // T 5, N 2, D 10, H 8: W_xh [8, 10], b_h [8], W_hh [8, 8], W_ho [8, 8], b_o [8].
    let out = ok(
        "type: 'RNN' bottom: 'x' bottom: 'cont' top: 'o' recurrent_param { num_output: 8 }",
        &[&[5, 2, 10], &[5, 2]],
    );
    assert_eq!(out.tops, shapes(&[&[5, 2, 8]]));
    assert_eq!(
        out.params,
        shapes(&[&[8, 10], &[8], &[8, 8], &[8, 8], &[8]])
    );
    // MACs T*N*H*(D + 2H) = 10 * 8 * 26 = 2080; FLOPs 2*2080 + 10*8*6.
    assert_eq!((out.macs, out.flops), (2080, 4640));
    let out = ok(
        "type: 'LSTMUnit' bottom: 'c' bottom: 'g' bottom: 'cont' top: 'c1' top: 'h1'",
        &[&[1, 4, 8], &[1, 4, 32], &[1, 4]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 4, 8], &[1, 4, 8]]));
    assert_eq!(out.flops, 32 * 19);
    refused(
        "type: 'LSTMUnit' bottom: 'c' bottom: 'g' bottom: 'cont' top: 'c1' top: 'h1'",
        &[&[1, 4, 8], &[1, 4, 30], &[1, 4]],
        "4 * hidden",
    );
}

// ---------------------------------------------------------------- robustness

/// Every type on shapes that break naive arithmetic: empty, zero, one-axis, huge and negative
/// dimensions, many axes. A rule may refuse any of them; it must never panic.
#[test]
fn no_rule_panics_on_odd_shapes() {
    let types = [
        "Input",
        "Data",
        "ImageData",
        "WindowData",
        "HDF5Data",
        "MemoryData",
        "DummyData",
        "Parameter",
        "Python",
        "HDF5Output",
        "Silence",
        "Convolution",
        "Deconvolution",
        "Im2col",
        "Pooling",
        "SPP",
        "InnerProduct",
        "Embed",
        "ReLU",
        "PReLU",
        "ELU",
        "Sigmoid",
        "TanH",
        "AbsVal",
        "BNLL",
        "Power",
        "Exp",
        "Log",
        "Threshold",
        "Clip",
        "Swish",
        "Dropout",
        "LRN",
        "BatchNorm",
        "Scale",
        "Bias",
        "MVN",
        "Softmax",
        "Eltwise",
        "Reduction",
        "ArgMax",
        "Concat",
        "Slice",
        "Split",
        "Flatten",
        "Reshape",
        "Crop",
        "Tile",
        "Filter",
        "BatchReindex",
        "Accuracy",
        "SoftmaxWithLoss",
        "EuclideanLoss",
        "SigmoidCrossEntropyLoss",
        "HingeLoss",
        "InfogainLoss",
        "MultinomialLogisticLoss",
        "ContrastiveLoss",
        "LSTM",
        "RNN",
        "LSTMUnit",
    ];
    let params = "convolution_param { num_output: 3 kernel_size: 3 pad: 2147483647 } \
                  pooling_param { kernel_size: 2147483647 stride: 1 } \
                  inner_product_param { num_output: 2147483647 } \
                  reshape_param { shape { dim: -1 dim: 0 } } \
                  spp_param { pyramid_height: 40 } recurrent_param { num_output: 7 } \
                  slice_param { slice_point: 1 } crop_param { offset: 4294967295 } \
                  tile_param { tiles: 2147483647 } embed_param { num_output: 3 input_dim: 4 }";
    let max = i64::from(i32::MAX);
    let odd: [&[i64]; 8] = [
        &[],
        &[0],
        &[0, 0, 0, 0],
        &[max],
        &[max, max, 1, 1],
        &[1, -3, 4, 4],
        &[2, 3, 1, 1, 1, 1, 1, 1],
        &[1; 40],
    ];
    for ty in types {
        for n_bottoms in 0..4 {
            for shape in odd {
                let bottoms: Vec<&[i64]> = vec![shape; n_bottoms];
                for tops in ["", "top: 'a'", "top: 'a' top: 'b' top: 'c'"] {
                    let text = format!("type: '{ty}' {tops} {params}");
                    let _ = run_with(&text, &bottoms, &[]);
                    let _ = run_with(&format!("type: '{ty}' {tops}"), &bottoms, &[]);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Caffe's own unit tests

/// Setups from BVLC Caffe's src/caffe/test/test_*_layer.cpp, with the shapes they expect.
#[test]
fn agrees_with_caffes_own_setup_tests() {
    // test_spp_layer TestSetup / TestEqualOutputDims / TestEqualOutputDims2: C * (1 + 4 + 16
    // (+ 64 + 256)) per item; a 2-D top reads as height = width = 1 there.
    let spp =
        |h: u32| format!("type: 'SPP' bottom: 'x' top: 'y' spp_param {{ pyramid_height: {h} }}");
    assert_eq!(ok(&spp(3), &[&[2, 3, 9, 8]]).tops, shapes(&[&[2, 63]]));
    assert_eq!(
        ok(&spp(5), &[&[4, 3, 1024, 765]]).tops,
        shapes(&[&[4, 1023]])
    );
    assert_eq!(ok(&spp(3), &[&[10, 3, 7, 7]]).tops, shapes(&[&[10, 63]]));
    // test_pooling_layer TestSetupPadded: [2, 3, 6, 5], k 3, s 2, pad 1, AVE -> 4 x 3.
    let out = ok(
        "type: 'Pooling' bottom: 'x' top: 'y' \
         pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 }",
        &[&[2, 3, 6, 5]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 3, 4, 3]]));
    // TestMax with pad 2 on 3x3 (k 3, s 2): ceil((3 + 4 - 3) / 2) + 1 = 3, kept (4 < 5).
    let out = ok(
        "type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 3 stride: 2 pad: 2 }",
        &[&[1, 1, 3, 3]],
    );
    assert_eq!(out.tops, shapes(&[&[1, 1, 3, 3]]));
    // test_im2col_layer TestSetup: [2, 3, 10, 11], k 3, s 2, dilation 3 -> [2, 27, 2, 3].
    let out = ok(
        "type: 'Im2col' bottom: 'x' top: 'y' \
         convolution_param { kernel_size: 3 stride: 2 dilation: 3 }",
        &[&[2, 3, 10, 11]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 27, 2, 3]]));
    // test_deconvolution_layer TestSetup: [2, 3, 6, 4], k 3, s 2 -> 13 x 9, with group 3 too.
    for p in ["num_output: 4", "num_output: 3 group: 3"] {
        let out = ok(
            &format!(
                "type: 'Deconvolution' bottom: 'a' bottom: 'b' top: 'x' top: 'y' \
                 convolution_param {{ kernel_size: 3 stride: 2 {p} }}"
            ),
            &[&[2, 3, 6, 4], &[2, 3, 6, 4]],
        );
        let c = if p.contains("group") { 3 } else { 4 };
        assert_eq!(out.tops, shapes(&[&[2, c, 13, 9], &[2, c, 13, 9]]));
    }
    // test_argmax_layer TestSetupAxisNegativeIndexing: axis -2 of [10, 10, 20, 20] -> top_k.
    let out = ok(
        "type: 'ArgMax' bottom: 'x' top: 'y' argmax_param { axis: -2 }",
        &[&[10, 10, 20, 20]],
    );
    assert_eq!(out.tops, shapes(&[&[10, 10, 1, 20]]));
    // test_crop_layer TestSetupShapeNegativeIndexing: axis -1 crops only the width.
    let out = ok(
        "type: 'Crop' bottom: 'a' bottom: 'b' top: 'c' crop_param { axis: -1 }",
        &[&[2, 4, 5, 4], &[2, 3, 4, 2]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 4, 5, 2]]));
    // test_reshape_layer TestFlattenOutputSizes: [2, 3, 6, 5] to [0, -1, 1, 1].
    let out = ok(
        "type: 'Reshape' bottom: 'x' top: 'y' \
         reshape_param { shape { dim: 0 dim: -1 dim: 1 dim: 1 } }",
        &[&[2, 3, 6, 5]],
    );
    assert_eq!(out.tops, shapes(&[&[2, 90, 1, 1]]));
}

/// Layer::CheckBlobCounts' three wordings: exact, at least, at most (layer.hpp).
#[test]
fn blob_count_checks_use_caffes_words() {
    // Softmax: ExactNumBottomBlobs 1 (through LayerParameter defaults, one top).
    refused(
        r#"name: "s" type: "Softmax" bottom: "a" bottom: "b" top: "s""#,
        &[&[1, 3], &[1, 3]],
        "Softmax Layer takes 1 bottom blob(s) as input (got 2)",
    );
    // Eltwise: MinBottomBlobs 2.
    refused(
        r#"name: "e" type: "Eltwise" bottom: "a" top: "e""#,
        &[&[1, 3]],
        "Eltwise Layer takes at least 2 bottom blob(s) as input (got 1)",
    );
    // Accuracy: MaxTopBlobs 2.
    refused(
        r#"name: "acc" type: "Accuracy" bottom: "p" bottom: "l" top: "a" top: "b" top: "c""#,
        &[&[4, 10], &[4]],
        "Accuracy Layer produces at most 2 top blob(s) as output (got 3)",
    );
}

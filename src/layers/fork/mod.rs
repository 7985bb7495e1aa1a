//! Layer types that only Caffe forks register, each following the code of the fork that
//! introduced it (cited on every rule as `owner/repo@commit path`). Where two forks use the same
//! type name with different code (`BN`, `Upsample`, `Interp`), the rule says how it picks one.
//!
//! Families: `ssd` (weiliu89/caffe), `rcnn` (Faster R-CNN, R-FCN, the C++ Proposal), `seg`
//! (PSPNet, SegNet, DeepLab), `mobile` (depthwise convolutions, ShuffleNet), `neuron`
//! (element-wise fork layers: ReLU6, Mish, SeLu, SeLuDropout, SENet's Axpy) and `yolo`
//! (darknet2caffe's Upsample).

mod mobile;
mod neuron;
mod rcnn;
mod seg;
mod ssd;
mod yolo;

use super::{check_count, count, Blobs, Ctx, Out, RuleError, RuleResult, Shape};
use crate::proto::LayerParameter;

/// The rule for a fork type, `None` for a type no fork rule knows.
pub fn infer(ty: &str, lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> Option<RuleResult> {
    let r = match ty {
        // SSD
        "PriorBox" => ssd::prior_box(lp, bottoms),
        "Permute" => ssd::permute(lp, bottoms),
        "Normalize" => ssd::normalize(lp, bottoms),
        "DetectionOutput" => ssd::detection_output(lp, bottoms),
        "MultiBoxLoss" => ssd::multibox_loss(lp, bottoms),
        "DetectionEvaluate" => ssd::detection_evaluate(lp, bottoms),
        "AnnotatedData" => ssd::annotated_data(lp, bottoms, ctx),
        // Faster R-CNN, R-FCN
        "ROIPooling" => rcnn::roi_pooling(lp, bottoms),
        "SmoothL1Loss" => rcnn::smooth_l1_loss(lp, bottoms),
        "PSROIPooling" => rcnn::psroi_pooling(lp, bottoms),
        "Proposal" => rcnn::proposal(lp, ctx),
        // PSPNet, SegNet, DeepLab
        "BN" => seg::bn(lp, bottoms),
        "Interp" => seg::interp(lp, bottoms),
        "Upsample" if bottoms.len() == 2 => seg::unpool(lp, bottoms),
        "Upsample" => yolo::upsample(lp, bottoms),
        "DenseImageData" => seg::dense_image_data(lp, bottoms, ctx),
        "ImageSegData" => seg::image_seg_data(lp, bottoms, ctx),
        "SegAccuracy" => seg::seg_accuracy(lp, bottoms),
        "Padding" => seg::padding(lp, bottoms),
        "MatWrite" => seg::mat_write(lp),
        // mobile nets
        "ConvolutionDepthwise" => mobile::convolution_depthwise(lp, bottoms),
        "DepthwiseConvolution" => mobile::depthwise_convolution(lp, bottoms, ctx),
        "ShuffleChannel" => mobile::shuffle_channel(lp, bottoms),
        // element-wise
        "ReLU6" | "Mish" | "SeLu" | "SeLuDropout" => neuron::elementwise(ty, lp, bottoms),
        "Axpy" => neuron::axpy(lp, bottoms),
        _ => return None,
    };
    Some(r)
}

// ---- helpers shared by the fork rules ----

/// A layer's optional parameter message (boxed in LayerParameter), or its defaults when
/// absent, as C++'s `layer_param().x_param()` returns.
fn param<T: Default + Clone>(p: Option<&T>) -> T {
    p.cloned().unwrap_or_default()
}

/// Blob::LegacyShape (blob.hpp): the old `num()`/`channels()`/`height()`/`width()` accessors
/// most fork layers still use. An axis past the blob's rank reads as 1, and a blob of more than
/// four axes is refused (Caffe: "Cannot use legacy accessors on Blobs with > 4 axes.").
fn legacy(shape: &[i64], index: usize) -> Result<i64, RuleError> {
    if shape.len() > 4 {
        return Err(RuleError::new(format!(
            "Cannot use legacy accessors on Blobs with > 4 axes (bottom is {shape:?})"
        )));
    }
    Ok(shape.get(index).copied().unwrap_or(1))
}

/// `(num, channels, height, width)` through the legacy accessors.
fn legacy4(shape: &[i64]) -> Result<[i64; 4], RuleError> {
    Ok([
        legacy(shape, 0)?,
        legacy(shape, 1)?,
        legacy(shape, 2)?,
        legacy(shape, 3)?,
    ])
}

/// Caffe's `Blob::shape(i)` on a single axis: a negative index counts from the end, and an
/// index out of range is Caffe's CHECK failure.
fn axis_dim(shape: &[i64], axis: i32) -> Result<i64, RuleError> {
    let a = super::canonical_axis(axis, shape.len())?;
    Ok(shape[a])
}

/// A dimension computed in C++ `int`: refused when it leaves `int`'s range (where the fork's
/// arithmetic would overflow) or is negative (Blob::Reshape's CHECK_GE(shape[i], 0)).
fn dim(value: Option<i64>, what: &str) -> Result<i64, RuleError> {
    match value {
        Some(v) if (0..=i64::from(i32::MAX)).contains(&v) => Ok(v),
        Some(v) if v < 0 => Err(RuleError::new(format!("{what} is negative ({v})"))),
        _ => Err(RuleError::new(format!("{what} overflows Caffe's int"))),
    }
}

/// Requires between `min` and `max` bottoms.
fn bottom_range(ty: &str, bottoms: &[&Shape], min: usize, max: usize) -> Result<(), RuleError> {
    check_count(ty, Blobs::Bottom, bottoms.len(), min, max)
}

/// Requires between `min` and `max` named tops.
fn top_range(ty: &str, lp: &LayerParameter, min: usize, max: usize) -> Result<(), RuleError> {
    check_count(ty, Blobs::Top, lp.top.len(), min, max)
}

/// A loss layer's tops: LossLayer has one top, and Caffe creates it itself when none is named
/// (AutoTopBlobs), so zero or one named top is fine; the loss is a scalar `[]`.
fn loss_tops(ty: &str, lp: &LayerParameter) -> Result<Vec<Shape>, RuleError> {
    top_range(ty, lp, 0, 1)?;
    Ok(vec![Shape::scalar(); lp.top.len()])
}

/// A top whose shape only the data decides: Caffe's words, and the `--input` that fixes it
/// (`example` the dims to give, e.g. `N,C,H,W`).
fn unknown_top(top: &str, why: &str, example: &str) -> RuleError {
    RuleError::new(format!(
        "shape of blob '{top}' cannot be known from the net ({why})"
    ))
    .with_hint(format!("use --input {top}={example}"))
}

/// An output whose only cost is `per_element` flops for each element of `top`.
fn per_element(top: impl Into<Shape>, per_element: u64) -> RuleResult {
    let top = top.into();
    let n = count(&top)?;
    Ok(Out {
        flops: super::mul(&[n, per_element])?,
        tops: vec![top],
        ..Out::default()
    })
}

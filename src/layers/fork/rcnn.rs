//! Region-based detectors: Fast/Faster R-CNN's ROIPooling and SmoothL1Loss, R-FCN's
//! PSROIPooling, and the C++ Proposal layer, whose output size only the data decides.

use super::{bottom_range, legacy, legacy4, loss_tops, param, top_range, unknown_top};
use crate::layers::{count, mul, Ctx, Out, RuleResult, Shape};
use crate::proto::LayerParameter;

/// ROIPooling (rbgirshick/caffe-fast-rcnn@0dcd397b src/caffe/layers/roi_pooling_layer.cpp):
/// bottoms the feature map and the rois `[R, 5]`; the top is `[R, C, pooled_h, pooled_w]`, one
/// pooled map per region (R is the rois' first axis, not the image batch). `spatial_scale`
/// only maps coordinates.
///
/// Flops: one comparison per output element, a lower bound (each bin's max runs over however
/// many cells the region covers, which the data decides).
pub fn roi_pooling(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    bottom_range("ROIPooling", bottoms, 2, 2)?;
    top_range("ROIPooling", lp, 1, 1)?;
    let p = param(lp.roi_pooling_param());
    if p.pooled_h() == 0 {
        return Err("pooled_h must be > 0".into());
    }
    if p.pooled_w() == 0 {
        return Err("pooled_w must be > 0".into());
    }
    let channels = legacy(bottoms[0], 1)?;
    let rois = legacy(bottoms[1], 0)?;
    let top = vec![
        rois,
        channels,
        i64::from(p.pooled_h()),
        i64::from(p.pooled_w()),
    ];
    super::per_element(top, 1)
}

/// PSROIPooling (daijifeng001/caffe-rfcn@543f8f6a src/caffe/layers/psroi_pooling_layer.cpp;
/// inisis/caffe has the same code): bottoms the position-sensitive score maps, whose channels
/// must be `output_dim * group_size^2`, and the rois `[R, 5]`; the top is
/// `[R, output_dim, group_size, group_size]`.
///
/// Flops: one per output element, a lower bound (each bin averages the cells its region
/// covers).
pub fn psroi_pooling(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    bottom_range("PSROIPooling", bottoms, 2, 2)?;
    top_range("PSROIPooling", lp, 1, 1)?;
    let p = param(lp.psroi_pooling_param());
    let (dim, group) = (p.output_dim(), p.group_size());
    if dim <= 0 {
        return Err("output_dim must be > 0".into());
    }
    if group <= 0 {
        return Err("group_size must be > 0".into());
    }
    let channels = legacy(bottoms[0], 1)?;
    let want = i64::from(dim)
        .checked_mul(i64::from(group))
        .and_then(|v| v.checked_mul(i64::from(group)));
    if want != Some(channels) {
        return Err(format!(
            "input channel number does not match layer parameters \
             ({channels} channels, output_dim {dim} x group_size {group}^2)"
        )
        .into());
    }
    let rois = legacy(bottoms[1], 0)?;
    let top = vec![rois, i64::from(dim), i64::from(group), i64::from(group)];
    super::per_element(top, 1)
}

/// SmoothL1Loss (rbgirshick/caffe-fast-rcnn@0dcd397b src/caffe/layers/smooth_L1_loss_layer.cpp):
/// predictions and targets, plus inside and outside weights when there are 4 bottoms (3 is
/// refused); all agree on channels, height and width (legacy accessors, so `[N, K]` blobs
/// pass) and, as in any LossLayer, on the first axis. A scalar loss.
///
/// Note for the walker: its LayerSetUp does not call LossLayer's, so without an explicit
/// `loss_weight` its loss weight is 0.
///
/// Flops: 4 per element (difference, absolute value, the quadratic or linear branch, the sum),
/// 2 more with the inside and outside weights.
pub fn smooth_l1_loss(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    bottom_range("SmoothL1Loss", bottoms, 2, 4)?;
    if bottoms.len() == 3 {
        return Err("If weights are used, must specify both inside and outside weights".into());
    }
    let tops = loss_tops("SmoothL1Loss", lp)?;
    if bottoms[0].first() != bottoms[1].first() {
        return Err("The data and label should have the same first dimension.".into());
    }
    let [_, c, h, w] = legacy4(bottoms[0])?;
    for (i, b) in bottoms.iter().enumerate().skip(1) {
        let [_, bc, bh, bw] = legacy4(b)?;
        if (bc, bh, bw) != (c, h, w) {
            return Err(format!(
                "SmoothL1Loss: bottom {i} {b:?} differs from bottom 0 {:?} in channels, height or width",
                bottoms[0]
            )
            .into());
        }
    }
    let per = if bottoms.len() == 4 { 6 } else { 4 };
    Ok(Out {
        tops,
        flops: mul(&[count(bottoms[0])?, per])?,
        ..Out::default()
    })
}

/// Proposal (inisis/caffe@09f69efe src/caffe/layers/proposal_layer.cpp), the C++ RPN layer:
/// its setup shape `[N*post_nms_topn, 5]` (and `[N*post_nms_topn]` scores) is a bound, not the
/// regions NMS keeps, so every top comes from `--input`. (py-faster-rcnn's proposal is a
/// `Python` layer, which BVLC's rule covers the same way.)
pub fn proposal(lp: &LayerParameter, ctx: &Ctx) -> RuleResult {
    let mut tops = Vec::with_capacity(lp.top.len());
    for (i, top) in lp.top.iter().enumerate() {
        let Some(shape) = ctx.given(top) else {
            // Regions are (image index, x1, y1, x2, y2), then one score per region.
            let example = if i == 0 { "R,5" } else { "R" };
            return Err(unknown_top(
                top,
                "a proposal layer keeps as many regions as NMS leaves, e.g. 300 at test time",
                example,
            ));
        };
        tops.push(shape.clone());
    }
    Ok(Out {
        tops,
        ..Out::default()
    })
}

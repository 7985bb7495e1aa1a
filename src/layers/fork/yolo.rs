//! The one-bottom, nearest-neighbour Upsample of the YOLO conversions.

use super::{dim, param, top_range};
use crate::layers::{exact_bottoms, Out, RuleResult, Shape};
use crate::proto::LayerParameter;

/// Upsample with one bottom (ChenYingpeng/darknet2caffe@f6d9ea33
/// caffe_layers/upsample_layer/upsample_layer.cpp, used by the caffe-yolov3 nets): the last two
/// axes times `scale`, whatever the rank (`[2, 8]` with scale 2 gives `[4, 16]`). darknet's
/// `scale` defaults to 1 (the merged schema's default of 2 is SegNet's, so an absent scale is
/// read as 1 here). inisis/caffe@09f69efe's Upsample is the same with `dims_num` 4 (its
/// default); `dims_num: 3` scales the last axis only. Flops: 0 (a copy).
pub fn upsample(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("Upsample", bottoms, 1)?;
    top_range("Upsample", lp, 1, 1)?;
    let p = param(lp.upsample_param());
    let scale = i64::from(p.scale.unwrap_or(1));
    let scaled_axes = match p.dims_num() {
        4 => 2,
        3 => 1,
        n => return Err(format!("Upsample: dims_num {n}; only 3 or 4 are supported").into()),
    };
    let bottom = bottoms[0];
    if bottom.len() < scaled_axes {
        return Err(format!(
            "Upsample scales the last {scaled_axes} axes; the bottom {bottom:?} has fewer"
        )
        .into());
    }
    let mut top = bottom.to_vec();
    let first = top.len() - scaled_axes;
    for d in &mut top[first..] {
        *d = dim(d.checked_mul(scale), "Upsample output size")?;
    }
    Ok(Out {
        tops: vec![top.into()],
        ..Out::default()
    })
}

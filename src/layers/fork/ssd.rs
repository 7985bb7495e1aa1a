//! SSD's layers, from weiliu89/caffe branch `ssd` @ 4817bf8b (src/caffe/layers/*). The inisis
//! fork (the `golden-fork` oracle) carries the same shape code for all of them.

use super::{bottom_range, dim, legacy, legacy4, loss_tops, param, top_range, unknown_top};
use crate::layers::{count, exact_bottoms, mul, Ctx, Out, RuleError, RuleResult, Shape};
use crate::proto::multi_box_loss_parameter::{ConfLossType, MiningType};
use crate::proto::resize_parameter::ResizeMode;
use crate::proto::LayerParameter;

/// PriorBox (weiliu89/caffe@4817bf8b src/caffe/layers/prior_box_layer.cpp): one set of prior
/// boxes per feature-map cell, shared by the whole batch, so the top is
/// `[1, 2, H*W*num_priors*4]` (plane 0 the boxes, plane 1 their variances).
///
/// num_priors counts, per min_size, the aspect ratios after LayerSetUp's de-duplication:
/// 1 first, then each listed ratio not within 1e-6 of one already kept, followed by its
/// reciprocal when `flip` (the reciprocal itself is not de-duplicated), plus one box per
/// max_size. Only bottom 0's H and W matter at setup (bottom 1, the image, is read in Forward
/// only; the header's `ExactBottomBlobs` is a typo, so Caffe checks no bottom count).
pub fn prior_box(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    top_range("PriorBox", lp, 1, 1)?;
    let Some(feature) = bottoms.first() else {
        return Err("PriorBox needs the feature map as bottom 0".into());
    };
    let p = param(lp.prior_box_param());
    if p.min_size.is_empty() {
        return Err("must provide min_size.".into());
    }
    if p.min_size.iter().any(|&s| s.is_nan() || s <= 0.0) {
        return Err("min_size must be positive.".into());
    }
    // The fork keeps the ratios as floats and compares in float.
    let mut ratios: Vec<f32> = vec![1.0];
    for &ar in &p.aspect_ratio {
        if ratios.iter().all(|&r| (ar - r).abs() >= 1e-6) {
            ratios.push(ar);
            if p.flip() {
                ratios.push((1.0 / f64::from(ar)) as f32);
            }
        }
    }
    let mut num_priors = (ratios.len() as u64) * (p.min_size.len() as u64);
    if !p.max_size.is_empty() {
        if p.max_size.len() != p.min_size.len() {
            return Err(format!(
                "PriorBox: {} max_size values for {} min_size values; they must pair up",
                p.max_size.len(),
                p.min_size.len()
            )
            .into());
        }
        if p.max_size.iter().zip(&p.min_size).any(|(mx, mn)| mx <= mn) {
            return Err("max_size must be greater than min_size.".into());
        }
        num_priors += p.max_size.len() as u64;
    }
    match p.variance.len() {
        0 => {}
        1 | 4 => {
            if p.variance.iter().any(|&v| v.is_nan() || v <= 0.0) {
                return Err("PriorBox: every variance must be positive".into());
            }
        }
        n => return Err(format!("PriorBox: give one variance or exactly four (got {n})").into()),
    }
    check_size_pair(
        "img_size",
        "img",
        p.img_size.map(f64::from),
        p.img_h.map(f64::from),
        p.img_w.map(f64::from),
    )?;
    check_size_pair(
        "step",
        "step",
        p.step.map(f64::from),
        p.step_h.map(f64::from),
        p.step_w.map(f64::from),
    )?;
    let (h, w) = (legacy(feature, 2)?, legacy(feature, 3)?);
    let len = h
        .checked_mul(w)
        .and_then(|v| v.checked_mul(num_priors as i64))
        .and_then(|v| v.checked_mul(4));
    let len = dim(len, "PriorBox output length")?;
    if len == 0 {
        return Err("PriorBox output is empty (CHECK_GT(top_shape[2], 0))".into());
    }
    let top = Shape::from([1, 2, len]);
    // Each coordinate (and each variance) is computed with about one operation.
    let flops = count(&top)?;
    Ok(Out {
        tops: vec![top],
        flops,
        ..Out::default()
    })
}

/// PriorBox's `img_size` vs `img_h`/`img_w` and `step` vs `step_h`/`step_w`: either the single
/// value or the pair, each positive when given.
fn check_size_pair(
    single_name: &str,
    name: &str,
    single: Option<f64>,
    h: Option<f64>,
    w: Option<f64>,
) -> Result<(), RuleError> {
    if h.is_some() || w.is_some() {
        if single.is_some() {
            return Err(format!(
                "Either {single_name} or {name}_h/{name}_w should be specified; not both."
            )
            .into());
        }
        // An unset half of the pair reads as 0, which the fork's CHECK_GT refuses.
        if !(h.unwrap_or(0.0) > 0.0 && w.unwrap_or(0.0) > 0.0) {
            return Err(format!("{name}_h and {name}_w should be larger than 0.").into());
        }
    } else if single.is_some_and(|v| v.is_nan() || v <= 0.0) {
        return Err(format!("{single_name} should be larger than 0.").into());
    }
    Ok(())
}

/// Permute (weiliu89/caffe@4817bf8b src/caffe/layers/permute_layer.cpp): top axis i is bottom
/// axis `order[i]`; the listed orders come first, the unlisted axes follow in their own order.
/// A pure reordering of memory: 0 flops.
pub fn permute(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("Permute", bottoms, 1)?;
    top_range("Permute", lp, 1, 1)?;
    let bottom = bottoms[0];
    let n = bottom.len();
    let mut orders: Vec<usize> = Vec::with_capacity(n);
    for &o in lp.permute_param().map_or(&[][..], |p| &p.order) {
        let o = o as usize;
        if o >= n {
            return Err(format!(
                "order should be less than the input dimension (order {o}, {n} axes)"
            )
            .into());
        }
        if orders.contains(&o) {
            return Err("there are duplicate orders".into());
        }
        orders.push(o);
    }
    for i in 0..n {
        if !orders.contains(&i) {
            orders.push(i);
        }
    }
    Ok(Out {
        tops: vec![orders.iter().map(|&o| bottom[o]).collect()],
        ..Out::default()
    })
}

/// Normalize (weiliu89/caffe@4817bf8b src/caffe/layers/normalize_layer.cpp): top = bottom; one
/// scale blob, `[C]`, or a scalar `[]` (count 1) when `channel_shared` (the default). The
/// bottom needs at least 2 axes and, through the legacy accessors, at most 4.
///
/// Flops: 4 per element (square, sum, divide by the norm, scale) plus one square root per norm
/// (one per sample when `across_spatial`, the default, else one per sample and position).
pub fn normalize(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("Normalize", bottoms, 1)?;
    top_range("Normalize", lp, 1, 1)?;
    let bottom = bottoms[0];
    if bottom.len() < 2 {
        return Err("Number of axes of bottom blob must be >=2.".into());
    }
    let [n, c, h, w] = legacy4(bottom)?;
    let p = param(lp.norm_param());
    let scale = if p.channel_shared() {
        Shape::scalar()
    } else {
        Shape::from([c])
    };
    let norms = if p.across_spatial() {
        n as u64
    } else {
        mul(&[n as u64, h as u64, w as u64])?
    };
    let elements = count(bottom)?;
    let flops = mul(&[elements, 4])?
        .checked_add(norms)
        .ok_or_else(|| RuleError::new("operation count overflows 64 bits"))?;
    Ok(Out {
        tops: vec![bottom.clone()],
        params: vec![scale],
        flops,
        ..Out::default()
    })
}

/// The prior count SSD's heads agree on: `bottom[2]` is PriorBox's `[1, 2, P*4]`, and the
/// location and confidence predictions (bottoms 0 and 1, read with the legacy accessors) must
/// hold P*loc_classes*4 and P*num_classes values per image.
fn check_heads(
    ty: &str,
    bottoms: &[&Shape],
    num_classes: u32,
    share_location: bool,
) -> Result<(), RuleError> {
    let priors = legacy(bottoms[2], 2)? / 4;
    let loc_classes = if share_location {
        1
    } else {
        i64::from(num_classes)
    };
    let loc = legacy(bottoms[0], 1)?;
    let conf = legacy(bottoms[1], 1)?;
    if priors
        .checked_mul(loc_classes)
        .and_then(|v| v.checked_mul(4))
        != Some(loc)
    {
        return Err(format!(
            "{ty}: Number of priors must match number of location predictions \
             ({priors} priors x {loc_classes} x 4 != {loc})"
        )
        .into());
    }
    if priors.checked_mul(i64::from(num_classes)) != Some(conf) {
        return Err(format!(
            "{ty}: Number of priors must match number of confidence predictions \
             ({priors} priors x {num_classes} classes != {conf})"
        )
        .into());
    }
    Ok(())
}

/// DetectionOutput (weiliu89/caffe@4817bf8b src/caffe/layers/detection_output_layer.cpp):
/// bottoms loc, conf, priors (and optionally the image); the top is `[1, 1, kept, 7]` with
/// `kept` known only after NMS, so setup gives `[1, 1, 1, 7]`. The save_output_param files
/// (label map, name sizes, output folder) are not opened here: they have no shape effect.
/// Flops: 0, as decoding and NMS depend on the data.
pub fn detection_output(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    bottom_range("DetectionOutput", bottoms, 3, 4)?;
    top_range("DetectionOutput", lp, 1, 1)?;
    let p = param(lp.detection_output_param());
    let Some(num_classes) = p.num_classes else {
        return Err("Must specify num_classes".into());
    };
    let nms = p.nms_param.as_ref().cloned().unwrap_or_default();
    if nms.nms_threshold().is_nan() || nms.nms_threshold() < 0.0 {
        return Err("nms_threshold must be non negative.".into());
    }
    if !(nms.eta() > 0.0 && nms.eta() <= 1.0) {
        return Err(format!("nms_param.eta must be in (0, 1] (got {})", nms.eta()).into());
    }
    if legacy(bottoms[0], 0)? != legacy(bottoms[1], 0)? {
        return Err("DetectionOutput: location and confidence bottoms differ in num".into());
    }
    check_heads("DetectionOutput", bottoms, num_classes, p.share_location())?;
    Ok(Out {
        tops: vec![Shape::from([1, 1, 1, 7])],
        ..Out::default()
    })
}

/// MultiBoxLoss (weiliu89/caffe@4817bf8b src/caffe/layers/multibox_loss_layer.cpp): bottoms
/// loc, conf, priors, ground truth; a scalar loss.
///
/// Flops, an upper bound (matching and hard-negative mining decide which priors count): 4 per
/// location prediction (Smooth L1) and 3 per confidence value (softmax and log loss).
pub fn multibox_loss(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("MultiBoxLoss", bottoms, 4)?;
    let tops = loss_tops("MultiBoxLoss", lp)?;
    let p = param(lp.multibox_loss_param());
    let Some(num_classes) = p.num_classes else {
        return Err("Must provide num_classes.".into());
    };
    if num_classes < 1 {
        return Err("num_classes should not be less than 1.".into());
    }
    let mining = p.mining_type() != MiningType::None;
    if p.do_neg_mining.is_some_and(|d| d != mining) {
        return Err("do_neg_mining is deprecated and disagrees with mining_type".into());
    }
    if mining && !p.share_location() {
        return Err("Currently only support negative mining if share_location is true.".into());
    }
    if p.conf_loss_type() == ConfLossType::Softmax && p.background_label_id() >= num_classes {
        return Err("background_label_id should be within [0, num_classes) for Softmax.".into());
    }
    // LossLayer::Reshape.
    if bottoms[0].first() != bottoms[1].first() {
        return Err("The data and label should have the same first dimension.".into());
    }
    check_heads("MultiBoxLoss", bottoms, num_classes, p.share_location())?;
    let flops = mul(&[count(bottoms[0])?, 4])?
        .checked_add(mul(&[count(bottoms[1])?, 3])?)
        .ok_or_else(|| RuleError::new("operation count overflows 64 bits"))?;
    Ok(Out {
        tops,
        flops,
        ..Out::default()
    })
}

/// DetectionEvaluate (weiliu89/caffe@4817bf8b src/caffe/layers/detection_evaluate_layer.cpp):
/// bottoms the detections `[1, 1, D, 7]` and the ground truth `[1, 1, G, 8]`; the top is
/// `[1, 1, pos_classes + valid_detections, 5]`. At setup the detections blob is zero-filled,
/// so every one of its D rows has label 0 (not -1) and counts as valid.
pub fn detection_evaluate(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    // The header's `ExactBottomBlobs` is a typo, so only Reshape's reads bound the count.
    if bottoms.len() < 2 {
        return Err("DetectionEvaluate needs the detections and the ground truth".into());
    }
    top_range("DetectionEvaluate", lp, 1, 1)?;
    let p = param(lp.detection_evaluate_param());
    let Some(num_classes) = p.num_classes else {
        return Err("Must provide num_classes.".into());
    };
    if p.overlap_threshold().is_nan() || p.overlap_threshold() <= 0.0 {
        return Err("overlap_threshold must be non negative.".into());
    }
    let [dn, dc, dh, dw] = legacy4(bottoms[0])?;
    let [gn, gc, _, gw] = legacy4(bottoms[1])?;
    if (dn, dc, dw) != (1, 1, 7) {
        return Err(format!(
            "DetectionEvaluate: detections must be [1, 1, D, 7] (got {:?})",
            bottoms[0]
        )
        .into());
    }
    if (gn, gc, gw) != (1, 1, 8) {
        return Err(format!(
            "DetectionEvaluate: ground truth must be [1, 1, G, 8] (got {:?})",
            bottoms[1]
        )
        .into());
    }
    // The fork stores the uint32 id in an int, so 0xFFFFFFFF is its "no background" -1.
    let pos_classes = if p.background_label_id() as i32 == -1 {
        i64::from(num_classes)
    } else {
        i64::from(num_classes) - 1
    };
    let rows = dim(pos_classes.checked_add(dh), "DetectionEvaluate rows")?;
    Ok(Out {
        tops: vec![Shape::from([1, 1, rows, 5])],
        ..Out::default()
    })
}

/// AnnotatedData (weiliu89/caffe@4817bf8b src/caffe/layers/annotated_data_layer.cpp and
/// src/caffe/data_transformer.cpp InferBlobShape): data `[batch_size, C, H, W]` and label
/// `[1, 1, boxes, 8]`, every top taken from `--input` first.
///
/// H and W: `transform_param.crop_h`/`crop_w` (or `crop_size`) when set, else
/// `resize_param.height`/`width` (WARP and FIT_LARGE_SIZE_AND_PAD; FIT_SMALL_SIZE follows each
/// image). C is the decoded image's: 1 with `force_gray`, else 3 (the colour images SSD's
/// databases hold). The label holds one row per box of the first record, at least one; that
/// record is not read here, so setup's one row is given, as the SSD nets' annotated records
/// carry a type (a record without one would give `[batch_size, 1, 1, 1]`).
pub fn annotated_data(lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> RuleResult {
    exact_bottoms("AnnotatedData", bottoms, 0)?;
    top_range("AnnotatedData", lp, 1, 2)?;
    let batch = i64::from(lp.data_param().map_or(0, |d| d.batch_size()));
    let t = param(lp.transform_param());
    let resize = t.resize_param.as_ref();
    if resize.is_some_and(|r| r.resize_mode() == ResizeMode::FitSmallSize) && batch != 1 {
        return Err("Only support batch size of 1 for FIT_SMALL_SIZE.".into());
    }
    let data = match ctx.given(&lp.top[0]) {
        Some(s) => s.clone(),
        None => {
            let (crop_h, crop_w) = match t.crop_size() {
                0 => (t.crop_h(), t.crop_w()),
                c => (c, c),
            };
            let resized = resize
                .filter(|r| r.resize_mode() != ResizeMode::FitSmallSize)
                .map(|r| (r.height(), r.width()));
            if let Some((rh, rw)) = resized {
                if rh < crop_h || rw < crop_w {
                    return Err(format!(
                        "crop {crop_h}x{crop_w} is larger than the resized image {rh}x{rw}"
                    )
                    .into());
                }
            }
            let pick = |crop: u32, resized: Option<u32>| match (crop, resized) {
                (0, r) => r,
                (c, _) => Some(c),
            };
            let (Some(h), Some(w)) = (
                pick(crop_h, resized.map(|r| r.0)),
                pick(crop_w, resized.map(|r| r.1)),
            ) else {
                return Err(unknown_top(
                    &lp.top[0],
                    "each image keeps its own size: no crop and no fixed resize",
                    &format!("{batch},3,H,W"),
                ));
            };
            let c = if t.force_gray() { 1 } else { 3 };
            Shape::from([batch, c, i64::from(h), i64::from(w)])
        }
    };
    let mut tops = vec![data];
    if let Some(label) = lp.top.get(1) {
        tops.push(
            ctx.given(label)
                .cloned()
                .unwrap_or_else(|| [1, 1, 1, 8].into()),
        );
    }
    Ok(Out {
        tops,
        ..Out::default()
    })
}

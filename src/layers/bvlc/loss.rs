//! Accuracy and the loss layers. A loss (and Accuracy) top is a scalar, shape `[]`.
//!
//! Loss layers have Caffe's `AutoTopBlobs`: written without a top, they still get one (an
//! anonymous blob the net adds); the rule then returns shapes only for the tops written.

use super::{count_range, dim, elems, err, int, legacy, tops_only, Layer};
use crate::layers::{canonical_axis, mul, param_or_default, RuleError, RuleResult, Shape};
use crate::proto::hinge_loss_parameter::Norm;

/// The written tops of a loss: at most `max`; none is allowed (Caffe adds the loss top).
fn loss_tops(l: &Layer, max: usize) -> Result<(), RuleError> {
    if max == 1 && l.n_tops() > 1 {
        return l.exact_tops(1);
    }
    l.max_tops(max)
}

/// LossLayer::Reshape: predictions and labels share their first dimension.
fn same_num(data: &Shape, label: &Shape) -> Result<(), RuleError> {
    if dim(data, 0)? != dim(label, 0)? {
        return Err(err(format!(
            "The data and label should have the same first dimension ({data:?} vs. {label:?})"
        )));
    }
    Ok(())
}

/// `outer * inner` around a class axis must be the number of labels.
fn labels_match(
    axis_name: &str,
    data: &Shape,
    axis: usize,
    label: &Shape,
) -> Result<u64, RuleError> {
    let outer = count_range(data, 0, axis)?;
    let inner = count_range(data, axis + 1, data.len())?;
    let n = mul(&[outer, inner])?;
    if n != elems(label)? {
        return Err(err(format!(
            "Number of labels must match number of predictions; e.g., if {axis_name} axis == 1 and prediction shape is (N, C, H, W), label count (number of labels) must be N*H*W, with integer values in {{0, 1, ..., C-1}} (predictions {data:?}, labels {label:?})"
        )));
    }
    Ok(n)
}

/// The loss top, plus a second top of `extra`'s shape when written.
fn loss_out(l: &Layer, extra: Option<&Shape>, flops: u64) -> RuleResult {
    let mut tops: Vec<Shape> = Vec::with_capacity(l.n_tops());
    if l.n_tops() >= 1 {
        tops.push(Shape::scalar());
    }
    if l.n_tops() >= 2 {
        if let Some(s) = extra {
            tops.push(s.clone());
        }
    }
    Ok(tops_only(tops, flops))
}

/// Accuracy: top `[]`; a second top `[C]` holds the per-class accuracies (C = the label axis).
/// FLOPs 1 per prediction score (the comparisons).
pub(super) fn accuracy(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    l.min_tops(1)?;
    l.max_tops(2)?;
    let p = param_or_default(l.lp.accuracy_param());
    let (data, label) = (l.bottom(0)?, l.bottom(1)?);
    let top_k = int(p.top_k(), "top_k")?;
    let labels = elems(label)?;
    if labels == 0 {
        return Err(err(
            "Accuracy with no labels (bottom[1] is empty) divides by zero",
        ));
    }
    if top_k as u64 > elems(data)? / labels {
        return Err(err(format!(
            "top_k must be less than or equal to the number of classes (top_k {top_k}, predictions {data:?}, labels {label:?})"
        )));
    }
    let axis = canonical_axis(p.axis(), data.len())?;
    labels_match("label", data, axis, label)?;
    let mut tops = vec![Shape::scalar()];
    if l.n_tops() == 2 {
        tops.push([data[axis]].into());
    }
    Ok(tops_only(tops, elems(data)?))
}

/// SoftmaxWithLoss: top `[]`; an optional second top is the softmax output (bottom[0]'s
/// shape). FLOPs: the softmax's 5 per element, + 2 per label (log, accumulate).
pub(super) fn softmax_with_loss(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    loss_tops(l, 2)?;
    let (data, label) = (l.bottom(0)?, l.bottom(1)?);
    let axis = l.lp.softmax_param().map_or(1, |p| p.axis());
    let axis = canonical_axis(axis, data.len())?;
    same_num(data, label)?;
    let n = labels_match("softmax", data, axis, label)?;
    let flops = super::add(&[mul(&[elems(data)?, 5])?, mul(&[n, 2])?])?;
    loss_out(l, Some(data), flops)
}

/// EuclideanLoss: top `[]`; both bottoms hold the same count per item.
/// FLOPs 3 per element (subtract, square, accumulate).
pub(super) fn euclidean(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    loss_tops(l, 1)?;
    let (a, b) = (l.bottom(0)?, l.bottom(1)?);
    same_num(a, b)?;
    if count_range(a, 1, a.len())? != count_range(b, 1, b.len())? {
        return Err(err(format!(
            "Inputs must have the same dimension ({a:?} vs. {b:?})"
        )));
    }
    loss_out(l, None, mul(&[elems(a)?, 3])?)
}

/// SigmoidCrossEntropyLoss: top `[]`; both bottoms have the same count.
/// FLOPs 10 per element: the sigmoid output Caffe keeps (4) and the cross-entropy term
/// `x*(t - [x>=0]) - log(1 + exp(x - 2x[x>=0]))`, accumulated (6).
pub(super) fn sigmoid_cross_entropy(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    loss_tops(l, 1)?;
    let (a, b) = (l.bottom(0)?, l.bottom(1)?);
    same_num(a, b)?;
    if elems(a)? != elems(b)? {
        return Err(err(format!(
            "SIGMOID_CROSS_ENTROPY_LOSS layer inputs must have the same count ({a:?} vs. {b:?})"
        )));
    }
    loss_out(l, None, mul(&[elems(a)?, 10])?)
}

/// HingeLoss: top `[]`. FLOPs per score: 3 for L1 (margin add, max with 0, accumulate),
/// 4 for L2 (and the square).
pub(super) fn hinge(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    loss_tops(l, 1)?;
    let (data, label) = (l.bottom(0)?, l.bottom(1)?);
    same_num(data, label)?;
    let norm = l.lp.hinge_loss_param().map_or(Norm::L1, |p| p.norm());
    let per = if norm == Norm::L2 { 4 } else { 3 };
    loss_out(l, None, mul(&[elems(data)?, per])?)
}

/// InfogainLoss: top `[]`, optional second top the softmax output. The infogain matrix H is
/// bottom[2] (`L*L` elements, L = classes) or read from `source`.
/// FLOPs 8 per element: the softmax's 5, then log, the product with H, accumulate.
pub(super) fn infogain(l: &Layer) -> RuleResult {
    l.min_bottoms(2)?;
    l.max_bottoms(3)?;
    loss_tops(l, 2)?;
    let p = param_or_default(l.lp.infogain_loss_param());
    let data = l.bottom(0)?;
    let axis = canonical_axis(p.axis(), data.len())?;
    if l.lp.loss_param().is_some_and(|lp| lp.normalize.is_some()) {
        return Err(err("normalize is deprecated. use \"normalization\""));
    }
    if l.n_bottoms() < 3 && p.source.is_none() {
        return Err(err(
            "Infogain matrix source must be specified (infogain_loss_param.source, or H as a third bottom)",
        ));
    }
    let label = l.bottom(1)?;
    same_num(data, label)?;
    labels_match("infogain", data, axis, label)?;
    if let Some(&h) = l.bottoms.get(2) {
        let classes = super::u(data[axis])?;
        if elems(h)? != mul(&[classes, classes])? {
            return Err(err(format!(
                "the infogain matrix (bottom[2], {h:?}) must have {classes}x{classes} elements"
            )));
        }
    }
    loss_out(l, Some(data), mul(&[elems(data)?, 8])?)
}

/// MultinomialLogisticLoss: top `[]`; the labels are one per item (`[N]` or `[N,1,1,1]`).
/// FLOPs 3 per item (clamp, log, accumulate).
pub(super) fn multinomial_logistic(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    loss_tops(l, 1)?;
    let (data, label) = (l.bottom(0)?, l.bottom(1)?);
    same_num(data, label)?;
    for i in 1..4 {
        if legacy(label, i)? != 1 {
            return Err(err(format!(
                "the labels (bottom[1]) must be one per item: channels, height and width 1, got {label:?}"
            )));
        }
    }
    loss_out(l, None, mul(&[super::u(data[0])?, 3])?)
}

/// ContrastiveLoss: top `[]`; bottoms `[N, C, 1, 1]` twice and the similarity `[N, 1, 1, 1]`.
/// FLOPs 3 per element of bottom[0] (difference, square, sum into the distance) + 5 per
/// pair (square root, margin subtraction, clamp, square, accumulate).
pub(super) fn contrastive(l: &Layer) -> RuleResult {
    l.exact_bottoms(3)?;
    loss_tops(l, 1)?;
    let (a, b, sim) = (l.bottom(0)?, l.bottom(1)?, l.bottom(2)?);
    if legacy(a, 1)? != legacy(b, 1)? {
        return Err(err(format!(
            "the two feature bottoms must have the same channels ({a:?} vs. {b:?})"
        )));
    }
    for (which, s, from) in [
        ("bottom[0]", a, 2),
        ("bottom[1]", b, 2),
        ("bottom[2]", sim, 1),
    ] {
        for i in from..4 {
            if legacy(s, i)? != 1 {
                return Err(err(format!(
                    "{which} must be 1 on every axis after {} (got {s:?})",
                    if from == 2 { "channels" } else { "num" }
                )));
            }
        }
    }
    same_num(a, b)?;
    let pairs = super::u(legacy(a, 0)?)?;
    let flops = super::add(&[mul(&[elems(a)?, 3])?, mul(&[pairs, 5])?])?;
    loss_out(l, None, flops)
}

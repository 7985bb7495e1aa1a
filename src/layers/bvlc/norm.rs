//! Normalisation and affine layers: LRN, BatchNorm, Scale, Bias, MVN, Softmax.

use super::{blob, elems, err, filled, int, legacy, tops_only, Layer};
use crate::layers::{canonical_axis, mul, param_or_default, Out, RuleError, RuleResult, Shape};
use crate::proto::lrn_parameter::NormRegion;

/// LRN: top = bottom (4 axes). `local_size` must be odd.
/// FLOPs per element, n = local_size: ACROSS_CHANNELS `2n + 4` (square and add for each of the
/// n neighbours, then scale by alpha/n, add k, the power, the product with the input);
/// WITHIN_CHANNEL `n*n + 6` (the square, an n x n average pool and its divide, the power
/// layer's scale, shift and power, the product).
pub(super) fn lrn(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.lrn_param());
    let size = int(p.local_size(), "local_size")?;
    if size % 2 != 1 {
        return Err(err(format!(
            "LRN only supports odd values for local_size (got {size})"
        )));
    }
    let bottom = l.bottom(0)?;
    if bottom.len() != 4 {
        return Err(err(format!(
            "Input must have 4 axes, corresponding to (num, channels, height, width); bottom is {bottom:?}"
        )));
    }
    let n = size as u64;
    let per_element = match p.norm_region() {
        NormRegion::AcrossChannels => 2 * n + 4,
        NormRegion::WithinChannel => mul(&[n, n])? + 6,
    };
    Ok(tops_only(
        vec![bottom.clone()],
        mul(&[elems(bottom)?, per_element])?,
    ))
}

/// BatchNorm: top = bottom; three statistics blobs `[C]` mean, `[C]` variance, `[1]` the
/// moving-average factor (C = axis 1). FLOPs 2 per element (subtract the mean, divide by the
/// standard deviation).
pub(super) fn batch_norm(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let bottom = l.bottom(0)?;
    if bottom.len() < 2 {
        return Err(err(format!(
            "BatchNorm needs a bottom with at least 2 axes (N, C, ...); bottom is {bottom:?}"
        )));
    }
    let channels = bottom[1];
    if channels == 0 || bottom[0] == 0 {
        // Reshape divides the count by N*C.
        return Err(err(format!(
            "BatchNorm on an empty bottom {bottom:?} divides by N*C = 0"
        )));
    }
    Ok(Out {
        tops: vec![bottom.clone()],
        params: vec![[channels].into(), [channels].into(), [1].into()],
        macs: 0,
        flops: mul(&[elems(bottom)?, 2])?,
    })
}

/// The learned blob of Scale/Bias with one bottom (their LayerSetUp): `bottom[axis..axis +
/// num_axes]`, `num_axes = -1` meaning to the end.
fn operand_shape(what: &str, bottom: &Shape, axis: i32, num_axes: i32) -> Result<Shape, RuleError> {
    let axis = canonical_axis(axis, bottom.len())?;
    if num_axes < -1 {
        return Err(err(format!(
            "num_axes must be non-negative, or -1 to extend to the end of bottom[0] (got {num_axes})"
        )));
    }
    let end = if num_axes == -1 {
        bottom.len()
    } else {
        axis + num_axes as usize
    };
    if end > bottom.len() {
        return Err(err(format!(
            "{what} blob's shape extends past bottom[0]'s shape when applied starting with bottom[0] axis = {axis}"
        )));
    }
    Ok(bottom[axis..end].into())
}

/// Reshape of Scale/Bias: the operand's dims must equal bottom[0]'s from `axis` on (a scalar
/// operand applies everywhere).
fn check_operand(what: &str, bottom: &Shape, operand: &Shape, axis: i32) -> Result<(), RuleError> {
    let axis = if operand.is_empty() {
        0
    } else {
        canonical_axis(axis, bottom.len())?
    };
    if bottom.len() < axis + operand.len() {
        return Err(err(format!(
            "{what} blob's shape extends past bottom[0]'s shape when applied starting with bottom[0] axis = {axis}"
        )));
    }
    for (i, &d) in operand.iter().enumerate() {
        if bottom[axis + i] != d {
            return Err(err(format!(
                "dimension mismatch between bottom[0]->shape({}) = {} and {what}->shape({i}) = {d}",
                axis + i,
                bottom[axis + i]
            )));
        }
    }
    Ok(())
}

/// Scale: top = bottom[0]; multiplies by bottom[1], or by a learned blob
/// `bottom[0].shape[axis..axis+num_axes]`; `bias_term` adds a learned bias of the same
/// shape (an inner Bias layer). Params: `[scale, bias]` with one bottom, `[bias]` with two.
/// FLOPs 1 per element, 2 with `bias_term`.
pub(super) fn scale(l: &Layer) -> RuleResult {
    l.min_bottoms(1)?;
    l.max_bottoms(2)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.scale_param());
    let bottom = l.bottom(0)?;
    let mut params = Vec::new();
    let scale = match l.bottoms.get(1) {
        Some(&s) => s.clone(),
        None => {
            let shape = operand_shape("scale", bottom, p.axis(), p.num_axes())?;
            // Without a filler the scale starts at a constant 1.
            let shape = filled(shape, p.filler.as_deref(), "constant")?;
            params.push(shape.clone());
            shape
        }
    };
    if p.bias_term() {
        let num_axes = match l.bottoms.get(1) {
            Some(s) => i32::try_from(s.len()).map_err(|_| err("too many axes"))?,
            None => p.num_axes(),
        };
        let bias = operand_shape("bias", bottom, p.axis(), num_axes)?;
        params.push(filled(bias, p.bias_filler.as_deref(), "constant")?);
    }
    check_operand("scale", bottom, &scale, p.axis())?;
    let per_element = if p.bias_term() { 2 } else { 1 };
    Ok(Out {
        tops: vec![bottom.clone()],
        params,
        macs: 0,
        flops: mul(&[elems(bottom)?, per_element])?,
    })
}

/// Bias: top = bottom[0]; adds bottom[1], or a learned blob
/// `bottom[0].shape[axis..axis+num_axes]`. FLOPs 1 per element.
pub(super) fn bias(l: &Layer) -> RuleResult {
    l.min_bottoms(1)?;
    l.max_bottoms(2)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.bias_param());
    let bottom = l.bottom(0)?;
    let mut params = Vec::new();
    let bias = match l.bottoms.get(1) {
        Some(&b) => b.clone(),
        None => {
            let shape = operand_shape("bias", bottom, p.axis(), p.num_axes())?;
            let shape = filled(shape, p.filler.as_deref(), "constant")?;
            params.push(shape.clone());
            shape
        }
    };
    check_operand("bias", bottom, &bias, p.axis())?;
    Ok(Out {
        tops: vec![bottom.clone()],
        params,
        macs: 0,
        flops: elems(bottom)?,
    })
}

/// MVN: top `[num, channels, height, width]` (Caffe reshapes through the legacy 4-D
/// accessors, so a 2-D bottom comes out as `[N, C, 1, 1]`).
/// FLOPs 2 per element (an add into the mean, the subtraction), +3 with
/// `normalize_variance` (the square, an add into the variance, the divide).
pub(super) fn mvn(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let bottom = l.bottom(0)?;
    let top = blob(
        (0..4)
            .map(|i| legacy(bottom, i))
            .collect::<Result<Shape, _>>()?,
    )?;
    let p = param_or_default(l.lp.mvn_param());
    let per_element = if p.normalize_variance() { 5 } else { 2 };
    let flops = mul(&[elems(&top)?, per_element])?;
    Ok(tops_only(vec![top], flops))
}

/// Softmax along `axis`: top = bottom.
/// FLOPs 5 per element (the max, the subtraction, exp, the sum, the divide).
pub(super) fn softmax(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let bottom = l.bottom(0)?;
    let axis = l.lp.softmax_param().map_or(1, |p| p.axis());
    canonical_axis(axis, bottom.len())?;
    Ok(tops_only(vec![bottom.clone()], mul(&[elems(bottom)?, 5])?))
}

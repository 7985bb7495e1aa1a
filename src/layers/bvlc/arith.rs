//! Eltwise, Reduction and ArgMax.

use super::{blob, count_range, elems, err, int, tops_only, Layer};
use crate::layers::{canonical_axis, mul, param_or_default, RuleResult};
use crate::proto::eltwise_parameter::EltwiseOp;
use crate::proto::reduction_parameter::ReductionOp;

/// Eltwise of n bottoms of one shape (PROD, SUM with optional per-bottom coefficients, MAX).
/// FLOPs per element: `n-1` (products, sums or comparisons), +n multiplies for SUM with `coeff`.
pub(super) fn eltwise(l: &Layer) -> RuleResult {
    l.min_bottoms(2)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.eltwise_param());
    let n = l.n_bottoms();
    if !(p.coeff.is_empty() || p.coeff.len() == n) {
        return Err(err(format!(
            "Eltwise Layer takes one coefficient per bottom blob ({n} bottoms, {} coeff)",
            p.coeff.len()
        )));
    }
    if p.operation() == EltwiseOp::Prod && !p.coeff.is_empty() {
        return Err(err("Eltwise layer only takes coefficients for summation"));
    }
    let first = l.bottom(0)?;
    for (i, b) in l.bottoms.iter().enumerate().skip(1) {
        if *b != first {
            return Err(err(format!(
                "Eltwise bottoms must have the same shape: bottom[0] {first:?}, bottom[{i}] {b:?}"
            )));
        }
    }
    let n = n as u64;
    let with_coeff = if p.operation() == EltwiseOp::Sum && !p.coeff.is_empty() {
        n
    } else {
        0
    };
    let flops = mul(&[elems(first)?, n - 1 + with_coeff])?;
    Ok(tops_only(vec![first.clone()], flops))
}

/// Reduction over the axes from `axis` on: top = `bottom[..axis]` (a scalar `[]` for axis 0).
/// FLOPs: 1 per input element for SUM and MEAN (the add), 2 for ASUM and SUMSQ (abs or square,
/// then the add); +1 per output element when the effective coefficient (`coeff`, divided by
/// the reduced size for MEAN) is not 1.
pub(super) fn reduction(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.reduction_param());
    let bottom = l.bottom(0)?;
    let axis = canonical_axis(p.axis(), bottom.len())?;
    let top = bottom[..axis].to_vec();
    let dim = count_range(bottom, axis, bottom.len())?;
    let per_input = match p.operation() {
        ReductionOp::Sum | ReductionOp::Mean => 1,
        ReductionOp::Asum | ReductionOp::Sumsq => 2,
    };
    let coeff = if p.operation() == ReductionOp::Mean {
        p.coeff() / dim as f32
    } else {
        p.coeff()
    };
    let scale = if coeff != 1.0 { elems(&top)? } else { 0 };
    let flops = super::add(&[mul(&[elems(bottom)?, per_input])?, scale])?;
    Ok(tops_only(vec![top.into()], flops))
}

/// ArgMax: with `axis`, the bottom with that axis cut to `top_k`; without, `[N, 1 (2 with
/// out_max_val), top_k, 1...]` padded to at least 3 axes.
/// FLOPs 1 per input element (the comparisons).
pub(super) fn argmax(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.argmax_param());
    let bottom = l.bottom(0)?;
    let top_k = int(p.top_k(), "top_k")?;
    if top_k < 1 {
        return Err(err("top k must not be less than 1"));
    }
    let top = if p.axis.is_some() {
        let axis = canonical_axis(p.axis(), bottom.len())?;
        if top_k > bottom[axis] {
            return Err(err(format!(
                "top_k must be less than or equal to the dimension of the axis ({top_k} > {})",
                bottom[axis]
            )));
        }
        let mut top = bottom.to_vec();
        top[axis] = top_k;
        top
    } else {
        let per_instance = count_range(bottom, 1, bottom.len())?;
        if top_k as u64 > per_instance {
            return Err(err(format!(
                "top_k must be less than or equal to the dimension of the flattened bottom blob per instance ({top_k} > {per_instance})"
            )));
        }
        let mut top = vec![1; bottom.len().max(3)];
        top[0] = bottom[0];
        top[2] = top_k;
        if p.out_max_val() {
            top[1] = 2;
        }
        top
    };
    Ok(tops_only(vec![blob(top)?], elems(bottom)?))
}

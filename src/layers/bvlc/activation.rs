//! The element-wise neuron layers (NeuronLayer: one bottom, one top of the same shape).
//!
//! FLOPs per output element (SPEC §2 fixes the first group; an arithmetic operation or one
//! call of exp/log/tanh counts 1, as Caffe's CPU forward performs them):
//! - ReLU, PReLU, ELU, Threshold, AbsVal, BNLL, Power, Clip, Swish, Dropout: 1.
//! - Sigmoid: 4 (`0.5 * tanh(0.5 * x) + 0.5`).
//! - TanH: 1.
//! - Exp: 1, +1 when the input is scaled (`scale * ln(base) != 1`), +1 when the output is
//!   scaled (`shift != 0`).
//! - Log: 1, +1 for `scale != 1`, +1 for `shift != 0`, +1 when `base` is not e.

use super::{elems, err, filled, legacy, tops_only, Layer};
use crate::layers::{mul, param_or_default, Out, RuleError, RuleResult};

/// Every neuron layer: the top has the bottom's shape. See the module doc for FLOPs.
pub(super) fn neuron(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let bottom = l.bottom(0)?;
    let per_element = match l.ty {
        "AbsVal" => {
            l.not_in_place()?;
            1
        }
        "PReLU" => return prelu(l),
        "Sigmoid" => 4,
        "Exp" => exp_flops(l)?,
        "Log" => log_flops(l)?,
        _ => 1,
    };
    let flops = mul(&[elems(bottom)?, per_element])?;
    Ok(tops_only(vec![bottom.clone()], flops))
}

/// PReLU: slopes `[C]` (axis 1), or one shared slope of shape `[]` with `channel_shared`;
/// needs 2 to 4 axes (it reads `channels()`).
fn prelu(l: &Layer) -> RuleResult {
    let bottom = l.bottom(0)?;
    if bottom.len() < 2 {
        return Err(err(format!(
            "Number of axes of bottom blob must be >=2 (bottom is {bottom:?})"
        )));
    }
    let p = param_or_default(l.lp.prelu_param());
    let channels = legacy(bottom, 1)?;
    let slope = if p.channel_shared() {
        Vec::new()
    } else {
        vec![channels]
    };
    // Without a filler the slopes start at a constant 0.25.
    let slope = filled(slope, p.filler.as_deref(), "constant")?;
    Ok(Out {
        tops: vec![bottom.clone()],
        params: vec![slope],
        macs: 0,
        flops: elems(bottom)?,
    })
}

/// `base` of Exp/Log: -1 means e; otherwise it must be positive with a finite logarithm.
fn log_base(base: f32) -> Result<f32, RuleError> {
    if base == -1.0 {
        return Ok(1.0);
    }
    if base.is_nan() || base <= 0.0 {
        return Err(err(format!("base must be strictly positive (base {base})")));
    }
    let lb = base.ln();
    if !lb.is_finite() {
        return Err(err(format!("log(base) = log({base}) = {lb} is not finite")));
    }
    Ok(lb)
}

fn exp_flops(l: &Layer) -> Result<u64, RuleError> {
    let p = param_or_default(l.lp.exp_param());
    let lb = log_base(p.base())?;
    let inner_scaled = lb * p.scale() != 1.0;
    let outer_scaled = p.shift() != 0.0;
    Ok(1 + u64::from(inner_scaled) + u64::from(outer_scaled))
}

fn log_flops(l: &Layer) -> Result<u64, RuleError> {
    let p = param_or_default(l.lp.log_param());
    let lb = log_base(p.base())?;
    let base_scale = 1.0 / lb;
    if !base_scale.is_finite() {
        return Err(err(format!(
            "1/log(base) = 1/log({}) is not finite",
            p.base()
        )));
    }
    Ok(
        1 + u64::from(p.scale() != 1.0)
            + u64::from(p.shift() != 0.0)
            + u64::from(base_scale != 1.0),
    )
}

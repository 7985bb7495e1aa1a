//! InnerProduct and Embed.

use super::{count_range, elems, err, filled, int, u, Layer};
use crate::layers::{canonical_axis, mul, param_or_default, Out, RuleResult};

/// InnerProduct: the axes from `axis` on are flattened to K; top `[dims before axis.., N]`,
/// weight `[N, K]` (`[K, N]` with `transpose`), bias `[N]`.
/// MACs `M*K*N` (M = product of the axes before `axis`); FLOPs `2*MACs` + `M*N` bias adds.
pub(super) fn inner_product(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.inner_product_param());
    let bottom = l.bottom(0)?;
    let n = int(p.num_output(), "num_output")?;
    let axis = canonical_axis(p.axis(), bottom.len())?;
    let k = count_range(bottom, axis, bottom.len())?;
    let k_dim = i64::try_from(k).map_err(|_| err("K overflows"))?;
    let weight = if p.transpose() {
        vec![k_dim, n]
    } else {
        vec![n, k_dim]
    };
    let mut params = vec![filled(weight, p.weight_filler.as_deref(), "constant")?];
    if p.bias_term() {
        params.push(filled(vec![n], p.bias_filler.as_deref(), "constant")?);
    }
    let mut top = bottom[..axis].to_vec();
    top.push(n);
    let top = super::blob(top)?;
    let m = count_range(bottom, 0, axis)?;
    let macs = mul(&[m, k, u(n)?])?;
    let bias = if p.bias_term() { elems(&top)? } else { 0 };
    let flops = super::add(&[mul(&[macs, 2])?, bias])?;
    Ok(Out {
        tops: vec![top],
        params,
        macs,
        flops,
    })
}

/// Embed: a lookup of each bottom value (an index below `input_dim`) in a `[input_dim,
/// num_output]` table; top `bottom.shape + [num_output]`, bias `[num_output]`.
/// MACs 0 (a row copy); FLOPs one bias add per output element.
pub(super) fn embed(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.embed_param());
    let bottom = l.bottom(0)?;
    let n = int(p.num_output(), "num_output")?;
    if n <= 0 {
        return Err(err("EmbedLayer num_output must be positive"));
    }
    let k = int(p.input_dim(), "input_dim")?;
    if k <= 0 {
        return Err(err("EmbedLayer input_dim must be positive"));
    }
    let mut params = vec![filled(vec![k, n], p.weight_filler.as_deref(), "constant")?];
    if p.bias_term() {
        params.push(filled(vec![n], p.bias_filler.as_deref(), "constant")?);
    }
    let mut top = bottom.to_vec();
    top.push(n);
    let top = super::blob(top)?;
    let flops = if p.bias_term() { elems(&top)? } else { 0 };
    Ok(Out {
        tops: vec![top],
        params,
        macs: 0,
        flops,
    })
}

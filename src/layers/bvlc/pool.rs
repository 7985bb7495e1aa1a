//! Pooling and SPP (a pyramid of poolings, flattened and concatenated).

use super::{blob, elems, err, fit, int, legacy, Layer};
use crate::layers::{mul, param_or_default, Out, PoolingRule, RuleError, RuleResult, Shape};
use crate::proto::pooling_parameter::{PoolMethod, RoundMode};
use crate::proto::spp_parameter::PoolMethod as SppMethod;

fn check_kernel((kh, kw): (i64, i64)) -> Result<(), RuleError> {
    if kh <= 0 || kw <= 0 {
        return Err(err(format!(
            "Filter dimensions cannot be zero (kernel {kh}x{kw})"
        )));
    }
    Ok(())
}

/// A configured pooling window, as PoolingLayer::LayerSetUp leaves it.
struct Window {
    method: PoolMethod,
    kernel: (i64, i64),
    pad: (i64, i64),
    stride: (i64, i64),
    ceil: bool,
    /// darknet2caffe's extra row and column when `kernel - stride` is odd.
    darknet: bool,
}

impl Window {
    /// The checks of PoolingLayer::LayerSetUp that concern the values, then Reshape: the top
    /// shape `[N, C, pooled_h, pooled_w]` and the forward FLOPs.
    fn apply(&self, bottom: &Shape) -> Result<(Shape, u64), RuleError> {
        let (kh, kw) = self.kernel;
        let (ph, pw) = self.pad;
        let (sh, sw) = self.stride;
        check_kernel(self.kernel)?;
        if ph != 0 || pw != 0 {
            if !matches!(self.method, PoolMethod::Ave | PoolMethod::Max) {
                return Err(err("Padding implemented only for average and max pooling"));
            }
            if ph >= kh || pw >= kw {
                return Err(err(format!(
                    "pad must be less than kernel (pad {ph}x{pw}, kernel {kh}x{kw})"
                )));
            }
        }
        // Caffe divides by the stride without checking it; a zero stride is refused here
        // rather than reproducing that undefined behaviour.
        if sh <= 0 || sw <= 0 {
            return Err(err(format!(
                "pooling stride must be positive (stride {sh}x{sw})"
            )));
        }
        if bottom.len() != 4 {
            return Err(err(format!(
                "Input must have 4 axes, corresponding to (num, channels, height, width); bottom is {bottom:?}"
            )));
        }
        let clip = ph != 0 || pw != 0;
        let out_h = self.pooled(bottom[2], kh, ph, sh, clip)?;
        let out_w = self.pooled(bottom[3], kw, pw, sw, clip)?;
        let top = blob(vec![bottom[0], bottom[1], out_h, out_w])?;
        // k*k comparisons (MAX) or adds (AVE, STOCHASTIC) per output, +1 divide for AVE.
        let per_out = mul(&[kh as u64, kw as u64])? + u64::from(self.method == PoolMethod::Ave);
        let flops = mul(&[elems(&top)?, per_out])?;
        Ok((top, flops))
    }

    /// One pooled size: `ceil` (or `floor`) of `(in + 2p - k) / s` computed in `float`, as
    /// Caffe does, plus one; with padding, minus one more when the last window would start in
    /// the padding.
    fn pooled(&self, input: i64, k: i64, p: i64, s: i64, clip: bool) -> Result<i64, RuleError> {
        let span = fit(
            p.checked_mul(2)
                .and_then(|p2| input.checked_add(p2))
                .and_then(|v| v.checked_sub(k)),
            "input + 2 * pad - kernel",
        )?;
        let q = span as f32 / s as f32;
        let q = if self.ceil { q.ceil() } else { q.floor() };
        let mut out = fit(Some(q as i64 + 1), "pooled size")?;
        // The fork tests the height's kernel and stride for both axes (C++ `%`: a negative
        // difference never counts as odd).
        if self.darknet && (self.kernel.0 - self.stride.0) % 2 == 1 {
            out += 1;
        }
        if clip {
            let limit = input + p;
            if (out - 1) * s >= limit {
                out -= 1;
            }
            if (out - 1) * s >= limit {
                return Err(err(format!(
                    "the last pooling window starts in the padding ((pooled {out} - 1) * stride {s} >= input {input} + pad {p})"
                )));
            }
        }
        if out < 0 {
            return Err(err(format!(
                "pooled size would be {out}: kernel {k} is larger than input {input} + 2 * pad {p}"
            )));
        }
        Ok(out)
    }
}

/// Pooling: top `[N, C, ceil((H + 2p - k) / s) + 1, ...]` (`round_mode: FLOOR`, or the fork
/// field `ceil_mode: false`, rounds down), minus one where the last window would start inside
/// the padding; `global_pooling` takes the whole plane. A second top (MAX only) is the argmax
/// mask, same shape.
/// FLOPs: `kh*kw` per output element (comparisons for MAX, adds for AVE/STOCHASTIC; the full
/// window even where it is clipped at the border), +1 divide for AVE.
pub(super) fn pooling(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.min_tops(1)?;
    let pp = param_or_default(l.lp.pooling_param());
    l.max_tops(if pp.pool() == PoolMethod::Max { 2 } else { 1 })?;
    let bottom = l.bottom(0)?;
    let has_kernel_hw = pp.kernel_h.is_some() && pp.kernel_w.is_some();
    if pp.global_pooling() {
        if pp.kernel_size.is_some() || pp.kernel_h.is_some() || pp.kernel_w.is_some() {
            return Err(err(
                "With Global_pooling: true Filter size cannot specified",
            ));
        }
    } else if pp.kernel_size.is_some() == has_kernel_hw {
        return Err(err(
            "Filter size is kernel_size OR kernel_h and kernel_w; not both (for non-square \
             filters both kernel_h and kernel_w are required)",
        ));
    }
    let has_pad_hw = pp.pad_h.is_some() || pp.pad_w.is_some();
    if has_pad_hw && !(pp.pad.is_none() && pp.pad_h.is_some() && pp.pad_w.is_some()) {
        return Err(err("pad is pad OR pad_h and pad_w are required"));
    }
    let has_stride_hw = pp.stride_h.is_some() || pp.stride_w.is_some();
    if has_stride_hw && !(pp.stride.is_none() && pp.stride_h.is_some() && pp.stride_w.is_some()) {
        return Err(err(
            "Stride is stride OR stride_h and stride_w are required",
        ));
    }
    let kernel = if pp.global_pooling() {
        (legacy(bottom, 2)?, legacy(bottom, 3)?)
    } else if pp.kernel_size.is_some() {
        let k = int(pp.kernel_size(), "kernel_size")?;
        (k, k)
    } else {
        (
            int(pp.kernel_h(), "kernel_h")?,
            int(pp.kernel_w(), "kernel_w")?,
        )
    };
    check_kernel(kernel)?;
    let pad = if pp.pad_h.is_some() {
        (int(pp.pad_h(), "pad_h")?, int(pp.pad_w(), "pad_w")?)
    } else {
        let p = int(pp.pad(), "pad")?;
        (p, p)
    };
    let stride = if pp.stride_h.is_some() {
        (
            int(pp.stride_h(), "stride_h")?,
            int(pp.stride_w(), "stride_w")?,
        )
    } else {
        let s = int(pp.stride(), "stride")?;
        (s, s)
    };
    if pp.global_pooling() && (pad != (0, 0) || stride != (1, 1)) {
        return Err(err(
            "With Global_pooling: true; only pad = 0 and stride = 1",
        ));
    }
    let darknet = l.ctx.pooling == PoolingRule::Darknet;
    let ceil = match pp.round_mode {
        _ if darknet => true,
        Some(_) => pp.round_mode() == RoundMode::Ceil,
        None => pp.ceil_mode(),
    };
    let window = Window {
        method: pp.pool(),
        kernel,
        pad,
        stride,
        ceil,
        darknet,
    };
    let (top, flops) = window.apply(bottom)?;
    Ok(Out {
        tops: vec![top; l.n_tops()],
        flops,
        ..Out::default()
    })
}

/// SPP: for each pyramid level `i` (`2^i` bins a side) a pooling with kernel
/// `ceil(H / 2^i)`, stride = kernel, pad `(kernel*2^i - H + 1) / 2`; the levels are flattened
/// to `[N, C*bins]` and concatenated to `[N, C*sum(bins)]`. One level is the pooling alone,
/// `[N, C, 1, 1]`.
/// FLOPs: the sum of the levels' pooling FLOPs.
pub(super) fn spp(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let sp = param_or_default(l.lp.spp_param());
    let bottom = l.bottom(0)?;
    let (h, w) = (legacy(bottom, 2)?, legacy(bottom, 3)?);
    if h <= 0 || w <= 0 {
        return Err(err(format!(
            "Input dimensions cannot be zero (bottom {bottom:?})"
        )));
    }
    let levels = int(sp.pyramid_height(), "pyramid_height")?;
    if levels == 0 {
        // The inner Split layer would get no tops.
        return Err(err("pyramid_height must be at least 1"));
    }
    if levels > 31 {
        return Err(err(format!(
            "pyramid_height {levels} is too large: 2^level bins overflow int"
        )));
    }
    let method = match sp.pool() {
        SppMethod::Max => PoolMethod::Max,
        SppMethod::Ave => PoolMethod::Ave,
        SppMethod::Stochastic => PoolMethod::Stochastic,
    };
    let mut flops = 0u64;
    let mut flat = 0i64;
    let mut single = None;
    for level in 0..levels {
        let bins = 1i64 << level;
        let side = |d: i64| -> Result<(i64, i64), RuleError> {
            // ceil(d / bins) in double, exact for int operands.
            let k = (d + bins - 1) / bins;
            let remainder = fit(k.checked_mul(bins), "kernel * bins")? - d;
            Ok((k, (remainder + 1) / 2))
        };
        let (kh, ph) = side(h)?;
        let (kw, pw) = side(w)?;
        let window = Window {
            method,
            kernel: (kh, kw),
            pad: (ph, pw),
            stride: (kh, kw),
            ceil: true,
            darknet: false,
        };
        let (top, f) = window.apply(bottom)?;
        flops = flops
            .checked_add(f)
            .ok_or_else(|| err("operation count overflows 64 bits"))?;
        let per_image = fit(top[1].checked_mul(top[2] * top[3]), "flattened level size")?;
        flat = fit(flat.checked_add(per_image), "SPP output size")?;
        single = Some(top);
    }
    let top = match single {
        Some(t) if levels == 1 => t,
        _ => blob(vec![bottom[0], flat])?,
    };
    Ok(Out {
        tops: vec![top],
        flops,
        ..Out::default()
    })
}

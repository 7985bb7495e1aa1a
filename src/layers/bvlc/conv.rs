//! Convolution, Deconvolution and Im2col: the geometry of BaseConvolutionLayer::LayerSetUp
//! (N-d kernels, `kernel_h/w`, `stride`, `pad`, `dilation`, `axis`, `group`) and each layer's
//! `compute_output_shape`.

use super::{blob, count_range, elems, err, filled, fit, int, u, Layer};
use crate::layers::{canonical_axis, mul, param_or_default, Out, RuleError, RuleResult, Shape};
use crate::proto::ConvolutionParameter;
use smallvec::{smallvec, SmallVec};

/// One value per spatial axis: inline for up to three axes, as every rule and memory replay
/// of a convolution builds four of them.
type Axes = SmallVec<[i64; 3]>;

/// The spatial configuration shared by the three layers.
struct Geometry {
    channel_axis: usize,
    kernel: Axes,
    stride: Axes,
    pad: Axes,
    dilation: Axes,
}

impl Geometry {
    /// `d(k-1)+1` for spatial axis `i`.
    fn extent(&self, i: usize) -> Result<i64, RuleError> {
        let span = fit(
            self.dilation[i].checked_mul(self.kernel[i] - 1),
            "dilation * (kernel - 1)",
        )?;
        fit(span.checked_add(1), "kernel extent")
    }

    /// ConvolutionLayer/Im2colLayer: `(in + 2p - extent) / s + 1`, with C++'s truncating
    /// division (so a kernel overhanging the input by less than a stride still gives 1).
    fn conv_out(&self, ty: &str, i: usize, input: i64) -> Result<i64, RuleError> {
        let ext = self.extent(i)?;
        let padded = fit(
            self.pad[i]
                .checked_mul(2)
                .and_then(|p2| input.checked_add(p2)),
            "input + 2 * pad",
        )?;
        let out = fit(Some((padded - ext) / self.stride[i] + 1), "output size")?;
        if out < 0 {
            return Err(err(format!(
                "{ty} output size along spatial axis {i} would be {out}: kernel extent {ext} \
                 (kernel {}, dilation {}) does not fit input {input} with pad {}",
                self.kernel[i], self.dilation[i], self.pad[i]
            )));
        }
        Ok(out)
    }

    /// DeconvolutionLayer: `s(in - 1) + extent - 2p`.
    fn deconv_out(&self, i: usize, input: i64) -> Result<i64, RuleError> {
        let ext = self.extent(i)?;
        let grown = fit(
            self.stride[i]
                .checked_mul(input - 1)
                .and_then(|v| v.checked_add(ext))
                .and_then(|v| v.checked_sub(2 * self.pad[i])),
            "deconvolution output size",
        )?;
        if grown < 0 {
            return Err(err(format!(
                "Deconvolution output size along spatial axis {i} would be {grown}: \
                 pad {} is too large for input {input}",
                self.pad[i]
            )));
        }
        Ok(grown)
    }
}

/// One per-axis setting (`stride`, `pad`, `dilation`): the repeated field given 0 times
/// (default), once, or once per spatial axis; or the `_h`/`_w` pair for 2-D.
fn per_axis(
    name: &str,
    values: &[u32],
    hw: (Option<u32>, Option<u32>),
    default: i64,
    nsp: usize,
) -> Result<Axes, RuleError> {
    if hw.0.is_some() || hw.1.is_some() {
        if nsp != 2 {
            return Err(err(format!(
                "{name}_h & {name}_w can only be used for 2D convolution"
            )));
        }
        if !values.is_empty() {
            return Err(err(format!(
                "Either {name} or {name}_h/w should be specified; not both"
            )));
        }
        return [hw.0, hw.1]
            .iter()
            .map(|v| int(v.unwrap_or(0), name))
            .collect();
    }
    if !(values.is_empty() || values.len() == 1 || values.len() == nsp) {
        return Err(err(format!(
            "{name} must be specified once, or once per spatial dimension ({name} specified {} times; {nsp} spatial dims)",
            values.len()
        )));
    }
    (0..nsp)
        .map(|i| match values {
            [] => Ok(default),
            [v] => int(*v, name),
            vs => int(vs[i], name),
        })
        .collect()
}

/// BaseConvolutionLayer::LayerSetUp's geometry (and Im2colLayer's, which needs at least one
/// spatial axis). DeepLab's `hole`/`hole_h`/`hole_w` are its name for dilation.
fn geometry(
    ty: &str,
    cp: &ConvolutionParameter,
    bottom: &Shape,
    min_spatial: usize,
) -> Result<Geometry, RuleError> {
    let channel_axis = canonical_axis(cp.axis(), bottom.len())?;
    let nsp = bottom.len() - channel_axis - 1;
    if nsp < min_spatial {
        return Err(err(format!(
            "{ty} needs at least {min_spatial} spatial axis after the channel axis {channel_axis}; bottom is {bottom:?}"
        )));
    }
    let kernel = if cp.kernel_h.is_some() || cp.kernel_w.is_some() {
        if nsp != 2 {
            return Err(err(
                "kernel_h & kernel_w can only be used for 2D convolution",
            ));
        }
        if !cp.kernel_size.is_empty() {
            return Err(err(
                "Either kernel_size or kernel_h/w should be specified; not both",
            ));
        }
        smallvec![
            int(cp.kernel_h(), "kernel_h")?,
            int(cp.kernel_w(), "kernel_w")?,
        ]
    } else {
        let k = cp.kernel_size.len();
        if !(k == 1 || k == nsp) {
            return Err(err(format!(
                "kernel_size must be specified once, or once per spatial dimension (kernel_size specified {k} times; {nsp} spatial dims)"
            )));
        }
        per_axis("kernel_size", &cp.kernel_size, (None, None), 0, nsp)?
    };
    if kernel.iter().any(|&k| k <= 0) {
        return Err(err(format!(
            "Filter dimensions must be nonzero (kernel {kernel:?})"
        )));
    }
    // Caffe checks stride > 0 only for the repeated field; a zero stride_h/w would divide by
    // zero in compute_output_shape, so it is refused the same way.
    let stride = per_axis("stride", &cp.stride, (cp.stride_h, cp.stride_w), 1, nsp)?;
    if stride.iter().any(|&s| s <= 0) {
        return Err(err(format!(
            "Stride dimensions must be nonzero (stride {stride:?})"
        )));
    }
    let pad = per_axis("pad", &cp.pad, (cp.pad_h, cp.pad_w), 0, nsp)?;
    let hole = cp.hole.is_some() || cp.hole_h.is_some() || cp.hole_w.is_some();
    let dilation = if cp.dilation.is_empty() && hole {
        if nsp != 2 {
            return Err(err("hole can only be used for 2D convolution"));
        }
        let h = if cp.hole.is_some() {
            cp.hole()
        } else {
            cp.hole_h()
        };
        let w = if cp.hole.is_some() {
            cp.hole()
        } else {
            cp.hole_w()
        };
        smallvec![int(h, "hole_h")?, int(w, "hole_w")?]
    } else {
        per_axis("dilation", &cp.dilation, (None, None), 1, nsp)?
    };
    Ok(Geometry {
        channel_axis,
        kernel,
        stride,
        pad,
        dilation,
    })
}

/// The checks and shapes common to Convolution and Deconvolution; `reverse` is
/// Deconvolution's `reverse_dimensions()`.
fn base_conv(l: &Layer, reverse: bool) -> RuleResult {
    l.min_bottoms(1)?;
    l.min_tops(1)?;
    if l.n_tops() != l.n_bottoms() {
        return Err(err(format!(
            "{} Layer produces one top blob as output for each bottom blob input ({} bottoms, {} tops)",
            l.ty,
            l.n_bottoms(),
            l.n_tops()
        )));
    }
    let cp = param_or_default(l.lp.convolution_param());
    let bottom = l.bottom(0)?;
    let g = geometry(l.ty, &cp, bottom, 0)?;
    let ca = g.channel_axis;
    let channels = bottom[ca];
    let num_output = int(cp.num_output(), "num_output")?;
    if num_output <= 0 {
        return Err(err(format!(
            "num_output must be positive (got {num_output})"
        )));
    }
    let group = int(cp.group(), "group")?;
    if group <= 0 {
        return Err(err(format!("group must be positive (got {group})")));
    }
    if channels % group != 0 {
        return Err(err(format!(
            "the {channels} input channels are not a multiple of group {group}"
        )));
    }
    if num_output % group != 0 {
        return Err(err(format!(
            "Number of output should be multiples of group (num_output {num_output}, group {group})"
        )));
    }
    let (conv_out, conv_in) = if reverse {
        (channels, num_output)
    } else {
        (num_output, channels)
    };
    let mut weight = vec![conv_out, conv_in / group];
    weight.extend_from_slice(&g.kernel);
    let weight = filled(weight, cp.weight_filler.as_deref(), "constant")?;
    let bias = if cp.bias_term() {
        Some(filled(
            vec![num_output],
            cp.bias_filler.as_deref(),
            "constant",
        )?)
    } else {
        None
    };
    for (i, b) in l.bottoms.iter().enumerate().skip(1) {
        if *b != bottom {
            return Err(err(format!(
                "shape mismatch - bottom[0]: {bottom:?} vs. bottom[{i}]: {b:?}"
            )));
        }
    }
    let input = &bottom[ca + 1..];
    let mut top = bottom[..ca].to_vec();
    top.push(num_output);
    for (i, &d) in input.iter().enumerate() {
        top.push(if reverse {
            g.deconv_out(i, d)?
        } else {
            g.conv_out(l.ty, i, d)?
        });
    }
    let top = blob(top)?;
    let params: Vec<Shape> = std::iter::once(weight).chain(bias).collect();

    // Per bottom: N * (conv_out_channels / group) ... see convolution()/deconvolution().
    let num = count_range(bottom, 0, ca)?;
    let kernel_dim = mul(&[u(conv_in / group)?, elems(&g.kernel)?])?;
    let per_image = if reverse {
        // Each input pixel scatters a (Cout/g) x kernel patch for each of its Cin channels.
        mul(&[
            u(channels)?,
            elems(input)?,
            u(num_output / group)?,
            elems(&g.kernel)?,
        ])?
    } else {
        mul(&[u(num_output)?, elems(&top[ca + 1..])?, kernel_dim])?
    };
    let n_bottoms = l.n_bottoms() as u64;
    let macs = mul(&[num, per_image, n_bottoms])?;
    let bias = if cp.bias_term() {
        mul(&[elems(&top)?, n_bottoms])?
    } else {
        0
    };
    let flops = mul(&[macs, 2])?
        .checked_add(bias)
        .ok_or_else(|| err("operation count overflows 64 bits"))?;
    Ok(Out {
        tops: vec![top; l.n_tops()],
        params,
        macs,
        flops,
    })
}

/// Convolution: top `[N.., Cout, floor-ish((H + 2p - (d(k-1)+1)) / s) + 1 ...]`, weight
/// `[Cout, Cin/g, k...]`, bias `[Cout]`.
/// MACs `N*Cout*prod(out)*(Cin/g)*prod(k)` per bottom; FLOPs `2*MACs` + one bias add per
/// output element.
pub(super) fn convolution(l: &Layer) -> RuleResult {
    base_conv(l, false)
}

/// Deconvolution: top `[N.., Cout, s(H-1) + d(k-1)+1 - 2p ...]`, weight `[Cin, Cout/g, k...]`,
/// bias `[Cout]`.
/// MACs `N*Cin*prod(in)*(Cout/g)*prod(k)` per bottom; FLOPs `2*MACs` + one bias add per
/// output element.
pub(super) fn deconvolution(l: &Layer) -> RuleResult {
    base_conv(l, true)
}

/// Im2col: the unfolded patches, `[N.., C*prod(k), out...]` with the convolution's output
/// size. A copy: 0 MACs, 0 FLOPs.
pub(super) fn im2col(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let cp = param_or_default(l.lp.convolution_param());
    let bottom = l.bottom(0)?;
    let g = geometry(l.ty, &cp, bottom, 1)?;
    let ca = g.channel_axis;
    let mut top = bottom.to_vec();
    let mut channels = bottom[ca];
    for (i, &k) in g.kernel.iter().enumerate() {
        channels = fit(channels.checked_mul(k), "channels * kernel")?;
        top[ca + 1 + i] = g.conv_out(l.ty, i, bottom[ca + 1 + i])?;
    }
    top[ca] = channels;
    Ok(Out {
        tops: vec![blob(top)?],
        ..Out::default()
    })
}

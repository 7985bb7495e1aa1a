//! Mobile-net layers: two depthwise convolutions (different forks, different rules) and
//! ShuffleNet's channel shuffle.

use super::{legacy4, param, top_range};
use crate::layers::{count, exact_bottoms, mul, Ctx, Out, RuleError, RuleResult, Shape};
use crate::proto::{ConvolutionParameter, LayerParameter};

/// One spatial setting of ConvolutionDepthwise, read the fork's way: the `_h`/`_w` pair when
/// both are set, else the list's only value for both, else its first two values. The fork
/// reads element 0 (and 1) of the list without checking its length, so a missing kernel,
/// stride or pad reads past an empty list: refused here rather than guessed.
fn hw(name: &str, h: Option<u32>, w: Option<u32>, list: &[u32]) -> Result<(u32, u32), RuleError> {
    if let (Some(h), Some(w)) = (h, w) {
        return Ok((h, w));
    }
    match list {
        [v] => Ok((*v, *v)),
        [h, w, ..] => Ok((*h, *w)),
        [] => Err(RuleError::new(format!(
            "ConvolutionDepthwise reads {name} without a default and none is set \
             (the fork would read past an empty list)"
        ))
        .with_hint(format!("set {name} explicitly in convolution_param"))),
    }
}

/// The fork's output size, in its own arithmetic: `unsigned` (pad, kernel, stride, dilation
/// are unsigned members, so `int` H is converted), wrapping, then stored into a
/// `vector<int>`. A kernel larger than the padded input wraps to a huge or negative size,
/// which Caffe's Reshape or count check then refuses.
fn dw_out(input: i64, pad: u32, kernel: u32, stride: u32, dilation: u32) -> Result<i64, RuleError> {
    if stride == 0 {
        return Err("ConvolutionDepthwise: stride 0 divides by zero".into());
    }
    let extent = dilation
        .wrapping_mul(kernel.wrapping_sub(1))
        .wrapping_add(1);
    let span = (input as u32)
        .wrapping_add(pad.wrapping_mul(2))
        .wrapping_sub(extent);
    let out = (span / stride).wrapping_add(1) as i32;
    if out < 0 {
        return Err(format!(
            "ConvolutionDepthwise output size is negative ({out}): kernel {kernel} \
             (dilation {dilation}) does not fit input {input} with pad {pad}"
        )
        .into());
    }
    Ok(i64::from(out))
}

/// ConvolutionDepthwise (farmingyard/caffe-mobilenet@f7d7d130 conv_dw_layer.cpp): one filter
/// per input channel, whatever `num_output` and `group` say. Top `[N, C, H_out, W_out]`,
/// weights `[C, 1, kh, kw]`, bias `[C]` when `bias_term`. `dilation` defaults to 1; kernel,
/// stride and pad have no default in this fork (see `hw`).
///
/// MACs as a grouped convolution with group = C: `N*C*H_out*W_out*kh*kw`; flops `2*macs` plus
/// one bias add per output element.
pub fn convolution_depthwise(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("ConvolutionDepthwise", bottoms, 1)?;
    top_range("ConvolutionDepthwise", lp, 1, 1)?;
    let p: ConvolutionParameter = param(lp.convolution_param());
    let (kh, kw) = hw("kernel_size", p.kernel_h, p.kernel_w, &p.kernel_size)?;
    let (sh, sw) = hw("stride", p.stride_h, p.stride_w, &p.stride)?;
    let (ph, pw) = hw("pad", p.pad_h, p.pad_w, &p.pad)?;
    let (dh, dw) = match p.dilation.as_slice() {
        [] => (1, 1),
        [d] => (*d, *d),
        [h, w, ..] => (*h, *w),
    };
    let [n, c, h, w] = legacy4(bottoms[0])?;
    let top = vec![n, c, dw_out(h, ph, kh, sh, dh)?, dw_out(w, pw, kw, sw, dw)?];
    let outputs = count(&top)?;
    let mut params = vec![Shape::from([c, 1, i64::from(kh), i64::from(kw)])];
    // Caffe refuses a weight blob over INT_MAX elements, as any blob.
    count(&params[0])?;
    let mut flops_bias = 0;
    if p.bias_term() {
        params.push([c].into());
        flops_bias = outputs;
    }
    let macs = mul(&[outputs, u64::from(kh), u64::from(kw)])?;
    let flops = mul(&[macs, 2])?
        .checked_add(flops_bias)
        .ok_or_else(|| RuleError::new("operation count overflows 64 bits"))?;
    Ok(Out {
        tops: vec![top.into()],
        params,
        macs,
        flops,
    })
}

/// DepthwiseConvolution (yonghenglh6/DepthwiseConvolution@2b9cf52a
/// caffe/src/caffe/layers/depthwise_conv_layer.cpp): a BaseConvolutionLayer whose
/// compute_output_shape is Convolution's, so shapes, blobs (`[num_output, C/group, kh, kw]`,
/// `num_output` and `group` respected) and the grouped MACs are exactly Convolution's rule.
pub fn depthwise_convolution(lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> RuleResult {
    crate::layers::bvlc::infer("Convolution", lp, bottoms, ctx).unwrap_or_else(|| {
        Err("DepthwiseConvolution follows the Convolution rule, which is missing".into())
    })
}

/// ShuffleChannel (farmingyard/ShuffleNet@b9624442 shuffle_channel_layer.cpp): a permutation
/// of channels; the top is reshaped with the legacy accessors, so it is the bottom as
/// `[N, C, H, W]` (a `[N, C]` bottom gives `[N, C, 1, 1]`). `group` must be > 0; C divisible by
/// it is only checked in Forward, so setup accepts any C. Flops: 0 (a copy).
pub fn shuffle_channel(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    // The layer declares no blob counts: it reads bottom 0 and reshapes top 0 only, so one
    // top is required here (a further top would stay an unshaped, empty blob).
    let Some(bottom) = bottoms.first() else {
        return Err("ShuffleChannel needs a bottom".into());
    };
    top_range("ShuffleChannel", lp, 1, 1)?;
    let group = lp.shuffle_channel_param().map_or(1, |p| p.group());
    if group == 0 {
        return Err("group must be greater than 0".into());
    }
    Ok(Out {
        tops: vec![legacy4(bottom)?.into()],
        ..Out::default()
    })
}

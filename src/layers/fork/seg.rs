//! Semantic segmentation forks: PSPNet (`BN`, `Interp`), SegNet (its own `BN`, the unpooling
//! `Upsample`, `DenseImageData`) and DeepLab (`ImageSegData`, `SegAccuracy`, `Padding`,
//! `MatWrite`; its `Interp` agrees with PSPNet's wherever DeepLab accepts the parameters).

use super::{bottom_range, dim, legacy4, param, per_element, top_range, unknown_top};
use crate::layers::{count, exact_bottoms, Ctx, Out, RuleError, RuleResult, Shape};
use crate::proto::bn_parameter::BnMode;
use crate::proto::{BnParameter, LayerParameter};

/// `BN`: two forks use the name with different code, told apart by their parameters:
/// SegNet's `bn_param` has `bn_mode`, `scale_filler`, `shift_filler`; PSPNet's has
/// `slope_filler`, `bias_filler`, `momentum`, `eps`, `frozen`. A layer setting any SegNet field
/// follows SegNet; any other (no `bn_param` included) follows PSPNet, whose nets the multi-fork
/// oracle built.
///
/// Flops, both forks: 4 per element (subtract the mean, divide by the deviation, scale, shift).
pub fn bn(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    let p = param(lp.bn_param());
    if p.bn_mode.is_some() || p.scale_filler.is_some() || p.shift_filler.is_some() {
        segnet_bn(lp, &p, bottoms)
    } else {
        pspnet_bn(lp, bottoms)
    }
}

/// PSPNet's BN (hszhao/PSPNet@798bdc90 src/caffe/layers/bn_layer.cpp): top = bottom; four
/// blobs (slope, bias, running mean, running variance), each `[1, C, 1, 1]`.
///
/// Note for the walker: its LayerSetUp appends `param` entries up to four and forces blobs 2
/// and 3 (and 0 and 1 when `frozen`) to lr_mult 0 and decay_mult 0.
fn pspnet_bn(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("BN", bottoms, 1)?;
    top_range("BN", lp, 1, 1)?;
    let c = legacy4(bottoms[0])?[1];
    let mut out = per_element(bottoms[0].clone(), 4)?;
    out.params = vec![Shape::from([1, c, 1, 1]); 4];
    Ok(out)
}

/// SegNet's BN (alexgkendall/caffe-segnet@344c113b src/caffe/layers/bn_layer.cpp): top 0 is the
/// bottom as `[N, C, H, W]` (legacy accessors); in LEARN mode up to two more tops carry the
/// batch mean and variance, `[1, C, 1, 1]` each. Two blobs, scale and shift, `[1, C, 1, 1]`.
fn segnet_bn(lp: &LayerParameter, p: &BnParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("BN", bottoms, 1)?;
    let max_tops = if p.bn_mode() == BnMode::Learn { 3 } else { 1 };
    top_range("BN", lp, 1, max_tops)?;
    let [n, c, h, w] = legacy4(bottoms[0])?;
    let mut out = per_element([n, c, h, w], 4)?;
    for _ in 1..lp.top.len() {
        out.tops.push([1, c, 1, 1].into());
    }
    out.params = vec![Shape::from([1, c, 1, 1]); 2];
    Ok(out)
}

/// Interp, bilinear resizing, `[N, C, H_out, W_out]`.
///
/// One bottom: hszhao/PSPNet@798bdc90 src/caffe/layers/interp_layer.cpp. The input is first
/// cropped by `pad_beg`/`pad_end` (both <= 0), then the rule is picked by which fields are
/// *present*: `shrink_factor` s alone gives `(in - 1) / s + 1`; `zoom_factor` z alone gives
/// `in + (in - 1)(z - 1)`; otherwise `height` and `width` together give a fixed size; both
/// factors shrink, then zoom. DeepLab's Interp (TheLegendAli/DeepLab-Context@fb04e9e2) gives
/// the same sizes but refuses more than one of the three ways; nets written for it pass here.
///
/// Two bottoms: the extension in afriesen/caffe@50d9efb3 src/caffe/layers/interp_layer.cpp
/// takes the second bottom's height and width, and refuses any size field alongside it
/// (PSPNet itself takes exactly one bottom).
///
/// Flops: 9 per output element (bilinear: three linear interpolations of 2 multiplies and an
/// add each).
pub fn interp(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    bottom_range("Interp", bottoms, 1, 2)?;
    top_range("Interp", lp, 1, 1)?;
    let p = param(lp.interp_param());
    let (pad_beg, pad_end) = (i64::from(p.pad_beg()), i64::from(p.pad_end()));
    if pad_beg > 0 || pad_end > 0 {
        return Err("Only supports non-pos padding (cropping) for now".into());
    }
    let [n, c, h_in, w_in] = legacy4(bottoms[0])?;
    let (h_eff, w_eff) = (h_in + pad_beg + pad_end, w_in + pad_beg + pad_end);
    let shrink = |v: i64, s: i32| -> Result<i64, RuleError> {
        if s < 1 {
            return Err("Shrink factor must be positive".into());
        }
        // C++ integer division, truncating toward zero like Rust's.
        Ok((v - 1) / i64::from(s) + 1)
    };
    let zoom = |v: i64, z: i32| -> Result<i64, RuleError> {
        if z < 1 {
            return Err("Zoom factor must be positive".into());
        }
        (v - 1)
            .checked_mul(i64::from(z) - 1)
            .and_then(|g| g.checked_add(v))
            .ok_or_else(|| RuleError::new("Interp output size overflows"))
    };
    let (h_out, w_out) = if let Some(second) = bottoms.get(1) {
        if p.shrink_factor.is_some()
            || p.zoom_factor.is_some()
            || p.height.is_some()
            || p.width.is_some()
        {
            return Err(
                "Interp layer cannot have a second bottom layer if any of its shrink, \
                        zoom, height, or width parameters are specified because it is ambiguous"
                    .into(),
            );
        }
        let [n2, _, h2, w2] = legacy4(second)?;
        if n2 != n {
            return Err(format!("Interp: the second bottom's num {n2} differs from {n}").into());
        }
        (h2, w2)
    } else {
        match (p.shrink_factor, p.zoom_factor) {
            (Some(s), None) => (shrink(h_eff, s)?, shrink(w_eff, s)?),
            (None, Some(z)) => (zoom(h_eff, z)?, zoom(w_eff, z)?),
            _ if p.height.is_some() && p.width.is_some() => {
                (i64::from(p.height()), i64::from(p.width()))
            }
            (Some(s), Some(z)) => {
                let (h, w) = (shrink(h_eff, s)?, shrink(w_eff, s)?);
                (zoom(h, z)?, zoom(w, z)?)
            }
            (None, None) => {
                return Err(RuleError::new("Interp: no output size given").with_hint(
                    "set zoom_factor, shrink_factor, or height and width in interp_param",
                ))
            }
        }
    };
    if h_eff <= 0 || w_eff <= 0 {
        return Err("Interp: the cropped input height and width should be positive".into());
    }
    if h_out <= 0 || w_out <= 0 {
        return Err("Interp: the output height and width should be positive".into());
    }
    let h_out = dim(Some(h_out), "Interp output height")?;
    let w_out = dim(Some(w_out), "Interp output width")?;
    per_element(vec![n, c, h_out, w_out], 9)
}

/// SegNet's Upsample, max-unpooling (alexgkendall/caffe-segnet@344c113b
/// src/caffe/layers/upsample_layer.cpp): bottoms the pooled map and its pooling mask, both 4-D
/// and of one shape; the top is `[N, C, upsample_h, upsample_w]` when both are given, else
/// `H*scale_h - pad_out_h` by `W*scale_w - pad_out_w` (`scale`, default 2, sets both; each
/// scale must be > 1, and `pad_out_*` needs a scale of 2). Chosen for a two-bottom Upsample;
/// the one-bottom forms are darknet's (see `yolo`). Flops: 0 (it scatters values).
pub fn unpool(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("Upsample", bottoms, 2)?;
    top_range("Upsample", lp, 1, 1)?;
    let p = param(lp.upsample_param());
    let explicit = p.upsample_h.is_some() && p.upsample_w.is_some();
    let pair = p.scale_h.is_some() && p.scale_w.is_some();
    let neither = p.scale_h.is_none() && p.scale_w.is_none();
    if !(explicit || (p.scale.is_none() && pair) || neither) {
        return Err(
            "upsample_h & upsample_w are required, else (DEPRECATED) scale OR \
                    scale_h & scale_w are required."
                .into(),
        );
    }
    let (b, mask) = (bottoms[0], bottoms[1]);
    if b.len() != 4 || mask.len() != 4 {
        return Err(
            "Input and mask must have 4 axes, corresponding to (num, channels, height, width)"
                .into(),
        );
    }
    if b != mask {
        return Err(format!("Upsample: input {b:?} and mask {mask:?} differ").into());
    }
    let (h, w) = if explicit {
        let (uh, uw) = (p.upsample_h(), p.upsample_w());
        if uh <= 1 || uw <= 1 {
            return Err("Upsample: upsample_h and upsample_w must be > 1".into());
        }
        (i64::from(uh), i64::from(uw))
    } else {
        let (sh, sw) = if neither {
            (p.scale(), p.scale())
        } else {
            (p.scale_h(), p.scale_w())
        };
        if sh <= 1 || sw <= 1 {
            return Err("Upsample: the scale must be > 1".into());
        }
        if (p.pad_out_h() && sh != 2) || (p.pad_out_w() && sw != 2) {
            return Err(
                "Output padding compensation requires a scale of 2, otherwise the \
                        output size is ill-defined."
                    .into(),
            );
        }
        let up =
            |v: i64, s: u32, pad: bool| v.checked_mul(i64::from(s)).map(|x| x - i64::from(pad));
        (
            dim(up(b[2], sh, p.pad_out_h()), "Upsample output height")?,
            dim(up(b[3], sw, p.pad_out_w()), "Upsample output width")?,
        )
    };
    Ok(Out {
        tops: vec![Shape::from([b[0], b[1], h, w])],
        ..Out::default()
    })
}

/// The first of a data layer's (height, width) settings that is set (both non-zero); `None`
/// when none is, and the size is the first image's own.
fn first_size(candidates: &[(u32, u32)]) -> Option<(i64, i64)> {
    candidates
        .iter()
        .find(|&&(h, w)| h > 0 && w > 0)
        .map(|&(h, w)| (i64::from(h), i64::from(w)))
}

/// The image and label tops of a segmentation data layer: `[B, C, H, W]` and `[B, 1, H, W]`,
/// each from `--input` first; a given image shape also sizes an ungiven label.
fn image_and_label(
    lp: &LayerParameter,
    ctx: &Ctx,
    batch: i64,
    channels: i64,
    size: Option<(i64, i64)>,
) -> Result<Vec<Shape>, RuleError> {
    let data_name = &lp.top[0];
    let data = match (ctx.given(data_name), size) {
        (Some(s), _) => s.clone(),
        (None, Some((h, w))) => [batch, channels, h, w].into(),
        (None, None) => {
            return Err(unknown_top(
                data_name,
                "it takes its first image's size: no crop or new size is set",
                &format!("{batch},{channels},H,W"),
            ))
        }
    };
    let mut tops = vec![data.clone()];
    if let Some(label_name) = lp.top.get(1) {
        let label = match ctx.given(label_name) {
            Some(s) => s.clone(),
            None if data.len() == 4 => [data[0], 1, data[2], data[3]].into(),
            None => {
                return Err(unknown_top(
                    label_name,
                    &format!("the given '{data_name}' {data:?} is not [N, C, H, W]"),
                    "N,1,H,W",
                ))
            }
        };
        tops.push(label);
    }
    Ok(tops)
}

/// DenseImageData (alexgkendall/caffe-segnet@344c113b src/caffe/layers/dense_image_data_layer.cpp):
/// image `[batch_size, C, H, W]` and label map `[batch_size, 1, H, W]`. H, W: the transform's
/// `crop_size`, else `crop_height`/`crop_width`, else `new_height`/`new_width`, else the first
/// image's size (then `--input` must give it). C is 3, or 1 with `is_color: false`.
pub fn dense_image_data(lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> RuleResult {
    exact_bottoms("DenseImageData", bottoms, 0)?;
    top_range("DenseImageData", lp, 2, 2)?;
    let p = param(lp.dense_image_data_param());
    let (nh, nw) = (p.new_height(), p.new_width());
    if (nh == 0) != (nw == 0) {
        return Err(
            "Current implementation requires new_height and new_width to be set at \
                    the same time."
                .into(),
        );
    }
    let (ch, cw) = (p.crop_height(), p.crop_width());
    if (ch == 0) != (cw == 0) {
        return Err(
            "Current implementation requires crop_height and crop_width to be set at \
                    the same time."
                .into(),
        );
    }
    let crop = lp.transform_param().map_or(0, |t| t.crop_size());
    let size = first_size(&[(crop, crop), (ch, cw), (nh, nw)]);
    let channels = if p.is_color() { 3 } else { 1 };
    let tops = image_and_label(lp, ctx, i64::from(p.batch_size()), channels, size)?;
    Ok(Out {
        tops,
        ..Out::default()
    })
}

/// ImageSegData (TheLegendAli/DeepLab-Context@fb04e9e2 src/caffe/layers/image_seg_data_layer.cpp,
/// V1 type IMAGE_SEG_DATA): image `[batch_size, C, H, W]`, label `[batch_size, 1, H, W]`, and
/// the image sizes `[batch_size, 1, 1, 2]`. H, W: the transform's `crop_size`, else
/// `new_height`/`new_width`, else the first image's. C is 3, or 1 with `is_color: false`.
///
/// Note for the walker: the layer has exactly 3 tops and AutoTopBlobs, so Caffe adds anonymous
/// tops for those a net leaves unnamed; only the named ones are returned here.
pub fn image_seg_data(lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> RuleResult {
    exact_bottoms("ImageSegData", bottoms, 0)?;
    top_range("ImageSegData", lp, 1, 3)?;
    let p = param(lp.image_data_param());
    let t = param(lp.transform_param());
    if t.mean_file.is_some() {
        return Err("ImageSegDataLayer does not support mean file".into());
    }
    let (nh, nw) = (p.new_height(), p.new_width());
    if (nh == 0) != (nw == 0) {
        return Err(
            "Current implementation requires new_height and new_width to be set at \
                    the same time."
                .into(),
        );
    }
    let crop = t.crop_size();
    let size = first_size(&[(crop, crop), (nh, nw)]);
    let channels = if p.is_color() { 3 } else { 1 };
    let batch = i64::from(p.batch_size());
    let mut tops = image_and_label(lp, ctx, batch, channels, size)?;
    if let Some(dims) = lp.top.get(2) {
        tops.push(
            ctx.given(dims)
                .cloned()
                .unwrap_or_else(|| [batch, 1, 1, 2].into()),
        );
    }
    Ok(Out {
        tops,
        ..Out::default()
    })
}

/// SegAccuracy (TheLegendAli/DeepLab-Context@fb04e9e2 src/caffe/layers/seg_accuracy_layer.cpp):
/// scores `[N, C, H, W]` against a label map `[N, 1, H, W]`; the top is `[1, 1, 1, 3]`
/// (pixel accuracy, mean class accuracy, mean IoU). Flops: one comparison per score.
pub fn seg_accuracy(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("SegAccuracy", bottoms, 2)?;
    top_range("SegAccuracy", lp, 1, 1)?;
    let [n, c, h, w] = legacy4(bottoms[0])?;
    let [ln, lc, lh, lw] = legacy4(bottoms[1])?;
    if c < 1 {
        return Err("SegAccuracy: the scores need at least one channel".into());
    }
    if ln != n {
        return Err("The data and label should have the same number.".into());
    }
    if lc != 1 {
        return Err("The label should have one channel.".into());
    }
    if (lh, lw) != (h, w) {
        return Err("The data should have the same height and width as label.".into());
    }
    Ok(Out {
        tops: vec![Shape::from([1, 1, 1, 3])],
        flops: count(bottoms[0])?,
        ..Out::default()
    })
}

/// Padding (TheLegendAli/DeepLab-Context@fb04e9e2 src/caffe/layers/padding_layer.cpp, V1 type
/// PADDING): adds `pad_beg` and `pad_end` to H and W, both >= 0 (zero padding) or both <= 0
/// (a crop). Flops: 0 (a copy).
pub fn padding(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("Padding", bottoms, 1)?;
    top_range("Padding", lp, 1, 1)?;
    let p = param(lp.padding_param());
    let (beg, end) = (i64::from(p.pad_beg()), i64::from(p.pad_end()));
    if (beg > 0 && end < 0) || (beg < 0 && end > 0) {
        return Err("Padding must either be both positive or negative".into());
    }
    let [n, c, h, w] = legacy4(bottoms[0])?;
    let (h, w) = (h + beg + end, w + beg + end);
    if h <= 0 || w <= 0 {
        return Err("Padding makes height or width <= 0".into());
    }
    let h = dim(Some(h), "Padding output height")?;
    let w = dim(Some(w), "Padding output width")?;
    Ok(Out {
        tops: vec![Shape::from([n, c, h, w])],
        ..Out::default()
    })
}

/// MatWrite (TheLegendAli/DeepLab-Context@fb04e9e2 src/caffe/layers/mat_write_layer.cpp, V1
/// type MAT_WRITE): writes its bottoms to .mat files every `period` iterations; no tops. Its
/// `source` list is not opened here.
pub fn mat_write(lp: &LayerParameter) -> RuleResult {
    top_range("MatWrite", lp, 0, 0)?;
    let period = lp.mat_write_param().map_or(1, |p| p.period());
    if period <= 0 {
        return Err("period must be positive".into());
    }
    Ok(Out::default())
}

//! Layers that bring blobs into the net (Input, the data layers, DummyData, Parameter, Python)
//! and the sinks (HDF5Output, Silence). All of them move data only: 0 MACs, 0 FLOPs.
//!
//! A top named in `--input` takes that shape first (SPEC §1: input-like layers); otherwise the
//! shape comes from the layer's parameters as its `LayerSetUp` derives it, and a dimension that
//! Caffe reads from a file (a database, an image, an .h5 file) is refused with a hint naming the
//! flag that supplies it.

use super::{blob, err, int, tops_only, Layer};
use crate::layers::{param_or_default, RuleError, RuleResult, Shape};
use crate::proto::BlobShape;

/// `Blob::Reshape(const BlobShape&)`.
fn from_proto(s: &BlobShape) -> Result<Shape, RuleError> {
    let dims = s
        .dim
        .iter()
        .map(|&d| int(d, "shape dimension"))
        .collect::<Result<Shape, _>>()?;
    blob(dims)
}

/// The shape given with `--input` for top `i`, validated like any blob.
fn given(l: &Layer, i: usize) -> Result<Option<Shape>, RuleError> {
    l.ctx
        .given(l.top_name(i))
        .map(|s| blob(s.clone()))
        .transpose()
}

/// Refusal for a top whose shape lives outside the net; `known` tells what the net does fix.
fn unknown(top: &str, why: &str, known: &str) -> RuleError {
    let hint = if known.is_empty() {
        format!("use --input {top}=N,C,H,W")
    } else {
        format!("use --input {top}=N,C,H,W ({known})")
    };
    RuleError::new(format!(
        "shape of blob '{top}' cannot be known from the net ({why})"
    ))
    .with_hint(hint)
}

/// Input: every top from `--input`, else from `input_param.shape`, given once for all tops or
/// once per top (InputLayer::LayerSetUp).
pub(super) fn input(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.min_tops(1)?;
    let shapes = l.lp.input_param().map_or(&[][..], |p| &p.shape[..]);
    let n = l.n_tops();
    if !(shapes.is_empty() || shapes.len() == 1 || shapes.len() == n) {
        return Err(err(format!(
            "Must specify 'shape' once, once per top blob, or not at all: {n} tops vs. {} shapes",
            shapes.len()
        )));
    }
    let mut tops = Vec::with_capacity(n);
    for i in 0..n {
        let shape = match given(l, i)? {
            Some(s) => s,
            None => match shapes.get(if shapes.len() == 1 { 0 } else { i }) {
                Some(s) => from_proto(s)?,
                None => {
                    return Err(unknown(
                        l.top_name(i),
                        "the Input layer has no input_param shape for it",
                        "",
                    ))
                }
            },
        };
        tops.push(shape);
    }
    Ok(tops_only(tops, 0))
}

/// The label top of a data layer: `[N]`, N being the data top's batch (DataLayer,
/// ImageDataLayer, WindowDataLayer reshape it to `batch_size`; when the data shape was given,
/// its N is the batch the user asked for).
fn label(l: &Layer, data: &Shape) -> Result<Shape, RuleError> {
    match given(l, 1)? {
        Some(s) => Ok(s),
        None => blob(vec![data.first().copied().unwrap_or(1)]),
    }
}

/// `transform_param.crop_size`, or the pre-upgrade field of the data layer's own parameter
/// (upgrade_proto.cpp moves it; a net read without the upgrade keeps it there).
fn crop_size(l: &Layer, legacy: u32) -> Result<i64, RuleError> {
    let c = l.lp.transform_param().map_or(0, |t| t.crop_size());
    int(if c != 0 { c } else { legacy }, "crop_size")
}

/// Data (LMDB/LevelDB): `[batch_size, C, H, W]` from the first datum, label `[batch_size]`.
/// The datum's channels are never in the net, so the data top needs `--input`.
pub(super) fn data(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.min_tops(1)?;
    l.max_tops(2)?;
    let dp = param_or_default(l.lp.data_param());
    let n = int(dp.batch_size(), "batch_size")?;
    let crop = crop_size(l, dp.crop_size())?;
    let data = match given(l, 0)? {
        Some(s) => s,
        None => {
            let known = if crop > 0 {
                format!("batch_size and crop_size give N={n}, H=W={crop}")
            } else {
                format!("batch_size gives N={n}")
            };
            return Err(unknown(
                l.top_name(0),
                "a Data layer reads it from its database",
                &known,
            ));
        }
    };
    let mut tops = vec![data];
    if l.n_tops() == 2 {
        tops.push(label(l, &tops[0])?);
    }
    Ok(tops_only(tops, 0))
}

/// ImageData: `[batch_size, 3 (1 when !is_color), H, W]`, H×W = crop_size, else
/// new_height×new_width, else the first image's size (unknown here); label `[batch_size]`.
pub(super) fn image_data(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.exact_tops(2)?;
    let p = param_or_default(l.lp.image_data_param());
    let (nh, nw) = (
        int(p.new_height(), "new_height")?,
        int(p.new_width(), "new_width")?,
    );
    if !((nh == 0 && nw == 0) || (nh > 0 && nw > 0)) {
        return Err(err(
            "Current implementation requires new_height and new_width to be set at the same time",
        ));
    }
    let n = int(p.batch_size(), "batch_size")?;
    if n <= 0 {
        return Err(err(
            "Positive batch size required (image_data_param.batch_size)",
        ));
    }
    let crop = crop_size(l, p.crop_size())?;
    if nh > 0 && (crop > nh || crop > nw) {
        return Err(err(format!(
            "crop_size {crop} is larger than the resized image ({nh}x{nw})"
        )));
    }
    let data = match given(l, 0)? {
        Some(s) => s,
        None => {
            let channels = if p.is_color() { 3 } else { 1 };
            let (h, w) = if crop > 0 {
                (crop, crop)
            } else if nh > 0 {
                (nh, nw)
            } else {
                return Err(unknown(
                    l.top_name(0),
                    "an ImageData layer without crop_size or new_height/new_width takes \
                     its height and width from the first image",
                    &format!("N={n}, C={channels}"),
                ));
            };
            blob(vec![n, channels, h, w])?
        }
    };
    let label = label(l, &data)?;
    Ok(tops_only(vec![data, label], 0))
}

/// WindowData: `[batch_size, 3, crop_size, crop_size]` (windows are warped to the crop size;
/// images are read in colour), label `[batch_size]`.
pub(super) fn window_data(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.exact_tops(2)?;
    let p = param_or_default(l.lp.window_data_param());
    let n = int(p.batch_size(), "batch_size")?;
    let data = match given(l, 0)? {
        Some(s) => s,
        None => {
            let crop = crop_size(l, p.crop_size())?;
            if crop <= 0 {
                return Err(err("WindowData needs transform_param.crop_size > 0"));
            }
            blob(vec![n, 3, crop, crop])?
        }
    };
    let label = label(l, &data)?;
    Ok(tops_only(vec![data, label], 0))
}

/// HDF5Data: every top is `[batch_size, dims of the .h5 dataset...]`; the dataset's dims live in
/// the files, so each top needs `--input`.
pub(super) fn hdf5_data(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.min_tops(1)?;
    if l.lp.transform_param().is_some() {
        return Err(err(
            "HDF5Data does not transform data (remove transform_param)",
        ));
    }
    let n = l.lp.hdf5_data_param().map_or(0, |p| p.batch_size());
    let mut tops = Vec::with_capacity(l.n_tops());
    for i in 0..l.n_tops() {
        match given(l, i)? {
            Some(s) => tops.push(s),
            None => {
                return Err(unknown(
                    l.top_name(i),
                    "an HDF5Data layer reads it from its .h5 files",
                    &format!("batch_size gives N={n}"),
                ))
            }
        }
    }
    Ok(tops_only(tops, 0))
}

/// MemoryData: `[batch_size, channels, height, width]` and label `[batch_size]`, all four
/// required positive.
pub(super) fn memory_data(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.exact_tops(2)?;
    let p = param_or_default(l.lp.memory_data_param());
    let dims = [
        int(p.batch_size(), "batch_size")?,
        int(p.channels(), "channels")?,
        int(p.height(), "height")?,
        int(p.width(), "width")?,
    ];
    if dims.iter().any(|&d| d <= 0) {
        return Err(err(
            "batch_size, channels, height, and width must be specified and positive in memory_data_param",
        ));
    }
    let data = match given(l, 0)? {
        Some(s) => s,
        None => blob(dims.to_vec())?,
    };
    let label = label(l, &data)?;
    Ok(tops_only(vec![data, label], 0))
}

/// DummyData: `shape` once or once per top, or the legacy num/channels/height/width fields
/// (each once or once per top); data fillers 0, 1 or one per top.
pub(super) fn dummy_data(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.min_tops(1)?;
    let p = param_or_default(l.lp.dummy_data_param());
    let n = l.n_tops();
    let fillers = p.data_filler.len();
    if !(fillers == 0 || fillers == 1 || fillers == n) {
        return Err(err(format!(
            "Number of data fillers must be 0, 1 or equal to the number of tops: {n}; you specified {fillers} data fillers"
        )));
    }
    let legacy =
        !(p.num.is_empty() && p.channels.is_empty() && p.height.is_empty() && p.width.is_empty());
    // Once, or once per top.
    let per_top = |len: usize| len == 1 || len == n;
    if legacy {
        if !p.shape.is_empty() {
            return Err(err("Both shape and legacy fields were specified"));
        }
        for (field, len) in [
            ("num", p.num.len()),
            ("channels", p.channels.len()),
            ("height", p.height.len()),
            ("width", p.width.len()),
        ] {
            if !per_top(len) {
                return Err(err(format!(
                    "Must specify '{field}' once, or once per top blob ({n}); specified {len}"
                )));
            }
        }
    } else if !per_top(p.shape.len()) {
        return Err(err(format!(
            "Must specify 'shape' once, or once per top blob ({n}); specified {}",
            p.shape.len()
        )));
    }
    let pick = |v: &[u32], i: usize, what: &str| -> Result<i64, RuleError> {
        let x = if v.len() == 1 { v.first() } else { v.get(i) };
        int(x.copied().unwrap_or(0), what)
    };
    let mut tops = Vec::with_capacity(n);
    for i in 0..n {
        let shape = match given(l, i)? {
            Some(s) => s,
            None if legacy => blob(vec![
                pick(&p.num, i, "num")?,
                pick(&p.channels, i, "channels")?,
                pick(&p.height, i, "height")?,
                pick(&p.width, i, "width")?,
            ])?,
            None => {
                let s = if p.shape.len() == 1 {
                    p.shape.first()
                } else {
                    p.shape.get(i)
                };
                from_proto(s.ok_or_else(|| err("DummyData has no shape for this top"))?)?
            }
        };
        tops.push(shape);
    }
    Ok(tops_only(tops, 0))
}

/// Parameter: one learnable blob of `parameter_param.shape`, exposed as the top.
pub(super) fn parameter(l: &Layer) -> RuleResult {
    l.exact_bottoms(0)?;
    l.exact_tops(1)?;
    let shape = match l.lp.parameter_param().and_then(|p| p.shape.as_ref()) {
        Some(s) => from_proto(s)?,
        None => Shape::scalar(),
    };
    let mut out = tops_only(vec![shape.clone()], 0);
    out.params.push(shape);
    Ok(out)
}

/// Python: the layer's own code shapes its tops, so each needs `--input`.
pub(super) fn python(l: &Layer) -> RuleResult {
    let mut tops = Vec::with_capacity(l.n_tops());
    for i in 0..l.n_tops() {
        match given(l, i)? {
            Some(s) => tops.push(s),
            None => {
                return Err(unknown(
                    l.top_name(i),
                    "a Python layer shapes its tops in its own code",
                    "",
                ))
            }
        }
    }
    Ok(tops_only(tops, 0))
}

/// HDF5Output: writes its two bottoms to a file; no tops.
pub(super) fn hdf5_output(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    l.exact_tops(0)?;
    Ok(tops_only(Vec::new(), 0))
}

/// Silence: consumes its bottoms; no tops.
pub(super) fn silence(l: &Layer) -> RuleResult {
    l.min_bottoms(1)?;
    l.exact_tops(0)?;
    Ok(tops_only(Vec::new(), 0))
}

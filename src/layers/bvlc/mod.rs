//! Rules for every layer type BVLC Caffe master registers (`REGISTER_LAYER_CLASS` /
//! `REGISTER_LAYER_CREATOR` in src/caffe/layers and layer_factory.cpp at 9b891540).
//!
//! Each rule replays the layer's `CheckBlobCounts`, `LayerSetUp` and `Reshape`: the same checks
//! in the same order (so the first failing one is the one Caffe reports), the same integer
//! arithmetic (C++ `int`, truncating division, the pooling layer's `float` rounding), and the
//! same top and parameter shapes. Arithmetic is done in `i64`/`u64`, checked, and a value that
//! would not fit Caffe's `int` is refused instead of wrapping.
//!
//! The files group the types by family: `data` (net inputs and sinks), `conv`, `pool`, `ip`
//! (InnerProduct, Embed), `activation` (the element-wise neuron layers), `norm` (LRN, BatchNorm,
//! Scale, Bias, MVN, Softmax), `arith` (Eltwise, Reduction, ArgMax), `shape_ops` (blob
//! plumbing), `loss` (Accuracy and the losses) and `recurrent` (LSTM, RNN, LSTMUnit).
//!
//! Compute follows SPEC §2; each rule's doc comment states its `flops` per element.

mod activation;
mod arith;
mod conv;
mod data;
mod ip;
mod loss;
mod norm;
mod pool;
mod recurrent;
mod shape_ops;

use super::{canonical_axis, check_count, count, Blobs, Ctx, Out, RuleError, RuleResult, Shape};
use crate::proto::{FillerParameter, LayerParameter};

/// The rule for a BVLC type, or `None` for a type BVLC Caffe does not register.
pub fn infer(ty: &str, lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> Option<RuleResult> {
    let l = Layer {
        ty,
        lp,
        bottoms,
        ctx,
    };
    let rule: fn(&Layer) -> RuleResult = match ty {
        "Input" => data::input,
        "Data" => data::data,
        "ImageData" => data::image_data,
        "WindowData" => data::window_data,
        "HDF5Data" => data::hdf5_data,
        "MemoryData" => data::memory_data,
        "DummyData" => data::dummy_data,
        "Parameter" => data::parameter,
        "Python" => data::python,
        "HDF5Output" => data::hdf5_output,
        "Silence" => data::silence,
        "Convolution" => conv::convolution,
        "Deconvolution" => conv::deconvolution,
        "Im2col" => conv::im2col,
        "Pooling" => pool::pooling,
        "SPP" => pool::spp,
        "InnerProduct" => ip::inner_product,
        "Embed" => ip::embed,
        "ReLU" | "PReLU" | "ELU" | "Sigmoid" | "TanH" | "AbsVal" | "BNLL" | "Power" | "Exp"
        | "Log" | "Threshold" | "Clip" | "Swish" | "Dropout" => activation::neuron,
        "LRN" => norm::lrn,
        "BatchNorm" => norm::batch_norm,
        "Scale" => norm::scale,
        "Bias" => norm::bias,
        "MVN" => norm::mvn,
        "Softmax" => norm::softmax,
        "Eltwise" => arith::eltwise,
        "Reduction" => arith::reduction,
        "ArgMax" => arith::argmax,
        "Concat" => shape_ops::concat,
        "Slice" => shape_ops::slice,
        "Split" => shape_ops::split,
        "Flatten" => shape_ops::flatten,
        "Reshape" => shape_ops::reshape,
        "Crop" => shape_ops::crop,
        "Tile" => shape_ops::tile,
        "Filter" => shape_ops::filter,
        "BatchReindex" => shape_ops::batch_reindex,
        "Accuracy" => loss::accuracy,
        "SoftmaxWithLoss" => loss::softmax_with_loss,
        "EuclideanLoss" => loss::euclidean,
        "SigmoidCrossEntropyLoss" => loss::sigmoid_cross_entropy,
        "HingeLoss" => loss::hinge,
        "InfogainLoss" => loss::infogain,
        "MultinomialLogisticLoss" => loss::multinomial_logistic,
        "ContrastiveLoss" => loss::contrastive,
        "LSTM" => recurrent::lstm,
        "RNN" => recurrent::rnn,
        "LSTMUnit" => recurrent::lstm_unit,
        _ => return None,
    };
    Some(rule(&l))
}

/// One layer as a rule sees it.
struct Layer<'a> {
    ty: &'a str,
    lp: &'a LayerParameter,
    bottoms: &'a [&'a Shape],
    ctx: &'a Ctx<'a>,
}

impl Layer<'_> {
    /// Bottom `i`; rules check the bottom count first, so a miss is a bug made harmless.
    fn bottom(&self, i: usize) -> Result<&Shape, RuleError> {
        self.bottoms
            .get(i)
            .copied()
            .ok_or_else(|| err(format!("{} Layer has no bottom blob {i}", self.ty)))
    }

    fn n_bottoms(&self) -> usize {
        self.bottoms.len()
    }

    fn n_tops(&self) -> usize {
        self.lp.top.len()
    }

    fn top_name(&self, i: usize) -> &str {
        self.lp.top.get(i).map_or("", |t| t.as_str())
    }

    // Layer::CheckBlobCounts, with its wording.
    fn exact_bottoms(&self, n: usize) -> Result<(), RuleError> {
        check_count(self.ty, Blobs::Bottom, self.n_bottoms(), n, n)
    }

    fn min_bottoms(&self, n: usize) -> Result<(), RuleError> {
        check_count(self.ty, Blobs::Bottom, self.n_bottoms(), n, usize::MAX)
    }

    fn max_bottoms(&self, n: usize) -> Result<(), RuleError> {
        check_count(self.ty, Blobs::Bottom, self.n_bottoms(), 0, n)
    }

    fn exact_tops(&self, n: usize) -> Result<(), RuleError> {
        check_count(self.ty, Blobs::Top, self.n_tops(), n, n)
    }

    fn min_tops(&self, n: usize) -> Result<(), RuleError> {
        check_count(self.ty, Blobs::Top, self.n_tops(), n, usize::MAX)
    }

    fn max_tops(&self, n: usize) -> Result<(), RuleError> {
        check_count(self.ty, Blobs::Top, self.n_tops(), 0, n)
    }

    /// Refuses running in place (top `0` named like bottom `0`), as the layers whose
    /// `LayerSetUp`/`Reshape` check `top[0] != bottom[0]` do.
    fn not_in_place(&self) -> Result<(), RuleError> {
        if !self.lp.top.is_empty() && self.lp.top.first() == self.lp.bottom.first() {
            return Err(err(format!(
                "{} Layer does not allow in-place computation",
                self.ty
            )));
        }
        Ok(())
    }
}

fn err(message: impl Into<String>) -> RuleError {
    RuleError::new(message)
}

/// Caffe's `kMaxBlobAxes`.
const MAX_BLOB_AXES: usize = 32;

/// A top shape as `Blob::Reshape` accepts it: at most 32 axes, every dimension in `0..=INT_MAX`
/// and at most INT_MAX elements.
fn blob(shape: impl Into<Shape>) -> Result<Shape, RuleError> {
    let shape = shape.into();
    if shape.len() > MAX_BLOB_AXES {
        return Err(err(format!(
            "a blob has at most {MAX_BLOB_AXES} axes; this one would have {}",
            shape.len()
        )));
    }
    if let Some(d) = shape.iter().find(|&&d| d > i64::from(i32::MAX)) {
        return Err(err(format!(
            "dimension {d} of shape {shape:?} is over Caffe's limit of INT_MAX"
        )));
    }
    count(&shape)?;
    Ok(shape)
}

/// A value Caffe stores in an `int`: a `uint32` field above INT_MAX turns negative there, and an
/// `int64` shape dimension is truncated; either way the layer cannot be built as written.
fn int(v: impl Into<i64>, what: &str) -> Result<i64, RuleError> {
    let v = v.into();
    if v > i64::from(i32::MAX) || v < i64::from(i32::MIN) {
        return Err(err(format!("{what} = {v} does not fit Caffe's int")));
    }
    Ok(v)
}

/// An intermediate result of Caffe's `int` arithmetic, refused when it would overflow there.
fn fit(v: Option<i64>, what: &str) -> Result<i64, RuleError> {
    match v {
        Some(v) if i32::try_from(v).is_ok() => Ok(v),
        _ => Err(err(format!("{what} overflows Caffe's int"))),
    }
}

/// `Blob::count(start, end)`, checked.
fn count_range(shape: &[i64], start: usize, end: usize) -> Result<u64, RuleError> {
    if start > end || end > shape.len() {
        return Err(err(format!(
            "axes {start}..{end} are out of range for shape {shape:?}"
        )));
    }
    count(&shape[start..end])
}

/// `Blob::shape(index)`: a negative index counts from the end; out of range is refused.
fn dim(shape: &[i64], index: i64) -> Result<i64, RuleError> {
    let i = canonical_axis(
        i32::try_from(index).map_err(|_| err(format!("axis {index} out of range")))?,
        shape.len(),
    )?;
    Ok(shape[i])
}

/// `Blob::LegacyShape` (num/channels/height/width): only for blobs of at most 4 axes, and a
/// missing trailing axis reads as 1.
fn legacy(shape: &[i64], index: usize) -> Result<i64, RuleError> {
    if shape.len() > 4 {
        return Err(err(format!(
            "Cannot use legacy accessors (num/channels/height/width) on blobs with > 4 axes; shape is {shape:?}"
        )));
    }
    Ok(shape.get(index).copied().unwrap_or(1))
}

/// Elements of a shape as `u64`, for operation counts.
fn elems(shape: &[i64]) -> Result<u64, RuleError> {
    count(shape)
}

/// A dimension as `u64` for operation counts (dims are non-negative once validated).
fn u(v: i64) -> Result<u64, RuleError> {
    u64::try_from(v).map_err(|_| err(format!("negative dimension {v}")))
}

/// Checked sum of operation counts.
fn add(terms: &[u64]) -> Result<u64, RuleError> {
    terms.iter().try_fold(0u64, |acc, &t| {
        acc.checked_add(t)
            .ok_or_else(|| err("operation count overflows 64 bits"))
    })
}

/// An `Out` with no parameters and no MACs.
fn tops_only(tops: Vec<Shape>, flops: u64) -> Out {
    Out {
        tops,
        params: Vec::new(),
        macs: 0,
        flops,
    }
}

/// A parameter blob as its filler accepts it (filler.hpp): every filler refuses an empty blob,
/// only `gaussian` takes `sparse`, `bilinear` wants a square 4-D blob, and the fan-based ones
/// read axis 0. `default_type` is the layer's own default when no filler is given.
fn filled(
    shape: impl Into<Shape>,
    filler: Option<&FillerParameter>,
    default_type: &str,
) -> Result<Shape, RuleError> {
    let shape = blob(shape)?;
    let ty = filler.map_or(default_type, |f| f.r#type());
    if !matches!(
        ty,
        "constant" | "gaussian" | "positive_unitball" | "uniform" | "xavier" | "msra" | "bilinear"
    ) {
        return Err(err(format!("Unknown filler name: {ty}")));
    }
    if count(&shape)? == 0 {
        return Err(err(format!(
            "the {ty} filler cannot fill the empty parameter blob {shape:?}"
        )));
    }
    if ty != "gaussian" && filler.is_some_and(|f| f.sparse() != -1) {
        return Err(err(format!("Sparsity not supported by the {ty} filler")));
    }
    if ty == "bilinear" && (shape.len() != 4 || shape[2] != shape[3]) {
        return Err(err(format!(
            "the bilinear filler needs a square 4-D blob (Blob must be 4 dim, Filter must be square); got {shape:?}"
        )));
    }
    if matches!(ty, "xavier" | "msra" | "positive_unitball") && shape.is_empty() {
        return Err(err(format!(
            "the {ty} filler needs a blob with at least one axis"
        )));
    }
    Ok(shape)
}

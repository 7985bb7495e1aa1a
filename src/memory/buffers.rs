//! Per layer type: the internal buffers BVLC Caffe allocates, when, and which diffs the
//! layer's backward touches. Each rule cites the Caffe source it is read from
//! (src/caffe/layers/*.cpp for the CPU paths, *.cu for the GPU ones).

use smallvec::smallvec;

use crate::analysis::{LayerInfo, NetView, PerBlob};
use crate::layers::{param_or_default, Shape};
use crate::proto::{
    convolution_parameter, eltwise_parameter::EltwiseOp, lrn_parameter, pooling_parameter,
    softmax_parameter,
};

use super::caffe::{shape_bytes, Cfg, Part, When};
use super::settings::{Device, Engine};
use super::{add, mul, Overflow};

/// Element type of an internal Blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// `Blob<Dtype>`.
    Dtype,
    /// `Blob<int>` or `Blob<unsigned int>`.
    Int,
}

/// How a layer's tops relate to memory that exists elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alias {
    /// Tops are Blobs of their own.
    None,
    /// Tops share the first bottom's data, with diffs of their own (Split).
    Data,
    /// Tops share the first bottom's data and diff (Reshape, Flatten, one-bottom Concat).
    DataAndDiff,
    /// Tops point into the layer's prefetch buffers (BasePrefetchingDataLayer).
    Prefetched,
    /// The top is the layer's parameter Blob (Parameter).
    Param,
}

pub fn alias(l: &LayerInfo) -> Alias {
    match l.ty() {
        // split_layer.cpp Forward_cpu: top[i]->ShareData(*bottom[0]).
        "Split" => Alias::Data,
        // reshape_layer.cpp Reshape and flatten_layer.cpp Forward/Backward share data and diff.
        "Reshape" | "Flatten" => Alias::DataAndDiff,
        // concat_layer.cpp Reshape: a single bottom is shared, not copied.
        "Concat" if l.bottom_ids().len() == 1 => Alias::DataAndDiff,
        t if prefetching(t) => Alias::Prefetched,
        // parameter_layer.hpp LayerSetUp: top[0] shares the parameter's data and diff.
        "Parameter" => Alias::Param,
        _ => Alias::None,
    }
}

/// Data layers derived from BasePrefetchingDataLayer (base_data_layer.cpp): BVLC's, and the
/// forks' that derive from it (SSD's AnnotatedData, DeepLab's ImageSegData, SegNet's
/// DenseImageData).
fn prefetching(ty: &str) -> bool {
    matches!(
        ty,
        "Data" | "ImageData" | "WindowData" | "AnnotatedData" | "ImageSegData" | "DenseImageData"
    )
}

/// Types that allocate nothing beyond their tops, on either device (their .cpp/.cu files
/// hold no Blob members, or only ones they never reshape).
fn no_buffers(ty: &str) -> bool {
    matches!(
        ty,
        "Input"
            | "DummyData"
            | "MemoryData"
            | "Parameter"
            | "Split"
            | "Concat"
            | "Slice"
            | "Flatten"
            | "Reshape"
            | "Silence"
            | "ArgMax"
            | "Tile"
            | "BatchReindex"
            | "Filter"
            | "ReLU"
            | "Sigmoid"
            | "TanH"
            | "AbsVal"
            | "BNLL"
            | "ELU"
            | "Exp"
            | "Log"
            | "Power"
            | "Threshold"
            | "Clip"
            | "HingeLoss"
            | "MultinomialLogisticLoss"
            // Fork layers whose sources hold no Blob members: hszhao/PSPNet@798bdc9
            // interp_layer.hpp, inisis/caffe@09f69ef relu6_layer.hpp, ChenYingpeng/
            // darknet2caffe@f6d9ea3 mish_layer.hpp and upsample_layer.hpp, farmingyard/
            // ShuffleNet@b962444 shuffle_channel_layer.hpp (its temp_blob_ is commented out),
            // HolmesShuan/SNNs@39793c3 selu_layer.hpp.
            | "Interp"
            | "ReLU6"
            | "Mish"
            | "Upsample"
            | "ShuffleChannel"
            | "SeLu"
            // weiliu89/caffe@4817bf8 (ssd) prior_box_layer.hpp: no Blob members.
            | "PriorBox"
    )
}

/// One internal buffer.
#[derive(Debug, Clone)]
pub struct Buf {
    pub name: &'static str,
    pub bytes: u64,
    pub when: When,
    pub part: Part,
}

/// Which net diffs a layer's backward (and, on the GPU, a loss's forward) touches. The
/// per-bottom lists are kept inline, as the analysis keeps its own: no allocation per layer.
#[derive(Debug, Clone, Default)]
pub struct Grad {
    /// Backward reads every top's diff.
    pub reads_tops: bool,
    /// Per bottom: backward writes its diff.
    pub writes: PerBlob<bool>,
    /// Per bottom from the first: forward uses its diff as scratch (GPU loss layers). The
    /// bottoms past its end do not: for most layers it is empty.
    pub forward_writes: PerBlob<bool>,
}

/// A layer's memory besides its tops and parameters. The replay keeps one and `layer_mem`
/// refills it for each layer, so the buffer list is not a new vector per layer.
#[derive(Debug, Clone, Default)]
pub struct LayerMem {
    pub bufs: Vec<Buf>,
    /// Bytes of the shape arrays of its internal Blobs.
    pub meta: u64,
    pub grad: Grad,
    /// The rule knows this type.
    pub modeled: bool,
}

struct Cx<'a> {
    l: &'a LayerInfo,
    net: NetView<'a>,
    cfg: &'a Cfg,
    gpu: bool,
    /// TRAIN and Caffe runs this layer's backward.
    backward: bool,
    out: &'a mut LayerMem,
}

impl<'a> Cx<'a> {
    /// Shapes are borrowed from the analysis, not from the context, so a rule can hold one
    /// while it records buffers.
    fn bottom(&self, i: usize) -> &'a Shape {
        self.net.shape(self.l.bottom_id(i))
    }

    fn top(&self, i: usize) -> &'a Shape {
        self.net.shape(self.l.top_id(i))
    }

    fn propagate(&self, i: usize) -> bool {
        self.l.bottom_need_backward.get(i).copied().unwrap_or(false)
    }

    fn learns(&self, k: usize) -> bool {
        self.l.params.get(k).is_some_and(|p| p.learns())
    }

    /// An internal Blob reshaped to `axes` axes: its shape array.
    fn shape(&mut self, axes: usize) -> Result<(), Overflow> {
        self.out.meta = add(self.out.meta, shape_bytes(axes)?)?;
        Ok(())
    }

    /// An internal buffer of `count` elements allocated at `when`.
    fn alloc(
        &mut self,
        name: &'static str,
        count: u64,
        elem: Elem,
        when: When,
    ) -> Result<(), Overflow> {
        self.alloc_in(Part::LayerBuffers, name, count, elem, when)
    }

    fn alloc_in(
        &mut self,
        part: Part,
        name: &'static str,
        count: u64,
        elem: Elem,
        when: When,
    ) -> Result<(), Overflow> {
        let bytes = self.cfg.bytes_of(count, elem)?;
        self.out.bufs.push(Buf {
            name,
            bytes,
            when,
            part,
        });
        Ok(())
    }

    /// The default backward: top diffs are read when anything is computed, and a bottom's
    /// diff is written when it propagates down.
    fn default_grad(&mut self) {
        let nb = self.l.bottom_ids().len();
        let propagate = &self.l.bottom_need_backward;
        let writes = &mut self.out.grad.writes;
        writes.clear();
        writes.extend((0..nb).map(|i| propagate.get(i).copied().unwrap_or(false)));
        let any_param = self.l.params.iter().any(|p| p.learns());
        self.out.grad.reads_tops = any_param || writes.iter().any(|&w| w);
    }
}

/// Elements from axis `start` on (Caffe's `count(start)`).
fn count_from(s: &[i64], start: usize) -> Result<u64, Overflow> {
    count_range(s, start, s.len())
}

/// Elements of axes `start..end` (Caffe's `count(start, end)`).
fn count_range(s: &[i64], start: usize, end: usize) -> Result<u64, Overflow> {
    let end = end.min(s.len());
    let start = start.min(end);
    s[start..end]
        .iter()
        .try_fold(1u64, |acc, &d| mul(acc, u64::try_from(d).unwrap_or(0)))
}

/// Caffe's CanonicalAxisIndex, clamped (the shape rules already refused bad axes).
fn axis(axis: i32, num_axes: usize) -> usize {
    let n = num_axes as i64;
    let a = i64::from(axis);
    let a = if a < 0 { a + n } else { a };
    a.clamp(0, n.max(1) - 1) as usize
}

/// A layer type's rule: what `layer_mem` runs for a layer. Found once per layer (`rule`), for
/// every view of the net a replay counts.
#[derive(Clone, Copy)]
pub struct Rule(fn(&mut Cx) -> Result<(), Overflow>);

/// The rule for layer `l`'s type.
pub fn rule(l: &LayerInfo) -> Rule {
    Rule(match l.ty() {
        "Convolution" | "Deconvolution" | "DepthwiseConvolution" => convolution,
        "Im2col" => im2col,
        "Pooling" => pooling,
        "LRN" => lrn,
        "InnerProduct" => inner_product,
        "Embed" => embed,
        // HolmesShuan/SNNs@39793c3 selu_dropout_layer.cpp/.cu is dropout_layer.cpp's code.
        "Dropout" | "SeLuDropout" => dropout,
        "Softmax" => softmax_layer,
        "SoftmaxWithLoss" => softmax_loss,
        "SigmoidCrossEntropyLoss" => sigmoid_cross_entropy,
        "EuclideanLoss" => euclidean,
        "InfogainLoss" => infogain,
        "ContrastiveLoss" => contrastive,
        "Accuracy" => accuracy,
        "BatchNorm" => batch_norm,
        "Scale" => scale,
        "Bias" => bias,
        "Eltwise" => eltwise,
        "PReLU" => prelu,
        "MVN" => mvn,
        "Reduction" => reduction,
        "Crop" => crop,
        "Swish" => swish,
        "ConvolutionDepthwise" => depthwise,
        "Axpy" => axpy,
        "Permute" => permute,
        "Normalize" => normalize,
        "DetectionOutput" => detection_output,
        "ROIPooling" => roi_pooling,
        "PSROIPooling" => psroi_pooling,
        "BN" if l.params.len() == 4 => psp_bn,
        t if prefetching(t) => prefetch,
        t if no_buffers(t) => nothing,
        _ => unmodeled,
    })
}

/// The internal buffers of layer `l`, whose rule is `rule`, and what its backward touches,
/// into `out` (whatever it held before is replaced). What backward touches (`grad.reads_tops`
/// and `grad.writes`) is set only for a layer that runs backward in TRAIN: no one reads it
/// otherwise.
pub fn layer_mem(
    rule: Rule,
    l: &LayerInfo,
    net: NetView,
    cfg: &Cfg,
    out: &mut LayerMem,
) -> Result<(), Overflow> {
    out.bufs.clear();
    out.meta = 0;
    out.modeled = true;
    out.grad.forward_writes.clear();
    let mut cx = Cx {
        l,
        net,
        cfg,
        gpu: cfg.device == Device::Gpu,
        backward: cfg.train.is_some() && l.need_backward,
        out,
    };
    if cx.backward {
        cx.default_grad();
    }
    (rule.0)(&mut cx)
}

fn nothing(_: &mut Cx) -> Result<(), Overflow> {
    Ok(())
}

fn unmodeled(cx: &mut Cx) -> Result<(), Overflow> {
    cx.out.modeled = false;
    Ok(())
}

/// softmax_layer.cpp.
fn softmax_layer(cx: &mut Cx) -> Result<(), Overflow> {
    softmax(cx, 0)?;
    // softmax_layer.cpp Backward_cpu writes the bottom diff without a propagate check.
    cx.out.grad.reads_tops = true;
    cx.out.grad.writes = smallvec![true];
    Ok(())
}

/// bias_layer.cpp.
fn bias(cx: &mut Cx) -> Result<(), Overflow> {
    let inner = bias_inner(cx, bias_axes(cx))?;
    bias_multiplier(cx, inner)
}

/// rbgirshick/caffe-fast-rcnn@0dcd397 roi_pooling_layer.cpp/.cu: max_idx_ (int, the top's
/// size) in forward on both devices.
fn roi_pooling(cx: &mut Cx) -> Result<(), Overflow> {
    let top = cx.top(0);
    cx.shape(top.len())?;
    cx.alloc("max_idx_", count_from(top, 0)?, Elem::Int, When::Forward)
}

/// daijifeng001/caffe-rfcn@543f8f6 psroi_pooling_layer.cu: mapping_channel_ (int, the top's
/// size) in the GPU forward; the layer has no CPU implementation.
fn psroi_pooling(cx: &mut Cx) -> Result<(), Overflow> {
    let top = cx.top(0);
    cx.shape(top.len())?;
    if cx.gpu {
        cx.alloc(
            "mapping_channel_",
            count_from(top, 0)?,
            Elem::Int,
            When::Forward,
        )?;
    }
    Ok(())
}

/// A base_conv_layer.cpp spatial parameter: `v_h`/`v_w`, else the list (one value or one per
/// axis), else the default.
fn spatial(list: &[u32], h: Option<u32>, w: Option<u32>, i: usize, n: usize, def: u32) -> u32 {
    if h.is_some() || w.is_some() {
        return if i == 0 {
            h.unwrap_or(def)
        } else {
            w.unwrap_or(def)
        };
    }
    match list.len() {
        0 => def,
        1 => list[0],
        _ if i < n => list[i],
        _ => def,
    }
}

/// base_conv_layer.cpp, conv_layer.cpp, deconv_layer.cpp and their .cu; cudnn_conv_layer.cpp.
/// yonghenglh6/DepthwiseConvolution@2b9cf52 depthwise_conv_layer.cpp is conv_layer.cpp's code
/// on the CPU; its .cu computes directly, without column buffer or bias multiplier, and takes
/// every bottom diff.
fn convolution(cx: &mut Cx) -> Result<(), Overflow> {
    let deconv = cx.l.ty() == "Deconvolution";
    let direct = cx.gpu && cx.l.ty() == "DepthwiseConvolution";
    let cp = param_or_default(cx.l.lp.convolution_param());
    let Some(weight) = cx.l.params.first().map(|p| &p.shape) else {
        cx.out.modeled = false;
        return Ok(());
    };
    let bottom = cx.bottom(0);
    let top = cx.top(0);
    let ch = axis(cp.axis(), bottom.len());
    let nsa = bottom.len().saturating_sub(ch + 1);
    // The kernel's spatial axes are the weight's from axis 2 on.
    let is_1x1 = (0..nsa).all(|i| {
        weight.get(2 + i) == Some(&1)
            && spatial(&cp.stride, cp.stride_h, cp.stride_w, i, nsa, 1) == 1
            && spatial(&cp.pad, cp.pad_h, cp.pad_w, i, nsa, 0) == 0
    });
    let dilated = (0..nsa).any(|i| spatial(&cp.dilation, None, None, i, nsa, 1) > 1);
    // layer_factory.cpp GetConvolutionLayer: with cuDNN built in, the default engine is cuDNN
    // unless the convolution is dilated; `engine: CAFFE` keeps Caffe's.
    let cudnn = cx.gpu
        && !direct
        && cx.cfg.engine == Engine::Cudnn
        && match cp.engine() {
            convolution_parameter::Engine::Default => !dilated,
            convolution_parameter::Engine::Caffe => false,
            convolution_parameter::Engine::Cudnn => true,
        };
    let group = u64::from(cp.group().max(1));
    let bias = cp.bias_term() && cx.l.params.len() > 1;
    // kernel_dim_ = blobs_[0]->count(1); the column buffer spans the output image for a
    // convolution and the input image for a deconvolution (input_shape() reads the bottom).
    let kernel_dim = count_from(weight, 1)?;
    let out_spatial = count_from(top, ch + 1)?;
    let col_spatial = if deconv {
        count_from(bottom, ch + 1)?
    } else {
        out_spatial
    };
    let col = mul(mul(kernel_dim, group)?, col_spatial)?;

    // Shape arrays: kernel_shape_, stride_, pad_, dilation_, conv_input_shape_ (1 axis each),
    // col_buffer_ (1 + spatial axes), bias_multiplier_ (1 axis).
    for _ in 0..5 {
        cx.shape(1)?;
    }
    cx.shape(1 + nsa)?;
    if bias {
        cx.shape(1)?;
    }
    // The int Blobs are written on the host at set-up; the GPU reads them only for N-d im2col.
    let nd = cp.force_nd_im2col() || nsa != 2;
    if !cx.gpu || (nd && !cudnn && !direct) {
        let ints = add(
            mul(4, nsa.max(1) as u64)?,
            u64::try_from(nsa + 1).unwrap_or(u64::MAX),
        )?;
        cx.alloc(
            "kernel/stride/pad/dilation/input shape",
            ints,
            Elem::Int,
            When::Init,
        )?;
    }
    // bias_multiplier_: one per output pixel, set on the host in Reshape; cuDNN adds the bias
    // itself and never moves it to the device.
    if bias && !cudnn && !direct {
        cx.alloc("bias_multiplier_", out_spatial, Elem::Dtype, When::Init)?;
    }
    let nb = cx.l.bottom_ids().len();
    if direct {
        cx.out.grad.reads_tops = true;
        cx.out.grad.writes = smallvec![true; nb];
        return Ok(());
    }
    if cudnn {
        // cudnn_conv_layer.cpp Reshape: algorithms are picked under an 8 MiB workspace limit,
        // and the largest of them is allocated for each of group * 3 streams.
        let bound = mul(8 << 20, mul(group, 3)?)?;
        cx.out.bufs.push(Buf {
            name: "cudnn workspace (upper bound)",
            bytes: bound,
            when: When::Init,
            part: Part::CudnnWorkspace,
        });
        // cudnn_conv_layer.cu Backward_gpu writes a bottom diff only when it propagates.
        return Ok(());
    }
    // col_buffer_, one image: forward_cpu_gemm skips it for 1x1 convolutions; a
    // deconvolution's forward (backward_cpu_gemm) always touches it.
    if !is_1x1 || deconv {
        cx.alloc("col_buffer_", col, Elem::Dtype, When::Forward)?;
    } else if cx.backward && (0..cx.l.bottom_ids().len()).any(|i| cx.propagate(i)) {
        // backward_cpu_gemm/backward_gpu_gemm take col_buffer_.mutable_*_data() before
        // checking is_1x1_.
        cx.alloc("col_buffer_", col, Elem::Dtype, When::Backward)?;
    }
    cx.out.grad.reads_tops = true;
    cx.out.grad.writes = if cx.gpu && !deconv {
        // conv_layer.cu: the bottom diff is taken inside `if (param_propagate_down_[0] ||
        // propagate_down[i])`.
        let w = cx.learns(0);
        (0..nb).map(|i| w || cx.propagate(i)).collect()
    } else {
        // conv_layer.cpp, deconv_layer.cpp/.cu: `bottom[i]->mutable_*_diff()` before any check.
        smallvec![true; nb]
    };
    Ok(())
}

/// im2col_layer.cpp: four int Blobs of the spatial parameters.
fn im2col(cx: &mut Cx) -> Result<(), Overflow> {
    let cp = param_or_default(cx.l.lp.convolution_param());
    let bottom = cx.bottom(0);
    let nsa = bottom
        .len()
        .saturating_sub(axis(cp.axis(), bottom.len()) + 1);
    for _ in 0..4 {
        cx.shape(1)?;
    }
    if !cx.gpu {
        cx.alloc(
            "kernel/stride/pad/dilation",
            mul(4, nsa.max(1) as u64)?,
            Elem::Int,
            When::Init,
        )?;
    }
    Ok(())
}

/// pooling_layer.cpp/.cu: max_idx_ (int, the top's size) for MAX with one top; rand_idx_ for
/// STOCHASTIC, used by the GPU's TRAIN forward only (the CPU path is not implemented).
fn pooling(cx: &mut Cx) -> Result<(), Overflow> {
    let pp = param_or_default(cx.l.lp.pooling_param());
    let top = cx.top(0);
    let n = count_from(top, 0)?;
    match pp.pool() {
        pooling_parameter::PoolMethod::Max if cx.l.top_ids().len() == 1 => {
            cx.shape(4)?;
            cx.alloc("max_idx_", n, Elem::Int, When::Forward)?;
        }
        pooling_parameter::PoolMethod::Stochastic => {
            cx.shape(4)?;
            if cx.gpu && cx.cfg.train.is_some() {
                cx.alloc("rand_idx_", n, Elem::Dtype, When::Forward)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// lrn_layer.cpp/.cu. Across channels: scale_, the input's size (the CPU path's
/// `padded_square` and `padded_ratio` are freed when the call returns). Within a channel: an
/// inner Split, Power, AVE Pooling, Power and Eltwise PROD with three full-size tops, and
/// their five diffs in backward. cuDNN's LRN (cudnn_lrn_layer.cpp, local_size <= 16) keeps
/// no scale_ on the device.
fn lrn(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.lrn_param());
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    match p.norm_region() {
        lrn_parameter::NormRegion::AcrossChannels => {
            cx.shape(4)?;
            let cudnn = cx.gpu
                && cx.cfg.engine == Engine::Cudnn
                && p.engine() != lrn_parameter::Engine::Caffe
                && p.local_size() <= 16;
            if !cudnn {
                cx.alloc("scale_", f, Elem::Dtype, When::Forward)?;
            }
        }
        lrn_parameter::NormRegion::WithinChannel => {
            for _ in 0..5 {
                cx.shape(4)?;
            }
            cx.alloc("square_output_", f, Elem::Dtype, When::Forward)?;
            cx.alloc("pool_output_", f, Elem::Dtype, When::Forward)?;
            cx.alloc("power_output_", f, Elem::Dtype, When::Forward)?;
            if cx.backward && cx.propagate(0) {
                for name in [
                    "product_input_ diff",
                    "power_output_ diff",
                    "pool_output_ diff",
                    "square_output_ diff",
                    "square_input_ diff",
                ] {
                    cx.alloc(name, f, Elem::Dtype, When::Backward)?;
                }
            }
        }
    }
    Ok(())
}

/// inner_product_layer.cpp Reshape: bias_multiplier_, M ones (M = the bottom's outer count).
fn inner_product(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.inner_product_param());
    if p.bias_term() {
        let bottom = cx.bottom(0);
        let m = count_range(bottom, 0, axis(p.axis(), bottom.len()))?;
        bias_multiplier(cx, m)?;
    }
    Ok(())
}

/// embed_layer.cpp Reshape: bias_multiplier_, M = the bottom's count.
fn embed(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.embed_param());
    if p.bias_term() {
        let m = count_from(cx.bottom(0), 0)?;
        bias_multiplier(cx, m)?;
    }
    Ok(())
}

fn bias_multiplier(cx: &mut Cx, n: u64) -> Result<(), Overflow> {
    cx.shape(1)?;
    cx.alloc("bias_multiplier_", n, Elem::Dtype, When::Init)
}

/// dropout_layer.cpp Forward_cpu takes rand_vec_ (unsigned int, the bottom's size) before its
/// phase check, so TEST has it too; dropout_layer.cu takes it in TRAIN only.
fn dropout(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    cx.shape(bottom.len())?;
    if !cx.gpu || cx.cfg.train.is_some() {
        cx.alloc(
            "rand_vec_",
            count_from(bottom, 0)?,
            Elem::Int,
            When::Forward,
        )?;
    }
    Ok(())
}

/// softmax_layer.cpp Reshape: sum_multiplier_ (the softmax axis, ones) at set-up, scale_
/// (the bottom with that axis 1) in forward. cuDNN's softmax (cudnn_softmax_layer.cpp) uses
/// neither on the device. `b` is the bottom the softmax reads.
fn softmax(cx: &mut Cx, b: usize) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.softmax_param());
    let bottom = cx.bottom(b);
    let ax = axis(p.axis(), bottom.len());
    cx.shape(1)?;
    cx.shape(bottom.len())?;
    let cudnn =
        cx.gpu && cx.cfg.engine == Engine::Cudnn && p.engine() != softmax_parameter::Engine::Caffe;
    if !cudnn {
        let c = u64::try_from(bottom.get(ax).copied().unwrap_or(1)).unwrap_or(0);
        let outer_inner = count_from(bottom, 0)?.checked_div(c).unwrap_or(0);
        cx.alloc("sum_multiplier_", c, Elem::Dtype, When::Init)?;
        cx.alloc("scale_", outer_inner, Elem::Dtype, When::Forward)?;
    }
    Ok(())
}

/// softmax_loss_layer.cpp: an inner Softmax writing prob_ (the bottom's size). The inner layer
/// copies the LayerParameter, loss weight included, so prob_'s diff is set at set-up
/// (layer.hpp SetLossWeights). softmax_loss_layer.cu Forward_gpu uses the bottom's diff as
/// scratch for the per-item losses.
fn softmax_loss(cx: &mut Cx) -> Result<(), Overflow> {
    softmax(cx, 0)?;
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    cx.shape(bottom.len())?;
    cx.alloc("prob_", f, Elem::Dtype, When::Forward)?;
    if cx.l.loss_weight(0) != 0.0 {
        cx.alloc("prob_ diff", f, Elem::Dtype, When::Init)?;
    }
    if cx.gpu {
        cx.out.grad.forward_writes.push(true);
    }
    Ok(())
}

/// sigmoid_cross_entropy_loss_layer.cpp: sigmoid_output_ (the bottom's size) from an inner
/// Sigmoid; the .cu forward uses both bottoms' diffs as scratch.
fn sigmoid_cross_entropy(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    cx.shape(bottom.len())?;
    cx.alloc(
        "sigmoid_output_",
        count_from(bottom, 0)?,
        Elem::Dtype,
        When::Forward,
    )?;
    if cx.gpu {
        cx.out.grad.forward_writes = smallvec![true; cx.l.bottom_ids().len()];
    }
    Ok(())
}

/// euclidean_loss_layer.cpp: diff_, the bottoms' size, in forward.
fn euclidean(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    cx.shape(bottom.len())?;
    cx.alloc("diff_", count_from(bottom, 0)?, Elem::Dtype, When::Forward)
}

/// infogain_loss_layer.cpp: an inner Softmax (loss weight forced to 1, so prob_ has a diff
/// from set-up), the matrix H read from `source` when it is not a bottom, and its row sums.
fn infogain(cx: &mut Cx) -> Result<(), Overflow> {
    softmax(cx, 0)?;
    let p = param_or_default(cx.l.lp.infogain_loss_param());
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    let labels = u64::try_from(
        bottom
            .get(axis(p.axis(), bottom.len()))
            .copied()
            .unwrap_or(1),
    )
    .unwrap_or(0);
    cx.shape(bottom.len())?;
    cx.alloc("prob_", f, Elem::Dtype, When::Forward)?;
    cx.alloc("prob_ diff", f, Elem::Dtype, When::Init)?;
    cx.shape(1)?;
    if cx.l.bottom_ids().len() < 3 {
        cx.shape(2)?;
        cx.alloc("infogain_", mul(labels, labels)?, Elem::Dtype, When::Init)?;
        cx.alloc("sum_rows_H_", labels, Elem::Dtype, When::Init)?;
    } else if cx.backward {
        cx.alloc("sum_rows_H_", labels, Elem::Dtype, When::Backward)?;
    }
    Ok(())
}

/// contrastive_loss_layer.cpp/.cu: summer_vec_ (C) at set-up; diff_ (N*C) and dist_sq_ (N)
/// in forward; diff_sq_ (N*C) in the GPU forward.
fn contrastive(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    let n = count_range(bottom, 0, 1)?;
    let c = count_range(bottom, 1, 2)?;
    for _ in 0..4 {
        cx.shape(4)?;
    }
    cx.alloc("summer_vec_", c, Elem::Dtype, When::Init)?;
    cx.alloc("diff_", mul(n, c)?, Elem::Dtype, When::Forward)?;
    cx.alloc("dist_sq_", n, Elem::Dtype, When::Forward)?;
    if cx.gpu {
        cx.alloc("diff_sq_", mul(n, c)?, Elem::Dtype, When::Forward)?;
    }
    Ok(())
}

/// accuracy_layer.cpp: nums_buffer_ (one per class) only with the per-class top.
/// accuracy_layer.cu Forward_gpu accumulates in the predictions' diff, counts in the labels'
/// diff (one top) or in nums_buffer_ reshaped like the predictions (per-class top).
fn accuracy(cx: &mut Cx) -> Result<(), Overflow> {
    let per_class = cx.l.top_ids().len() > 1;
    if cx.gpu {
        cx.out.grad.forward_writes.push(true);
        if per_class {
            let bottom = cx.bottom(0);
            cx.shape(bottom.len())?;
            let n = count_from(bottom, 0)?;
            cx.alloc("nums_buffer_", n, Elem::Dtype, When::Forward)?;
        } else if cx.l.bottom_ids().len() > 1 {
            cx.out.grad.forward_writes.push(true);
        }
    } else if per_class {
        let classes = count_from(cx.top(1), 0)?;
        cx.shape(1)?;
        cx.alloc("nums_buffer_", classes, Elem::Dtype, When::Forward)?;
    }
    Ok(())
}

/// batch_norm_layer.cpp/.cu. Set-up: batch_sum_multiplier_ (N) and spatial_sum_multiplier_
/// (H*W). Forward, in TEST too: mean_ and variance_ (C), num_by_chans_ (N*C), and temp_ and
/// x_norm_ (the input's size; x_norm_ is written even with global stats). Backward of an
/// in-place BatchNorm copies the top diff into x_norm_'s diff. Backward writes the bottom
/// diff without a propagate check.
fn batch_norm(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    let n = count_range(bottom, 0, 1)?;
    let c = if bottom.len() == 1 {
        1
    } else {
        count_range(bottom, 1, 2)?
    };
    let spatial = f.checked_div(mul(n, c)?).unwrap_or(0);
    for axes in [1, 1, bottom.len(), bottom.len(), 1, 1, 1] {
        cx.shape(axes)?;
    }
    cx.alloc("batch_sum_multiplier_", n, Elem::Dtype, When::Init)?;
    cx.alloc("spatial_sum_multiplier_", spatial, Elem::Dtype, When::Init)?;
    cx.alloc("mean_", c, Elem::Dtype, When::Forward)?;
    cx.alloc("variance_", c, Elem::Dtype, When::Forward)?;
    cx.alloc("num_by_chans_", mul(n, c)?, Elem::Dtype, When::Forward)?;
    cx.alloc("temp_", f, Elem::Dtype, When::Forward)?;
    cx.alloc("x_norm_", f, Elem::Dtype, When::Forward)?;
    if cx.backward && cx.l.top_in_place(0) {
        cx.alloc("x_norm_ diff", f, Elem::Dtype, When::Backward)?;
    }
    cx.out.grad.reads_tops = true;
    cx.out.grad.writes = smallvec![true];
    Ok(())
}

/// The scale/bias blob's axes for scale_layer.cpp and bias_layer.cpp: the parameter's, or the
/// second bottom's.
fn bias_axes(cx: &Cx) -> usize {
    if cx.l.bottom_ids().len() > 1 {
        cx.bottom(1).len()
    } else {
        cx.l.params.first().map_or(0, |p| p.shape.len())
    }
}

/// bias_layer.cpp Reshape: inner_dim_ = count(axis + the bias blob's axes).
fn bias_inner(cx: &Cx, bias_axes: usize) -> Result<u64, Overflow> {
    let bottom = cx.bottom(0);
    let ax = if bias_axes == 0 {
        0
    } else {
        let p = param_or_default(cx.l.lp.bias_param());
        axis(p.axis(), bottom.len())
    };
    count_from(bottom, ax + bias_axes)
}

/// scale_layer.cpp/.cu. Set-up: sum_multiplier_ (max(outer, inner) ones) and, with a bias,
/// the inner Bias layer's bias_multiplier_ (inner). Forward in place: temp_, a copy of the
/// input. Backward when the scale learns: the product goes to temp_ (in place) or to the
/// bottom's diff (not in place, even when the bottom does not propagate), and the sums to
/// sum_result_ (outer * scale) unless outer or inner is 1.
fn scale(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.scale_param());
    let bottom = cx.bottom(0);
    let two = cx.l.bottom_ids().len() > 1;
    let scale_shape: &[i64] = if two {
        cx.bottom(1)
    } else {
        cx.l.params.first().map_or(&[], |p| &p.shape)
    };
    let ax = if scale_shape.is_empty() {
        0
    } else {
        axis(p.axis(), bottom.len())
    };
    let outer = count_range(bottom, 0, ax)?;
    let scale_dim = count_from(scale_shape, 0)?;
    let inner = count_from(bottom, ax + scale_shape.len())?;
    let f = count_from(bottom, 0)?;
    let in_place = cx.l.top_in_place(0);
    if in_place {
        cx.shape(bottom.len())?;
        cx.alloc("temp_", f, Elem::Dtype, When::Forward)?;
    }
    cx.shape(1)?;
    cx.shape(1)?;
    cx.alloc("sum_multiplier_", outer.max(inner), Elem::Dtype, When::Init)?;
    if p.bias_term() {
        // The inner Bias layer reshapes with the same axis and axes as the scale.
        bias_multiplier(cx, inner)?;
    }
    let scale_learns = if two { cx.propagate(1) } else { cx.learns(0) };
    let eltwise = f == scale_dim;
    if cx.backward
        && scale_learns
        && !eltwise
        && inner != 1
        && mul(outer, scale_dim)? != 1
        && outer != 1
    {
        cx.alloc(
            "sum_result_",
            mul(outer, scale_dim)?,
            Elem::Dtype,
            When::Backward,
        )?;
    }
    cx.out.grad.reads_tops = true;
    let mut writes: PerBlob<bool> =
        smallvec![cx.propagate(0) || (scale_learns && !eltwise && !in_place)];
    if two {
        writes.push(cx.propagate(1));
    }
    cx.out.grad.writes = writes;
    Ok(())
}

/// eltwise_layer.cpp/.cu: MAX keeps max_idx_ (int, the top's size); backward reads the top's
/// data and diff whatever propagates.
fn eltwise(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.eltwise_param());
    if p.operation() == EltwiseOp::Max {
        let top = cx.top(0);
        cx.shape(top.len())?;
        cx.alloc("max_idx_", count_from(top, 0)?, Elem::Int, When::Forward)?;
    }
    cx.out.grad.reads_tops = true;
    Ok(())
}

/// prelu_layer.cpp/.cu: multiplier_ (C*H*W ones) at set-up; bottom_memory_ (a copy of the
/// input) in forward when in place; backward_buff_'s diff (C*H*W) in the GPU backward.
fn prelu(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    let per_image = count_from(bottom, 1)?;
    cx.shape(1)?;
    cx.shape(1)?;
    cx.alloc("multiplier_", per_image, Elem::Dtype, When::Init)?;
    if cx.l.top_in_place(0) {
        cx.shape(bottom.len())?;
        cx.alloc(
            "bottom_memory_",
            count_from(bottom, 0)?,
            Elem::Dtype,
            When::Forward,
        )?;
    }
    if cx.gpu && cx.backward && cx.learns(0) {
        cx.alloc(
            "backward_buff_ diff",
            per_image,
            Elem::Dtype,
            When::Backward,
        )?;
    }
    Ok(())
}

/// mvn_layer.cpp: sum_multiplier_ (H*W, or C*H*W across channels) at set-up; mean_ and temp_
/// (and variance_ when normalizing it) in forward.
fn mvn(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.mvn_param());
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    let n = count_range(bottom, 0, 1)?;
    let per = if p.across_channels() {
        n
    } else {
        mul(n, count_range(bottom, 1, 2)?)?
    };
    for _ in 0..4 {
        cx.shape(4)?;
    }
    let mult = if p.across_channels() {
        count_from(bottom, 1)?
    } else {
        count_from(bottom, 2)?
    };
    cx.alloc("sum_multiplier_", mult, Elem::Dtype, When::Init)?;
    cx.alloc("mean_", per, Elem::Dtype, When::Forward)?;
    cx.alloc("temp_", f, Elem::Dtype, When::Forward)?;
    if p.normalize_variance() {
        cx.alloc("variance_", per, Elem::Dtype, When::Forward)?;
    }
    Ok(())
}

/// reduction_layer.cpp Reshape: sum_multiplier_ over the reduced axes, for SUM and MEAN.
fn reduction(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.reduction_param());
    let bottom = cx.bottom(0);
    let dim = count_from(bottom, axis(p.axis(), bottom.len()))?;
    use crate::proto::reduction_parameter::ReductionOp;
    if matches!(p.operation(), ReductionOp::Sum | ReductionOp::Mean) {
        cx.shape(1)?;
        cx.alloc("sum_multiplier_", dim, Elem::Dtype, When::Init)?;
    }
    Ok(())
}

/// crop_layer.cpp Reshape: offsets, src_strides_, dest_strides_ (int, one per axis).
fn crop(cx: &mut Cx) -> Result<(), Overflow> {
    let axes = cx.bottom(0).len() as u64;
    for _ in 0..3 {
        cx.shape(1)?;
    }
    cx.alloc("offsets/strides", mul(axes, 3)?, Elem::Int, When::Init)
}

/// swish_layer.cpp: sigmoid_input_ (the scaled input) and the inner Sigmoid's
/// sigmoid_output_, both the input's size, in forward.
fn swish(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    cx.shape(bottom.len())?;
    cx.shape(bottom.len())?;
    cx.alloc("sigmoid_input_", f, Elem::Dtype, When::Forward)?;
    cx.alloc("sigmoid_output_", f, Elem::Dtype, When::Forward)
}

/// farmingyard/caffe-mobilenet@f7d7d13 conv_dw_layer.cpp/.cu. Reshape fills, on the device,
/// weight_multiplier_ and bias_multiplier_ (N*Ho*Wo ones each). The GPU backward collects the
/// per-position products in weight_buffer_ (C*kh*kw*N*Ho*Wo) and bias_buffer_ (C*N*Ho*Wo)
/// before reducing them; both backward paths clear the bottom diff first.
fn depthwise(cx: &mut Cx) -> Result<(), Overflow> {
    let bottom = cx.bottom(0);
    let top = cx.top(0);
    let c = count_range(bottom, 1, 2)?;
    let n_out = mul(count_range(top, 0, 1)?, count_from(top, 2)?)?;
    let k =
        cx.l.params
            .first()
            .map_or(Ok(1), |p| count_from(&p.shape, 2))?;
    let bias = cx.l.params.len() > 1;
    cx.shape(6)?;
    cx.shape(3)?;
    cx.alloc("weight_multiplier_", n_out, Elem::Dtype, When::Init)?;
    if bias {
        cx.shape(4)?;
        cx.shape(3)?;
        cx.alloc("bias_multiplier_", n_out, Elem::Dtype, When::Init)?;
    }
    if cx.gpu && cx.backward {
        if cx.learns(0) {
            let w = mul(mul(c, k)?, n_out)?;
            cx.alloc("weight_buffer_", w, Elem::Dtype, When::Backward)?;
        }
        if bias && cx.learns(1) {
            cx.alloc("bias_buffer_", mul(c, n_out)?, Elem::Dtype, When::Backward)?;
        }
    }
    cx.out.grad.reads_tops = true;
    cx.out.grad.writes = smallvec![true];
    Ok(())
}

/// hujie-frank/SENet@0262d43 axpy_layer.cpp: spatial_sum_multiplier_ (H*W ones) at set-up;
/// backward for the scale uses x's diff as scratch.
fn axpy(cx: &mut Cx) -> Result<(), Overflow> {
    let spatial = count_from(cx.bottom(1), 2)?;
    cx.shape(1)?;
    cx.alloc("spatial_sum_multiplier_", spatial, Elem::Dtype, When::Init)?;
    let p = [cx.propagate(0), cx.propagate(1), cx.propagate(2)];
    cx.out.grad.reads_tops = p.iter().any(|&b| b);
    cx.out.grad.writes = smallvec![p[0], p[0] || p[1], p[2]];
    Ok(())
}

/// hszhao/PSPNet@798bdc9 bn_layer.cpp/.cu (4 parameter blobs): spatial_sum_multiplier_ (H*W)
/// and batch_sum_multiplier_ (N) at set-up; batch_statistic_ (C), spatial_statistic_ (N*C)
/// and broadcast_buffer_ (the input's size) in forward, and unless `frozen`, x_norm_ (the
/// input's size) and x_inv_std_ (C), in TEST too.
fn psp_bn(cx: &mut Cx) -> Result<(), Overflow> {
    let frozen = cx.l.lp.bn_param().is_some_and(|p| p.frozen());
    let bottom = cx.bottom(0);
    let f = count_from(bottom, 0)?;
    let n = count_range(bottom, 0, 1)?;
    let c = count_range(bottom, 1, 2)?;
    for _ in 0..7 {
        cx.shape(4)?;
    }
    cx.alloc(
        "spatial_sum_multiplier_",
        count_from(bottom, 2)?,
        Elem::Dtype,
        When::Init,
    )?;
    cx.alloc("batch_sum_multiplier_", n, Elem::Dtype, When::Init)?;
    cx.alloc("batch_statistic_", c, Elem::Dtype, When::Forward)?;
    cx.alloc("spatial_statistic_", mul(n, c)?, Elem::Dtype, When::Forward)?;
    cx.alloc("broadcast_buffer_", f, Elem::Dtype, When::Forward)?;
    if !frozen {
        cx.alloc("x_norm_", f, Elem::Dtype, When::Forward)?;
        cx.alloc("x_inv_std_", c, Elem::Dtype, When::Forward)?;
    }
    Ok(())
}

/// weiliu89/caffe@4817bf8 (ssd) permute_layer.cpp: permute_order_, old_steps_ and new_steps_
/// (int, one per axis, shaped num_axes x 1 x 1 x 1) at set-up.
fn permute(cx: &mut Cx) -> Result<(), Overflow> {
    let axes = cx.bottom(0).len() as u64;
    for _ in 0..3 {
        cx.shape(4)?;
    }
    cx.alloc(
        "permute_order_/old_steps_/new_steps_",
        mul(axes, 3)?,
        Elem::Int,
        When::Init,
    )
}

/// weiliu89/caffe@4817bf8 (ssd) normalize_layer.cpp/.cu: sum_channel_multiplier_ (C) and
/// sum_spatial_multiplier_ (H*W) at set-up; buffer_ (one image) and norm_ (N, or N*H*W when
/// not across_spatial) in forward; buffer_channel_ (C) and buffer_spatial_ (H*W) in backward.
fn normalize(cx: &mut Cx) -> Result<(), Overflow> {
    let p = param_or_default(cx.l.lp.norm_param());
    let bottom = cx.bottom(0);
    let n = count_range(bottom, 0, 1)?;
    let c = count_range(bottom, 1, 2)?;
    let spatial = count_from(bottom, 2)?;
    for _ in 0..6 {
        cx.shape(4)?;
    }
    cx.alloc("sum_channel_multiplier_", c, Elem::Dtype, When::Init)?;
    cx.alloc("sum_spatial_multiplier_", spatial, Elem::Dtype, When::Init)?;
    cx.alloc(
        "buffer_",
        count_from(bottom, 1)?,
        Elem::Dtype,
        When::Forward,
    )?;
    let norm = if p.across_spatial() {
        n
    } else {
        mul(n, spatial)?
    };
    cx.alloc("norm_", norm, Elem::Dtype, When::Forward)?;
    if cx.backward {
        cx.alloc("buffer_channel_", c, Elem::Dtype, When::Backward)?;
        cx.alloc("buffer_spatial_", spatial, Elem::Dtype, When::Backward)?;
    }
    Ok(())
}

/// weiliu89/caffe@4817bf8 (ssd) detection_output_layer.cpp/.cu: the GPU forward decodes into
/// bbox_preds_ (the locations' size), bbox_permute_ (the same, without share_location) and
/// conf_permute_ (the confidences' size); the CPU forward reads the bottoms directly.
fn detection_output(cx: &mut Cx) -> Result<(), Overflow> {
    let shared =
        cx.l.lp
            .detection_output_param()
            .is_none_or(|p| p.share_location());
    let loc = count_from(cx.bottom(0), 0)?;
    let conf = count_from(cx.bottom(1), 0)?;
    let (loc_axes, conf_axes) = (cx.bottom(0).len(), cx.bottom(1).len());
    cx.shape(loc_axes)?;
    cx.shape(conf_axes)?;
    if !shared {
        cx.shape(loc_axes)?;
    }
    if cx.gpu {
        cx.alloc("bbox_preds_", loc, Elem::Dtype, When::Forward)?;
        if !shared {
            cx.alloc("bbox_permute_", loc, Elem::Dtype, When::Forward)?;
        }
        cx.alloc("conf_permute_", conf, Elem::Dtype, When::Forward)?;
    }
    Ok(())
}

/// base_data_layer.cpp: `prefetch` batches (data_param.prefetch, default 4) of data and
/// labels, touched at set-up (and moved to the device in GPU mode); the tops point into them.
fn prefetch(cx: &mut Cx) -> Result<(), Overflow> {
    let k = u64::from(cx.l.lp.data_param().map_or(4, |d| d.prefetch.unwrap_or(4)));
    let data = count_from(cx.top(0), 0)?;
    let labels = if cx.l.top_ids().len() > 1 {
        count_from(cx.top(1), 0)?
    } else {
        0
    };
    let data_axes = cx.top(0).len();
    let label_axes = cx.l.top_ids().get(1).map_or(0, |_| cx.top(1).len());
    // One shape per batch for data and labels, counted at once: `prefetch` comes from the
    // file, and a loop over it would run for minutes at prefetch: 4000000000.
    let shapes = add(shape_bytes(data_axes)?, shape_bytes(label_axes)?)?;
    cx.out.meta = add(cx.out.meta, mul(k, shapes)?)?;
    // transformed_data_: one image, pointed at the batch being filled.
    cx.shape(data_axes)?;
    cx.alloc_in(
        Part::Prefetch,
        "prefetch data",
        mul(k, data)?,
        Elem::Dtype,
        When::Init,
    )?;
    if labels > 0 {
        cx.alloc_in(
            Part::Prefetch,
            "prefetch labels",
            mul(k, labels)?,
            Elem::Dtype,
            When::Init,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spatial_params() {
        assert_eq!(spatial(&[], None, None, 0, 2, 1), 1);
        assert_eq!(spatial(&[3], None, None, 1, 2, 1), 3);
        assert_eq!(spatial(&[3, 5], None, None, 1, 2, 1), 5);
        assert_eq!(spatial(&[7], Some(2), None, 0, 2, 0), 2);
        assert_eq!(spatial(&[7], Some(2), None, 1, 2, 0), 0);
    }

    #[test]
    fn counts() {
        assert_eq!(count_from(&[2, 3, 4], 1), Ok(12));
        assert_eq!(count_range(&[2, 3, 4], 0, 1), Ok(2));
        assert_eq!(count_range(&[2, 3, 4], 0, 0), Ok(1));
        assert_eq!(axis(-1, 4), 3);
    }
}

//! Memory (SPEC §3, §4): two models side by side, each figure as
//! `fixed + batch * per_sample` bytes.
//!
//! - `caffe`: what BVLC Caffe itself allocates for one iteration, replayed from its sources
//!   (`caffe`, `buffers`).
//! - `ideal`: what a perfect allocator needs, the practitioners' rule (`ideal`).
//!
//! Both are computed on the net at its batch B and again at B + 1: the difference is the
//! per-sample part, and `fixed = total(B) - B * per_sample`, so `total(B)` is exact. (Caffe
//! is linear in the batch except where a buffer takes `max(N, H*W)` or skips a step at
//! N = 1; there the split is the local slope at B.) Then `fit` and `suggest` read the figures.

pub mod buffers;
pub mod caffe;
pub mod fit;
pub mod ideal;
pub mod settings;
pub mod suggest;

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::analysis::{Analysis, NetView};
use crate::error::{Error, Result};
use crate::layers::{Phase, Shape};
use crate::proto::{LayerParameter, SolverParameter};

use caffe::{Cfg, Tally, TrainCfg};
pub use caffe::{Part, When};
pub use fit::Fit;
pub use settings::{Device, Dtype, Engine, Flags, Optimizer, Resolved};
pub use suggest::Suggestion;

/// A memory figure overflowed 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

pub(crate) fn add(a: u64, b: u64) -> std::result::Result<u64, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

pub(crate) fn mul(a: u64, b: u64) -> std::result::Result<u64, Overflow> {
    a.checked_mul(b).ok_or(Overflow)
}

/// Bytes of `count` elements of `elem` bytes.
pub(crate) fn bytes(count: u64, elem: u64) -> std::result::Result<u64, Overflow> {
    mul(count, elem)
}

/// One figure: `total = fixed + batch * per_sample` at the report's batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub fixed: u64,
    pub per_sample: u64,
    pub total: u64,
}

impl Figure {
    /// The figure at another batch, on the same line.
    pub fn at(&self, batch: u64) -> std::result::Result<u64, Overflow> {
        add(self.fixed, mul(batch, self.per_sample)?)
    }

    /// From the value at batch `b` and, when the net rescales, at `b + 1`.
    fn line(b: u64, at_b: u64, at_next: Option<u64>) -> std::result::Result<Self, Overflow> {
        let mut per_sample = at_next.map_or(0, |n| n.saturating_sub(at_b));
        // A part that shrinks per sample somewhere cannot have more per-sample bytes than
        // its whole value: keep the line through (b, at_b) with a fixed part >= 0.
        if mul(b, per_sample)? > at_b {
            per_sample = at_b / b.max(1);
        }
        Ok(Figure {
            fixed: at_b - mul(b, per_sample)?,
            per_sample,
            total: at_b,
        })
    }

    fn sum<'a>(figs: impl IntoIterator<Item = &'a Figure>) -> std::result::Result<Self, Overflow> {
        figs.into_iter().try_fold(Figure::default(), |acc, f| {
            Ok(Figure {
                fixed: add(acc.fixed, f.fixed)?,
                per_sample: add(acc.per_sample, f.per_sample)?,
                total: add(acc.total, f.total)?,
            })
        })
    }
}

/// The `caffe` model's parts.
#[derive(Debug, Clone, Serialize)]
pub struct CaffeParts {
    /// Blob data: every distinct top (in-place and Split tops share), net inputs included.
    pub activations: Figure,
    /// Blob diffs: loss weights, and what backward touches (each Split top its own).
    pub activation_diffs: Figure,
    pub params: Figure,
    pub param_diffs: Figure,
    /// Layers' internal buffers (im2col, max indices, BatchNorm/Softmax/LRN/Dropout ...).
    pub layer_buffers: Figure,
    /// Solver history (and the CPU solvers' update/temp scratch).
    pub solver_state: Figure,
    /// Data layers' prefetch batches.
    pub prefetch: Figure,
    /// The test nets' own memory while training (activations, buffers, unshared params).
    pub test_nets: Figure,
    /// cuDNN convolution workspaces: an upper bound (the algorithm cuDNN picks decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cudnn_workspace: Option<Figure>,
    /// Blob shape arrays: host memory, counted with `--device cpu` only.
    pub shape_metadata: Figure,
}

/// One layer-internal buffer of the `caffe` model.
#[derive(Debug, Clone, Serialize)]
pub struct Buffer {
    pub layer: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub buffer: &'static str,
    pub when: When,
    /// The part it counts in: layer_buffers, prefetch or cudnn_workspace.
    pub part: Part,
    #[serde(flatten)]
    pub bytes: Figure,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaffeModel {
    /// The precision this model is computed at (BVLC Caffe has float and double only).
    pub dtype: Dtype,
    pub parts: CaffeParts,
    pub fixed: u64,
    pub per_sample: u64,
    pub total: u64,
    /// A part is an upper bound (cuDNN workspaces), so the total is one too.
    pub upper_bound: bool,
    /// Each layer-internal buffer, with `--buffers` (absent from the JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffers: Option<Vec<Buffer>>,
    pub notes: Vec<String>,
}

/// The `ideal` model's parts (SPEC §3, exactly).
#[derive(Debug, Clone, Serialize)]
pub struct IdealParts {
    pub weights: Figure,
    pub gradients: Figure,
    pub optimizer_state: Figure,
    pub activations: Figure,
    pub activation_gradients: Figure,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdealModel {
    pub dtype: Dtype,
    pub parts: IdealParts,
    pub fixed: u64,
    pub per_sample: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// The batch the totals are at (axis 0 of the first net input).
    pub batch: Option<u64>,
    pub caffe: CaffeModel,
    pub ideal: IdealModel,
}

/// Everything memory adds to the report.
#[derive(Debug, Clone)]
pub struct Output {
    pub settings: Resolved,
    pub memory: Memory,
    pub fit: Option<Fit>,
    pub suggestions: Vec<Suggestion>,
}

/// The nets memory is computed on.
pub struct Input<'a> {
    /// The net file, for messages.
    pub file: &'a str,
    pub phase: Phase,
    pub net: &'a Analysis,
    /// `net`'s replay, from `tally`.
    pub here: &'a Tallies,
    /// The replay of the same net with every input's batch one larger; `None` when it cannot
    /// be rebuilt that way (a Reshape with a fixed batch, say): then everything counts as fixed.
    pub next: Option<&'a Tallies>,
    /// TRAIN through a solver with test nets: the test nets, each at its own batch.
    pub test_nets: &'a [Analysis],
    /// Test nets that could not be built, with the reason.
    pub test_net_errors: &'a [String],
    pub solver: Option<&'a SolverParameter>,
}

/// The batch of a net: axis 0 of its first input, as the report's `settings.batch`.
pub fn batch_of(a: &Analysis) -> Option<u64> {
    a.blobs
        .iter()
        .find(|b| b.is_input)
        .and_then(|b| b.shape.first())
        .and_then(|&n| u64::try_from(n).ok())
        .filter(|&n| n > 0)
}

/// `--input` shapes for a solver's test net. The flag describes the train net; in a test net,
/// a data layer's own `batch_size` sets the batch of the shapes given for its tops (a TEST
/// data layer usually reads a different batch than the TRAIN one).
pub fn test_net_given(
    given: &HashMap<String, Shape>,
    layers: &[std::sync::Arc<LayerParameter>],
) -> HashMap<String, Shape> {
    let mut out = given.clone();
    for lp in layers {
        let batch = lp
            .data_param()
            .map(|p| p.batch_size())
            .or(lp.image_data_param().map(|p| p.batch_size()))
            .or(lp.window_data_param().map(|p| p.batch_size()))
            .or(lp.hdf5_data_param().map(|p| p.batch_size()))
            .or(lp.memory_data_param().map(|p| p.batch_size()))
            .or(lp.dense_image_data_param().map(|p| p.batch_size()))
            .filter(|&n| n > 0);
        let Some(n) = batch else { continue };
        for top in &lp.top {
            if let Some(shape) = out.get_mut(top.as_str()).filter(|s| !s.is_empty()) {
                let mut dims = shape.to_vec();
                dims[0] = i64::from(n);
                *shape = dims.into();
            }
        }
    }
    out
}

/// The settings the flags and the solver give.
pub fn resolve(flags: &Flags, solver: Option<&SolverParameter>) -> Result<Resolved> {
    if flags.engine == Engine::Cudnn && flags.device == Device::Cpu {
        return Err(Error::usage(
            "--engine cudnn needs --device gpu: cuDNN exists only on the GPU",
        )
        .with_hint("drop --engine, or use --device gpu"));
    }
    let optimizer = flags
        .optimizer
        .or_else(|| solver.and_then(Optimizer::of_solver))
        .unwrap_or(Optimizer::Momentum);
    let iter_size = flags
        .iter_size
        .or_else(|| solver.and_then(|s| u32::try_from(s.iter_size()).ok()))
        .unwrap_or(1)
        .max(1);
    Ok(Resolved {
        dtype: flags.dtype,
        optimizer,
        iter_size,
        device: flags.device,
        engine: flags.engine,
    })
}

/// One net's replay at one batch, in both models: all that `compute` needs of the net at
/// B + 1, which is not kept.
#[derive(Debug)]
pub struct Tallies {
    caffe: Tally,
    ideal: ideal::Parts,
    /// The ideal model's counts, for other precisions (the half-precision suggestion).
    ideal_counts: ideal::Counts,
}

/// The precision the caffe model is computed at: BVLC Caffe has float and double only.
fn caffe_dtype(settings: &Resolved) -> Dtype {
    if settings.dtype == Dtype::Fp64 {
        Dtype::Fp64
    } else {
        Dtype::Fp32
    }
}

/// What the caffe replay needs to know of the settings and the solver (without a buffer list).
fn caffe_cfg(settings: &Resolved, phase: Phase, solver: Option<&SolverParameter>) -> Cfg {
    let l1 = solver.is_some_and(|s| s.regularization_type() == "L1");
    Cfg {
        elem: caffe_dtype(settings).weight_bytes(),
        device: settings.device,
        engine: settings.engine,
        train: (phase == Phase::Train).then(|| TrainCfg {
            solver: settings.optimizer.caffe_solver(),
            l1_decay: if l1 {
                solver.map_or(0.0, |s| s.weight_decay())
            } else {
                0.0
            },
        }),
        list_buffers: false,
    }
}

/// Replays `net` in both models, for `Input::here`, and with `next`, the same net resized
/// (`NetView::resized`), for `Input::next`, in the same pass: the two differ only in bytes.
/// An overflow in either is the error.
pub fn tally(
    file: &str,
    net: NetView,
    next: Option<NetView>,
    phase: Phase,
    flags: &Flags,
    solver: Option<&SolverParameter>,
) -> Result<(Tallies, Option<Tallies>)> {
    let settings = resolve(flags, solver)?;
    let cfg = Cfg {
        list_buffers: flags.buffers,
        ..caffe_cfg(&settings, phase, solver)
    };
    let overflow = |_| overflow_error(file);
    // Both models in one pass over the layers: a Split (the ideal model's one alias) is the
    // layer whose tops share its bottom's data.
    let mut counter = ideal::Counter::new(net.blob_count(), phase);
    let mut each = |i, l: &_, alias| counter.layer(i, l, alias == buffers::Alias::Data);
    let no_names = BTreeSet::new();
    let (caffe, caffe_next) = match next {
        None => {
            let [caffe] = caffe::simulate([net], &cfg, &no_names, &mut each).map_err(overflow)?;
            (caffe, None)
        }
        Some(next) => {
            let [caffe, caffe_next] =
                caffe::simulate([net, next], &cfg, &no_names, &mut each).map_err(overflow)?;
            (caffe, Some(caffe_next))
        }
    };
    let tallies = |caffe, net| {
        let ideal_counts = counter.finish(net)?;
        Ok(Tallies {
            caffe,
            ideal: ideal_counts.parts(settings.dtype, settings.optimizer)?,
            ideal_counts,
        })
    };
    let here = tallies(caffe, net).map_err(overflow)?;
    let next = caffe_next
        .zip(next)
        .map(|(caffe, net)| tallies(caffe, net))
        .transpose()
        .map_err(overflow)?;
    Ok((here, next))
}

/// A memory figure past 64 bits: a sum over the whole net, so no one place is to blame.
fn overflow_error(file: &str) -> Error {
    Error::invalid(file, None, "a memory figure of this net overflows 64 bits")
}

pub fn compute(input: &Input, flags: &Flags) -> Result<Output> {
    let overflow = |_| overflow_error(input.file);
    let settings = resolve(flags, input.solver)?;
    let b = batch_of(input.net);
    let mut notes: Vec<String> = input.test_net_errors.to_vec();
    if let Some(s) = input.solver {
        if flags.optimizer.is_none() && Optimizer::of_solver(s).is_none() {
            notes.push(format!(
                "solver type '{}' is not one BVLC Caffe registers: counted as SGD with momentum",
                s.r#type()
            ));
        }
    }

    // The caffe model.
    let caffe_dtype = caffe_dtype(&settings);
    if !settings.dtype.caffe_supported() {
        notes.push(format!(
            "BVLC Caffe has no half precision (Dtype is float or double): the caffe model is \
             computed for fp32, the ideal model for {}",
            settings.dtype.name()
        ));
    }
    if settings.optimizer == Optimizer::AdamW && input.phase == Phase::Train {
        notes.push("BVLC Caffe has no AdamW: the caffe model counts Adam's state".into());
    }
    let cfg = caffe_cfg(&settings, input.phase, input.solver);
    let test_bytes = test_nets(input, &cfg, &mut notes).map_err(overflow)?;
    let here = &input.here.caffe;
    let next = match (input.next, b) {
        (Some(n), Some(_)) => Some(&n.caffe),
        _ => None,
    };
    if b.is_none() {
        notes.push(
            "the net has no input with a batch axis: every figure is fixed (per_sample 0)".into(),
        );
    } else if input.next.is_none() {
        notes.push(
            "the net cannot be rebuilt at another batch (a layer fixes it): every figure is \
             counted as fixed (per_sample 0)"
                .into(),
        );
    }
    if input.phase == Phase::Train
        && !input
            .net
            .layers
            .iter()
            .any(|l| (0..l.top_ids().len()).any(|j| l.loss_weight(j) != 0.0))
    {
        notes.push(
            "the net has no loss (no top with a loss weight): Caffe runs no backward pass, so \
             no activation gradients are counted; train a net with its loss layer"
                .into(),
        );
    }
    let batch = b.unwrap_or(1);
    let caffe_model = caffe_model(
        input,
        &settings,
        caffe_dtype,
        batch,
        here,
        next,
        test_bytes,
        notes,
        flags.buffers,
    )
    .map_err(overflow)?;

    // The ideal model.
    let ideal_next = match (input.next, b) {
        (Some(n), Some(_)) => Some(&n.ideal),
        _ => None,
    };
    let ideal_model =
        ideal_model(settings.dtype, batch, &input.here.ideal, ideal_next).map_err(overflow)?;

    let memory = Memory {
        batch: b,
        caffe: caffe_model,
        ideal: ideal_model,
    };
    let fit = match flags.gpu_mem {
        Some(gpu_mem) => Some(fit_card(
            gpu_mem,
            flags.reserve,
            &memory,
            input.phase,
            &settings,
        ))
        .transpose()
        .map_err(overflow)?,
        None => None,
    };
    let suggestions = suggest::suggestions(&suggest::Context {
        analysis: input.net,
        phase: input.phase,
        settings: &settings,
        memory: &memory,
        tally: here,
        ideal: &input.here.ideal_counts,
        cfg: &cfg,
        fit: fit.as_ref(),
    })
    .map_err(overflow)?;
    Ok(Output {
        settings,
        memory,
        fit,
        suggestions,
    })
}

/// The test nets' share of a training run (solver.cpp InitTestNets and Test): each is built
/// in phase TEST with its own parameters; the first test (`Net::ShareTrainedLayersWith`)
/// frees those of layers named as in the train net and runs forward. Without a test in the
/// first iteration (`test_initialization: false`) only what set-up allocated is held.
fn test_nets(
    input: &Input,
    cfg: &Cfg,
    notes: &mut Vec<String>,
) -> std::result::Result<u64, Overflow> {
    if input.phase != Phase::Train || input.test_nets.is_empty() {
        return Ok(0);
    }
    let names: BTreeSet<&str> = input.net.layers.iter().map(|l| l.name()).collect();
    let test_cfg = Cfg {
        train: None,
        ..*cfg
    };
    let runs_first = input
        .solver
        .is_some_and(|s| s.test_interval() > 0 && s.test_initialization());
    let mut total = 0;
    for t in input.test_nets {
        let [tally] = caffe::simulate([NetView::new(t)], &test_cfg, &names, |_, _, _| Ok(()))?;
        let all = tally.total()?;
        let held = if runs_first {
            all - tally.shareable_params.min(all)
        } else {
            tally.init
        };
        if !runs_first {
            let later = all - tally.shareable_params.min(all);
            notes.push(format!(
                "the first iteration runs no test (test_initialization false): a test net holds \
                 its set-up memory ({held} bytes); from the first test on it holds {later}"
            ));
        }
        total = add(total, held)?;
    }
    Ok(total)
}

#[allow(clippy::too_many_arguments)]
fn caffe_model(
    input: &Input,
    settings: &Resolved,
    dtype: Dtype,
    batch: u64,
    here: &Tally,
    next: Option<&Tally>,
    test_bytes: u64,
    mut notes: Vec<String>,
    list_buffers: bool,
) -> std::result::Result<CaffeModel, Overflow> {
    let part = |p: Part| -> std::result::Result<Figure, Overflow> {
        Figure::line(
            batch,
            here.parts[p as usize],
            next.map(|n| n.parts[p as usize]),
        )
    };
    let cudnn = (settings.engine == Engine::Cudnn && settings.device == Device::Gpu)
        .then(|| part(Part::CudnnWorkspace))
        .transpose()?;
    let parts = CaffeParts {
        activations: part(Part::Activations)?,
        activation_diffs: part(Part::ActivationDiffs)?,
        params: part(Part::Params)?,
        param_diffs: part(Part::ParamDiffs)?,
        layer_buffers: part(Part::LayerBuffers)?,
        solver_state: part(Part::SolverState)?,
        prefetch: part(Part::Prefetch)?,
        test_nets: Figure {
            fixed: test_bytes,
            per_sample: 0,
            total: test_bytes,
        },
        cudnn_workspace: cudnn,
        shape_metadata: part(Part::ShapeMetadata)?,
    };
    let all = [
        &parts.activations,
        &parts.activation_diffs,
        &parts.params,
        &parts.param_diffs,
        &parts.layer_buffers,
        &parts.solver_state,
        &parts.prefetch,
        &parts.test_nets,
        &parts.shape_metadata,
    ];
    let mut sum = Figure::sum(all)?;
    if let Some(w) = &parts.cudnn_workspace {
        sum = Figure::sum([&sum, w])?;
    }
    let same_list = next.is_some_and(|n| n.buffers.len() == here.buffers.len());
    let buffers = list_buffers
        .then(|| {
            here.buffers
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let at_next = same_list
                        .then(|| next.map(|n| n.buffers[i].bytes))
                        .flatten();
                    let l = &input.net.layers[u.layer];
                    Ok(Buffer {
                        layer: l.name().to_string(),
                        ty: l.ty().to_string(),
                        buffer: u.name,
                        when: u.when,
                        part: u.part,
                        bytes: Figure::line(batch, u.bytes, at_next)?,
                    })
                })
                .collect::<std::result::Result<Vec<_>, Overflow>>()
        })
        .transpose()?;
    if !here.unmodeled.is_empty() {
        notes.push(format!(
            "internal buffers of these layer types are not modeled (counted as none): {}",
            here.unmodeled
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let upper_bound = parts.cudnn_workspace.is_some_and(|w| w.total > 0);
    if upper_bound {
        notes.push(
            "cudnn_workspace is an upper bound: 8 MiB (Caffe's workspace limit) x 3 streams x \
             group per convolution; the real size depends on the algorithms cuDNN picks"
                .into(),
        );
    }
    if settings.device == Device::Gpu {
        notes.push(
            "device memory only: the CUDA context, cuBLAS/cuDNN handles and allocator slack \
             are not included (use --reserve)"
                .into(),
        );
    }
    Ok(CaffeModel {
        dtype,
        parts,
        fixed: sum.fixed,
        per_sample: sum.per_sample,
        total: sum.total,
        upper_bound,
        buffers,
        notes,
    })
}

fn ideal_model(
    dtype: Dtype,
    batch: u64,
    here: &ideal::Parts,
    next: Option<&ideal::Parts>,
) -> std::result::Result<IdealModel, Overflow> {
    let h = here.as_array();
    let n = next.map(|p| p.as_array());
    let f = |i: usize| Figure::line(batch, h[i], n.map(|n| n[i]));
    let parts = IdealParts {
        weights: f(0)?,
        gradients: f(1)?,
        optimizer_state: f(2)?,
        activations: f(3)?,
        activation_gradients: f(4)?,
    };
    let sum = Figure::sum([
        &parts.weights,
        &parts.gradients,
        &parts.optimizer_state,
        &parts.activations,
        &parts.activation_gradients,
    ])?;
    Ok(IdealModel {
        dtype,
        parts,
        fixed: sum.fixed,
        per_sample: sum.per_sample,
        total: sum.total,
    })
}

fn fit_card(
    gpu_mem: u64,
    reserve: u64,
    m: &Memory,
    phase: Phase,
    settings: &Resolved,
) -> std::result::Result<Fit, Overflow> {
    let budget = gpu_mem.saturating_sub(reserve);
    let effective = match (phase, m.batch) {
        (Phase::Train, Some(b)) => Some(mul(b, u64::from(settings.iter_size))?),
        _ => None,
    };
    let figure = |fixed, per_sample, total| Figure {
        fixed,
        per_sample,
        total,
    };
    let c = &m.caffe;
    let i = &m.ideal;
    Ok(Fit {
        gpu_mem,
        reserve,
        budget,
        caffe: fit::fit_model(
            &figure(c.fixed, c.per_sample, c.total),
            budget,
            m.batch,
            effective,
        )?,
        ideal: fit::fit_model(
            &figure(i.fixed, i.per_sample, i.total),
            budget,
            m.batch,
            effective,
        )?,
    })
}

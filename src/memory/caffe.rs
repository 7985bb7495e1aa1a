//! The `caffe` model: what BVLC Caffe (master, 9b89154) itself allocates for one iteration,
//! replayed from its sources rather than estimated.
//!
//! The rules Caffe follows, and that this replay follows:
//! - Memory is lazy (src/caffe/syncedmem.cpp `to_cpu`/`to_gpu`): a Blob's data or diff exists
//!   once something touches it, and nothing is freed during forward, backward or the update.
//! - Net::Init (src/caffe/net.cpp AppendTop) makes one Blob per new top; an in-place top is its
//!   bottom's Blob. Split tops share their bottom's data but keep their own diffs
//!   (split_layer.cpp); Reshape, Flatten and one-bottom Concat tops share data and diff
//!   (reshape_layer.cpp, flatten_layer.cpp, concat_layer.cpp).
//! - A top with a loss weight gets its diff at set-up (layer.hpp `SetLossWeights`), in TEST too.
//! - Backward (Net::BackwardFromTo) runs the layers Caffe's need_backward analysis keeps; each
//!   touches the diffs its `Backward_cpu`/`Backward_gpu` touches (see `buffers`).
//! - The solver clears every learnable parameter's diff (net.cpp `ClearParamDiffs`), frozen ones
//!   included, and keeps per-parameter history (solvers/*.cpp).
//! - Each Blob's shape array is itself a SyncedMemory (blob.cpp `Reshape`): host memory only.

use std::collections::BTreeSet;

use crate::analysis::{LayerInfo, NetView};

use super::buffers::{self, Alias, Elem, LayerMem};
use super::settings::{CaffeSolver, Device, Engine};
use super::{add, bytes, Overflow};

/// When Caffe first touches a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Net construction: layer set-up, fillers, loss weights, solver blobs' shapes.
    Init,
    /// The forward pass (and filling the inputs).
    Forward,
    /// The backward pass, and clearing the parameter diffs before it.
    Backward,
    /// The solver's update.
    Update,
}

/// The named parts of the `caffe` model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Activations,
    ActivationDiffs,
    Params,
    ParamDiffs,
    LayerBuffers,
    SolverState,
    Prefetch,
    CudnnWorkspace,
    ShapeMetadata,
}

pub const PARTS: usize = 9;

/// How Caffe is run: the element size of `Dtype`, the device, the convolution engine and,
/// in TRAIN, the solver.
#[derive(Debug, Clone, Copy)]
pub struct Cfg {
    /// `sizeof(Dtype)`: 4 for float, 8 for double.
    pub elem: u64,
    pub device: Device,
    pub engine: Engine,
    pub train: Option<TrainCfg>,
    /// Keep each layer-internal buffer in `Tally::buffers` (`--buffers`); otherwise only the
    /// parts are summed, and a large net's replay holds no per-buffer list.
    pub list_buffers: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct TrainCfg {
    pub solver: CaffeSolver,
    /// `weight_decay` when `regularization_type` is L1, else 0.
    pub l1_decay: f32,
}

impl Cfg {
    pub fn bytes_of(&self, count: u64, elem: Elem) -> Result<u64, Overflow> {
        match elem {
            Elem::Dtype => bytes(count, self.elem),
            // Blob<int> and Blob<unsigned int> are 4 bytes whatever Dtype is.
            Elem::Int => bytes(count, 4),
        }
    }
}

/// One layer-internal buffer, for the report's `buffers` list.
#[derive(Debug, Clone)]
pub struct BufferUse {
    pub layer: usize,
    pub name: &'static str,
    pub when: When,
    pub part: Part,
    pub bytes: u64,
}

/// Everything one net allocates, by part.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub parts: [u64; PARTS],
    /// What is allocated at Init: a test net that has not run yet holds only this.
    pub init: u64,
    /// Each layer-internal buffer, with `Cfg::list_buffers`.
    pub buffers: Vec<BufferUse>,
    /// Bytes of parameter data of layers a test net shares with the train net by name.
    pub shareable_params: u64,
    /// Layer types whose internal buffers this replay does not know (counted as none).
    pub unmodeled: BTreeSet<String>,
    /// Per blob: its own diff is allocated.
    pub diffs: Vec<bool>,
}

impl Tally {
    fn add(&mut self, part: Part, when: When, n: u64) -> Result<(), Overflow> {
        let slot = &mut self.parts[part as usize];
        *slot = add(*slot, n)?;
        if when == When::Init {
            self.init = add(self.init, n)?;
        }
        Ok(())
    }

    pub fn total(&self) -> Result<u64, Overflow> {
        self.parts.iter().try_fold(0, |acc, &p| add(acc, p))
    }
}

/// Shape array of a Blob: `num_axes` ints (blob.cpp `Reshape`).
pub fn shape_bytes(axes: usize) -> Result<u64, Overflow> {
    bytes(axes as u64, 4)
}

/// One view's own part of a replay (see `simulate`): what its sizes decide.
struct Lane<'a> {
    net: NetView<'a>,
    t: Tally,
    meta: u64,
    /// Diffs: the first touch in forward order (a loss weight at Init, a forward's scratch)
    /// decides when a diff is allocated. Backward runs after all of forward, so the diffs it
    /// touches are only noted: one that forward never touched is allocated in Backward,
    /// whichever layer's backward reaches it first. Per view, as a rule may touch a diff at
    /// one size and not at another (a Scale as large as its scale is elementwise).
    diff: Vec<Option<When>>,
    backward: Vec<bool>,
}

impl<'a> Lane<'a> {
    fn new(net: NetView<'a>) -> Self {
        let n = net.blob_count();
        Lane {
            net,
            t: Tally::default(),
            meta: 0,
            diff: vec![None; n],
            backward: vec![false; n],
        }
    }
}

/// Replays one net, in each of `nets`: views of one walked net (the same layers and blobs) at
/// different sizes, the net itself and the net one sample larger. What does not depend on the
/// sizes (the aliasing, the parameters, each layer's rule) is worked out once for all of
/// them, in one pass over the layers. `shared_layer_names`: for a test net, the train net's
/// layer names (their parameters are shared by `Net::ShareTrainedLayersWith` at the first
/// test). `each` sees every layer, with its alias, as the replay reaches it: another model
/// counts in the same pass (the `ideal` model, see `super::tally`).
pub fn simulate<const N: usize>(
    nets: [NetView; N],
    cfg: &Cfg,
    shared_layer_names: &BTreeSet<&str>,
    mut each: impl FnMut(usize, &LayerInfo, Alias) -> Result<(), Overflow>,
) -> Result<[Tally; N], Overflow> {
    let Some(&first) = nets.first() else {
        return Ok(nets.map(|_| Tally::default()));
    };
    debug_assert!(nets
        .iter()
        .all(|v| std::ptr::eq(v.layers(), first.layers())));
    let n = first.blob_count();
    let mut lanes = nets.map(Lane::new);
    let train = cfg.train.is_some();
    let host_meta = cfg.device == Device::Cpu;

    // One pass over the layers, so that a large net's layers are read from memory once. One
    // pass is enough: a layer's new tops are blobs no earlier layer made, and its bottoms are
    // blobs earlier layers made, so all that is known of a blob is settled before a reader
    // looks. The order of the layers matters only to the buffer list and to which touch of a
    // diff comes first, and both follow the layers.

    // Which Blob's memory each blob's data and diff live in.
    let mut data_root: Vec<usize> = (0..n).collect();
    let mut diff_root: Vec<usize> = (0..n).collect();
    // Tops whose data is not the Blob's own (a data layer's prefetch buffer, a parameter).
    let mut borrowed = vec![false; n];
    // Tops whose diff is a parameter's diff (Parameter layer).
    let mut param_diff = vec![false; n];
    // The layer being replayed, refilled for each layer and view.
    let mut m = LayerMem::default();
    for (li, l) in first.layers().iter().enumerate() {
        // Blob data: each top a layer writes, once per Blob (net.cpp AppendTop,
        // syncedmem.cpp). DummyData fills its tops at set-up (dummy_data_layer.cpp LayerSetUp
        // runs Forward).
        let alias = buffers::alias(l);
        each(li, l, alias)?;
        let when = if l.ty() == "DummyData" {
            When::Init
        } else {
            When::Forward
        };
        for id in l.new_top_ids() {
            match (alias, l.bottom_ids().first()) {
                (Alias::Data, Some(b)) => data_root[id] = data_root[b],
                (Alias::DataAndDiff, Some(b)) => {
                    data_root[id] = data_root[b];
                    diff_root[id] = diff_root[b];
                }
                (Alias::Prefetched, _) => borrowed[id] = true,
                (Alias::Param, _) => {
                    borrowed[id] = true;
                    param_diff[id] = true;
                }
                _ => {}
            }
            let own = data_root[id] == id && !borrowed[id];
            for lane in &mut lanes {
                lane.meta = add(lane.meta, shape_bytes(lane.net.shape(id).len())?)?;
                if own {
                    let size = cfg.bytes_of(lane.net.count(id), Elem::Dtype)?;
                    lane.t.add(Part::Activations, when, size)?;
                }
            }
        }

        // Parameters: data from the fillers at set-up; shared ones are the owner's (net.cpp
        // ShareWeights). In TRAIN every owned parameter gets a diff (ClearParamDiffs) and
        // solver state, lr_mult 0 and BatchNorm statistics included. Their shapes are the
        // same in every view.
        let shared_by_name = !shared_layer_names.is_empty()
            && !l.params.is_empty()
            && shared_layer_names.contains(l.name());
        for p in &l.params {
            let shape = shape_bytes(p.shape.len())?;
            let owned = p.owner().is_none();
            let size = if owned {
                cfg.bytes_of(p.count(), Elem::Dtype)?
            } else {
                0
            };
            for lane in &mut lanes {
                lane.meta = add(lane.meta, shape)?;
                if !owned {
                    continue;
                }
                lane.t.add(Part::Params, When::Init, size)?;
                if shared_by_name {
                    lane.t.shareable_params = add(lane.t.shareable_params, size)?;
                }
                if let Some(tc) = cfg.train {
                    lane.t.add(Part::ParamDiffs, When::Backward, size)?;
                    let (copies, blobs) = solver_state(tc, cfg.device, p.decay_mult);
                    lane.t
                        .add(Part::SolverState, When::Update, bytes(size, copies)?)?;
                    lane.meta = add(lane.meta, bytes(shape, blobs)?)?;
                }
            }
        }

        // Layer-internal buffers, and what the layer's forward and backward touch.
        let rule = buffers::rule(l);
        for lane in &mut lanes {
            let t = &mut lane.t;
            buffers::layer_mem(rule, l, lane.net, cfg, &mut m)?;
            if !m.modeled && !t.unmodeled.contains(l.ty()) {
                t.unmodeled.insert(l.ty().to_string());
            }
            lane.meta = add(lane.meta, m.meta)?;
            for b in &m.bufs {
                t.add(b.part, b.when, b.bytes)?;
                if cfg.list_buffers {
                    t.buffers.push(BufferUse {
                        layer: li,
                        name: b.name,
                        when: b.when,
                        part: b.part,
                        bytes: b.bytes,
                    });
                }
            }
            let diff = &mut lane.diff;
            for (j, id) in l.top_ids().iter().enumerate() {
                let root = diff_root[id];
                if l.loss_weight(j) != 0.0 && !param_diff[root] {
                    diff[root].get_or_insert(When::Init);
                }
            }
            for (k, &w) in m.grad.forward_writes.iter().enumerate() {
                if w {
                    diff[diff_root[l.bottom_id(k)]].get_or_insert(When::Forward);
                }
            }
            if train && l.need_backward {
                if m.grad.reads_tops {
                    for id in l.top_ids() {
                        lane.backward[diff_root[id]] = true;
                    }
                }
                for (k, &w) in m.grad.writes.iter().enumerate() {
                    if w {
                        lane.backward[diff_root[l.bottom_id(k)]] = true;
                    }
                }
            }
        }
    }
    for lane in &mut lanes {
        let t = &mut lane.t;
        let diff = &mut lane.diff;
        for (d, (&b, &p)) in diff.iter_mut().zip(lane.backward.iter().zip(&param_diff)) {
            if d.is_none() && b && !p {
                *d = Some(When::Backward);
            }
        }
        t.diffs = diff.iter().map(Option::is_some).collect();
        for (id, when) in diff.iter().enumerate() {
            if let Some(when) = *when {
                let size = cfg.bytes_of(lane.net.count(id), Elem::Dtype)?;
                t.add(Part::ActivationDiffs, when, size)?;
            }
        }
        if host_meta {
            t.add(Part::ShapeMetadata, When::Init, lane.meta)?;
        }
    }
    Ok(lanes.map(|lane| lane.t))
}

/// Solver state per learnable parameter: (copies of the parameter allocated, Blobs created).
///
/// solvers/sgd_solver.cpp PreSolve creates history_, update_ and temp_ for every parameter;
/// adam_solver.cpp and adadelta_solver.cpp add a second history set. Which of them are ever
/// touched depends on the device: the CPU `ComputeUpdateValue`s use update_/temp_ as scratch,
/// the GPU ones are fused kernels over the histories only. L1 regularization
/// (`SGDSolver::Regularize`) writes temp_ for a parameter with a nonzero local decay.
pub(crate) fn solver_state(tc: TrainCfg, device: Device, decay_mult: f32) -> (u64, u64) {
    let blobs = match tc.solver {
        CaffeSolver::Adam | CaffeSolver::AdaDelta => 4,
        _ => 3,
    };
    let (copies, has_temp) = match (device, tc.solver) {
        (Device::Cpu, CaffeSolver::Sgd) => (1, false),
        (Device::Cpu, CaffeSolver::Nesterov | CaffeSolver::AdaGrad | CaffeSolver::RmsProp) => {
            (2, false)
        }
        (Device::Cpu, CaffeSolver::AdaDelta) => (4, true),
        (Device::Cpu, CaffeSolver::Adam) => (3, true),
        (Device::Gpu, CaffeSolver::AdaDelta | CaffeSolver::Adam) => (2, false),
        (Device::Gpu, _) => (1, false),
    };
    let l1 = tc.l1_decay * decay_mult != 0.0;
    (copies + u64::from(l1 && !has_temp), blobs)
}

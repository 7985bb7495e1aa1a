//! The `ideal` model (SPEC §3): what a framework with a perfect allocator needs, the rule of
//! thumb practitioners use. Its parts are defined exactly by the spec; nothing here depends on
//! how Caffe lays memory out.

use crate::analysis::{LayerInfo, NetView};
use crate::layers::Phase;

use super::settings::{Dtype, Optimizer};
use super::{add, bytes, Overflow};

/// The ideal parts, in bytes, at one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    pub weights: u64,
    pub gradients: u64,
    pub optimizer_state: u64,
    pub activations: u64,
    pub activation_gradients: u64,
}

impl Parts {
    pub fn as_array(&self) -> [u64; 5] {
        [
            self.weights,
            self.gradients,
            self.optimizer_state,
            self.activations,
            self.activation_gradients,
        ]
    }
}

/// What the parts count, in elements. Each part is a count times one element size, so a net
/// is read once for any precision: its own, and the half precision a suggestion compares it
/// with. The bytes are exactly the sums of bytes: all the terms are whole multiples of one
/// element size, so a sum of elements (checked) times that size overflows exactly when the
/// sum of the bytes would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    phase: Phase,
    /// Parameters the net owns (shared ones are counted at their owner).
    weights: u64,
    /// Of those, the ones the solver updates.
    learning: u64,
    /// TRAIN: every buffer; TEST: the peak of the live ones.
    activations: u64,
    /// TRAIN: the buffers with a gradient.
    activation_gradients: u64,
}

/// Counts a net's layers in the order they run. The caffe replay feeds it each layer as it
/// reaches it, so that a large net's layers are read from memory once for both models. What
/// it keeps does not depend on the blobs' sizes: one count serves the net at any size
/// (`finish`).
pub struct Counter {
    phase: Phase,
    /// The buffer each blob's data is: an in-place top is its bottom's Blob already (one id
    /// in the analysis), and a Split top is its bottom's buffer.
    root: Vec<usize>,
    /// TRAIN: per buffer, whether it has a gradient. A blob has one when a layer that runs
    /// backward computes it for a reader (bottom_need_backward after Caffe's analysis); a
    /// Split top's gradient is summed into its bottom's.
    grad: Vec<bool>,
    /// TEST: per buffer, the last layer that reads it (through any Split top or in-place
    /// alias).
    last_read: Vec<Option<usize>>,
    weights: u64,
    learning: u64,
}

impl Counter {
    /// For a net of `n` blobs.
    pub fn new(n: usize, phase: Phase) -> Self {
        let train = phase == Phase::Train;
        Counter {
            phase,
            root: (0..n).collect(),
            grad: vec![false; if train { n } else { 0 }],
            last_read: vec![None; if train { 0 } else { n }],
            weights: 0,
            learning: 0,
        }
    }

    /// Layer `i`, the next to run; `split`: it is a Split. Its bottoms were made by earlier
    /// layers, so their buffers are known.
    pub fn layer(&mut self, i: usize, l: &LayerInfo, split: bool) -> Result<(), Overflow> {
        for q in l.owned_params() {
            self.weights = add(self.weights, q.count())?;
            if q.learns() {
                self.learning = add(self.learning, q.count())?;
            }
        }
        for (k, b) in l.bottom_ids().iter().enumerate() {
            let r = self.root[b];
            if self.phase == Phase::Test {
                self.last_read[r] = Some(i);
            } else if l.need_backward && l.bottom_need_backward.get(k) == Some(&true) {
                self.grad[r] = true;
            }
        }
        if split {
            if let Some(b) = l.bottom_ids().first() {
                for t in l.top_ids() {
                    self.root[t] = self.root[b];
                }
            }
        }
        Ok(())
    }

    /// The counts of `net` (the net counted, at its size or resized), once every layer was
    /// counted.
    pub fn finish(&self, net: NetView) -> Result<Counts, Overflow> {
        let (mut activations, mut activation_gradients) = (0u64, 0u64);
        match self.phase {
            Phase::Train => {
                for id in 0..net.blob_count() {
                    if self.root[id] != id {
                        continue;
                    }
                    let count = net.count(id);
                    activations = add(activations, count)?;
                    // Net inputs (data, labels) never have a gradient.
                    if self.grad[id] && !net.is_input(id) {
                        activation_gradients = add(activation_gradients, count)?;
                    }
                }
            }
            Phase::Test => activations = peak_live(net, &self.root, &self.last_read)?,
        }
        Ok(Counts {
            phase: self.phase,
            weights: self.weights,
            learning: self.learning,
            activations,
            activation_gradients,
        })
    }
}

impl Counts {
    /// The parts in bytes, at `dtype` with `optimizer`'s state.
    pub fn parts(&self, dtype: Dtype, optimizer: Optimizer) -> Result<Parts, Overflow> {
        let act = dtype.activation_bytes();
        let mut p = Parts {
            weights: bytes(self.weights, dtype.weight_bytes())?,
            activations: bytes(self.activations, act)?,
            ..Parts::default()
        };
        if self.phase == Phase::Train {
            p.gradients = bytes(self.learning, dtype.gradient_bytes())?;
            p.optimizer_state = bytes(
                bytes(self.learning, optimizer.ideal_state_copies())?,
                dtype.weight_bytes(),
            )?;
            p.activation_gradients = bytes(self.activation_gradients, act)?;
        }
        Ok(p)
    }
}

/// Inference: the peak of live activation elements with the layers run in order. A layer's
/// new tops are allocated before it runs; a buffer is freed after the last layer that reads it
/// has run; buffers nobody reads live to the end.
fn peak_live(net: NetView, root: &[usize], last_read: &[Option<usize>]) -> Result<u64, Overflow> {
    // Elements freed after each layer, summed up front rather than listed per layer.
    // Subtracting the sum at once is subtracting each buffer in turn: `live` saturates at zero
    // either way, and so does a sum past 64 bits (more than `live` can be).
    let mut freed = vec![0u64; net.layers().len()];
    for (id, last) in last_read.iter().enumerate() {
        if let Some(i) = *last {
            freed[i] = freed[i].saturating_add(net.count(id));
        }
    }
    let (mut live, mut peak) = (0u64, 0u64);
    for (l, &freed) in net.layers().iter().zip(&freed) {
        for t in l.new_top_ids() {
            if root[t] == t {
                live = add(live, net.count(t))?;
            }
        }
        peak = peak.max(live);
        // A freed buffer was allocated by an earlier (or this) layer: never below zero.
        live = live.saturating_sub(freed);
    }
    Ok(peak)
}

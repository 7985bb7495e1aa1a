//! The `ideal` model (SPEC §3): what a framework with a perfect allocator needs, the rule of
//! thumb practitioners use. Its parts are defined exactly by the spec; nothing here depends on
//! how Caffe lays memory out.

use crate::analysis::Analysis;
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

/// The buffer each blob's data is: an in-place top is its bottom's Blob already (one id in the
/// analysis), and a Split top is its bottom's buffer.
pub fn storage(a: &Analysis) -> Vec<usize> {
    let mut root: Vec<usize> = (0..a.blobs.len()).collect();
    for l in a.layers.iter().filter(|l| l.ty() == "Split") {
        if let Some(&b) = l.bottom_ids.first() {
            for &t in &l.top_ids {
                root[t] = root[b];
            }
        }
    }
    root
}

pub fn parts(
    a: &Analysis,
    phase: Phase,
    dtype: Dtype,
    optimizer: Optimizer,
) -> Result<Parts, Overflow> {
    let mut p = Parts::default();
    let mut learning: u64 = 0;
    for l in &a.layers {
        for q in l.owned_params() {
            p.weights = add(p.weights, bytes(q.count, dtype.weight_bytes())?)?;
            if q.learns {
                learning = add(learning, q.count)?;
            }
        }
    }
    let root = storage(a);
    let act = dtype.activation_bytes();
    match phase {
        Phase::Train => {
            p.gradients = bytes(learning, dtype.gradient_bytes())?;
            p.optimizer_state = bytes(
                bytes(learning, optimizer.ideal_state_copies())?,
                dtype.weight_bytes(),
            )?;
            // A blob has a gradient when a layer that runs backward computes it for a reader
            // (bottom_need_backward after Caffe's analysis); a Split top's gradient is summed
            // into its bottom's. Net inputs (data, labels) never have one.
            let mut grad = vec![false; a.blobs.len()];
            for l in a.layers.iter().filter(|l| l.need_backward) {
                for (k, &b) in l.bottom_ids.iter().enumerate() {
                    if l.bottom_need_backward.get(k) == Some(&true) {
                        grad[root[b]] = true;
                    }
                }
            }
            for (id, b) in a.blobs.iter().enumerate() {
                if root[id] != id {
                    continue;
                }
                p.activations = add(p.activations, bytes(b.count, act)?)?;
                if grad[id] && !b.is_input {
                    p.activation_gradients = add(p.activation_gradients, bytes(b.count, act)?)?;
                }
            }
        }
        Phase::Test => p.activations = peak_live(a, &root, act)?,
    }
    Ok(p)
}

/// Inference: the peak of live activation bytes with the layers run in order. A layer's new
/// tops are allocated before it runs; a buffer is freed after the last layer that reads it
/// (through any Split top or in-place alias) has run; buffers nobody reads live to the end.
fn peak_live(a: &Analysis, root: &[usize], elem: u64) -> Result<u64, Overflow> {
    let mut last_read: Vec<Option<usize>> = vec![None; a.blobs.len()];
    for (i, l) in a.layers.iter().enumerate() {
        for &b in &l.bottom_ids {
            last_read[root[b]] = Some(i);
        }
    }
    let mut frees: Vec<Vec<usize>> = vec![Vec::new(); a.layers.len()];
    for (id, last) in last_read.iter().enumerate() {
        if let Some(i) = *last {
            frees[i].push(id);
        }
    }
    let (mut live, mut peak) = (0u64, 0u64);
    for (l, freed) in a.layers.iter().zip(&frees) {
        for (j, &t) in l.top_ids.iter().enumerate() {
            if !l.top_in_place[j] && root[t] == t {
                live = add(live, bytes(a.blobs[t].count, elem)?)?;
            }
        }
        peak = peak.max(live);
        for &id in freed {
            // A freed buffer was allocated by an earlier (or this) layer: never below zero.
            live = live.saturating_sub(bytes(a.blobs[id].count, elem)?);
        }
    }
    Ok(peak)
}

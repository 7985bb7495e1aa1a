//! The walked net one sample larger: the blob sizes the memory models read for the
//! per-sample part of every figure. Everything else a walk finds (blob ids, in-place tops,
//! parameter owners, the backward pass) does not depend on shapes, so only the layers' rules
//! run again.
//!
//! `rebatch` runs them over the walked net. On a large net, `ahead` finds the same sizes from
//! the nodes alone, on the core the walk leaves idle, and `Ahead::sizes` then checks them
//! against the walk: only what both agree on is used.

use crate::analysis::{
    built, layer_out, Analysis, BlobSize, LayerInfo, PerBlob, Totals, WalkOptions,
};
use crate::graph::Node;
use crate::layers::{
    self,
    memo::{Found, Memo},
    Out, Shape,
};
use crate::numbering::{self, Numbering};

/// The blob shapes and counts of a walked net at another batch (`opts.batch`), which is all
/// the memory models read that a batch changes: each layer's rule runs again in the walk's
/// order on the walk's blobs, where a second `walk` would build the whole net anew (on a
/// 100k-layer net, 45 MiB of layers and blobs to replay and drop). `None` when the batch
/// changes more than blob shapes (a parameter's shape: an InnerProduct over axis 0) or any
/// check fails at this batch: a full walk at this batch then decides.
pub fn rebatch(file: &str, a: &Analysis, opts: &WalkOptions) -> Option<Vec<BlobSize>> {
    let mut blobs: Vec<BlobSize> = Vec::with_capacity(a.blobs.len());
    let mut totals = Totals::default();
    let mut memo = Memo::default();
    for l in &a.layers {
        let bottoms: PerBlob<&Shape> = l.bottom_ids().iter().map(|id| &blobs[id].0).collect();
        // A layer like one already read is looked up, and only its tops are copied.
        let (Found { out, .. }, _) =
            layer_out(file, &l.lp, &bottoms, opts, l.pos, &mut memo, || Ok(())).ok()?;
        // The bottoms' shapes are borrowed from `blobs` until `resize`.
        drop(bottoms);
        if !same_params(&out, l) {
            return None;
        }
        let top_ids = l.top_ids().iter().enumerate();
        let tops = top_ids.map(|(j, id)| (id, l.top_in_place(j)));
        resize(&out, tops, &mut blobs)?;
        // The walk's overflow checks (`analysis::backward_analysis`) at this batch (with
        // the same `force_backward`, the backward pass repeats the forward as often).
        let back = out.macs.checked_mul(u64::from(l.backward_passes()))?;
        totals.add(out.macs, out.flops, back).ok()?;
    }
    Some(blobs)
}

/// Whether a layer's rule gives the parameter shapes it gave in the walk.
fn same_params(out: &Out, l: &LayerInfo) -> bool {
    out.params.len() == l.params.len()
        && out
            .params
            .iter()
            .zip(&*l.params)
            .all(|(s, p)| *s == p.shape)
}

/// One layer's tops, its rule's result `out` at the new batch, into `blobs`: `tops` are their
/// blob ids, each with whether it is computed in place. `None` when a count is too large.
fn resize(
    out: &Out,
    tops: impl Iterator<Item = (usize, bool)>,
    blobs: &mut Vec<BlobSize>,
) -> Option<()> {
    for ((id, in_place), shape) in tops.zip(&out.tops) {
        let count = layers::count(shape).ok()?;
        if in_place {
            // Most in-place layers keep the shape: then it is not copied again.
            if blobs[id].0 != *shape {
                blobs[id].0.clone_from(shape);
            }
            blobs[id].1 = count;
        } else {
            // The walk numbers blobs in the order they are made.
            debug_assert_eq!(id, blobs.len());
            blobs.push((shape.clone(), count));
        }
    }
    Some(())
}

/// The net one sample larger, found from the nodes before their walk is done (`ahead`), with
/// what it assumed of the walk, to be checked (`sizes`).
pub struct Ahead {
    /// The batch it was found at: the walk's, + 1.
    batch: i64,
    blobs: Vec<BlobSize>,
    /// The rules' results, which hold most layers' parameter shapes.
    memo: Memo,
    /// The parameter shapes of the layers whose result `memo` does not keep, one layer after
    /// another.
    params: Vec<Shape>,
    /// Where each layer's parameter shapes are.
    ends: Vec<ParamsAt>,
}

/// Where a layer's parameter shapes are in an `Ahead`: with a result its memo keeps (most
/// layers, whose shapes are then not copied), or in `params`, ending here.
#[derive(Clone, Copy)]
enum ParamsAt {
    Kept(u32),
    Listed(u32),
}

/// `rebatch` without the walked net, so that it can run beside the walk: the net's batch (its
/// first input's axis 0, as `memory::batch_of` reads it) is found first, and the blob ids are
/// those the walk reads (`numbering`, of the same nodes: the walk takes each layer's ids from
/// it). What the walk alone decides is left to `Ahead::sizes`: whether it found the same
/// parameters and blobs, and the backward pass, for
/// which the MACs are checked as if every layer ran it twice over (a net that fails only that
/// is resized by `rebatch`). `None` when anything fails.
pub fn ahead(
    file: &str,
    nodes: &[Node],
    numbering: &Numbering,
    opts: &WalkOptions,
) -> Option<Ahead> {
    let next = WalkOptions {
        batch: Some(next_batch(file, nodes, opts)?),
        ..*opts
    };
    let mut found = Ahead {
        batch: next.batch?,
        blobs: Vec::with_capacity(nodes.len()),
        memo: Memo::default(),
        params: Vec::new(),
        ends: Vec::with_capacity(nodes.len()),
    };
    let mut totals = Totals::default();
    // Where the layer's ids start in `numbering`.
    let mut first = 0;
    for node in nodes {
        let lp = built(node);
        let ids = numbering
            .ids
            .get(first..first + lp.bottom.len() + lp.top.len())?;
        first += ids.len();
        let (bottom_ids, top_ids) = ids.split_at(lp.bottom.len());
        // A blob the walk refuses: it decides.
        if ids.iter().any(|&id| id >= numbering::TWICE) {
            return None;
        }
        // Pushed one by one: `collect` costs several times more on lists this short.
        let mut bottoms: PerBlob<&Shape> = PerBlob::new();
        for &id in bottom_ids {
            bottoms.push(&found.blobs[id as usize].0);
        }
        let (Found { out, kept }, _) = layer_out(
            file,
            &lp,
            &bottoms,
            &next,
            node.pos,
            &mut found.memo,
            || Ok(()),
        )
        .ok()?;
        drop(bottoms);
        // In place when its id is bottom j's, as `LayerInfo::top_in_place` reads it.
        let tops = top_ids.iter().enumerate().map(|(j, &id)| {
            let in_place = bottom_ids.get(j) == Some(&id);
            (id as usize, in_place)
        });
        resize(&out, tops, &mut found.blobs)?;
        let params = match kept {
            Some(k) => ParamsAt::Kept(k),
            None => {
                found.params.extend(out.params.iter().cloned());
                ParamsAt::Listed(u32::try_from(found.params.len()).ok()?)
            }
        };
        found.ends.push(params);
        totals
            .add(out.macs, out.flops, out.macs.checked_mul(2)?)
            .ok()?;
    }
    Some(found)
}

/// The batch `ahead` resizes to: axis 0 of the first input the walk makes (the first top of
/// the first layer without bottoms), + 1.
fn next_batch(file: &str, nodes: &[Node], opts: &WalkOptions) -> Option<i64> {
    let (node, lp) = nodes.iter().find_map(|node| {
        let lp = built(node);
        (lp.bottom.is_empty() && !lp.top.is_empty()).then_some((node, lp))
    })?;
    let mut memo = Memo::default();
    let (Found { out, .. }, _) =
        layer_out(file, &lp, &[], opts, node.pos, &mut memo, || Ok(())).ok()?;
    let batch = u64::try_from(*out.tops.first()?.first()?).ok()?;
    if batch == 0 {
        return None;
    }
    i64::try_from(batch.checked_add(1)?).ok()
}

impl Ahead {
    /// The blob sizes found, if the walk `a` agrees with what they were found from: the same
    /// batch, as many layers and blobs, and in every layer the same parameter shapes. The
    /// blob ids need no comparing: the walk takes them from the numbering `ahead` read (of the
    /// same nodes). `opts` are the walk's at the new batch.
    pub fn sizes(&self, a: &Analysis, opts: &WalkOptions) -> Option<&[BlobSize]> {
        // Where the layer's listed parameters start: where the ones before ended.
        let mut params_from = 0;
        let agrees = opts.batch == Some(self.batch)
            && a.layers.len() == self.ends.len()
            && a.blobs.len() == self.blobs.len()
            && a.layers.iter().zip(&self.ends).all(|(l, &at)| {
                let params = match at {
                    ParamsAt::Kept(k) => self.memo.params(k),
                    ParamsAt::Listed(end) => {
                        let listed = &self.params[params_from..end as usize];
                        params_from = end as usize;
                        listed
                    }
                };
                params.iter().eq(l.params.iter().map(|p| &p.shape))
            });
        agrees.then_some(&self.blobs[..])
    }
}

//! The walk over the built net, as Caffe's `Net::Init` does it (src/caffe/net.cpp): blobs
//! created and shared in place, each layer's rule applied in order, parameters attached and
//! shared by name, and the need_backward analysis that decides which layers and blobs take
//! part in the backward pass.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use foldhash::HashMap;
use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::graph::Node;
use crate::layers::{self, memo::Memo, Ctx, Shape};
use crate::load::Warning;
use crate::proto::{param_spec::DimCheckMode, LayerParameter};
use crate::textformat::Pos;

/// One parameter blob of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    pub shape: Shape,
    pub count: u64,
    pub lr_mult: f32,
    pub decay_mult: f32,
    /// `lr_mult != 0`: the solver updates it.
    pub learns: bool,
    /// The (layer, param) index of the blob this one shares by name, if it is not the owner.
    pub owner: Option<(usize, usize)>,
}

/// A per-bottom or per-top list. Layers have one or two of each, and the net is walked
/// twice: kept inline, they are not five heap allocations per layer and walk. Two inline
/// (a list is then 24 bytes, whatever `T`); with four, each list of ids took 40.
pub type PerBlob<T> = SmallVec<[T; 2]>;

/// One layer of the built net, with everything the report and the memory models need.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// The layer as built (shared with the graph's node and the other walks of the net): its
    /// name, type, bottoms (rewired to Split tops) and tops (with a loss's automatic one) are
    /// the ones reported.
    pub lp: Arc<LayerParameter>,
    pub bottom_ids: PerBlob<usize>,
    pub top_ids: PerBlob<usize>,
    /// Per top: whether it is the bottom at the same index, computed in place.
    pub top_in_place: PerBlob<bool>,
    pub inserted: bool,
    pub pos: Pos,
    pub output_shapes: Vec<Shape>,
    pub params: Vec<ParamInfo>,
    pub macs: u64,
    pub flops: u64,
    pub backward_macs: u64,
    /// Caffe's layer_need_backward after its analysis (force_backward included).
    pub need_backward: bool,
    pub bottom_need_backward: PerBlob<bool>,
    /// Per top: its loss weight (loss layers default to 1 on their first top).
    pub loss_weights: PerBlob<f32>,
    /// A rule for this type exists; otherwise the shapes were passed through, and the layer's
    /// one note is `unknown_type_note` (made by the report: a list per layer would make each
    /// `LayerInfo` larger than the report's layer, which is collected in its place).
    pub known_type: bool,
}

impl LayerInfo {
    pub fn name(&self) -> &str {
        self.lp.name()
    }

    /// The type as built (V0/V1 types already upgraded; an inserted Split's is "Split").
    pub fn ty(&self) -> &str {
        self.lp.r#type()
    }

    pub fn in_place(&self) -> bool {
        self.top_in_place.iter().any(|&b| b)
    }

    /// Parameters this layer owns (shared ones are counted at their owner).
    pub fn owned_params(&self) -> impl Iterator<Item = &ParamInfo> {
        self.params.iter().filter(|p| p.owner.is_none())
    }
}

/// One distinct blob (in-place tops are their bottom's blob).
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub shape: Shape,
    pub count: u64,
    pub producer: usize,
    /// Which of the producer's tops it is: its name is that top's (`Analysis::blob_name`),
    /// not a copy.
    pub top: usize,
    /// Layers that read it, in order: a chain of in-place layers reads a blob several times
    /// (a convolution's output by BatchNorm, Scale and ReLU in place, then the next layer).
    pub consumers: SmallVec<[usize; 4]>,
    /// Caffe's blob_need_backward: its diff is computed in the backward pass.
    pub need_backward: bool,
    /// Made by a layer without bottoms: data, not computed.
    pub is_input: bool,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub layers: Vec<LayerInfo>,
    pub blobs: Vec<BlobInfo>,
}

impl Analysis {
    /// A blob's name: the producer's top as built (a loss's automatic top included).
    pub fn blob_name(&self, id: usize) -> &str {
        let b = &self.blobs[id];
        &self.layers[b.producer].lp.top[b.top]
    }
}

/// A blob's shape and element count.
pub type BlobSize = (Shape, u64);

/// A walked net as the memory models replay it: its blobs at the walk's batch, or resized to
/// another batch by `rebatch`, the net itself unchanged.
#[derive(Clone, Copy)]
pub struct NetView<'a> {
    analysis: &'a Analysis,
    resized: Option<&'a [BlobSize]>,
}

impl<'a> NetView<'a> {
    pub fn new(analysis: &'a Analysis) -> Self {
        NetView {
            analysis,
            resized: None,
        }
    }

    /// `analysis` with the blob sizes `rebatch` found.
    pub fn resized(analysis: &'a Analysis, sizes: &'a [BlobSize]) -> Self {
        NetView {
            analysis,
            resized: Some(sizes),
        }
    }

    pub fn layers(self) -> &'a [LayerInfo] {
        &self.analysis.layers
    }

    pub fn blob_count(self) -> usize {
        self.analysis.blobs.len()
    }

    pub fn is_input(self, id: usize) -> bool {
        self.analysis.blobs[id].is_input
    }

    pub fn shape(self, id: usize) -> &'a Shape {
        match self.resized {
            Some(sizes) => &sizes[id].0,
            None => &self.analysis.blobs[id].shape,
        }
    }

    pub fn count(self, id: usize) -> u64 {
        match self.resized {
            Some(sizes) => sizes[id].1,
            None => self.analysis.blobs[id].count,
        }
    }
}

/// The blob shapes and counts of a walked net at another batch (`opts.batch`), which is all
/// the memory models read that a batch changes: each layer's rule runs again in the walk's
/// order on the walk's blobs, where a second `walk` would build the whole net anew (on a
/// 100k-layer net, 45 MiB of layers and blobs to replay and drop). `None` when the batch
/// changes more than blob shapes (a parameter's shape: an InnerProduct over axis 0) or any
/// check fails at this batch: a full walk at this batch then decides. Everything else a walk
/// finds (blob ids, in-place tops, parameter owners, the backward pass) does not depend on
/// shapes.
pub fn rebatch(file: &str, a: &Analysis, opts: &WalkOptions) -> Option<Vec<BlobSize>> {
    let mut blobs: Vec<BlobSize> = Vec::with_capacity(a.blobs.len());
    let mut totals = Totals::default();
    let mut memo = Memo::default();
    for l in &a.layers {
        let bottoms: PerBlob<&Shape> = l.bottom_ids.iter().map(|&id| &blobs[id].0).collect();
        // A layer like one already read is looked up, and only its tops are copied.
        // The bottoms' shapes are borrowed from `blobs` until `resize`.
        if let Some(out) = memo.get(&l.lp, &bottoms) {
            drop(bottoms);
            resize(l, out, &mut blobs, &mut totals, opts)?;
        } else {
            let (out, _) =
                layer_out(file, &l.lp, &bottoms, opts, l.pos, &mut memo, || Ok(())).ok()?;
            drop(bottoms);
            resize(l, &out, &mut blobs, &mut totals, opts)?;
        }
    }
    Some(blobs)
}

/// `rebatch`'s step for one layer, its rule's result `out` at the new batch: its tops' sizes
/// into `blobs` and its totals checked. `None` when its parameters change with the batch or a
/// check fails.
fn resize(
    l: &LayerInfo,
    out: &layers::Out,
    blobs: &mut Vec<BlobSize>,
    totals: &mut Totals,
    opts: &WalkOptions,
) -> Option<()> {
    let same_params = out.params.len() == l.params.len()
        && out.params.iter().zip(&l.params).all(|(s, p)| *s == p.shape);
    if !same_params {
        return None;
    }
    for ((shape, &id), &in_place) in out.tops.iter().zip(&l.top_ids).zip(&l.top_in_place) {
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
    // The walk's overflow checks (`backward_analysis`, `check_totals`) at this batch.
    let back = if l.need_backward {
        out.macs
            .checked_mul(backward_times(l, opts.force_backward))?
    } else {
        0
    };
    totals.add(out.macs, out.flops, back).ok()
}

/// Settings of the walk.
#[derive(Clone, Copy)]
pub struct WalkOptions<'a> {
    pub ctx: Ctx<'a>,
    /// `--batch`: replaces axis 0 of every net input.
    pub batch: Option<i64>,
    /// Unknown layer types are errors.
    pub strict: bool,
    pub force_backward: bool,
}

/// The warning for a layer of a type no rule knows, also its note in the report.
pub fn unknown_type_note(name: &str, ty: &str) -> String {
    format!(
        "unknown layer type '{ty}' (layer '{name}'): its tops take the shape of its first bottom"
    )
}

/// Layers derived from LossLayer: they get an automatic top when none is named.
fn is_loss_type(ty: &str) -> bool {
    ty.ends_with("Loss")
}

/// Whether the first top weighs 1 in the loss by default: LossLayer::LayerSetUp adds that
/// weight, and caffe-fast-rcnn's SmoothL1Loss (fast_rcnn_layers.hpp) skips that setup.
fn default_loss_weight(ty: &str) -> bool {
    is_loss_type(ty) && ty != "SmoothL1Loss"
}

/// Layer::AllowForceBackward: true, except for the inputs a loss cannot differentiate
/// (loss_layer.hpp: the labels, bottom 1; contrastive_loss_layer.hpp: the similarity, bottom 2;
/// euclidean_loss_layer.hpp and caffe-fast-rcnn's SmoothL1Loss: every input).
fn allow_force_backward(ty: &str, bottom: usize) -> bool {
    match ty {
        "EuclideanLoss" | "SmoothL1Loss" => true,
        "ContrastiveLoss" => bottom != 2,
        t if is_loss_type(t) => bottom != 1,
        _ => true,
    }
}

pub fn walk(
    file: &str,
    nodes: &[Node],
    opts: &WalkOptions,
    warnings: &mut Vec<Warning>,
) -> Result<Analysis> {
    // Fewer blobs than layers in most nets (in-place tops make none): sized once rather than
    // grown by doubling, which copied the list into fresh memory at each step.
    let mut blobs: Vec<BlobInfo> = Vec::with_capacity(nodes.len());
    // Names borrowed from the nodes, which outlive the walk (borrowed too: each walk of the net
    // would otherwise copy the node list and count every layer's `Arc` up and down).
    let mut blob_index: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(nodes.len(), Default::default());
    // Per blob: produced and not yet consumed (Caffe's available_blobs).
    let mut available: Vec<bool> = Vec::with_capacity(nodes.len());
    let mut layers: Vec<LayerInfo> = Vec::with_capacity(nodes.len());
    let mut param_names: HashMap<String, (usize, usize)> = HashMap::default();
    let mut memo = Memo::default();

    for node in nodes {
        let mut lp = Arc::clone(&node.lp);
        let (pos, inserted) = (node.pos, node.inserted);
        // LossLayer::AutoTopBlobs: a loss written without a top still gets one, unnamed and
        // never a net output (net.cpp appends it without registering its name).
        let auto_top = lp.top.is_empty() && is_loss_type(lp.r#type());
        if auto_top {
            Arc::make_mut(&mut lp).top.push("(automatic)".into());
        }
        // SSD's MultiBoxLoss (multibox_loss_layer.cpp) sets propagate_down itself: gradients
        // reach the location and confidence predictions, never the priors or the labels.
        if lp.r#type() == "MultiBoxLoss" && lp.propagate_down().is_empty() && lp.bottom.len() == 4 {
            Arc::make_mut(&mut lp).rare_mut().propagate_down = vec![true, true, false, false];
        }
        let li = layers.len();
        let name = lp.name();
        let ty = lp.r#type();
        let err = |msg: String| Error::invalid(file, Some(pos), msg);

        if !lp.propagate_down().is_empty() && lp.propagate_down().len() != lp.bottom.len() {
            return Err(err(format!(
                "layer '{name}': propagate_down must be given either 0 or {} times (once per bottom)",
                lp.bottom.len()
            )));
        }
        // Bottoms: every one must be available (InsertSplits already refused unknown ones).
        let mut bottom_ids = PerBlob::with_capacity(lp.bottom.len());
        let mut bottom_need_backward = PerBlob::with_capacity(lp.bottom.len());
        let mut need_backward = false;
        for (j, b) in lp.bottom.iter().enumerate() {
            let Some(&id) = blob_index.get(b.as_str()) else {
                return Err(err(format!(
                    "Unknown bottom blob '{b}' (layer '{name}', bottom index {j})"
                )));
            };
            if !std::mem::replace(&mut available[id], false) {
                return Err(err(format!(
                    "Unknown bottom blob '{b}' (layer '{name}', bottom index {j}): it was already consumed"
                )));
            }
            blobs[id].consumers.push(li);
            bottom_ids.push(id);
            let nb = match lp.propagate_down().get(j) {
                Some(&p) => p,
                None => blobs[id].need_backward,
            };
            bottom_need_backward.push(nb);
            need_backward |= blobs[id].need_backward;
        }

        // Shapes from the rule.
        let bottom_shapes: PerBlob<&Shape> =
            bottom_ids.iter().map(|&id| &blobs[id].shape).collect();
        let unknown = || {
            if opts.strict {
                return Err(
                    err(format!("unknown layer type '{ty}' (layer '{name}')")).with_hint(
                        "without --strict, an unknown type passes its first bottom's shape through",
                    ),
                );
            }
            warnings.push(Warning {
                file: file.to_string(),
                line: pos.line,
                col: pos.col,
                message: unknown_type_note(name, ty),
            });
            Ok(())
        };
        let (mut out, known_type) =
            layer_out(file, &lp, &bottom_shapes, opts, pos, &mut memo, unknown)?;
        // The bottoms' shapes are borrowed from `blobs` until here.
        drop(bottom_shapes);

        // Tops: in place when top j is bottom j; otherwise a new blob, never one made before.
        let mut top_ids = PerBlob::with_capacity(lp.top.len());
        let mut top_in_place = PerBlob::with_capacity(lp.top.len());
        for (j, t) in lp.top.iter().enumerate() {
            let count = layers::count(&out.tops[j])
                .map_err(|e| err(format!("layer '{name}': {}", e.message)))?;
            if lp.bottom.get(j) == Some(t) {
                let id = bottom_ids[j];
                // Most layers computing in place keep the shape (activations, normalizations):
                // then it is not copied again.
                if blobs[id].shape != out.tops[j] {
                    blobs[id].shape = out.tops[j].clone();
                }
                blobs[id].count = count;
                top_ids.push(id);
                top_in_place.push(true);
                available[id] = true;
            } else {
                let id = blobs.len();
                // The node's own list: an automatic top is never registered (nor refused), so
                // this layer's tops are the node's. One look-up both refuses and registers.
                if !auto_top {
                    match blob_index.entry(node.lp.top[j].as_str()) {
                        Entry::Occupied(_) => {
                            return Err(err(format!(
                                "Top blob '{t}' produced by multiple sources."
                            )))
                        }
                        Entry::Vacant(v) => {
                            v.insert(id);
                        }
                    }
                }
                blobs.push(BlobInfo {
                    shape: out.tops[j].clone(),
                    count,
                    producer: li,
                    top: j,
                    consumers: SmallVec::new(),
                    need_backward: false,
                    is_input: lp.bottom.is_empty(),
                });
                top_ids.push(id);
                top_in_place.push(false);
                available.push(!auto_top);
            }
        }

        // Loss weights (Layer::SetLossWeights; LossLayer defaults the first to 1).
        let loss_weights: PerBlob<f32> = if !lp.loss_weight().is_empty() {
            if lp.loss_weight().len() != lp.top.len() {
                return Err(err(format!(
                    "layer '{name}': loss_weight must be unspecified or given once per top ({} tops, {} weights)",
                    lp.top.len(),
                    lp.loss_weight().len()
                )));
            }
            lp.loss_weight().iter().copied().collect()
        } else {
            (0..lp.top.len())
                .map(|j| {
                    if j == 0 && default_loss_weight(ty) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        };

        // Parameters.
        if lp.param.len() > out.params.len() {
            return Err(err(format!(
                "Too many params specified for layer {name}: {} param specs, {} parameter blobs",
                lp.param.len(),
                out.params.len()
            )));
        }
        let out_param_count = out.params.len();
        let mut params = Vec::with_capacity(out_param_count);
        for (k, shape) in std::mem::take(&mut out.params).into_iter().enumerate() {
            let spec = lp.param.get(k);
            let mut lr_mult = spec.map_or(1.0, |s| s.lr_mult());
            let mut decay_mult = spec.map_or(1.0, |s| s.decay_mult());
            // PSPNet's BN (4 blobs, bn_layer.cpp) keeps its running statistics, and with
            // `frozen` its scale and shift too, out of the solver's reach.
            let bn_frozen = lp.bn_param().is_some_and(|b| b.frozen());
            if ty == "BN" && out_param_count == 4 && (k >= 2 || bn_frozen) {
                lr_mult = 0.0;
                decay_mult = 0.0;
            }
            if ty == "BatchNorm" {
                // BatchNormLayer adds lr_mult 0 specs for its statistics and refuses others.
                if lr_mult != 0.0 && spec.is_some() {
                    return Err(err(format!(
                        "layer '{name}': Cannot configure batch normalization statistics as layer parameters (lr_mult must be 0)"
                    )));
                }
                lr_mult = 0.0;
            }
            let count =
                layers::count(&shape).map_err(|e| err(format!("layer '{name}': {}", e.message)))?;
            let mut owner = None;
            let pname = spec.map(|s| s.name()).unwrap_or("");
            if !pname.is_empty() {
                match param_names.get(pname) {
                    None => {
                        param_names.insert(pname.to_string(), (li, k));
                    }
                    Some(&(ol, ok)) => {
                        let oshape = &layers[ol].params[ok].shape;
                        let permissive =
                            spec.is_some_and(|s| s.share_mode() == DimCheckMode::Permissive);
                        let mismatch = if permissive {
                            layers[ol].params[ok].count != count
                        } else {
                            oshape != &shape
                        };
                        if mismatch {
                            return Err(err(format!(
                                "Cannot share param '{pname}' owned by layer '{}' with layer '{name}'; {} mismatch: owner has shape {oshape:?}, this layer expects {shape:?}",
                                layers[ol].name(),
                                if permissive { "count" } else { "shape" }
                            )));
                        }
                        owner = Some((ol, ok));
                    }
                }
            }
            need_backward |= lr_mult != 0.0;
            params.push(ParamInfo {
                shape,
                count,
                lr_mult,
                decay_mult,
                learns: lr_mult != 0.0,
                owner,
            });
        }
        if need_backward {
            for &id in &top_ids {
                blobs[id].need_backward = true;
            }
        }
        layers.push(LayerInfo {
            bottom_ids,
            top_ids,
            top_in_place,
            inserted,
            pos,
            output_shapes: out.tops,
            params,
            macs: out.macs,
            flops: out.flops,
            backward_macs: 0,
            need_backward,
            bottom_need_backward,
            loss_weights,
            known_type,
            lp,
        });
    }

    backward_analysis(file, &mut layers, &mut blobs, opts.force_backward)?;
    check_totals(file, &layers)?;
    Ok(Analysis { layers, blobs })
}

/// What a layer makes of its bottoms' shapes: its rule's tops, parameters and MACs, with the
/// batch set on a net input's tops; for a type no rule knows (after `unknown` allowed it), the
/// shapes passed through. The part of the walk that depends on shapes, shared with
/// `rebatch`. Also whether a rule knew the type.
fn layer_out(
    file: &str,
    lp: &LayerParameter,
    bottoms: &[&Shape],
    opts: &WalkOptions,
    pos: Pos,
    memo: &mut Memo,
    unknown: impl FnOnce() -> Result<()>,
) -> Result<(layers::Out, bool)> {
    let (name, ty) = (lp.name(), lp.r#type());
    let err = |msg: String| Error::invalid(file, Some(pos), msg);
    let (mut out, known_type) = match memo.infer(lp, bottoms, &opts.ctx) {
        Some(Ok(out)) => (out, true),
        Some(Err(e)) => {
            let mut error = err(format!("layer '{name}' ({ty}): {}", e.message));
            if let Some(h) = e.hint {
                error = error.with_hint(h);
            }
            return Err(error);
        }
        None => {
            unknown()?;
            (pass_through(lp, bottoms, &opts.ctx, file, pos)?, false)
        }
    };
    if out.tops.len() != lp.top.len() {
        return Err(err(format!(
            "layer '{name}' ({ty}) makes {} top(s) but {} are named",
            out.tops.len(),
            lp.top.len()
        )));
    }
    // A Parameter layer's top is a learned blob, not data: the batch does not size it.
    // SSD's AnnotatedData label is one [1,1,1,8] plane whatever the batch: only its data
    // top is batched.
    if lp.bottom.is_empty() && ty != "Parameter" {
        if let Some(n) = opts.batch {
            let batched = if ty == "AnnotatedData" {
                1
            } else {
                out.tops.len()
            };
            for s in out.tops.iter_mut().take(batched).filter(|s| !s.is_empty()) {
                let mut dims = s.to_vec();
                dims[0] = n;
                *s = dims.into();
            }
        }
    }
    Ok((out, known_type))
}

/// An unknown type: each top takes a shape given with `--input`, else the first bottom's.
fn pass_through(
    lp: &LayerParameter,
    bottoms: &[&Shape],
    ctx: &Ctx,
    file: &str,
    pos: Pos,
) -> Result<layers::Out> {
    let mut tops = Vec::with_capacity(lp.top.len());
    for t in &lp.top {
        if let Some(s) = ctx.given(t) {
            tops.push(s.clone());
        } else if let Some(first) = bottoms.first() {
            tops.push((*first).clone());
        } else {
            return Err(Error::invalid(
                file,
                Some(pos),
                format!(
                    "the shape of blob '{t}' cannot be known: layer '{}' has unknown type '{}' and no bottoms",
                    lp.name(),
                    lp.r#type()
                ),
            )
            .with_hint(format!("use --input {t}=N,C,H,W")));
        }
    }
    Ok(layers::Out {
        tops,
        ..Default::default()
    })
}

/// The second half of Net::Init: walking back from the losses, a layer runs backward only if
/// it contributes to a loss and some top's gradient is wanted; then force_backward; then the
/// backward MACs that follow (SPEC §2: the weight gradient and the bottom gradient each cost
/// the forward MACs again).
fn backward_analysis(
    file: &str,
    layers: &mut [LayerInfo],
    blobs: &mut [BlobInfo],
    force_backward: bool,
) -> Result<()> {
    let mut under_loss = vec![false; blobs.len()];
    let mut skip_backp = vec![false; blobs.len()];
    for l in layers.iter_mut().rev() {
        let mut contributes = false;
        let mut skip = true;
        for (j, &id) in l.top_ids.iter().enumerate() {
            if l.loss_weights.get(j).is_some_and(|&w| w != 0.0) || under_loss[id] {
                contributes = true;
            }
            if !skip_backp[id] {
                skip = false;
            }
            if contributes && !skip {
                break;
            }
        }
        if l.need_backward && skip {
            l.need_backward = false;
            l.bottom_need_backward.iter_mut().for_each(|b| *b = false);
        }
        if !contributes {
            l.need_backward = false;
        }
        for (j, &id) in l.bottom_ids.iter().enumerate() {
            if contributes {
                under_loss[id] = true;
            } else {
                l.bottom_need_backward[j] = false;
            }
            if !l.bottom_need_backward[j] {
                skip_backp[id] = true;
            }
        }
    }
    if force_backward {
        for l in layers.iter_mut() {
            l.need_backward = true;
            for (j, &id) in l.bottom_ids.iter().enumerate() {
                let allow = allow_force_backward(l.ty(), j);
                l.bottom_need_backward[j] |= allow;
                blobs[id].need_backward |= l.bottom_need_backward[j];
            }
        }
    }
    for l in layers.iter_mut() {
        if !l.need_backward || l.macs == 0 {
            continue;
        }
        l.backward_macs = l
            .macs
            .checked_mul(backward_times(l, force_backward))
            .ok_or_else(|| too_many(file, l, "backward MACs"))?;
    }
    Ok(())
}

/// How many times a layer's backward pass repeats its forward MACs: once for the weight
/// gradient, once for the bottoms' (SPEC §2).
fn backward_times(l: &LayerInfo, force_backward: bool) -> u64 {
    let weights = l.params.iter().any(|p| p.learns) || force_backward && !l.params.is_empty();
    let data = l.bottom_need_backward.iter().any(|&b| b);
    u64::from(weights) + u64::from(data)
}

/// The report's totals are 64-bit counts: a net whose sums would not fit is refused with the
/// layer where they overflow, never reported with a wrapped or clamped figure.
fn check_totals(file: &str, layers: &[LayerInfo]) -> Result<()> {
    let mut totals = Totals::default();
    for l in layers {
        totals
            .add(l.macs, l.flops, l.backward_macs)
            .map_err(|what| too_many(file, l, what))?;
    }
    Ok(())
}

/// The net's forward MACs, FLOPs and backward MACs so far.
#[derive(Default)]
struct Totals {
    macs: u64,
    flops: u64,
    backward_macs: u64,
}

impl Totals {
    /// Adds a layer's figures; `Err` names the first total that would pass 64 bits.
    fn add(
        &mut self,
        macs: u64,
        flops: u64,
        backward_macs: u64,
    ) -> std::result::Result<(), &'static str> {
        self.macs = self.macs.checked_add(macs).ok_or("forward MACs")?;
        self.flops = self.flops.checked_add(flops).ok_or("FLOPs")?;
        let backward = self.backward_macs.checked_add(backward_macs);
        self.backward_macs = backward.ok_or("backward MACs")?;
        Ok(())
    }
}

fn too_many(file: &str, l: &LayerInfo, what: &str) -> Error {
    Error::invalid(
        file,
        Some(l.pos),
        format!(
            "the net's {what} overflow 64 bits at layer '{}': more than caffe-mem can count",
            l.name()
        ),
    )
}

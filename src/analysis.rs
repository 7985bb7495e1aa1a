//! The walk over the built net, as Caffe's `Net::Init` does it (src/caffe/net.cpp): blobs
//! created and shared in place, each layer's rule applied in order, parameters attached and
//! shared by name, and the need_backward analysis that decides which layers and blobs take
//! part in the backward pass.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use foldhash::HashMap;
use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::graph::Node;
use crate::layers::{
    self,
    memo::{Found, Memo},
    Ctx, Shape,
};
use crate::load::Warning;
use crate::numbering::{self, Feed};
use crate::proto::{param_spec::DimCheckMode, LayerParameter};
use crate::textformat::Pos;

/// One parameter blob of a layer. 32 bytes, half of what it was with a `learns` flag, a
/// 64-bit count and the owner's (layer, param) index as two `usize`s: the 100k-layer net has
/// 138k of them, in lists of one to three per layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    pub shape: Shape,
    /// Elements: 32 bits hold it, as Caffe refuses a blob over INT_MAX (`layers::count`).
    count: u32,
    pub lr_mult: f32,
    pub decay_mult: f32,
    /// The layer whose blob this one shares by name, or `NOT_SHARED` for the owner: with an
    /// `Option`, 4 bytes more.
    owner: u32,
}

/// A layer's parameter blobs, read as a slice. Shared by the layers whose rule's result the
/// walk's memo kept in one place, when their multipliers and owners are alike too: on the
/// 100k-layer net, 69k lists of one to three blobs are made once per kept result, rather than
/// one allocation (and a count per blob) each. Empty, it is no allocation.
#[derive(Debug, Clone, Default)]
pub struct Params(Option<Arc<[ParamInfo]>>);

impl Deref for Params {
    type Target = [ParamInfo];

    fn deref(&self) -> &[ParamInfo] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = &'a ParamInfo;
    type IntoIter = std::slice::Iter<'a, ParamInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// `ParamInfo::owner` of a blob the layer owns: never a layer index, as `walk` refuses a net
/// of more than `u32::MAX` layers.
const NOT_SHARED: u32 = u32::MAX;

impl ParamInfo {
    pub fn count(&self) -> u64 {
        u64::from(self.count)
    }

    /// `lr_mult != 0`: the solver updates it.
    pub fn learns(&self) -> bool {
        self.lr_mult != 0.0
    }

    /// The layer whose blob this one shares by name, if it is not the owner.
    pub fn owner(&self) -> Option<usize> {
        (self.owner != NOT_SHARED).then_some(self.owner as usize)
    }
}

/// A per-bottom or per-top list. Layers have one or two of each, and the net is walked
/// twice: kept inline, they are not five heap allocations per layer and walk. Two inline
/// (a list is then 24 bytes, whatever `T`); with four, each list of ids took 40.
pub type PerBlob<T> = SmallVec<[T; 2]>;

/// Blob and layer indices as the walk keeps them: 32 bits each, so that four fit inline in
/// a list of 24 bytes (a layer's bottoms and tops, a blob's readers). Read as `usize`.
type IdList = SmallVec<[u32; 4]>;

/// An index as the walk keeps it. A net over 2^32 layers or blobs is refused (its file would
/// be tens of gigabytes) rather than numbered wrongly.
#[inline]
pub(crate) fn to_id(file: &str, index: usize) -> Result<u32> {
    u32::try_from(index).map_err(|_| too_many_ids(file))
}

/// `to_id`'s error, out of line, so that the check is inlined where the walk numbers each new
/// blob and the Split insertion every top and bottom.
#[cold]
fn too_many_ids(file: &str) -> Error {
    Error::invalid(
        file,
        None,
        format!(
            "the net has over {} layers or blobs: more than caffe-mem can number",
            u32::MAX
        ),
    )
}

/// Some of a walk's blob or layer indices, read as `usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids<'a>(&'a [u32]);

impl<'a> Ids<'a> {
    pub fn len(self) -> usize {
        self.0.len()
    }

    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    pub fn get(self, i: usize) -> Option<usize> {
        self.0.get(i).map(|&id| id as usize)
    }

    pub fn first(self) -> Option<usize> {
        self.get(0)
    }

    pub fn iter(self) -> IdIter<'a> {
        IdIter(self.0.iter())
    }
}

impl<'a> IntoIterator for Ids<'a> {
    type Item = usize;
    type IntoIter = IdIter<'a>;

    fn into_iter(self) -> IdIter<'a> {
        self.iter()
    }
}

/// The indices of an `Ids`, in order.
#[derive(Clone, Debug)]
pub struct IdIter<'a>(std::slice::Iter<'a, u32>);

impl Iterator for IdIter<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.0.next().map(|&id| id as usize)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for IdIter<'_> {}

/// One layer of the built net, with everything the report and the memory models need.
/// 136 bytes, down from 216: what can be read from the layer itself or from other fields
/// (in-place tops, loss weights, backward MACs) is, and indices are 32 bits. On the
/// 100k-layer net that is 8 MiB less to write and read back.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// The layer as built (shared with the graph's node and the other walks of the net): its
    /// name, type, bottoms (rewired to Split tops) and tops (with a loss's automatic one) are
    /// the ones reported.
    pub lp: Arc<LayerParameter>,
    /// The bottoms' blob ids, then the tops': one list, inline for up to four.
    blob_ids: IdList,
    pub bottom_need_backward: PerBlob<bool>,
    /// One shape per top; most layers have one top, kept inline.
    pub output_shapes: SmallVec<[Shape; 1]>,
    /// Sized once, so not a `Vec`'s 24 bytes.
    pub params: Params,
    pub pos: Pos,
    pub macs: u64,
    pub flops: u64,
    /// How many of `blob_ids` are bottoms.
    bottoms: u32,
    /// How many times its backward pass repeats the forward MACs (`backward_macs`): 0 to 2.
    backward_passes: u8,
    /// Some top has a non-zero loss weight: most layers have none, answered by
    /// `loss_weight` without reading the layer.
    in_loss: bool,
    pub inserted: bool,
    /// Caffe's layer_need_backward after its analysis (force_backward included).
    pub need_backward: bool,
    /// A rule for this type exists; otherwise the shapes were passed through, and the layer's
    /// one note is `unknown_type_note` (made by the report rather than kept per layer).
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

    /// The blobs it reads, in bottom order.
    pub fn bottom_ids(&self) -> Ids<'_> {
        Ids(&self.blob_ids[..self.bottoms as usize])
    }

    /// The blobs it writes, in top order (an in-place top is its bottom's blob).
    pub fn top_ids(&self) -> Ids<'_> {
        Ids(&self.blob_ids[self.bottoms as usize..])
    }

    pub fn bottom_id(&self, i: usize) -> usize {
        self.bottom_ids().get(i).expect("a bottom of the layer")
    }

    pub fn top_id(&self, j: usize) -> usize {
        self.top_ids().get(j).expect("a top of the layer")
    }

    /// Whether top `j` is computed in place, in its bottom `j` (false if there is no top
    /// `j`): the walk gives every other top a blob of its own, never one read before, so the
    /// ids say it.
    pub fn top_in_place(&self, j: usize) -> bool {
        let top = self.top_ids().get(j);
        top.is_some() && self.bottom_ids().get(j) == top
    }

    /// The blobs it makes: its tops but the ones computed in place.
    pub fn new_top_ids(&self) -> impl Iterator<Item = usize> + '_ {
        let bottoms = self.bottom_ids();
        let tops = self.top_ids().iter().enumerate();
        tops.filter(move |&(j, t)| bottoms.get(j) != Some(t))
            .map(|(_, t)| t)
    }

    pub fn in_place(&self) -> bool {
        self.bottom_ids()
            .iter()
            .zip(self.top_ids())
            .any(|(b, t)| b == t)
    }

    /// Top `j`'s weight in the loss (Layer::SetLossWeights): as written, else 1 on a loss
    /// layer's first top (LossLayer::LayerSetUp) and 0. Read from the layer, which the walk
    /// checked has one weight per top if any; an inserted Split that carries a loss has its
    /// weights written in (graph.rs), and the automatic top of a loss is among `lp.top`.
    pub fn loss_weight(&self, j: usize) -> f32 {
        if !self.in_loss {
            return 0.0;
        }
        match self.lp.loss_weight() {
            [] if j == 0 && default_loss_weight(self.ty()) => 1.0,
            [] => 0.0,
            weights => weights[j],
        }
    }

    /// The MACs of its backward pass (after the analysis that decides whether it runs one):
    /// the walk checked that they fit.
    pub fn backward_macs(&self) -> u64 {
        self.macs * u64::from(self.backward_passes)
    }

    /// How many times its backward pass repeats the forward MACs: 0 to 2.
    pub fn backward_passes(&self) -> u8 {
        self.backward_passes
    }

    /// Parameters this layer owns (shared ones are counted at their owner).
    pub fn owned_params(&self) -> impl Iterator<Item = &ParamInfo> {
        self.params.iter().filter(|p| p.owner == NOT_SHARED)
    }
}

/// One distinct blob (in-place tops are their bottom's blob). 64 bytes, with 32-bit indices.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub shape: Shape,
    pub count: u64,
    producer: u32,
    /// Which of the producer's tops it is: its name is that top's (`Analysis::blob_name`),
    /// not a copy.
    top: u32,
    /// Layers that read it, in order: a chain of in-place layers reads a blob several times
    /// (a convolution's output by BatchNorm, Scale and ReLU in place, then the next layer).
    consumers: IdList,
    /// Caffe's blob_need_backward: its diff is computed in the backward pass.
    pub need_backward: bool,
    /// Made by a layer without bottoms: data, not computed.
    pub is_input: bool,
}

impl BlobInfo {
    /// The layer that makes it.
    pub fn producer(&self) -> usize {
        self.producer as usize
    }

    /// Which of the producer's tops it is.
    pub fn top(&self) -> usize {
        self.top as usize
    }

    /// The layers that read it, in order.
    pub fn consumers(&self) -> Ids<'_> {
        Ids(&self.consumers)
    }
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
        &self.layers[b.producer()].lp.top[b.top()]
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

/// A node's layer as the walk builds it, and whether its one top is automatic: shared with
/// the node unless the layer changes here.
pub(crate) fn as_built(node: &Node) -> (Arc<LayerParameter>, bool) {
    let mut lp = Arc::clone(&node.lp);
    let auto_top = has_auto_top(&lp);
    if auto_top {
        Arc::make_mut(&mut lp).top.push(AUTO_TOP.into());
    }
    if sets_propagate_down(&lp) {
        Arc::make_mut(&mut lp).rare_mut().propagate_down = vec![true, true, false, false];
    }
    (lp, auto_top)
}

/// `as_built`'s layer, borrowed from the node unless the walk changes it: for a reader that
/// keeps none (`rebatch::ahead`), so that it writes nothing of the node's (its count, which
/// the walk beside it updates).
#[inline]
pub(crate) fn built(node: &Node) -> Cow<'_, LayerParameter> {
    if has_auto_top(&node.lp) || sets_propagate_down(&node.lp) {
        Cow::Owned(changed(node))
    } else {
        Cow::Borrowed(&node.lp)
    }
}

/// `built`'s layer when the walk changes it: a few loss layers of a net.
#[cold]
fn changed(node: &Node) -> LayerParameter {
    Arc::unwrap_or_clone(as_built(node).0)
}

/// SSD's MultiBoxLoss (multibox_loss_layer.cpp) sets propagate_down itself: gradients reach
/// the location and confidence predictions, never the priors or the labels.
fn sets_propagate_down(lp: &LayerParameter) -> bool {
    lp.r#type() == "MultiBoxLoss" && lp.propagate_down().is_empty() && lp.bottom.len() == 4
}

/// LossLayer::AutoTopBlobs: a loss written without a top still gets one, unnamed and never a
/// net output (net.cpp appends it without registering its name).
pub(crate) fn has_auto_top(lp: &LayerParameter) -> bool {
    lp.top.is_empty() && is_loss_type(lp.r#type())
}

/// What the report calls an automatic top.
pub(crate) const AUTO_TOP: &str = "(automatic)";

/// A layer's name as the walk's messages show it (`{name}`): read only when one is worded,
/// not decoded for each layer that passes every check.
struct NameOf<'a>(&'a LayerParameter);

impl fmt::Display for NameOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
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
    let numbering = numbering::number(nodes);
    walk_numbered(file, nodes, &mut Feed::whole(&numbering), opts, warnings)
}

/// `walk`, with the nodes' blobs numbered by name elsewhere (`numbering::number(nodes)`, as a
/// large net's `rebatch::ahead` also reads them), each layer's ids read from `ids`.
pub fn walk_numbered(
    file: &str,
    nodes: &[Node],
    ids: &mut Feed,
    opts: &WalkOptions,
    warnings: &mut Vec<Warning>,
) -> Result<Analysis> {
    // Fewer blobs than layers in most nets (in-place tops make none): sized once rather than
    // grown by doubling, which copied the list into fresh memory at each step.
    let mut blobs: Vec<BlobInfo> = Vec::with_capacity(nodes.len());
    // Per blob: produced and not yet consumed (Caffe's available_blobs).
    let mut available: Vec<bool> = Vec::with_capacity(nodes.len());
    let mut layers: Vec<LayerInfo> = Vec::with_capacity(nodes.len());
    // Checked once here: layer indices fit the 32 bits they are kept in, short of
    // `NOT_SHARED`.
    to_id(file, nodes.len())?;
    let mut param_names: HashMap<String, (u32, u32)> = HashMap::default();
    let mut memo = Memo::default();
    // The parameter list last made for each result the memo keeps (`Found::kept`).
    let mut shared_params: Vec<Params> = Vec::new();

    for node in nodes {
        let (lp, auto_top) = as_built(node);
        let (pos, inserted) = (node.pos, node.inserted);
        let li = layers.len() as u32;
        let name = NameOf(&lp);
        let ty = lp.r#type();
        let err = |msg: String| Error::invalid(file, Some(pos), msg);

        if !lp.propagate_down().is_empty() && lp.propagate_down().len() != lp.bottom.len() {
            return Err(err(format!(
                "layer '{name}': propagate_down must be given either 0 or {} times (once per bottom)",
                lp.bottom.len()
            )));
        }
        // Bottoms: every one must be available (InsertSplits already refused unknown ones).
        let mut bottom_need_backward = PerBlob::new();
        let mut need_backward = false;
        let ids = ids.next(lp.bottom.len() + lp.top.len());
        for (j, b) in lp.bottom.iter().enumerate() {
            let id = ids[j] as usize;
            if ids[j] == numbering::UNKNOWN {
                return Err(err(format!(
                    "Unknown bottom blob '{b}' (layer '{name}', bottom index {j})"
                )));
            }
            if !std::mem::replace(&mut available[id], false) {
                return Err(err(format!(
                    "Unknown bottom blob '{b}' (layer '{name}', bottom index {j}): it was already consumed"
                )));
            }
            blobs[id].consumers.push(li);
            let nb = match lp.propagate_down().get(j) {
                Some(&p) => p,
                None => blobs[id].need_backward,
            };
            bottom_need_backward.push(nb);
            need_backward |= blobs[id].need_backward;
        }

        // Shapes from the rule.
        // Pushed one by one: `collect` costs several times more on lists this short.
        let bottoms = lp.bottom.len();
        let mut bottom_shapes: PerBlob<&Shape> = SmallVec::new();
        for &id in &ids[..bottoms] {
            bottom_shapes.push(&blobs[id as usize].shape);
        }
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
                message: unknown_type_note(lp.name(), ty),
            });
            Ok(())
        };
        let (Found { out, kept }, known_type) =
            layer_out(file, &lp, &bottom_shapes, opts, pos, &mut memo, unknown)?;
        // The bottoms' shapes are borrowed from `blobs` until here.
        drop(bottom_shapes);

        // Tops: in place when top j is bottom j; otherwise a new blob, never one made before.
        // Either way the numbering's id, so the layer's ids are its, and a top is in place
        // when its id is bottom j's (no other top has the id of a blob made before).
        let (bottom_ids, top_ids) = ids.split_at(bottoms);
        for (j, t) in lp.top.iter().enumerate() {
            let count = layers::count(&out.tops[j])
                .map_err(|e| err(format!("layer '{name}': {}", e.message)))?;
            if bottom_ids.get(j) == Some(&top_ids[j]) {
                let id = ids[j] as usize;
                // Most layers computing in place keep the shape (activations, normalizations):
                // then it is not copied again.
                if blobs[id].shape != out.tops[j] {
                    blobs[id].shape = out.tops[j].clone();
                }
                blobs[id].count = count;
                available[id] = true;
            } else {
                let id = to_id(file, blobs.len())?;
                if top_ids[j] == numbering::TWICE {
                    return Err(err(format!("Top blob '{t}' produced by multiple sources.")));
                }
                debug_assert_eq!(top_ids[j], id);
                blobs.push(BlobInfo {
                    shape: out.tops[j].clone(),
                    count,
                    producer: li,
                    top: j as u32,
                    consumers: SmallVec::new(),
                    need_backward: false,
                    is_input: lp.bottom.is_empty(),
                });
                available.push(!auto_top);
            }
        }

        // Loss weights (Layer::SetLossWeights), read from the layer when needed
        // (`LayerInfo::loss_weight`).
        let in_loss = match lp.loss_weight() {
            [] => !lp.top.is_empty() && default_loss_weight(ty),
            weights if weights.len() == lp.top.len() => weights.iter().any(|&w| w != 0.0),
            weights => {
                return Err(err(format!(
                    "layer '{name}': loss_weight must be unspecified or given once per top ({} tops, {} weights)",
                    lp.top.len(),
                    weights.len()
                )))
            }
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
        // PSPNet's BN (4 blobs, bn_layer.cpp) keeps its running statistics, and with `frozen`
        // its scale and shift too, out of the solver's reach. Looked up once per layer.
        let pspnet_bn = ty == "BN" && out_param_count == 4;
        let bn_frozen = pspnet_bn && lp.bn_param().is_some_and(|b| b.frozen());
        // Each blob's count, multipliers and owner: its `ParamInfo` but the shape.
        let mut found: SmallVec<[(u32, f32, f32, u32); 4]> = SmallVec::new();
        for (k, shape) in out.params.iter().enumerate() {
            let spec = lp.param.get(k);
            let mut lr_mult = spec.map_or(1.0, |s| s.lr_mult());
            let mut decay_mult = spec.map_or(1.0, |s| s.decay_mult());
            if pspnet_bn && (k >= 2 || bn_frozen) {
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
                layers::count(shape).map_err(|e| err(format!("layer '{name}': {}", e.message)))?;
            let mut owner = NOT_SHARED;
            let pname = spec.map(|s| s.name()).unwrap_or("");
            if !pname.is_empty() {
                match param_names.get(pname) {
                    None => {
                        param_names.insert(pname.to_string(), (li, k as u32));
                    }
                    Some(&(ol, ok)) => {
                        let (ol, ok) = (ol as usize, ok as usize);
                        let oshape = &layers[ol].params[ok].shape;
                        let permissive =
                            spec.is_some_and(|s| s.share_mode() == DimCheckMode::Permissive);
                        let mismatch = if permissive {
                            layers[ol].params[ok].count() != count
                        } else {
                            oshape != shape
                        };
                        if mismatch {
                            return Err(err(format!(
                                "Cannot share param '{pname}' owned by layer '{}' with layer '{name}'; {} mismatch: owner has shape {oshape:?}, this layer expects {shape:?}",
                                layers[ol].name(),
                                if permissive { "count" } else { "shape" }
                            )));
                        }
                        owner = ol as u32;
                    }
                }
            }
            need_backward |= lr_mult != 0.0;
            // At most INT_MAX.
            found.push((count as u32, lr_mult, decay_mult, owner));
        }
        let make = || {
            let blobs = out.params.iter().zip(&found);
            let infos = blobs.map(|(shape, &(count, lr_mult, decay_mult, owner))| ParamInfo {
                shape: shape.clone(),
                count,
                lr_mult,
                decay_mult,
                owner,
            });
            Params((!found.is_empty()).then(|| infos.collect()))
        };
        let params = match kept {
            // The memo's result, so the shapes are the list's: shared if the rest is alike
            // (bit for bit: a multiplier of -0 is written as such).
            Some(k) => {
                let k = k as usize;
                if shared_params.len() <= k {
                    shared_params.resize(k + 1, Params::default());
                }
                let last = &shared_params[k];
                let alike = last.len() == found.len()
                    && last
                        .iter()
                        .zip(&found)
                        .all(|(p, &(count, lr, decay, owner))| {
                            p.count == count
                                && p.lr_mult.to_bits() == lr.to_bits()
                                && p.decay_mult.to_bits() == decay.to_bits()
                                && p.owner == owner
                        });
                if !alike {
                    shared_params[k] = make();
                }
                shared_params[k].clone()
            }
            None => make(),
        };
        if need_backward {
            for &id in top_ids {
                blobs[id as usize].need_backward = true;
            }
        }
        let (macs, flops) = (out.macs, out.flops);
        // A result made for this layer alone gives its tops' shapes, rather than a copy.
        let output_shapes = match out {
            Cow::Owned(out) => SmallVec::from_vec(out.tops),
            Cow::Borrowed(out) => {
                let mut tops = SmallVec::new();
                for s in &out.tops {
                    tops.push(s.clone());
                }
                tops
            }
        };
        layers.push(LayerInfo {
            blob_ids: IdList::from_slice(ids),
            bottoms: bottoms as u32,
            in_loss,
            inserted,
            pos,
            output_shapes,
            params,
            macs,
            flops,
            backward_passes: 0,
            need_backward,
            bottom_need_backward,
            known_type,
            lp,
        });
    }

    backward_analysis(file, &mut layers, &mut blobs, opts.force_backward)?;
    Ok(Analysis { layers, blobs })
}

/// What a layer makes of its bottoms' shapes: its rule's tops, parameters and MACs, with the
/// batch set on a net input's tops; for a type no rule knows (after `unknown` allowed it), the
/// shapes passed through. The part of the walk that depends on shapes, shared with
/// `rebatch`. Also whether a rule knew the type. Lent by `memo` when it has the result.
#[inline]
pub(crate) fn layer_out<'m>(
    file: &str,
    lp: &LayerParameter,
    bottoms: &[&Shape],
    opts: &WalkOptions,
    pos: Pos,
    memo: &'m mut Memo,
    unknown: impl FnOnce() -> Result<()>,
) -> Result<(Found<'m>, bool)> {
    let (name, ty) = (NameOf(lp), lp.r#type());
    let err = |msg: String| Error::invalid(file, Some(pos), msg);
    let (mut found, known_type) = match memo.infer(lp, bottoms, &opts.ctx) {
        Some(Ok(found)) => (found, true),
        Some(Err(e)) => {
            let mut error = err(format!("layer '{name}' ({ty}): {}", e.message));
            if let Some(h) = e.hint {
                error = error.with_hint(h);
            }
            return Err(error);
        }
        None => {
            unknown()?;
            let out = pass_through(lp, bottoms, &opts.ctx, file, pos)?;
            let found = Found {
                out: Cow::Owned(out),
                kept: None,
            };
            (found, false)
        }
    };
    let out = &mut found.out;
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
            let tops = out.to_mut().tops.iter_mut();
            for s in tops.take(batched).filter(|s| !s.is_empty()) {
                let mut dims = s.to_vec();
                dims[0] = n;
                *s = dims.into();
            }
        }
    }
    Ok((found, known_type))
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
/// the forward MACs again), and the net's totals checked.
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
        for (j, id) in l.top_ids().iter().enumerate() {
            if l.loss_weight(j) != 0.0 || under_loss[id] {
                contributes = true;
            }
            if !skip_backp[id] {
                skip = false;
            }
            if contributes && !skip {
                break;
            }
        }
        // Neither a layer that skips its backward pass nor one that is no part of the loss
        // propagates to its bottoms: cleared bottom by bottom below (a call to memset for
        // each layer's list of one or two otherwise).
        let clear_bottoms = l.need_backward && skip || !contributes;
        if clear_bottoms {
            l.need_backward = false;
        }
        // The ids as a field, beside `bottom_need_backward` changed meanwhile (one flag per
        // bottom).
        let bottoms = l.blob_ids[..l.bottoms as usize].iter();
        for (&id, need) in bottoms.zip(l.bottom_need_backward.iter_mut()) {
            let id = id as usize;
            if contributes {
                under_loss[id] = true;
            }
            if clear_bottoms {
                *need = false;
            }
            if !*need {
                skip_backp[id] = true;
            }
        }
    }
    if force_backward {
        for l in layers.iter_mut() {
            l.need_backward = true;
            for (j, &id) in l.blob_ids[..l.bottoms as usize].iter().enumerate() {
                let allow = allow_force_backward(l.ty(), j);
                l.bottom_need_backward[j] |= allow;
                blobs[id as usize].need_backward |= l.bottom_need_backward[j];
            }
        }
    }
    // The backward MACs, then the report's totals, which are 64-bit counts: a net whose
    // figures would not fit is refused with the layer where they overflow, never reported with
    // a wrapped or clamped figure. One pass for both, over a list that no longer fits a cache;
    // a layer's own backward MACs overflowing is the error reported, wherever the totals
    // overflowed first.
    let mut totals = Totals::default();
    let mut totals_overflow = None;
    for l in layers.iter_mut() {
        if l.need_backward {
            l.backward_passes = backward_times(l, force_backward);
            l.macs
                .checked_mul(u64::from(l.backward_passes))
                .ok_or_else(|| too_many(file, l, "backward MACs"))?;
        }
        if totals_overflow.is_none() {
            if let Err(what) = totals.add(l.macs, l.flops, l.backward_macs()) {
                totals_overflow = Some(too_many(file, l, what));
            }
        }
    }
    totals_overflow.map_or(Ok(()), Err)
}

/// How many times a layer's backward pass repeats its forward MACs: once for the weight
/// gradient, once for the bottoms' (SPEC §2).
fn backward_times(l: &LayerInfo, force_backward: bool) -> u8 {
    let weights = l.params.iter().any(ParamInfo::learns) || force_backward && !l.params.is_empty();
    let data = l.bottom_need_backward.iter().any(|&b| b);
    u8::from(weights) + u8::from(data)
}

/// The net's forward MACs, FLOPs and backward MACs so far.
#[derive(Default)]
pub(crate) struct Totals {
    macs: u64,
    flops: u64,
    backward_macs: u64,
}

impl Totals {
    /// Adds a layer's figures; `Err` names the first total that would pass 64 bits.
    pub(crate) fn add(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walks_records_keep_their_sizes() {
        assert_eq!(std::mem::size_of::<LayerInfo>(), 136);
        assert_eq!(std::mem::size_of::<BlobInfo>(), 64);
        assert_eq!(std::mem::size_of::<ParamInfo>(), 32);
    }

    #[test]
    fn layers_alike_share_their_parameter_list_when_their_specs_agree() {
        let conv = |name: &str, specs: &str| {
            format!(
                "layer {{ name: '{name}' type: 'Convolution' bottom: 'data' top: '{name}' {specs}
                          convolution_param {{ num_output: 4 kernel_size: 1 }} }}"
            )
        };
        let text = [
            "layer { name: 'data' type: 'Input' top: 'data' \
             input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }"
                .to_string(),
            conv("a", ""),
            conv("b", ""),
            conv(
                "c",
                "param { lr_mult: 0 } param { lr_mult: -0 decay_mult: 2 }",
            ),
            conv("d", "param { name: 'w' }"),
            conv("e", "param { name: 'w' }"),
            conv("f", "param { name: 'w' }"),
        ]
        .join("\n");
        let opts = crate::pipeline::Options::default();
        let a = crate::pipeline::analyze_bytes(&opts, "n.prototxt".into(), text.as_bytes())
            .unwrap()
            .analysis;
        let params = |name: &str| &a.layers.iter().find(|l| l.name() == name).unwrap().params;
        let shared = |x: &str, y: &str| std::ptr::eq(params(x).as_ptr(), params(y).as_ptr());
        let fields = |name: &str| {
            let p = params(name);
            let each = p
                .iter()
                .map(|p| (p.lr_mult.to_bits(), p.decay_mult, p.owner()));
            each.collect::<Vec<_>>()
        };
        // One result of the memo for all six: [4, 3, 1, 1] weights and a bias of 4.
        for name in ["a", "b", "c", "d", "e", "f"] {
            let shapes: Vec<&[i64]> = params(name).iter().map(|p| &*p.shape).collect();
            assert_eq!(shapes, [&[4, 3, 1, 1][..], &[4]], "{name}");
        }
        let one = 1f32.to_bits();
        assert_eq!(fields("a"), [(one, 1.0, None), (one, 1.0, None)]);
        assert!(shared("a", "b"));
        // Their own multipliers, bit for bit.
        let (zero, minus_zero) = (0f32.to_bits(), (-0f32).to_bits());
        assert_eq!(fields("c"), [(zero, 1.0, None), (minus_zero, 2.0, None)]);
        assert!(!shared("a", "c"));
        // The owner of 'w' (layer 5, after the input's Split) and the layers sharing it,
        // alike from then on.
        assert_eq!(a.layers[5].name(), "d");
        assert_eq!(fields("d"), [(one, 1.0, None), (one, 1.0, None)]);
        assert_eq!(fields("e"), [(one, 1.0, Some(5)), (one, 1.0, None)]);
        assert!(!shared("d", "e"));
        assert!(shared("e", "f"));
    }

    #[test]
    fn an_index_past_32_bits_is_refused() {
        assert_eq!(to_id("n.prototxt", 7).unwrap(), 7);
        assert_eq!(to_id("n.prototxt", u32::MAX as usize).unwrap(), u32::MAX);
        let e = to_id("n.prototxt", u32::MAX as usize + 1).unwrap_err();
        assert!(
            e.to_string().contains("more than caffe-mem can number"),
            "{e}"
        );
    }
}

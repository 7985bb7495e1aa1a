//! The report: serde structs that are the JSON schema (SPEC §5). Output formats read it and
//! never recompute anything. The per-layer figures it derives from the walk are `LayerInfo`
//! methods here, which the compact JSON, written straight from the walk
//! (`json::write_front`), calls too.

use std::borrow::Cow;
use std::sync::Arc;

use compact_str::CompactString;
use serde::Serialize;

use crate::analysis::{Analysis, BlobInfo, LayerInfo};
use crate::filter::State;
use crate::layers::Shape;
use crate::load::Warning;
use crate::upgrade::Format;

/// Bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub net: NetInfo,
    pub settings: Settings,
    pub inputs: Vec<Input>,
    pub layers: Vec<Layer>,
    pub blobs: Vec<Blob>,
    pub totals: Totals,
    /// SPEC §3: the `caffe` and `ideal` models.
    pub memory: crate::memory::Memory,
    /// With `--gpu-mem`: the largest batch that fits, per model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<crate::memory::Fit>,
    /// SPEC §4.
    pub suggestions: Vec<crate::memory::Suggestion>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetInfo {
    pub name: String,
    pub file: String,
    /// The solver file the net was reached through, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solver: Option<String>,
    pub format: Format,
    #[serde(flatten)]
    pub state: State,
}

/// The settings the figures were computed with.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// The batch of the net's inputs (axis 0 of the first input), after `--batch`.
    pub batch: Option<i64>,
    /// Bytes per activation element in `activation_bytes` and blob `bytes`.
    pub activation_elem_bytes: u64,
    /// dtype, optimizer, iter_size, device, engine.
    #[serde(flatten)]
    pub memory: crate::memory::Resolved,
}

#[derive(Debug, Clone, Serialize)]
pub struct Input {
    pub name: CompactString,
    pub shape: Shape,
    /// The layer that makes it (Input, Data, DummyData, ...).
    pub layer: CompactString,
}

#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub shape: Shape,
    pub count: u64,
    pub lr_mult: f32,
    pub decay_mult: f32,
    pub learns: bool,
    /// Set when the blob is shared by name with an earlier layer's (counted there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_from: Option<CompactString>,
}

/// Names are `CompactString`s, as the layer's own are: kept inline up to 24 bytes, so that the
/// blobs' copies of them (`Blob`) are not an allocation each.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    pub name: CompactString,
    /// Shared with the layer's, which is borrowed for the types the rules know.
    #[serde(rename = "type")]
    pub ty: Cow<'static, str>,
    pub bottoms: Vec<CompactString>,
    pub tops: Vec<CompactString>,
    pub in_place: bool,
    pub inserted: bool,
    pub line: u32,
    pub output_shapes: Vec<Shape>,
    pub params: Vec<Param>,
    /// Elements of the parameter blobs this layer owns.
    pub param_count: u64,
    pub macs: u64,
    pub flops: u64,
    pub backward_macs: u64,
    pub need_backward: bool,
    /// Bytes of the tops this layer creates (in-place tops: 0), at the report's dtype.
    pub activation_bytes: u64,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blob {
    pub name: CompactString,
    pub shape: Shape,
    pub bytes: u64,
    pub producer: CompactString,
    pub consumers: Vec<CompactString>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub params: u64,
    pub learnable_params: u64,
    pub macs: u64,
    pub flops: u64,
    pub backward_macs: u64,
    pub activation_bytes: u64,
}

/// What the report says of a walked layer besides what the walk holds as it is.
impl LayerInfo {
    /// Bytes of the tops this layer creates, at `elem_bytes` an element. A Split's tops share
    /// their bottom's data (split_layer.cpp: ShareData), like in-place tops: the layer creates
    /// no new activation.
    pub fn activation_bytes(&self, blobs: &[BlobInfo], elem_bytes: u64) -> u64 {
        if self.ty() == "Split" {
            return 0;
        }
        self.new_top_ids()
            .map(|id| blobs[id].count.saturating_mul(elem_bytes))
            .sum()
    }

    /// Elements of the parameter blobs this layer owns.
    pub fn param_count(&self) -> u64 {
        self.owned_params().map(|p| p.count()).sum()
    }

    pub fn notes(&self) -> Vec<String> {
        if self.known_type {
            Vec::new()
        } else {
            vec![crate::analysis::unknown_type_note(self.name(), self.ty())]
        }
    }
}

/// The net's inputs: the blobs made by layers without bottoms.
pub fn inputs(a: &Analysis) -> Vec<Input> {
    a.blobs
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_input)
        .map(|(id, b)| Input {
            name: a.blob_name(id).into(),
            shape: b.shape.clone(),
            layer: a.layers[b.producer()].name().into(),
        })
        .collect()
}

pub fn totals(a: &Analysis, activation_elem_bytes: u64) -> Totals {
    let mut totals = Totals::default();
    for l in &a.layers {
        totals.params += l.param_count();
        totals.learnable_params += l
            .owned_params()
            .filter(|p| p.learns())
            .map(|p| p.count())
            .sum::<u64>();
        totals.macs = totals.macs.saturating_add(l.macs);
        totals.flops = totals.flops.saturating_add(l.flops);
        totals.backward_macs = totals.backward_macs.saturating_add(l.backward_macs());
        totals.activation_bytes = totals
            .activation_bytes
            .saturating_add(l.activation_bytes(&a.blobs, activation_elem_bytes));
    }
    totals
}

/// The report's layers and blobs, made from the walk. The walk is consumed: names, shapes and
/// notes move into the report rather than being copied, so a large net is not held twice.
/// (The compact JSON is written from the walk itself, `json::write_front`, with the
/// same values.)
pub fn describe(a: Analysis, activation_elem_bytes: u64) -> (Vec<Layer>, Vec<Blob>) {
    let Analysis {
        layers: walked,
        blobs: walked_blobs,
        ..
    } = a;
    // (layer, param, owner layer) of each shared parameter: named once all layers are.
    let mut owners = Vec::new();
    // Collected in place: the report's layers reuse the walk's layer list, a large block that
    // would otherwise be held twice at the peak.
    let mut layers: Vec<Layer> = walked
        .into_iter()
        .enumerate()
        .map(|(li, l)| {
            let param_count = l.param_count();
            let activation_bytes = l.activation_bytes(&walked_blobs, activation_elem_bytes);
            let in_place = l.in_place();
            let backward_macs = l.backward_macs();
            let notes = l.notes();
            // The shapes are shared with the report (the walk shares a layer's list with
            // others alike).
            let params: Vec<Param> = l
                .params
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    if let Some(ol) = p.owner() {
                        owners.push((li, k, ol));
                    }
                    Param {
                        learns: p.learns(),
                        count: p.count(),
                        shape: p.shape.clone(),
                        lr_mult: p.lr_mult,
                        decay_mult: p.decay_mult,
                        shared_from: None,
                    }
                })
                .collect();
            // The names as the layer was built (a Split's rewired bottoms, a loss's automatic
            // top), moved out of the layer when nothing else holds it any more.
            let (name, ty, bottoms, tops) = match Arc::try_unwrap(l.lp) {
                Ok(lp) => (
                    lp.name.unwrap_or_default(),
                    lp.r#type.unwrap_or_default(),
                    lp.bottom.into_vec(),
                    lp.top.into_vec(),
                ),
                Err(shared) => (
                    shared.name().into(),
                    shared.r#type.clone().unwrap_or_default(),
                    shared.bottom.to_vec(),
                    shared.top.to_vec(),
                ),
            };
            Layer {
                name,
                ty,
                bottoms,
                tops,
                in_place,
                inserted: l.inserted,
                line: l.pos.line,
                output_shapes: l.output_shapes.into_vec(),
                params,
                param_count,
                macs: l.macs,
                flops: l.flops,
                backward_macs,
                need_backward: l.need_backward,
                activation_bytes,
                notes,
            }
        })
        .collect();
    for (li, k, ol) in owners {
        layers[li].params[k].shared_from = Some(layers[ol].name.clone());
    }
    let blobs = walked_blobs
        .into_iter()
        .map(|b| Blob {
            producer: layers[b.producer()].name.clone(),
            consumers: b
                .consumers()
                .iter()
                .map(|c| layers[c].name.clone())
                .collect(),
            bytes: b.count.saturating_mul(activation_elem_bytes),
            name: layers[b.producer()].tops[b.top()].clone(),
            shape: b.shape,
        })
        .collect();
    (layers, blobs)
}

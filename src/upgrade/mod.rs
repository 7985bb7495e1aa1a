//! Old net formats brought to today's, as Caffe's UpgradeNetAsNeeded
//! (src/caffe/util/upgrade_proto.cpp) does it and in its order: V0 layers to V1, the data layers'
//! old transformation fields, V1 layers to V2, net-level inputs to an Input layer, and the old
//! BatchNorm param specs. Where Caffe stops (LOG(FATAL), CHECK) or would read past the end of a
//! list, the net is refused; where Caffe only logs an error and goes on, so do we.

mod v0;
mod v1;

use std::sync::Arc;

use compact_str::CompactString;

use crate::error::{Error, Result};
use crate::proto::{BlobShape, InputParameter, LayerParameter, NetParameter};
use crate::textformat::Pos;

/// The format a net file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Format {
    /// `layers { layer { type: "conv" } }` (Caffe before V1).
    V0,
    /// `layers { type: CONVOLUTION }`.
    V1,
    /// `layer { type: "Convolution" }`, today's.
    V2,
}

// NetParameter's field numbers, to find where things are in `root_fields`.
const FIELD_LAYERS: u32 = 2;
const FIELD_INPUT: u32 = 3;
const FIELD_INPUT_DIM: u32 = 4;
const FIELD_INPUT_SHAPE: u32 = 8;
const FIELD_LAYER: u32 = 100;

/// A net brought to today's format.
#[derive(Debug)]
pub struct Upgraded {
    /// The format the file was written in.
    pub format: Format,
    /// Every layer, in order, each shared (not copied) by the walks that follow.
    pub layers: Vec<Arc<LayerParameter>>,
    /// One per layer: where it starts in the file (for a V0 layer the outer `layers {`; for the
    /// Input layer made from net-level inputs, the first `input` field). Without `root_fields`
    /// (a solver's inline test net) they are Pos::default().
    pub positions: Vec<Pos>,
    /// Whether a layer the upgrade added (from `net.layer`, or an older format's `layers`)
    /// has include or exclude rules. The layers given are the loading's, which notes theirs
    /// (`load::NetFile::rules`): with neither, the filter keeps every layer.
    pub rules: bool,
}

/// Brings a net to today's format. Its V2 layers are `layers` (the reader decodes them apart,
/// see load.rs, and upgrades their BatchNorm param specs as it does) followed by any in
/// `net.layer`; afterwards `net.layer`, `net.layers`, `net.input`, `net.input_dim` and
/// `net.input_shape` are empty.
pub fn upgrade(
    file: &str,
    net: &mut NetParameter,
    mut layers: Vec<Arc<LayerParameter>>,
    root_fields: &[(u32, Pos)],
) -> Result<Upgraded> {
    let decoded = layers.len();
    layers.extend(std::mem::take(&mut net.layer).into_iter().map(Arc::new));
    let format = if v0::is_v0(net) {
        Format::V0
    } else if !net.layers.is_empty() {
        Format::V1
    } else {
        Format::V2
    };
    let mut starts = match format {
        Format::V2 => starts_of(root_fields, FIELD_LAYER, layers.len()),
        Format::V0 | Format::V1 => starts_of(root_fields, FIELD_LAYERS, net.layers.len()),
    };
    if format == Format::V0 {
        v0::upgrade(file, net, &mut starts)?;
    }
    v1::upgrade_data_transformation(net);
    if !net.layers.is_empty() {
        if !layers.is_empty() {
            return Err(Error::invalid(
                file,
                first(root_fields, FIELD_LAYER),
                "the net has both 'layer' entries (today's format) and V1 'layers' entries; \
                 Caffe refuses to upgrade such a mix",
            )
            .with_hint("write every layer as layer { type: \"Convolution\" ... }"));
        }
        v1::upgrade(file, net, &starts)?;
        layers.extend(std::mem::take(&mut net.layer).into_iter().map(Arc::new));
    }
    // The upgrade's own layers, last; the Input layer, if any, goes first.
    let added = layers.len() - decoded;
    upgrade_input(file, net, &mut layers, root_fields, &mut starts)?;
    let at = layers.len() - added;
    let added = &mut layers[at..];
    for l in added.iter_mut() {
        if needs_batch_norm_upgrade(l) {
            // Not shared yet: no copy is made.
            upgrade_batch_norm(Arc::make_mut(l));
        }
    }
    let rules = added.iter().any(|l| crate::filter::has_rules(l));
    Ok(Upgraded {
        format,
        layers,
        positions: starts,
        rules,
    })
}

/// The positions of the root fields numbered `number`, which must be `count` (one per layer);
/// without positions (a solver's inline test net), `count` defaults.
fn starts_of(root_fields: &[(u32, Pos)], number: u32, count: usize) -> Vec<Pos> {
    // Sized for the count expected: collected from a filter, the list grew by doubling, each
    // time copied into fresh memory (a large net's is 100k positions).
    let mut starts = Vec::with_capacity(count);
    starts.extend(
        root_fields
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|&(_, p)| p),
    );
    if starts.len() == count {
        starts
    } else {
        vec![Pos::default(); count]
    }
}

fn first(root_fields: &[(u32, Pos)], number: u32) -> Option<Pos> {
    root_fields
        .iter()
        .find(|(n, _)| *n == number)
        .map(|&(_, p)| p)
}

/// A position for an error message: none when the net came without positions.
fn located(pos: Pos) -> Option<Pos> {
    (pos != Pos::default()).then_some(pos)
}

/// Net-level `input` with `input_shape` (or the older four `input_dim` values per input) become
/// one Input layer named "input", placed first so every layer can read its tops.
fn upgrade_input(
    file: &str,
    net: &mut NetParameter,
    layers: &mut Vec<Arc<LayerParameter>>,
    root_fields: &[(u32, Pos)],
    starts: &mut Vec<Pos>,
) -> Result<()> {
    let inputs = std::mem::take(&mut net.input);
    let shapes = std::mem::take(&mut net.input_shape);
    let dims = std::mem::take(&mut net.input_dim);
    // An input without any shape is a leftover of an old caffemodel: Caffe just drops it. Shapes
    // without inputs are never read.
    if inputs.is_empty() || (shapes.is_empty() && dims.is_empty()) {
        return Ok(());
    }
    let n = inputs.len();
    // With both, Caffe takes input_shape. Entries beyond the inputs are ignored, as in Caffe;
    // too few would make Caffe read past the end of the list.
    let shape: Vec<BlobShape> = if !shapes.is_empty() {
        if shapes.len() < n {
            return Err(Error::invalid(
                file,
                first(root_fields, FIELD_INPUT_SHAPE),
                format!(
                    "{n} net inputs but {} input_shape entries: exactly one input_shape must be \
                     given per input",
                    shapes.len()
                ),
            ));
        }
        shapes.into_iter().take(n).collect()
    } else {
        if dims.len() < 4 * n {
            return Err(Error::invalid(
                file,
                first(root_fields, FIELD_INPUT_DIM),
                format!(
                    "incorrect input blob dimensions: {n} net inputs need 4 input_dim values \
                     each ({}), the net gives {}",
                    4 * n,
                    dims.len()
                ),
            ));
        }
        dims.chunks(4)
            .take(n)
            .map(|d| BlobShape {
                dim: d.iter().map(|&x| i64::from(x)).collect(),
            })
            .collect()
    };
    let mut input = LayerParameter {
        name: Some("input".into()),
        r#type: Some("Input".into()),
        top: inputs.into_iter().map(CompactString::from).collect(),
        ..Default::default()
    };
    input.set_input_param(Some(InputParameter { shape }));
    layers.insert(0, Arc::new(input));
    starts.insert(0, first(root_fields, FIELD_INPUT).unwrap_or_default());
    Ok(())
}

/// BatchNorm once declared its three statistics blobs as params; they never learn, so Caffe sets
/// their lr_mult and decay_mult to 0 (keeping names and share modes). The loading upgrades each
/// layer it decodes so (load.rs), while the layer is in the cache: a pass over a large net's
/// layers afterwards was mostly cache misses, on one core.
pub fn needs_batch_norm_upgrade(l: &LayerParameter) -> bool {
    l.r#type() == "BatchNorm" && l.param.len() == 3
}

/// The upgrade of a layer `needs_batch_norm_upgrade` picks.
pub fn upgrade_batch_norm(l: &mut LayerParameter) {
    for p in &mut l.param {
        p.lr_mult = Some(0.0);
        p.decay_mult = Some(0.0);
    }
}

//! The layer list as Caffe runs it: the filtered layers with the Split layers Caffe inserts
//! wherever one top feeds several consumers (src/caffe/util/insert_splits.cpp).

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::proto::LayerParameter;
use crate::textformat::Pos;

/// One layer of the built net.
#[derive(Debug, Clone)]
pub struct Node {
    /// Shared, not copied, with the walks that follow: a LayerParameter is some 800 bytes
    /// before its contents, and the net is walked twice (at its batch and one sample more).
    pub lp: Rc<LayerParameter>,
    /// Where the layer starts in the file; an inserted Split has its producer's position.
    pub pos: Pos,
    /// A Split layer that Caffe added, not one written in the file.
    pub inserted: bool,
}

/// (layer index, top index) of a blob's producer.
type TopIdx = (usize, usize);

/// Caffe's naming of an inserted Split layer and of its tops.
fn split_layer_name(layer: &str, blob: &str, top: usize) -> String {
    format!("{blob}_{layer}_{top}_split")
}

fn split_blob_name(layer: &str, blob: &str, top: usize, k: usize) -> String {
    format!("{blob}_{layer}_{top}_split_{k}")
}

/// Longest layer name accepted. Caffe names each Split it inserts, and each Split top, after the
/// producing layer, once per consumer: a long name would be copied as many times, so a small
/// file could take gigabytes. Real names are tens of bytes.
pub const MAX_LAYER_NAME: usize = 1024;

fn check_name_length(file: &str, lp: &LayerParameter, pos: Pos) -> Result<()> {
    let name = lp.name();
    if name.len() <= MAX_LAYER_NAME {
        return Ok(());
    }
    let start: String = name.chars().take(40).collect();
    Err(Error::invalid(
        file,
        Some(pos),
        format!(
            "layer '{start}...' has a name of {} bytes, over caffe-mem's limit of {MAX_LAYER_NAME}",
            name.len()
        ),
    )
    .with_hint("Caffe copies a layer's name into the name of every Split top it inserts after it"))
}

/// Rewires bottoms to Split tops and inserts the Split layers, exactly as Caffe's InsertSplits:
/// a top is split when it has more than one consumer, an explicit non-zero `loss_weight`
/// counting as a consumer. A bottom no earlier layer produced is refused here, as there.
pub fn insert_splits(
    file: &str,
    layers: Vec<LayerParameter>,
    positions: Vec<Pos>,
) -> Result<Vec<Node>> {
    let mut last_top: HashMap<&str, TopIdx> = HashMap::with_capacity(layers.len() * 2);
    // Per bottom (layer, bottom index) -> the top it reads.
    let mut source: Vec<Vec<TopIdx>> = Vec::with_capacity(layers.len());
    let mut consumers: HashMap<TopIdx, usize> = HashMap::new();
    let mut loss_weight: HashMap<TopIdx, f32> = HashMap::new();

    for (i, lp) in layers.iter().enumerate() {
        check_name_length(file, lp, positions[i])?;
        let mut srcs = Vec::with_capacity(lp.bottom.len());
        for (j, b) in lp.bottom.iter().enumerate() {
            let Some(&t) = last_top.get(b.as_str()) else {
                return Err(Error::invalid(
                    file,
                    Some(positions[i]),
                    format!(
                        "Unknown bottom blob '{b}' (layer '{}', bottom index {j}): no earlier layer produces it",
                        lp.name()
                    ),
                )
                .with_hint(
                    "check the layer order, and the include/exclude rules: with --phase, --stage \
                     and --level, the layer that makes this blob may be filtered out",
                ));
            };
            srcs.push(t);
            *consumers.entry(t).or_insert(0) += 1;
        }
        source.push(srcs);
        for (j, t) in lp.top.iter().enumerate() {
            last_top.insert(t.as_str(), (i, j));
        }
        for (j, &w) in lp.loss_weight.iter().enumerate().take(lp.top.len()) {
            let t = last_top[lp.top[j].as_str()];
            loss_weight.insert(t, w);
            if w != 0.0 {
                *consumers.entry(t).or_insert(0) += 1;
            }
        }
    }

    let names: Vec<String> = layers.iter().map(|l| l.name().to_string()).collect();
    let mut next_split: HashMap<TopIdx, usize> = HashMap::new();
    let mut out = Vec::with_capacity(layers.len());
    for (i, (mut lp, pos)) in layers.into_iter().zip(positions).enumerate() {
        for (j, &t) in source[i].iter().enumerate() {
            if consumers.get(&t).copied().unwrap_or(0) > 1 {
                let k = next_split.entry(t).or_insert(0);
                lp.bottom[j] = split_blob_name(&names[t.0], &lp.bottom[j], t.1, *k);
                *k += 1;
            }
        }
        let mut splits = Vec::new();
        for j in 0..lp.top.len() {
            let t = (i, j);
            let n = consumers.get(&t).copied().unwrap_or(0);
            if n > 1 {
                let w = loss_weight.get(&t).copied().unwrap_or(0.0);
                let blob = lp.top[j].clone();
                let split = LayerParameter {
                    name: Some(split_layer_name(&names[i], &blob, j)),
                    r#type: Some("Split".to_string()),
                    bottom: vec![blob.clone()],
                    top: (0..n)
                        .map(|k| split_blob_name(&names[i], &blob, j, k))
                        .collect(),
                    // The loss reads the first Split top; the consumers start at the second.
                    loss_weight: if w != 0.0 {
                        (0..n).map(|k| if k == 0 { w } else { 0.0 }).collect()
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                };
                if w != 0.0 {
                    lp.loss_weight.clear();
                    *next_split.entry(t).or_insert(0) += 1;
                }
                splits.push(split);
            }
        }
        out.push(Node {
            lp: Rc::new(lp),
            pos,
            inserted: false,
        });
        out.extend(splits.into_iter().map(|lp| Node {
            lp: Rc::new(lp),
            pos,
            inserted: true,
        }));
    }
    Ok(out)
}

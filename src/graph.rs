//! The layer list as Caffe runs it: the filtered layers with the Split layers Caffe inserts
//! wherever one top feeds several consumers (src/caffe/util/insert_splits.cpp).

use std::sync::Arc;

use compact_str::CompactString;
use foldhash::HashMap;

use crate::error::{Error, Result};
use crate::proto::LayerParameter;
use crate::textformat::Pos;

/// One layer of the built net.
#[derive(Debug, Clone)]
pub struct Node {
    /// Shared, not copied, with the walks that follow: a LayerParameter is 160 bytes
    /// before its contents, and the net is walked twice (at its batch and one sample more).
    pub lp: Arc<LayerParameter>,
    /// Where the layer starts in the file; an inserted Split has its producer's position.
    pub pos: Pos,
    /// A Split layer that Caffe added, not one written in the file.
    pub inserted: bool,
}

/// Caffe's naming of an inserted Split layer (`k: None`) and of its tops:
/// `{blob}_{layer}_{top}_split` and `{blob}_{layer}_{top}_split_{k}`. Built at their exact
/// length in a `String`, whose buffer the `CompactString` then keeps: these names are nearly
/// all longer than the 24 bytes kept inline, and `format!`, then `CompactString::push_str`
/// part by part, took most of the Split insertion's instructions (a large net has tens of
/// thousands of these names).
fn split_name(layer: &str, blob: &str, top: usize, k: Option<usize>) -> CompactString {
    let (mut top_digits, mut k_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
    let top = top_digits.format(top);
    let k = k.map(|k| k_digits.format(k));
    let len =
        blob.len() + layer.len() + top.len() + "___split".len() + k.map_or(0, |k| 1 + k.len());
    let mut s = String::with_capacity(len);
    for part in [blob, "_", layer, "_", top, "_split"] {
        s.push_str(part);
    }
    if let Some(k) = k {
        s.push('_');
        s.push_str(k);
    }
    CompactString::from(s)
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
///
/// Tops are numbered in file order (`first_top[i] + j` is layer i's top j), so the per-top
/// counts are plain vectors rather than maps keyed by (layer, top).
pub fn insert_splits(
    file: &str,
    layers: Vec<Arc<LayerParameter>>,
    positions: Vec<Pos>,
) -> Result<Vec<Node>> {
    // Counted first, so that each list below is sized once.
    let (tops, bottoms) = layers
        .iter()
        .fold((0, 0), |(t, b), lp| (t + lp.top.len(), b + lp.bottom.len()));
    let mut first_top = Vec::with_capacity(layers.len());
    // The layer of each numbered top.
    let mut top_layer = Vec::with_capacity(tops);
    // By name, the first top of its chain of in-place tops (a convolution's output, then its
    // BatchNorm, Scale and ReLU computing in place); `latest` holds, for such a first top,
    // the chain's last one, which a bottom of that name reads. An in-place top so lengthens
    // its chain without hashing its name.
    let mut chain_of: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(tops, Default::default());
    let mut chain: Vec<usize> = Vec::with_capacity(tops);
    let mut latest = vec![0usize; tops];
    // The top each bottom reads, layer after layer.
    let mut source: Vec<usize> = Vec::with_capacity(bottoms);
    let mut consumers = vec![0usize; tops];
    let mut loss_weight = vec![0f32; tops];

    for (i, lp) in layers.iter().enumerate() {
        check_name_length(file, lp, positions[i])?;
        let first = top_layer.len();
        first_top.push(first);
        // Most bottoms are a top of the layer just before, found there without hashing: the
        // last one of that name, as in `last_top`.
        let previous = i.checked_sub(1).map(|p| (&layers[p].top, first_top[p]));
        for (j, b) in lp.bottom.iter().enumerate() {
            let t = previous
                .and_then(|(tops, at)| Some(at + tops.iter().rposition(|t| t == b)?))
                .or_else(|| Some(latest[*chain_of.get(b.as_str())?]));
            let Some(t) = t else {
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
            source.push(t);
            consumers[t] += 1;
        }
        let sources = &source[source.len() - lp.bottom.len()..];
        for (j, t) in lp.top.iter().enumerate() {
            let here = first + j;
            // In place, it lengthens the chain its bottom read. Only in a one-top layer: of
            // several tops two may share a name, and the map's last insertion then decides.
            let in_place = lp.bottom.get(j) == Some(t) && lp.top.len() == 1;
            let c = if in_place {
                chain[sources[j]]
            } else {
                chain_of.insert(t.as_str(), here);
                here
            };
            chain.push(c);
            latest[c] = here;
        }
        top_layer.extend(std::iter::repeat_n(i, lp.top.len()));
        for (j, &w) in lp.loss_weight().iter().enumerate().take(lp.top.len()) {
            // The last of the layer's tops of this name.
            let t = first + lp.top.iter().rposition(|t| *t == lp.top[j]).unwrap_or(j);
            loss_weight[t] = w;
            if w != 0.0 {
                consumers[t] += 1;
            }
        }
    }
    drop(chain_of);

    let mut next_split = vec![0usize; tops];
    // Where each layer of the file went in `out` (which has the Splits too).
    let mut placed: Vec<usize> = Vec::with_capacity(layers.len());
    // Sized for the Splits too: grown by doubling, a large net's list would be copied and
    // held at twice its size.
    let splits = consumers.iter().filter(|&&n| n > 1).count();
    let mut out: Vec<Node> = Vec::with_capacity(layers.len() + splits);
    let mut sources = source.into_iter();
    for (i, (mut lp, pos)) in layers.into_iter().zip(positions).enumerate() {
        for j in 0..lp.bottom.len() {
            let t = sources.next().expect("one source per bottom");
            if consumers[t] > 1 {
                let producer = top_layer[t];
                let name = out[placed[producer]].lp.name();
                let rewired = split_name(
                    name,
                    &lp.bottom[j],
                    t - first_top[producer],
                    Some(next_split[t]),
                );
                // A copy only when a solver's test nets share this layer too.
                Arc::make_mut(&mut lp).bottom[j] = rewired;
                next_split[t] += 1;
            }
        }
        let at = out.len();
        placed.push(at);
        let top_count = lp.top.len();
        out.push(Node {
            lp,
            pos,
            inserted: false,
        });
        for j in 0..top_count {
            let t = first_top[i] + j;
            let n = consumers[t];
            if n > 1 {
                let w = loss_weight[t];
                let lp = &out[at].lp;
                let (name, blob) = (lp.name(), &lp.top[j]);
                let mut split = LayerParameter {
                    name: Some(split_name(name, blob, j, None)),
                    r#type: Some("Split".into()),
                    top: (0..n).map(|k| split_name(name, blob, j, Some(k))).collect(),
                    bottom: [blob.clone()].into(),
                    ..Default::default()
                };
                if w != 0.0 {
                    // The loss reads the first Split top; the consumers start at the second.
                    split.rare_mut().loss_weight =
                        (0..n).map(|k| if k == 0 { w } else { 0.0 }).collect();
                    Arc::make_mut(&mut out[at].lp)
                        .rare_mut()
                        .loss_weight
                        .clear();
                    next_split[t] += 1;
                }
                out.push(Node {
                    lp: Arc::new(split),
                    pos,
                    inserted: true,
                });
            }
        }
    }
    Ok(out)
}

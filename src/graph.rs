//! The layer list as Caffe runs it: the filtered layers with the Split layers Caffe inserts
//! wherever one top feeds several consumers (src/caffe/util/insert_splits.cpp).

use std::sync::Arc;

use compact_str::CompactString;
use foldhash::HashMap;

use crate::analysis::to_id;
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

#[inline]
fn check_name_length(file: &str, lp: &LayerParameter, pos: Pos) -> Result<()> {
    let name = lp.name();
    if name.len() <= MAX_LAYER_NAME {
        return Ok(());
    }
    Err(name_too_long(file, name, pos))
}

/// `check_name_length`'s error, out of line: the check runs once a layer.
#[cold]
fn name_too_long(file: &str, name: &str, pos: Pos) -> Error {
    let start: String = name.chars().take(40).collect();
    Error::invalid(
        file,
        Some(pos),
        format!(
            "layer '{start}...' has a name of {} bytes, over caffe-mem's limit of {MAX_LAYER_NAME}",
            name.len()
        ),
    )
    .with_hint("Caffe copies a layer's name into the name of every Split top it inserts after it")
}

/// A numbered top while the bottoms are matched to tops (the first pass).
#[derive(Clone, Copy)]
struct Top {
    /// Bottoms that read it, and one for an explicit non-zero loss weight.
    consumers: u32,
    /// The first top of its chain of in-place tops (a convolution's output, then its
    /// BatchNorm, Scale and ReLU computing in place).
    chain: u32,
    /// For a chain's first top, the chain's last one, which a bottom of that name reads.
    latest: u32,
}

/// Where a layer's tops and bottoms start in the numbered tops and in the list of the tops
/// the bottoms read.
#[derive(Clone, Copy)]
struct Span {
    top: u32,
    bottom: u32,
}

/// The Split inserted after a top, while its consumers are rewired (the second pass).
#[derive(Clone, Copy)]
struct Split {
    /// Its place in the output.
    at: u32,
    /// Its top the next consumer reads.
    next: u32,
}

/// Rewires bottoms to Split tops and inserts the Split layers, exactly as Caffe's InsertSplits:
/// a top is split when it has more than one consumer, an explicit non-zero `loss_weight`
/// counting as a consumer. A bottom no earlier layer produced is refused here, as there.
///
/// Tops are numbered in file order (layer i's top j is `spans[i].top + j`), so the per-top
/// counts are plain vectors rather than maps keyed by (layer, top). The first pass reads each
/// layer once and notes what the second needs, which then reads only the layers it rewires
/// or adds a Split after (on a large net the layers are far out of cache, and most of both
/// passes' time was each layer's first read). The indices are 32-bit, as in the walk, so
/// that the lists fill less fresh memory.
pub fn insert_splits(
    file: &str,
    layers: Vec<Arc<LayerParameter>>,
    positions: Vec<Pos>,
) -> Result<Vec<Node>> {
    // Room for one top and about one and a half bottoms a layer, as in most nets: counting
    // them first took a pass of its own over the layers. A net with more grows its lists.
    let estimate = layers.len() + layers.len() / 2 + 16;
    // One more than the layers: the last one's tops and bottoms end where the next would start.
    let mut spans: Vec<Span> = Vec::with_capacity(layers.len() + 1);
    let mut tops: Vec<Top> = Vec::with_capacity(estimate);
    // By name, the first top of its in-place chain. An in-place top so lengthens its chain
    // without hashing its name. Keyed by the name in its layer, not by its `&str`: 16 bytes
    // an entry rather than 24, and the compare reads the same bytes.
    let mut chain_of: HashMap<&CompactString, u32> =
        HashMap::with_capacity_and_hasher(layers.len(), Default::default());
    // The top each bottom reads, layer after layer.
    let mut source: Vec<u32> = Vec::with_capacity(estimate);
    // Tops with more than one consumer.
    let mut splits = 0;

    for (i, lp) in layers.iter().enumerate() {
        check_name_length(file, lp, positions[i])?;
        // Once a layer: the numbers of this layer's tops and bottoms fit, and so its tops'
        // consumer counts (at most one a bottom or weighted top) and the indices below.
        to_id(
            file,
            tops.len() + source.len() + lp.top.len() + lp.bottom.len(),
        )?;
        let first = to_id(file, tops.len())?;
        spans.push(Span {
            top: first,
            bottom: to_id(file, source.len())?,
        });
        // Most bottoms are a top of the layer just before, found there without hashing: the
        // last one of that name, as in `last_top`.
        let previous = i.checked_sub(1).map(|p| (&layers[p].top, spans[p].top));
        for (j, b) in lp.bottom.iter().enumerate() {
            let t = previous
                .and_then(|(names, at)| Some(at + names.iter().rposition(|t| t == b)? as u32))
                .or_else(|| Some(tops[*chain_of.get(b)? as usize].latest));
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
            splits += consume(&mut tops[t as usize]);
        }
        let sources = &source[source.len() - lp.bottom.len()..];
        for (j, t) in lp.top.iter().enumerate() {
            let here = first + j as u32;
            // In place, it lengthens the chain its bottom read. Only in a one-top layer: of
            // several tops two may share a name, and the map's last insertion then decides.
            let in_place = lp.bottom.get(j) == Some(t) && lp.top.len() == 1;
            let chain = if in_place {
                tops[sources[j] as usize].chain
            } else {
                chain_of.insert(t, here);
                here
            };
            tops.push(Top {
                consumers: 0,
                chain,
                latest: here,
            });
            tops[chain as usize].latest = here;
        }
        for (j, w) in weighted_tops(lp) {
            if w != 0.0 {
                splits += consume(&mut tops[first as usize + j]);
            }
        }
    }
    spans.push(Span {
        top: to_id(file, tops.len())?,
        bottom: to_id(file, source.len())?,
    });
    drop(chain_of);

    // Sized for the Splits too: grown by doubling, a large net's list would be copied and
    // held at twice its size.
    let mut out: Vec<Node> = Vec::with_capacity(layers.len() + splits);
    // By top, its Split once made (its producer comes before its consumers).
    let mut split_of: HashMap<u32, Split> =
        HashMap::with_capacity_and_hasher(splits, Default::default());
    for (i, (mut lp, pos)) in layers.into_iter().zip(positions).enumerate() {
        let (span, end) = (spans[i], spans[i + 1]);
        let reads = &source[span.bottom as usize..end.bottom as usize];
        for (j, t) in reads.iter().enumerate() {
            if tops[*t as usize].consumers > 1 {
                let split = split_of
                    .get_mut(t)
                    .expect("a top's Split precedes its consumers");
                let rewired = out[split.at as usize].lp.top[split.next as usize].clone();
                // A copy only when a solver's test nets share this layer too.
                Arc::make_mut(&mut lp).bottom[j] = rewired;
                split.next += 1;
            }
        }
        let at = out.len();
        let made = &tops[span.top as usize..end.top as usize];
        let splitting = made.iter().any(|t| t.consumers > 1);
        // Read before a Split clears the layer's own.
        let weights: Vec<(usize, f32)> = if splitting {
            weighted_tops(&lp).collect()
        } else {
            Vec::new()
        };
        out.push(Node {
            lp,
            pos,
            inserted: false,
        });
        if !splitting {
            continue;
        }
        for (j, top) in made.iter().enumerate() {
            let n = top.consumers;
            if n <= 1 {
                continue;
            }
            // The last weight given for the top's name.
            let w = weights
                .iter()
                .rev()
                .find(|&&(k, _)| k == j)
                .map_or(0.0, |&(_, w)| w);
            let lp = &out[at].lp;
            let (name, blob) = (lp.name(), &lp.top[j]);
            let mut split = LayerParameter {
                name: Some(split_name(name, blob, j, None)),
                r#type: Some("Split".into()),
                top: (0..n as usize)
                    .map(|k| split_name(name, blob, j, Some(k)))
                    .collect(),
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
            }
            split_of.insert(
                span.top + j as u32,
                Split {
                    at: to_id(file, out.len())?,
                    next: u32::from(w != 0.0),
                },
            );
            out.push(Node {
                lp: Arc::new(split),
                pos,
                inserted: true,
            });
        }
    }
    Ok(out)
}

/// Counts one more consumer of a top; 1 when that makes it split.
fn consume(top: &mut Top) -> usize {
    top.consumers += 1;
    usize::from(top.consumers == 2)
}

/// A layer's explicit loss weights, in order, each with the top it is for: the last of the
/// layer's tops of that name.
fn weighted_tops(lp: &LayerParameter) -> impl Iterator<Item = (usize, f32)> + '_ {
    let tops = &lp.top;
    lp.loss_weight()
        .iter()
        .enumerate()
        .take(tops.len())
        .map(move |(j, &w)| (tops.iter().rposition(|t| *t == tops[j]).unwrap_or(j), w))
}

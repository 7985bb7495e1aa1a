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

/// What the first pass notes of a run of layers: where each layer's tops and bottoms start (one
/// span more than the layers: the last one's end where the next would start), each top, and
/// the top each bottom reads.
struct Reads {
    spans: Vec<Span>,
    tops: Vec<Top>,
    source: Vec<u32>,
    /// Tops with more than one consumer.
    splits: usize,
    /// For the later half of a net read in two (`in_halves`): its bottoms that none of its own
    /// layers made, `EXTERNAL` in `source`, in order, as (layer, bottom).
    external: Vec<(u32, u32)>,
}

/// In `source`, a bottom that the layers before the later half made. Never a top's number: a
/// net's tops and bottoms together are numbered in 32 bits.
const EXTERNAL: u32 = u32::MAX;

/// Nets of this many layers or more are read in two halves (`in_halves`): on smaller ones the
/// thread started for each pass costs about what it saves (even on a 10k-layer net).
const HALVES_MIN: usize = 16_384;

/// Rewires bottoms to Split tops and inserts the Split layers, exactly as Caffe's InsertSplits:
/// a top is split when it has more than one consumer, an explicit non-zero `loss_weight`
/// counting as a consumer. A bottom no earlier layer produced is refused here, as there.
///
/// Tops are numbered in file order (layer i's top j is `spans[i].top + j`), so the per-top
/// counts are plain vectors rather than maps keyed by (layer, top). The first pass reads each
/// layer once and notes what the second needs, which then reads only the layers it rewires
/// or adds a Split after (on a large net the layers are far out of cache, and most of both
/// passes' time was each layer's first read). The indices are 32-bit, as in the walk, so
/// that the lists fill less fresh memory. A large net is read in two halves, one a core
/// (`in_halves`): nothing else runs meanwhile.
pub fn insert_splits(
    file: &str,
    layers: Vec<Arc<LayerParameter>>,
    positions: Vec<Pos>,
) -> Result<Vec<Node>> {
    if layers.len() >= HALVES_MIN && layers.len() == positions.len() {
        let half = layers.len() / 2;
        in_halves(file, layers, positions, half)
    } else {
        in_one(file, layers, positions)
    }
}

/// `insert_splits` on one thread, which also finds the first error.
fn in_one(file: &str, layers: Vec<Arc<LayerParameter>>, positions: Vec<Pos>) -> Result<Vec<Node>> {
    let reads = read_tops(file, &layers, &positions, false)?.0;
    // Sized for the Splits too: grown by doubling, a large net's list would be copied and
    // held at twice its size.
    let mut out = Vec::with_capacity(layers.len() + reads.splits);
    rewire(file, layers, positions, &reads, &mut out, &mut Vec::new())?;
    Ok(out)
}

/// `insert_splits` with the layers from `half` on (`0 < half`) read and rewired on a thread of
/// their own, their own tops numbered from 0. A bottom reads the last top of its name: the
/// later half's own when it has one, found there, else the earlier half's, found once that
/// half is read; such bottoms are rewired once it is rewired too, as its Splits take their
/// consumers in order and these come after its own. Any error, and a net too large to
/// number, is left to `in_one`, which finds the first one as Caffe would.
fn in_halves(
    file: &str,
    mut layers: Vec<Arc<LayerParameter>>,
    mut positions: Vec<Pos>,
    half: usize,
) -> Result<Vec<Node>> {
    let (head, tail) = layers.split_at(half);
    let (later, earlier) = crate::pipeline::beside(
        || read_tops(file, tail, &positions[half..], true).map(|(reads, _)| reads),
        || read_tops(file, head, &positions[..half], false),
    );
    let (Ok(later), Ok((mut reads, chain_of))) = (later, earlier) else {
        return in_one(file, layers, positions);
    };
    // Where the later half's bottoms of earlier tops read, found as `read_tops` would.
    let mut resolved = Vec::with_capacity(later.external.len());
    for &(i, j) in &later.external {
        let b = &tail[i as usize].bottom[j as usize];
        let previous = (i == 0).then(|| (&head[half - 1].top[..], reads.spans[half - 1].top));
        let Some(t) = find_top(previous, &chain_of, &reads.tops, b) else {
            drop(chain_of);
            return in_one(file, layers, positions);
        };
        reads.splits += consume(&mut reads.tops[t as usize]);
        resolved.push(t);
    }
    drop(chain_of);
    let numbered = reads.tops.len() + later.tops.len() + reads.source.len() + later.source.len();
    let splits = reads.splits + later.splits;
    if to_id(file, numbered).is_err() || to_id(file, layers.len() + splits).is_err() {
        return in_one(file, layers, positions);
    }
    // The later half is taken by the thread that rewires it (this one, if none could be made).
    let tail = std::sync::Mutex::new((layers.split_off(half), positions.split_off(half)));
    let later_half = || {
        let (layers, positions) =
            std::mem::take(&mut *tail.lock().unwrap_or_else(|p| p.into_inner()));
        let (mut out, mut deferred) = (Vec::with_capacity(layers.len() + later.splits), Vec::new());
        rewire(file, layers, positions, &later, &mut out, &mut deferred).map(|_| (out, deferred))
    };
    let mut out = Vec::with_capacity(layers.len() + splits);
    let (later_out, split_of) = crate::pipeline::beside(later_half, || {
        rewire(file, layers, positions, &reads, &mut out, &mut Vec::new())
    });
    let (mut later_out, deferred) = later_out?;
    let mut split_of = split_of?;
    for (&(at, j), &t) in deferred.iter().zip(&resolved) {
        if reads.tops[t as usize].consumers > 1 {
            let split = split_of
                .get_mut(&t)
                .expect("a top's Split precedes its consumers");
            Arc::make_mut(&mut later_out[at as usize].lp).bottom[j as usize] =
                split_top(&out, split);
        }
    }
    out.append(&mut later_out);
    Ok(out)
}

/// The top a bottom named `b` reads: the last one of that name. Most bottoms are a top of the
/// layer just before (`previous`: its tops and the number of its first), found there without
/// hashing; the others through `chain_of`, the first top of the in-place chain of each name.
fn find_top(
    previous: Option<(&[CompactString], u32)>,
    chain_of: &HashMap<&CompactString, u32>,
    tops: &[Top],
    b: &CompactString,
) -> Option<u32> {
    previous
        .and_then(|(names, at)| Some(at + names.iter().rposition(|t| t == b)? as u32))
        .or_else(|| Some(tops[*chain_of.get(b)? as usize].latest))
}

/// The first pass: numbers the tops of `layers`, counts their consumers and notes the top each
/// bottom reads. With `later`, a bottom that none of `layers` made is noted in `external`
/// rather than refused. Also the map of `find_top`, for the later half's bottoms.
fn read_tops<'a>(
    file: &str,
    layers: &'a [Arc<LayerParameter>],
    positions: &[Pos],
    later: bool,
) -> Result<(Reads, HashMap<&'a CompactString, u32>)> {
    // Room for one top and about one and a half bottoms a layer, as in most nets: counting
    // them first took a pass of its own over the layers. A net with more grows its lists.
    let estimate = layers.len() + layers.len() / 2 + 16;
    let mut spans: Vec<Span> = Vec::with_capacity(layers.len() + 1);
    let mut tops: Vec<Top> = Vec::with_capacity(estimate);
    // By name, the first top of its in-place chain. An in-place top so lengthens its chain
    // without hashing its name. Keyed by the name in its layer, not by its `&str`: 16 bytes
    // an entry rather than 24, and the compare reads the same bytes.
    let mut chain_of: HashMap<&CompactString, u32> =
        HashMap::with_capacity_and_hasher(layers.len(), Default::default());
    // The top each bottom reads, layer after layer.
    let mut source: Vec<u32> = Vec::with_capacity(estimate);
    let mut splits = 0;
    let mut external = Vec::new();

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
        let previous = i.checked_sub(1).map(|p| (&layers[p].top[..], spans[p].top));
        for (j, b) in lp.bottom.iter().enumerate() {
            let Some(t) = find_top(previous, &chain_of, &tops, b) else {
                if later {
                    source.push(EXTERNAL);
                    external.push((i as u32, j as u32));
                    continue;
                }
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
            // In the later half, one in place of an earlier layer's top starts a chain of its
            // own: it is the last of its name.
            let in_place =
                lp.bottom.get(j) == Some(t) && lp.top.len() == 1 && sources[j] != EXTERNAL;
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
    let reads = Reads {
        spans,
        tops,
        source,
        splits,
        external,
    };
    Ok((reads, chain_of))
}

/// The second pass: rewires the bottoms of `layers` (as numbered in `reads`) to the Split tops
/// and pushes each layer onto `out`, followed by the Splits of its tops. A bottom of an
/// `EXTERNAL` top is left as it is, its layer's place in `out` and its index noted in
/// `deferred`. Returns the Split made after each top, by top.
fn rewire(
    file: &str,
    layers: Vec<Arc<LayerParameter>>,
    positions: Vec<Pos>,
    reads: &Reads,
    out: &mut Vec<Node>,
    deferred: &mut Vec<(u32, u32)>,
) -> Result<HashMap<u32, Split>> {
    let Reads {
        spans,
        tops,
        source,
        splits,
        ..
    } = reads;
    // By top, its Split once made (its producer comes before its consumers).
    let mut split_of: HashMap<u32, Split> =
        HashMap::with_capacity_and_hasher(*splits, Default::default());
    for (i, (mut lp, pos)) in layers.into_iter().zip(positions).enumerate() {
        let (span, end) = (spans[i], spans[i + 1]);
        let reads = &source[span.bottom as usize..end.bottom as usize];
        for (j, &t) in reads.iter().enumerate() {
            if t == EXTERNAL {
                deferred.push((to_id(file, out.len())?, j as u32));
            } else if tops[t as usize].consumers > 1 {
                let split = split_of
                    .get_mut(&t)
                    .expect("a top's Split precedes its consumers");
                // A copy only when a solver's test nets share this layer too.
                Arc::make_mut(&mut lp).bottom[j] = split_top(out, split);
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
    Ok(split_of)
}

/// The next top of a Split for its next consumer.
fn split_top(out: &[Node], split: &mut Split) -> CompactString {
    let top = out[split.at as usize].lp.top[split.next as usize].clone();
    split.next += 1;
    top
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{filter, State};
    use crate::layers::Phase;
    use crate::textformat::MSG_LAYERPARAMETER;
    use prost::Message as _;

    /// The same layers (as bytes: a NaN in a file equals nothing), places and kinds, or the
    /// same error.
    fn same(got: &Result<Vec<Node>>, want: &Result<Vec<Node>>) -> bool {
        match (got, want) {
            (Ok(got), Ok(want)) => {
                got.len() == want.len()
                    && got.iter().zip(want).all(|(a, b)| {
                        let bytes = |n: &Node| n.lp.encode_to_vec();
                        bytes(a) == bytes(b) && a.pos == b.pos && a.inserted == b.inserted
                    })
            }
            (Err(got), Err(want)) => got.to_string() == want.to_string(),
            _ => false,
        }
    }

    /// `in_halves` cut after each of `cuts` layers against `in_one`; whether the net builds.
    fn check_cuts(
        file: &str,
        layers: &[Arc<LayerParameter>],
        positions: &[Pos],
        cuts: impl Iterator<Item = usize>,
    ) -> bool {
        let want = in_one(file, layers.to_vec(), positions.to_vec());
        for half in cuts {
            let got = in_halves(file, layers.to_vec(), positions.to_vec(), half);
            assert!(same(&got, &want), "{file}, cut after {half}: {got:?}");
        }
        want.is_ok()
    }

    #[test]
    fn a_net_read_in_halves_is_the_net_read_in_one() {
        // In-place chains across the cut, two tops of one name, loss weights, a bottom read
        // again after an in-place top, and consumers on both sides.
        let text = [
            "name: 'a' top: 'x' top: 'l' top: 'l' loss_weight: 0 loss_weight: 2 loss_weight: 0",
            "name: 'b' bottom: 'x' top: 'x'",
            "name: 'c' bottom: 'x' bottom: 'l' top: 'y'",
            "name: 'd' bottom: 'x' top: 'x'",
            "name: 'e' bottom: 'y' bottom: 'x' bottom: 'l' top: 'z' top: 'z' loss_weight: 1",
            "name: 'f' bottom: 'z' bottom: 'x' top: 'x'",
            "name: 'g' bottom: 'y' top: 'y'",
            "name: 'h' bottom: 'x' bottom: 'y' bottom: 'l' bottom: 'z'",
            "name: 'i' bottom: 'y' top: 'x' top: 'x'",
            "name: 'j' bottom: 'x' bottom: 'x'",
        ];
        let layers: Vec<Arc<LayerParameter>> = text
            .iter()
            .map(|t| Arc::new(crate::proto::read_text(t, MSG_LAYERPARAMETER).1))
            .collect();
        let positions: Vec<Pos> = (1..=layers.len() as u32)
            .map(|line| Pos { line, col: 1 })
            .collect();
        assert!(check_cuts("n", &layers, &positions, 1..layers.len()));
        // A bottom nothing makes, or that only a later layer makes, on either side.
        for (at, bottom) in [(3, "w"), (7, "w"), (2, "z"), (6, "q")] {
            let mut layers = layers.clone();
            Arc::make_mut(&mut layers[at]).bottom.push(bottom.into());
            if bottom == "q" {
                Arc::make_mut(&mut layers[8]).top.push("q".into());
            }
            assert!(!check_cuts("n", &layers, &positions, 1..layers.len()));
        }

        // Every net of the tests, in either phase, cut in a few places.
        let (mut built, mut refused) = (0, 0);
        for path in crate::net_files::all() {
            let file = path.to_string_lossy().into_owned();
            let read = crate::load::load(&file, Default::default(), &mut Vec::new());
            let Ok(mut f) = read else { continue };
            let upgraded = crate::upgrade::upgrade(&file, &mut f.net, f.layers, &f.root_fields);
            let Ok(u) = upgraded else { continue };
            for phase in [Phase::Test, Phase::Train] {
                let state = State {
                    phase,
                    stages: Vec::new(),
                    level: 0,
                };
                let kept = filter(&file, u.layers.clone(), u.positions.clone(), &state);
                let Ok((layers, positions)) = kept else {
                    continue;
                };
                let n = layers.len();
                let cuts = [1, 2, n / 3, n / 2, n - 2, n - 1].into_iter();
                if check_cuts(&file, &layers, &positions, cuts.filter(|&c| c > 0 && c < n)) {
                    built += 1;
                } else {
                    refused += 1;
                }
            }
        }
        assert!(
            built > 250 && refused > 10,
            "{built} built, {refused} refused"
        );
    }
}

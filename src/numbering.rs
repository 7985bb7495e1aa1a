//! Blob ids by name, found once for the walks of a net: `analysis::walk` and, beside it on a
//! large net, `rebatch::ahead`. Each used to keep its own map of names while it ran; on the
//! 100k-layer net the walk's map (6.5 MiB, written and read at random) took about a third of
//! its time, and the two walks ran it twice. Here it is done once, and the map freed when
//! it is: on a large net on the core that then finds the net one sample larger, handed to the
//! walk a chunk of layers at a time (`number_sending`, `Feed`).

use std::collections::hash_map::Entry;
use std::sync::mpsc::Receiver;

use compact_str::CompactString;
use foldhash::HashMap;

use crate::analysis::{has_auto_top, AUTO_TOP};
use crate::graph::Node;

/// A bottom that no earlier top makes: the walk refuses it.
pub const UNKNOWN: u32 = u32::MAX;

/// A top, not computed in place, whose name an earlier top already has: the walk refuses it.
pub const TWICE: u32 = u32::MAX - 1;

/// Each layer's bottom then top blob ids, one layer after another, as the walk numbers blobs:
/// a top not computed in place makes the next blob (an automatic top too, though it is never
/// named), one computed in place is its bottom's blob, and a bottom is the blob most recently
/// named like it. A layer's tops are those it is built with (`analysis::as_built`).
pub struct Numbering {
    pub ids: Vec<u32>,
}

/// The numbering of `nodes`. It never fails: what the walk refuses is marked (`UNKNOWN`,
/// `TWICE`) at its place for the walk to word, and what follows a refusal is numbered as if
/// the refused layer had passed (the walk stops there, so it is never read).
pub fn number(nodes: &[Node]) -> Numbering {
    number_sending(nodes, |_| ())
}

/// Layers numbered between two of `number_sending`'s chunks: a few tens of microseconds of
/// numbering, so that the walk reading them starts at once.
const CHUNK_LAYERS: usize = 1024;

/// `number`, handing each run of `CHUNK_LAYERS` layers' ids to `send` as they are found (the
/// last run shorter; runs without ids are not sent), for a walk that reads them meanwhile
/// (`Feed::Chunks`).
pub fn number_sending(nodes: &[Node], mut send: impl FnMut(&[u32])) -> Numbering {
    let mut named: HashMap<&str, u32> =
        HashMap::with_capacity_and_hasher(nodes.len(), Default::default());
    let mut ids: Vec<u32> = Vec::with_capacity(2 * nodes.len());
    // Blobs made so far; an id that would reach the markers is never used, as the walk
    // refuses a net of that many blobs first.
    let mut blobs: u64 = 0;
    // The file tops of the layer before and where their ids start: most bottoms are found
    // there without hashing.
    let mut previous: Option<(&[CompactString], usize)> = None;
    // The ids not yet sent start here.
    let mut sent = 0;
    for (i, node) in nodes.iter().enumerate() {
        if i % CHUNK_LAYERS == 0 && sent < ids.len() {
            send(&ids[sent..]);
            sent = ids.len();
        }
        let lp = &*node.lp;
        let first = ids.len();
        for b in &lp.bottom {
            let recent = previous.and_then(|(tops, at)| {
                let j = tops.iter().rposition(|t| t == b)?;
                Some(ids[at + j])
            });
            let id = recent.or_else(|| named.get(b.as_str()).copied());
            ids.push(id.unwrap_or(UNKNOWN));
        }
        previous = Some((&lp.top[..], ids.len()));
        let auto_top = has_auto_top(lp);
        let tops = lp.top.iter().map(CompactString::as_str);
        for (j, t) in tops.chain(auto_top.then_some(AUTO_TOP)).enumerate() {
            let id = if lp.bottom.get(j).is_some_and(|b| b == t) {
                ids[first + j]
            } else {
                let id = u32::try_from(blobs)
                    .ok()
                    .filter(|&id| id < TWICE)
                    .unwrap_or(UNKNOWN);
                blobs += 1;
                if auto_top {
                    id
                } else {
                    match named.entry(t) {
                        Entry::Occupied(_) => TWICE,
                        Entry::Vacant(v) => *v.insert(id),
                    }
                }
            };
            ids.push(id);
        }
    }
    if sent < ids.len() {
        send(&ids[sent..]);
    }
    Numbering { ids }
}

/// Where a walk reads each layer's ids, in node order: a whole numbering, or the chunks that
/// another thread sends as it numbers the nodes (`number_sending`), each some whole layers'.
pub enum Feed<'a> {
    Whole {
        ids: &'a [u32],
        at: usize,
    },
    Chunks {
        chunks: Receiver<Vec<u32>>,
        chunk: Vec<u32>,
        at: usize,
    },
}

impl<'a> Feed<'a> {
    pub fn whole(numbering: &'a Numbering) -> Self {
        Feed::Whole {
            ids: &numbering.ids,
            at: 0,
        }
    }

    pub fn chunks(chunks: Receiver<Vec<u32>>) -> Self {
        Feed::Chunks {
            chunks,
            chunk: Vec::new(),
            at: 0,
        }
    }

    /// The next layer's `n` ids (its bottoms' then its tops', as built).
    pub fn next(&mut self, n: usize) -> &[u32] {
        match self {
            Feed::Whole { ids, at } => {
                *at += n;
                &ids[*at - n..*at]
            }
            Feed::Chunks { chunks, chunk, at } => {
                if n > 0 && *at == chunk.len() {
                    // Only a panic on the numbering's thread ends its chunks early; the
                    // walk's scope then passes it on.
                    *chunk = chunks.recv().expect("the numbering thread stopped");
                    *at = 0;
                }
                *at += n;
                &chunk[*at - n..*at]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::proto::LayerParameter;
    use crate::textformat::Pos;

    fn node(ty: &str, bottom: &[&str], top: &[&str]) -> Node {
        Node {
            lp: Arc::new(LayerParameter {
                r#type: Some(ty.to_string().into()),
                bottom: bottom.iter().map(|&b| b.into()).collect(),
                top: top.iter().map(|&t| t.into()).collect(),
                ..Default::default()
            }),
            pos: Pos::default(),
            inserted: false,
        }
    }

    #[test]
    fn blobs_are_numbered_as_the_walk_makes_them_and_refusals_marked_in_place() {
        let nodes = [
            node("Input", &[], &["x", "label"]),
            node("ReLU", &["x"], &["x"]),
            node("Convolution", &["x"], &["y"]),
            // `y` is the layer before's, `x` further back.
            node("Eltwise", &["y", "x"], &["z"]),
            // A loss without a top gets one, numbered but never named.
            node("SoftmaxWithLoss", &["z", "label"], &[]),
            // So nothing reads it by that name; and `y` is made a second time.
            node("ReLU", &["(automatic)"], &["y"]),
        ];
        let ids = number(&nodes).ids;
        #[rustfmt::skip]
        let want = [
            0, 1,
            0, 0,
            0, 2,
            2, 0, 3,
            3, 1, 4,
            UNKNOWN, TWICE,
        ];
        assert_eq!(ids, want);
    }

    /// A walk reading the chunks as they are sent reads every layer's ids as in the whole
    /// numbering, layers without any (here at and around the chunks' ends, and last) included.
    #[test]
    fn a_walk_fed_chunk_by_chunk_reads_the_whole_numbering() {
        let silent = [1023, 1024, 2047, 2048, 2049, 2998, 2999];
        let nodes: Vec<Node> = (0..3000)
            .map(|i| match i {
                0 => node("Input", &[], &["x"]),
                i if silent.contains(&i) => node("Silence", &[], &[]),
                _ => node("ReLU", &["x"], &["x"]),
            })
            .collect();
        let whole = number(&nodes);
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = number_sending(&nodes, |ids| tx.send(ids.to_vec()).unwrap());
        drop(tx);
        assert_eq!(sent.ids, whole.ids);
        let (mut chunks, mut at) = (Feed::chunks(rx), 0);
        for n in &nodes {
            let len = n.lp.bottom.len() + n.lp.top.len();
            assert_eq!(chunks.next(len), &whole.ids[at..at + len]);
            at += len;
        }
        assert_eq!(at, whole.ids.len());
    }
}

//! The compact JSON report, written on two threads when it is large.
//!
//! On a 100k-layer net the report is some 50 MB of JSON, and serde_json writes it on one core
//! in about a fifth of the whole run. Its `layers` and `blobs` arrays are nearly all of it, and
//! their elements serialize independently: here the top-level object is written field by field,
//! and each large array in chunks of elements, serialized on the calling thread and one helper
//! (a second core, as the reader uses) and written out in order. The bytes are exactly
//! `serde_json::to_writer`'s (tests/json.rs checks it); the extra memory is a few chunk
//! buffers, reused. The indented output, for terminals, stays serde_json's own.
//!
//! The elements of those arrays are written by hand (`elements`): through serde, every key of
//! every layer went through serde_json's string escaping, a byte at a time, which was a sixth
//! of the whole run's instructions. Here keys are literals, strings that need no escaping are
//! copied whole, and everything else (an escape, a float) is left to serde_json, so the bytes
//! stay its own.
//!
//! The report is written in two parts (`write_front`, up to the totals, its layers and blobs
//! read straight from the walk; then `write_back`), with the memory figures computed in
//! between or beside (`pipeline::Walked::write_compact`).

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::layers::Shape;
use crate::load::Warning;
use crate::memory::{Fit, Memory, Suggestion};
use crate::pipeline::Head;
use crate::report::SCHEMA_VERSION;

/// Elements per chunk: some 200 KB of layers (90 KB of blobs), a third of a millisecond of
/// serializing. Smaller chunks keep the two threads finishing closer together, but each one
/// handed over may wait on a thread the scheduler has set aside: with the other core busy, 128
/// cost some 12 ms more than one thread on the 100k-layer net, 512 some 6.
const CHUNK: usize = 512;

/// Arrays shorter than this (about a millisecond of serializing) are written on the calling
/// thread: a small net's whole run takes a few milliseconds, and starting a thread for it would
/// cost more than it saves. Public: `pipeline::Walked::write_compact` computes the memory
/// figures beside the writing on nets this large, and the tests check they take the threaded
/// paths.
pub const THREADED_MIN: usize = 4 * CHUNK;

/// The helper's chunk buffers: one to fill while the other waits to be written (the slack that
/// lets it run ahead). Also what bounds the memory when stdout is slower than serializing.
const AHEAD: usize = 2;

/// An element writer: appends one element's JSON to a buffer.
type Element<'a, T> = &'a (dyn Fn(&mut Vec<u8>, &T) + Sync);

/// Writes the report's JSON up to its totals, byte for byte as `serde_json::to_writer` writes
/// the `Report` (tests/json.rs checks it), its layers and blobs read from the walk with the
/// values `report::describe` gives them: on a 100k-layer net, making the report's own copy of
/// the layers and blobs took as long as writing them. `pipeline::Walked::write_compact` writes
/// this while the memory figures are computed, then `write_back`.
pub fn write_front<W: Write>(out: &mut W, head: &Head, a: &Analysis) -> io::Result<()> {
    let Head {
        tool,
        net,
        settings,
        inputs,
        totals,
    } = head;
    let elem_bytes = settings.activation_elem_bytes;
    out.write_all(b"{\"schema_version\":")?;
    value(out, &SCHEMA_VERSION)?;
    field(out, "tool", tool)?;
    field(out, "net", net)?;
    field(out, "settings", settings)?;
    field(out, "inputs", inputs)?;
    out.write_all(b",\"layers\":")?;
    array(out, &a.layers, &|buf, l| {
        elements::layer(buf, a, elem_bytes, l)
    })?;
    out.write_all(b",\"blobs\":")?;
    array(out, &a.blobs, &|buf, b| {
        elements::blob(buf, a, elem_bytes, b)
    })?;
    field(out, "totals", totals)
}

/// The fields after the totals, and the closing `}`.
pub fn write_back<W: Write>(
    out: &mut W,
    memory: &Memory,
    fit: &Option<Fit>,
    suggestions: &[Suggestion],
    warnings: &[Warning],
) -> io::Result<()> {
    field(out, "memory", memory)?;
    // `#[serde(skip_serializing_if = "Option::is_none")]`.
    if let Some(fit) = fit {
        field(out, "fit", fit)?;
    }
    field(out, "suggestions", suggestions)?;
    field(out, "warnings", warnings)?;
    out.write_all(b"}")
}

/// `,"key":value`; the keys are plain ASCII, which JSON does not escape.
fn field<W: Write, T: Serialize + ?Sized>(out: &mut W, key: &str, v: &T) -> io::Result<()> {
    out.write_all(b",\"")?;
    out.write_all(key.as_bytes())?;
    out.write_all(b"\":")?;
    value(out, v)
}

fn value<W: Write, T: Serialize + ?Sized>(out: &mut W, v: &T) -> io::Result<()> {
    // An I/O error comes back as itself (a closed pipe stays `BrokenPipe`).
    serde_json::to_writer(out, v).map_err(io::Error::from)
}

/// A JSON array. A large one is cut into chunks, taken in turn by this thread and a helper as
/// each is free (so that a helper the scheduler holds back delays little); this thread writes
/// them all, in order, and hands the helper's buffers back for reuse.
fn array<W: Write, T: Sync>(out: &mut W, items: &[T], element: Element<T>) -> io::Result<()> {
    let chunks = items.len().div_ceil(CHUNK);
    out.write_all(b"[")?;
    if items.len() < THREADED_MIN {
        // Through a chunk buffer too: the elements' serializer is then compiled once, for
        // `Vec<u8>`, rather than a second time for `W` (a larger binary, more pages mapped).
        let mut buf = Vec::new();
        for k in 0..chunks {
            chunk(&mut buf, items, k, element);
            out.write_all(&buf)?;
        }
        return out.write_all(b"]");
    }
    // This thread's chunk buffer, first filled with chunk 0: the helper's are then made here,
    // as large. (Allocated on the helper, in mimalloc pages of its own, they raised the peak
    // by some 2 MB on the 100k-layer net.)
    let mut own = Vec::new();
    chunk(&mut own, items, 0, element);
    // The chunk `own` holds, serialized and not yet written.
    let mut own_at = Some(0);
    // The first chunk nobody has taken. Only the taking is counted here: the chunks themselves
    // pass through the channels, which order the memory.
    let next = &AtomicUsize::new(1);
    std::thread::scope(|s| -> io::Result<()> {
        // The helper's chunks, in the order it takes them, and its buffers back once written:
        // it holds AHEAD at most.
        let (done_tx, done_rx) = mpsc::sync_channel::<Vec<u8>>(AHEAD);
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(AHEAD);
        for _ in 0..AHEAD {
            // Cannot fail: the receiver is alive and the channel has room for them all.
            let _ = free_tx.send(Vec::with_capacity(own.capacity()));
        }
        // Should the thread not start, it takes no chunk, and this thread does them all.
        let _ = std::thread::Builder::new().spawn_scoped(s, move || {
            // A closed channel: the writing thread gave up (an error), so stop too.
            while let Ok(mut buf) = free_rx.recv() {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= chunks {
                    return;
                }
                chunk(&mut buf, items, k, element);
                if done_tx.send(buf).is_err() {
                    return;
                }
            }
        });
        for k in 0..chunks {
            if own_at.is_none() {
                let taken = next.fetch_add(1, Ordering::Relaxed);
                if taken < chunks {
                    chunk(&mut own, items, taken, element);
                    own_at = Some(taken);
                }
            }
            if own_at == Some(k) {
                out.write_all(&own)?;
                own_at = None;
            } else {
                // The helper took chunk `k`, and it sends its chunks in the order it takes them.
                // A closed channel here means it panicked: the scope passes the panic on.
                let Ok(buf) = done_rx.recv() else { break };
                out.write_all(&buf)?;
                // The helper may have finished: then the buffer is simply dropped.
                let _ = free_tx.send(buf);
            }
        }
        Ok(())
    })?;
    out.write_all(b"]")
}

/// Writes chunk `k` of `items` into `buf` (emptied first), each element after the array's
/// first preceded by its comma.
fn chunk<T>(buf: &mut Vec<u8>, items: &[T], k: usize, element: Element<T>) {
    buf.clear();
    let start = k * CHUNK;
    for (i, item) in items[start..].iter().take(CHUNK).enumerate() {
        if start + i > 0 {
            buf.push(b',');
        }
        element(buf, item);
    }
}

/// The walk's layers and blobs as serde_json writes the report's (`report::Layer`,
/// `report::Blob`, as `report::describe` makes them): the same keys in the same order, the
/// same spelling of every value.
mod elements {
    use super::*;
    use crate::analysis::{BlobInfo, LayerInfo, ParamInfo};

    pub fn layer(buf: &mut Vec<u8>, a: &Analysis, elem_bytes: u64, l: &LayerInfo) {
        buf.extend_from_slice(b"{\"name\":");
        string(buf, l.name());
        buf.extend_from_slice(b",\"type\":");
        string(buf, l.ty());
        buf.extend_from_slice(b",\"bottoms\":");
        list(buf, &l.lp.bottom, |buf, s| string(buf, s));
        buf.extend_from_slice(b",\"tops\":");
        list(buf, &l.lp.top, |buf, s| string(buf, s));
        buf.extend_from_slice(b",\"in_place\":");
        boolean(buf, l.in_place());
        buf.extend_from_slice(b",\"inserted\":");
        boolean(buf, l.inserted);
        buf.extend_from_slice(b",\"line\":");
        number(buf, l.pos.line);
        buf.extend_from_slice(b",\"output_shapes\":");
        list(buf, &l.output_shapes, shape);
        buf.extend_from_slice(b",\"params\":");
        list(buf, &l.params, |buf, p| param(buf, a, p));
        buf.extend_from_slice(b",\"param_count\":");
        number(buf, l.param_count());
        buf.extend_from_slice(b",\"macs\":");
        number(buf, l.macs);
        buf.extend_from_slice(b",\"flops\":");
        number(buf, l.flops);
        buf.extend_from_slice(b",\"backward_macs\":");
        number(buf, l.backward_macs());
        buf.extend_from_slice(b",\"need_backward\":");
        boolean(buf, l.need_backward);
        buf.extend_from_slice(b",\"activation_bytes\":");
        number(buf, l.activation_bytes(&a.blobs, elem_bytes));
        buf.extend_from_slice(b",\"notes\":");
        list(buf, &l.notes(), |buf, s| string(buf, s));
        buf.push(b'}');
    }

    fn param(buf: &mut Vec<u8>, a: &Analysis, p: &ParamInfo) {
        buf.extend_from_slice(b"{\"shape\":");
        shape(buf, &p.shape);
        buf.extend_from_slice(b",\"count\":");
        number(buf, p.count());
        buf.extend_from_slice(b",\"lr_mult\":");
        float(buf, p.lr_mult);
        buf.extend_from_slice(b",\"decay_mult\":");
        float(buf, p.decay_mult);
        buf.extend_from_slice(b",\"learns\":");
        boolean(buf, p.learns());
        // `shared_from`, the owner's name, is `#[serde(skip_serializing_if = "Option::is_none")]`.
        if let Some(owner) = p.owner() {
            buf.extend_from_slice(b",\"shared_from\":");
            string(buf, a.layers[owner].name());
        }
        buf.push(b'}');
    }

    pub fn blob(buf: &mut Vec<u8>, a: &Analysis, elem_bytes: u64, b: &BlobInfo) {
        let producer = &a.layers[b.producer()];
        buf.extend_from_slice(b"{\"name\":");
        string(buf, &producer.lp.top[b.top()]);
        buf.extend_from_slice(b",\"shape\":");
        shape(buf, &b.shape);
        buf.extend_from_slice(b",\"bytes\":");
        number(buf, b.count.saturating_mul(elem_bytes));
        buf.extend_from_slice(b",\"producer\":");
        string(buf, producer.name());
        buf.extend_from_slice(b",\"consumers\":");
        list(buf, b.consumers(), |buf, c| string(buf, a.layers[c].name()));
        buf.push(b'}');
    }

    fn list<I: IntoIterator>(buf: &mut Vec<u8>, items: I, element: impl Fn(&mut Vec<u8>, I::Item)) {
        buf.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            element(buf, item);
        }
        buf.push(b']');
    }

    fn shape(buf: &mut Vec<u8>, dims: &Shape) {
        list(buf, dims.iter(), |buf, &d| number(buf, d));
    }

    fn number(buf: &mut Vec<u8>, n: impl itoa::Integer) {
        buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    fn boolean(buf: &mut Vec<u8>, b: bool) {
        buf.extend_from_slice(if b { b"true" } else { b"false" });
    }

    /// serde_json's spelling of a float is its own (and `null` when not finite): left to it,
    /// but for 0, 1 and 2, which nearly every `lr_mult` and `decay_mult` is, spelled here as it
    /// spells them (a negative zero is "-0.0", and goes to it).
    fn float(buf: &mut Vec<u8>, x: f32) {
        let common: Option<&[u8]> = if x == 0.0 && x.is_sign_positive() {
            Some(b"0.0")
        } else if x == 1.0 {
            Some(b"1.0")
        } else if x == 2.0 {
            Some(b"2.0")
        } else {
            None
        };
        match common {
            Some(text) => buf.extend_from_slice(text),
            // Writing to a Vec cannot fail.
            None => {
                let _ = serde_json::to_writer(&mut *buf, &x);
            }
        }
    }

    /// A string with nothing JSON escapes (a quote, a backslash, a control character) is
    /// copied as it is, which names nearly always are; any other goes to serde_json.
    fn string(buf: &mut Vec<u8>, s: &str) {
        // A fold rather than `any`: no early exit, so the compiler checks many bytes at once.
        let plain = !s.bytes().fold(false, |esc, b| {
            esc | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if plain {
            buf.reserve(s.len() + 2);
            buf.push(b'"');
            buf.extend_from_slice(s.as_bytes());
            buf.push(b'"');
        } else {
            let _ = serde_json::to_writer(&mut *buf, s);
        }
    }
}

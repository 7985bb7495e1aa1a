//! The compact JSON report, written on two threads when it is large.
//!
//! On a 100k-layer net the report is some 50 MB of JSON, and serde_json writes it on one core
//! in about a fifth of the whole run. Its `layers` and `blobs` arrays are nearly all of it, and
//! their elements serialize independently: here the top-level object is written field by field,
//! and each large array in chunks of elements, serialized on the calling thread and one helper
//! (a second core, as the reader uses) and written out in order. The bytes are exactly
//! `serde_json::to_writer`'s (tests/json.rs checks it); the extra memory is a few chunk
//! buffers, reused. The indented output, for terminals, stays serde_json's own.

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use crate::report::Report;

/// Elements per chunk: some 200 KB of layers (90 KB of blobs), a third of a millisecond of
/// serializing. Smaller chunks keep the two threads finishing closer together, but each one
/// handed over may wait on a thread the scheduler has set aside: with the other core busy, 128
/// cost some 12 ms more than one thread on the 100k-layer net, 512 some 6.
const CHUNK: usize = 512;

/// Arrays shorter than this (about a millisecond of serializing) are written on the calling
/// thread: a small net's whole run takes a few milliseconds, and starting a thread for it would
/// cost more than it saves. Public for the tests, which check they take the threaded path.
pub const THREADED_MIN: usize = 4 * CHUNK;

/// The helper's chunk buffers: one to fill while the other waits to be written (the slack that
/// lets it run ahead). Also what bounds the memory when stdout is slower than serializing.
const AHEAD: usize = 2;

/// Writes `report` as compact JSON, byte for byte as `serde_json::to_writer` does.
pub fn write_compact<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    // Every field named, in the struct's order: a field added to `Report` fails to compile here
    // rather than going missing from the output.
    let Report {
        schema_version,
        tool,
        net,
        settings,
        inputs,
        layers,
        blobs,
        totals,
        memory,
        fit,
        suggestions,
        warnings,
    } = report;
    out.write_all(b"{\"schema_version\":")?;
    value(out, schema_version)?;
    field(out, "tool", tool)?;
    field(out, "net", net)?;
    field(out, "settings", settings)?;
    field(out, "inputs", inputs)?;
    out.write_all(b",\"layers\":")?;
    array(out, layers)?;
    out.write_all(b",\"blobs\":")?;
    array(out, blobs)?;
    field(out, "totals", totals)?;
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
fn array<W: Write, T: Serialize + Sync>(out: &mut W, items: &[T]) -> io::Result<()> {
    let chunks = items.len().div_ceil(CHUNK);
    out.write_all(b"[")?;
    if items.len() < THREADED_MIN {
        // Through a chunk buffer too: the elements' serializer is then compiled once, for
        // `Vec<u8>`, rather than a second time for `W` (a larger binary, more pages mapped).
        let mut buf = Vec::new();
        for k in 0..chunks {
            chunk(&mut buf, items, k)?;
            out.write_all(&buf)?;
        }
        return out.write_all(b"]");
    }
    // This thread's chunk buffer, first filled with chunk 0: the helper's are then made here,
    // as large. (Allocated on the helper, in mimalloc pages of its own, they raised the peak
    // by some 2 MB on the 100k-layer net.)
    let mut own = Vec::new();
    chunk(&mut own, items, 0)?;
    // The chunk `own` holds, serialized and not yet written.
    let mut own_at = Some(0);
    // The first chunk nobody has taken. Only the taking is counted here: the chunks themselves
    // pass through the channels, which order the memory.
    let next = &AtomicUsize::new(1);
    std::thread::scope(|s| -> io::Result<()> {
        // The helper's chunks, in the order it takes them, and its buffers back once written:
        // it holds AHEAD at most.
        let (done_tx, done_rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(AHEAD);
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
                let done = chunk(&mut buf, items, k).map(|()| buf);
                if done_tx.send(done).is_err() {
                    return;
                }
            }
        });
        for k in 0..chunks {
            if own_at.is_none() {
                let taken = next.fetch_add(1, Ordering::Relaxed);
                if taken < chunks {
                    chunk(&mut own, items, taken)?;
                    own_at = Some(taken);
                }
            }
            if own_at == Some(k) {
                out.write_all(&own)?;
                own_at = None;
            } else {
                // The helper took chunk `k`, and it sends its chunks in the order it takes them.
                // A closed channel here means it panicked: the scope passes the panic on.
                let Ok(done) = done_rx.recv() else { break };
                let buf = done?;
                out.write_all(&buf)?;
                // The helper may have finished: then the buffer is simply dropped.
                let _ = free_tx.send(buf);
            }
        }
        Ok(())
    })?;
    out.write_all(b"]")
}

/// Serializes chunk `k` of `items` into `buf` (emptied first), each element after the array's
/// first preceded by its comma.
fn chunk<T: Serialize>(buf: &mut Vec<u8>, items: &[T], k: usize) -> io::Result<()> {
    buf.clear();
    let start = k * CHUNK;
    for (i, item) in items[start..].iter().take(CHUNK).enumerate() {
        if start + i > 0 {
            buf.push(b',');
        }
        value(buf, item)?;
    }
    Ok(())
}

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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// An element writer: appends one element's JSON to a buffer, with what it keeps of the
/// chunk's elements before it.
type Element<'a, T> =
    &'a (dyn for<'t> Fn(&mut Vec<u8>, &mut elements::LastShape<'t>, &'t T) + Sync);

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
    // Whether some layer's name or top needed escaping. Every name a blob writes (its own,
    // which is its producer's top; its producer's; its consumers') was written in the layers
    // before it, so with none escaped there the blobs copy them unchecked.
    let escaped = AtomicBool::new(false);
    array(out, &a.layers, &|buf, last, l| {
        if elements::layer(buf, last, a, elem_bytes, l) {
            escaped.store(true, Ordering::Relaxed);
        }
    })?;
    // The layers' threads have ended: the flag is final.
    let names_plain = !escaped.load(Ordering::Relaxed);
    out.write_all(b",\"blobs\":")?;
    array(out, &a.blobs, &|buf, last, b| {
        elements::blob(buf, last, a, elem_bytes, names_plain, b)
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
    let mut last = elements::LastShape::default();
    let start = k * CHUNK;
    for (i, item) in items[start..].iter().take(CHUNK).enumerate() {
        if start + i > 0 {
            buf.push(b',');
        }
        element(buf, &mut last, item);
    }
}

/// The walk's layers and blobs as serde_json writes the report's (`report::Layer`,
/// `report::Blob`, as `report::describe` makes them): the same keys in the same order, the
/// same spelling of every value. The keys are written with the punctuation around them (a
/// list's brackets, a string's quotes, a boolean's value) in one copy each: each copy checks
/// the buffer's capacity, and a layer made some fifty of them.
mod elements {
    use super::*;
    use crate::analysis::{BlobInfo, LayerInfo, ParamInfo};
    use std::ops::Range;

    /// The last layer output or blob shape written in a chunk, and where in the chunk its
    /// text is: most layers' output has their input's shape, and most blobs the shape of the
    /// blob before, copied then rather than written a dimension at a time.
    #[derive(Default)]
    pub struct LastShape<'t> {
        dims: Option<&'t [i64]>,
        text: Range<usize>,
    }

    /// Writes a layer; true if its name or one of its tops needed escaping.
    pub fn layer<'t>(
        buf: &mut Vec<u8>,
        last: &mut LastShape<'t>,
        a: &Analysis,
        elem_bytes: u64,
        l: &'t LayerInfo,
    ) -> bool {
        buf.extend_from_slice(b"{\"name\":\"");
        let mut escaped = contents(buf, l.name());
        buf.extend_from_slice(b"\",\"type\":\"");
        contents(buf, l.ty());
        buf.extend_from_slice(b"\",\"bottoms\":[");
        strings(buf, l.lp.bottom.iter().map(|s| s.as_str()), contents);
        buf.extend_from_slice(b"],\"tops\":[");
        escaped |= strings(buf, l.lp.top.iter().map(|s| s.as_str()), contents);
        let flags: &[u8] = match (l.in_place(), l.inserted) {
            (false, false) => b"],\"in_place\":false,\"inserted\":false,\"line\":",
            (false, true) => b"],\"in_place\":false,\"inserted\":true,\"line\":",
            (true, false) => b"],\"in_place\":true,\"inserted\":false,\"line\":",
            (true, true) => b"],\"in_place\":true,\"inserted\":true,\"line\":",
        };
        buf.extend_from_slice(flags);
        number(buf, u64::from(l.pos.line));
        buf.extend_from_slice(b",\"output_shapes\":[");
        for (i, s) in l.output_shapes.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            shape_cached(buf, last, s);
        }
        buf.extend_from_slice(b"],\"params\":[");
        for (i, p) in l.params.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            param(buf, a, p);
        }
        buf.extend_from_slice(b"],\"param_count\":");
        number(buf, l.param_count());
        buf.extend_from_slice(b",\"macs\":");
        number(buf, l.macs);
        buf.extend_from_slice(b",\"flops\":");
        number(buf, l.flops);
        buf.extend_from_slice(b",\"backward_macs\":");
        number(buf, l.backward_macs());
        buf.extend_from_slice(if l.need_backward {
            b",\"need_backward\":true,\"activation_bytes\":"
        } else {
            b",\"need_backward\":false,\"activation_bytes\":"
        });
        number(buf, l.activation_bytes(&a.blobs, elem_bytes));
        buf.extend_from_slice(b",\"notes\":[");
        strings(buf, l.notes().iter().map(|s| s.as_str()), contents);
        buf.extend_from_slice(b"]}");
        escaped
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
        buf.extend_from_slice(if p.learns() {
            b",\"learns\":true"
        } else {
            b",\"learns\":false"
        });
        // `shared_from`, the owner's name, is `#[serde(skip_serializing_if = "Option::is_none")]`.
        if let Some(owner) = p.owner() {
            buf.extend_from_slice(b",\"shared_from\":\"");
            contents(buf, a.layers[owner].name());
            buf.push(b'"');
        }
        buf.push(b'}');
    }

    /// Writes a blob; `names_plain`: no layer name or top needs escaping.
    pub fn blob<'t>(
        buf: &mut Vec<u8>,
        last: &mut LastShape<'t>,
        a: &Analysis,
        elem_bytes: u64,
        names_plain: bool,
        b: &'t BlobInfo,
    ) {
        let name = |buf: &mut Vec<u8>, s: &str| {
            if names_plain {
                buf.extend_from_slice(s.as_bytes());
                false
            } else {
                contents(buf, s)
            }
        };
        let producer = &a.layers[b.producer()];
        buf.extend_from_slice(b"{\"name\":\"");
        name(buf, &producer.lp.top[b.top()]);
        buf.extend_from_slice(b"\",\"shape\":");
        shape_cached(buf, last, &b.shape);
        buf.extend_from_slice(b",\"bytes\":");
        number(buf, b.count.saturating_mul(elem_bytes));
        buf.extend_from_slice(b",\"producer\":\"");
        name(buf, producer.name());
        buf.extend_from_slice(b"\",\"consumers\":[");
        strings(
            buf,
            b.consumers().into_iter().map(|c| a.layers[c].name()),
            name,
        );
        buf.extend_from_slice(b"]}");
    }

    /// The strings of a list, between its brackets: `"a","b"`, each string's contents
    /// written by `write`. True if `write` returned true (escaped) for any.
    fn strings<'s>(
        buf: &mut Vec<u8>,
        items: impl Iterator<Item = &'s str>,
        mut write: impl FnMut(&mut Vec<u8>, &str) -> bool,
    ) -> bool {
        let mut any = false;
        let mut sep: &[u8] = b"\"";
        let mut written = false;
        for s in items {
            buf.extend_from_slice(sep);
            any |= write(buf, s);
            sep = b"\",\"";
            written = true;
        }
        if written {
            buf.push(b'"');
        }
        any
    }

    /// A shape, copied from the last one's text if the same.
    fn shape_cached<'t>(buf: &mut Vec<u8>, last: &mut LastShape<'t>, dims: &'t Shape) {
        if last.dims == Some(&dims[..]) {
            buf.extend_from_within(last.text.clone());
        } else {
            let at = buf.len();
            shape(buf, dims);
            *last = LastShape {
                dims: Some(dims),
                text: at..buf.len(),
            };
        }
    }

    /// `[d,d,d]`, each dimension written with what follows it.
    fn shape(buf: &mut Vec<u8>, dims: &Shape) {
        let Some((last, init)) = dims.split_last() else {
            buf.extend_from_slice(b"[]");
            return;
        };
        buf.push(b'[');
        for &d in init {
            dim(buf, d, b',');
        }
        dim(buf, *last, b']');
    }

    fn dim(buf: &mut Vec<u8>, d: i64, then: u8) {
        if d < 0 {
            buf.push(b'-');
        }
        let n = d.unsigned_abs();
        if n < 10 {
            buf.extend_from_slice(&[b'0' + n as u8, then]);
        } else {
            digits(buf, n);
            buf.push(then);
        }
    }

    /// The digits of 00 to 99.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";

    /// A number as itoa (and serde_json) writes it. Most are one digit (a 0, a dim of 1),
    /// pushed as it is.
    #[inline]
    fn number(buf: &mut Vec<u8>, n: u64) {
        if n < 10 {
            buf.push(b'0' + n as u8);
        } else {
            digits(buf, n);
        }
    }

    /// 10 to the power of the index.
    const POWERS: [u64; 20] = {
        let mut powers = [1; 20];
        let mut i = 1;
        while i < 20 {
            powers[i] = powers[i - 1] * 10;
            i += 1;
        }
        powers
    };

    /// The two digits of 0 to 99.
    fn pair(n: u64) -> [u8; 2] {
        let at = n as usize % 100 * 2;
        [PAIRS[at], PAIRS[at + 1]]
    }

    /// A number of two digits or more. Those of two and three (over half of them on the bench
    /// nets) are copied from the table; the others are written into a fixed buffer, copied
    /// whole (a copy of known size, inline, where one of the digits' length was a call to
    /// memcpy) and the excess cut.
    fn digits(buf: &mut Vec<u8>, n: u64) {
        if n < 100 {
            buf.extend_from_slice(&pair(n));
            return;
        }
        if n < 1000 {
            let [tens, ones] = pair(n % 100);
            buf.extend_from_slice(&[b'0' + (n / 100) as u8, tens, ones]);
            return;
        }
        // log10(n), from log2(n): 1233 / 4096 is just over log10(2), so `guess` is the log
        // or one more.
        let bits = 64 - n.leading_zeros() as usize;
        let guess = (bits * 1233) >> 12;
        let len = guess + usize::from(n >= POWERS[guess]);
        let mut digits = [0u8; 20];
        let mut end = len;
        let mut rest = n;
        // Four digits at a time, as itoa does.
        while rest >= 10_000 {
            let four = rest % 10_000;
            rest /= 10_000;
            digits[end - 4..end - 2].copy_from_slice(&pair(four / 100));
            digits[end - 2..end].copy_from_slice(&pair(four % 100));
            end -= 4;
        }
        if rest >= 100 {
            digits[end - 2..end].copy_from_slice(&pair(rest % 100));
            rest /= 100;
        }
        if rest >= 10 {
            digits[..2].copy_from_slice(&pair(rest));
        } else {
            digits[0] = b'0' + rest as u8;
        }
        let at = buf.len();
        buf.extend_from_slice(&digits);
        buf.truncate(at + len);
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

    /// A string's contents between its quotes, as serde_json writes them: copied as they are
    /// if nothing in them is escaped (a quote, a backslash, a control character), as names
    /// nearly always are, else left to serde_json. True if escaped.
    fn contents(buf: &mut Vec<u8>, s: &str) -> bool {
        let escapes = needs_escape(s.as_bytes());
        if escapes {
            escaped(buf, s);
        } else {
            buf.extend_from_slice(s.as_bytes());
        }
        escapes
    }

    /// Apart, so that `contents` stays small enough to inline.
    #[cold]
    fn escaped(buf: &mut Vec<u8>, s: &str) {
        // Writing to a Vec cannot fail. Without its quotes: the caller writes them.
        let quoted = serde_json::to_vec(s).unwrap_or_default();
        buf.extend_from_slice(&quoted[1..quoted.len() - 1]);
    }

    /// Whether a byte of `s` is one JSON escapes: a quote, a backslash or a control
    /// character. Eight bytes at a time: names are mostly 5 to 30 bytes, too short for the
    /// compiler's vector loop, whose byte-at-a-time tail was most of the work.
    fn needs_escape(s: &[u8]) -> bool {
        const ONES: u64 = u64::from_le_bytes([1; 8]);
        // `(x - k * ONES) & !x` has a byte's high bit set for some byte exactly when some
        // byte of x is under k (k at most 0x80): with none, nothing borrows, and a byte of
        // 0x80 or more keeps its high bit only where x has it; with one, the lowest such byte
        // wraps to 0x80 or more, its own high bit clear. A quote or backslash is a zero byte
        // after an xor.
        let word = |x: u64| {
            let quote = x ^ (ONES * u64::from(b'"'));
            let backslash = x ^ (ONES * u64::from(b'\\'));
            ((x.wrapping_sub(ONES * 0x20) & !x)
                | (quote.wrapping_sub(ONES) & !quote)
                | (backslash.wrapping_sub(ONES) & !backslash))
                & (ONES * 0x80)
        };
        let found = match (s.first_chunk::<4>(), s.last_chunk::<8>()) {
            (_, Some(&last)) => {
                // The last eight bytes overlap the last whole word read, if any.
                let words = s.chunks_exact(8).fold(0, |found, w| {
                    found | word(u64::from_le_bytes(w.try_into().expect("eight bytes")))
                });
                words | word(u64::from_le_bytes(last))
            }
            // Four to seven bytes: the first four and the last four, overlapping.
            (Some(&first), None) => {
                let last = *s.last_chunk::<4>().expect("four bytes");
                word(
                    u64::from(u32::from_le_bytes(first))
                        | u64::from(u32::from_le_bytes(last)) << 32,
                )
            }
            (None, None) => s.iter().fold(0, |found, &b| {
                found | u64::from((b < 0x20) | (b == b'"') | (b == b'\\'))
            }),
        };
        found != 0
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn escapes_bytewise(s: &[u8]) -> bool {
            s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
        }

        /// Every length up to five words, every position, the bytes escaped and their
        /// neighbours, among plain ASCII and UTF-8 continuation bytes.
        #[test]
        fn needs_escape_is_the_bytewise_test() {
            let odd = [
                0x00, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, b'[', b'\\', b']', 0x7f, 0x80,
            ];
            for fill in [b'a', b'0', 0x9f, 0xff] {
                for len in 0..=40 {
                    let plain = vec![fill; len];
                    assert!(!needs_escape(&plain), "{len} of {fill}");
                    for at in 0..len {
                        for b in odd {
                            let mut s = plain.clone();
                            s[at] = b;
                            assert_eq!(needs_escape(&s), escapes_bytewise(&s), "{s:?}");
                        }
                    }
                }
            }
        }

        /// The strings escaped are written as serde_json writes them, without its quotes.
        #[test]
        fn contents_are_serde_jsons() {
            for s in [
                "",
                "a",
                "conv1",
                "da\"ta",
                "ip\\1\t",
                "t\u{1}op",
                "caf\u{e9}\u{7f}",
            ] {
                let mut buf = Vec::new();
                let escaped = contents(&mut buf, s);
                let theirs = serde_json::to_vec(s).expect("serializes");
                assert_eq!(buf, theirs[1..theirs.len() - 1], "{s:?}");
                assert_eq!(escaped, buf != s.as_bytes(), "{s:?}");
            }
        }

        /// Numbers of every length, at and around each power of ten, as itoa writes them; dims
        /// with their sign and the byte after.
        #[test]
        fn numbers_are_itoas() {
            let mut ns: Vec<u64> = (0..=20_000).collect();
            for p in POWERS {
                ns.extend([p - 1, p, p + 1, p * 2 - 1, p.saturating_mul(9) + 7]);
            }
            ns.extend([u64::MAX - 1, u64::MAX, 1 << 32, 1 << 63]);
            for n in ns {
                let mut buf = Vec::new();
                number(&mut buf, n);
                assert_eq!(buf, itoa::Buffer::new().format(n).as_bytes());
            }
            for d in [
                0,
                7,
                -7,
                56,
                -56,
                256,
                1_000_003,
                -1_000_003,
                i64::MIN,
                i64::MAX,
            ] {
                let mut buf = Vec::new();
                dim(&mut buf, d, b',');
                assert_eq!(buf, format!("{d},").as_bytes());
            }
        }

        /// A shape again is a copy of the last one's text; another is written, and is the
        /// last one then; the empty shape included.
        #[test]
        fn a_shape_again_is_copied() {
            let shapes: Vec<Shape> = [
                &[1, 64, 56, 56][..],
                &[1, 64, 56, 56],
                &[],
                &[],
                &[1, 64],
                &[1, 64, 56, 56],
            ]
            .iter()
            .map(|d| Shape::from(d.to_vec()))
            .collect();
            let mut buf = Vec::new();
            let mut last = LastShape::default();
            for s in &shapes {
                shape_cached(&mut buf, &mut last, s);
                buf.push(b' ');
            }
            assert_eq!(buf, b"[1,64,56,56] [1,64,56,56] [] [] [1,64] [1,64,56,56] ");
        }
    }
}

//! A long text read a piece at a time: each piece is cut where `parse_split` would cut, read as
//! a message of its own and handed on, so that neither the whole text nor its whole wire form
//! is held at once (on a 100k-layer net they are 22 and 16 MB, touched once and thrown away).

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use super::{parse_part, shift_lines, singular_root_fields, starts_list_item, Parsed};

/// The longest piece: a text with no cut in this many bytes is read whole.
const MAX_PIECE: usize = 16 << 20;

/// The pieces that may wait between the two threads: enough that neither waits for the other
/// often, few enough that their buffers stay a few MiB.
const QUEUE: usize = 4;

/// A piece of the text on its way from the reading thread to the calling one.
enum Piece<T> {
    /// Its text, for the calling thread to read.
    Text(Vec<u8>),
    /// Read and decoded by the reading thread, with the line it ended on (`parse_part`).
    Read(Parsed, u32, T),
}

/// Reads the text form of `MESSAGES[root]` from `src` in pieces of about `block` bytes, each
/// cut at the start of a line that begins with a repeated message field of the root (a net's
/// `layer`), runs a decoder on every piece read and calls `each` with the piece and what the
/// decoder made of it, in order, the piece's positions already lines of the whole text. A
/// message's wire form is the concatenation of its fields', so the pieces' wire forms, one
/// after the other, are the whole text's.
///
/// A second thread reads and cuts the text, and reads and decodes pieces too while the calling
/// thread, which runs `each`, has one waiting, so that both threads are kept busy: a piece is
/// decoded on the thread that read it, before its positions are shifted. Each thread makes its
/// decoder with `new_decoder`, once, so that a decoder may keep what it learns from one piece
/// for the next ones it decodes (and drop it when the text is read).
///
/// Returns `Ok(false)` when the text must be read whole instead, which then gives the same
/// result or the error at its place: a piece did not read cleanly (a cut inside a message of a
/// file written without indentation, or an error in the text), a non-repeated root field is set
/// in two pieces, or `each` returned false. Pieces already handed on are then to be dropped.
pub fn parse_pieces<R: Read + Send, T: Send, D: FnMut(&Parsed) -> T>(
    src: R,
    root: usize,
    block: usize,
    new_decoder: impl Fn() -> D + Sync,
    mut each: impl FnMut(&mut Parsed, T) -> bool,
) -> std::io::Result<bool> {
    let (piece_tx, piece_rx) = std::sync::mpsc::sync_channel(QUEUE);
    // Text and wire buffers go back to the reading thread to be written again.
    let (spare_tx, spare_rx) = std::sync::mpsc::channel();
    // The texts sent and not yet taken.
    let texts = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (texts, new_decoder) = (&texts, &new_decoder);
        let reader = s.spawn(move || {
            let decode = new_decoder();
            cut_pieces(src, root, block, texts, decode, &piece_tx, &spare_rx)
        });
        let mut decode = new_decoder();
        // The lines of the pieces before the current one.
        let mut lines = 0u32;
        // Non-repeated root fields set by earlier pieces.
        let mut once: Vec<u32> = Vec::new();
        // The wire buffer of the pieces read on this thread.
        let mut wire = None;
        let mut joined = true;
        // Leaving the loop early drops the channel, which stops the reading thread.
        for piece in piece_rx {
            let read = match piece {
                Piece::Text(text) => {
                    texts.fetch_sub(1, Ordering::Relaxed);
                    let out = wire.take().unwrap_or_else(|| Vec::with_capacity(2 * block));
                    let read = parse_part(&text, root, None, out);
                    // The reading thread may have finished: the buffer is then not needed.
                    let _ = spare_tx.send(text);
                    read.map(|(parsed, end_line)| {
                        let decoded = decode(&parsed);
                        (parsed, end_line, decoded)
                    })
                }
                Piece::Read(parsed, end_line, decoded) => Ok((parsed, end_line, decoded)),
            };
            let Ok((mut parsed, end_line, decoded)) = read else {
                joined = false;
                break;
            };
            if parsed.root_fields.iter().any(|(n, _)| once.contains(n)) {
                joined = false;
                break;
            }
            once.extend(singular_root_fields(root, &parsed));
            shift_lines(&mut parsed, lines);
            if !each(&mut parsed, decoded) {
                joined = false;
                break;
            }
            // The piece's last line ends at the cut, so the next piece starts a line.
            lines = lines.saturating_add(end_line - 1);
            let used = std::mem::take(&mut parsed.wire);
            if wire.is_none() {
                wire = Some(used);
            } else {
                let _ = spare_tx.send(used);
            }
        }
        let cut = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(joined && cut)
    })
}

/// The reading thread's part of `parse_pieces`: reads `src`, cuts it into pieces and sends them
/// on in order, as text while the other thread has none waiting, read and decoded here
/// otherwise. Whether every piece was sent (not when one read here failed, when the text has no
/// cut in `MAX_PIECE` bytes, or when the other thread stopped taking them).
fn cut_pieces<T>(
    mut src: impl Read,
    root: usize,
    block: usize,
    texts: &AtomicUsize,
    mut decode: impl FnMut(&Parsed) -> T,
    pieces: &SyncSender<Piece<T>>,
    spares: &Receiver<Vec<u8>>,
) -> std::io::Result<bool> {
    // The text buffers of the pieces read here, to be written again.
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let spare = |kept: &mut Vec<Vec<u8>>| {
        let buf = kept.pop().or_else(|| spares.try_recv().ok());
        let mut buf = buf.unwrap_or_else(|| Vec::with_capacity(2 * block));
        buf.clear();
        buf
    };
    let mut buf = spare(&mut kept);
    // No cut starts before this: the last line start of a buffer that had none.
    let mut searched = 0;
    loop {
        let eof = fill(&mut src, &mut buf, block)?;
        let cut = if eof {
            buf.len()
        } else {
            match last_cut(&buf, root, searched) {
                Some(at) => at,
                // Not a net as Caffe writes them (or not text): read whole.
                None if buf.len() > MAX_PIECE => return Ok(false),
                None => {
                    // A root field longer than a block: read on, and look past here only.
                    searched = buf.iter().rposition(|&b| b == b'\n').unwrap_or(0);
                    continue;
                }
            }
        };
        searched = 0;
        // The text after the cut starts the next piece's buffer.
        let mut next = spare(&mut kept);
        next.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        let text = std::mem::replace(&mut buf, next);
        let piece = if texts.load(Ordering::Relaxed) == 0 {
            texts.fetch_add(1, Ordering::Relaxed);
            Piece::Text(text)
        } else {
            let read = parse_part(&text, root, None, spare(&mut kept));
            kept.push(text);
            let Ok((parsed, end_line)) = read else {
                return Ok(false);
            };
            let decoded = decode(&parsed);
            Piece::Read(parsed, end_line, decoded)
        };
        if pieces.send(piece).is_err() {
            return Ok(false);
        }
        if eof {
            return Ok(true);
        }
    }
}

/// Reads up to `block` more bytes of `src` into `buf`; whether the text ended.
fn fill(src: &mut impl Read, buf: &mut Vec<u8>, block: usize) -> std::io::Result<bool> {
    let want = block as u64;
    Ok(src.take(want).read_to_end(buf)? < block)
}

/// The last place in `buf`, at or after `from`, where `split_points` would cut.
fn last_cut(buf: &[u8], root: usize, from: usize) -> Option<usize> {
    let mut end = buf.len();
    while end > from {
        let newline = buf[from..end].iter().rposition(|&b| b == b'\n')? + from;
        // A name cut off by the end of the buffer may be cut at too: a cut needs a name there
        // (not a string, which would join the one before it), not that name.
        if starts_list_item(buf, newline + 1, root) {
            return Some(newline + 1);
        }
        end = newline;
    }
    None
}

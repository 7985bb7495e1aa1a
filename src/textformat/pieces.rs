//! A long text read a piece at a time: each piece is cut where `parse_split` would cut, read as
//! a message of its own and handed on, so that neither the whole text nor its whole wire form
//! is held at once (on a 100k-layer net they are 22 and 16 MB, touched once and thrown away).

use std::io::Read;

use super::{parse_part, shift_lines, singular_root_fields, starts_list_item, Parsed};

/// The longest piece: a text with no cut in this many bytes is read whole.
const MAX_PIECE: usize = 16 << 20;

/// Reads the text form of `MESSAGES[root]` from `src` in pieces of about `block` bytes, each
/// cut at the start of a line that begins with a repeated message field of the root (a net's
/// `layer`), and calls `each` with every piece read, its positions already lines of the whole
/// text. A message's wire form is the concatenation of its fields', so the pieces' wire forms,
/// one after the other, are the whole text's.
///
/// Returns `Ok(false)` when the text must be read whole instead, which then gives the same
/// result or the error at its place: a piece did not read cleanly (a cut inside a message of a
/// file written without indentation, or an error in the text), a non-repeated root field is set
/// in two pieces, or `each` returned false. Pieces already handed on are then to be dropped.
pub fn parse_pieces<R: Read>(
    mut src: R,
    root: usize,
    block: usize,
    mut each: impl FnMut(&mut Parsed) -> bool,
) -> std::io::Result<bool> {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * block);
    // The lines of the pieces before the current one.
    let mut lines = 0u32;
    // Non-repeated root fields set by earlier pieces.
    let mut once: Vec<u32> = Vec::new();
    // No cut starts before this: the last line start of a buffer that had none.
    let mut searched = 0;
    // The wire buffer, handed from piece to piece.
    let mut wire = Vec::with_capacity(2 * block);
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
        let Ok((mut parsed, end_line)) = parse_part(&buf[..cut], root, None, wire) else {
            return Ok(false);
        };
        if parsed.root_fields.iter().any(|(n, _)| once.contains(n)) {
            return Ok(false);
        }
        once.extend(singular_root_fields(root, &parsed));
        shift_lines(&mut parsed, lines);
        if !each(&mut parsed) {
            return Ok(false);
        }
        if eof {
            return Ok(true);
        }
        wire = std::mem::take(&mut parsed.wire);
        wire.clear();
        // The piece's last line ends at the cut, so the next piece starts a line.
        lines = lines.saturating_add(end_line - 1);
        buf.drain(..cut);
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

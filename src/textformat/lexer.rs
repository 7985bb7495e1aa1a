//! Tokens of protobuf's text format, borrowed from the input: no token allocates.

use super::{Pos, TextError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    /// A bare word: a field name, an enum value, `true`, `inf`, ...
    Ident(&'a [u8]),
    /// A numeric literal, sign included, exactly as written.
    Number(&'a [u8]),
    /// A quoted string, quotes and escapes still in place, and whether it is plain: without
    /// escapes and bytes over 0x7f, so that the bytes between its quotes are the string, and
    /// valid UTF-8.
    Str(&'a [u8], bool),
    Punct(u8),
    Eof,
}

impl Tok<'_> {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Number(s) | Tok::Str(s, _) => {
                let text = String::from_utf8_lossy(s);
                if text.chars().count() > 40 {
                    let short: String = text.chars().take(40).collect();
                    format!("'{short}...'")
                } else {
                    format!("'{text}'")
                }
            }
            Tok::Punct(c) => format!("'{}'", *c as char),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

/// The bytes `word_len` counts, as a table: it runs once per byte of every name and number.
static WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
        i += 1;
    }
    table
};

/// The bytes a string's body runs on over: not its end (either quote, or a line break, as no
/// token runs on past a line), an escape, or a byte that makes it not plain.
static STRING_BODY: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = !matches!(b, b'"' | b'\'' | b'\\' | b'\n') && b < 0x80;
        i += 1;
    }
    table
};

/// The bytes that may begin a name, as a table: one look-up for each name of the text, where
/// the two range checks and a compare were about ten instructions.
static IDENT_START: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphabetic() || b == b'_';
        i += 1;
    }
    table
};

/// Whether `c` may begin a name (a field name, an enum value).
#[inline]
pub fn is_ident_start(c: u8) -> bool {
    IDENT_START[usize::from(c)]
}

/// The length of the run of name and number characters (a `.` too, for floats) at the start of
/// `s`.
#[inline]
pub fn word_len(s: &[u8]) -> usize {
    run_len(s, &WORD)
}

/// The length of the run of bytes marked in `table` at the start of `s`, two bytes a step:
/// names and strings run about eight and fifteen bytes, and a loop's own count and test were
/// half of each step.
#[inline]
fn run_len(s: &[u8], table: &[bool; 256]) -> usize {
    let mut pairs = s.chunks_exact(2);
    let mut n = 0;
    for pair in pairs.by_ref() {
        if !table[usize::from(pair[0])] {
            return n;
        }
        if !table[usize::from(pair[1])] {
            return n + 1;
        }
        n += 2;
    }
    n + pairs
        .remainder()
        .iter()
        .take_while(|&&b| table[usize::from(b)])
        .count()
}

pub struct Lexer<'a> {
    src: &'a [u8],
    at: usize,
    line: u32,
    line_start: usize,
    /// Whether the last token scanned is still to be taken (`peek` read ahead).
    ahead: bool,
    // The last token scanned, as plain fields rather than a `(Tok, Pos)`: `scan` is not
    // inlined, and such a pair, written by it through memory in narrow parts and read back by
    // the caller in wide ones, stalled store forwarding at every token (the reader ran at half
    // its speed). Field by field, every load matches its store, and `next` and `peek`, inlined,
    // build the `Tok` in registers.
    kind: TokKind,
    /// The punctuation character, for `TokKind::Punct`.
    punct: u8,
    /// The token's text, for names, numbers and strings.
    text: &'a [u8],
    /// Whether a string is plain (`Tok::Str`).
    plain: bool,
    pos: Pos,
}

#[derive(Clone, Copy)]
enum TokKind {
    Ident,
    Number,
    Str,
    Punct,
    Eof,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        // A UTF-8 byte-order mark is not part of the text.
        let at = if src.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Lexer {
            src,
            at,
            line: 1,
            line_start: at,
            ahead: false,
            kind: TokKind::Eof,
            punct: 0,
            text: &[],
            plain: false,
            pos: Pos::default(),
        }
    }

    /// The current line: after the end of file, one more than the number of line breaks.
    pub fn line(&self) -> u32 {
        self.line
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            // Saturating: a line or a file over 4 GiB must not wrap a position.
            col: u32::try_from(self.at - self.line_start + 1).unwrap_or(u32::MAX),
        }
    }

    /// The position of the one-byte punctuation just taken, by `next` or `eat_punct`.
    pub fn punct_pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: u32::try_from(self.at - self.line_start).unwrap_or(u32::MAX),
        }
    }

    #[inline]
    pub fn peek(&mut self) -> Result<(Tok<'a>, Pos), TextError> {
        if !self.ahead {
            self.scan().map_err(|e| *e)?;
            self.ahead = true;
        }
        Ok(self.token())
    }

    /// Takes the next token if it is a number (starting with a digit or `-`) or a name: the
    /// usual value of a numeric or boolean field, read here and handed over without being kept
    /// as the token read ahead. Anything else is left to be read next.
    #[inline]
    pub fn eat_word_value(&mut self) -> Option<(&'a [u8], Pos)> {
        self.eat_value(|src, start| {
            let c = *src.get(start)?;
            if c.is_ascii_digit() || c == b'-' {
                Some(number_end(src, start))
            } else if is_ident_start(c) {
                Some(start + word_len(&src[start..]))
            } else {
                None
            }
        })
    }

    /// Takes the next token if it is a plain string in double quotes (`Tok::Str(_, true)`), the
    /// usual value of a string field, as `eat_word_value` takes a number: its text, quotes
    /// included. Anything else is left to be read next.
    #[inline]
    pub fn eat_plain_string(&mut self) -> Option<(&'a [u8], Pos)> {
        self.eat_value(|src, start| {
            if src.get(start) != Some(&b'"') {
                return None;
            }
            let body = &src[start + 1..];
            let len = run_len(body, &STRING_BODY);
            (body.get(len) == Some(&b'"')).then_some(start + len + 2)
        })
    }

    /// The next token, when no token is read ahead and `end` finds where it ends (from the
    /// text and where the token starts), taken with its place; otherwise nothing is taken.
    #[inline(always)]
    fn eat_value(
        &mut self,
        end: impl FnOnce(&'a [u8], usize) -> Option<usize>,
    ) -> Option<(&'a [u8], Pos)> {
        if self.ahead {
            return None;
        }
        self.skip_space_and_comments();
        let (src, start) = (self.src, self.at);
        let end = end(src, start)?;
        let pos = self.pos();
        self.at = end;
        Some((&src[start..end], pos))
    }

    #[inline]
    pub fn next(&mut self) -> Result<(Tok<'a>, Pos), TextError> {
        if !self.ahead {
            self.scan().map_err(|e| *e)?;
        }
        self.ahead = false;
        Ok(self.token())
    }

    /// Takes the next token if it is the punctuation `c`, found without a scan: punctuation is
    /// one byte. Unlike a `peek`, a mismatch reports nothing and leaves the token unread; the
    /// caller must read it next, so that an error in it still comes first.
    #[inline]
    pub fn eat_punct(&mut self, c: u8) -> bool {
        if self.ahead {
            let found = matches!(self.kind, TokKind::Punct) && self.punct == c;
            self.ahead = !found;
            return found;
        }
        self.skip_space_and_comments();
        let found = self.src.get(self.at) == Some(&c);
        self.at += usize::from(found);
        found
    }

    /// The next byte past spaces and comments, or the punctuation read ahead: what `take_punct`
    /// then takes as one-byte punctuation, found without a scan. 0 for a token read ahead
    /// that is not punctuation, and at the end of the input. Like `eat_punct`, a byte not taken
    /// leaves its token to be read next.
    #[inline]
    pub fn peek_punct(&mut self) -> u8 {
        if self.ahead {
            return if matches!(self.kind, TokKind::Punct) {
                self.punct
            } else {
                0
            };
        }
        self.skip_space_and_comments();
        self.src.get(self.at).copied().unwrap_or(0)
    }

    /// Takes the next token if it is a name, read here rather than by `scan`: names are half
    /// the tokens. Anything else is left to be read next. Called right after `peek_punct`,
    /// which has skipped the spaces before it.
    #[inline]
    pub fn eat_ident(&mut self) -> Option<(&'a [u8], Pos)> {
        if self.ahead {
            if !matches!(self.kind, TokKind::Ident) {
                return None;
            }
            self.ahead = false;
            return Some((self.text, self.pos));
        }
        let src = self.src;
        let start = self.at;
        if !is_ident_start(*src.get(start)?) {
            return None;
        }
        let end = start + word_len(&src[start..]);
        let pos = self.pos();
        self.at = end;
        Some((&src[start..end], pos))
    }

    /// Takes the token `peek` or `peek_value` read ahead, already in the caller's hands.
    #[inline]
    pub fn take(&mut self) {
        self.ahead = false;
    }

    /// Takes the punctuation `peek_punct` found.
    #[inline]
    pub fn take_punct(&mut self) {
        if self.ahead {
            self.ahead = false;
        } else {
            self.at += 1;
        }
    }

    #[inline]
    fn token(&self) -> (Tok<'a>, Pos) {
        let tok = match self.kind {
            TokKind::Ident => Tok::Ident(self.text),
            TokKind::Number => Tok::Number(self.text),
            TokKind::Str => Tok::Str(self.text, self.plain),
            TokKind::Punct => Tok::Punct(self.punct),
            TokKind::Eof => Tok::Eof,
        };
        (tok, self.pos)
    }

    fn skip_space_and_comments(&mut self) {
        // In locals, written back once: through `self`, each step stored its position.
        let src = self.src;
        let mut at = self.at;
        while let Some(&c) = src.get(at) {
            match c {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => at += 1,
                b'\n' => {
                    at += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = at;
                    // The indentation, in a loop of its own.
                    while src.get(at) == Some(&b' ') {
                        at += 1;
                    }
                }
                b'#' => {
                    let rest = &src[at..];
                    at += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                }
                _ => break,
            }
        }
        self.at = at;
    }

    /// Reads the next token into `kind`, `punct`, `text` and `pos`. The errors are built out of
    /// line (`unexpected`, `not_closed`): what is left keeps its state in registers. The error
    /// is boxed so that the result is one register, not written to and read from memory.
    fn scan(&mut self) -> Result<(), Box<TextError>> {
        self.skip_space_and_comments();
        let pos = self.pos();
        self.pos = pos;
        let src = self.src;
        let start = self.at;
        let Some(&c) = src.get(start) else {
            self.kind = TokKind::Eof;
            return Ok(());
        };
        let (kind, end) = match c {
            // Names first: the most frequent token.
            c if is_ident_start(c) => (TokKind::Ident, start + word_len(&src[start..])),
            b'{' | b'}' | b'[' | b']' | b':' | b',' | b';' | b'<' | b'>' => {
                self.punct = c;
                (TokKind::Punct, start + 1)
            }
            b'"' | b'\'' => {
                let (end, plain) = string_end(src, start).ok_or_else(|| not_closed(pos))?;
                self.plain = plain;
                (TokKind::Str, end)
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => (TokKind::Number, number_end(src, start)),
            _ => return Err(unexpected(&src[start..], pos)),
        };
        self.kind = kind;
        self.at = end;
        self.text = &src[start..end];
        Ok(())
    }
}

/// The end of the string literal opening at `start`, and whether it is plain (`Tok::Str`);
/// `None` if it is not closed on its line.
fn string_end(src: &[u8], start: usize) -> Option<(usize, bool)> {
    let quote = src[start];
    let mut at = start + 1;
    let mut plain = true;
    loop {
        at += run_len(&src[at..], &STRING_BODY);
        match *src.get(at)? {
            b'\n' => return None,
            // An escape takes the next byte, except a line break: no token runs on past a line
            // (as in protobuf), which keeps line numbers right and lets the reader cut the text
            // at a line (`parse_split`).
            b'\\' => {
                plain = false;
                if *src.get(at + 1)? == b'\n' {
                    return None;
                }
                at += 2;
            }
            q if q == quote => return Some((at + 1, plain)),
            // The other quote, or a byte over 0x7f.
            b => {
                plain &= b < 0x80;
                at += 1;
            }
        }
    }
}

/// The end of the number starting at `start` (a sign, a digit or a point).
#[inline]
fn number_end(src: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    at += word_len(&src[at..]);
    // An exponent sign belongs to the number: 1e-5, 2.5E+3.
    while at < src.len()
        && matches!(src[at], b'-' | b'+')
        && matches!(src[at - 1], b'e' | b'E')
        && !src[start..at].starts_with(b"0x")
    {
        at += 1;
        at += word_len(&src[at..]);
    }
    at
}

#[cold]
fn not_closed(pos: Pos) -> Box<TextError> {
    Box::new(TextError::new(pos, "string literal is not closed"))
}

/// The error for a byte that starts no token, at the start of `rest`.
#[cold]
fn unexpected(rest: &[u8], pos: Pos) -> Box<TextError> {
    // Only the character here is decoded, not the rest of the input.
    let shown = rest
        .utf8_chunks()
        .next()
        .and_then(|chunk| chunk.valid().chars().next())
        .filter(|ch| !ch.is_control())
        .map(|ch| format!("'{ch}'"))
        .unwrap_or_else(|| format!("byte 0x{:02x}", rest[0]));
    Box::new(TextError::new(pos, format!("unexpected character {shown}")))
}

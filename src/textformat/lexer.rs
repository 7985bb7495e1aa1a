//! Tokens of protobuf's text format, borrowed from the input: no token allocates.

use super::{Pos, TextError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    /// A bare word: a field name, an enum value, `true`, `inf`, ...
    Ident(&'a [u8]),
    /// A numeric literal, sign included, exactly as written.
    Number(&'a [u8]),
    /// A quoted string, quotes and escapes still in place.
    Str(&'a [u8]),
    Punct(u8),
    Eof,
}

impl Tok<'_> {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Number(s) | Tok::Str(s) => {
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

/// Whether `c` may begin a name (a field name, an enum value).
pub fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// The length of the run of name and number characters (a `.` too, for floats) at the start of
/// `s`.
pub fn word_len(s: &[u8]) -> usize {
    s.iter()
        .position(|&b| !WORD[usize::from(b)])
        .unwrap_or(s.len())
}

pub struct Lexer<'a> {
    src: &'a [u8],
    at: usize,
    line: u32,
    line_start: usize,
    /// The token after the current position, read ahead once.
    peeked: Option<(Tok<'a>, Pos)>,
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
            peeked: None,
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

    pub fn peek(&mut self) -> Result<(Tok<'a>, Pos), TextError> {
        if let Some(t) = self.peeked {
            return Ok(t);
        }
        let t = self.scan()?;
        self.peeked = Some(t);
        Ok(t)
    }

    pub fn next(&mut self) -> Result<(Tok<'a>, Pos), TextError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.scan(),
        }
    }

    fn skip_space_and_comments(&mut self) {
        while self.at < self.src.len() {
            match self.src[self.at] {
                b'\n' => {
                    self.at += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.at;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.at += 1,
                b'#' => {
                    let rest = &self.src[self.at..];
                    self.at += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                }
                _ => break,
            }
        }
    }

    fn scan(&mut self) -> Result<(Tok<'a>, Pos), TextError> {
        self.skip_space_and_comments();
        let pos = self.pos();
        let start = self.at;
        let Some(&c) = self.src.get(self.at) else {
            return Ok((Tok::Eof, pos));
        };
        let tok = match c {
            b'{' | b'}' | b'[' | b']' | b':' | b',' | b';' | b'<' | b'>' => {
                self.at += 1;
                Tok::Punct(c)
            }
            b'"' | b'\'' => {
                self.at += 1;
                loop {
                    match self.src.get(self.at) {
                        None | Some(b'\n') => {
                            return Err(TextError::new(pos, "string literal is not closed"));
                        }
                        // An escape takes the next byte, except a line break: no token runs
                        // on past a line (as in protobuf), which keeps line numbers right and
                        // lets the reader cut the text at a line (`parse_split`).
                        Some(b'\\') if self.src.get(self.at + 1) != Some(&b'\n') => self.at += 2,
                        Some(&q) if q == c => {
                            self.at += 1;
                            break;
                        }
                        Some(_) => self.at += 1,
                    }
                }
                if self.at > self.src.len() {
                    return Err(TextError::new(pos, "string literal is not closed"));
                }
                Tok::Str(&self.src[start..self.at])
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                self.at += 1;
                self.take_word();
                // An exponent sign belongs to the number: 1e-5, 2.5E+3.
                while self.at < self.src.len()
                    && matches!(self.src[self.at], b'-' | b'+')
                    && matches!(self.src[self.at - 1], b'e' | b'E')
                    && !self.src[start..self.at].starts_with(b"0x")
                {
                    self.at += 1;
                    self.take_word();
                }
                Tok::Number(&self.src[start..self.at])
            }
            c if is_ident_start(c) => {
                self.take_word();
                Tok::Ident(&self.src[start..self.at])
            }
            _ => {
                // Only the character here is decoded, not the rest of the input.
                let shown = self.src[start..]
                    .utf8_chunks()
                    .next()
                    .and_then(|chunk| chunk.valid().chars().next())
                    .filter(|ch| !ch.is_control())
                    .map(|ch| format!("'{ch}'"))
                    .unwrap_or_else(|| format!("byte 0x{c:02x}"));
                return Err(TextError::new(pos, format!("unexpected character {shown}")));
            }
        };
        Ok((tok, pos))
    }

    fn take_word(&mut self) {
        self.at += word_len(&self.src[self.at..]);
    }
}

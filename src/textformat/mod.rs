//! Protobuf text format, read against a descriptor table and written out as protobuf wire
//! format, which prost then decodes into the generated types. This module knows nothing of
//! Caffe: it could read any message of the table.
//!
//! Going through the wire format keeps one generic reader instead of per-message code, and lets
//! prost own the typed structs. Positions (line, column) of the root's message-valued fields are
//! kept on the side so later stages can point at a layer in the file.

mod hash;
mod lexer;
mod pieces;
mod value;

use lexer::{Lexer, Tok};
pub use pieces::parse_pieces;

include!(concat!(env!("OUT_DIR"), "/descriptor.rs"));

/// How a field's value is read and encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Uint32,
    Bool,
    String,
    Bytes,
    Message,
    Enum,
}

pub struct FieldDesc {
    pub name: &'static str,
    pub number: u32,
    pub kind: Kind,
    pub repeated: bool,
    /// Index into `MESSAGES` or `ENUMS` for message and enum fields.
    pub target: u32,
}

pub struct MessageDesc {
    pub name: &'static str,
    /// Sorted by name.
    pub fields: &'static [FieldDesc],
    /// A hash table over `fields` laid out by build.rs: indices, `u16::MAX` where empty.
    pub slots: &'static [u16],
}

pub struct EnumDesc {
    pub name: &'static str,
    /// (name, number), sorted by name.
    pub values: &'static [(&'static str, i32)],
}

impl MessageDesc {
    /// The field named `name`. Always inlined: in the reader's field loop, the call (and the
    /// registers it saved and restored) was a third of a look-up.
    #[inline(always)]
    pub fn field(&self, name: &[u8]) -> Option<&'static FieldDesc> {
        let mask = self.slots.len() - 1;
        let mut at = hash::name_hash(name) as usize & mask;
        loop {
            let f = self.fields.get(usize::from(self.slots[at]))?;
            if same_name(f.name.as_bytes(), name) {
                return Some(f);
            }
            at = (at + 1) & mask;
        }
    }
}

/// `a == b` for field names, a word at a time and inline: the slice comparison was a call to
/// `memcmp` per field of the text, 7% of the reader's time.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        hash::word8(&a[..8]) == hash::word8(&b[..8])
            && hash::word8(&a[n - 8..]) == hash::word8(&b[n - 8..])
            && (n <= 16 || a[8..n - 8] == b[8..n - 8])
    } else if n >= 4 {
        hash::word4(&a[..4]) == hash::word4(&b[..4])
            && hash::word4(&a[n - 4..]) == hash::word4(&b[n - 4..])
    } else {
        // The first, middle and last bytes are every byte of a name this short.
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

/// A place in the input: 1-based line and column (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub pos: Pos,
    pub message: String,
}

impl TextError {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        TextError {
            pos,
            message: message.into(),
        }
    }
}

/// A field or enum value the schema does not know, skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub pos: Pos,
    pub message: String,
}

/// The result of reading one message.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The message in protobuf wire format.
    pub wire: Vec<u8>,
    /// Every field of the root message, in file order: (field number, position).
    pub root_fields: Vec<(u32, Pos)>,
    /// Fields the schema does not know, and enum values it does not know, in file order.
    pub unknown: Vec<Unknown>,
    /// Names of the root's fields that were unknown (to tell a solver from a net).
    pub unknown_root_names: Vec<String>,
    /// With `parse_nested`: every field of a root field of the nested message type, in file
    /// order: (that root field's number, field number, position).
    pub nested_fields: Vec<(u32, u32, Pos)>,
}

impl Parsed {
    /// Nothing read yet, the wire form to be written into `wire`.
    pub fn with_wire(wire: Vec<u8>) -> Self {
        Parsed {
            wire,
            root_fields: Vec::new(),
            unknown: Vec::new(),
            unknown_root_names: Vec::new(),
            nested_fields: Vec::new(),
        }
    }
}

/// Nesting deeper than this is refused: Caffe's files nest four or five levels, and protobuf's
/// own reader stops at 100.
pub const MAX_DEPTH: usize = 64;

/// Strings longer than this are refused: Caffe's are names, paths and small Python-layer
/// configurations, none near it; a longer one is a broken or generated file.
pub const MAX_STRING: usize = 1 << 20;

/// Reads `src` as the text form of `MESSAGES[root]`.
pub fn parse(src: &[u8], root: usize) -> Result<Parsed, TextError> {
    parse_nested(src, root, None)
}

/// Like `parse`, also keeping the positions of the fields of each root field whose type is
/// `MESSAGES[nested]` (in `Parsed::nested_fields`): a message inlined in another, such as a net
/// inside a solver, is then located as if it were a file of its own.
pub fn parse_nested(src: &[u8], root: usize, nested: Option<usize>) -> Result<Parsed, TextError> {
    if src.len() >= SPLIT_MIN {
        // The first cut past the middle: the two parts then take about as long.
        if let Some(at) = split_points(src, root, src.len() / 2).next() {
            if let Some(parsed) = parse_split(src, root, nested, at) {
                return Ok(parsed);
            }
        }
    }
    let out = Vec::with_capacity(src.len());
    parse_part(src, root, nested, out).map(|(parsed, _)| parsed)
}

/// Inputs at least this long are read on two threads (`parse_split`): below it, starting a
/// thread and joining the parts cost about what the second thread saves.
const SPLIT_MIN: usize = 1 << 20;

/// Where `parse_split` may cut `src`: the starts of the lines after byte `from` that begin, at
/// column 1, with the name of a repeated message field of the root, as a net's `layer`s do.
/// Such a line may still be inside a message (a file written without indentation):
/// `parse_split` finds out.
pub fn split_points(src: &[u8], root: usize, from: usize) -> impl Iterator<Item = usize> + '_ {
    let mut at = from;
    std::iter::from_fn(move || loop {
        at += src.get(at..)?.iter().position(|&b| b == b'\n')? + 1;
        if starts_list_item(src, at, root) {
            return Some(at);
        }
    })
}

/// Whether `src[at..]` starts with the name of a repeated message field of the root.
fn starts_list_item(src: &[u8], at: usize, root: usize) -> bool {
    let line = &src[at..];
    let name = &line[..lexer::word_len(line)];
    MESSAGES[root]
        .field(name)
        .is_some_and(|f| f.kind == Kind::Message && f.repeated)
}

/// `parse_nested` on two threads: `src` is cut at byte `at`, each part is read as a message of
/// its own, and the results are joined (a message's wire form is the concatenation of its
/// fields'). `None` when the cut is not clean or either part fails: the caller then reads the
/// whole text in one piece, which gives the same result, or the error at its exact place.
pub fn parse_split(src: &[u8], root: usize, nested: Option<usize>, at: usize) -> Option<Parsed> {
    // The cut must be at a name at column 1 (no token or comment goes on past a line break).
    // If the first part then reads to its end cleanly, every message, list and value in it is
    // closed, so the one-piece reader is between two root fields there and reads the name as
    // the next one, just as the second part's reader does. A cut inside a message, a skipped
    // block or a list leaves the first part unclosed, and so fails.
    let starts_name = src.get(at).is_some_and(|&c| lexer::is_ident_start(c));
    if at == 0 || src[at - 1] != b'\n' || !starts_name {
        return None;
    }
    let (head, tail) = src.split_at(at);
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| parse_part(tail, root, nested, Vec::with_capacity(tail.len())));
        // Room for the whole: the second part is appended to the first.
        let first = parse_part(head, root, nested, Vec::with_capacity(src.len()));
        (first, second.join())
    });
    let (mut first, head_lines) = first.ok()?;
    let (mut second, _) = second.ok()?.ok()?;
    // A non-repeated field set in both parts is an error of the whole, left to the one-piece
    // reader. (A field with an unknown enum value may be set again: then this falls back for
    // nothing, which is rare and only slower.)
    let once: Vec<u32> = singular_root_fields(root, &first).collect();
    if second.root_fields.iter().any(|(n, _)| once.contains(n)) {
        return None;
    }
    // The second part's lines follow the first's; its columns are the file's, as it starts a
    // line.
    shift_lines(&mut second, head_lines - 1);
    first.wire.extend_from_slice(&second.wire);
    first.root_fields.extend(second.root_fields);
    first.unknown.extend(second.unknown);
    first.unknown_root_names.extend(second.unknown_root_names);
    first.nested_fields.extend(second.nested_fields);
    Some(first)
}

/// The non-repeated root fields a part of a text sets: another part may not set them again.
fn singular_root_fields(root: usize, part: &Parsed) -> impl Iterator<Item = u32> + '_ {
    let fields = MESSAGES[root].fields;
    let singular = move |n: u32| fields.iter().any(|f| f.number == n && !f.repeated);
    part.root_fields
        .iter()
        .map(|&(n, _)| n)
        .filter(move |&n| singular(n))
}

/// Numbers a part's positions as lines of the whole text, the part starting `lines` lines in
/// (at a line start, so its columns are the text's).
fn shift_lines(part: &mut Parsed, lines: u32) {
    let shift = |pos: &mut Pos| pos.line = pos.line.saturating_add(lines);
    part.root_fields.iter_mut().for_each(|(_, p)| shift(p));
    part.unknown.iter_mut().for_each(|u| shift(&mut u.pos));
    part.nested_fields.iter_mut().for_each(|(_, _, p)| shift(p));
}

/// Reads `src`, writing its wire form into `out` (emptied first). Returns the line the reader
/// ended on too, for `parse_split` and `parse_pieces` to number the lines of a part that
/// follows.
fn parse_part(
    src: &[u8],
    root: usize,
    nested: Option<usize>,
    mut out: Vec<u8>,
) -> Result<(Parsed, u32), TextError> {
    // The buffers are sized so that none grows by doubling, each time copying and touching
    // fresh pages: the callers give `out` room for the text (a Caffe net's wire form is about
    // half its text, more with many small messages), and a root field (a layer) takes more
    // than 64 bytes of text. Room never written costs nothing.
    out.clear();
    let fields = out.capacity().max(src.len()) / 64;
    let mut p = Parser {
        lex: Lexer::new(src),
        out,
        root_fields: Vec::with_capacity(fields),
        unknown: Vec::new(),
        unknown_root_names: Vec::new(),
        seen: Vec::new(),
        nested,
        nested_parent: None,
        nested_fields: Vec::with_capacity(if nested.is_some() { fields } else { 0 }),
    };
    p.message_body(root, None, 0)?;
    let parsed = Parsed {
        wire: p.out,
        root_fields: p.root_fields,
        unknown: p.unknown,
        unknown_root_names: p.unknown_root_names,
        nested_fields: p.nested_fields,
    };
    Ok((parsed, p.lex.line()))
}

struct Parser<'a> {
    lex: Lexer<'a>,
    out: Vec<u8>,
    root_fields: Vec<(u32, Pos)>,
    unknown: Vec<Unknown>,
    unknown_root_names: Vec<String>,
    /// Singular fields already set, per open message (a stack of field numbers with marks).
    seen: Vec<u32>,
    /// The message type whose fields' positions are kept when it is a root field's type.
    nested: Option<usize>,
    /// The number of the root field being read, when its type is `nested`.
    nested_parent: Option<u32>,
    nested_fields: Vec<(u32, u32, Pos)>,
}

fn closing(open: u8) -> u8 {
    if open == b'<' {
        b'>'
    } else {
        b'}'
    }
}

impl<'a> Parser<'a> {
    /// Fields until the closing delimiter (or end of file at the root).
    fn message_body(
        &mut self,
        msg: usize,
        close: Option<u8>,
        depth: usize,
    ) -> Result<(), TextError> {
        let mark = self.seen.len();
        // The closing delimiter, a separator and the field's name are taken without a full
        // scan (see `peek_punct`, `eat_ident`), the spaces before them skipped once; anything
        // else is read whole, as an error.
        let mut next = self.lex.peek_punct();
        loop {
            if close == Some(next) {
                self.lex.take_punct();
                break;
            }
            let (name, pos) = match self.lex.eat_ident() {
                Some(name) => name,
                None => match self.lex.next()? {
                    (Tok::Eof, _) if close.is_none() => break,
                    (Tok::Eof, pos) => {
                        return Err(TextError::new(
                            pos,
                            format!(
                                "unexpected end of file: '{}' is not closed",
                                if close == Some(b'>') { '<' } else { '{' }
                            ),
                        ))
                    }
                    (other, pos) => {
                        return Err(TextError::new(
                            pos,
                            format!("expected a field name, found {}", other.describe()),
                        ))
                    }
                },
            };
            self.field(msg, name, pos, depth)?;
            next = self.lex.peek_punct();
            // Fields may be separated by ',' or ';'. A token that is neither stays unread, and
            // so is read (and any error in it reported) at the top of the loop.
            if matches!(next, b',' | b';') {
                self.lex.take_punct();
                next = self.lex.peek_punct();
            }
        }
        self.seen.truncate(mark);
        Ok(())
    }

    fn field(
        &mut self,
        msg: usize,
        name: &'a [u8],
        pos: Pos,
        depth: usize,
    ) -> Result<(), TextError> {
        let desc = &MESSAGES[msg];
        let Some(f) = desc.field(name) else {
            let name = String::from_utf8_lossy(name).into_owned();
            if depth == 0 {
                self.unknown_root_names.push(name.clone());
            }
            self.unknown.push(Unknown {
                pos,
                message: format!("unknown field '{name}' in {}", desc.name),
            });
            return self.skip_field_value(pos, depth);
        };
        // Message fields record themselves per element (a list may hold several).
        if depth == 0 && f.kind != Kind::Message {
            self.root_fields.push((f.number, pos));
        }
        if depth == 1 && f.kind != Kind::Message {
            self.nested_field(f, pos);
        }
        let has_colon = self.lex.eat_punct(b':');
        // The usual opening of a message, taken without a full scan.
        if f.kind == Kind::Message && self.lex.peek_punct() == b'{' {
            self.lex.take_punct();
            self.check_singular(f, pos)?;
            return self.message_field(f, pos, depth, b'{');
        }
        // The usual values, a number, a name or a plain string, read and written here: as a
        // token read ahead, kept in the lexer and matched again, they cost about twice as much.
        // Such a token cannot be in error, so the field's own checks come next, as below.
        if has_colon {
            match f.kind {
                Kind::String | Kind::Bytes => {
                    if let Some((lit, npos)) = self.lex.eat_plain_string() {
                        self.check_singular(f, pos)?;
                        if self.put_plain_string(f, lit) {
                            return Ok(());
                        }
                        return self.scalar_value(f, Tok::Str(lit, true), npos);
                    }
                }
                Kind::Enum | Kind::Message => {}
                _ => {
                    if let Some((text, npos)) = self.lex.eat_word_value() {
                        self.check_singular(f, pos)?;
                        return value::put_scalar(&mut self.out, f, text, npos);
                    }
                }
            }
        }
        let (next, npos) = self.lex.peek()?;
        if f.kind == Kind::Message {
            match next {
                Tok::Punct(open @ (b'{' | b'<')) => {
                    self.lex.next()?;
                    self.check_singular(f, pos)?;
                    self.message_field(f, pos, depth, open)
                }
                Tok::Punct(b'[') if has_colon && f.repeated => {
                    self.lex.next()?;
                    self.list(|p| p.message_item(f, pos, depth))
                }
                other => Err(TextError::new(
                    npos,
                    format!(
                        "expected '{{' to open message field '{}', found {}",
                        f.name,
                        other.describe()
                    ),
                )),
            }
        } else {
            if !has_colon {
                return Err(TextError::new(
                    npos,
                    format!("expected ':' after field name '{}'", f.name),
                ));
            }
            if next == Tok::Punct(b'[') {
                if !f.repeated {
                    return Err(TextError::new(
                        npos,
                        format!("field '{}' is not repeated: a list is not allowed", f.name),
                    ));
                }
                self.lex.next()?;
                return self.list(|p| p.scalar(f));
            }
            self.check_singular(f, pos)?;
            self.lex.take();
            // The usual values, a plain string or a number, are written here rather than
            // through `scalar_value`, whose call was a fifth of their cost.
            match (f.kind, next) {
                (Kind::String | Kind::Bytes, Tok::Str(lit, true))
                    if self.put_plain_string(f, lit) =>
                {
                    Ok(())
                }
                (Kind::String | Kind::Bytes | Kind::Enum, _) => self.scalar_value(f, next, npos),
                (_, Tok::Number(text) | Tok::Ident(text)) => {
                    value::put_scalar(&mut self.out, f, text, npos)
                }
                _ => self.scalar_value(f, next, npos),
            }
        }
    }

    /// Writes the string field `f` from a plain literal `lit` (quotes included) as `scalar_value`
    /// does, when no literal follows it to be joined and it is not too long; false, with
    /// nothing written, otherwise.
    #[inline]
    fn put_plain_string(&mut self, f: &FieldDesc, lit: &[u8]) -> bool {
        let body = &lit[1..lit.len() - 1];
        if body.len() > MAX_STRING || matches!(self.lex.peek_punct(), b'"' | b'\'') {
            return false;
        }
        value::put_key(&mut self.out, f.number, 2);
        value::put_varint(&mut self.out, body.len() as u64);
        self.out.extend_from_slice(body);
        true
    }

    /// Keeps the position of a field of a nested message of the type asked for.
    fn nested_field(&mut self, f: &FieldDesc, pos: Pos) {
        if let Some(parent) = self.nested_parent {
            self.nested_fields.push((parent, f.number, pos));
        }
    }

    /// protobuf's reader refuses a non-repeated field given twice in one message.
    fn check_singular(&mut self, f: &FieldDesc, pos: Pos) -> Result<(), TextError> {
        if f.repeated {
            return Ok(());
        }
        // `seen` holds the singular fields of every open message; entries above the current
        // message's start mark belong to it. The start mark is kept implicitly: message_body
        // truncates back to it, so scanning from the end until a 0 sentinel finds this level.
        for &n in self.seen.iter().rev() {
            if n == 0 {
                break;
            }
            if n == f.number {
                return Err(TextError::new(
                    pos,
                    format!(
                        "non-repeated field '{}' is specified more than once",
                        f.name
                    ),
                ));
            }
        }
        self.seen.push(f.number);
        Ok(())
    }

    /// `[a, b, ...]`, the opening bracket already read.
    fn list(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), TextError>,
    ) -> Result<(), TextError> {
        if let (Tok::Punct(b']'), _) = self.lex.peek()? {
            self.lex.next()?;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.lex.next()? {
                (Tok::Punct(b','), _) => {}
                (Tok::Punct(b']'), _) => return Ok(()),
                (other, pos) => {
                    return Err(TextError::new(
                        pos,
                        format!("expected ',' or ']' in a list, found {}", other.describe()),
                    ))
                }
            }
        }
    }

    /// A message in a list: its opening delimiter, then `message_field`.
    fn message_item(&mut self, f: &FieldDesc, pos: Pos, depth: usize) -> Result<(), TextError> {
        let (open, opos) = self.lex.next()?;
        let Tok::Punct(open @ (b'{' | b'<')) = open else {
            return Err(TextError::new(
                opos,
                format!("expected '{{' to open message field '{}'", f.name),
            ));
        };
        self.message_field(f, pos, depth, open)
    }

    /// A message field's body, its opening delimiter `open` just read.
    fn message_field(
        &mut self,
        f: &FieldDesc,
        pos: Pos,
        depth: usize,
        open: u8,
    ) -> Result<(), TextError> {
        if depth + 1 > MAX_DEPTH {
            return Err(TextError::new(
                self.lex.punct_pos(),
                format!("messages are nested more than {MAX_DEPTH} deep"),
            ));
        }
        if depth == 0 {
            self.root_fields.push((f.number, pos));
            self.nested_parent = (self.nested == Some(f.target as usize)).then_some(f.number);
        }
        if depth == 1 {
            self.nested_field(f, pos);
        }
        value::put_key(&mut self.out, f.number, 2);
        // The length is not known yet: a byte is kept for it, and filled (or made room beside)
        // afterwards.
        let len_at = self.out.len();
        self.out.push(0);
        self.seen.push(0);
        self.message_body(f.target as usize, Some(closing(open)), depth + 1)?;
        self.seen.pop();
        let len = self.out.len() - len_at - 1;
        if len >= 1 << 31 {
            return Err(TextError::new(pos, "message is larger than 2 GiB"));
        }
        value::put_len(&mut self.out, len_at, len as u32);
        Ok(())
    }

    fn scalar(&mut self, f: &FieldDesc) -> Result<(), TextError> {
        let (tok, pos) = self.lex.next()?;
        self.scalar_value(f, tok, pos)
    }

    /// A scalar field's value, the token `tok` at `pos`, just read.
    fn scalar_value(&mut self, f: &FieldDesc, tok: Tok<'a>, pos: Pos) -> Result<(), TextError> {
        if f.kind == Kind::String || f.kind == Kind::Bytes {
            let Tok::Str(first, plain) = tok else {
                return Err(TextError::new(
                    pos,
                    format!(
                        "expected a string for field '{}', found {}",
                        f.name,
                        tok.describe()
                    ),
                ));
            };
            let body = &first[1..first.len() - 1];
            // Whether another string literal follows (to be joined): for a plain string of a
            // length allowed, a look at the next byte will do, as nothing here can fail before
            // the next token is read; otherwise that token is read now, as any error in it is
            // the one to report.
            let adjacent = if plain && body.len() <= MAX_STRING {
                matches!(self.lex.peek_punct(), b'"' | b'\'')
            } else {
                matches!(self.lex.peek()?, (Tok::Str(..), _))
            };
            if !adjacent && body.len() <= MAX_STRING && (plain || !body.contains(&b'\\')) {
                // The common case, a name or a path: its bytes as written, with no copy.
                if f.kind == Kind::String && !plain && std::str::from_utf8(body).is_err() {
                    return Err(TextError::new(pos, "string is not valid UTF-8"));
                }
                value::put_key(&mut self.out, f.number, 2);
                value::put_varint(&mut self.out, body.len() as u64);
                self.out.extend_from_slice(body);
                return Ok(());
            }
            let mut buf = Vec::new();
            value::unescape(first, pos, &mut buf)?;
            // Adjacent string literals are one string.
            while let (Tok::Str(more, _), mpos) = self.lex.peek()? {
                self.lex.next()?;
                value::unescape(more, mpos, &mut buf)?;
            }
            if buf.len() > MAX_STRING {
                return Err(TextError::new(
                    pos,
                    format!(
                        "string of {} bytes for field '{}' is over the limit of {MAX_STRING} bytes",
                        buf.len(),
                        f.name
                    ),
                ));
            }
            if f.kind == Kind::String && std::str::from_utf8(&buf).is_err() {
                return Err(TextError::new(pos, "string is not valid UTF-8"));
            }
            value::put_key(&mut self.out, f.number, 2);
            value::put_varint(&mut self.out, buf.len() as u64);
            self.out.extend_from_slice(&buf);
            return Ok(());
        }
        if f.kind == Kind::Enum {
            let e = &ENUMS[f.target as usize];
            let number = match tok {
                Tok::Ident(name) => {
                    match e.values.binary_search_by(|(n, _)| n.as_bytes().cmp(name)) {
                        Ok(i) => e.values[i].1,
                        Err(_) => {
                            self.unknown.push(Unknown {
                                pos,
                                message: format!(
                                    "unknown value '{}' of enum {} for field '{}'",
                                    String::from_utf8_lossy(name),
                                    e.name,
                                    f.name
                                ),
                            });
                            self.pop_singular(f);
                            return Ok(());
                        }
                    }
                }
                Tok::Number(text) => {
                    let v = value::parse_int(text, pos, true)?;
                    let v = i32::try_from(v).map_err(|_| {
                        TextError::new(pos, format!("enum number out of range for '{}'", f.name))
                    })?;
                    if !e.values.iter().any(|&(_, n)| n == v) {
                        return Err(TextError::new(
                            pos,
                            format!("{v} is not a value of enum {} (field '{}')", e.name, f.name),
                        ));
                    }
                    v
                }
                other => {
                    return Err(TextError::new(
                        pos,
                        format!(
                            "expected an enum value for field '{}', found {}",
                            f.name,
                            other.describe()
                        ),
                    ))
                }
            };
            value::put_key(&mut self.out, f.number, 0);
            value::put_varint(&mut self.out, number as i64 as u64);
            return Ok(());
        }
        let text = match tok {
            Tok::Number(t) | Tok::Ident(t) => t,
            other => {
                return Err(TextError::new(
                    pos,
                    format!(
                        "expected a value for field '{}', found {}",
                        f.name,
                        other.describe()
                    ),
                ))
            }
        };
        value::put_scalar(&mut self.out, f, text, pos)
    }

    /// An unknown enum value leaves its field unset, so it may be given again.
    fn pop_singular(&mut self, f: &FieldDesc) {
        if !f.repeated && self.seen.last() == Some(&f.number) {
            self.seen.pop();
        }
    }

    /// Skips the value of a field the schema does not know: a block, a list or a scalar.
    fn skip_field_value(&mut self, pos: Pos, depth: usize) -> Result<(), TextError> {
        let (mut tok, _) = self.lex.peek()?;
        let has_colon = tok == Tok::Punct(b':');
        if has_colon {
            self.lex.next()?;
            tok = self.lex.peek()?.0;
        }
        match tok {
            Tok::Punct(open @ (b'{' | b'<')) => {
                self.lex.next()?;
                self.skip_block(closing(open), depth + 1)
            }
            Tok::Punct(b'[') if has_colon => {
                self.lex.next()?;
                self.list(|p| {
                    let (t, _) = p.lex.peek()?;
                    match t {
                        Tok::Punct(open @ (b'{' | b'<')) => {
                            p.lex.next()?;
                            p.skip_block(closing(open), depth + 1)
                        }
                        _ => p.skip_scalar(),
                    }
                })
            }
            _ if has_colon => self.skip_scalar(),
            other => Err(TextError::new(
                pos,
                format!(
                    "expected ':' or '{{' after field name, found {}",
                    other.describe()
                ),
            )),
        }
    }

    fn skip_scalar(&mut self) -> Result<(), TextError> {
        match self.lex.next()? {
            (Tok::Str(..), _) => {
                while let (Tok::Str(..), _) = self.lex.peek()? {
                    self.lex.next()?;
                }
                Ok(())
            }
            (Tok::Number(_) | Tok::Ident(_), _) => Ok(()),
            (other, pos) => Err(TextError::new(
                pos,
                format!("expected a value, found {}", other.describe()),
            )),
        }
    }

    /// Skips balanced tokens up to `close`, checking the nesting bound as it goes.
    fn skip_block(&mut self, close: u8, depth: usize) -> Result<(), TextError> {
        let mut stack = vec![close];
        loop {
            let (tok, pos) = self.lex.next()?;
            match tok {
                Tok::Eof => {
                    return Err(TextError::new(pos, "unexpected end of file in a block"));
                }
                Tok::Punct(c @ (b'{' | b'<' | b'[')) => {
                    if depth + stack.len() > MAX_DEPTH {
                        return Err(TextError::new(
                            pos,
                            format!("messages are nested more than {MAX_DEPTH} deep"),
                        ));
                    }
                    stack.push(match c {
                        b'{' => b'}',
                        b'<' => b'>',
                        _ => b']',
                    });
                }
                Tok::Punct(c @ (b'}' | b'>' | b']')) => {
                    if stack.last() != Some(&c) {
                        return Err(TextError::new(pos, format!("unbalanced '{}'", c as char)));
                    }
                    stack.pop();
                    if stack.is_empty() {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }
}

//! Caffe's `LayerParameter`, read and written in the same wire format as prost's would be, but
//! laid out for nets of a hundred thousand layers: prost gives each of its sixty-odd optional
//! sub-messages (`convolution_param`, `pooling_param`, ...) a field, 832 bytes a layer, while a
//! layer sets one or two of them. Here they are a short list, kept sorted by field number so
//! that equal layers compare equal; build.rs writes the list's element type (`SubParam`) and
//! the per-field accessors (`convolution_param()`, `convolution_param_mut()`,
//! `set_convolution_param()`) from caffe.proto. Each sub-message is in an `Arc`: a net's
//! layers mostly repeat a few, which its reader decodes once each and shares (`SharedSubs`).

use std::borrow::Cow;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use compact_str::CompactString;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, message, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message as _};

use super::*;

/// A layer as caffe.proto defines it: the fields most layers use, the sub-messages it sets, and
/// the fields few layers set. 160 bytes, 176 with its `Arc` (in mimalloc's 192-byte class: the
/// bottoms and tops inline cost 32 bytes there and save two blocks of their own).
#[derive(Clone, PartialEq, Debug, Default)]
pub struct LayerParameter {
    pub name: Option<CompactString>,
    /// Borrowed when it is one of `LAYER_TYPES`, as nearly every layer's is.
    pub r#type: Option<Cow<'static, str>>,
    pub bottom: Names,
    pub top: Names,
    pub param: Vec<ParamSpec>,
    /// The set sub-messages (read and written through the accessors).
    pub sub: SubParams,
    /// Boxed, so that they cost the layers that do not set them one pointer.
    pub rare: Option<Box<Rare>>,
}

/// A layer's bottoms or tops: nearly always one, kept in the layer rather than in a block of
/// its own that every pass over the layers would reach through one more pointer.
pub type Names = smallvec::SmallVec<[CompactString; 1]>;

/// The fields of LayerParameter that few layers set.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Rare {
    /// A `Phase`; Caffe sets it on built layers, files seldom do.
    pub phase: Option<i32>,
    pub loss_weight: Vec<f32>,
    pub blobs: Vec<BlobProto>,
    pub propagate_down: Vec<bool>,
    pub include: Vec<NetStateRule>,
    pub exclude: Vec<NetStateRule>,
}

/// A layer's set sub-messages, sorted by field number. Opaque, so that the order holds.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct SubParams(Subs);

/// Most layers set one sub-message, some none, a few several: 16 bytes (a `SmallVec` of one
/// took 24). `Many` holds two or more, so that equal lists are equal.
#[derive(Clone, PartialEq, Debug, Default)]
enum Subs {
    #[default]
    None,
    One(SubParam),
    // Boxed, the vector takes one word: inline it would make every layer's list 24 bytes.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<SubParam>>),
}

impl SubParams {
    /// Whether both lists are equal, sub-messages shared between them compared at once rather
    /// than field by field (the walk's memo compares layers that nearly all share theirs).
    pub fn same(&self, other: &SubParams) -> bool {
        let (a, b) = (self.as_slice(), other.as_slice());
        a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same(b))
    }

    /// Whether both lists hold the very same sub-messages, which `same` compares at once: the
    /// layers one reader's thread decoded share them (`SharedSubs`), those of two threads not.
    #[inline]
    pub fn shared(&self, other: &SubParams) -> bool {
        let (a, b) = (self.as_slice(), other.as_slice());
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(a, b)| std::ptr::eq(a.addr(), b.addr()))
    }

    fn as_slice(&self) -> &[SubParam] {
        match &self.0 {
            Subs::None => &[],
            Subs::One(s) => std::slice::from_ref(s),
            Subs::Many(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [SubParam] {
        match &mut self.0 {
            Subs::None => &mut [],
            Subs::One(s) => std::slice::from_mut(s),
            Subs::Many(v) => v,
        }
    }

    /// Changes the list as a vector, then stores it back in its shortest form.
    fn edit<R>(&mut self, change: impl FnOnce(&mut Vec<SubParam>) -> R) -> R {
        let mut v = match std::mem::take(&mut self.0) {
            Subs::None => Vec::new(),
            Subs::One(s) => vec![s],
            Subs::Many(v) => *v,
        };
        let r = change(&mut v);
        self.0 = if v.len() > 1 {
            Subs::Many(Box::new(v))
        } else {
            v.pop().map_or(Subs::None, Subs::One)
        };
        r
    }
}

include!(concat!(env!("OUT_DIR"), "/layer_sub.rs"));

impl LayerParameter {
    /// The name, or "" when unset (as prost's getter).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The type, or "" when unset.
    pub fn r#type(&self) -> &str {
        self.r#type.as_deref().unwrap_or_default()
    }

    pub fn loss_weight(&self) -> &[f32] {
        self.rare.as_ref().map_or(&[], |r| &r.loss_weight)
    }

    pub fn propagate_down(&self) -> &[bool] {
        self.rare.as_ref().map_or(&[], |r| &r.propagate_down)
    }

    pub fn include(&self) -> &[NetStateRule] {
        self.rare.as_ref().map_or(&[], |r| &r.include)
    }

    pub fn exclude(&self) -> &[NetStateRule] {
        self.rare.as_ref().map_or(&[], |r| &r.exclude)
    }

    /// The rare fields, to set one (boxed first when none is set).
    pub fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn sub_param(&self, tag: u32) -> Option<&SubParam> {
        self.sub.as_slice().iter().find(|s| s.tag() == tag)
    }

    /// The sub-message of field `tag`, set to its default first when unset; `None` when `tag`
    /// is not a sub-message field.
    fn sub_param_mut(&mut self, tag: u32) -> Option<&mut SubParam> {
        let at = self.sub.as_slice().partition_point(|s| s.tag() < tag);
        if self.sub.as_slice().get(at).is_none_or(|s| s.tag() != tag) {
            self.insert_sub_param(at, SubParam::empty(tag)?);
        }
        Some(&mut self.sub.as_mut_slice()[at])
    }

    /// Puts a sub-message of a field the layer does not set at `at`, its place in the order.
    fn insert_sub_param(&mut self, at: usize, sub: SubParam) {
        match self.sub.0 {
            // A layer's first, the usual case, without a vector.
            Subs::None => self.sub.0 = Subs::One(sub),
            _ => self.sub.edit(|v| v.insert(at, sub)),
        }
    }

    fn set_sub_param(&mut self, tag: u32, value: Option<SubParam>) {
        self.sub.edit(|v| {
            v.retain(|s| s.tag() != tag);
            if let Some(value) = value {
                let at = v.partition_point(|s| s.tag() < tag);
                v.insert(at, value);
            }
        });
    }

    /// `merge` of a layer's wire (as `Message::merge` reads it), with a sub-message whose wire
    /// is one `shared` holds taken from there rather than decoded: the layers decoded with one
    /// `SharedSubs` that repeat a sub-message then share one copy of it. A sub-message field the
    /// wire gives twice is merged as protobuf has it, the second time into a copy of its own.
    pub fn merge_shared(
        &mut self,
        wire: &[u8],
        shared: &mut SharedSubs,
    ) -> Result<(), DecodeError> {
        let ctx = DecodeContext::default();
        let mut buf = self.merge_leading_strings(wire);
        while !buf.is_empty() {
            let field = buf;
            let (tag, wire_type) = encoding::decode_key(&mut buf)?;
            // A param spec of multipliers only, the usual one, without `merge_field`'s call.
            if tag == PARAM {
                if let Some((spec, len)) = mults_only(wire_type, buf) {
                    room_for_param(&mut self.param, buf);
                    self.param.push(spec);
                    buf = &buf[len..];
                    continue;
                }
            }
            if wire_type == WireType::LengthDelimited
                && SubParam::is_field(tag)
                && self.sub_param(tag).is_none()
            {
                // The whole field, key and all, when it is short enough to be shared.
                let key_len = field.len() - buf.len();
                let whole = payload_len(buf)
                    .and_then(|len| len.checked_add(key_len))
                    .filter(|&len| len <= SHARED_LEN && len <= field.len())
                    .map(|len| &field[..len]);
                if let Some(whole) = whole {
                    let hash = shared.seen.hasher().hash_one(whole);
                    if let Some(sub) = shared.get(hash, whole) {
                        if let Subs::None = self.sub.0 {
                            // The layer's first, as `insert_sub_param` puts it, without its call.
                            self.sub.0 = Subs::One(sub.clone());
                        } else {
                            let at = self.sub.as_slice().partition_point(|s| s.tag() < tag);
                            self.insert_sub_param(at, sub.clone());
                        }
                        buf = &field[whole.len()..];
                        continue;
                    }
                    self.merge_field(tag, wire_type, &mut buf, ctx.clone())?;
                    let sub = self.sub_param(tag).expect("a sub-message just read");
                    shared.put(hash, whole, sub.clone());
                    continue;
                }
            }
            self.merge_field(tag, wire_type, &mut buf, ctx.clone())?;
        }
        Ok(())
    }

    /// Reads the run of string fields a layer's wire starts with (name, type, bottoms, tops:
    /// Caffe's files give them first) with one UTF-8 check for the whole run rather than one
    /// per string in `read_str`, whose set-up was most of a short name's cost. The run's keys
    /// and one-byte lengths are ASCII, so it is valid UTF-8 exactly when each of its strings is,
    /// and each string starts and ends at a character boundary. Returns the wire after the run;
    /// a run that is not valid UTF-8 is returned whole, for `merge_field` to read or refuse as
    /// it would any other.
    fn merge_leading_strings<'w>(&mut self, wire: &'w [u8]) -> &'w [u8] {
        const fn key(tag: u32) -> u8 {
            (tag << 3) as u8 | WireType::LengthDelimited as u8
        }
        let mut end = 0;
        while let [k, len, ..] = wire[end..] {
            let next = end + 2 + usize::from(len);
            let string = [key(NAME), key(TYPE), key(BOTTOM), key(TOP)].contains(&k);
            if !string || len >= 0x80 || next > wire.len() {
                break;
            }
            end = next;
        }
        let Ok(run) = std::str::from_utf8(&wire[..end]) else {
            return wire;
        };
        let mut at = 0;
        while at < end {
            let (k, len) = (wire[at], usize::from(wire[at + 1]));
            let s = &run[at + 2..at + 2 + len];
            match u32::from(k >> 3) {
                NAME => self.name = Some(s.into()),
                // As `merge_field` reads it: a type the rules know is shared, not copied.
                TYPE => {
                    self.r#type = Some(match known_type_name(s.as_bytes()) {
                        Some(known) => Cow::Borrowed(known),
                        None => Cow::Owned(s.to_owned()),
                    })
                }
                BOTTOM => self.bottom.push(s.into()),
                _ => self.top.push(s.into()),
            }
            at += 2 + len;
        }
        &wire[end..]
    }
}

/// The length of a length-delimited field's payload with its length's varint, or `None` when
/// that varint is broken (which `merge_field` then reports).
fn payload_len(buf: &[u8]) -> Option<usize> {
    let mut rest = buf;
    let len = usize::try_from(encoding::decode_varint(&mut rest).ok()?).ok()?;
    (buf.len() - rest.len()).checked_add(len)
}

/// The longest sub-message field (key, length and payload) that `SharedSubs` keeps: a layer's
/// parameters are mostly a few dozen bytes, and longer ones (a list of values) seldom repeat.
const SHARED_LEN: usize = 256;

/// The most sub-messages `SharedSubs` keeps before it starts again: a net repeats its blocks
/// close together, and one of all different layers then costs a few hundred KiB at most.
const SHARED_MAX: usize = 1024;

/// The sub-messages decoded so far by `merge_shared`, by their fields' wire, for the next
/// layers to share. One per decoding thread, for as long as it decodes one net: it holds no
/// layer, only the sub-messages the layers hold too.
#[derive(Default)]
pub struct SharedSubs {
    /// By the hash of the field's bytes: the place of the bytes in `bytes` and the sub-message.
    /// A field whose hash another has is not kept (with a 64-bit seeded hash, next to never).
    seen: foldhash::HashMap<u64, (u32, u32, SubParam)>,
    /// The fields' bytes, one after the other.
    bytes: Vec<u8>,
}

impl SharedSubs {
    /// The sub-message of the field `whole`, whose hash is `hash`, if it is kept.
    fn get(&self, hash: u64, whole: &[u8]) -> Option<&SubParam> {
        let (start, end, sub) = self.seen.get(&hash)?;
        (self.bytes[*start as usize..*end as usize] == *whole).then_some(sub)
    }

    /// Keeps `sub`, decoded from the field `whole` (at most `SHARED_LEN` bytes).
    fn put(&mut self, hash: u64, whole: &[u8], sub: SubParam) {
        if self.seen.len() == SHARED_MAX {
            self.seen.clear();
            self.bytes.clear();
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = self.seen.entry(hash) {
            // At most SHARED_MAX fields of SHARED_LEN bytes: a u32 holds their places.
            let place = |at: usize| u32::try_from(at).expect("SharedSubs holds under 4 GiB");
            let start = place(self.bytes.len());
            self.bytes.extend_from_slice(whole);
            slot.insert((start, place(self.bytes.len()), sub));
        }
    }
}

/// The layer types the rules know (src/layers): a layer of one of them shares its type's name
/// instead of allocating it (100k layers, 100k small strings). Sorted by length, then bytes: the
/// order of their `type_key`s.
const LAYER_TYPES: &[&str] = &[
    "BN",
    "ELU",
    "Exp",
    "LRN",
    "Log",
    "MVN",
    "RNN",
    "SPP",
    "Axpy",
    "BNLL",
    "Bias",
    "Clip",
    "Crop",
    "Data",
    "LSTM",
    "Mish",
    "ReLU",
    "SeLu",
    "TanH",
    "Tile",
    "Embed",
    "Input",
    "PReLU",
    "Power",
    "ReLU6",
    "Scale",
    "Slice",
    "Split",
    "Swish",
    "AbsVal",
    "ArgMax",
    "Concat",
    "Filter",
    "Im2col",
    "Interp",
    "Python",
    "Dropout",
    "Eltwise",
    "Flatten",
    "Padding",
    "Permute",
    "Pooling",
    "Reshape",
    "Sigmoid",
    "Silence",
    "Softmax",
    "Accuracy",
    "HDF5Data",
    "LSTMUnit",
    "MatWrite",
    "PriorBox",
    "Proposal",
    "Upsample",
    "BatchNorm",
    "DummyData",
    "HingeLoss",
    "ImageData",
    "Normalize",
    "Parameter",
    "Reduction",
    "Threshold",
    "HDF5Output",
    "MemoryData",
    "ROIPooling",
    "WindowData",
    "Convolution",
    "SeLuDropout",
    "SegAccuracy",
    "BatchReindex",
    "ImageSegData",
    "InfogainLoss",
    "InnerProduct",
    "MultiBoxLoss",
    "PSROIPooling",
    "SmoothL1Loss",
    "AnnotatedData",
    "Deconvolution",
    "EuclideanLoss",
    "DenseImageData",
    "ShuffleChannel",
    "ContrastiveLoss",
    "DetectionOutput",
    "SoftmaxWithLoss",
    "DetectionEvaluate",
    "ConvolutionDepthwise",
    "DepthwiseConvolution",
    "MultinomialLogisticLoss",
    "SigmoidCrossEntropyLoss",
];

/// The type a `type` field holds when it is one of `LAYER_TYPES`, read past; `None`, with
/// `buf` untouched, when it is another (or not a well-formed string field, which prost then
/// reads or refuses).
fn known_type(wire_type: WireType, buf: &mut impl Buf) -> Option<&'static str> {
    if wire_type != WireType::LengthDelimited {
        return None;
    }
    let mut chunk = buf.chunk();
    let len = usize::try_from(encoding::decode_varint(&mut chunk).ok()?).ok()?;
    let known = known_type_name(chunk.get(..len)?)?;
    buf.advance(buf.chunk().len() - chunk.len() + len);
    Some(known)
}

/// The entry of `LAYER_TYPES` that is `name`, if any.
fn known_type_name(name: &[u8]) -> Option<&'static str> {
    if name.len() > LONGEST_TYPE {
        return None;
    }
    let at = TYPE_KEYS.binary_search(&type_key_of(name)).ok()?;
    let known = LAYER_TYPES[at];
    // A key holds the whole of a name of up to seven bytes.
    (name.len() <= 7 || known.as_bytes()[7..] == name[7..]).then_some(known)
}

/// `type_key` from a few words of the name rather than byte by byte, for names of at most
/// `LONGEST_TYPE` bytes.
#[inline]
fn type_key_of(name: &[u8]) -> u64 {
    let n = name.len();
    let len = (n as u64) << 56;
    if let Some(head) = name.first_chunk::<8>() {
        // The first seven bytes: the eighth is shifted out.
        len | u64::from_be_bytes(*head) >> 8
    } else if let (Some(first), Some(last)) = (name.first_chunk::<4>(), name.last_chunk::<4>()) {
        // Four to seven bytes, as two words that overlap (in the same bytes, at the same place).
        len | u64::from(u32::from_be_bytes(*first)) << 24
            | u64::from(u32::from_be_bytes(*last)) << (56 - 8 * n)
    } else {
        type_key(name)
    }
}

/// The length of the longest of `LAYER_TYPES`.
const LONGEST_TYPE: usize = 23;

/// A type name's length and first seven bytes as one number, in the order of `LAYER_TYPES`
/// (whose keys all differ): the search compares one number a step, where comparing the names
/// themselves walked the bytes of each of a length. For names of at most 255 bytes.
const fn type_key(name: &[u8]) -> u64 {
    let mut key = (name.len() as u64) << 56;
    let mut i = 0;
    while i < 7 && i < name.len() {
        key |= (name[i] as u64) << (48 - 8 * i);
        i += 1;
    }
    key
}

/// The `type_key`s of `LAYER_TYPES`, in order.
static TYPE_KEYS: [u64; LAYER_TYPES.len()] = {
    let mut keys = [0; LAYER_TYPES.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = type_key(LAYER_TYPES[i].as_bytes());
        i += 1;
    }
    keys
};

// Field numbers of the fields every layer may use.
const NAME: u32 = 1;
const TYPE: u32 = 2;
const BOTTOM: u32 = 3;
const TOP: u32 = 4;
const LOSS_WEIGHT: u32 = 5;
const PARAM: u32 = 6;
const BLOBS: u32 = 7;
const INCLUDE: u32 = 8;
const EXCLUDE: u32 = 9;
const PHASE: u32 = 10;
const PROPAGATE_DOWN: u32 = 11;

/// Reads a string field, as prost's `string::merge` does into a `String`: a name of up to 24
/// bytes is then kept inline, not in an allocation of its own (on the 100k-layer net, 300k
/// names, bottoms and tops).
fn read_str(
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<CompactString, DecodeError> {
    if wire_type == WireType::LengthDelimited {
        let mut chunk = buf.chunk();
        if let Some(len) = encoding::decode_varint(&mut chunk)
            .ok()
            .and_then(|len| usize::try_from(len).ok())
        {
            if let Some(Ok(text)) = chunk.get(..len).map(std::str::from_utf8) {
                let s = CompactString::from(text);
                buf.advance(buf.chunk().len() - chunk.len() + len);
                return Ok(s);
            }
        }
    }
    // Anything else (a string split across the buffer's chunks, or a broken one) is read by
    // prost itself, which also words the error.
    let mut s = String::new();
    encoding::string::merge(wire_type, &mut s, buf, ctx)?;
    Ok(s.into())
}

/// A string field, as prost's `string::encode` writes one.
fn write_str(tag: u32, s: &str, buf: &mut impl BufMut) {
    encoding::encode_key(tag, WireType::LengthDelimited, buf);
    encoding::encode_varint(s.len() as u64, buf);
    buf.put_slice(s.as_bytes());
}

/// The length `write_str` writes.
fn str_len(tag: u32, s: &str) -> usize {
    encoding::key_len(tag) + encoding::encoded_len_varint(s.len() as u64) + s.len()
}

/// Makes room for one more param spec: at a layer's first, exactly for it and those that
/// follow it in `rest` (the wire after its key), counted ahead; after that (param specs apart,
/// or a layer read from two wires merged), exactly up to four, then by doubling. A `Vec` grown
/// by a push starts at four elements, and most layers have one or three param specs (on the
/// 100k-layer net the spare room was 18 MiB); grown one at a time, a BatchNorm's three were
/// moved twice.
fn room_for_param(params: &mut Vec<ParamSpec>, rest: &[u8]) {
    if params.capacity() == 0 {
        *params = Vec::with_capacity(params_in_a_row(rest));
    } else if params.len() == params.capacity() {
        params.reserve_exact(if params.len() < 4 { 1 } else { params.len() });
    }
}

/// A `param` field's spec when it holds nothing but multipliers (`ParamSpec::from_mults`), and
/// its length from `rest` (the wire after its key), length byte included; `None` for any
/// other, left to prost.
fn mults_only(wire_type: WireType, rest: &[u8]) -> Option<(ParamSpec, usize)> {
    let (&len, body) = rest.split_first()?;
    if wire_type != WireType::LengthDelimited || len >= 0x80 {
        return None;
    }
    let body = body.get(..usize::from(len))?;
    Some((ParamSpec::from_mults(body)?, 1 + body.len()))
}

/// The number of `param` fields in a row from `rest` on, `rest` being a layer's wire after the
/// key of one (of fewer than 128 bytes, with one-byte lengths, as param specs are): that one
/// and those right after it.
fn params_in_a_row(rest: &[u8]) -> usize {
    const KEY: u8 = (PARAM << 3) as u8 | WireType::LengthDelimited as u8;
    let mut count = 1;
    let mut at = 0;
    while let Some(&len) = rest.get(at) {
        at += 1 + usize::from(len);
        if len >= 0x80 || rest.get(at) != Some(&KEY) {
            break;
        }
        count += 1;
        at += 1;
    }
    count
}

impl prost::Message for LayerParameter {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if let Some(v) = &self.name {
            write_str(NAME, v, buf);
        }
        if let Some(v) = &self.r#type {
            write_str(TYPE, v, buf);
        }
        for v in &self.bottom {
            write_str(BOTTOM, v, buf);
        }
        for v in &self.top {
            write_str(TOP, v, buf);
        }
        message::encode_repeated(PARAM, &self.param, buf);
        if let Some(r) = &self.rare {
            if let Some(v) = &r.phase {
                encoding::int32::encode(PHASE, v, buf);
            }
            // proto2 repeated scalars are not packed unless declared so.
            encoding::float::encode_repeated(LOSS_WEIGHT, &r.loss_weight, buf);
            message::encode_repeated(BLOBS, &r.blobs, buf);
            encoding::bool::encode_repeated(PROPAGATE_DOWN, &r.propagate_down, buf);
            message::encode_repeated(INCLUDE, &r.include, buf);
            message::encode_repeated(EXCLUDE, &r.exclude, buf);
        }
        for s in self.sub.as_slice() {
            s.encode(buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            NAME => {
                self.name = Some(read_str(wire_type, buf, ctx)?);
                Ok(())
            }
            TYPE => match known_type(wire_type, buf) {
                Some(known) => {
                    self.r#type = Some(Cow::Borrowed(known));
                    Ok(())
                }
                None => {
                    let ty = self.r#type.get_or_insert_with(|| Cow::Owned(String::new()));
                    encoding::string::merge(wire_type, ty.to_mut(), buf, ctx)
                }
            },
            BOTTOM => {
                let name = read_str(wire_type, buf, ctx.clone())?;
                self.bottom.push(name);
                Ok(())
            }
            TOP => {
                let name = read_str(wire_type, buf, ctx.clone())?;
                self.top.push(name);
                Ok(())
            }
            PARAM => {
                room_for_param(&mut self.param, buf.chunk());
                match mults_only(wire_type, buf.chunk()) {
                    Some((spec, len)) => {
                        self.param.push(spec);
                        buf.advance(len);
                        Ok(())
                    }
                    None => message::merge_repeated(wire_type, &mut self.param, buf, ctx),
                }
            }
            PHASE => {
                let phase = self.rare_mut().phase.get_or_insert(0);
                encoding::int32::merge(wire_type, phase, buf, ctx)
            }
            LOSS_WEIGHT => {
                let weights = &mut self.rare_mut().loss_weight;
                encoding::float::merge_repeated(wire_type, weights, buf, ctx)
            }
            BLOBS => message::merge_repeated(wire_type, &mut self.rare_mut().blobs, buf, ctx),
            PROPAGATE_DOWN => {
                let down = &mut self.rare_mut().propagate_down;
                encoding::bool::merge_repeated(wire_type, down, buf, ctx)
            }
            INCLUDE => message::merge_repeated(wire_type, &mut self.rare_mut().include, buf, ctx),
            EXCLUDE => message::merge_repeated(wire_type, &mut self.rare_mut().exclude, buf, ctx),
            _ => match self.sub_param_mut(tag) {
                Some(sub) => sub.merge(wire_type, buf, ctx),
                None => skip_field(wire_type, tag, buf, ctx),
            },
        }
    }

    fn encoded_len(&self) -> usize {
        self.name.as_ref().map_or(0, |v| str_len(NAME, v))
            + self.r#type.as_ref().map_or(0, |v| str_len(TYPE, v))
            + self
                .bottom
                .iter()
                .map(|v| str_len(BOTTOM, v))
                .sum::<usize>()
            + self.top.iter().map(|v| str_len(TOP, v)).sum::<usize>()
            + message::encoded_len_repeated(PARAM, &self.param)
            + self.rare.as_ref().map_or(0, |r| {
                r.phase
                    .as_ref()
                    .map_or(0, |v| encoding::int32::encoded_len(PHASE, v))
                    + encoding::float::encoded_len_repeated(LOSS_WEIGHT, &r.loss_weight)
                    + message::encoded_len_repeated(BLOBS, &r.blobs)
                    + encoding::bool::encoded_len_repeated(PROPAGATE_DOWN, &r.propagate_down)
                    + message::encoded_len_repeated(INCLUDE, &r.include)
                    + message::encoded_len_repeated(EXCLUDE, &r.exclude)
            })
            + self
                .sub
                .as_slice()
                .iter()
                .map(SubParam::encoded_len)
                .sum::<usize>()
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::textformat::{Kind, MESSAGES, MSG_LAYERPARAMETER};

    fn read(text: &str) -> (Vec<u8>, LayerParameter) {
        crate::proto::read_text(text, MSG_LAYERPARAMETER)
    }

    fn tags(l: &LayerParameter) -> Vec<u32> {
        l.sub.as_slice().iter().map(SubParam::tag).collect()
    }

    #[test]
    fn every_sub_message_field_is_its_own_entry() {
        // The reader's descriptor table and the generated enum both come from caffe.proto, by
        // different code: each of LayerParameter's singular message fields must land in an
        // entry of its own number and be written back under it. (The reader pads lengths, so
        // the wire is compared decoded.)
        let fields = MESSAGES[MSG_LAYERPARAMETER].fields;
        let subs: Vec<_> = fields
            .iter()
            .filter(|f| f.kind == Kind::Message && !f.repeated)
            .collect();
        assert!(subs.len() > 60, "{}", subs.len());
        for f in subs {
            let (_, layer) = read(&format!("{} {{ }}", f.name));
            assert_eq!(tags(&layer), [f.number], "{}", f.name);
            let written = layer.encode_to_vec();
            let (tag, _) = encoding::decode_key(&mut written.as_slice()).unwrap();
            assert_eq!(tag, f.number, "{}", f.name);
            assert_eq!(LayerParameter::decode(written.as_slice()).unwrap(), layer);
        }
    }

    #[test]
    fn blocks_merge_and_are_kept_in_field_order() {
        // The reader refuses a message field given twice in one text, but two wires joined
        // (as the two-part read joins them) may carry it twice.
        let (mut wire, _) = read(
            r#"name: "c" type: "Convolution" bottom: "a" top: "b"
               pooling_param { pool: AVE }
               convolution_param { num_output: 8 }
               loss_weight: 1 loss_weight: 0.5 include { phase: TEST }"#,
        );
        wire.extend(read("convolution_param { kernel_size: 3 }").0);
        let layer = LayerParameter::decode(wire.as_slice()).unwrap();
        // convolution_param is 106, pooling_param 121: sorted, whatever the file's order.
        assert_eq!(tags(&layer), [106, 121]);
        // A message field given twice is merged, as protobuf does.
        let conv = layer.convolution_param().unwrap();
        assert_eq!(
            (conv.num_output, &conv.kernel_size[..]),
            (Some(8), &[3][..])
        );
        assert_eq!(layer.pooling_param().unwrap().pool, Some(1));
        assert_eq!(layer.inner_product_param(), None);
        assert_eq!((layer.name(), layer.r#type()), ("c", "Convolution"));
        assert_eq!(
            (layer.bottom.concat(), layer.top.concat()),
            ("a".into(), "b".into())
        );
        assert_eq!(layer.loss_weight(), [1.0, 0.5]);
        assert_eq!(layer.include()[0].phase, Some(1));
        let again = LayerParameter::decode(layer.encode_to_vec().as_slice()).unwrap();
        assert_eq!(again, layer);
        assert_eq!(layer.encoded_len(), layer.encode_to_vec().len());
    }

    #[test]
    fn setters_keep_the_order() {
        let mut layer = LayerParameter::default();
        layer.set_pooling_param(Some(PoolingParameter::default()));
        layer.convolution_param_mut().num_output = Some(4);
        layer.set_transform_param(Some(TransformationParameter::default()));
        assert_eq!(tags(&layer), [100, 106, 121]);
        assert_eq!(layer.convolution_param().unwrap().num_output, Some(4));
        layer.set_convolution_param(None);
        assert_eq!(tags(&layer), [100, 121]);
        layer.set_pooling_param(None);
        assert_eq!(tags(&layer), [100]);
        layer.set_transform_param(None);
        assert_eq!(layer, LayerParameter::default());
        // One set and cleared, or set twice over: the same as never set, or set once.
        layer.set_pooling_param(Some(PoolingParameter::default()));
        layer.set_pooling_param(Some(PoolingParameter::default()));
        let (_, pooling) = read("pooling_param { }");
        assert_eq!(layer, pooling);
    }

    #[test]
    fn names_are_read_from_any_buffer_and_must_be_utf8() {
        let text = "name: \"conv1\" bottom: \"data\" top: \"a_top_name_longer_than_24_bytes\"";
        let (wire, layer) = read(text);
        assert_eq!(layer.name(), "conv1");
        assert_eq!(layer.bottom.as_slice(), ["data"]);
        assert_eq!(layer.top.as_slice(), ["a_top_name_longer_than_24_bytes"]);
        assert_eq!(layer.encode_to_vec(), wire);
        assert_eq!(layer.encoded_len(), wire.len());
        // A buffer in two chunks, cut inside each string in turn: prost's reader takes over.
        for cut in 0..wire.len() {
            let (a, b) = wire.split_at(cut);
            assert_eq!(
                LayerParameter::decode(a.chain(b)).unwrap(),
                layer,
                "cut at {cut}"
            );
        }
        // Not UTF-8: refused, as prost refuses it.
        let bad = [0x0a, 0x02, 0xc3, 0x28];
        let err = LayerParameter::decode(&bad[..]).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn type_keys_from_words_are_the_bytewise_ones() {
        let bytes: Vec<u8> = (0..=LONGEST_TYPE as u8)
            .map(|i| b'A' + i * 7 % 53)
            .collect();
        for n in 0..=LONGEST_TYPE {
            for name in [
                &bytes[..n],
                &[0xff; LONGEST_TYPE][..n],
                &[0; LONGEST_TYPE][..n],
            ] {
                assert_eq!(type_key_of(name), type_key(name), "{name:?}");
            }
        }
        for ty in LAYER_TYPES {
            assert_eq!(type_key_of(ty.as_bytes()), type_key(ty.as_bytes()), "{ty}");
        }
    }

    #[test]
    fn known_types_are_shared() {
        // Sorted, each key its own, the longest as said.
        assert!(TYPE_KEYS.windows(2).all(|w| w[0] < w[1]));
        let by_length = |t: &&'static str| (t.len(), t.as_bytes());
        assert!(LAYER_TYPES.is_sorted_by_key(by_length));
        assert_eq!(
            LAYER_TYPES.iter().map(|t| t.len()).max(),
            Some(LONGEST_TYPE)
        );
        for ty in LAYER_TYPES {
            assert_eq!(known_type_name(ty.as_bytes()), Some(*ty));
        }
        for ty in ["Convolution", "AbsVal", "Upsample", "ReLU6"] {
            let (wire, layer) = read(&format!("name: \"x\" type: {ty:?}"));
            assert!(matches!(layer.r#type, Some(Cow::Borrowed(_))), "{ty}");
            assert_eq!(layer.r#type(), ty);
            assert_eq!(layer.encode_to_vec(), wire);
        }
        // Others, and near misses, are read as they are.
        let near = [
            "Convolutiox",
            "BatchNorX",
            "SigmoidCrossEntropyLosses",
            // The same length and first seven bytes as a known type, or all but the last byte.
            "Poolinh",
            "ReLu",
            "ConvolutionDepthwisf",
            "MultinomialLogisticLosT",
        ];
        for ty in ["MyLayer", "Conv", "Convolution2", "", "Réseau"]
            .into_iter()
            .chain(near)
        {
            let (wire, layer) = read(&format!("type: {ty:?}"));
            assert!(matches!(layer.r#type, Some(Cow::Owned(_))), "{ty}");
            assert_eq!(layer.r#type(), ty);
            assert_eq!(layer.encode_to_vec(), wire);
            assert_eq!(layer.encoded_len(), wire.len());
        }
        // The last of two types wins, as protobuf has it, whichever kind each is.
        let (mut wire, _) = read("type: \"ReLU\"");
        wire.extend(read("type: \"Mine\"").0);
        wire.extend(read("type: \"TanH\"").0);
        assert_eq!(
            LayerParameter::decode(wire.as_slice()).unwrap().r#type(),
            "TanH"
        );
        wire.extend(read("type: \"Mine\"").0);
        assert_eq!(
            LayerParameter::decode(wire.as_slice()).unwrap().r#type(),
            "Mine"
        );
    }

    /// Layers decoded from `wires` in turn, sharing sub-messages through one `SharedSubs`.
    fn decode_shared(wires: &[&[u8]]) -> Vec<LayerParameter> {
        let mut shared = SharedSubs::default();
        let decode = |wire: &&[u8]| {
            let mut layer = LayerParameter::default();
            layer.merge_shared(wire, &mut shared).unwrap();
            layer
        };
        wires.iter().map(decode).collect()
    }

    fn conv(layer: &LayerParameter) -> &Arc<ConvolutionParameter> {
        match layer.sub_param(106) {
            Some(SubParam::ConvolutionParam(conv)) => conv,
            other => panic!("no convolution_param: {other:?}"),
        }
    }

    #[test]
    fn repeated_sub_messages_are_shared_until_changed() {
        let conv_text = |name: &str, n: u32| {
            read(&format!(
                "name: '{name}' type: 'Convolution' pooling_param {{ pool: AVE }} \
                 convolution_param {{ num_output: {n} kernel_size: 3 \
                 weight_filler {{ type: 'msra' }} }}"
            ))
            .0
        };
        let wires = [conv_text("a", 8), conv_text("b", 8), conv_text("c", 16)];
        let wires: Vec<&[u8]> = wires.iter().map(Vec::as_slice).collect();
        let mut l = decode_shared(&wires);
        // Each as prost's own reading has it.
        for (layer, wire) in l.iter().zip(&wires) {
            assert_eq!(*layer, LayerParameter::decode(*wire).unwrap());
        }
        assert!(Arc::ptr_eq(conv(&l[0]), conv(&l[1])));
        assert!(!Arc::ptr_eq(conv(&l[0]), conv(&l[2])));
        assert_eq!(conv(&l[2]).num_output, Some(16));
        // Every sub-message of a layer is shared, each with its own kind.
        let pooling = |l: &LayerParameter| match l.sub_param(121) {
            Some(SubParam::PoolingParam(p)) => Arc::clone(p),
            other => panic!("no pooling_param: {other:?}"),
        };
        assert!(Arc::ptr_eq(&pooling(&l[0]), &pooling(&l[2])));
        // A change to one layer's copy is that layer's alone.
        l[1].convolution_param_mut().num_output = Some(4);
        l[1].convolution_param_mut().weight_filler = None;
        assert_eq!(l[1].convolution_param().unwrap().num_output, Some(4));
        let first = l[0].convolution_param().unwrap();
        assert_eq!(first.num_output, Some(8));
        assert_eq!(first.weight_filler.as_ref().unwrap().r#type(), "msra");
        assert!(!Arc::ptr_eq(conv(&l[0]), conv(&l[1])));
        // Set anew, likewise.
        let mut d = l[0].clone();
        d.set_convolution_param(Some(ConvolutionParameter::default()));
        assert_eq!(d.convolution_param().unwrap().num_output, None);
        assert_eq!(conv(&l[0]).num_output, Some(8));
    }

    #[test]
    fn a_sub_message_given_twice_is_merged_not_shared() {
        let (once, _) = read("name: 'a' convolution_param { num_output: 8 }");
        let (kernel, _) = read("convolution_param { kernel_size: 3 }");
        let (pooling, _) = read("pooling_param { pool: AVE }");
        let twice = [once.as_slice(), &pooling, &kernel].concat();
        let doubled = [kernel.as_slice(), &kernel].concat();
        let l = decode_shared(&[&once, &twice, &once, &kernel, &doubled]);
        let read_as = |l: &LayerParameter| {
            let conv = l.convolution_param().unwrap();
            (conv.num_output, conv.kernel_size.clone())
        };
        // The second convolution_param is merged into the first, as protobuf does, though
        // the first was one the table held.
        assert_eq!(l[1], LayerParameter::decode(twice.as_slice()).unwrap());
        assert_eq!(read_as(&l[1]), (Some(8), vec![3]));
        // Into a copy: the layers before and after keep the one read once, shared.
        assert_eq!(read_as(&l[0]), (Some(8), vec![]));
        assert!(Arc::ptr_eq(conv(&l[0]), conv(&l[2])));
        // What the table keeps for a field is that field alone, not what it was merged into.
        assert_eq!(read_as(&l[3]), (None, vec![3]));
        // The same field twice: merged with itself, a repeated field's values twice over.
        assert_eq!(l[4], LayerParameter::decode(doubled.as_slice()).unwrap());
        assert_eq!(read_as(&l[4]), (None, vec![3, 3]));
        assert_eq!(read_as(&l[3]), (None, vec![3]));
    }

    #[test]
    fn long_or_many_sub_messages_are_not_kept() {
        // 150 kernel sizes: a field of 304 bytes, longer than SHARED_LEN.
        let sizes = "kernel_size: 1 ".repeat(150);
        let (long, _) = read(&format!("convolution_param {{ {sizes} }}"));
        let layers = decode_shared(&[&long, &long]);
        assert_eq!(layers[0], layers[1]);
        assert_eq!(
            layers[0].convolution_param().unwrap().kernel_size.len(),
            150
        );
        assert!(!Arc::ptr_eq(conv(&layers[0]), conv(&layers[1])));
        // After SHARED_MAX different ones the table starts again: it then holds one.
        let mut shared = SharedSubs::default();
        let mut first = None;
        for n in 0..=SHARED_MAX {
            let (wire, _) = read(&format!("convolution_param {{ num_output: {n} }}"));
            let mut layer = LayerParameter::default();
            layer.merge_shared(&wire, &mut shared).unwrap();
            first.get_or_insert((wire, layer));
        }
        assert_eq!(shared.seen.len(), 1);
        // `convolution_param { num_output: 1024 }`: key 0xd2 0x06, length 3, field 1 a varint.
        assert_eq!(shared.bytes, [0xd2, 0x06, 3, 0x08, 0x80, 0x08]);
        let (wire, layer) = first.unwrap();
        let mut again = LayerParameter::default();
        again.merge_shared(&wire, &mut shared).unwrap();
        assert_eq!(again, layer);
        assert!(!Arc::ptr_eq(conv(&again), conv(&layer)));
    }

    #[test]
    fn leading_strings_and_param_specs_are_read_as_prost_reads_them() {
        let long = "n".repeat(200);
        let texts = [
            "name: 'a' type: 'ReLU' bottom: 'x' top: 'x'".to_string(),
            // Not the usual order, more than one of each, an unknown type.
            "top: 't1' top: 't2' bottom: 'b' name: 'a' type: 'Mine' param { lr_mult: 1 } \
             bottom: 'b2'"
                .to_string(),
            // A name of over 127 bytes (a two-byte length) ends the run; non-ASCII UTF-8.
            format!("name: 'é' type: 'TanH' top: '{long}' bottom: 'after'"),
            format!("name: '{long}' type: 'ReLU'"),
            // Param specs: in a row, apart, and with a long one.
            "name: 'bn' param { lr_mult: 0 } param { lr_mult: 0 } param { lr_mult: 0 } \
             batch_norm_param { eps: 1e-5 }"
                .to_string(),
            "param { lr_mult: 1 } name: 'c' param { decay_mult: 2 } param { lr_mult: 3 } \
             param { lr_mult: 4 } param { lr_mult: 5 } param { lr_mult: 6 }"
                .to_string(),
            format!("param {{ name: '{long}' }} param {{ lr_mult: 2 }}"),
            String::new(),
        ];
        let mut wires: Vec<Vec<u8>> = texts.iter().map(|t| read(t).0).collect();
        // Two wires joined: a name and a type given twice in the run, and once more after it,
        // each overriding the one before.
        let again = read("name: 'b' type: 'Scale' top: 't3'").0;
        let late = read("param { lr_mult: 1 } name: 'late' type: 'Other'").0;
        wires.push([wires[1].as_slice(), &again].concat());
        wires.push([again.as_slice(), &again, &late].concat());
        for wire in &wires {
            let read_by_prost = LayerParameter::decode(wire.as_slice()).unwrap();
            assert_eq!(decode_shared(&[wire]), [read_by_prost], "{wire:?}");
        }
        let layer = &decode_shared(&[&wires[8]])[0];
        assert_eq!((layer.name(), layer.r#type()), ("b", "Scale"));
        assert_eq!(layer.bottom.as_slice(), ["b", "b2"]);
        assert_eq!(layer.top.as_slice(), ["t1", "t2", "t3"]);
        let layer = &decode_shared(&[&wires[9]])[0];
        assert_eq!((layer.name(), layer.r#type()), ("late", "Other"));
        let layer = &decode_shared(&[&wires[4]])[0];
        assert!(layer.r#type.is_none());
        assert_eq!((layer.param.len(), layer.param.capacity()), (3, 3));
        assert_eq!(decode_shared(&[&wires[5]])[0].param.len(), 6);
        // Not UTF-8, first in the run or after a valid string: refused with prost's error.
        for wire in [
            &[0x0a, 0x02, 0xc3, 0x28][..],
            &[0x0a, 1, b'a', 0x22, 1, 0xff],
        ] {
            let mut layer = LayerParameter::default();
            let got = layer.merge_shared(wire, &mut SharedSubs::default());
            let want = LayerParameter::decode(wire).unwrap_err();
            assert_eq!(got.unwrap_err().to_string(), want.to_string(), "{wire:?}");
        }
        // Cut anywhere, inside the run or not: the same layer, or the same error.
        let (wire, _) = read("name: 'abc' top: 'def'");
        for cut in 0..wire.len() {
            let mut layer = LayerParameter::default();
            let got = layer.merge_shared(&wire[..cut], &mut SharedSubs::default());
            let want = LayerParameter::decode(&wire[..cut]);
            let got = got.map(|()| layer).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(|e| e.to_string()), "{cut}");
        }
    }

    #[test]
    fn broken_sub_message_fields_are_refused_as_prost_refuses_them() {
        // convolution_param's key is 0xd2 0x06.
        let huge = [
            0xd2, 0x06, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        let cut = [0xd2, 0x06, 5, 0x08, 1];
        let no_length = [0xd2, 0x06, 0x80];
        let bad_inside = [0xd2, 0x06, 2, 0x08, 0x80];
        for wire in [&huge[..], &cut, &no_length, &bad_inside] {
            let mut shared = SharedSubs::default();
            let mut layer = LayerParameter::default();
            let got = layer.merge_shared(wire, &mut shared).unwrap_err();
            let want = LayerParameter::decode(wire).unwrap_err();
            assert_eq!(got.to_string(), want.to_string(), "{wire:?}");
            assert!(shared.seen.is_empty(), "{wire:?}");
        }
    }

    #[test]
    fn shared_sub_messages_are_the_same_at_once() {
        // A NaN equals nothing, itself included: compared field by field, these two differ.
        let (nan, _) = read("scale_param { filler { type: 'constant' value: nan } }");
        let (one, _) = read("scale_param { filler { type: 'constant' value: 1 } }");
        let shared = decode_shared(&[&nan, &nan, &one]);
        let apart = LayerParameter::decode(nan.as_slice()).unwrap();
        assert_ne!(shared[0], shared[1]);
        assert!(shared[0].sub.same(&shared[1].sub));
        assert!(!shared[0].sub.same(&apart.sub));
        assert!(!shared[0].sub.same(&shared[2].sub));
        // Not shared, equal ones are the same too; other lists are not.
        let one_apart = LayerParameter::decode(one.as_slice()).unwrap();
        assert!(shared[2].sub.same(&one_apart.sub));
        assert!(!shared[2].sub.same(&LayerParameter::default().sub));
    }

    #[test]
    fn a_layer_keeps_one_bottom_and_one_top_inline() {
        assert_eq!(std::mem::size_of::<LayerParameter>(), 160);
        assert_eq!(std::mem::size_of::<Names>(), 32);
        assert_eq!(std::mem::size_of::<SubParams>(), 16);
    }
}

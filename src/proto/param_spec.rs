//! Caffe's `ParamSpec` (a layer's `param { lr_mult: 1 decay_mult: 1 }`), read and written in
//! the same wire format as prost's would be, in 24 bytes instead of prost's 48: a convolution
//! has one or two of them and a BatchNorm layer three, while the name and share mode that take
//! most of prost's struct are seldom set.

use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, skip_field, DecodeContext, WireType};
use prost::DecodeError;

/// One parameter blob's settings. The learning-rate and decay multipliers are fields; the name
/// and share mode are read and set through `name()`, `share_mode()` and `new`.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct ParamSpec {
    pub lr_mult: Option<f32>,
    pub decay_mult: Option<f32>,
    /// Boxed, one pointer for the specs that set neither; never an empty box, so that equal
    /// specs compare equal.
    sharing: Option<Box<Sharing>>,
}

#[derive(Clone, PartialEq, Debug, Default)]
struct Sharing {
    name: Option<String>,
    /// A `DimCheckMode`, or whatever number the wire held.
    share_mode: Option<i32>,
}

/// How shared blobs' shapes must agree (`ParamSpec::share_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DimCheckMode {
    Strict = 0,
    Permissive = 1,
}

// Field numbers (caffe.proto).
const NAME: u32 = 1;
const SHARE_MODE: u32 = 2;
const LR_MULT: u32 = 3;
const DECAY_MULT: u32 = 4;

impl ParamSpec {
    pub fn new(
        name: Option<String>,
        share_mode: Option<i32>,
        lr_mult: Option<f32>,
        decay_mult: Option<f32>,
    ) -> Self {
        let sharing = (name.is_some() || share_mode.is_some())
            .then(|| Box::new(Sharing { name, share_mode }));
        ParamSpec {
            lr_mult,
            decay_mult,
            sharing,
        }
    }

    /// The name, or "" when unset (as prost's getter).
    pub fn name(&self) -> &str {
        self.sharing
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or_default()
    }

    /// The share mode: `Strict` when unset or not a known value (as prost's getter).
    pub fn share_mode(&self) -> DimCheckMode {
        self.sharing
            .as_ref()
            .and_then(|s| s.share_mode)
            .and_then(|m| DimCheckMode::try_from(m).ok())
            .unwrap_or(DimCheckMode::Strict)
    }

    /// The learning-rate multiplier, 1 when unset.
    pub fn lr_mult(&self) -> f32 {
        self.lr_mult.unwrap_or(1.0)
    }

    /// The weight-decay multiplier, 1 when unset.
    pub fn decay_mult(&self) -> f32 {
        self.decay_mult.unwrap_or(1.0)
    }

    /// The spec whose wire `body` holds nothing but multipliers (`lr_mult`, `decay_mult`, each a
    /// one-byte key and a four-byte float, as nearly every layer's param specs are), read as
    /// prost reads it (a multiplier given twice: the last) without its general field loop, which
    /// was most of a layer's decoding after its names. `None` for any other body, left to prost.
    pub(crate) fn from_mults(body: &[u8]) -> Option<ParamSpec> {
        const fn key(tag: u32) -> u8 {
            (tag << 3) as u8 | WireType::ThirtyTwoBit as u8
        }
        let mut spec = ParamSpec::default();
        let mut rest = body;
        while let [k, a, b, c, d, more @ ..] = rest {
            let value = Some(f32::from_le_bytes([*a, *b, *c, *d]));
            match *k {
                k if k == key(LR_MULT) => spec.lr_mult = value,
                k if k == key(DECAY_MULT) => spec.decay_mult = value,
                _ => return None,
            }
            rest = more;
        }
        rest.is_empty().then_some(spec)
    }

    fn sharing_mut(&mut self) -> &mut Sharing {
        self.sharing.get_or_insert_with(Box::default)
    }
}

impl prost::Message for ParamSpec {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if let Some(s) = &self.sharing {
            if let Some(v) = &s.name {
                encoding::string::encode(NAME, v, buf);
            }
            if let Some(v) = &s.share_mode {
                encoding::int32::encode(SHARE_MODE, v, buf);
            }
        }
        if let Some(v) = &self.lr_mult {
            encoding::float::encode(LR_MULT, v, buf);
        }
        if let Some(v) = &self.decay_mult {
            encoding::float::encode(DECAY_MULT, v, buf);
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
                let name = self.sharing_mut().name.get_or_insert_with(String::new);
                encoding::string::merge(wire_type, name, buf, ctx)
            }
            SHARE_MODE => {
                let mode = self.sharing_mut().share_mode.get_or_insert(0);
                encoding::int32::merge(wire_type, mode, buf, ctx)
            }
            LR_MULT => {
                let lr = self.lr_mult.get_or_insert(0.0);
                encoding::float::merge(wire_type, lr, buf, ctx)
            }
            DECAY_MULT => {
                let decay = self.decay_mult.get_or_insert(0.0);
                encoding::float::merge(wire_type, decay, buf, ctx)
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.sharing.as_ref().map_or(0, |s| {
            s.name
                .as_ref()
                .map_or(0, |v| encoding::string::encoded_len(NAME, v))
                + s.share_mode
                    .as_ref()
                    .map_or(0, |v| encoding::int32::encoded_len(SHARE_MODE, v))
        }) + self
            .lr_mult
            .as_ref()
            .map_or(0, |v| encoding::float::encoded_len(LR_MULT, v))
            + self
                .decay_mult
                .as_ref()
                .map_or(0, |v| encoding::float::encoded_len(DECAY_MULT, v))
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::textformat::MSG_PARAMSPEC;

    fn read(text: &str) -> (Vec<u8>, ParamSpec) {
        crate::proto::read_text(text, MSG_PARAMSPEC)
    }

    #[test]
    fn fields_read_and_write_back() {
        let (_, unset) = read("");
        assert_eq!(unset, ParamSpec::default());
        assert_eq!(
            (unset.name(), unset.lr_mult(), unset.decay_mult()),
            ("", 1.0, 1.0)
        );
        assert_eq!(unset.share_mode(), DimCheckMode::Strict);
        assert!(unset.encode_to_vec().is_empty());

        let (_, mults) = read("lr_mult: 2 decay_mult: 0");
        assert_eq!(mults, ParamSpec::new(None, None, Some(2.0), Some(0.0)));
        assert_eq!(mults.sharing, None);

        let (_, all) = read(r#"decay_mult: 0.5 share_mode: PERMISSIVE name: "w" lr_mult: 3"#);
        assert_eq!(
            all,
            ParamSpec::new(Some("w".into()), Some(1), Some(3.0), Some(0.5))
        );
        assert_eq!(
            (all.name(), all.share_mode()),
            ("w", DimCheckMode::Permissive)
        );
        // Multipliers alone are read without prost's loop, the same.
        for text in [
            "",
            "lr_mult: 2 decay_mult: 0",
            "decay_mult: 0.5",
            "lr_mult: 1e-3",
        ] {
            let (wire, spec) = read(text);
            assert_eq!(ParamSpec::from_mults(&wire), Some(spec), "{text}");
        }
        let twice = [read("lr_mult: 2").0, read("lr_mult: 3").0].concat();
        let last = ParamSpec::decode(twice.as_slice()).unwrap();
        assert_eq!(last.lr_mult, Some(3.0));
        assert_eq!(ParamSpec::from_mults(&twice), Some(last));
        for other in [&all.encode_to_vec(), &read("lr_mult: 1").0[..4]] {
            assert_eq!(ParamSpec::from_mults(other), None);
        }
        for spec in [unset, mults, all] {
            let written = spec.encode_to_vec();
            assert_eq!(spec.encoded_len(), written.len());
            assert_eq!(ParamSpec::decode(written.as_slice()).unwrap(), spec);
        }
    }

    #[test]
    fn wire_is_prosts() {
        // Field by field in number order, as prost writes a message; a repeated field merges
        // (the last value wins), an unknown one is skipped and an unknown share mode is kept
        // but read as STRICT.
        let mut wire = Vec::new();
        encoding::string::encode(NAME, &"a".to_string(), &mut wire);
        encoding::int32::encode(SHARE_MODE, &7, &mut wire);
        encoding::float::encode(LR_MULT, &0.25, &mut wire);
        encoding::float::encode(DECAY_MULT, &4.0, &mut wire);
        let spec = ParamSpec::decode(wire.as_slice()).unwrap();
        assert_eq!(
            spec,
            ParamSpec::new(Some("a".into()), Some(7), Some(0.25), Some(4.0))
        );
        assert_eq!(spec.share_mode(), DimCheckMode::Strict);
        assert_eq!(spec.encode_to_vec(), wire);
        let mut more = wire.clone();
        encoding::float::encode(LR_MULT, &8.0, &mut more);
        encoding::uint32::encode(9, &1, &mut more);
        let merged = ParamSpec::decode(more.as_slice()).unwrap();
        assert_eq!(merged.lr_mult, Some(8.0));
        assert_eq!(merged.name(), "a");
    }

    #[test]
    fn a_spec_is_24_bytes() {
        assert_eq!(std::mem::size_of::<ParamSpec>(), 24);
    }
}

//! The types generated from `proto/caffe.proto`, and our own `LayerParameter` and `ParamSpec`.

mod layer;
pub mod param_spec;

pub use generated::*;
pub use layer::{LayerParameter, Rare, SharedSubs, SubParam, SubParams};
pub use param_spec::ParamSpec;

/// prost's code, as generated: not ours to lint.
mod generated {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/caffe.rs"));
}

/// A message read from protobuf text: its wire form, and that wire decoded.
#[cfg(test)]
pub(crate) fn read_text<M: prost::Message + Default>(text: &str, root: usize) -> (Vec<u8>, M) {
    let wire = crate::textformat::parse(text.as_bytes(), root)
        .unwrap()
        .wire;
    let message = M::decode(wire.as_slice()).unwrap();
    (wire, message)
}

//! The types generated from `proto/caffe.proto`, and our own `LayerParameter` and `ParamSpec`.

mod layer;
pub mod param_spec;

pub use generated::*;
pub use layer::{LayerParameter, Rare, SubParam, SubParams};
pub use param_spec::ParamSpec;

/// prost's code, as generated: not ours to lint.
mod generated {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/caffe.rs"));
}

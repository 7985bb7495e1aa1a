//! The types generated from `proto/caffe.proto`, and our own `LayerParameter`.

#![allow(clippy::all, missing_docs)]

mod layer;

pub use layer::{LayerParameter, Rare, SubParam, SubParams};

include!(concat!(env!("OUT_DIR"), "/caffe.rs"));

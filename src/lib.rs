//! caffe-mem: what a Caffe net costs (shapes, parameters, compute and memory), read from its
//! prototxt before any GPU is touched.
//!
//! The stages, each a module: `textformat` reads protobuf text against the schema compiled from
//! `proto/caffe.proto`; `load` turns a file (net or solver) into Caffe's `NetParameter`;
//! `upgrade` brings V0/V1 files to today's format; `filter` applies phase/stage/level rules;
//! `graph` builds the layer list as Caffe does (Split layers, in-place blobs, need_backward);
//! `layers` holds one shape rule per layer type.

pub mod error;
pub mod layers;
pub mod load;
pub mod textformat;

/// The types generated from `proto/caffe.proto`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/caffe.rs"));
}

pub use error::{Error, Result};

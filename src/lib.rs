//! caffe-mem: what a Caffe net costs (shapes, parameters, compute and memory), read from its
//! prototxt before any GPU is touched.
//!
//! `proto` holds caffe.proto's messages (prost's types, and our own compact `LayerParameter`
//! and `ParamSpec`).
//! The stages, each a module: `textformat` reads protobuf text against the schema compiled from
//! `proto/caffe.proto`; `load` turns a file (net or solver) into Caffe's `NetParameter`;
//! `upgrade` brings V0/V1 files to today's format; `filter` applies phase/stage/level rules;
//! `graph` inserts Caffe's Split layers; `analysis` walks the net as `Net::Init` does, with one
//! shape rule per layer type from `layers`; `report` is the JSON schema, which `json` writes
//! compactly; `pipeline` runs them.

pub mod analysis;
pub mod cli;
pub mod error;
pub mod filter;
pub mod format;
pub mod graph;
pub mod json;
pub mod layers;
pub mod load;
pub mod memory;
#[cfg(test)]
mod net_files;
pub mod numbering;
pub mod pipeline;
pub mod proto;
pub mod rebatch;
pub mod report;
pub mod textformat;
pub mod upgrade;

pub use error::{Error, Result};

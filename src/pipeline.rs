//! The whole analysis, from a path to a report: read, upgrade, filter, insert splits, walk.

use std::collections::HashMap;

use crate::analysis::{self, Analysis, WalkOptions};
use crate::error::Result;
use crate::filter::{self, State};
use crate::layers::{Ctx, Phase, PoolingRule, Shape};
use crate::load::{self, ReadOptions, Warning};
use crate::report::{self, NetInfo, Report, Settings, Tool, SCHEMA_VERSION};
use crate::upgrade;

/// Everything the command line can set for one analysis.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub path: String,
    /// `None`: TEST, or TRAIN when a solver file was given.
    pub phase: Option<Phase>,
    pub stages: Vec<String>,
    pub level: i32,
    pub given: HashMap<String, Shape>,
    pub batch: Option<i64>,
    pub strict: bool,
    pub pooling: PoolingRule,
}

/// The net after reading and walking, with what the report needs to describe it.
pub struct Analyzed {
    pub analysis: Analysis,
    pub net: NetInfo,
    pub warnings: Vec<Warning>,
}

pub fn analyze(opts: &Options) -> Result<Analyzed> {
    let mut warnings = Vec::new();
    let loaded = load::load(&opts.path, read_options(opts), &mut warnings)?;
    analyze_loaded(opts, loaded, warnings)
}

/// Like `analyze`, for text already in memory (`opts.path` is ignored; `file` names the text
/// in messages, as `load::load_bytes`).
pub fn analyze_bytes(opts: &Options, file: String, bytes: &[u8]) -> Result<Analyzed> {
    let mut warnings = Vec::new();
    let loaded = load::load_bytes(file, bytes, read_options(opts), &mut warnings)?;
    analyze_loaded(opts, loaded, warnings)
}

fn read_options(opts: &Options) -> ReadOptions {
    ReadOptions {
        strict: opts.strict,
    }
}

fn analyze_loaded(
    opts: &Options,
    loaded: load::NetFile,
    mut warnings: Vec<Warning>,
) -> Result<Analyzed> {
    let mut net = loaded.net;
    let (format, positions) = upgrade::upgrade(&loaded.file, &mut net, &loaded.root_fields)?;
    let phase = opts.phase.unwrap_or(if loaded.solver.is_some() {
        Phase::Train
    } else {
        Phase::Test
    });
    // Caffe keeps the stages the file's own `state` names and adds the caller's; the level
    // is the caller's (pycaffe and the caffe tool always set it).
    let mut stages: Vec<String> = net
        .state
        .as_ref()
        .map(|s| s.stage.clone())
        .unwrap_or_default();
    stages.extend(opts.stages.iter().cloned());
    let state = State {
        phase,
        stages,
        level: opts.level,
    };
    let layers = std::mem::take(&mut net.layer);
    let (layers, positions) = filter::filter(&loaded.file, layers, positions, &state)?;
    let nodes = crate::graph::insert_splits(&loaded.file, layers, positions)?;
    let walk = WalkOptions {
        ctx: Ctx {
            phase,
            given: &opts.given,
            pooling: opts.pooling,
        },
        batch: opts.batch,
        strict: opts.strict,
        force_backward: net.force_backward(),
    };
    let analysis = analysis::walk(&loaded.file, nodes, &walk, &mut warnings)?;
    Ok(Analyzed {
        analysis,
        net: NetInfo {
            name: net.name().to_string(),
            file: loaded.file,
            solver: loaded.solver.map(|s| s.file),
            format,
            state,
        },
        warnings,
    })
}

/// The JSON report of an analysis.
pub fn report(a: Analyzed) -> Report {
    let elem_bytes = 4;
    let (inputs, layers, blobs, totals) = report::describe(&a.analysis, elem_bytes);
    let batch = inputs.first().and_then(|i| i.shape.first().copied());
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        net: a.net,
        settings: Settings {
            batch,
            activation_elem_bytes: elem_bytes,
        },
        inputs,
        layers,
        blobs,
        totals,
        warnings: a.warnings,
    }
}

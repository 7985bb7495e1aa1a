//! The whole analysis, from a path to a report: read, upgrade, filter, insert splits, walk.

use std::collections::HashMap;
use std::rc::Rc;

use crate::analysis::{self, Analysis, WalkOptions};
use crate::error::Result;
use crate::filter::{self, State};
use crate::graph::Node;
use crate::layers::{Ctx, Phase, PoolingRule, Shape};
use crate::load::{self, ReadOptions, Warning};
use crate::memory;
use crate::proto::{LayerParameter, NetParameter, SolverParameter};
use crate::report::{self, NetInfo, Report, Settings, Tool, SCHEMA_VERSION};
use crate::textformat::Pos;
use crate::upgrade;

/// A net's layers, shared by the nets built from them (a solver's train and test nets).
type Layers = Vec<Rc<LayerParameter>>;

/// A solver's test net before it is filtered and built: the file it is read from (for
/// messages), the net, its layers and their positions.
type TestSource = (String, NetParameter, Layers, Vec<Pos>);

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
    /// `--dtype`, `--optimizer`, `--iter-size`, `--device`, `--engine`, `--gpu-mem`, `--reserve`.
    pub memory: memory::Flags,
}

/// The net after reading and walking, with what the report needs to describe it.
pub struct Analyzed {
    pub analysis: Analysis,
    pub net: NetInfo,
    pub warnings: Vec<Warning>,
    pub memory: memory::Output,
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
    let upgraded = upgrade::upgrade(&loaded.file, &mut net, loaded.layers, &loaded.root_fields)?;
    // The positions are the layers' now: freed before the walks, not held through them.
    drop(loaded.root_fields);
    let (format, layers, positions) = (upgraded.format, upgraded.layers, upgraded.positions);
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
    // A solver's test nets (one per test_iter) may be this file again, in phase TEST.
    let tests = loaded
        .solver
        .as_ref()
        .is_some_and(|s| !s.solver.test_iter.is_empty());
    // The layers are shared, not copied: a test net filters and rewires its own list.
    let generic =
        (phase == Phase::Train && tests).then(|| (net.clone(), layers.clone(), positions.clone()));
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
        tally_only: false,
    };
    let solver = loaded.solver.as_ref();
    let solver_param = solver.map(|s| &s.solver);
    let file = loaded.file.as_str();
    // Memory: the same net one sample larger gives the per-sample part of every figure (a net
    // that cannot be rebuilt at another batch counts as fixed). It is built and replayed first,
    // and dropped before the net at its own batch is built, so that a large net is not held
    // twice: its batch comes from `--batch`, or from the layers up to the first input.
    let tally = |a: &Analysis| memory::tally(file, a, phase, &opts.memory, solver_param);
    let build_next = |batch: u64| -> Result<Option<memory::Tallies>> {
        let Some(batch) = batch.checked_add(1).and_then(|b| i64::try_from(b).ok()) else {
            return Ok(None);
        };
        let walk = WalkOptions {
            batch: Some(batch),
            tally_only: true,
            ..walk
        };
        match analysis::walk(file, &nodes, &walk, &mut Vec::new()) {
            Ok(next) => tally(&next).map(Some),
            Err(_) => Ok(None),
        }
    };
    let guess = predicted_batch(file, &nodes, &walk);
    // Its errors wait: the net at its own batch is refused first, as Caffe would.
    let early = guess.map(build_next);
    let analysis = analysis::walk(file, &nodes, &walk, &mut warnings)?;
    let here = tally(&analysis)?;
    let next = match (early, memory::batch_of(&analysis)) {
        (Some(next), Some(b)) if guess == Some(b) => next?,
        // The prefix walks exactly as the whole walk does, so the guess holds; should it ever
        // miss, the net at the real batch + 1 is built now.
        (_, Some(b)) => build_next(b)?,
        (_, None) => None,
    };
    let (test_nets, test_errors) = match (solver, generic) {
        (Some(s), Some(g)) => test_nets(opts, &s.file, &s.solver, g),
        _ => (Vec::new(), Vec::new()),
    };
    let memory = memory::compute(
        &memory::Input {
            file,
            phase,
            net: &analysis,
            here: &here,
            next: next.as_ref(),
            test_nets: &test_nets,
            test_net_errors: &test_errors,
            solver: solver_param,
        },
        &opts.memory,
    )?;
    Ok(Analyzed {
        memory,
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

/// The batch `memory::batch_of` will find, from a walk of the layers up to the first one that
/// makes a net input: the whole walk does the same there. `None` when that prefix does not
/// build (the whole walk then reports why).
fn predicted_batch(file: &str, nodes: &[Node], walk: &WalkOptions) -> Option<u64> {
    let first_input = nodes
        .iter()
        .position(|n| n.lp.bottom.is_empty() && !n.lp.top.is_empty())?;
    let a = analysis::walk(file, &nodes[..=first_input], walk, &mut Vec::new()).ok()?;
    memory::batch_of(&a)
}

/// A solver's test nets, as solver.cpp InitTestNets makes them: each `test_net_param`, each
/// `test_net` file, then the solver's own net once per remaining `test_iter`, built in phase
/// TEST with its `test_state`, at its own batch. A test net that cannot be built is left out
/// with the reason (the train net is what was asked for).
fn test_nets(
    opts: &Options,
    solver_file: &str,
    solver: &SolverParameter,
    generic: (NetParameter, Layers, Vec<Pos>),
) -> (Vec<Analysis>, Vec<String>) {
    let mut sources: Vec<Result<TestSource>> = Vec::new();
    for inline in &solver.test_net_param {
        let mut net = inline.clone();
        sources.push(
            upgrade::upgrade(solver_file, &mut net, Vec::new(), &[])
                .map(|u| (solver_file.to_string(), net, u.layers, u.positions)),
        );
    }
    for target in &solver.test_net {
        sources.push(test_net_file(solver_file, target));
    }
    let generic_count = solver.test_iter.len().saturating_sub(sources.len());
    if solver.net.is_some() || solver.net_param.is_some() {
        for _ in 0..generic_count {
            let (net, layers, pos) = generic.clone();
            sources.push(Ok((solver_file.to_string(), net, layers, pos)));
        }
    }
    let (mut nets, mut errors) = (Vec::new(), Vec::new());
    for (i, source) in sources.into_iter().enumerate() {
        let built = source.and_then(|(file, mut net, layers, positions)| {
            let test_state = solver.test_state.get(i);
            let own = net.state.take().unwrap_or_default();
            let mut stages = own.stage;
            stages.extend(test_state.map(|s| s.stage.clone()).unwrap_or_default());
            let state = State {
                phase: Phase::Test,
                stages,
                level: test_state.and_then(|s| s.level).or(own.level).unwrap_or(0),
            };
            let (layers, positions) = filter::filter(&file, layers, positions, &state)?;
            let given = memory::test_net_given(&opts.given, &layers);
            let nodes = crate::graph::insert_splits(&file, layers, positions)?;
            let walk = WalkOptions {
                ctx: Ctx {
                    phase: Phase::Test,
                    given: &given,
                    pooling: opts.pooling,
                },
                batch: None,
                strict: false,
                force_backward: net.force_backward(),
                tally_only: false,
            };
            analysis::walk(&file, &nodes, &walk, &mut Vec::new())
        });
        match built {
            Ok(a) => nets.push(a),
            Err(e) => errors.push(format!("test net #{i} is not counted: {e}")),
        }
    }
    (nets, errors)
}

/// A `test_net` file named in a solver, read and upgraded.
fn test_net_file(solver_file: &str, target: &str) -> Result<TestSource> {
    let path = load::resolve_relative(solver_file, target).ok_or_else(|| {
        crate::error::Error::usage(format!("{solver_file}: test_net '{target}' was not found"))
    })?;
    let loaded = load::load(
        &path.to_string_lossy(),
        ReadOptions::default(),
        &mut Vec::new(),
    )?;
    let mut net = loaded.net;
    let u = upgrade::upgrade(&loaded.file, &mut net, loaded.layers, &loaded.root_fields)?;
    Ok((loaded.file, net, u.layers, u.positions))
}

/// The JSON report of an analysis.
pub fn report(a: Analyzed) -> Report {
    let elem_bytes = a.memory.settings.dtype.activation_bytes();
    let (inputs, layers, blobs, totals) = report::describe(a.analysis, elem_bytes);
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
            memory: a.memory.settings,
        },
        inputs,
        layers,
        blobs,
        totals,
        memory: a.memory.memory,
        fit: a.memory.fit,
        suggestions: a.memory.suggestions,
        warnings: a.warnings,
    }
}

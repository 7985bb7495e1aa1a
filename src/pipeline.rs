//! The whole analysis, from a path to a report: read, upgrade, filter, insert splits, walk
//! (`walk`, `Walked`), then the memory figures (`Walked::memory`), which the compact JSON
//! computes beside writing the walk's layers on a large net (`Walked::write_compact`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::analysis::{self, Analysis, NetView, WalkOptions};
use crate::error::Result;
use crate::filter::{self, State};
use crate::graph::Node;
use crate::layers::{Ctx, Phase, PoolingRule, Shape};
use crate::load::{self, ReadOptions, Warning};
use crate::memory;
use crate::numbering::{self, Feed};
use crate::proto::{LayerParameter, NetParameter, SolverParameter};
use crate::rebatch::{self, Ahead};
use crate::report::{self, NetInfo, Report, Settings, Tool, SCHEMA_VERSION};
use crate::textformat::Pos;
use crate::upgrade;

/// A net's layers, shared by the nets built from them (a solver's train and test nets).
type Layers = Vec<Arc<LayerParameter>>;

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
    walk(opts)?.finish()
}

/// Like `analyze`, for text already in memory (`opts.path` is ignored; `file` names the text
/// in messages, as `load::load_bytes`).
pub fn analyze_bytes(opts: &Options, file: String, bytes: &[u8]) -> Result<Analyzed> {
    walk_bytes(opts, file, bytes)?.finish()
}

/// Like `walk`, for text already in memory (as `analyze_bytes`).
pub fn walk_bytes<'o>(opts: &'o Options, file: String, bytes: &[u8]) -> Result<Walked<'o>> {
    let mut warnings = Vec::new();
    let loaded = load::load_bytes(file, bytes, read_options(opts), &mut warnings)?;
    walk_loaded(opts, loaded, warnings, NextNet::Resized)
}

fn read_options(opts: &Options) -> ReadOptions {
    ReadOptions {
        strict: opts.strict,
    }
}

/// How the net one sample larger is made, for the per-sample figures.
#[derive(Clone, Copy)]
enum NextNet {
    /// The walked net's blobs resized (`rebatch`), or built again when that cannot
    /// tell.
    Resized,
    /// Built again: the reference the tests hold the resized net to.
    #[cfg(test)]
    Rebuilt,
}

/// A net read and walked, its memory figures still to be computed (`memory`): the command
/// line writes the start of its JSON report (up to the totals) while they are.
pub struct Walked<'o> {
    opts: &'o Options,
    how: NextNet,
    file: String,
    solver: Option<load::SolverFile>,
    net_name: String,
    format: upgrade::Format,
    state: State,
    nodes: Vec<Node>,
    walk: WalkOptions<'o>,
    /// The net one sample larger, found beside the walk (a large net's), to be checked.
    ahead: Option<Ahead>,
    /// A solver's own net before filtering, for the test nets built from it.
    generic: Option<(NetParameter, Layers, Vec<Pos>)>,
    /// The memory settings (`memory::resolve`), checked once the net is walked.
    settings: memory::Resolved,
    pub analysis: Analysis,
    pub warnings: Vec<Warning>,
}

/// Reads and walks the net at `opts.path`.
pub fn walk(opts: &Options) -> Result<Walked<'_>> {
    let mut warnings = Vec::new();
    let loaded = load::load(&opts.path, read_options(opts), &mut warnings)?;
    walk_loaded(opts, loaded, warnings, NextNet::Resized)
}

/// A loaded net built as `Net::Init` builds it up to its walk: upgraded, filtered for its
/// state, with Caffe's Splits inserted, and the walk's settings.
pub struct Built<'o> {
    pub file: String,
    pub nodes: Vec<Node>,
    pub walk: WalkOptions<'o>,
    solver: Option<load::SolverFile>,
    net: NetParameter,
    format: upgrade::Format,
    state: State,
    /// A solver's own net before filtering, for the test nets built from it.
    generic: Option<(NetParameter, Layers, Vec<Pos>)>,
}

/// Text already in memory read and built up to its walk (the fuzz target walks it itself).
pub fn build_bytes<'o>(opts: &'o Options, file: String, bytes: &[u8]) -> Result<Built<'o>> {
    let loaded = load::load_bytes(file, bytes, read_options(opts), &mut Vec::new())?;
    build(opts, loaded)
}

fn build(opts: &Options, loaded: load::NetFile) -> Result<Built<'_>> {
    let mut net = loaded.net;
    let upgraded = upgrade::upgrade(&loaded.file, &mut net, loaded.layers, &loaded.root_fields)?;
    // The positions are the layers' now: freed before the walks, not held through them.
    drop(loaded.root_fields);
    let (format, layers, positions) = (upgraded.format, upgraded.layers, upgraded.positions);
    let rules = loaded.rules || upgraded.rules;
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
    // Without rules every layer is kept: a large net's layers are not read for them again.
    let (layers, positions) = if rules {
        filter::filter(&loaded.file, layers, positions, &state)?
    } else {
        (layers, positions)
    };
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
    Ok(Built {
        file: loaded.file,
        solver: loaded.solver,
        net,
        format,
        state,
        generic,
        nodes,
        walk,
    })
}

fn walk_loaded(
    opts: &Options,
    loaded: load::NetFile,
    mut warnings: Vec<Warning>,
    how: NextNet,
) -> Result<Walked<'_>> {
    let Built {
        file,
        solver,
        net,
        format,
        state,
        generic,
        nodes,
        walk,
    } = build(opts, loaded)?;
    let (ahead, analysis) = match how {
        NextNet::Resized if nodes.len() >= crate::json::THREADED_MIN => {
            walk_and_ahead(&file, &nodes, &walk, &mut warnings)
        }
        _ => {
            let numbering = numbering::number(&nodes);
            let mut ids = Feed::whole(&numbering);
            let walked = analysis::walk_numbered(&file, &nodes, &mut ids, &walk, &mut warnings);
            (None, walked)
        }
    };
    let analysis = analysis?;
    let settings = memory::resolve(&opts.memory, solver.as_ref().map(|s| &s.solver))?;
    Ok(Walked {
        opts,
        how,
        file,
        solver,
        net_name: net.name().to_string(),
        format,
        state,
        nodes,
        walk,
        ahead,
        generic,
        settings,
        analysis,
        warnings,
    })
}

/// A large net's walk, with the net one sample larger found meanwhile on the core the walk
/// leaves idle (rather than after it, beside the memory figures and the report). That thread
/// first numbers the blobs, handing them to the walk as it goes, then finds the net one
/// sample larger from them.
fn walk_and_ahead(
    file: &str,
    nodes: &[Node],
    walk: &WalkOptions,
    warnings: &mut Vec<Warning>,
) -> (Option<Ahead>, Result<Analysis>) {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let aside = std::thread::Builder::new().spawn_scoped(s, move || {
            // The walk may have stopped (an error): the chunks are then not wanted.
            let numbering = numbering::number_sending(nodes, |ids| {
                let _ = tx.send(ids.to_vec());
            });
            drop(tx);
            rebatch::ahead(file, nodes, &numbering, walk)
        });
        match aside {
            Ok(handle) => {
                let walked =
                    analysis::walk_numbered(file, nodes, &mut Feed::chunks(rx), walk, warnings);
                let ahead = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (ahead, walked)
            }
            // No thread: one after the other.
            Err(_) => {
                let numbering = numbering::number(nodes);
                let walked = analysis::walk_numbered(
                    file,
                    nodes,
                    &mut Feed::whole(&numbering),
                    walk,
                    warnings,
                );
                (rebatch::ahead(file, nodes, &numbering, walk), walked)
            }
        }
    })
}

impl Walked<'_> {
    /// The memory figures: the walked net replayed, and the same net one sample larger for the
    /// per-sample part of every figure (a net that cannot be built at another batch counts as
    /// fixed). Its batch is the net's, from `--batch` or its first input.
    pub fn memory(&self) -> Result<memory::Output> {
        self.memory_on(self.analysis.layers.len() >= crate::json::THREADED_MIN)
    }

    /// `memory`, with the net one sample larger walked and replayed on a thread of its own
    /// when `threads` and it has to be walked again.
    fn memory_on(&self, threads: bool) -> Result<memory::Output> {
        let (opts, file) = (self.opts, self.file.as_str());
        let phase = self.state.phase;
        let solver_param = self.solver.as_ref().map(|s| &s.solver);
        let tally = |net: NetView, next: Option<NetView>| {
            memory::tally(file, net, next, phase, &opts.memory, solver_param)
        };
        let analysis = &self.analysis;
        let walk = next_walk(analysis, &self.walk);
        // The net one sample larger as this one resized, when its sizes are known without a
        // walk (found beside the walk, else by `rebatch`): both are then replayed in one pass.
        let sizes = walk.as_ref().and_then(|walk| match self.how {
            NextNet::Resized => match self
                .ahead
                .as_ref()
                .and_then(|ahead| ahead.sizes(analysis, walk))
            {
                Some(sizes) => Some(std::borrow::Cow::Borrowed(sizes)),
                None => rebatch::rebatch(file, analysis, walk).map(std::borrow::Cow::Owned),
            },
            #[cfg(test)]
            NextNet::Rebuilt => None,
        });
        let here_net = NetView::new(analysis);
        let (here, next) = match (&sizes, walk) {
            (Some(sizes), _) => tally(here_net, Some(NetView::resized(analysis, sizes)))?,
            (None, None) => tally(here_net, None)?,
            (None, Some(walk)) => {
                let here = || tally(here_net, None).map(|(here, _)| here);
                let next = || walked(file, &self.nodes, &walk, |net| tally(net, None));
                // Either way an error in the net's own replay is the one reported.
                if !threads {
                    (here()?, next()?)
                } else {
                    let (next, here) = beside(next, here);
                    (here?, next?)
                }
            }
        };
        let (test_nets, test_errors) = match (&self.solver, &self.generic) {
            (Some(s), Some(g)) => test_nets(opts, &s.file, &s.solver, g),
            _ => (Vec::new(), Vec::new()),
        };
        memory::compute(
            &memory::Input {
                file,
                phase,
                net: analysis,
                here: &here,
                next: next.as_ref(),
                test_nets: &test_nets,
                test_net_errors: &test_errors,
                solver: solver_param,
            },
            &opts.memory,
        )
    }

    fn net_info(&self) -> NetInfo {
        NetInfo {
            name: self.net_name.clone(),
            file: self.file.clone(),
            solver: self.solver.as_ref().map(|s| s.file.clone()),
            format: self.format,
            state: self.state.clone(),
        }
    }

    /// The walked net with its memory figures.
    pub fn finish(self) -> Result<Analyzed> {
        let memory = self.memory()?;
        let net = self.net_info();
        Ok(Analyzed {
            memory,
            analysis: self.analysis,
            net,
            warnings: self.warnings,
        })
    }

    /// Writes the compact JSON report, byte for byte serde_json's of this net's `report`. On
    /// a large net (`json::THREADED_MIN` layers or more) the memory figures are computed on a
    /// second thread meanwhile, as everything up to the totals depends only on the walk (on
    /// the 100k-layer net, a median of 168 -> 154 ms): an error in them (a figure over 64
    /// bits) then comes after the start of the report has been written.
    pub fn write_compact<W: std::io::Write>(
        &self,
        out: &mut W,
    ) -> std::result::Result<(), WriteError> {
        let head = Head::new(self.net_info(), self.settings, &self.analysis);
        let back = |out: &mut W, m: memory::Output| {
            crate::json::write_back(out, &m.memory, &m.fit, &m.suggestions, &self.warnings)
                .map_err(WriteError::Io)
        };
        if self.analysis.layers.len() < crate::json::THREADED_MIN {
            // A small net's figures take less than starting a thread; computed first, an error
            // in them comes before any output.
            let memory = self.memory().map_err(WriteError::Analysis)?;
            crate::json::write_front(out, &head, &self.analysis).map_err(WriteError::Io)?;
            return back(out, memory);
        }
        let (memory, front) = beside(
            || self.memory(),
            || crate::json::write_front(out, &head, &self.analysis),
        );
        front.map_err(WriteError::Io)?;
        back(out, memory.map_err(WriteError::Analysis)?)
    }
}

/// `aside` on a thread of its own while this one runs `here`; both results. Should the thread
/// not start, `aside` runs here afterwards. A panic in it is passed on.
pub(crate) fn beside<A: Send, B>(aside: impl Fn() -> A + Sync, here: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|s| {
        let aside = &aside;
        let other = std::thread::Builder::new().spawn_scoped(s, aside);
        let b = here();
        let a = match other {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => aside(),
        };
        (a, b)
    })
}

/// What `Walked::write_compact` writes before the memory figures.
pub struct Head {
    pub tool: Tool,
    pub net: NetInfo,
    pub settings: Settings,
    pub inputs: Vec<report::Input>,
    pub totals: report::Totals,
}

impl Head {
    fn new(net: NetInfo, settings: memory::Resolved, analysis: &Analysis) -> Head {
        let elem_bytes = settings.dtype.activation_bytes();
        let inputs = report::inputs(analysis);
        Head {
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            net,
            settings: Settings {
                batch: inputs.first().and_then(|i| i.shape.first().copied()),
                activation_elem_bytes: elem_bytes,
                memory: settings,
            },
            totals: report::totals(analysis, elem_bytes),
            inputs,
        }
    }
}

/// Why the report could not be written: its memory figures, or the output.
#[derive(Debug)]
pub enum WriteError {
    Analysis(crate::error::Error),
    Io(std::io::Error),
}

/// The walk of the net one sample larger: at `--batch` or its first input's batch, + 1. `None`
/// when the net has no batch (no input, or one of 0).
pub fn next_walk<'a>(analysis: &Analysis, walk: &WalkOptions<'a>) -> Option<WalkOptions<'a>> {
    let batch = memory::batch_of(analysis)?.checked_add(1)?;
    Some(WalkOptions {
        batch: Some(i64::try_from(batch).ok()?),
        ..*walk
    })
}

/// The net at `walk`'s batch built again and replayed; `None` when it cannot be built: the net
/// then counts as fixed.
fn walked(
    file: &str,
    nodes: &[Node],
    walk: &WalkOptions,
    tally: impl Fn(NetView) -> Result<(memory::Tallies, Option<memory::Tallies>)>,
) -> Result<Option<memory::Tallies>> {
    match analysis::walk(file, nodes, walk, &mut Vec::new()) {
        Ok(next) => tally(NetView::new(&next)).map(|(next, _)| Some(next)),
        Err(_) => Ok(None),
    }
}

/// A solver's test nets, as solver.cpp InitTestNets makes them: each `test_net_param`, each
/// `test_net` file, then the solver's own net once per remaining `test_iter`, built in phase
/// TEST with its `test_state`, at its own batch. A test net that cannot be built is left out
/// with the reason (the train net is what was asked for).
fn test_nets(
    opts: &Options,
    solver_file: &str,
    solver: &SolverParameter,
    generic: &(NetParameter, Layers, Vec<Pos>),
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
    let Head {
        tool,
        net,
        settings,
        inputs,
        totals,
    } = Head::new(a.net, a.memory.settings, &a.analysis);
    let (layers, blobs) = report::describe(a.analysis, settings.activation_elem_bytes);
    Report {
        schema_version: SCHEMA_VERSION,
        tool,
        net,
        settings,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::BlobSize;

    fn analyze_loaded(
        opts: &Options,
        loaded: load::NetFile,
        warnings: Vec<Warning>,
        how: NextNet,
    ) -> Result<Analyzed> {
        walk_loaded(opts, loaded, warnings, how)?.finish()
    }

    fn analyzed(opts: &Options, how: NextNet) -> Result<Analyzed> {
        let mut warnings = Vec::new();
        let loaded = load::load(&opts.path, read_options(opts), &mut warnings)?;
        analyze_loaded(opts, loaded, warnings, how)
    }

    fn analyzed_text(text: &str, how: NextNet) -> Analyzed {
        let opts = Options::default();
        let mut warnings = Vec::new();
        let bytes = text.as_bytes();
        let loaded = load::load_bytes("t".into(), bytes, read_options(&opts), &mut warnings);
        analyze_loaded(&opts, loaded.unwrap(), warnings, how).unwrap()
    }

    /// `rebatch::rebatch` of the net at its batch (2) + 1.
    fn rebatch(a: &Analyzed) -> Option<Vec<BlobSize>> {
        let given = HashMap::new();
        let walk = WalkOptions {
            ctx: Ctx {
                phase: Phase::Test,
                given: &given,
                pooling: PoolingRule::default(),
            },
            batch: Some(3),
            strict: false,
            force_backward: false,
        };
        rebatch::rebatch("t", &a.analysis, &walk)
    }

    const INPUT: &str = "layer { name: 'data' type: 'Input' top: 'data' \
                         input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }";

    #[test]
    fn rebatch_resizes_every_blob() {
        let a = analyzed_text(&conv_relu_fc(), NextNet::Resized);
        assert_eq!(rebatch(&a), Some(conv_relu_fc_at_3()));
    }

    /// A convolution, a ReLU in place and an InnerProduct on `INPUT`.
    fn conv_relu_fc() -> String {
        format!(
            "{INPUT}
             layer {{ name: 'conv' type: 'Convolution' bottom: 'data' top: 'conv'
                     convolution_param {{ num_output: 4 kernel_size: 3 }} }}
             layer {{ name: 'relu' type: 'ReLU' bottom: 'conv' top: 'conv' }}
             layer {{ name: 'fc' type: 'InnerProduct' bottom: 'conv' top: 'fc'
                     inner_product_param {{ num_output: 10 }} }}"
        )
    }

    /// `conv_relu_fc`'s blobs at 3: 3*3*8*8 = 576; the 3x3 convolution makes 6x6 planes,
    /// 3*4*6*6 = 432; 3*10.
    fn conv_relu_fc_at_3() -> Vec<BlobSize> {
        vec![
            (Shape::from([3, 3, 8, 8]), 576),
            ([3, 4, 6, 6].into(), 432),
            ([3, 10].into(), 30),
        ]
    }

    /// What `rebatch::ahead` finds from the nodes, checked against the walk, and what
    /// `rebatch::rebatch` finds from the walked net, both one sample larger.
    fn ahead_and_rebatch(w: &Walked) -> (Option<Vec<BlobSize>>, Option<Vec<BlobSize>>) {
        let next = next_walk(&w.analysis, &w.walk);
        let numbering = numbering::number(&w.nodes);
        let ahead = rebatch::ahead(&w.file, &w.nodes, &numbering, &w.walk);
        let found = ahead
            .as_ref()
            .zip(next.as_ref())
            .and_then(|(ahead, next)| ahead.sizes(&w.analysis, next))
            .map(<[BlobSize]>::to_vec);
        let want = next.and_then(|next| rebatch::rebatch(&w.file, &w.analysis, &next));
        (found, want)
    }

    fn walked_text(text: &str) -> Walked<'static> {
        static OPTS: std::sync::OnceLock<Options> = std::sync::OnceLock::new();
        let opts = OPTS.get_or_init(Options::default);
        walk_bytes(opts, "t".into(), text.as_bytes()).unwrap()
    }

    #[test]
    fn ahead_of_the_walk_the_net_is_resized_as_after_it() {
        let w = walked_text(&conv_relu_fc());
        // The batch of 2 found from the input, + 1.
        let want = Some(conv_relu_fc_at_3());
        assert_eq!(ahead_and_rebatch(&w), (want.clone(), want));
        // Checked against a walk it does not match, it is not used.
        let numbering = numbering::number(&w.nodes);
        let ahead = rebatch::ahead("t", &w.nodes, &numbering, &w.walk).unwrap();
        let at = |batch| WalkOptions {
            batch: Some(batch),
            ..w.walk
        };
        assert!(ahead.sizes(&w.analysis, &at(3)).is_some());
        assert!(ahead.sizes(&w.analysis, &at(4)).is_none());
        // Other parameters in the convolution; the ReLU not in place (one blob more).
        for (from, to) in [
            ("num_output: 4", "num_output: 5"),
            ("top: 'conv' }", "top: 'relu' }"),
        ] {
            let other = walked_text(&conv_relu_fc().replace(from, to));
            assert!(ahead.sizes(&other.analysis, &at(3)).is_none(), "{to}");
        }
        // What only a walk can tell is left to one.
        for net in [over_the_batch(), fixed_shape()] {
            assert_eq!(ahead_and_rebatch(&walked_text(&net)), (None, None), "{net}");
        }
    }

    /// Over every testdata and corpus net, in both phases and at another batch.
    #[test]
    fn nets_resized_ahead_equal_nets_resized_after() {
        let (mut compared, mut resized, mut refused) = (0, 0, 0);
        for path in crate::net_files::all() {
            for (phase, batch) in [(None, None), (Some(Phase::Train), Some(7))] {
                let opts = Options {
                    path: path.to_string_lossy().into_owned(),
                    phase,
                    batch,
                    ..Default::default()
                };
                let Ok(w) = walk(&opts) else {
                    // It runs beside the walk whether or not the walk fails: a net the walk
                    // refuses must not make it panic either.
                    let loaded = load::load(&opts.path, read_options(&opts), &mut Vec::new());
                    if let Ok(b) = loaded.and_then(|loaded| build(&opts, loaded)) {
                        let numbering = numbering::number(&b.nodes);
                        let _ = rebatch::ahead(&b.file, &b.nodes, &numbering, &b.walk);
                        refused += 1;
                    }
                    continue;
                };
                let (found, want) = ahead_and_rebatch(&w);
                assert_eq!(found, want, "{}", opts.path);
                compared += 1;
                resized += usize::from(found.is_some());
            }
        }
        assert!(
            compared > 100 && resized > 100 && refused > 0,
            "{compared} compared, {resized} resized, {refused} refused by the walk"
        );
    }

    // Over axis 0, the weights are [10, N*3*8*8].
    fn over_the_batch() -> String {
        format!(
            "{INPUT}
             layer {{ name: 'fc' type: 'InnerProduct' bottom: 'data' top: 'fc'
                     inner_product_param {{ num_output: 10 axis: 0 }} }}"
        )
    }

    // 2*3*8*8 = 384 = 2*192 elements, but 576 at 3.
    fn fixed_shape() -> String {
        format!(
            "{INPUT}
             layer {{ name: 'r' type: 'Reshape' bottom: 'data' top: 'r'
                     reshape_param {{ shape {{ dim: 2 dim: 192 }} }} }}"
        )
    }

    /// Parameters sized by the batch, or a net that fails one sample larger: the net is built
    /// again, and in the second case counts as fixed.
    #[test]
    fn rebatch_leaves_to_a_walk_what_only_a_walk_can_tell() {
        let (over_the_batch, fixed_shape) = (over_the_batch(), fixed_shape());
        for net in [&over_the_batch, &fixed_shape] {
            let a = analyzed_text(net, NextNet::Resized);
            assert_eq!(rebatch(&a), None, "{net}");
            let b = analyzed_text(net, NextNet::Rebuilt);
            assert_eq!(format!("{:?}", a.memory), format!("{:?}", b.memory));
        }
        let caffe = analyzed_text(&fixed_shape, NextNet::Resized)
            .memory
            .memory
            .caffe;
        assert_eq!((caffe.per_sample, caffe.fixed), (0, caffe.total));
        let caffe = analyzed_text(&over_the_batch, NextNet::Resized)
            .memory
            .memory
            .caffe;
        // Per sample, in floats: the input's 3*8*8 = 192 and the weights' 10*192 (the top,
        // [10], does not grow): (192 + 1920) * 4 = 8448 bytes.
        assert_eq!(caffe.per_sample, 8448);
    }

    /// The replays on two threads (a net of `json::THREADED_MIN` layers or more) give what
    /// they give one after the other.
    #[test]
    fn replays_on_two_threads_equal_replays_on_one() {
        let mut net = format!("{INPUT}\n");
        for i in 0..crate::json::THREADED_MIN {
            net.push_str(&format!(
                "layer {{ name: 'c{i}' type: 'Convolution' bottom: '{}' top: 'c{i}'
                         convolution_param {{ num_output: 3 kernel_size: 1 }} }}\n",
                if i == 0 {
                    "data".to_string()
                } else {
                    format!("c{}", i - 1)
                }
            ));
        }
        net.push_str("layer { name: 'loss' type: 'EuclideanLoss' bottom: 'c0' bottom: 'data' }");
        let opts = Options {
            phase: Some(Phase::Train),
            ..Default::default()
        };
        let walked = walk_bytes(&opts, "t".into(), net.as_bytes()).unwrap();
        // A net this large is resized beside its walk, and the walk agrees.
        let (found, want) = ahead_and_rebatch(&walked);
        assert!(walked.ahead.is_some() && found.is_some());
        assert_eq!(found, want);
        let (one, two) = (
            walked.memory_on(false).unwrap(),
            walked.memory_on(true).unwrap(),
        );
        assert_eq!(format!("{:?}", one.memory), format!("{:?}", two.memory));
        // Per sample, the input and the 2048 convolutions' outputs: 2049 x 3x8x8 floats.
        let activations = one.memory.caffe.parts.activations.per_sample;
        assert_eq!(activations, 2049 * 3 * 8 * 8 * 4);
    }

    /// The per-sample figures of every testdata and corpus net, in both phases and at other
    /// settings, are the same from the walked net resized as from the net built again at
    /// batch + 1; so is every error.
    #[test]
    fn nets_resized_equal_nets_rebuilt() {
        let flag_sets: [(Option<Phase>, Option<i64>, memory::Flags); 4] = [
            (None, None, memory::Flags::default()),
            (Some(Phase::Train), None, memory::Flags::default()),
            (
                Some(Phase::Train),
                Some(7),
                memory::Flags {
                    optimizer: Some(memory::Optimizer::Adam),
                    buffers: true,
                    ..Default::default()
                },
            ),
            (
                Some(Phase::Test),
                Some(1),
                memory::Flags {
                    dtype: memory::Dtype::Fp16,
                    ..Default::default()
                },
            ),
        ];
        let mut compared = 0;
        for path in crate::net_files::all() {
            for (phase, batch, memory) in &flag_sets {
                let opts = Options {
                    path: path.to_string_lossy().into_owned(),
                    phase: *phase,
                    batch: *batch,
                    memory: memory.clone(),
                    ..Default::default()
                };
                match (
                    analyzed(&opts, NextNet::Resized),
                    analyzed(&opts, NextNet::Rebuilt),
                ) {
                    (Ok(a), Ok(b)) => {
                        let (a, b) = (format!("{:?}", a.memory), format!("{:?}", b.memory));
                        assert_eq!(a, b, "{}", opts.path);
                        compared += 1;
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    (a, b) => panic!("{}: {:?} against {:?}", opts.path, a.err(), b.err()),
                }
            }
        }
        assert!(compared > 100, "{compared} compared");
    }

    /// The net and the net one sample larger replayed in one pass count as replayed apart,
    /// over every testdata and corpus net, on both devices, with every buffer listed.
    #[test]
    fn one_replay_of_both_nets_counts_as_two() {
        let mut compared = 0;
        for path in crate::net_files::all() {
            for (phase, device) in [
                (None, memory::Device::Cpu),
                (Some(Phase::Train), memory::Device::Gpu),
            ] {
                let opts = Options {
                    path: path.to_string_lossy().into_owned(),
                    phase,
                    memory: memory::Flags {
                        device,
                        buffers: true,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let Ok(w) = walk(&opts) else { continue };
                let Some(sizes) = next_walk(&w.analysis, &w.walk)
                    .and_then(|next| rebatch::rebatch(&w.file, &w.analysis, &next))
                else {
                    continue;
                };
                let (here, next) = (
                    NetView::new(&w.analysis),
                    NetView::resized(&w.analysis, &sizes),
                );
                let solver = w.solver.as_ref().map(|s| &s.solver);
                let tally = |net, next| {
                    memory::tally(&w.file, net, next, w.state.phase, &opts.memory, solver)
                        .map_err(|e| e.to_string())
                };
                // Compared as their Debug text: every count, buffer and diff.
                let fused = tally(here, Some(next)).map(|(h, n)| format!("{h:?} {n:?}"));
                let apart = tally(here, None)
                    .and_then(|(h, _)| Ok(format!("{h:?} {:?}", Some(tally(next, None)?.0))));
                assert_eq!(fused, apart, "{}", opts.path);
                compared += 1;
            }
        }
        assert!(compared > 100, "{compared} compared");
    }
}

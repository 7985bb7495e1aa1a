//! The command line: flags (defined once, here), running the pipeline, printing the report
//! and the diagnostics.

use std::collections::HashMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

use crate::error::Error;
use crate::format::{self, diagnostic::Diagnostic, ColorWhen, Format, GroupBy, Style};
use crate::layers::{Phase, PoolingRule, Shape};
use crate::memory::{self, Device, Dtype, Engine, Optimizer};
use crate::pipeline::{self, Options, Walked, WriteError};
use crate::report::Report;

const USAGE: &str = "caffe-mem [OPTIONS] <NET>\n       caffe-mem diff [OPTIONS] <A> <B>";

const AFTER_HELP: &str = "\
Examples:
  caffe-mem deploy.prototxt                      a table on a terminal, JSON in a pipe
  caffe-mem deploy.prototxt | jq .totals         the JSON report
  caffe-mem --phase train train_val.prototxt     the TRAIN net
  caffe-mem solver.prototxt                      follows the solver to its net (TRAIN)
  caffe-mem --input data=1,3,224,224 net.prototxt
  caffe-mem --format markdown --group-by prefix googlenet.prototxt > GOOGLENET.md
  caffe-mem --format csv deploy.prototxt > layers.csv
  caffe-mem --format dot deploy.prototxt | dot -Tsvg > net.svg
  caffe-mem diff deploy.prototxt deploy_bn.prototxt

Exit codes:
  0  success (warnings allowed)
  1  the net is invalid: Caffe would refuse it
  2  usage or I/O error
  3  the file does not parse";

#[derive(Debug, Parser)]
#[command(name = "caffe-mem", version, about = "What a Caffe net costs: shapes, parameters, compute and memory, from its prototxt", after_help = AFTER_HELP)]
#[command(override_usage = USAGE, subcommand_negates_reqs = true, disable_help_subcommand = true)]
pub struct Args {
    /// The net (deploy.prototxt, train_val.prototxt) or a solver.prototxt; `-` reads stdin.
    #[arg(required = true)]
    pub net: Option<String>,

    /// Phase to build the net in [default: test, or train for a solver file].
    #[arg(long, value_enum)]
    pub phase: Option<PhaseArg>,

    /// A stage for include/exclude rules (repeatable).
    #[arg(long = "stage", value_name = "STAGE")]
    pub stages: Vec<String>,

    /// The level for include/exclude rules.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub level: i32,

    /// Shape of a blob: an input's, or a top no rule can infer (a Python layer's). Repeatable.
    #[arg(long = "input", value_name = "NAME=N,C,H,W", value_parser = parse_input)]
    pub inputs: Vec<(String, Shape)>,

    /// Replaces axis 0 (the batch) of every net input.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=i32::MAX as i64))]
    pub batch: Option<i64>,

    /// Unknown fields, enum values and layer types are errors, not warnings.
    #[arg(long)]
    pub strict: bool,

    /// Pooling arithmetic: Caffe's, or darknet2caffe's (for YOLO nets converted from darknet).
    #[arg(long, value_enum, default_value = "caffe")]
    pub pooling: PoolingArg,

    /// Element type of weights and activations; mixed: fp32 master weights and optimizer
    /// state, fp16 activations and gradients. The caffe model has fp32 and fp64 only.
    #[arg(long, value_enum, default_value = "fp32", help_heading = "Memory")]
    pub dtype: Dtype,

    /// Optimizer, which sizes the solver state [default: the solver's type, else momentum].
    #[arg(long, value_enum, help_heading = "Memory")]
    pub optimizer: Option<Optimizer>,

    /// Sub-batches per update [default: the solver's iter_size, else 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000), help_heading = "Memory")]
    pub iter_size: Option<u32>,

    /// Where Caffe runs: its CPU code paths touch other buffers than its GPU ones.
    #[arg(long, value_enum, default_value = "gpu", help_heading = "Memory")]
    pub device: Device,

    /// Convolution engine: Caffe's im2col, or cuDNN (a workspace, reported as a bound).
    #[arg(long, value_enum, default_value = "caffe", help_heading = "Memory")]
    pub engine: Engine,

    /// The card's memory, to find the largest batch that fits (11GiB, 8000MB, bytes).
    #[arg(long, value_name = "SIZE", value_parser = memory::settings::parse_size, help_heading = "Memory")]
    pub gpu_mem: Option<u64>,

    /// Memory the CUDA context and libraries take from --gpu-mem [default: 0].
    #[arg(long, value_name = "SIZE", value_parser = memory::settings::parse_size, default_value = "0", help_heading = "Memory")]
    pub reserve: u64,

    /// List every layer-internal buffer of the caffe model in the JSON report
    /// (`memory.caffe.buffers`): two or three per layer, so off by default.
    #[arg(long, help_heading = "Output")]
    pub buffers: bool,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<Format>,

    /// Fold layers whose names share a `/`-separated prefix into one row (table, markdown, csv).
    #[arg(long, value_enum, value_name = "HOW", help_heading = "Output")]
    pub group_by: Option<GroupBy>,

    /// When to colour the output: auto is on a terminal, unless NO_COLOR is set.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        value_name = "WHEN",
        help_heading = "Output"
    )]
    pub color: ColorWhen,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compares two nets: totals and memory side by side, and the layers that differ.
    ///
    /// Takes the same options as a single net, applied to both: `caffe-mem diff --batch 32
    /// --phase train old.prototxt new.prototxt`. Layers are matched by name; the Split
    /// layers Caffe inserts are left out.
    Diff {
        /// The net before.
        a: String,
        /// The net after.
        b: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PoolingArg {
    Caffe,
    Darknet,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PhaseArg {
    Train,
    Test,
}

fn parse_input(s: &str) -> Result<(String, Shape), String> {
    let (name, dims) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=N,C,H,W"))?;
    if name.is_empty() {
        return Err(format!("'{s}' names no blob"));
    }
    let shape = dims
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<i64>()
                .ok()
                .filter(|&v| (0..=i64::from(i32::MAX)).contains(&v))
                .ok_or_else(|| format!("'{d}' in '{s}' is not a dimension (0 to 2147483647)"))
        })
        .collect::<Result<Shape, String>>()?;
    Ok((name.to_string(), shape))
}

impl Args {
    fn options(&self, path: &str) -> Options {
        Options {
            path: path.to_string(),
            phase: self.phase.map(|p| match p {
                PhaseArg::Train => Phase::Train,
                PhaseArg::Test => Phase::Test,
            }),
            stages: self.stages.clone(),
            level: self.level,
            given: self.inputs.iter().cloned().collect::<HashMap<_, _>>(),
            batch: self.batch,
            strict: self.strict,
            pooling: match self.pooling {
                PoolingArg::Caffe => PoolingRule::Caffe,
                PoolingArg::Darknet => PoolingRule::Darknet,
            },
            memory: memory::Flags {
                dtype: self.dtype,
                optimizer: self.optimizer,
                iter_size: self.iter_size,
                device: self.device,
                engine: self.engine,
                gpu_mem: self.gpu_mem,
                reserve: self.reserve,
                buffers: self.buffers,
            },
        }
    }
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    // A bug must still end in one clear line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("caffe-mem: internal error: {info}. This is a bug; please report it with the input file.");
    }));
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    args.color.apply();
    let format = args.format.unwrap_or_else(Format::default_for_stdout);
    let text = match (&args.command, &args.net) {
        (None, Some(net)) => {
            let opts = args.options(net);
            let walked = match walk(&opts) {
                Ok(w) => w,
                Err(e) => return failed(&e),
            };
            if format == Format::Json && args.group_by.is_none() {
                return print_json(walked);
            }
            report(walked)
                .and_then(|r| format::render(&r, format, args.group_by, Style::for_stdout()))
        }
        (Some(Command::Diff { a, b }), None) => {
            let (oa, ob) = (args.options(a), args.options(b));
            let ra = walk(&oa).and_then(report);
            ra.and_then(|ra| {
                let rb = walk(&ob).and_then(report)?;
                format::diff::render(&ra, &rb, format, args.group_by, Style::for_stdout())
            })
        }
        _ => Err(Error::usage("give one net, or `diff A B`, not both")),
    };
    match text {
        Ok(text) => written(format::print(&text)),
        Err(e) => failed(&e),
    }
}

/// Reports `e` on stderr; its exit code.
fn failed(e: &Error) -> i32 {
    print_error(e);
    e.exit_code()
}

/// The exit code once the report is written, or failed to be (a closed pipe is the reader's
/// choice).
fn written(result: std::io::Result<()>) -> i32 {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("caffe-mem: error: cannot write the report: {e}");
            2
        }
        _ => 0,
    }
}

/// The JSON report, streamed to stdout through a buffer: on a 100k-layer net it is some 90 MB,
/// never held as one string. Compact in a pipe or a file, where tools read it (`jq .` indents
/// it), and then on two threads when large (`json`), its memory figures computed meanwhile
/// (`Walked::write_compact`); indented on a terminal, where people do. Returns the exit code.
fn print_json(walked: Walked) -> i32 {
    let stdout = std::io::stdout();
    let pretty = stdout.is_terminal();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, unbuffered(&stdout));
    let json = if pretty {
        let report = match report(walked) {
            Ok(r) => r,
            Err(e) => return failed(&e),
        };
        let json = serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from);
        // The process ends soon after: freeing a large report allocation by allocation would
        // take longer than the OS takes to reclaim it all at exit.
        std::mem::forget(report);
        json
    } else {
        let json = walked.write_compact(&mut out);
        std::mem::forget(walked);
        match json {
            Ok(()) => Ok(()),
            Err(WriteError::Io(e)) => Err(e),
            // The memory figures failed (a figure over 64 bits) after the start of the report
            // went out: it stays cut short, and the exit code says why.
            Err(WriteError::Analysis(e)) => return failed(&e),
        }
    };
    written(
        json.and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush()),
    )
}

/// Stdout without its line buffering, where the platform allows: Rust's stdout looks for the
/// last line break in every write, which on the compact report (one line of 53 MB on the
/// 100k-layer net) is a scan of every byte, 2.7% of the run's instructions.
fn unbuffered(stdout: &std::io::Stdout) -> Box<dyn std::io::Write + '_> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = stdout.as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(stdout.lock())
}

/// Parses the command line. Every option is global, so that `diff` takes them all (and
/// applies them to both nets) without repeating their definitions.
fn parse_args() -> Result<Args, clap::Error> {
    let cmd = Args::command().mut_args(|a| if a.is_positional() { a } else { a.global(true) });
    Args::from_arg_matches_mut(&mut cmd.try_get_matches()?)
}

/// The net of `opts` read and walked; its warnings go to stderr.
fn walk(opts: &Options) -> Result<Walked<'_>, Error> {
    let walked = pipeline::walk(opts)?;
    let color = format::colored(&std::io::stderr());
    eprint!(
        "{}",
        format::diagnostic::warnings(&walked.warnings, color, source_line)
    );
    Ok(walked)
}

/// The whole report of a walked net.
fn report(walked: Walked) -> Result<Report, Error> {
    walked.finish().map(pipeline::report)
}

/// `file:line:col: error: message`, the line quoted with a caret, and a hint.
fn print_error(e: &Error) {
    let color = format::colored(&std::io::stderr());
    eprint!("{}", Diagnostic::from_error(e).render(color, source_line));
}

/// The text of one line of a file, for quoting under an error (not for stdin).
fn source_line(file: &str, line: u32) -> Option<String> {
    if file == "<stdin>" || line == 0 {
        return None;
    }
    // Streamed to the line, not read whole again: an input may be gigabytes.
    let mut r = std::io::BufReader::new(std::fs::File::open(file).ok()?);
    for _ in 1..line {
        if r.skip_until(b'\n').ok()? == 0 {
            return None;
        }
    }
    let mut bytes = Vec::new();
    std::io::Read::take(r, 800)
        .read_until(b'\n', &mut bytes)
        .ok()?;
    // A binary file's "line" would only put control bytes on the terminal.
    if bytes
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    // Very long lines (generated files) are cut: the caret column still counts from the start.
    Some(text.chars().take(200).collect())
}

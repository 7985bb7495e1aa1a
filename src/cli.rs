//! The command line: flags (defined once, here), running the pipeline, printing the report
//! and the diagnostics.

use std::collections::HashMap;
use std::io::Write as _;

use clap::{Parser, ValueEnum};

use crate::error::Error;
use crate::layers::{Phase, PoolingRule, Shape};
use crate::pipeline::{self, Options};

const AFTER_HELP: &str = "\
Examples:
  caffe-mem deploy.prototxt                      JSON report of the TEST net
  caffe-mem --phase train train_val.prototxt     the TRAIN net
  caffe-mem solver.prototxt                      follows the solver to its net (TRAIN)
  caffe-mem --input data=1,3,224,224 net.prototxt
  caffe-mem --batch 32 deploy.prototxt | jq .totals

Exit codes:
  0  success (warnings allowed)
  1  the net is invalid: Caffe would refuse it
  2  usage or I/O error
  3  the file does not parse";

#[derive(Debug, Parser)]
#[command(name = "caffe-mem", version, about = "What a Caffe net costs: shapes, parameters, compute and memory, from its prototxt", after_help = AFTER_HELP)]
pub struct Args {
    /// The net (deploy.prototxt, train_val.prototxt) or a solver.prototxt; `-` reads stdin.
    pub net: String,

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
    fn options(&self) -> Options {
        Options {
            path: self.net.clone(),
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
        }
    }
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    // A bug must still end in one clear line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("caffe-mem: internal error: {info}. This is a bug; please report it with the input file.");
    }));
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let analyzed = match pipeline::analyze(&args.options()) {
        Ok(a) => a,
        Err(e) => {
            print_error(&e);
            return e.exit_code();
        }
    };
    for w in &analyzed.warnings {
        eprintln!("{}:{}:{}: warning: {}", w.file, w.line, w.col, w.message);
    }
    let report = pipeline::report(analyzed);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = serde_json::to_writer_pretty(&mut out, &report)
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(out))
        .and_then(|_| out.flush());
    match written {
        Ok(()) => 0,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("caffe-mem: error: cannot write the report: {e}");
            2
        }
    }
}

/// `file:line:col: error: message`, the line quoted with a caret, and a hint.
fn print_error(e: &Error) {
    let mut msg = String::new();
    match e.location() {
        Some((file, Some(pos))) => {
            msg.push_str(&format!("{file}:{}:{}: error: {e}\n", pos.line, pos.col));
            if let Some(line) = source_line(&file, pos.line) {
                let gutter = pos.line.to_string();
                let pad = " ".repeat(gutter.len());
                let caret_at = line
                    .chars()
                    .take(pos.col.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect::<String>();
                msg.push_str(&format!(
                    "{pad} |\n{gutter} | {line}\n{pad} | {caret_at}^\n"
                ));
            }
        }
        Some((file, None)) => msg.push_str(&format!("{file}: error: {e}\n")),
        None => msg.push_str(&format!("caffe-mem: error: {e}\n")),
    }
    if let Some(h) = e.hint() {
        msg.push_str(&format!("  = hint: {h}\n"));
    }
    eprint!("{msg}");
}

/// The text of one line of a file, for quoting under an error (not for stdin).
fn source_line(file: &str, line: u32) -> Option<String> {
    if file == "<stdin>" || line == 0 {
        return None;
    }
    let bytes = std::fs::read(file).ok()?;
    let text = bytes.split(|&b| b == b'\n').nth(line as usize - 1)?;
    let text = String::from_utf8_lossy(text);
    let text = text.trim_end_matches('\r');
    // Very long lines (generated files) are cut: the caret column still counts from the start.
    Some(text.chars().take(200).collect())
}

//! Output for people and tools. Every format reads the `Report` (the JSON schema) and never
//! recomputes a figure: a terminal table, markdown, CSV, Graphviz dot, the `diff` of two
//! reports, and the rustc-like diagnostics on stderr.

pub mod csv;
pub mod diagnostic;
pub mod diff;
pub mod dot;
pub mod group;
pub mod markdown;
pub mod summary;
pub mod table;
pub mod units;

use std::io::{IsTerminal as _, Write};

use crate::error::{Error, Result};
use crate::layers::Shape;
use crate::report::Report;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The whole report, exact (the default when stdout is not a terminal).
    Json,
    /// A per-layer table and a summary, human-scaled (the default on a terminal).
    Table,
    /// The table and summary as GitHub-flavoured markdown.
    Markdown,
    /// One row per layer, exact integers, for spreadsheets.
    Csv,
    /// A Graphviz graph: layers as nodes, blobs as edges labelled with their shapes.
    Dot,
}

impl Format {
    /// People at a terminal get the table; pipes and files get JSON, which tools read.
    pub fn default_for_stdout() -> Format {
        if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        }
    }
}

/// `--group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// Consecutive layers whose names share the part before the first `/` (inception_3a/...,
    /// fire2/...) become one row.
    Prefix,
}

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Makes the choice for the whole process (anstream's global), so that clap-independent
    /// writers agree.
    pub fn apply(self) {
        let choice = match self {
            ColorWhen::Auto => return,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// Whether text written to this stream should carry colour, after `--color`, NO_COLOR,
/// CLICOLOR_FORCE and whether it is a terminal.
pub fn colored<S: anstream::stream::RawStream>(stream: &S) -> bool {
    anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

/// How the human formats look on the stream they go to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colour and bold.
    pub color: bool,
    /// The terminal's width: tables wrap their cells to fit it. `None`: no limit.
    pub width: Option<u16>,
}

impl Style {
    /// For stdout: colour per `colored`; the width from `COLUMNS` when set (as `ls` does),
    /// else the terminal's when stdout is one.
    pub fn for_stdout() -> Style {
        let stdout = std::io::stdout();
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|&w| w > 0);
        Style {
            color: colored(&stdout),
            // comfy-table asks the terminal (and only when stdout is one).
            width: columns.or_else(|| comfy_table::Table::new().width()),
        }
    }

    /// `text` in `style` when colour is on.
    pub fn paint(&self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// The report in `format`. `--group-by` applies to the per-layer listings only.
pub fn render(
    report: &Report,
    format: Format,
    group_by: Option<GroupBy>,
    style: Style,
) -> Result<String> {
    if group_by.is_some() && matches!(format, Format::Json | Format::Dot) {
        return Err(
            Error::usage("--group-by applies to the table, markdown and csv formats")
                .with_hint("the JSON report and the dot graph always list every layer"),
        );
    }
    let rows = || group::rows(report, group_by);
    Ok(match format {
        Format::Json => json(report)?,
        Format::Table => table::render(report, &rows(), style),
        Format::Markdown => markdown::render(report, &rows()),
        Format::Csv => csv::render(&rows())?,
        Format::Dot => dot::render(report),
    })
}

/// Pretty JSON with a final newline.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::usage(format!("cannot write the report as JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Writes `text` to stdout. A closed pipe (`| head`) is the reader's choice, not an error.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `1x96x55x55`; a scalar (a loss) is `scalar`, as Caffe's `[]` shape reads badly in a table.
pub fn shape(s: &Shape) -> String {
    if s.is_empty() {
        return "scalar".to_string();
    }
    s.iter().map(i64::to_string).collect::<Vec<_>>().join("x")
}

/// The shapes of several tops, `, `-separated so that narrow tables can wrap between them.
pub fn shapes(list: &[Shape]) -> String {
    list.iter().map(shape).collect::<Vec<_>>().join(", ")
}

/// `AlexNet`, or the file's name when the net has none.
pub fn net_name(report: &Report) -> &str {
    if report.net.name.is_empty() {
        &report.net.file
    } else {
        &report.net.name
    }
}

/// `testdata/alexnet.prototxt, V2, TEST, batch 10`: what the figures are of.
pub fn net_context(report: &Report) -> String {
    let net = &report.net;
    let mut parts = vec![net.file.clone()];
    if let Some(solver) = &net.solver {
        parts[0] = format!("{} via {solver}", net.file);
    }
    parts.push(format!("{:?}", net.format));
    parts.push(
        match net.state.phase {
            crate::layers::Phase::Train => "TRAIN",
            crate::layers::Phase::Test => "TEST",
        }
        .to_string(),
    );
    if !net.state.stages.is_empty() {
        parts.push(format!("stages {}", net.state.stages.join(",")));
    }
    if net.state.level != 0 {
        parts.push(format!("level {}", net.state.level));
    }
    if let Some(b) = report.settings.batch {
        parts.push(format!("batch {b}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_as_caffe_users_write_them() {
        assert_eq!(shape(&[1, 96, 55, 55].into()), "1x96x55x55");
        assert_eq!(shape(&Shape::scalar()), "scalar");
        assert_eq!(shapes(&[[2, 3].into(), Shape::scalar()]), "2x3, scalar");
    }
}

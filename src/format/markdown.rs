//! `--format markdown`: the table and summary for a README, an issue or a pull request
//! (GitHub-flavoured markdown, numbers human-scaled and right-aligned).

use super::group::Row;
use super::summary::summary;
use super::table::{or_dash, output_cell, type_cell};
use super::{net_context, net_name, units};
use crate::report::Report;

pub fn render(report: &Report, rows: &[Row]) -> String {
    let mut out = format!(
        "## {}\n\n{}\n\n",
        text(net_name(report)),
        text(&net_context(report))
    );
    out.push_str("| layer | type | output | params | MACs | activations |\n");
    out.push_str("|---|---|---|--:|--:|--:|\n");
    for r in rows {
        out.push_str(&row(&[
            code(&r.name),
            text(&type_cell(r)),
            text(&output_cell(&r.output_shapes)),
            or_dash(r.params, units::count),
            or_dash(r.macs, units::count),
            or_dash(r.activation_bytes, units::bytes),
        ]));
    }
    let t = &report.totals;
    out.push_str(&row(&[
        "**total**".to_string(),
        String::new(),
        String::new(),
        format!("**{}**", units::count(t.params)),
        format!("**{}**", units::count(t.macs)),
        format!("**{}**", units::bytes(t.activation_bytes)),
    ]));

    let s = summary(report);
    out.push_str("\n### Totals\n\n");
    out.push_str(&labelled(&s.totals));

    out.push_str(&format!("\n### {}\n\n", text(&s.memory_title)));
    out.push_str("| | caffe | ideal |\n|---|--:|--:|\n");
    for r in &s.memory {
        let cells = if r.label == "total" {
            [
                "**total**".to_string(),
                format!("**{}**", r.caffe),
                format!("**{}**", r.ideal),
            ]
        } else {
            // The total's parts are indented in the table; here they say whose they are.
            let label = match r.label.trim_start() {
                l if r.total => format!("total, {l}"),
                l => l.to_string(),
            };
            [text(&label), text(&r.caffe), text(&r.ideal)]
        };
        out.push_str(&row(&cells));
    }
    if !s.memory_notes.is_empty() {
        out.push('\n');
        for n in &s.memory_notes {
            out.push_str(&format!("- note: {}\n", text(n)));
        }
    }
    if let Some(title) = &s.fit_title {
        out.push_str(&format!("\n### {}\n\n", text(title)));
        for (model, fit) in &s.fit {
            out.push_str(&format!("- **{model}**: {}\n", text(fit)));
        }
    }
    if !s.suggestions.is_empty() {
        out.push_str("\n### Suggestions\n\n");
        for item in &s.suggestions {
            out.push_str(&format!("- {}\n", text(item)));
        }
    }
    out
}

fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// A two-column table of label and value.
fn labelled(lines: &[(String, String)]) -> String {
    let mut out = String::from("| | |\n|---|--:|\n");
    for (label, value) in lines {
        out.push_str(&row(&[text(label), text(value)]));
    }
    out
}

/// Text in a table cell: a `|` would end the cell, and markdown's own characters would
/// change how the text reads.
pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A layer name as code, so that `conv1_1` and `inception_3a/1x1` read as written. A name
/// holding a backtick needs a longer fence.
pub(super) fn code(s: &str) -> String {
    let s = s.replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(text("a|b"), "a\\|b");
        assert_eq!(code("conv1_1"), "`conv1_1`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}

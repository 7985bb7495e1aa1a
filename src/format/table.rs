//! `--format table`: the net at a glance on a terminal. A title, one row per layer (name, type,
//! output shape, parameters, MACs, activation memory) with in-place and inserted layers marked
//! in words (colour is only an extra), a totals row, then the summary.

use comfy_table::{
    presets, Attribute, Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width,
};

use super::group::{Kind, Row};
use super::summary::{summary, Summary};
use super::{net_context, net_name, shapes, units, Style};
use crate::report::Report;

const HEADER: [&str; 6] = ["layer", "type", "output", "params", "MACs", "activations"];
/// The numeric columns, aligned right so that magnitudes line up.
const NUMERIC: std::ops::Range<usize> = 3..6;
/// Below this many characters a squeezed name column would break most names.
const MIN_NAME_WIDTH: usize = 10;
/// The least a text column gets on a very narrow terminal.
const MIN_TEXT_WIDTH: usize = 6;

pub fn render(report: &Report, rows: &[Row], style: Style) -> String {
    let mut out = String::new();
    out.push_str(&style.paint(anstyle::Style::new().bold(), net_name(report)));
    out.push_str(&format!(" ({})\n", net_context(report)));

    let mut lines: Vec<(Option<Kind>, [String; 6])> = rows
        .iter()
        .map(|r| {
            let cells = [
                r.name.clone(),
                type_cell(r),
                output_cell(&r.output_shapes),
                or_dash(r.params, units::count),
                or_dash(r.macs, units::count),
                or_dash(r.activation_bytes, units::bytes),
            ];
            (Some(r.kind), cells)
        })
        .collect();
    let totals = &report.totals;
    lines.push((
        None,
        [
            "total".to_string(),
            String::new(),
            String::new(),
            units::count(totals.params),
            units::count(totals.macs),
            units::bytes(totals.activation_bytes),
        ],
    ));

    let mut t = new_table(style);
    t.set_header(
        HEADER
            .iter()
            .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    if let Some(widths) = style.width.and_then(|w| column_widths(&lines, w)) {
        // The widths are decided here; comfy-table only wraps the cells to them.
        t.set_content_arrangement(ContentArrangement::Disabled);
        t.set_constraints(widths.map(|w| {
            let w = u16::try_from(w + 2).unwrap_or(u16::MAX);
            ColumnConstraint::Absolute(Width::Fixed(w))
        }));
    }
    for (kind, cells) in lines {
        t.add_row(cells.into_iter().map(|c| {
            let cell = Cell::new(c);
            match kind {
                // Marked in words already; dimming lets the real work stand out.
                Some(Kind::InPlace | Kind::Inserted) => cell.add_attribute(Attribute::Dim),
                Some(Kind::Group) | None => cell.add_attribute(Attribute::Bold),
                Some(Kind::Layer) => cell,
            }
        }));
    }
    for i in NUMERIC {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    out.push_str(&t.to_string());
    out.push('\n');
    out.push_str(&summary_text(&summary(report), style));
    out
}

/// Column widths (text, without padding) for a terminal `width` columns wide, or `None` when
/// the table fits as it is (or cannot fit at all: then comfy-table squeezes what it can).
/// Numbers are never cut; types ("BatchNorm (in-place)") and shape lists wrap between
/// words; names keep at least `MIN_NAME_WIDTH` characters and wrap where they must. What
/// room is left is shared out evenly, no column getting more than it needs.
fn column_widths(lines: &[(Option<Kind>, [String; 6])], width: u16) -> Option<[usize; 6]> {
    let chars = |s: &str| s.chars().count();
    let mut natural = HEADER.map(chars);
    let mut min = HEADER.map(chars);
    for (_, cells) in lines {
        for (i, c) in cells.iter().enumerate() {
            natural[i] = natural[i].max(chars(c));
            let word = c.split_whitespace().map(chars).max().unwrap_or(0);
            min[i] = min[i].max(word);
        }
    }
    min[0] = natural[0].min(MIN_NAME_WIDTH);
    for i in NUMERIC {
        min[i] = natural[i];
    }
    // Each column adds a space of padding either side and a border; one more border ends it.
    let frame = 3 * HEADER.len() + 1;
    let fits = |w: &[usize; 6]| w.iter().sum::<usize>() + frame <= usize::from(width);
    if fits(&natural) {
        return None;
    }
    let whole_words = min;
    if !fits(&min) {
        // Very narrow: words of the text columns break, numbers still do not.
        for m in &mut min[..NUMERIC.start] {
            *m = (*m).min(MIN_TEXT_WIDTH);
        }
        if !fits(&min) {
            return None;
        }
    }
    let mut w = min;
    let mut room = usize::from(width) - frame - min.iter().sum::<usize>();
    // Whole words first where room allows: types, then shapes, then names.
    for i in [1, 2, 0] {
        let more = (whole_words[i] - w[i]).min(room);
        w[i] += more;
        room -= more;
    }
    while room > 0 {
        let open: Vec<usize> = (0..w.len()).filter(|&i| w[i] < natural[i]).collect();
        if open.is_empty() {
            break;
        }
        let share = (room / open.len()).max(1);
        for i in open {
            let more = share.min(natural[i] - w[i]).min(room);
            w[i] += more;
            room -= more;
        }
    }
    Some(w)
}

/// The layer's type, with what makes it special said in words.
pub fn type_cell(r: &Row) -> String {
    match r.kind {
        Kind::Layer => r.ty.clone(),
        Kind::InPlace => format!("{} (in-place)", r.ty),
        Kind::Inserted => format!("{} (inserted)", r.ty),
        Kind::Group => format!("{} layers", r.layers),
    }
}

/// Zero reads as `-`, so that the layers that cost something stand out.
pub fn or_dash(n: u64, fmt: fn(u64) -> String) -> String {
    if n == 0 {
        "-".to_string()
    } else {
        fmt(n)
    }
}

/// The output shapes; the tops of a Split (all one shape) as `shape ×n`.
pub fn output_cell(list: &[crate::layers::Shape]) -> String {
    match list {
        [first, rest @ ..] if !rest.is_empty() && rest.iter().all(|s| s == first) => {
            format!("{} ×{}", super::shape(first), list.len())
        }
        _ => shapes(list),
    }
}

/// A table in the house style: light borders, wrapped to the terminal's width when there is
/// one, styled only when colour is on.
pub fn new_table(style: Style) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    // The caller decided colour and width (tests and pipes must not depend on a terminal).
    t.force_no_tty();
    if style.color {
        t.enforce_styling();
    }
    if let Some(w) = style.width {
        t.set_width(w);
        t.set_content_arrangement(ContentArrangement::Dynamic);
    }
    t
}

fn summary_text(s: &Summary, style: Style) -> String {
    let heading = |text: &str| format!("\n{}\n", style.paint(anstyle::Style::new().bold(), text));
    let mut out = heading("Totals");
    out.push_str(&labelled(&s.totals, style, 2));

    out.push_str(&heading(&s.memory_title));
    let mut t = new_table(style);
    t.set_header(
        ["", "caffe", "ideal"]
            .iter()
            .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    for r in &s.memory {
        let cells = [r.label.to_string(), r.caffe.clone(), r.ideal.clone()];
        t.add_row(cells.into_iter().map(|c| {
            let cell = Cell::new(c);
            if r.label == "total" {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
    }
    for i in 1..3 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    out.push_str(&t.to_string());
    out.push('\n');
    let notes: Vec<(String, String)> = s
        .memory_notes
        .iter()
        .map(|n| ("note:".to_string(), n.clone()))
        .collect();
    out.push_str(&labelled(&notes, style, 1));

    if let Some(title) = &s.fit_title {
        out.push_str(&heading(title));
        out.push_str(&labelled(&s.fit, style, 2));
    }
    if !s.suggestions.is_empty() {
        out.push_str(&heading("Suggestions"));
        let items: Vec<(String, String)> = s
            .suggestions
            .iter()
            .map(|text| ("-".to_string(), text.clone()))
            .collect();
        out.push_str(&labelled(&items, style, 1));
    }
    out
}

/// `  label  value` lines, the labels padded to one width by a borderless table, `gap`
/// spaces before the values, which wrap to the terminal's width.
fn labelled(lines: &[(String, String)], style: Style, gap: u16) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut t = new_table(style);
    t.load_preset(presets::NOTHING);
    for (label, value) in lines {
        t.add_row([
            Cell::new(label).add_attribute(Attribute::Bold),
            Cell::new(value),
        ]);
    }
    if let Some(c) = t.column_mut(0) {
        c.set_padding((2, gap));
        c.set_constraint(ColumnConstraint::ContentWidth);
    }
    if let Some(c) = t.column_mut(1) {
        c.set_padding((0, 0));
    }
    let mut text = t.trim_fmt();
    text.push('\n');
    text
}

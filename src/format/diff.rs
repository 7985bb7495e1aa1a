//! `caffe-mem diff A B`: two reports side by side. Their totals and memory with the deltas,
//! then the layers that differ: added, removed, or changed (type, output shapes or parameter
//! shapes). Layers are matched by name; the Split layers Caffe inserts are left out, as they
//! follow from the rest.

use std::collections::{HashMap, VecDeque};

use comfy_table::{Attribute, Cell, CellAlignment};
use serde::Serialize;

use super::table::new_table;
use super::{net_context, net_name, shapes, units, Format, GroupBy, Style};
use crate::error::{Error, Result};
use crate::layers::Shape;
use crate::memory::Figure as MemFigure;
use crate::report::{Layer, Report};

/// The JSON form of a diff.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub a: Side,
    pub b: Side,
    /// The figures of both nets, in a fixed order.
    pub figures: Vec<Figure>,
    pub layers: LayerChanges,
}

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub name: String,
    pub file: String,
    /// File, format, phase and batch, as the table's title says them.
    pub context: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Count,
    Bytes,
}

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Where the figure is in the report (`totals.params`).
    pub name: String,
    pub unit: Unit,
    pub a: u64,
    pub b: u64,
    /// `b - a`.
    pub delta: i128,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerChanges {
    pub added: Vec<Brief>,
    pub removed: Vec<Brief>,
    pub changed: Vec<Change>,
}

/// What a layer is, as far as the diff looks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Brief {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub output_shapes: Vec<Shape>,
    pub param_shapes: Vec<Shape>,
    pub param_count: u64,
    pub macs: u64,
}

impl Brief {
    fn of(l: &Layer) -> Brief {
        Brief {
            name: l.name.to_string(),
            ty: l.ty.to_string(),
            output_shapes: l.output_shapes.clone(),
            param_shapes: l.params.iter().map(|p| p.shape.clone()).collect(),
            param_count: l.param_count,
            macs: l.macs,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub name: String,
    /// Which of `type`, `output_shapes`, `param_shapes` differ.
    pub fields: Vec<&'static str>,
    pub a: Brief,
    pub b: Brief,
}

/// Compares two reports.
pub fn diff(a: &Report, b: &Report) -> Diff {
    Diff {
        a: side(a),
        b: side(b),
        figures: figures(a, b),
        layers: layers(a, b),
    }
}

/// The diff in `format` (json, table or markdown).
pub fn render(
    a: &Report,
    b: &Report,
    format: Format,
    group_by: Option<GroupBy>,
    style: Style,
) -> Result<String> {
    if group_by.is_some() {
        return Err(Error::usage("--group-by does not apply to diff"));
    }
    let d = diff(a, b);
    match format {
        Format::Json => super::json(&d),
        Format::Table => Ok(table(&d, style)),
        Format::Markdown => Ok(markdown(&d)),
        Format::Csv | Format::Dot => Err(Error::usage(
            "diff prints json, table or markdown".to_string(),
        )
        .with_hint("use --format table, markdown or json")),
    }
}

fn side(r: &Report) -> Side {
    Side {
        name: net_name(r).to_string(),
        file: r.net.file.clone(),
        context: net_context(r),
    }
}

/// Every figure of the totals and both memory models, in the report's order.
fn figures(a: &Report, b: &Report) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut add = |name: &str, unit, get: &dyn Fn(&Report) -> Option<u64>| {
        let (fa, fb) = (get(a).unwrap_or(0), get(b).unwrap_or(0));
        out.push(Figure {
            name: name.to_string(),
            unit,
            a: fa,
            b: fb,
            delta: i128::from(fb) - i128::from(fa),
        });
    };
    add("totals.params", Unit::Count, &|r| Some(r.totals.params));
    add("totals.learnable_params", Unit::Count, &|r| {
        Some(r.totals.learnable_params)
    });
    add("totals.macs", Unit::Count, &|r| Some(r.totals.macs));
    add("totals.flops", Unit::Count, &|r| Some(r.totals.flops));
    add("totals.backward_macs", Unit::Count, &|r| {
        Some(r.totals.backward_macs)
    });
    add("totals.activation_bytes", Unit::Bytes, &|r| {
        Some(r.totals.activation_bytes)
    });
    add("memory.caffe.total", Unit::Bytes, &|r| {
        Some(r.memory.caffe.total)
    });
    add("memory.caffe.fixed", Unit::Bytes, &|r| {
        Some(r.memory.caffe.fixed)
    });
    add("memory.caffe.per_sample", Unit::Bytes, &|r| {
        Some(r.memory.caffe.per_sample)
    });
    type Part = fn(&crate::memory::CaffeParts) -> Option<&MemFigure>;
    let caffe_parts: [(&str, Part); 10] = [
        ("activations", |p| Some(&p.activations)),
        ("activation_diffs", |p| Some(&p.activation_diffs)),
        ("params", |p| Some(&p.params)),
        ("param_diffs", |p| Some(&p.param_diffs)),
        ("layer_buffers", |p| Some(&p.layer_buffers)),
        ("solver_state", |p| Some(&p.solver_state)),
        ("prefetch", |p| Some(&p.prefetch)),
        ("test_nets", |p| Some(&p.test_nets)),
        ("cudnn_workspace", |p| p.cudnn_workspace.as_ref()),
        ("shape_metadata", |p| Some(&p.shape_metadata)),
    ];
    for (part, get) in caffe_parts {
        add(&format!("memory.caffe.parts.{part}"), Unit::Bytes, &|r| {
            get(&r.memory.caffe.parts).map(|f| f.total)
        });
    }
    add("memory.ideal.total", Unit::Bytes, &|r| {
        Some(r.memory.ideal.total)
    });
    add("memory.ideal.fixed", Unit::Bytes, &|r| {
        Some(r.memory.ideal.fixed)
    });
    add("memory.ideal.per_sample", Unit::Bytes, &|r| {
        Some(r.memory.ideal.per_sample)
    });
    type IdealPart = fn(&crate::memory::IdealParts) -> &MemFigure;
    let ideal_parts: [(&str, IdealPart); 5] = [
        ("weights", |p| &p.weights),
        ("gradients", |p| &p.gradients),
        ("optimizer_state", |p| &p.optimizer_state),
        ("activations", |p| &p.activations),
        ("activation_gradients", |p| &p.activation_gradients),
    ];
    for (part, get) in ideal_parts {
        add(&format!("memory.ideal.parts.{part}"), Unit::Bytes, &|r| {
            Some(get(&r.memory.ideal.parts).total)
        });
    }
    out
}

/// `memory.caffe.parts.layer_buffers` as `caffe layer buffers`, `totals.macs` as `MACs`.
fn label(name: &str) -> String {
    let words: Vec<&str> = name
        .split('.')
        .filter(|w| !matches!(*w, "totals" | "memory" | "parts"))
        .collect();
    words
        .join(" ")
        .replace('_', " ")
        .replace("macs", "MACs")
        .replace("flops", "FLOPs")
}

fn layers(a: &Report, b: &Report) -> LayerChanges {
    let authored = |r: &Report| -> Vec<Brief> {
        r.layers
            .iter()
            .filter(|l| !l.inserted)
            .map(Brief::of)
            .collect()
    };
    let (la, lb) = (authored(a), authored(b));
    // Caffe does not require unique layer names: same-named layers pair up in order.
    let mut in_a: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, l) in la.iter().enumerate() {
        in_a.entry(l.name.as_str()).or_default().push_back(i);
    }
    let mut matched = vec![false; la.len()];
    let mut out = LayerChanges::default();
    for l in &lb {
        let Some(i) = in_a.get_mut(l.name.as_str()).and_then(VecDeque::pop_front) else {
            out.added.push(l.clone());
            continue;
        };
        matched[i] = true;
        let old = &la[i];
        let mut fields = Vec::new();
        if old.ty != l.ty {
            fields.push("type");
        }
        if old.output_shapes != l.output_shapes {
            fields.push("output_shapes");
        }
        if old.param_shapes != l.param_shapes {
            fields.push("param_shapes");
        }
        if !fields.is_empty() {
            out.changed.push(Change {
                name: l.name.clone(),
                fields,
                a: old.clone(),
                b: l.clone(),
            });
        }
    }
    out.removed = la
        .into_iter()
        .zip(matched)
        .filter(|(_, m)| !m)
        .map(|(l, _)| l)
        .collect();
    out
}

/// The figures worth a row for people: those that are not zero in both nets.
fn shown(figures: &[Figure]) -> impl Iterator<Item = &Figure> {
    figures.iter().filter(|f| f.a != 0 || f.b != 0)
}

/// A figure's row: label, a, b, delta.
fn figure_cells(f: &Figure) -> [String; 4] {
    let fmt: fn(u64) -> String = match f.unit {
        Unit::Count => units::count,
        Unit::Bytes => units::bytes,
    };
    [
        label(&f.name),
        fmt(f.a),
        fmt(f.b),
        units::delta(f.delta, fmt),
    ]
}

/// One row per changed layer: mark, name, type, output, params; `a → b` where they differ.
fn change_rows(c: &LayerChanges) -> Vec<[String; 5]> {
    let brief = |mark: &str, l: &Brief| {
        [
            mark.to_string(),
            l.name.clone(),
            l.ty.clone(),
            shapes(&l.output_shapes),
            units::count(l.param_count),
        ]
    };
    let both = |a: String, b: String| {
        if a == b {
            a
        } else {
            format!("{a} → {b}")
        }
    };
    let mut rows: Vec<[String; 5]> = Vec::new();
    rows.extend(c.removed.iter().map(|l| brief("-", l)));
    rows.extend(c.added.iter().map(|l| brief("+", l)));
    rows.extend(c.changed.iter().map(|ch| {
        [
            "~".to_string(),
            ch.name.clone(),
            both(ch.a.ty.clone(), ch.b.ty.clone()),
            both(shapes(&ch.a.output_shapes), shapes(&ch.b.output_shapes)),
            both(
                units::count(ch.a.param_count),
                units::count(ch.b.param_count),
            ),
        ]
    }));
    rows
}

fn count_line(c: &LayerChanges) -> String {
    format!(
        "{} added, {} removed, {} changed",
        c.added.len(),
        c.removed.len(),
        c.changed.len()
    )
}

fn table(d: &Diff, style: Style) -> String {
    let bold = anstyle::Style::new().bold();
    let mut out = format!(
        "{} {} ({})\n{} {} ({})\n",
        style.paint(bold, "a:"),
        d.a.name,
        d.a.context,
        style.paint(bold, "b:"),
        d.b.name,
        d.b.context
    );
    let mut t = new_table(style);
    t.set_header(
        ["", "a", "b", "delta"]
            .iter()
            .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    for f in shown(&d.figures) {
        t.add_row(figure_cells(f));
    }
    for i in 1..4 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    out.push_str(&t.to_string());
    out.push_str(&format!(
        "\n{} {}\n",
        style.paint(bold, "layers:"),
        count_line(&d.layers)
    ));
    let rows = change_rows(&d.layers);
    if !rows.is_empty() {
        let mut t = new_table(style);
        t.set_header(
            ["", "layer", "type", "output", "params"]
                .iter()
                .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
        );
        for r in rows {
            t.add_row(r);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

fn markdown(d: &Diff) -> String {
    use super::markdown::{code, text};
    let mut out = format!(
        "## {} → {}\n\n- a: {}\n- b: {}\n\n| | a | b | delta |\n|---|--:|--:|--:|\n",
        text(&d.a.name),
        text(&d.b.name),
        text(&d.a.context),
        text(&d.b.context)
    );
    for f in shown(&d.figures) {
        out.push_str(&format!("| {} |\n", figure_cells(f).join(" | ")));
    }
    out.push_str(&format!("\n### Layers: {}\n", count_line(&d.layers)));
    let rows = change_rows(&d.layers);
    if !rows.is_empty() {
        out.push_str("\n| | layer | type | output | params |\n|---|---|---|---|--:|\n");
        for [mark, name, ty, output, params] in rows {
            let cells = [mark, code(&name), text(&ty), text(&output), params];
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out
}

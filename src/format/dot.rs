//! `--format dot`: the net as a Graphviz graph (`dot -Tsvg`). Layers are nodes and blobs are
//! edges labelled with their shapes. As in Caffe's own `draw_net.py`, in-place layers (ReLU,
//! Dropout, BatchNorm/Scale in place) are folded into the node of the layer whose output they
//! modify, and the Split layers Caffe inserts are left out: a blob with several consumers is
//! simply several edges. A blob nobody reads (a net output) ends in a point.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::{net_name, shape, units};
use crate::report::{Layer, Report};

struct Node {
    lines: Vec<String>,
    fill: &'static str,
}

/// Where a blob comes from: the node that last wrote it, and the blob's name as the net's
/// author wrote it (a Split top goes by its bottom's name).
#[derive(Clone, Copy)]
struct Source<'a> {
    node: usize,
    blob: &'a str,
}

pub fn render(report: &Report) -> String {
    let shape_of: HashMap<&str, String> = report
        .blobs
        .iter()
        .map(|b| (b.name.as_str(), shape(&b.shape)))
        .collect();
    let mut nodes: Vec<Node> = Vec::new();
    let mut edges: Vec<(usize, usize, &str)> = Vec::new();
    let mut source: HashMap<&str, Source> = HashMap::new();
    // Blob names in the order they were first written, for a stable output.
    let mut written: Vec<&str> = Vec::new();
    let mut read: HashSet<&str> = HashSet::new();

    for l in &report.layers {
        if l.inserted {
            let Some(from) = l
                .bottoms
                .first()
                .and_then(|b| source.get(b.as_str()).copied())
            else {
                continue;
            };
            read.insert(from.blob);
            for t in &l.tops {
                remember(&mut source, &mut written, t, from);
            }
            continue;
        }
        let in_place_top = l
            .tops
            .iter()
            .find(|t| l.bottoms.contains(t))
            .and_then(|t| source.get(t.as_str()));
        let node = match in_place_top {
            Some(s) => {
                let what = if l.param_count > 0 {
                    format!("{}, {} params", l.ty, units::count(l.param_count))
                } else {
                    l.ty.to_string()
                };
                nodes[s.node].lines.push(format!("+ {} ({what})", l.name));
                s.node
            }
            _ => {
                nodes.push(Node {
                    lines: node_lines(l),
                    fill: fill(l),
                });
                nodes.len() - 1
            }
        };
        for b in &l.bottoms {
            let Some(from) = source.get(b.as_str()).copied() else {
                continue;
            };
            // The blob an in-place layer rewrites is already inside its node.
            if from.node == node && l.tops.contains(b) {
                continue;
            }
            read.insert(from.blob);
            read.insert(b.as_str());
            edges.push((from.node, node, from.blob));
        }
        for t in &l.tops {
            remember(&mut source, &mut written, t, Source { node, blob: t });
        }
    }

    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(net_name(report)));
    out.push_str("  rankdir=TB;\n");
    let _ = writeln!(
        out,
        "  label=\"{}\";\n  labelloc=t;",
        escape(net_name(report))
    );
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (i, n) in nodes.iter().enumerate() {
        let label = n
            .lines
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let _ = writeln!(out, "  n{i} [label=\"{label}\", fillcolor=\"{}\"];", n.fill);
    }
    let edge_label = |blob: &str| {
        let s = shape_of.get(blob).map(String::as_str).unwrap_or("?");
        format!("{}\\n{s}", escape(blob))
    };
    for (from, to, blob) in &edges {
        let _ = writeln!(out, "  n{from} -> n{to} [label=\"{}\"];", edge_label(blob));
    }
    let mut outputs = 0;
    for name in written {
        let s = source[name];
        if read.contains(name) {
            continue;
        }
        let _ = writeln!(
            out,
            "  out{outputs} [shape=point, width=0.08];\n  n{} -> out{outputs} [label=\"{}\"];",
            s.node,
            edge_label(s.blob)
        );
        outputs += 1;
    }
    out.push_str("}\n");
    out
}

fn remember<'a>(
    source: &mut HashMap<&'a str, Source<'a>>,
    written: &mut Vec<&'a str>,
    top: &'a str,
    s: Source<'a>,
) {
    if source.insert(top, s).is_none() {
        written.push(top);
    }
}

/// The node's text: name, type, and what it costs when it costs something.
fn node_lines(l: &Layer) -> Vec<String> {
    let mut lines = vec![l.name.to_string(), l.ty.to_string()];
    let mut cost = Vec::new();
    if l.param_count > 0 {
        cost.push(format!("{} params", units::count(l.param_count)));
    }
    if l.macs > 0 {
        cost.push(format!("{} MACs", units::count(l.macs)));
    }
    if !cost.is_empty() {
        lines.push(cost.join(", "));
    }
    lines
}

/// A fill colour per kind of layer, so that the heavy layers stand out.
fn fill(l: &Layer) -> &'static str {
    let ty = &*l.ty;
    if l.bottoms.is_empty() {
        "#e8e8e8"
    } else if ty.contains("Convolution") {
        "#cfe2ff"
    } else if ty == "InnerProduct" {
        "#d1f0d1"
    } else if ty.contains("Pooling") {
        "#fff3c4"
    } else if ty.ends_with("Loss") || ty == "Accuracy" {
        "#f8d7da"
    } else {
        "white"
    }
}

/// Text inside a double-quoted dot string.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

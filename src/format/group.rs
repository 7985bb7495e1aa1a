//! The rows of the per-layer listings (table, markdown, csv): one per layer, or, under
//! `--group-by prefix`, one per run of consecutive layers whose names share the part before
//! the first `/`, as inception modules (`inception_3a/1x1`) and fire modules
//! (`fire2/squeeze1x1`) are named. A group's figures are the sums of its layers' figures from
//! the report; its bottoms and tops are the blobs that cross its border.

use std::collections::{HashMap, HashSet};

use super::GroupBy;
use crate::layers::Shape;
use crate::report::{Layer, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Layer,
    /// A layer whose top is its bottom: it adds no activation memory.
    InPlace,
    /// A Split layer Caffe inserted for a blob with several consumers.
    Inserted,
    /// Several layers folded by `--group-by`.
    Group,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    /// The layer's type; `group` for a group.
    pub ty: String,
    pub kind: Kind,
    /// How many layers the row stands for.
    pub layers: usize,
    /// Where the (first) layer starts in the file.
    pub line: u32,
    pub bottoms: Vec<String>,
    pub tops: Vec<String>,
    pub output_shapes: Vec<Shape>,
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    pub backward_macs: u64,
    pub activation_bytes: u64,
}

impl Row {
    fn layer(l: &Layer) -> Row {
        let kind = if l.inserted {
            Kind::Inserted
        } else if l.in_place {
            Kind::InPlace
        } else {
            Kind::Layer
        };
        Row {
            name: l.name.to_string(),
            ty: l.ty.to_string(),
            kind,
            layers: 1,
            line: l.line,
            bottoms: l.bottoms.iter().map(|b| b.to_string()).collect(),
            tops: l.tops.iter().map(|t| t.to_string()).collect(),
            output_shapes: l.output_shapes.clone(),
            params: l.param_count,
            macs: l.macs,
            flops: l.flops,
            backward_macs: l.backward_macs,
            activation_bytes: l.activation_bytes,
        }
    }
}

/// The rows of `report`, grouped as asked.
pub fn rows(report: &Report, group_by: Option<GroupBy>) -> Vec<Row> {
    match group_by {
        None => report.layers.iter().map(Row::layer).collect(),
        Some(GroupBy::Prefix) => by_prefix(report),
    }
}

/// The part of a layer name before its first `/`, if it has one.
fn prefix(name: &str) -> Option<&str> {
    name.split_once('/')
        .map(|(p, _)| p)
        .filter(|p| !p.is_empty())
}

fn by_prefix(report: &Report) -> Vec<Row> {
    let layers = &report.layers;
    let mut out = Vec::new();
    let mut start = 0;
    while start < layers.len() {
        let key = prefix(&layers[start].name);
        let mut end = start + 1;
        if key.is_some() {
            while end < layers.len() && prefix(&layers[end].name) == key {
                end += 1;
            }
        }
        match key {
            Some(key) if end - start > 1 => out.push(group(report, key, start..end)),
            _ => out.push(Row::layer(&layers[start])),
        }
        start = end;
    }
    out
}

fn group(report: &Report, key: &str, range: std::ops::Range<usize>) -> Row {
    let layers = &report.layers[range.clone()];
    // An inserted Split's tops are its bottom under another name: a group reads and makes
    // the blob itself, so the border is stated in the names the net's author wrote.
    let split_source: HashMap<&str, &str> = report
        .layers
        .iter()
        .filter(|l| l.inserted)
        .flat_map(|l| {
            let source = l.bottoms.first().map(|s| s.as_str()).unwrap_or_default();
            l.tops.iter().map(move |t| (t.as_str(), source))
        })
        .collect();
    let authored = |b: &str| -> String { split_source.get(b).copied().unwrap_or(b).to_string() };
    let read_outside: HashSet<&str> = report
        .layers
        .iter()
        .enumerate()
        .filter(|(i, _)| !range.contains(i))
        .flat_map(|(_, l)| l.bottoms.iter().map(|s| s.as_str()))
        .collect();
    let read_anywhere: HashSet<&str> = report
        .layers
        .iter()
        .flat_map(|l| l.bottoms.iter().map(|s| s.as_str()))
        .collect();

    // The group's inputs: what a layer reads before any layer of the group has made it (an
    // in-place layer at the start of a group reads its blob from outside).
    let mut bottoms: Vec<String> = Vec::new();
    let mut made: HashSet<&str> = HashSet::new();
    for l in layers {
        for b in &l.bottoms {
            let name = authored(b);
            if !made.contains(b.as_str()) && !bottoms.contains(&name) {
                bottoms.push(name);
            }
        }
        made.extend(l.tops.iter().map(|s| s.as_str()));
    }
    // The group's outputs: what it makes that a later layer reads, or that nobody reads
    // (a net output).
    let mut tops: Vec<String> = Vec::new();
    for l in layers {
        for t in &l.tops {
            let crosses = read_outside.contains(t.as_str()) || !read_anywhere.contains(t.as_str());
            let name = authored(t);
            if crosses && !tops.contains(&name) {
                tops.push(name);
            }
        }
    }
    let shape_of: HashMap<&str, &Shape> = report
        .blobs
        .iter()
        .map(|b| (b.name.as_str(), &b.shape))
        .collect();
    let output_shapes = tops
        .iter()
        .filter_map(|t| shape_of.get(t.as_str()).map(|s| (*s).clone()))
        .collect();
    let sum = |f: fn(&Layer) -> u64| layers.iter().map(f).fold(0u64, u64::saturating_add);
    Row {
        name: format!("{key}/"),
        ty: "group".to_string(),
        kind: Kind::Group,
        layers: layers.len(),
        line: layers.first().map(|l| l.line).unwrap_or_default(),
        bottoms,
        tops,
        output_shapes,
        params: sum(|l| l.param_count),
        macs: sum(|l| l.macs),
        flops: sum(|l| l.flops),
        backward_macs: sum(|l| l.backward_macs),
        activation_bytes: sum(|l| l.activation_bytes),
    }
}

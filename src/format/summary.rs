//! The summary under the per-layer listing, shared by the table and markdown formats: totals,
//! memory (both models side by side, part by part), the fit on a card, and the suggestions,
//! as labelled human-scaled text that each format lays out its own way.

use super::units;
use crate::layers::Phase;
use crate::memory::fit::ModelFit;
use crate::memory::{Figure, Suggestion};
use crate::report::Report;

#[derive(Debug, Clone)]
pub struct Summary {
    /// Label and value.
    pub totals: Vec<(String, String)>,
    /// What the memory figures are of: batch, precision, optimizer.
    pub memory_title: String,
    pub memory: Vec<MemoryRow>,
    /// The caffe model's caveats (what it leaves out, what is a bound).
    pub memory_notes: Vec<String>,
    pub fit_title: Option<String>,
    /// Model name and what fits.
    pub fit: Vec<(String, String)>,
    pub suggestions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct MemoryRow {
    pub label: &'static str,
    pub caffe: String,
    pub ideal: String,
    /// The total and its `fixed + batch * per_sample` split, set apart from the parts.
    pub total: bool,
}

pub fn summary(report: &Report) -> Summary {
    Summary {
        totals: totals(report),
        memory_title: memory_title(report),
        memory: memory(report),
        memory_notes: report.memory.caffe.notes.clone(),
        fit_title: report.fit.as_ref().map(|f| {
            let mut t = format!("Fit on a {} card", units::bytes(f.gpu_mem));
            if f.reserve > 0 {
                t.push_str(&format!(
                    ", {} reserved: {} for the net",
                    units::bytes(f.reserve),
                    units::bytes(f.budget)
                ));
            }
            t
        }),
        fit: report
            .fit
            .as_ref()
            .map(|f| {
                let batch = report.memory.batch;
                vec![
                    ("caffe".to_string(), fit_text(&f.caffe, batch)),
                    ("ideal".to_string(), fit_text(&f.ideal, batch)),
                ]
            })
            .unwrap_or_default(),
        suggestions: report.suggestions.iter().map(suggestion).collect(),
    }
}

fn totals(report: &Report) -> Vec<(String, String)> {
    let t = &report.totals;
    let mut lines = vec![
        (
            "parameters".to_string(),
            format!(
                "{} ({} learnable)",
                units::count(t.params),
                units::count(t.learnable_params)
            ),
        ),
        ("MACs".to_string(), units::count(t.macs)),
        ("FLOPs".to_string(), units::count(t.flops)),
    ];
    if report.net.state.phase == Phase::Train {
        lines.push(("backward MACs".to_string(), units::count(t.backward_macs)));
    }
    lines.push((
        "activations".to_string(),
        format!("{} (every top, once)", units::bytes(t.activation_bytes)),
    ));
    lines
}

/// A settings enum as the JSON writes it (`fp32`, `momentum`).
fn name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn memory_title(report: &Report) -> String {
    let m = &report.memory;
    let mut parts = Vec::new();
    if let Some(b) = m.batch {
        parts.push(format!("batch {b}"));
    }
    let (caffe, ideal) = (name(&m.caffe.dtype), name(&m.ideal.dtype));
    if caffe == ideal {
        parts.push(caffe);
    } else {
        parts.push(format!("caffe {caffe}, ideal {ideal}"));
    }
    if report.net.state.phase == Phase::Train {
        parts.push(format!(
            "{} optimizer",
            name(&report.settings.memory.optimizer)
        ));
        if report.settings.memory.iter_size > 1 {
            parts.push(format!("iter_size {}", report.settings.memory.iter_size));
        }
    }
    format!("Memory ({})", parts.join(", "))
}

/// The two models' parts, lined up where they mean the same thing; a part neither model has
/// in this phase is left out. Then the totals, with their fixed and per-sample parts.
fn memory(report: &Report) -> Vec<MemoryRow> {
    let c = &report.memory.caffe;
    let i = &report.memory.ideal;
    let (cp, ip) = (&c.parts, &i.parts);
    let part = |label, caffe: Option<&Figure>, ideal: Option<&Figure>| {
        let show = |f: Option<&Figure>| match f {
            Some(f) if f.total > 0 => units::bytes(f.total),
            _ => "-".to_string(),
        };
        let used = caffe.is_some_and(|f| f.total > 0) || ideal.is_some_and(|f| f.total > 0);
        used.then(|| MemoryRow {
            label,
            caffe: show(caffe),
            ideal: show(ideal),
            total: false,
        })
    };
    let mut rows: Vec<MemoryRow> = [
        part("weights", Some(&cp.params), Some(&ip.weights)),
        part(
            "weight gradients",
            Some(&cp.param_diffs),
            Some(&ip.gradients),
        ),
        part(
            "optimizer state",
            Some(&cp.solver_state),
            Some(&ip.optimizer_state),
        ),
        part("activations", Some(&cp.activations), Some(&ip.activations)),
        part(
            "activation gradients",
            Some(&cp.activation_diffs),
            Some(&ip.activation_gradients),
        ),
        part("layer buffers", Some(&cp.layer_buffers), None),
        part("cuDNN workspace (bound)", cp.cudnn_workspace.as_ref(), None),
        part("prefetch", Some(&cp.prefetch), None),
        part("test nets", Some(&cp.test_nets), None),
        part("shape metadata", Some(&cp.shape_metadata), None),
    ]
    .into_iter()
    .flatten()
    .collect();
    let bound = if c.upper_bound { "≤ " } else { "" };
    let total = |label, caffe: u64, ideal: u64| MemoryRow {
        label,
        caffe: units::bytes(caffe),
        ideal: units::bytes(ideal),
        total: true,
    };
    let mut sum = total("total", c.total, i.total);
    sum.caffe = format!("{bound}{}", sum.caffe);
    rows.push(sum);
    rows.push(total("  fixed", c.fixed, i.fixed));
    rows.push(total("  per sample", c.per_sample, i.per_sample));
    rows
}

fn fit_text(f: &ModelFit, batch: Option<u64>) -> String {
    let mut parts = Vec::new();
    if let Some(b) = batch {
        parts.push(if f.fits {
            format!("batch {b} fits")
        } else {
            format!("batch {b} does not fit")
        });
    }
    parts.push(match (f.max_batch, f.memory_at_max) {
        (None, _) => "any batch fits (the memory does not grow with it)".to_string(),
        (Some(0), _) => "not even one sample fits".to_string(),
        (Some(n), Some(m)) => format!("largest batch {n} ({})", units::bytes(m)),
        (Some(n), None) => format!("largest batch {n}"),
    });
    if let Some(s) = &f.split {
        parts.push(format!(
            "iter_size {} runs batch {} as {} x {} ({})",
            s.iter_size,
            s.effective_batch,
            s.iter_size,
            s.batch,
            units::bytes(s.memory)
        ));
    }
    parts.join("; ")
}

/// The action, and what it saves. The largest holders' figure is what they hold, which
/// their action already says.
fn suggestion(s: &Suggestion) -> String {
    let mut text = s.action.clone();
    if s.kind.starts_with("largest_") {
        return text;
    }
    if let Some(b) = s.saves_bytes.filter(|&b| b > 0) {
        text.push_str(&format!(" (saves {})", units::bytes(b)));
    }
    if let Some(m) = s.saves_macs.filter(|&m| m > 0) {
        text.push_str(&format!(" (saves {} MACs)", units::count(m)));
    }
    text
}

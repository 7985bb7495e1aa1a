//! Advice (SPEC §4): each suggestion names its layers, the action, and the bytes or MACs it
//! saves, computed from the models rather than guessed.

use serde::Serialize;

use crate::analysis::Analysis;
use crate::layers::Phase;

use super::caffe::{solver_state, Cfg, Tally};
use super::fit::Fit;
use super::settings::{Dtype, Resolved};
use super::{add, bytes, ideal, Memory, Overflow};
use crate::format::units::bytes as human;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `in_place`, `largest_activations`, `largest_params`, `half_precision`,
    /// `fully_connected`, `depthwise_separable`, `iter_size`.
    pub kind: &'static str,
    pub layers: Vec<String>,
    pub action: String,
    /// Bytes of the `caffe` model it saves (for `largest_*`: the bytes those layers hold, the
    /// most a change there can save; for `half_precision`: of the `ideal` model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saves_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saves_macs: Option<u64>,
}

pub struct Context<'a> {
    pub analysis: &'a Analysis,
    pub phase: Phase,
    pub settings: &'a Resolved,
    pub memory: &'a Memory,
    /// The caffe model's replay at the report's batch.
    pub tally: &'a Tally,
    pub cfg: &'a Cfg,
    pub fit: Option<&'a Fit>,
}

/// How many layers a "largest holders" suggestion names, and how many convolutions get a
/// depthwise-separable suggestion.
const TOP: usize = 3;
const TOP_CONVS: usize = 5;

pub fn suggestions(cx: &Context) -> Result<Vec<Suggestion>, Overflow> {
    let mut out = Vec::new();
    in_place(cx, &mut out)?;
    largest_activations(cx, &mut out)?;
    largest_params(cx, &mut out)?;
    half_precision(cx, &mut out)?;
    fully_connected(cx, &mut out)?;
    separable(cx, &mut out);
    iter_size(cx, &mut out)?;
    Ok(out)
}

/// Types whose Caffe implementation supports computing in place (their backward reads only
/// the top, a mask, or a copy they keep for the purpose).
fn can_run_in_place(ty: &str) -> bool {
    matches!(
        ty,
        "ReLU" | "Sigmoid" | "TanH" | "Dropout" | "BatchNorm" | "Scale" | "PReLU" | "Bias"
    )
}

/// Types whose backward reads their own top's data: an in-place layer after them would
/// overwrite it before their backward runs (lrn_layer.cpp, softmax_layer.cpp,
/// sigmoid_layer.cpp, tanh_layer.cpp, eltwise_layer.cpp, exp_layer.cpp, power_layer.cpp,
/// elu_layer.cpp, swish_layer.cpp).
fn backward_reads_top(ty: &str) -> bool {
    matches!(
        ty,
        "LRN" | "Softmax" | "Sigmoid" | "TanH" | "Eltwise" | "Exp" | "Power" | "ELU" | "Swish"
    )
}

/// Activations written to a new top that could overwrite their input: the top's data (and
/// its diff in TRAIN) is saved, minus the copy some layers keep when in place (Scale's temp_,
/// PReLU's bottom_memory_, BatchNorm's x_norm_ diff in backward).
fn in_place(cx: &Context, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let a = cx.analysis;
    let train = cx.phase == Phase::Train;
    let mut layers = Vec::new();
    let mut saved = 0u64;
    for (li, l) in a.layers.iter().enumerate() {
        if !can_run_in_place(l.ty())
            || l.bottom_ids.len() != 1
            || l.top_ids.len() != 1
            || l.top_in_place[0]
        {
            continue;
        }
        let (b, t) = (l.bottom_ids[0], l.top_ids[0]);
        let bottom = &a.blobs[b];
        let producer = &a.layers[bottom.producer];
        if bottom.consumers[..] != [li]
            || bottom.is_input
            || producer.ty() == "Split"
            || bottom.shape != a.blobs[t].shape
            || (train && backward_reads_top(producer.ty()))
        {
            continue;
        }
        let full = cx
            .cfg
            .bytes_of(a.blobs[t].count, super::buffers::Elem::Dtype)?;
        let mut gain = full;
        if cx.tally.diffs.get(t) == Some(&true) {
            gain = add(gain, full)?;
        }
        let extra = match l.ty() {
            "Scale" | "PReLU" => full,
            "BatchNorm" if train && l.need_backward => full,
            _ => 0,
        };
        if gain > extra {
            saved = add(saved, gain - extra)?;
            layers.push(l.name().to_string());
        }
    }
    if !layers.is_empty() {
        out.push(Suggestion {
            kind: "in_place",
            action: format!(
                "compute {} in place (top: the same name as the bottom): its input has no other \
                 reader, so the separate top{} can go",
                list(&layers),
                if train { " and its gradient" } else { "" }
            ),
            layers,
            saves_bytes: Some(saved),
            saves_macs: None,
        });
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 6;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

/// The layers whose tops (data, and diffs in TRAIN) hold the most memory in Caffe.
fn largest_activations(cx: &Context, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let a = cx.analysis;
    let mut held: Vec<(u64, usize)> = Vec::new();
    for (li, l) in a.layers.iter().enumerate() {
        if l.ty() == "Split" {
            continue;
        }
        let mut n = 0u64;
        for (j, &t) in l.top_ids.iter().enumerate() {
            if l.top_in_place[j] {
                continue;
            }
            let full = cx
                .cfg
                .bytes_of(a.blobs[t].count, super::buffers::Elem::Dtype)?;
            n = add(n, full)?;
            if cx.tally.diffs.get(t) == Some(&true) {
                n = add(n, full)?;
            }
        }
        held.push((n, li));
    }
    held.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    held.truncate(TOP);
    held.retain(|h| h.0 > 0);
    if held.is_empty() {
        return Ok(());
    }
    let sum = held.iter().try_fold(0, |acc, h| add(acc, h.0))?;
    let whole = add(
        cx.memory.caffe.parts.activations.total,
        cx.memory.caffe.parts.activation_diffs.total,
    )?;
    let names: Vec<String> = held
        .iter()
        .map(|h| a.layers[h.1].name().to_string())
        .collect();
    out.push(Suggestion {
        kind: "largest_activations",
        action: format!(
            "{} hold {} ({:.0}% of the activation memory): a smaller input or batch, a stride \
             or pooling earlier, or fewer channels here saves the most",
            list(&names),
            human(sum),
            percent(sum, whole)
        ),
        layers: names,
        saves_bytes: Some(sum),
        saves_macs: None,
    });
    Ok(())
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Bytes the caffe model keeps for one owned parameter: data, and in TRAIN its diff and the
/// solver state.
fn param_bytes(cx: &Context, count: u64, decay_mult: f32) -> Result<u64, Overflow> {
    let data = cx.cfg.bytes_of(count, super::buffers::Elem::Dtype)?;
    match cx.cfg.train {
        Some(tc) => {
            let (copies, _) = solver_state(tc, cx.cfg.device, decay_mult);
            Ok(add(bytes(data, 2)?, bytes(data, copies)?)?)
        }
        None => Ok(data),
    }
}

fn layer_param_bytes(cx: &Context, li: usize) -> Result<u64, Overflow> {
    cx.analysis.layers[li].owned_params().try_fold(0, |acc, p| {
        add(acc, param_bytes(cx, p.count, p.decay_mult)?)
    })
}

/// The layers whose parameters (with their diffs and solver state in TRAIN) hold the most.
fn largest_params(cx: &Context, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let a = cx.analysis;
    let mut held = Vec::new();
    for li in 0..a.layers.len() {
        held.push((layer_param_bytes(cx, li)?, li));
    }
    held.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    held.truncate(TOP);
    held.retain(|h| h.0 > 0);
    if held.is_empty() {
        return Ok(());
    }
    let sum = held.iter().try_fold(0, |acc, h| add(acc, h.0))?;
    let all = (0..a.layers.len()).try_fold(0, |acc, li| add(acc, layer_param_bytes(cx, li)?))?;
    let names: Vec<String> = held
        .iter()
        .map(|h| a.layers[h.1].name().to_string())
        .collect();
    out.push(Suggestion {
        kind: "largest_params",
        action: format!(
            "{} hold {} ({:.0}% of the parameter memory{}): fewer outputs there, or a \
             factorized or pooled replacement, saves the most",
            list(&names),
            human(sum),
            percent(sum, all),
            if cx.cfg.train.is_some() {
                ", with gradients and solver state"
            } else {
                ""
            }
        ),
        layers: names,
        saves_bytes: Some(sum),
        saves_macs: None,
    });
    Ok(())
}

/// What half precision would save, on the ideal model (BVLC Caffe itself has none).
fn half_precision(cx: &Context, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    if !matches!(cx.settings.dtype, Dtype::Fp32 | Dtype::Fp64) {
        return Ok(());
    }
    let (alt, how) = match cx.phase {
        Phase::Train => (
            Dtype::Mixed,
            "train in mixed precision (fp16 activations and gradients, fp32 master weights)",
        ),
        Phase::Test => (Dtype::Fp16, "run inference in fp16"),
    };
    let p = ideal::parts(cx.analysis, cx.phase, alt, cx.settings.optimizer)?;
    let alt_total = p.as_array().iter().try_fold(0, |acc, &v| add(acc, v))?;
    let now = cx.memory.ideal.total;
    if now > alt_total {
        out.push(Suggestion {
            kind: "half_precision",
            layers: Vec::new(),
            action: format!(
                "{how}: the ideal total goes from {} to {}; BVLC Caffe has no half precision, \
                 a framework or Caffe fork with fp16 support is needed",
                human(now),
                human(alt_total)
            ),
            saves_bytes: Some(now - alt_total),
            saves_macs: None,
        });
    }
    Ok(())
}

/// Fully connected layers holding most of the weights.
fn fully_connected(cx: &Context, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let a = cx.analysis;
    let count = |l: &crate::analysis::LayerInfo| l.owned_params().map(|p| p.count).sum::<u64>();
    let total: u64 = a.layers.iter().map(count).sum();
    let mut fc: Vec<(u64, usize)> = a
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.ty() == "InnerProduct")
        .map(|(i, l)| (count(l), i))
        .filter(|f| f.0 > 0)
        .collect();
    let fc_total: u64 = fc.iter().map(|f| f.0).sum();
    if total == 0 || fc_total * 2 <= total {
        return Ok(());
    }
    fc.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let saves = fc
        .iter()
        .try_fold(0, |acc, f| add(acc, layer_param_bytes(cx, f.1)?))?;
    let names: Vec<String> = fc
        .iter()
        .map(|f| a.layers[f.1].name().to_string())
        .collect();
    out.push(Suggestion {
        kind: "fully_connected",
        action: format!(
            "the fully connected layers {} hold {:.0}% of the weights ({}{}): global average \
             pooling before a single classifier, or fewer outputs, removes most of that",
            list(&names),
            percent(fc_total, total),
            human(saves),
            if cx.cfg.train.is_some() {
                " with their gradients and solver state"
            } else {
                ""
            }
        ),
        layers: names,
        saves_bytes: Some(saves),
        saves_macs: None,
    });
    Ok(())
}

/// Convolutions a depthwise k x k + pointwise 1 x 1 pair would make cheaper: the pair costs
/// `1/Cout + 1/(kh*kw)` of the full convolution's MACs.
fn separable(cx: &Context, out: &mut Vec<Suggestion>) {
    let mut cands: Vec<(u64, usize, u64, u64)> = Vec::new();
    for (li, l) in cx.analysis.layers.iter().enumerate() {
        if l.ty() != "Convolution" || l.macs == 0 {
            continue;
        }
        let group = l.lp.convolution_param.as_ref().map_or(1, |c| c.group());
        let Some(w) = l.params.first().map(|p| &p.shape) else {
            continue;
        };
        let cout = u64::try_from(w.first().copied().unwrap_or(0)).unwrap_or(0);
        let cin = u64::try_from(w.get(1).copied().unwrap_or(0)).unwrap_or(0);
        let k: u64 = w
            .iter()
            .skip(2)
            .map(|&d| u64::try_from(d).unwrap_or(0))
            .product();
        if group != 1 || cout < 2 || cin < 2 || k < 2 {
            continue;
        }
        // MACs * (k + Cout) / (Cout * k), exactly, in 128 bits.
        let pair = u128::from(l.macs) * u128::from(k + cout) / (u128::from(cout) * u128::from(k));
        let pair = u64::try_from(pair).unwrap_or(u64::MAX);
        if pair < l.macs {
            cands.push((l.macs - pair, li, k, cout));
        }
    }
    cands.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    for (saves, li, k, cout) in cands.into_iter().take(TOP_CONVS) {
        let l = &cx.analysis.layers[li];
        let ratio = 1.0 / cout as f64 + 1.0 / k as f64;
        out.push(Suggestion {
            kind: "depthwise_separable",
            layers: vec![l.name().to_string()],
            action: format!(
                "replace {} with a depthwise convolution (group = channels) and a 1x1 \
                 convolution: {:.1}% of its MACs (1/{} + 1/{})",
                l.name(),
                100.0 * ratio,
                cout,
                k
            ),
            saves_bytes: None,
            saves_macs: Some(saves),
        });
    }
}

/// When the asked batch does not fit the card: the iter_size split of the caffe model.
fn iter_size(cx: &Context, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let Some(fit) = cx.fit else {
        return Ok(());
    };
    let Some(s) = &fit.caffe.split else {
        return Ok(());
    };
    let now = cx.memory.caffe.total;
    out.push(Suggestion {
        kind: "iter_size",
        layers: Vec::new(),
        action: format!(
            "batch {} needs {} but {} are available: batch {} with iter_size {} keeps the \
             effective batch of {} in {}",
            cx.memory.batch.unwrap_or(0),
            human(now),
            human(fit.budget),
            s.batch,
            s.iter_size,
            s.effective_batch,
            human(s.memory)
        ),
        saves_bytes: Some(now.saturating_sub(s.memory)),
        saves_macs: None,
    });
    Ok(())
}

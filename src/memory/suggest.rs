//! Advice (SPEC §4): each suggestion names its layers, the action, and the bytes or MACs it
//! saves, computed from the models rather than guessed.

use serde::Serialize;

use crate::analysis::{Analysis, LayerInfo};
use crate::layers::Phase;

use super::buffers::Elem;
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
    /// The ideal model's counts at the report's batch.
    pub ideal: &'a ideal::Counts,
    pub cfg: &'a Cfg,
    pub fit: Option<&'a Fit>,
}

/// How many layers a "largest holders" suggestion names, and how many convolutions get a
/// depthwise-separable suggestion.
const TOP: usize = 3;
const TOP_CONVS: usize = 5;

pub fn suggestions(cx: &Context) -> Result<Vec<Suggestion>, Overflow> {
    let mut survey = survey(cx)?;
    let mut out = Vec::new();
    in_place(cx, &mut survey, &mut out);
    largest_activations(cx, &survey, &mut out)?;
    largest_params(cx, &survey, &mut out)?;
    half_precision(cx, &mut out)?;
    fully_connected(cx, &survey, &mut out)?;
    separable(cx, &survey, &mut out);
    iter_size(cx, &mut out)?;
    Ok(out)
}

/// What the suggestions need of the layers, gathered in one pass over them: a large net's
/// layers are read from memory once, not once per suggestion.
struct Survey {
    /// Layers that could compute in place (names, as the suggestion lists them), and the
    /// bytes that saves.
    in_place: Vec<String>,
    in_place_saves: u64,
    /// (bytes, layer): the layers whose tops hold the most, largest first.
    activations: Vec<(u64, usize)>,
    /// (bytes, layer): the layers whose parameters hold the most, largest first; and what all
    /// the parameters hold.
    params: Vec<(u64, usize)>,
    params_bytes: u64,
    /// Parameter elements of the whole net, and (elements, bytes, layer) of each fully
    /// connected layer with parameters.
    weights: u64,
    fully_connected: Vec<(u64, u64, usize)>,
    /// (MACs saved, layer, kernel size, Cout): the convolutions a depthwise-separable pair
    /// saves the most on, largest first.
    separable: Vec<(u64, usize, u64, u64)>,
}

fn survey(cx: &Context) -> Result<Survey, Overflow> {
    let mut s = Survey {
        in_place: Vec::new(),
        in_place_saves: 0,
        activations: Vec::with_capacity(TOP + 1),
        params: Vec::with_capacity(TOP + 1),
        params_bytes: 0,
        weights: 0,
        fully_connected: Vec::new(),
        separable: Vec::with_capacity(TOP_CONVS + 1),
    };
    for (li, l) in cx.analysis.layers.iter().enumerate() {
        let ty = l.ty();
        if let Some(gain) = in_place_gain(cx, li, l, ty)? {
            s.in_place_saves = add(s.in_place_saves, gain)?;
            s.in_place.push(l.name().to_string());
        }
        if ty != "Split" {
            keep_top(&mut s.activations, TOP, (top_bytes(cx, l)?, li), |h| h.0);
        }
        let param_bytes = layer_param_bytes(cx, l)?;
        s.params_bytes = add(s.params_bytes, param_bytes)?;
        keep_top(&mut s.params, TOP, (param_bytes, li), |h| h.0);
        let weights = l.owned_params().map(|p| p.count()).sum::<u64>();
        s.weights += weights;
        if ty == "InnerProduct" && weights > 0 {
            s.fully_connected.push((weights, param_bytes, li));
        }
        if let Some((saves, k, cout)) = separable_gain(l, ty) {
            keep_top(&mut s.separable, TOP_CONVS, (saves, li, k, cout), |c| c.0);
        }
    }
    Ok(s)
}

/// Adds `item` to `top`, the `k` items with the largest `key` so far, largest first and equal
/// keys in the order they came: what a stable sort of all of them by descending key, cut to
/// `k`, gives, without holding or sorting a list as long as the net.
fn keep_top<T>(top: &mut Vec<T>, k: usize, item: T, key: impl Fn(&T) -> u64) {
    let at = top.partition_point(|t| key(t) >= key(&item));
    if at < k {
        top.insert(at, item);
        top.truncate(k);
    }
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

/// What layer `li` (of type `ty`) saves computed in place, when it writes a new top that could
/// overwrite its input: the top's data (and its diff in TRAIN), minus the copy some layers
/// keep when in place (Scale's temp_, PReLU's bottom_memory_, BatchNorm's x_norm_ diff in
/// backward). `None` when it cannot, or saves nothing.
fn in_place_gain(
    cx: &Context,
    li: usize,
    l: &LayerInfo,
    ty: &str,
) -> Result<Option<u64>, Overflow> {
    let a = cx.analysis;
    let train = cx.phase == Phase::Train;
    if !can_run_in_place(ty)
        || l.bottom_ids().len() != 1
        || l.top_ids().len() != 1
        || l.top_in_place(0)
    {
        return Ok(None);
    }
    let (b, t) = (l.bottom_id(0), l.top_id(0));
    let bottom = &a.blobs[b];
    let producer = &a.layers[bottom.producer()];
    if !bottom.consumers().iter().eq([li])
        || bottom.is_input
        || producer.ty() == "Split"
        || bottom.shape != a.blobs[t].shape
        || (train && backward_reads_top(producer.ty()))
    {
        return Ok(None);
    }
    let full = cx.cfg.bytes_of(a.blobs[t].count, Elem::Dtype)?;
    let mut gain = full;
    if cx.tally.diffs.get(t) == Some(&true) {
        gain = add(gain, full)?;
    }
    let extra = match ty {
        "Scale" | "PReLU" => full,
        "BatchNorm" if train && l.need_backward => full,
        _ => 0,
    };
    Ok((gain > extra).then(|| gain - extra))
}

/// Activations written to a new top that could overwrite their input (the names are moved
/// out of the survey).
fn in_place(cx: &Context, s: &mut Survey, out: &mut Vec<Suggestion>) {
    if s.in_place.is_empty() {
        return;
    }
    let layers = std::mem::take(&mut s.in_place);
    out.push(Suggestion {
        kind: "in_place",
        action: format!(
            "compute {} in place (top: the same name as the bottom): its input has no other \
             reader, so the separate top{} can go",
            list(&layers),
            if cx.phase == Phase::Train {
                " and its gradient"
            } else {
                ""
            }
        ),
        layers,
        saves_bytes: Some(s.in_place_saves),
        saves_macs: None,
    });
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

/// Bytes a layer's new tops hold in Caffe: data, and diffs where the replay allocated them.
fn top_bytes(cx: &Context, l: &LayerInfo) -> Result<u64, Overflow> {
    let mut n = 0u64;
    for t in l.new_top_ids() {
        let full = cx.cfg.bytes_of(cx.analysis.blobs[t].count, Elem::Dtype)?;
        n = add(n, full)?;
        if cx.tally.diffs.get(t) == Some(&true) {
            n = add(n, full)?;
        }
    }
    Ok(n)
}

/// The layers whose tops (data, and diffs in TRAIN) hold the most memory in Caffe.
fn largest_activations(
    cx: &Context,
    s: &Survey,
    out: &mut Vec<Suggestion>,
) -> Result<(), Overflow> {
    let held: Vec<&(u64, usize)> = s.activations.iter().filter(|h| h.0 > 0).collect();
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
        .map(|h| cx.analysis.layers[h.1].name().to_string())
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
    let data = cx.cfg.bytes_of(count, Elem::Dtype)?;
    match cx.cfg.train {
        Some(tc) => {
            let (copies, _) = solver_state(tc, cx.cfg.device, decay_mult);
            Ok(add(bytes(data, 2)?, bytes(data, copies)?)?)
        }
        None => Ok(data),
    }
}

fn layer_param_bytes(cx: &Context, l: &LayerInfo) -> Result<u64, Overflow> {
    l.owned_params().try_fold(0, |acc, p| {
        add(acc, param_bytes(cx, p.count(), p.decay_mult)?)
    })
}

/// The layers whose parameters (with their diffs and solver state in TRAIN) hold the most.
fn largest_params(cx: &Context, s: &Survey, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let held: Vec<&(u64, usize)> = s.params.iter().filter(|h| h.0 > 0).collect();
    if held.is_empty() {
        return Ok(());
    }
    let sum = held.iter().try_fold(0, |acc, h| add(acc, h.0))?;
    let names: Vec<String> = held
        .iter()
        .map(|h| cx.analysis.layers[h.1].name().to_string())
        .collect();
    out.push(Suggestion {
        kind: "largest_params",
        action: format!(
            "{} hold {} ({:.0}% of the parameter memory{}): fewer outputs there, or a \
             factorized or pooled replacement, saves the most",
            list(&names),
            human(sum),
            percent(sum, s.params_bytes),
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
    let p = cx.ideal.parts(alt, cx.settings.optimizer)?;
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
fn fully_connected(cx: &Context, s: &Survey, out: &mut Vec<Suggestion>) -> Result<(), Overflow> {
    let fc_total: u64 = s.fully_connected.iter().map(|f| f.0).sum();
    if s.weights == 0 || fc_total * 2 <= s.weights {
        return Ok(());
    }
    let mut fc = s.fully_connected.clone();
    fc.sort_by(|x, y| y.0.cmp(&x.0).then(x.2.cmp(&y.2)));
    let saves = fc.iter().try_fold(0, |acc, f| add(acc, f.1))?;
    let names: Vec<String> = fc
        .iter()
        .map(|f| cx.analysis.layers[f.2].name().to_string())
        .collect();
    out.push(Suggestion {
        kind: "fully_connected",
        action: format!(
            "the fully connected layers {} hold {:.0}% of the weights ({}{}): global average \
             pooling before a single classifier, or fewer outputs, removes most of that",
            list(&names),
            percent(fc_total, s.weights),
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

/// The MACs a depthwise k x k + pointwise 1 x 1 pair saves on a convolution, with its kernel
/// size and Cout: the pair costs `1/Cout + 1/(kh*kw)` of the full convolution's MACs.
fn separable_gain(l: &LayerInfo, ty: &str) -> Option<(u64, u64, u64)> {
    if ty != "Convolution" || l.macs == 0 {
        return None;
    }
    let group = l.lp.convolution_param().map_or(1, |c| c.group());
    let w = &l.params.first()?.shape;
    let cout = u64::try_from(w.first().copied().unwrap_or(0)).unwrap_or(0);
    let cin = u64::try_from(w.get(1).copied().unwrap_or(0)).unwrap_or(0);
    let k: u64 = w
        .iter()
        .skip(2)
        .map(|&d| u64::try_from(d).unwrap_or(0))
        .product();
    if group != 1 || cout < 2 || cin < 2 || k < 2 {
        return None;
    }
    // MACs * (k + Cout) / (Cout * k), exactly, in 128 bits.
    let pair = u128::from(l.macs) * u128::from(k + cout) / (u128::from(cout) * u128::from(k));
    let pair = u64::try_from(pair).unwrap_or(u64::MAX);
    (pair < l.macs).then(|| (l.macs - pair, k, cout))
}

/// Convolutions a depthwise k x k + pointwise 1 x 1 pair would make cheaper.
fn separable(cx: &Context, s: &Survey, out: &mut Vec<Suggestion>) {
    for &(saves, li, k, cout) in &s.separable {
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

#[cfg(test)]
mod tests {
    use super::keep_top;

    #[test]
    fn keep_top_is_a_stable_sort_cut_short() {
        let values = [5u64, 0, 9, 5, 9, 1, 5, 0, 9, 2];
        for k in 0..=values.len() + 1 {
            let mut top = Vec::new();
            for (i, &v) in values.iter().enumerate() {
                keep_top(&mut top, k, (v, i), |t| t.0);
            }
            let mut sorted: Vec<(u64, usize)> = values.iter().copied().zip(0..).collect();
            sorted.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            sorted.truncate(k);
            assert_eq!(top, sorted, "k = {k}");
        }
        let mut top = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            keep_top(&mut top, 3, (v, i), |t| t.0);
        }
        assert_eq!(top, [(9, 2), (9, 4), (9, 8)]);
    }
}

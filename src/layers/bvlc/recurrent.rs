//! LSTM and RNN (RecurrentLayer and the net each unrolls over T timesteps), and LSTMUnit.
//!
//! Bottoms: `x` `[T, N, ...]` (at least 3 axes: the input transform is an InnerProduct on axis
//! 2), `cont` `[T, N]`, optionally a static input `[N, ...]`, and with `expose_hidden` the
//! initial states (`h_0`, and `c_0` for LSTM) `[1, N, H]`. Tops: `[T, N, H]`, and with
//! `expose_hidden` the final states `[1, N, H]`.
//! Parameters, in the order the unrolled net first uses them (G = 4H for LSTM, H for RNN):
//! `W_x [G, D]`, `b [G]`, `W_x_static [G, S]` (with a static input), then LSTM `W_hc [4H, H]`
//! or RNN `W_hh [H, H]`, `W_ho [H, H]`, `b_o [H]`.

use super::{blob, count_range, dim, elems, err, filled, fit, int, Layer};
use crate::layers::{canonical_axis, mul, param_or_default, Out, RuleResult};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Lstm,
    Rnn,
}

/// LSTM. MACs `T*N*4H*(D + H)` (+ `N*4H*S` for a static input). FLOPs `2*MACs` + per
/// timestep and hidden unit: 4 gate bias adds, 1 for flushing the state with `cont`, 4 per
/// extra summed gate input (1 without, 2 with a static input), and 19 in the LSTM unit (three
/// sigmoids at 4, two tanh at 1, `c = cont*f*c' + i*g` 4, `h = o*tanh(c)` 1).
pub(super) fn lstm(l: &Layer) -> RuleResult {
    recurrent(l, Kind::Lstm)
}

/// RNN. MACs `T*N*H*(D + 2H)` (+ `N*H*S` for a static input). FLOPs `2*MACs` + per timestep and
/// hidden unit: the two bias adds, the `cont` flush, 1 per extra summed input, two tanh.
pub(super) fn rnn(l: &Layer) -> RuleResult {
    recurrent(l, Kind::Rnn)
}

fn recurrent(l: &Layer, kind: Kind) -> RuleResult {
    let p = param_or_default(l.lp.recurrent_param());
    let states = if kind == Kind::Lstm { 2 } else { 1 };
    let exposed = if p.expose_hidden() { states } else { 0 };
    l.min_bottoms(2 + exposed)?;
    l.max_bottoms(3 + exposed)?;
    l.exact_tops(1 + exposed)?;
    let (x, cont) = (l.bottom(0)?, l.bottom(1)?);
    if x.len() < 2 {
        return Err(err(format!(
            "bottom[0] must have at least 2 axes -- (#timesteps, #streams, ...); got {x:?}"
        )));
    }
    let (t, n) = (x[0], x[1]);
    if cont.len() != 2 {
        return Err(err(format!(
            "bottom[1] must have exactly 2 axes -- (#timesteps, #streams); got {cont:?}"
        )));
    }
    if cont[0] != t || cont[1] != n {
        return Err(err(format!(
            "bottom[1] {cont:?} must be [T, N] = [{t}, {n}] like bottom[0]"
        )));
    }
    let static_input = (l.n_bottoms() > 2 + exposed)
        .then(|| l.bottom(2))
        .transpose()?;
    if let Some(s) = static_input {
        if dim(s, 0)? != n {
            return Err(err(format!(
                "the static input (bottom[2]) {s:?} must have N = {n} items on axis 0"
            )));
        }
    }
    // FillUnrolledNet.
    let h = int(p.num_output(), "num_output")?;
    if h <= 0 {
        return Err(err("num_output must be positive"));
    }
    let g = if kind == Kind::Lstm {
        fit(h.checked_mul(4), "4 * num_output")?
    } else {
        h
    };
    if t <= 0 {
        return Err(err(format!(
            "a recurrent layer needs at least one timestep; bottom[0] is {x:?}"
        )));
    }
    let weight = |shape: Vec<i64>| filled(shape, p.weight_filler.as_deref(), "constant");
    // x_transform: InnerProduct on axis 2 of x.
    canonical_axis(2, x.len())?;
    let d = count_range(x, 2, x.len())?;
    let mut params = vec![
        weight(vec![g, d as i64])?,
        filled(vec![g], p.bias_filler.as_deref(), "constant")?,
    ];
    let mut s_dim = 0;
    if let Some(s) = static_input {
        canonical_axis(1, s.len())?;
        s_dim = count_range(s, 1, s.len())?;
        params.push(weight(vec![g, s_dim as i64])?);
    }
    if kind == Kind::Lstm {
        params.push(weight(vec![g, h])?);
    } else {
        params.push(weight(vec![h, h])?);
        params.push(weight(vec![h, h])?);
        params.push(filled(vec![h], p.bias_filler.as_deref(), "constant")?);
    }
    let state = blob(vec![1, n, h])?;
    let first_state = 2 + usize::from(static_input.is_some());
    for (j, b) in l.bottoms.iter().enumerate().skip(first_state) {
        if **b != state {
            return Err(err(format!(
                "shape mismatch - recur_input_blobs_[{}]: {state:?} vs. bottom[{j}]: {b:?}",
                j - first_state
            )));
        }
    }
    let mut tops = vec![blob(vec![t, n, h])?];
    tops.extend(std::iter::repeat_n(state.clone(), exposed));

    let (tu, nu, hu, gu) = (super::u(t)?, super::u(n)?, super::u(h)?, super::u(g)?);
    let steps = mul(&[tu, nu])?; // (timestep, stream) pairs
                                 // The hidden-to-gates product (LSTM W_hc), or RNN's W_hh and W_ho, every timestep.
    let recurrent = match kind {
        Kind::Lstm => mul(&[steps, gu, hu])?,
        Kind::Rnn => mul(&[steps, hu, hu, 2])?,
    };
    let macs = super::add(&[mul(&[steps, gu, d])?, mul(&[nu, gu, s_dim])?, recurrent])?;
    let extra_inputs = u64::from(static_input.is_some());
    let per_unit = match kind {
        // bias 4, cont 1, gate sums 4 * (1 + static), unit 19
        Kind::Lstm => 4 + 1 + 4 * (1 + extra_inputs) + 19,
        // b_h 1, cont 1, sums (1 + static), tanh 1, b_o 1, tanh 1
        Kind::Rnn => 5 + (1 + extra_inputs),
    };
    let flops = super::add(&[mul(&[macs, 2])?, mul(&[steps, hu, per_unit])?])?;
    Ok(Out {
        tops,
        params,
        macs,
        flops,
    })
}

/// LSTMUnit: bottoms `c_prev [1, N, H]`, gates `[1, N, 4H]`, `cont [1, N]`; tops `c` and `h`,
/// both `[1, N, H]`. FLOPs 19 per hidden unit (see `lstm`).
pub(super) fn lstm_unit(l: &Layer) -> RuleResult {
    l.exact_bottoms(3)?;
    l.exact_tops(2)?;
    let c_prev = l.bottom(0)?;
    let n = dim(c_prev, 1)?;
    for (i, b) in l.bottoms.iter().enumerate() {
        let axes = if i == 2 { 2 } else { 3 };
        if b.len() != axes || b[0] != 1 || b[1] != n {
            return Err(err(format!(
                "LSTMUnit bottom[{i}] must be [1, {n}{}] (got {b:?})",
                if axes == 3 { ", ..." } else { "" }
            )));
        }
    }
    let hidden = c_prev[2];
    let gates = l.bottom(1)?[2];
    if Some(gates) != hidden.checked_mul(4) {
        return Err(err(format!(
            "LSTMUnit gate input has {gates} channels; 4 * hidden = 4 * {hidden} expected"
        )));
    }
    let flops = mul(&[elems(c_prev)?, 19])?;
    Ok(Out {
        tops: vec![c_prev.clone(), c_prev.clone()],
        flops,
        ..Out::default()
    })
}

//! Phase, stage and level rules: which layers a net keeps for a given state, as Caffe's
//! `Net::FilterNet` and `Net::StateMeetsRule` decide (src/caffe/net.cpp).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layers::Phase;
use crate::proto::{self, LayerParameter, NetStateRule};
use crate::textformat::Pos;

/// The state a net is built in: `--phase`, `--stage` (plus the file's own `state.stage`),
/// `--level`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct State {
    pub phase: Phase,
    pub stages: Vec<String>,
    pub level: i32,
}

fn proto_phase(p: Phase) -> i32 {
    match p {
        Phase::Train => proto::Phase::Train as i32,
        Phase::Test => proto::Phase::Test as i32,
    }
}

fn meets(state: &State, rule: &NetStateRule) -> bool {
    if rule.phase.is_some_and(|p| p != proto_phase(state.phase)) {
        return false;
    }
    if rule.min_level.is_some_and(|min| state.level < min) {
        return false;
    }
    if rule.max_level.is_some_and(|max| state.level > max) {
        return false;
    }
    rule.stage.iter().all(|s| state.stages.contains(s))
        && !rule.not_stage.iter().any(|s| state.stages.contains(s))
}

/// Keeps the layers whose rules admit `state`, with their positions. A layer with include
/// rules is kept when one of them is met; one with exclude rules when none is; Caffe refuses a
/// layer that has both kinds.
pub fn filter(
    file: &str,
    layers: Vec<Arc<LayerParameter>>,
    positions: Vec<Pos>,
    state: &State,
) -> Result<(Vec<Arc<LayerParameter>>, Vec<Pos>)> {
    let mut kept = Vec::with_capacity(layers.len());
    let mut kept_pos = Vec::with_capacity(layers.len());
    for (lp, pos) in layers.into_iter().zip(positions) {
        if !lp.include().is_empty() && !lp.exclude().is_empty() {
            return Err(Error::invalid(
                file,
                Some(pos),
                format!(
                    "layer '{}' has both include and exclude rules; Caffe accepts one kind only",
                    lp.name()
                ),
            ));
        }
        let included = if lp.include().is_empty() {
            !lp.exclude().iter().any(|r| meets(state, r))
        } else {
            lp.include().iter().any(|r| meets(state, r))
        };
        if included {
            kept.push(lp);
            kept_pos.push(pos);
        }
    }
    Ok((kept, kept_pos))
}

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

/// Whether a layer has include or exclude rules: a net none of whose layers has any keeps
/// them all, and the loading notes it as it decodes them (`load::NetFile::rules`).
pub fn has_rules(lp: &LayerParameter) -> bool {
    !lp.include().is_empty() || !lp.exclude().is_empty()
}

/// Keeps the layers whose rules admit `state`, with their positions. A layer with include
/// rules is kept when one of them is met; one with exclude rules when none is; Caffe refuses a
/// layer that has both kinds. The lists are kept in place: nearly every layer is kept, and new
/// ones would be fresh memory to write.
pub fn filter(
    file: &str,
    mut layers: Vec<Arc<LayerParameter>>,
    mut positions: Vec<Pos>,
    state: &State,
) -> Result<(Vec<Arc<LayerParameter>>, Vec<Pos>)> {
    // Layers before `kept` are the ones kept so far, in order.
    let mut kept = 0;
    for i in 0..layers.len().min(positions.len()) {
        let (lp, pos) = (&layers[i], positions[i]);
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
            layers.swap(kept, i);
            positions.swap(kept, i);
            kept += 1;
        }
    }
    layers.truncate(kept);
    positions.truncate(kept);
    Ok((layers, positions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::textformat::MSG_LAYERPARAMETER;

    #[test]
    fn the_layers_kept_keep_their_order_and_places() {
        let layer = |text: &str| Arc::new(proto::read_text(text, MSG_LAYERPARAMETER).1);
        let layers = vec![
            layer("name: 'a' include { phase: TRAIN }"),
            layer("name: 'b'"),
            layer("name: 'c' exclude { phase: TRAIN }"),
            layer("name: 'd' include { phase: TRAIN } include { phase: TEST }"),
            layer("name: 'e' exclude { phase: TEST }"),
        ];
        let positions: Vec<Pos> = (1..=5).map(|line| Pos { line, col: 1 }).collect();
        for (phase, names, lines) in [
            (Phase::Test, vec!["b", "c", "d"], vec![2, 3, 4]),
            (Phase::Train, vec!["a", "b", "d", "e"], vec![1, 2, 4, 5]),
        ] {
            let state = State {
                phase,
                stages: Vec::new(),
                level: 0,
            };
            let (kept, at) = filter("n", layers.clone(), positions.clone(), &state).unwrap();
            let kept: Vec<&str> = kept.iter().map(|l| l.name()).collect();
            let at: Vec<u32> = at.iter().map(|p| p.line).collect();
            assert_eq!((kept, at), (names, lines), "{phase:?}");
        }
        // Both kinds of rule in one layer: refused at that layer.
        let both = layer("name: 'x' include { phase: TEST } exclude { phase: TRAIN }");
        let mut layers = layers;
        layers.insert(2, both);
        let mut positions = positions;
        positions.insert(2, Pos { line: 9, col: 1 });
        let state = State {
            phase: Phase::Test,
            stages: Vec::new(),
            level: 0,
        };
        match filter("n", layers, positions, &state) {
            Err(Error::Invalid { pos, message, .. }) => {
                assert_eq!(pos, Some(Pos { line: 9, col: 1 }));
                assert!(message.contains("layer 'x' has both"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}

//! Placeholder until the rules land.

use super::{Ctx, RuleResult, Shape};
use crate::proto::LayerParameter;

pub fn infer(
    _ty: &str,
    _lp: &LayerParameter,
    _bottoms: &[&Shape],
    _ctx: &Ctx,
) -> Option<RuleResult> {
    None
}

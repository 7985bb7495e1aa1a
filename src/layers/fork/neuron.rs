//! Element-wise fork layers: activations whose top is their bottom, and SENet's Axpy.

use super::{axis_dim, per_element, top_range};
use crate::layers::{exact_bottoms, RuleResult, Shape};
use crate::proto::LayerParameter;

/// Fork activations, all NeuronLayers (one bottom, one top of the bottom's shape, no blobs):
/// - ReLU6: inisis/caffe@09f69efe src/caffe/layers/relu6_layer.cpp (`min(max(x, 0), 6)`);
/// - Mish: ChenYingpeng/darknet2caffe@f6d9ea33 caffe_layers/mish_layer/mish_layer.cpp;
/// - SeLu, SeLuDropout: HolmesShuan/SNNs-Self-Normalizing-Neural-Networks-Caffe-Reimplementation
///   @39793c3c selu_layer.cpp, selu_dropout_layer.cpp (the layers soeaver's PSPNet uses).
///
/// Flops: one per element, as SPEC counts ELU, Dropout and the other activations.
pub fn elementwise(ty: &str, lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms(ty, bottoms, 1)?;
    top_range(ty, lp, 1, 1)?;
    per_element(bottoms[0].clone(), 1)
}

/// Axpy (hujie-frank/SENet@0262d43d src/caffe/layers/axpy_layer.cpp): `a * x + y` with one
/// scale per channel; bottoms `a` (`[N, C]` or `[N, C, 1, 1]`), `x`, `y` (x and y of one
/// shape), top the shape of `x`. Flops: 2 per output element (a multiply and an add; SPEC
/// keeps per-element products out of the MACs).
pub fn axpy(lp: &LayerParameter, bottoms: &[&Shape]) -> RuleResult {
    exact_bottoms("Axpy", bottoms, 3)?;
    top_range("Axpy", lp, 1, 1)?;
    let (a, x, y) = (bottoms[0], bottoms[1], bottoms[2]);
    for axis in 0..2 {
        if axis_dim(a, axis)? != axis_dim(x, axis)? {
            return Err(format!("Axpy: scale {a:?} and input {x:?} differ in axis {axis}").into());
        }
    }
    if a.len() == 4 && (a[2] != 1 || a[3] != 1) {
        return Err(format!("Axpy: a 4-D scale must be [N, C, 1, 1] (got {a:?})").into());
    }
    if x != y {
        return Err(format!("Axpy: x {x:?} and y {y:?} must have the same shape").into());
    }
    per_element(x.clone(), 2)
}

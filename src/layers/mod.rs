//! One rule per layer type: from a layer's parameters and its bottoms' shapes to its tops'
//! shapes, its parameter blobs' shapes and its forward compute, as Caffe's `LayerSetUp` and
//! `Reshape` decide them.
//!
//! `bvlc` holds the types BVLC Caffe master registers, `fork` the fork layers found in real
//! nets (SSD, Faster R-CNN, PSPNet, ...). A type neither knows passes its first bottom's shape
//! through, and the caller warns.

pub mod bvlc;
pub mod fork;
pub mod memo;
mod shape;

use std::borrow::Cow;
use std::collections::HashMap;

use crate::proto::LayerParameter;

pub use shape::Shape;

/// Phase of the net being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Phase {
    Train,
    Test,
}

/// Which Caffe's pooling arithmetic to follow (`--pooling`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolingRule {
    /// BVLC's (and most forks'): `round_mode`/`ceil_mode`, then the padding clip rule.
    #[default]
    Caffe,
    /// ChenYingpeng/darknet2caffe's pooling_layer.cpp, which YOLO nets converted from darknet
    /// were written for: always rounds up, then one more row and column when `kernel - stride`
    /// is odd (darknet's size-2, stride-1 "same" max pool keeps 13x13 at 13x13).
    Darknet,
}

/// What a rule may consult besides the layer itself.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub phase: Phase,
    /// Shapes given with `--input NAME=N,C,H,W`, by top name. Input-like layers (Input, the
    /// data layers, Python) take a top's shape from here first.
    pub given: &'a HashMap<String, Shape>,
    pub pooling: PoolingRule,
}

impl Ctx<'_> {
    pub fn given(&self, top: &str) -> Option<&Shape> {
        self.given.get(top)
    }
}

/// What a rule found for one layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Out {
    /// One shape per top; a scalar (a loss) is `[]`.
    pub tops: Vec<Shape>,
    /// One shape per parameter blob (`layer.blobs()` in Caffe), in Caffe's order.
    pub params: Vec<Shape>,
    /// Forward multiply-accumulates for the whole batch (SPEC §2).
    pub macs: u64,
    /// Forward floating-point operations for the whole batch (SPEC §2).
    pub flops: u64,
}

/// Why a rule refused the layer: what Caffe's CHECK would say, plus an optional hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub message: String,
    pub hint: Option<String>,
}

impl RuleError {
    pub fn new(message: impl Into<String>) -> Self {
        RuleError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<String> for RuleError {
    fn from(message: String) -> Self {
        RuleError::new(message)
    }
}

impl From<&str> for RuleError {
    fn from(message: &str) -> Self {
        RuleError::new(message)
    }
}

pub type RuleResult = Result<Out, RuleError>;

/// The rule for `lp.type`: `None` when no rule knows the type.
pub fn infer(lp: &LayerParameter, bottoms: &[&Shape], ctx: &Ctx) -> Option<RuleResult> {
    let ty = lp.r#type.as_deref().unwrap_or("");
    bvlc::infer(ty, lp, bottoms, ctx).or_else(|| fork::infer(ty, lp, bottoms, ctx))
}

// ---- helpers shared by the rules ----

/// Number of elements, checked: Caffe refuses a blob over INT_MAX elements
/// (blob.cpp: "blob size exceeds INT_MAX"). Inlined: the walks count every top and parameter
/// blob, nearly all of them fine, and the error is worded apart (`count_error`).
#[inline]
pub fn count(shape: &[i64]) -> Result<u64, RuleError> {
    let n = shape.iter().try_fold(1u64, |n, &d| {
        u64::try_from(d).ok().and_then(|d| n.checked_mul(d))
    });
    match n {
        Some(n) if n <= i32::MAX as u64 => Ok(n),
        _ => Err(count_error(shape)),
    }
}

/// Why `count` refuses `shape`: its first negative dimension, else the product overflowing 64
/// bits, else its size over INT_MAX, as met dimension by dimension.
#[cold]
fn count_error(shape: &[i64]) -> RuleError {
    let mut n: u64 = 1;
    for &d in shape {
        if d < 0 {
            return RuleError::new(format!("negative dimension {d} in shape {shape:?}"));
        }
        match n.checked_mul(d as u64) {
            Some(product) => n = product,
            None => return RuleError::new(format!("shape {shape:?} overflows")),
        }
    }
    RuleError::new(format!(
        "blob of shape {shape:?} has {n} elements, over Caffe's limit of INT_MAX"
    ))
}

/// Caffe's `CanonicalAxisIndex`: a negative axis counts from the end.
pub fn canonical_axis(axis: i32, num_axes: usize) -> Result<usize, RuleError> {
    let n = num_axes as i64;
    let a = i64::from(axis);
    if a < -n || a >= n {
        return Err(RuleError::new(format!(
            "axis {axis} out of range for a {num_axes}-axis blob"
        )));
    }
    Ok(if a < 0 { (a + n) as usize } else { a as usize })
}

/// Checked u64 product of factors (MACs, FLOPs).
pub fn mul(factors: &[u64]) -> Result<u64, RuleError> {
    factors.iter().try_fold(1u64, |acc, &f| {
        acc.checked_mul(f)
            .ok_or_else(|| RuleError::new("operation count overflows 64 bits"))
    })
}

/// A layer's sub-message, or its defaults when the file leaves it out; borrowed, so that a rule
/// reading a layer's parameters copies nothing.
pub fn param_or_default<T: Clone + Default>(p: Option<&T>) -> Cow<'_, T> {
    match p {
        Some(b) => Cow::Borrowed(b),
        None => Cow::Owned(T::default()),
    }
}

/// Which blobs a count check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blobs {
    Bottom,
    Top,
}

/// Requires between `min` and `max` blobs, checked and worded as Layer::CheckBlobCounts: an
/// exact count when `min == max`, otherwise the minimum first, then the maximum.
pub fn check_count(
    ty: &str,
    side: Blobs,
    n: usize,
    min: usize,
    max: usize,
) -> Result<(), RuleError> {
    let want = if min == max && n != min {
        format!("{min}")
    } else if n < min {
        format!("at least {min}")
    } else if n > max {
        format!("at most {max}")
    } else {
        return Ok(());
    };
    let (verb, noun, role) = match side {
        Blobs::Bottom => ("takes", "bottom", "input"),
        Blobs::Top => ("produces", "top", "output"),
    };
    Err(RuleError::new(format!(
        "{ty} Layer {verb} {want} {noun} blob(s) as {role} (got {n})"
    )))
}

/// Requires exactly `n` bottoms.
pub fn exact_bottoms(ty: &str, bottoms: &[&Shape], n: usize) -> Result<(), RuleError> {
    check_count(ty, Blobs::Bottom, bottoms.len(), n, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_refuses_as_it_meets_the_dims() {
        assert_eq!(count(&[2, 3, 224, 224]), Ok(301_056));
        assert_eq!(count(&[]), Ok(1));
        // A zero dim empties a blob however large the others.
        assert_eq!(count(&[1 << 20, 1 << 20, 0]), Ok(0));
        let message = |shape: &[i64]| count(shape).unwrap_err().message;
        assert_eq!(
            message(&[2, -3, 1 << 62, 1 << 62]),
            "negative dimension -3 in shape [2, -3, 4611686018427387904, 4611686018427387904]"
        );
        // The product overflows before the negative dim is read.
        assert_eq!(
            message(&[1 << 62, 1 << 62, -3]),
            "shape [4611686018427387904, 4611686018427387904, -3] overflows"
        );
        assert_eq!(
            message(&[65536, 65536]),
            "blob of shape [65536, 65536] has 4294967296 elements, over Caffe's limit of INT_MAX"
        );
        assert_eq!(count(&[i32::MAX as i64]), Ok(i32::MAX as u64));
    }
}

//! A blob shape as the walk keeps it: the dims behind a shared pointer.
//!
//! A shape is copied far more often than it is made: every in-place layer's output is its
//! bottom's, a blob's shape is its producer's output, and a layer like one already read gets
//! the remembered rule result. Shared, those copies cost a count instead of an allocation
//! each (on the 100k-layer net some 300k small blocks).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A blob shape, as Caffe's `vector<int>`; dims are kept in i64 so products can be checked.
/// Read as a slice; a rule that changes one builds a new one (`to_vec`, then `into`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Shape(Arc<[i64]>);

impl Shape {
    /// A scalar: no axes (a loss's output).
    pub fn scalar() -> Self {
        Shape(Arc::from([]))
    }
}

impl Deref for Shape {
    type Target = [i64];

    fn deref(&self) -> &[i64] {
        &self.0
    }
}

impl From<Vec<i64>> for Shape {
    fn from(dims: Vec<i64>) -> Self {
        Shape(dims.into())
    }
}

impl From<&[i64]> for Shape {
    fn from(dims: &[i64]) -> Self {
        Shape(dims.into())
    }
}

impl<const N: usize> From<[i64; N]> for Shape {
    fn from(dims: [i64; N]) -> Self {
        Shape(Arc::from(dims.as_slice()))
    }
}

impl FromIterator<i64> for Shape {
    fn from_iter<I: IntoIterator<Item = i64>>(dims: I) -> Self {
        Shape(dims.into_iter().collect())
    }
}

impl PartialEq<Vec<i64>> for Shape {
    fn eq(&self, other: &Vec<i64>) -> bool {
        *self.0 == **other
    }
}

/// As the dims' list, `[1, 3, 224, 224]`, like the `Vec` it replaces (messages show it).
impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Shape {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_prints_as_the_dims_list() {
        let s = Shape::from(vec![1, 3, 224, 224]);
        // Messages and the JSON report show shapes as the list they were before.
        assert_eq!(format!("{s:?}"), "[1, 3, 224, 224]");
        assert_eq!(serde_json::to_string(&s).unwrap(), "[1,3,224,224]");
        assert_eq!(serde_json::to_string(&Shape::scalar()).unwrap(), "[]");
        assert_eq!(s[1], 3);
        assert_eq!(s, vec![1, 3, 224, 224]);
        assert_ne!(s, vec![1, 3, 224]);
        assert_eq!(s, (1..=1).chain([3, 224, 224]).collect::<Shape>());
    }

    #[test]
    fn copies_share_their_dims() {
        let s = Shape::from([2, 8]);
        let copy = s.clone();
        assert!(std::ptr::eq(s.as_ptr(), copy.as_ptr()));
    }
}

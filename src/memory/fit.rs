//! Fitting a card (SPEC §3): the largest batch whose memory stays within `--gpu-mem` minus
//! `--reserve`, and, when the asked batch does not fit, the smallest `iter_size` that keeps
//! the effective batch (Caffe accumulates gradients over `iter_size` sub-batches).

use serde::Serialize;

use super::{Figure, Overflow};

#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub gpu_mem: u64,
    pub reserve: u64,
    /// `gpu_mem - reserve`: what the model may use.
    pub budget: u64,
    pub caffe: ModelFit,
    pub ideal: ModelFit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelFit {
    /// The largest batch that fits; 0 when not even one sample does; `null` when the memory
    /// does not grow with the batch and fits (any batch does).
    pub max_batch: Option<u64>,
    /// The memory at `max_batch`.
    pub memory_at_max: Option<u64>,
    /// The asked batch fits.
    pub fits: bool,
    /// When the asked batch does not fit (TRAIN): the smallest iter_size that keeps the
    /// effective batch, and the sub-batch it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    pub iter_size: u64,
    pub batch: u64,
    pub effective_batch: u64,
    pub memory: u64,
}

/// Fits one model's `fixed + batch * per_sample` into `budget`. `batch` is the asked batch;
/// `effective` its effective batch (`batch * iter_size`) when a split is wanted.
pub fn fit_model(
    m: &Figure,
    budget: u64,
    batch: Option<u64>,
    effective: Option<u64>,
) -> Result<ModelFit, Overflow> {
    let fits = m.total <= budget;
    let max_batch = if m.per_sample == 0 {
        (m.fixed > budget).then_some(0)
    } else if m.fixed > budget {
        Some(0)
    } else {
        Some((budget - m.fixed) / m.per_sample)
    };
    let memory_at_max = match max_batch {
        Some(n) if n > 0 => Some(m.at(n)?),
        _ => None,
    };
    let split = match (fits, max_batch, batch, effective) {
        (false, Some(max), Some(_), Some(e)) if max > 0 => {
            let k = smallest_split(e, max);
            let b = e / k;
            Some(Split {
                iter_size: k,
                batch: b,
                effective_batch: e,
                memory: m.at(b)?,
            })
        }
        _ => None,
    };
    Ok(ModelFit {
        max_batch,
        memory_at_max,
        fits,
        split,
    })
}

/// The smallest divisor k of `e` with `e / k <= max`; k = e (one sample per step) always
/// qualifies since max >= 1. Divisors come in pairs (d, e/d) with d <= sqrt(e).
fn smallest_split(e: u64, max: u64) -> u64 {
    let mut best = e;
    let mut d = 1u64;
    while d.checked_mul(d).is_some_and(|sq| sq <= e) {
        if e % d == 0 {
            for k in [d, e / d] {
                if e / k <= max {
                    best = best.min(k);
                }
            }
        }
        d += 1;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(fixed: u64, per_sample: u64, batch: u64) -> Figure {
        Figure {
            fixed,
            per_sample,
            total: fixed + batch * per_sample,
        }
    }

    #[test]
    fn largest_batch_and_split() {
        // 100 + 10 n <= 1000  =>  n <= 90.
        let m = fig(100, 10, 128);
        let f = fit_model(&m, 1000, Some(128), Some(256)).unwrap();
        assert_eq!(f.max_batch, Some(90));
        assert_eq!(f.memory_at_max, Some(1000));
        assert!(!f.fits);
        // 256 = 4 * 64 is the first divisor split with a sub-batch <= 90.
        let s = f.split.unwrap();
        assert_eq!((s.iter_size, s.batch, s.memory), (4, 64, 740));
    }

    #[test]
    fn splits() {
        assert_eq!(smallest_split(256, 90), 4);
        assert_eq!(smallest_split(97, 50), 97);
        assert_eq!(smallest_split(100, 100), 1);
        assert_eq!(smallest_split(36, 7), 6);
    }

    #[test]
    fn edges() {
        let none = fit_model(&fig(2000, 10, 1), 1000, Some(1), Some(1)).unwrap();
        assert_eq!(
            (none.max_batch, none.fits, none.split),
            (Some(0), false, None)
        );
        let flat = fit_model(&fig(500, 0, 8), 1000, Some(8), None).unwrap();
        assert_eq!((flat.max_batch, flat.fits), (None, true));
        let exact = fit_model(&fig(0, 7, 3), 21, Some(3), None).unwrap();
        assert_eq!((exact.max_batch, exact.fits), (Some(3), true));
    }
}

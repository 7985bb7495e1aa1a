//! Layers that only move or re-index data: Concat, Slice, Split, Flatten, Reshape, Crop, Tile,
//! Filter, BatchReindex. All are 0 MACs and 0 FLOPs (SPEC §2: data movement).

use super::{blob, count_range, dim, err, fit, int, tops_only, Layer};
use crate::layers::{canonical_axis, count, param_or_default, RuleError, RuleResult};

/// The axis of Concat/Slice: the deprecated unsigned `*_dim` field (no negative indexing) or
/// `axis` (which may count from the end); not both.
fn pick_axis(
    what: &str,
    axis: Option<i32>,
    legacy_dim: Option<u32>,
    num_axes: usize,
) -> Result<usize, RuleError> {
    match (axis, legacy_dim) {
        (Some(_), Some(_)) => Err(err(format!(
            "Either axis or {what}_dim should be specified; not both"
        ))),
        (_, Some(d)) => {
            if i32::try_from(d).is_err() {
                return Err(err(format!(
                    "casting {what}_dim from uint32 to int32 produced negative result; {what}_dim must satisfy 0 <= {what}_dim < 32"
                )));
            }
            if d as usize >= num_axes {
                return Err(err(format!(
                    "{what}_dim out of range ({what}_dim {d} for a {num_axes}-axis blob)"
                )));
            }
            Ok(d as usize)
        }
        (a, None) => canonical_axis(a.unwrap_or(1), num_axes),
    }
}

/// Concat along `axis` (or `concat_dim`): the bottoms agree on every other axis; the top's
/// axis is the sum.
pub(super) fn concat(l: &Layer) -> RuleResult {
    l.min_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.concat_param());
    let first = l.bottom(0)?;
    let axis = pick_axis("concat", p.axis, p.concat_dim, first.len())?;
    let mut top = first.to_vec();
    for (i, b) in l.bottoms.iter().enumerate().skip(1) {
        if b.len() != first.len() {
            return Err(err(format!(
                "All inputs must have the same #axes (bottom[0] {first:?}, bottom[{i}] {b:?})"
            )));
        }
        if (0..first.len()).any(|j| j != axis && first[j] != b[j]) {
            return Err(err(format!(
                "All inputs must have the same shape, except at concat_axis {axis} (bottom[0] {first:?}, bottom[{i}] {b:?})"
            )));
        }
        top[axis] = fit(top[axis].checked_add(b[axis]), "concatenated dimension")?;
    }
    Ok(tops_only(vec![blob(top)?], 0))
}

/// Slice along `axis` (or `slice_dim`) at `slice_point`s (strictly increasing, one fewer than
/// the tops), or into equal parts when none are given.
pub(super) fn slice(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.min_tops(1)?;
    let p = param_or_default(l.lp.slice_param());
    let bottom = l.bottom(0)?;
    let axis = pick_axis("slice", p.axis, p.slice_dim, bottom.len())?;
    let whole = bottom[axis];
    let n = l.n_tops() as i64;
    let sizes: Vec<i64> = if p.slice_point.is_empty() {
        if whole % n != 0 {
            return Err(err(format!(
                "Number of top blobs ({n}) should evenly divide input slice axis ({whole})"
            )));
        }
        vec![whole / n; l.n_tops()]
    } else {
        if p.slice_point.len() + 1 != l.n_tops() {
            return Err(err(format!(
                "{} slice_point(s) for {n} tops: give one fewer slice point than tops",
                p.slice_point.len()
            )));
        }
        if n > whole {
            return Err(err(format!(
                "{n} tops is more than the {whole} entries of slice axis {axis} (bottom {bottom:?})"
            )));
        }
        let mut prev = 0;
        let mut sizes = Vec::with_capacity(l.n_tops());
        for &sp in &p.slice_point {
            let sp = int(sp, "slice_point")?;
            if sp <= prev {
                return Err(err(format!(
                    "slice_point {sp} must be greater than the previous one ({prev})"
                )));
            }
            sizes.push(sp - prev);
            prev = sp;
        }
        if prev > whole {
            return Err(err(format!(
                "slice_point {prev} is beyond the slice axis size {whole}"
            )));
        }
        sizes.push(whole - prev);
        sizes
    };
    let tops = sizes
        .into_iter()
        .map(|s| {
            let mut t = bottom.to_vec();
            t[axis] = s;
            blob(t)
        })
        .collect::<Result<_, _>>()?;
    Ok(tops_only(tops, 0))
}

/// Split: every top is the bottom (Caffe's inserted Splits and written ones alike).
pub(super) fn split(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.min_tops(1)?;
    l.not_in_place()?;
    let bottom = l.bottom(0)?;
    Ok(tops_only(vec![bottom.clone(); l.n_tops()], 0))
}

/// Flatten the axes `axis..=end_axis` into one (when `end_axis` is just before `axis`, Caffe
/// inserts an axis of 1 there).
pub(super) fn flatten(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    l.not_in_place()?;
    let p = param_or_default(l.lp.flatten_param());
    let bottom = l.bottom(0)?;
    let start = canonical_axis(p.axis(), bottom.len())?;
    let end = canonical_axis(p.end_axis(), bottom.len())?;
    if start > end + 1 {
        return Err(err(format!(
            "Flatten axis {start} comes after end_axis {end}"
        )));
    }
    let flat = count_range(bottom, start, end + 1)?;
    let mut top = bottom[..start].to_vec();
    top.push(i64::try_from(flat).map_err(|_| err("flattened size overflows"))?);
    top.extend_from_slice(&bottom[end + 1..]);
    Ok(tops_only(vec![blob(top)?], 0))
}

/// Reshape: `shape` replaces the axes `axis..axis+num_axes` (`num_axes: -1` to the end); a
/// 0 copies the bottom's dimension at that position, one -1 is inferred from the count.
pub(super) fn reshape(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    l.not_in_place()?;
    let p = param_or_default(l.lp.reshape_param());
    let bottom = l.bottom(0)?;
    let new: Vec<i64> = p
        .shape
        .as_ref()
        .map_or(&[][..], |s| &s.dim[..])
        .iter()
        .map(|&d| int(d, "reshape dimension"))
        .collect::<Result<_, _>>()?;
    // LayerSetUp: the copied axes, the inferred axis, the product of the fixed dims.
    let mut inferred = None;
    let mut constant: i64 = 1;
    for (i, &d) in new.iter().enumerate() {
        match d {
            0 => {}
            -1 if inferred.is_some() => {
                return Err(err(
                    "new shape contains multiple -1 dims; at most a single (1) value of -1 may be specified",
                ))
            }
            -1 => inferred = Some(i),
            d if d < -1 => {
                return Err(err(format!(
                    "reshape dimension {d} is invalid (a dimension is positive, 0 to copy, or -1 to infer)"
                )))
            }
            d => {
                constant = constant
                    .checked_mul(d)
                    .ok_or_else(|| err("reshape dimensions overflow"))?
            }
        }
    }
    let len = bottom.len() as i64;
    let axis = i64::from(p.axis());
    let start = if axis >= 0 { axis } else { len + axis + 1 };
    if start < 0 || start > len {
        return Err(err(format!(
            "axis {axis} out of range for {len}-D input blob"
        )));
    }
    let num_axes = i64::from(p.num_axes());
    if num_axes < -1 {
        return Err(err("num_axes must be >= 0, or -1 for all"));
    }
    let end = if num_axes == -1 {
        len
    } else {
        start + num_axes
    };
    if end > len {
        return Err(err(format!(
            "end_axis = axis + num_axes ({end}) is out of range for {len}-D input blob"
        )));
    }
    let (start, end) = (start as usize, end as usize);
    let mut top = bottom[..start].to_vec();
    top.extend_from_slice(&new);
    top.extend_from_slice(&bottom[end..]);
    for (i, _) in new.iter().enumerate().filter(|(_, &d)| d == 0) {
        match bottom.get(start + i) {
            Some(&d) => top[start + i] = d,
            None => {
                return Err(err(
                    "new shape contains a 0, but there was no corresponding bottom axis to copy",
                ))
            }
        }
    }
    let total = count(bottom)?;
    if let Some(i) = inferred {
        let mut explicit = u64::try_from(constant).unwrap_or(0);
        let copied = new
            .iter()
            .enumerate()
            .filter(|(_, &d)| d == 0)
            .map(|(i, _)| top[start + i] as u64);
        for f in [
            count_range(bottom, 0, start)?,
            count_range(bottom, end, bottom.len())?,
        ]
        .into_iter()
        .chain(copied)
        {
            explicit = explicit
                .checked_mul(f)
                .ok_or_else(|| err("reshape dimensions overflow"))?;
        }
        if explicit == 0 {
            return Err(err(
                "cannot infer the -1 dimension: the other dimensions multiply to 0",
            ));
        }
        if total % explicit != 0 {
            return Err(err(format!(
                "bottom count ({total}) must be divisible by the product of the specified dimensions ({explicit})"
            )));
        }
        top[start + i] = (total / explicit) as i64;
    }
    let top = blob(top)?;
    if count(&top)? != total {
        return Err(err(format!(
            "output count must match input count: {top:?} has {} elements, bottom {bottom:?} has {total}",
            count(&top)?
        )));
    }
    Ok(tops_only(vec![top], 0))
}

/// Crop bottom[0] to bottom[1]'s size on the axes from `axis` on, at `offset` (one for all
/// axes or one per cropped axis; 0 by default).
pub(super) fn crop(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.crop_param());
    let (data, like) = (l.bottom(0)?, l.bottom(1)?);
    let start = canonical_axis(p.axis(), data.len())?;
    if p.offset.len() > 1 && start + p.offset.len() != data.len() {
        return Err(err(format!(
            "number of offset values specified ({}) must be equal to the number of dimensions following axis {start} ({})",
            p.offset.len(),
            data.len() - start
        )));
    }
    let mut top = data.to_vec();
    for (i, t) in top.iter_mut().enumerate().skip(start) {
        let size = dim(like, i as i64)?;
        let offset = match p.offset.as_slice() {
            [] => 0,
            [o] => int(*o, "offset")?,
            os => int(os[i - start], "offset")?,
        };
        if data[i] - offset < size {
            return Err(err(format!(
                "the crop for dimension {i} is out-of-bounds with size {size} and offset {offset} (bottom[0] {data:?})"
            )));
        }
        *t = size;
    }
    Ok(tops_only(vec![blob(top)?], 0))
}

/// Tile: `axis` repeated `tiles` times.
pub(super) fn tile(l: &Layer) -> RuleResult {
    l.exact_bottoms(1)?;
    l.exact_tops(1)?;
    let p = param_or_default(l.lp.tile_param());
    let bottom = l.bottom(0)?;
    let axis = canonical_axis(p.axis(), bottom.len())?;
    let Some(tiles) = p.tiles else {
        return Err(err("Number of tiles must be specified"));
    };
    if tiles <= 0 {
        return Err(err(format!(
            "Number of tiles must be positive (got {tiles})"
        )));
    }
    let mut top = bottom.to_vec();
    top[axis] = fit(top[axis].checked_mul(i64::from(tiles)), "tiled dimension")?;
    Ok(tops_only(vec![blob(top)?], 0))
}

/// Filter: the last bottom selects items (its dims after the first are 1); each other bottom
/// gives a top of its own shape. Which items pass is known only at run time; Caffe sizes the
/// tops for all of them at setup, and so does this rule.
pub(super) fn filter(l: &Layer) -> RuleResult {
    l.min_bottoms(2)?;
    l.min_tops(1)?;
    if l.n_tops() + 1 != l.n_bottoms() {
        return Err(err(format!(
            "Filter Layer needs one top per filtered bottom: {} bottoms (the last one selects), {} tops",
            l.n_bottoms(),
            l.n_tops()
        )));
    }
    let selector = l.bottom(l.n_bottoms() - 1)?;
    if selector.iter().skip(1).any(|&d| d != 1) {
        return Err(err(format!(
            "Selector blob dimensions must be singletons (1), except the first (selector {selector:?})"
        )));
    }
    let items = dim(selector, 0)?;
    let mut tops = Vec::with_capacity(l.n_tops());
    for b in &l.bottoms[..l.n_tops()] {
        if dim(b, 0)? != items {
            return Err(err(format!(
                "Each bottom should have the same 0th dimension as the selector blob ({b:?} vs. selector {selector:?})"
            )));
        }
        tops.push((*b).clone());
    }
    Ok(tops_only(tops, 0))
}

/// BatchReindex: gathers items of bottom[0] by the indices in bottom[1] (1-D): top
/// `[len(indices), bottom[0] dims after the first...]`.
pub(super) fn batch_reindex(l: &Layer) -> RuleResult {
    l.exact_bottoms(2)?;
    l.exact_tops(1)?;
    let (data, index) = (l.bottom(0)?, l.bottom(1)?);
    if index.len() != 1 {
        return Err(err(format!(
            "BatchReindex indices (bottom[1]) must have exactly 1 axis; got {index:?}"
        )));
    }
    let mut top = vec![index[0]];
    top.extend(data.iter().skip(1));
    Ok(tops_only(vec![blob(top)?], 0))
}

//! Rule results reused within one walk of a net. Deep nets repeat a few blocks many times
//! (ResNet-152 is 50 bottleneck blocks in four stages, alike within a stage), and the rules of the types they repeat
//! (a convolution's geometry, checks and fillers) cost thousands of instructions a layer; a
//! layer of the same type, with the same parameters and the same bottom shapes as one already
//! read gets the same result, so it is looked up instead.

use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::HashMap;

use super::{infer, Ctx, Out, RuleError, Shape};
use crate::proto::LayerParameter;

/// Whether `lp`'s result may be reused: a type whose rule is costly and reads nothing but the
/// layer's parameters, its bottoms' shapes and the walk's settings (no name of the layer, a
/// bottom or a top, and no `--input`), and no weights written into the file (`blobs`), which
/// a copy kept here would hold twice.
fn reused(lp: &LayerParameter) -> bool {
    let cheap_to_keep = lp.rare.as_ref().is_none_or(|r| r.blobs.is_empty());
    cheap_to_keep
        && matches!(
            lp.r#type(),
            "BatchNorm" | "Convolution" | "Deconvolution" | "InnerProduct" | "Pooling" | "Scale"
        )
}

/// Results kept at most: a net of all different layers gains nothing from more, and holds a
/// copy of each.
const KEPT: usize = 4096;

/// Results kept under one key (a type and bottom shapes) at most: each layer under that key is
/// compared with every one of them, so a net whose layers all differ in their parameters (a
/// generated one) would otherwise compare each with thousands. Real nets repeat a handful of
/// layers per shape.
const PER_KEY: usize = 16;

/// The results of one walk (one `Ctx`): a memo must not outlive it.
#[derive(Default)]
pub struct Memo {
    /// By a hash of the type and bottom shapes, where those layers' results are in `kept`;
    /// each is checked in full.
    seen: HashMap<u64, Vec<u32>>,
    /// The results, in the order they were read: a layer found alike is lent its result from
    /// here, without a second look-up of its key.
    kept: Vec<Seen>,
    hasher: foldhash::fast::FixedState,
}

/// A rule's result as `Memo::infer` gives it.
pub struct Found<'m> {
    /// Lent when a layer like this one was read before.
    pub out: Cow<'m, Out>,
    /// Where the memo keeps the result, if it does: every layer given the same place has the
    /// same result, so what a walk makes of it (its parameter blobs) can be made once.
    pub kept: Option<u32>,
}

struct Seen {
    layer: LayerParameter,
    bottoms: Vec<Shape>,
    out: Out,
}

impl Memo {
    /// Where the result of a layer like this one read before is: its key in `seen`, and its
    /// place in `kept` if it was kept.
    fn find(&self, lp: &LayerParameter, bottoms: &[&Shape]) -> (u64, Option<usize>) {
        // The type's bytes and the dims', without the lengths `Hash` would add for each list
        // (a fifth of the look-up): lists that differ only there share a key, and are told
        // apart by the full check.
        let mut hasher = self.hasher.build_hasher();
        hasher.write(lp.r#type().as_bytes());
        for dims in bottoms {
            i64::hash_slice(dims, &mut hasher);
        }
        let key = hasher.finish();
        let at = self.seen.get(&key).and_then(|alike| {
            alike.iter().map(|&i| i as usize).find(|&i| {
                let s = &self.kept[i];
                same_rule_input(&s.layer, lp, &s.bottoms, bottoms)
            })
        });
        (key, at)
    }

    /// `layers::infer`, or the result of a layer like this one read before, lent: the caller
    /// copies what it keeps, rather than every list of it (on the 100k-layer net, two
    /// allocations for each of 69k layers).
    pub fn infer(
        &mut self,
        lp: &LayerParameter,
        bottoms: &[&Shape],
        ctx: &Ctx,
    ) -> Option<Result<Found<'_>, RuleError>> {
        if !reused(lp) {
            let found = |out| Found {
                out: Cow::Owned(out),
                kept: None,
            };
            return infer(lp, bottoms, ctx).map(|r| r.map(found));
        }
        let (key, at) = self.find(lp, bottoms);
        if let Some(i) = at {
            // Alike, but not sharing its sub-messages: decoded by another of the reader's
            // threads, which shares only its own (`SharedSubs`). The next layers from that
            // thread are compared with this one instead, at once rather than field by field.
            let seen = &mut self.kept[i];
            if !seen.layer.sub.shared(&lp.sub) {
                seen.layer = lp.clone();
            }
            return Some(Ok(Found {
                out: Cow::Borrowed(&seen.out),
                kept: Some(i as u32),
            }));
        }
        let result = infer(lp, bottoms, ctx)?;
        // Only results: an error stops the walk, and is worded for its own layer.
        let mut kept = None;
        if let (Ok(out), true) = (&result, self.kept.len() < KEPT) {
            let alike = self.seen.entry(key).or_default();
            if alike.len() < PER_KEY {
                // Below `KEPT`, so 32 bits hold it.
                let i = self.kept.len() as u32;
                alike.push(i);
                self.kept.push(Seen {
                    layer: lp.clone(),
                    bottoms: bottoms.iter().map(|&b| b.clone()).collect(),
                    out: out.clone(),
                });
                kept = Some(i);
            }
        }
        Some(result.map(|out| Found {
            out: Cow::Owned(out),
            kept,
        }))
    }

    /// The parameter shapes of the result kept at `kept` (`Found::kept`).
    pub fn params(&self, kept: u32) -> &[Shape] {
        &self.kept[kept as usize].out.params
    }
}

/// Whether `lp` on `bottoms` is what `seen` was on `seen_bottoms`, names aside.
fn same_rule_input(
    seen: &LayerParameter,
    lp: &LayerParameter,
    seen_bottoms: &[Shape],
    bottoms: &[&Shape],
) -> bool {
    // Every field named: one added to the layer is compared, or left out here on purpose.
    // The parameter specs (multipliers, names) are read by the walk, never by a rule: not
    // compared, a layer's list is not read from memory here (a block of its own, on a net too
    // large for the cache).
    let LayerParameter {
        name: _,
        r#type,
        bottom,
        top,
        param: _,
        sub,
        rare,
    } = seen;
    // What tells apart layers under one key first (a block's convolutions on one bottom differ
    // in their sub-message); the type and the bottoms, which the key hashes, last.
    bottom.len() == lp.bottom.len()
        && top.len() == lp.top.len()
        // Nearly every layer shares its sub-messages with the others like it (SharedSubs):
        // those compare at once, without a call.
        && (sub.shared(&lp.sub) || sub.same(&lp.sub))
        && *rare == lp.rare
        && same_type(r#type, &lp.r#type)
        && seen_bottoms.len() == bottoms.len()
        && seen_bottoms.iter().zip(bottoms).all(|(a, b)| a == *b)
}

/// Whether two layers' types are equal: nearly always both one of `LAYER_TYPES`, the very same
/// string, known without reading it.
fn same_type(a: &Option<Cow<'static, str>>, b: &Option<Cow<'static, str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(&**a, &**b) || a == b,
        _ => a.is_none() && b.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Phase;
    use crate::proto::SharedSubs;
    use crate::textformat::MSG_LAYERPARAMETER;

    fn layer(text: &str) -> LayerParameter {
        crate::proto::read_text(text, MSG_LAYERPARAMETER).1
    }

    /// `memo.infer` of `lp` on `bottom`, in TEST, and whether its result was lent from the
    /// memo rather than computed.
    fn infer_lent(memo: &mut Memo, lp: &LayerParameter, bottom: &Shape) -> (Out, bool) {
        let given = Default::default();
        let ctx = Ctx {
            phase: Phase::Test,
            given: &given,
            pooling: Default::default(),
        };
        let found = memo.infer(lp, &[bottom], &ctx).unwrap().unwrap();
        let lent = matches!(found.out, Cow::Borrowed(_));
        (found.out.into_owned(), lent)
    }

    fn run(memo: &mut Memo, lp: &LayerParameter, bottom: &Shape) -> Out {
        infer_lent(memo, lp, bottom).0
    }

    /// Whether `lp`'s result is lent from the memo rather than computed.
    fn lent(memo: &mut Memo, lp: &LayerParameter, bottom: &Shape) -> bool {
        infer_lent(memo, lp, bottom).1
    }

    #[test]
    fn a_layer_like_one_read_before_gets_its_result() {
        let conv = |name: &str, n: u32| {
            layer(&format!(
                "name: '{name}' type: 'Convolution' bottom: 'x' top: '{name}' \
                 convolution_param {{ num_output: {n} kernel_size: 3 pad: 1 }}"
            ))
        };
        let (small, large) = (Shape::from([2, 8, 10, 10]), Shape::from([2, 8, 20, 20]));
        let mut memo = Memo::default();
        // 16 3x3 filters over 8 channels, padded: [2, 16, 10, 10], 2*16*10*10 outputs of 8*9
        // MACs each.
        let a = run(&mut memo, &conv("a", 16), &small);
        assert_eq!(a.tops, [vec![2, 16, 10, 10]]);
        assert_eq!(a.params, [vec![16, 8, 3, 3], vec![16]]);
        assert_eq!(a.macs, 230_400);
        // Named otherwise, alike in all else: the same result, remembered once.
        assert_eq!(run(&mut memo, &conv("b", 16), &small), a);
        assert_eq!(memo.kept.len(), 1);
        // Another parameter, another bottom shape: each its own.
        assert_eq!(
            run(&mut memo, &conv("c", 32), &small).tops,
            [vec![2, 32, 10, 10]]
        );
        assert_eq!(
            run(&mut memo, &conv("d", 16), &large).tops,
            [vec![2, 16, 20, 20]]
        );
        assert_eq!(memo.kept.len(), 3);
        // Looked up without running a rule: only what was read.
        assert_eq!(memo.find(&conv("e", 16), &[&small]).1, Some(0));
        assert_eq!(memo.find(&conv("f", 64), &[&small]).1, None);
        // Lent when remembered; computed (and remembered) otherwise.
        assert!(lent(&mut memo, &conv("g", 16), &small));
        assert!(!lent(&mut memo, &conv("h", 64), &small));
        assert!(lent(&mut memo, &conv("i", 64), &small));
        assert_eq!(memo.kept.len(), 4);
    }

    #[test]
    fn layers_sharing_their_sub_messages_are_alike_at_once() {
        // A NaN equals nothing, so these layers differ field by field; the two read with one
        // SharedSubs share their convolution_param, and are alike without looking into it.
        let text = "type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 4 \
                    kernel_size: 1 weight_filler { type: 'gaussian' std: nan } }";
        let wire = crate::textformat::parse(text.as_bytes(), MSG_LAYERPARAMETER)
            .unwrap()
            .wire;
        let mut shared = SharedSubs::default();
        let mut read_shared = || {
            let mut lp = LayerParameter::default();
            lp.merge_shared(&wire, &mut shared).unwrap();
            lp
        };
        let (a, b) = (read_shared(), read_shared());
        let apart = layer(text);
        assert_ne!(a, b);
        let bottom = Shape::from([1, 3, 5, 5]);
        let mut memo = Memo::default();
        assert_eq!(run(&mut memo, &a, &bottom).tops, [vec![1, 4, 5, 5]]);
        assert!(lent(&mut memo, &b, &bottom));
        assert!(!lent(&mut memo, &apart, &bottom));
        assert_eq!(memo.kept.len(), 2);
    }

    #[test]
    fn a_layer_alike_from_another_thread_is_compared_from_then_on() {
        // Two readers' threads, each sharing the sub-messages it decodes, not the other's.
        let text = "type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 4 \
                    kernel_size: 1 }";
        let wire = crate::textformat::parse(text.as_bytes(), MSG_LAYERPARAMETER)
            .unwrap()
            .wire;
        let read = |shared: &mut SharedSubs| {
            let mut lp = LayerParameter::default();
            lp.merge_shared(&wire, shared).unwrap();
            lp
        };
        let (mut first, mut second) = (SharedSubs::default(), SharedSubs::default());
        let (a, b) = (read(&mut first), read(&mut second));
        assert!(!a.sub.shared(&b.sub));
        assert!(a.sub.shared(&read(&mut first).sub));
        let bottom = Shape::from([1, 3, 5, 5]);
        let mut memo = Memo::default();
        assert_eq!(run(&mut memo, &a, &bottom).tops, [vec![1, 4, 5, 5]]);
        assert!(memo.kept[0].layer.sub.shared(&a.sub));
        // Alike field by field: lent, and the second thread's layer is the one kept since.
        assert!(lent(&mut memo, &b, &bottom));
        assert!(memo.kept[0].layer.sub.shared(&b.sub));
        assert!(lent(&mut memo, &read(&mut second), &bottom));
        assert_eq!(memo.kept.len(), 1);
    }

    #[test]
    fn few_layers_are_kept_alike() {
        // Convolutions alike but for their filler, on one bottom: all under one key.
        let conv = |std: usize| {
            layer(&format!(
                "type: 'Convolution' bottom: 'x' top: 'y' convolution_param {{ num_output: 4 \
                 kernel_size: 1 weight_filler {{ type: 'gaussian' std: {std} }} }}"
            ))
        };
        let bottom = Shape::from([1, 3, 5, 5]);
        let mut memo = Memo::default();
        for std in 0..=PER_KEY {
            assert!(!lent(&mut memo, &conv(std), &bottom));
        }
        assert_eq!(memo.kept.len(), PER_KEY);
        // The first ones are kept, the one past the limit is computed again.
        assert!(lent(&mut memo, &conv(0), &bottom));
        assert!(lent(&mut memo, &conv(PER_KEY - 1), &bottom));
        assert!(!lent(&mut memo, &conv(PER_KEY), &bottom));
        // Another bottom shape is another key.
        assert!(!lent(&mut memo, &conv(PER_KEY), &[1, 3, 6, 6].into()));
        assert_eq!(memo.kept.len(), PER_KEY + 1);
    }

    #[test]
    fn layers_alike_but_for_their_parameter_specs_share_a_result() {
        let conv = |specs: &str| {
            layer(&format!(
                "type: 'Convolution' bottom: 'x' top: 'y' {specs} \
                 convolution_param {{ num_output: 4 kernel_size: 1 }}"
            ))
        };
        let bottom = Shape::from([1, 3, 5, 5]);
        let mut memo = Memo::default();
        let out = run(&mut memo, &conv(""), &bottom);
        assert_eq!(out.params, [vec![4, 3, 1, 1], vec![4]]);
        assert!(lent(&mut memo, &conv("param { lr_mult: 0 }"), &bottom));
        let named = "param { name: 'w' lr_mult: 2 } param { name: 'b' decay_mult: 0 }";
        assert!(lent(&mut memo, &conv(named), &bottom));
        assert_eq!(memo.kept.len(), 1);
    }

    #[test]
    fn weights_written_in_the_file_are_not_kept() {
        let conv = layer(
            "type: 'Convolution' bottom: 'x' top: 'y' blobs { shape { dim: 2 } data: 1 data: 2 } \
             convolution_param { num_output: 4 kernel_size: 1 }",
        );
        let mut memo = Memo::default();
        let out = run(&mut memo, &conv, &[1, 3, 5, 5].into());
        assert_eq!(out.tops, [vec![1, 4, 5, 5]]);
        assert_eq!(memo.kept.len(), 0);
    }

    #[test]
    fn the_number_of_tops_tells_layers_apart() {
        // Max pooling makes its argmax mask too when given a second top.
        let pool = |tops: &str| {
            layer(&format!(
                "type: 'Pooling' bottom: 'x' {tops} \
                 pooling_param {{ pool: MAX kernel_size: 2 stride: 2 }}"
            ))
        };
        let bottom = Shape::from([1, 4, 8, 8]);
        let mut memo = Memo::default();
        let one = run(&mut memo, &pool("top: 'p'"), &bottom);
        assert_eq!(one.tops, [vec![1, 4, 4, 4]]);
        let two = run(&mut memo, &pool("top: 'p' top: 'mask'"), &bottom);
        assert_eq!(two.tops, [vec![1, 4, 4, 4], vec![1, 4, 4, 4]]);
        assert_eq!(memo.kept.len(), 2);
    }
}

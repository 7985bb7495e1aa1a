//! Property tests (issue 6): random valid nets (stacks of convolution, pooling, fully connected,
//! eltwise and concat blocks with random legal parameters) always build, and their reports
//! hold the invariants of SPEC §2-3: every shape positive and the one the formulas give, MACs
//! and parameters as the formulas count them, MACs linear in the batch, every memory total the
//! sum of its parts, and fixed + batch x per_sample = total at several batches.

use caffe_mem::layers::Phase;
use caffe_mem::pipeline::{self, Options};
use proptest::prelude::*;
use serde_json::Value;

/// One block of a generated net, as raw numbers: `Net::build` turns them into parameters that
/// are legal for the shape the block receives, so every generated net is valid.
#[derive(Debug, Clone)]
struct Block {
    kind: u8,
    a: u32,
    b: u32,
    c: u32,
    d: u32,
}

#[derive(Debug, Clone)]
struct Spec {
    /// Input: batch, channels, height, width.
    input: [i64; 4],
    blocks: Vec<Block>,
    /// Ends in InnerProduct + SoftmaxWithLoss on a label input.
    loss: Option<u32>,
    train: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    let block = (
        0u8..6,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(kind, a, b, c, d)| Block { kind, a, b, c, d });
    (
        (1i64..=3, 1i64..=8, 1i64..=24, 1i64..=24),
        prop::collection::vec(block, 0..14),
        prop::option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(|((n, c, h, w), blocks, loss, train)| Spec {
            input: [n, c, h, w],
            blocks,
            loss,
            train,
        })
}

/// Convolution parameters, legal for the shape they are used on.
#[derive(Debug, Clone, Copy)]
struct Conv {
    kernel: i64,
    pad: i64,
    stride: i64,
    dilation: i64,
    /// Picks the group among the common divisors of the channels in and out.
    group_seed: u32,
    bias: bool,
}

impl Conv {
    /// 1x1, stride 1: keeps H and W.
    fn one(blk: &Block) -> Conv {
        Conv {
            kernel: 1,
            pad: 0,
            stride: 1,
            dilation: 1,
            group_seed: blk.a >> 8,
            bias: blk.d & 32 == 0,
        }
    }

    fn with_kernel(self, kernel: i64, pad: i64) -> Conv {
        Conv {
            kernel,
            pad,
            ..self
        }
    }
}

/// A net being written, with what the formulas say it will be.
struct Net {
    text: String,
    layers: usize,
    /// The current blob and its shape without the batch axis ([C, H, W] or [F]).
    blob: String,
    shape: Vec<i64>,
    /// Every blob the file names, with its shape without the batch axis.
    expected: Vec<(String, Vec<i64>)>,
    macs_per_sample: u64,
    params: u64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Net {
    fn layer(&mut self, ty: &str, bottoms: &[&str], top: &str, shape: Vec<i64>, body: &str) {
        let name = format!("l{}", self.layers);
        self.layers += 1;
        let bottoms: String = bottoms.iter().map(|b| format!(" bottom: '{b}'")).collect();
        self.text.push_str(&format!(
            "layer {{ name: '{name}' type: '{ty}'{bottoms} top: '{top}' {body} }}\n"
        ));
        if !self.expected.iter().any(|(b, _)| b == top) {
            self.expected.push((top.to_string(), shape));
        }
    }

    fn fresh(&self) -> String {
        format!("b{}", self.expected.len())
    }

    /// A convolution of `from` (shape `[C, H, W]`); returns its top and shape. The kernel must
    /// fit: `dilation * (kernel - 1) + 1 <= H + 2 * pad` (and W).
    fn conv(&mut self, from: &str, shape: &[i64], nout: i64, p: Conv) -> (String, Vec<i64>) {
        let (c, h, w) = (shape[0], shape[1], shape[2]);
        let Conv {
            kernel: k,
            pad,
            stride,
            dilation,
            group_seed,
            bias,
        } = p;
        let divisors: Vec<i64> = (1..=gcd(c, nout))
            .filter(|g| c % g == 0 && nout % g == 0)
            .collect();
        let group = divisors[group_seed as usize % divisors.len()];
        let extent = dilation * (k - 1) + 1;
        let (ho, wo) = (
            (h + 2 * pad - extent) / stride + 1,
            (w + 2 * pad - extent) / stride + 1,
        );
        let top = self.fresh();
        let out = vec![nout, ho, wo];
        self.layer(
            "Convolution",
            &[from],
            &top,
            out.clone(),
            &format!(
                "convolution_param {{ num_output: {nout} kernel_size: {k} pad: {pad} stride: {stride} \
                 dilation: {dilation} group: {group} bias_term: {bias} }}"
            ),
        );
        let kernel = (c / group * k * k) as u64;
        self.macs_per_sample += (nout * ho * wo) as u64 * kernel;
        self.params += nout as u64 * kernel + if bias { nout as u64 } else { 0 };
        (top, out)
    }

    /// A convolution with random legal parameters.
    fn random_conv(&mut self, from: &str, shape: &[i64], blk: &Block) -> (String, Vec<i64>) {
        let pad = i64::from(blk.c % 3);
        let room = (shape[1] + 2 * pad).min(shape[2] + 2 * pad);
        let dilation = if blk.d & 16 != 0 { 2 } else { 1 };
        let kmax = ((room - 1) / dilation + 1).min(5);
        let p = Conv {
            kernel: 1 + i64::from(blk.b) % kmax,
            pad,
            stride: 1 + i64::from(blk.d % 3),
            dilation,
            group_seed: blk.a >> 8,
            bias: blk.d & 32 == 0,
        };
        self.conv(from, shape, 1 + i64::from(blk.a % 12), p)
    }

    /// A fully connected layer over all of `from`'s non-batch axes.
    fn fc(&mut self, from: &str, shape: &[i64], nout: i64, bias: bool) -> (String, Vec<i64>) {
        let k: i64 = shape.iter().product();
        let top = self.fresh();
        self.layer(
            "InnerProduct",
            &[from],
            &top,
            vec![nout],
            &format!("inner_product_param {{ num_output: {nout} bias_term: {bias} }}"),
        );
        self.macs_per_sample += (k * nout) as u64;
        self.params += (k * nout) as u64 + if bias { nout as u64 } else { 0 };
        (top, vec![nout])
    }

    /// Caffe's pooled size (pooling_layer.cpp): rounded up, minus one when the last window
    /// would start in the padding.
    fn pooled(size: i64, k: i64, pad: i64, stride: i64) -> i64 {
        let mut out = (size + 2 * pad - k + stride - 1) / stride + 1;
        if pad > 0 && (out - 1) * stride >= size + pad {
            out -= 1;
        }
        out
    }

    fn block(&mut self, blk: &Block) {
        let from = self.blob.clone();
        let shape = self.shape.clone();
        let spatial = shape.len() == 3;
        let (top, out) = match blk.kind {
            0 if spatial => self.random_conv(&from, &shape, blk),
            1 if spatial => {
                let (h, w) = (shape[1], shape[2]);
                let top = self.fresh();
                let method = if blk.a & 1 == 0 { "MAX" } else { "AVE" };
                if blk.a % 5 == 4 {
                    let out = vec![shape[0], 1, 1];
                    let body = format!("pooling_param {{ pool: {method} global_pooling: true }}");
                    self.layer("Pooling", &[&from], &top, out.clone(), &body);
                    (top, out)
                } else {
                    let k = 1 + i64::from(blk.b) % h.min(w).min(4);
                    let pad = i64::from(blk.c) % k;
                    let stride = 1 + i64::from(blk.d % 3);
                    let out = vec![
                        shape[0],
                        Self::pooled(h, k, pad, stride),
                        Self::pooled(w, k, pad, stride),
                    ];
                    let body = format!(
                        "pooling_param {{ pool: {method} kernel_size: {k} pad: {pad} stride: {stride} }}"
                    );
                    self.layer("Pooling", &[&from], &top, out.clone(), &body);
                    (top, out)
                }
            }
            2 => {
                // In place: the blob keeps its name and shape.
                self.layer("ReLU", &[&from], &from, shape.clone(), "");
                (from, shape)
            }
            3 => {
                let nout = 1 + i64::from(blk.a % 32);
                self.fc(&from, &shape, nout, blk.b & 1 == 0)
            }
            4 => {
                // A residual block: a same-shape branch, combined with its input (the input
                // then has two consumers, so Caffe inserts a Split).
                let (branch, bshape) = if spatial {
                    // 3x3, pad 1, stride 1 keeps H and W.
                    let same = Conv::one(blk).with_kernel(3, 1);
                    self.conv(&from, &shape, shape[0], same)
                } else {
                    self.fc(&from, &shape, shape[0], true)
                };
                debug_assert_eq!(bshape, shape);
                let op = ["SUM", "PROD", "MAX"][blk.a as usize % 3];
                let top = self.fresh();
                let body = format!("eltwise_param {{ operation: {op} }}");
                self.layer("Eltwise", &[&from, &branch], &top, shape.clone(), &body);
                (top, shape)
            }
            _ => {
                // Two branches of different widths, concatenated along the channels.
                let n1 = 1 + i64::from(blk.a % 8);
                let n2 = 1 + i64::from(blk.b % 8);
                let (t1, t2) = if spatial {
                    (
                        self.conv(&from, &shape, n1, Conv::one(blk)).0,
                        self.conv(&from, &shape, n2, Conv::one(blk)).0,
                    )
                } else {
                    (
                        self.fc(&from, &shape, n1, true).0,
                        self.fc(&from, &shape, n2, false).0,
                    )
                };
                let mut out = shape.clone();
                out[0] = n1 + n2;
                let top = self.fresh();
                self.layer("Concat", &[&t1, &t2], &top, out.clone(), "");
                (top, out)
            }
        };
        self.blob = top;
        self.shape = out;
    }

    fn build(spec: &Spec) -> Net {
        let [n, c, h, w] = spec.input;
        let mut net = Net {
            text: "name: 'generated'\n".to_string(),
            layers: 0,
            blob: "data".to_string(),
            shape: vec![c, h, w],
            expected: Vec::new(),
            macs_per_sample: 0,
            params: 0,
        };
        let body = format!("input_param {{ shape {{ dim: {n} dim: {c} dim: {h} dim: {w} }} }}");
        net.layer("Input", &[], "data", vec![c, h, w], &body);
        for blk in &spec.blocks {
            net.block(blk);
        }
        if let Some(classes) = spec.loss {
            let body = format!("input_param {{ shape {{ dim: {n} }} }}");
            net.layer("Input", &[], "label", vec![], &body);
            let (from, shape) = (net.blob.clone(), net.shape.clone());
            let (scores, _) = net.fc(&from, &shape, 2 + i64::from(classes % 9), true);
            net.layer("SoftmaxWithLoss", &[&scores, "label"], "loss", vec![], "");
        }
        net
    }
}

/// The JSON report of `text` in `phase` at `batch`; an error fails the property.
fn report(text: &str, phase: Phase, batch: Option<i64>) -> Result<Value, TestCaseError> {
    let opts = Options {
        phase: Some(phase),
        batch,
        ..Options::default()
    };
    let analyzed = pipeline::analyze_bytes(&opts, "generated.prototxt".into(), text.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("a valid net was refused: {e}\n{text}")))?;
    Ok(serde_json::to_value(pipeline::report(analyzed)).unwrap())
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{v} is not an unsigned integer"))
}

/// (fixed, per_sample, total) of a memory figure.
fn figure(v: &Value) -> (u64, u64, u64) {
    (u(&v["fixed"]), u(&v["per_sample"]), u(&v["total"]))
}

/// Every memory model's figures: each part and the whole satisfy fixed + batch x per_sample =
/// total, and the whole is the sum of its parts.
fn check_memory(r: &Value, batch: u64) -> Result<(), TestCaseError> {
    let memory = &r["memory"];
    prop_assert_eq!(u(&memory["batch"]), batch);
    for model in ["caffe", "ideal"] {
        let m = &memory[model];
        let parts = m["parts"].as_object().expect("parts");
        prop_assert!(!parts.is_empty());
        let mut sum = (0u64, 0u64, 0u64);
        for (name, part) in parts {
            let (fixed, per_sample, total) = figure(part);
            prop_assert_eq!(fixed + batch * per_sample, total, "{} {}", model, name);
            sum = (sum.0 + fixed, sum.1 + per_sample, sum.2 + total);
        }
        let whole = figure(m);
        prop_assert_eq!(
            whole,
            sum,
            "{}: the total is not the sum of its parts",
            model
        );
        prop_assert_eq!(whole.0 + batch * whole.1, whole.2, "{}", model);
    }
    Ok(())
}

/// The report's blobs, by name, with their shapes.
fn blob_shapes(r: &Value) -> Vec<(String, Vec<i64>)> {
    r["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let shape = b["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_i64().unwrap())
                .collect();
            (b["name"].as_str().unwrap().to_string(), shape)
        })
        .collect()
}

fn check(spec: &Spec) -> Result<(), TestCaseError> {
    let net = Net::build(spec);
    let phase = if spec.train {
        Phase::Train
    } else {
        Phase::Test
    };
    let own = report(&net.text, phase, None)?;
    let batch = spec.input[0] as u64;
    check_memory(&own, batch)?;

    // Shapes: positive everywhere, and every named blob as the formulas give it.
    let shapes = blob_shapes(&own);
    for (name, shape) in &shapes {
        prop_assert!(shape.iter().all(|&d| d > 0), "{}: {:?}", name, shape);
    }
    for (name, per_sample) in &net.expected {
        let mut want = vec![spec.input[0]];
        want.extend(per_sample);
        let got = shapes.iter().find(|(n, _)| n == name).map(|(_, s)| s);
        if name == "loss" {
            prop_assert_eq!(got, Some(&Vec::new()), "the loss is a scalar");
        } else {
            prop_assert_eq!(got, Some(&want), "blob {}", name);
        }
    }
    let totals = &own["totals"];
    prop_assert_eq!(u(&totals["params"]), net.params);
    prop_assert_eq!(u(&totals["macs"]), batch * net.macs_per_sample);

    // Other batches: MACs scale linearly, parameters do not move, and the memory figures are
    // the ones the first report's fixed and per-sample parts predict.
    let one = report(&net.text, phase, Some(1))?;
    for b in [1u64, 2, 5] {
        let r = report(&net.text, phase, Some(b as i64))?;
        check_memory(&r, b)?;
        for key in ["macs", "flops", "backward_macs"] {
            prop_assert_eq!(
                u(&r["totals"][key]),
                b * u(&one["totals"][key]),
                "{} at batch {}",
                key,
                b
            );
        }
        prop_assert_eq!(&r["totals"]["params"], &totals["params"]);
        for model in ["caffe", "ideal"] {
            let (fixed, per_sample, _) = figure(&own["memory"][model]);
            prop_assert_eq!(
                u(&r["memory"][model]["total"]),
                fixed + b * per_sample,
                "{} at batch {}",
                model,
                b
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES=100000 for a deeper run.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500),
        // Failures are reported with the net's text, to be kept under testdata/regressions/.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_valid_nets_build_and_keep_the_invariants(spec in spec()) {
        check(&spec)?;
    }
}

/// The generator's own corner: the smallest input, every block kind once, in both phases.
#[test]
fn every_block_kind_on_a_one_pixel_input() {
    let blocks: Vec<Block> = (0..6)
        .map(|kind| Block {
            kind,
            a: 7,
            b: 3,
            c: 2,
            d: 1,
        })
        .collect();
    for train in [false, true] {
        let spec = Spec {
            input: [1, 1, 1, 1],
            blocks: blocks.clone(),
            loss: Some(3),
            train,
        };
        check(&spec).unwrap_or_else(|e| panic!("{e}"));
    }
}

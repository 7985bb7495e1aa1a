//! Generated ResNet-like nets for the benchmarks: bottleneck blocks (1x1, 3x3, 1x1 convolutions,
//! each followed by BatchNorm, Scale and ReLU, a projection shortcut at each stage's start, an
//! Eltwise sum), written the way train_val files are: two-space nested blocks, `param` blocks
//! with learning-rate multipliers, fillers, comments on their own lines and after values. Every
//! block input feeds two consumers, so Caffe (and caffe-mem) insert a Split per block.
//!
//! Shared by `examples/gen_net.rs` (files for scripts/bench.sh) and the criterion benches, so
//! both measure the same text.

use std::fmt::Write as _;

/// Layers outside the blocks: Input, conv1, its BatchNorm/Scale/ReLU, pool1; pool5, fc, prob.
const FIXED_LAYERS: usize = 9;
/// Layers of a bottleneck block without a projection.
const BLOCK_LAYERS: usize = 13;
/// A stage's first block adds a projection: convolution, BatchNorm, Scale.
const PROJECTION_LAYERS: usize = 3;
/// ResNet's four stages.
const STAGES: usize = 4;

/// A ResNet-like net of about `layers` layers (the exact count is returned with the text; it is
/// within one block of the request), batch 1 at 224x224.
pub fn resnet(layers: usize) -> (String, usize) {
    let fixed = FIXED_LAYERS + STAGES * PROJECTION_LAYERS;
    let blocks = (layers.saturating_sub(fixed) + BLOCK_LAYERS / 2) / BLOCK_LAYERS;
    let blocks = blocks.max(STAGES);
    // ResNet-50's 3-4-6-3 split, scaled: most blocks in the middle stages.
    let weights = [3, 4, 6, 3];
    let total: usize = weights.iter().sum();
    let mut per_stage: Vec<usize> = weights
        .iter()
        .map(|w| (blocks * w / total).max(1))
        .collect();
    let assigned: usize = per_stage.iter().sum();
    per_stage[2] += blocks - assigned.min(blocks);

    let mut s = String::with_capacity(layers * 260);
    let mut count = 0;
    s.push_str("# A ResNet-like bottleneck network, generated for caffe-mem's benchmarks.\n");
    let _ = writeln!(s, "# {blocks} bottleneck blocks in {STAGES} stages.\n");
    s.push_str("name: \"ResNet-generated\"\n");
    s.push_str(concat!(
        "layer {\n",
        "  name: \"data\"\n",
        "  type: \"Input\"\n",
        "  top: \"data\"\n",
        "  input_param {\n",
        "    shape { dim: 1 dim: 3 dim: 224 dim: 224 }\n",
        "  }\n",
        "}\n",
    ));
    count += 1;
    count += conv_bn(&mut s, "conv1", "data", "conv1", 64, 7, 2, 3, true);
    s.push_str(concat!(
        "layer {\n",
        "  name: \"pool1\"\n",
        "  type: \"Pooling\"\n",
        "  bottom: \"conv1\"\n",
        "  top: \"pool1\"\n",
        "  pooling_param {\n",
        "    pool: MAX\n",
        "    kernel_size: 3\n",
        "    stride: 2\n",
        "  }\n",
        "}\n",
    ));
    count += 1;

    let mut input = "pool1".to_string();
    for (stage, &n) in per_stage.iter().enumerate() {
        let width = 64 << stage;
        let _ = writeln!(
            s,
            "\n# ---- stage {}: {n} blocks, {width} wide ----",
            stage + 2
        );
        for b in 0..n {
            let name = format!("res{}_{b}", stage + 2);
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            let _ = writeln!(s, "# block {name}");
            let shortcut = if b == 0 {
                let proj = format!("{name}_branch1");
                count += conv_bn(&mut s, &proj, &input, &proj, width * 4, 1, stride, 0, false);
                proj
            } else {
                input.clone()
            };
            let a = format!("{name}_branch2a");
            let bb = format!("{name}_branch2b");
            let c = format!("{name}_branch2c");
            count += conv_bn(&mut s, &a, &input, &a, width, 1, stride, 0, true);
            count += conv_bn(&mut s, &bb, &a, &bb, width, 3, 1, 1, true);
            count += conv_bn(&mut s, &c, &bb, &c, width * 4, 1, 1, 0, false);
            let _ = write!(
                s,
                concat!(
                    "layer {{\n",
                    "  name: \"{n}\"\n",
                    "  type: \"Eltwise\"\n",
                    "  bottom: \"{short}\"\n",
                    "  bottom: \"{c}\"\n",
                    "  top: \"{n}\"\n",
                    "  eltwise_param {{ operation: SUM }}  # identity + residual\n",
                    "}}\n",
                    "layer {{\n",
                    "  name: \"{n}_relu\"\n",
                    "  type: \"ReLU\"\n",
                    "  bottom: \"{n}\"\n",
                    "  top: \"{n}\"\n",
                    "}}\n",
                ),
                n = name,
                short = shortcut,
                c = c,
            );
            count += 2;
            input = name;
        }
    }
    let _ = write!(
        s,
        concat!(
            "\n# ---- classifier ----\n",
            "layer {{\n",
            "  name: \"pool5\"\n",
            "  type: \"Pooling\"\n",
            "  bottom: \"{input}\"\n",
            "  top: \"pool5\"\n",
            "  pooling_param {{\n",
            "    pool: AVE\n",
            "    global_pooling: true\n",
            "  }}\n",
            "}}\n",
            "layer {{\n",
            "  name: \"fc1000\"\n",
            "  type: \"InnerProduct\"\n",
            "  bottom: \"pool5\"\n",
            "  top: \"fc1000\"\n",
            "  param {{ lr_mult: 1 decay_mult: 1 }}\n",
            "  param {{ lr_mult: 2 decay_mult: 0 }}\n",
            "  inner_product_param {{\n",
            "    num_output: 1000\n",
            "    weight_filler {{ type: \"xavier\" }}\n",
            "    bias_filler {{ type: \"constant\" value: 0 }}\n",
            "  }}\n",
            "}}\n",
            "layer {{\n",
            "  name: \"prob\"\n",
            "  type: \"Softmax\"\n",
            "  bottom: \"fc1000\"\n",
            "  top: \"prob\"\n",
            "}}\n",
        ),
        input = input,
    );
    count += 3;
    (s, count)
}

/// A bias-free convolution with its BatchNorm and Scale (and ReLU when `relu`), in place after
/// the convolution as ResNet writes them. Returns the number of layers written.
#[allow(clippy::too_many_arguments)]
fn conv_bn(
    s: &mut String,
    name: &str,
    bottom: &str,
    top: &str,
    num_output: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    relu: bool,
) -> usize {
    let _ = write!(
        s,
        concat!(
            "layer {{\n",
            "  name: \"{name}\"\n",
            "  type: \"Convolution\"\n",
            "  bottom: \"{bottom}\"\n",
            "  top: \"{top}\"\n",
            "  param {{\n",
            "    lr_mult: 1\n",
            "    decay_mult: 1\n",
            "  }}\n",
            "  convolution_param {{\n",
            "    num_output: {num_output}\n",
            "    kernel_size: {kernel}  # {kernel}x{kernel}\n",
            "    stride: {stride}\n",
            "    pad: {pad}\n",
            "    bias_term: false\n",
            "    weight_filler {{\n",
            "      type: \"msra\"\n",
            "    }}\n",
            "  }}\n",
            "}}\n",
            "layer {{\n",
            "  name: \"bn_{name}\"\n",
            "  type: \"BatchNorm\"\n",
            "  bottom: \"{top}\"\n",
            "  top: \"{top}\"\n",
            "  param {{ lr_mult: 0 decay_mult: 0 }}\n",
            "  param {{ lr_mult: 0 decay_mult: 0 }}\n",
            "  param {{ lr_mult: 0 decay_mult: 0 }}\n",
            "  batch_norm_param {{\n",
            "    use_global_stats: true\n",
            "    eps: 1e-5\n",
            "  }}\n",
            "}}\n",
            "layer {{\n",
            "  name: \"scale_{name}\"\n",
            "  type: \"Scale\"\n",
            "  bottom: \"{top}\"\n",
            "  top: \"{top}\"\n",
            "  scale_param {{ bias_term: true }}\n",
            "}}\n",
        ),
        name = name,
        bottom = bottom,
        top = top,
        num_output = num_output,
        kernel = kernel,
        stride = stride,
        pad = pad,
    );
    if relu {
        let _ = write!(
            s,
            concat!(
                "layer {{\n",
                "  name: \"{name}_relu\"\n",
                "  type: \"ReLU\"\n",
                "  bottom: \"{top}\"\n",
                "  top: \"{top}\"\n",
                "}}\n",
            ),
            name = name,
            top = top,
        );
        4
    } else {
        3
    }
}

//! Small generated nets for the growth benchmark (benches/growth.rs) and scripts/bench.sh
//! (through `gen_net --shape`).

use std::fmt::Write as _;

/// Nets whose size could expose work that grows faster than the layers: each is an Input and
/// `n` generated layers. Every layer of a chain reads the one before; every layer of a fan-out
/// reads the input (so one Split gets a top per layer); every convolution of `Shared` reads
/// the input and shares one weight blob by name with all the others; `Distinct` is a chain
/// whose convolutions each have a filler of their own, so that no two are alike (the rules'
/// memo, keyed by type and bottom shapes, finds none of them again).
#[derive(Clone, Copy, Debug)]
pub enum Growth {
    Chain,
    FanOut,
    Shared,
    Distinct,
}

impl Growth {
    pub const ALL: [Growth; 4] = [
        Growth::Chain,
        Growth::FanOut,
        Growth::Shared,
        Growth::Distinct,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Growth::Chain => "chain",
            Growth::FanOut => "fan-out",
            Growth::Shared => "shared",
            Growth::Distinct => "distinct",
        }
    }

    /// The net's text: `n` layers after the input, one per line.
    pub fn net(self, n: usize) -> String {
        let mut s = String::from(
            "layer { name: 'in' type: 'Input' top: 'b0' input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }\n",
        );
        for i in 0..n {
            let _ = match self {
                Growth::Chain => writeln!(
                    s,
                    "layer {{ name: 'c{i}' type: 'Convolution' bottom: 'b{i}' top: 'b{}' convolution_param {{ num_output: 2 kernel_size: 1 }} }}",
                    i + 1
                ),
                Growth::FanOut => {
                    writeln!(s, "layer {{ name: 'r{i}' type: 'ReLU' bottom: 'b0' top: 'r{i}' }}")
                }
                Growth::Shared => writeln!(
                    s,
                    "layer {{ name: 'c{i}' type: 'Convolution' bottom: 'b0' top: 'c{i}' param {{ name: 'w' }} convolution_param {{ num_output: 2 kernel_size: 1 bias_term: false }} }}"
                ),
                Growth::Distinct => writeln!(
                    s,
                    "layer {{ name: 'c{i}' type: 'Convolution' bottom: 'b{i}' top: 'b{}' convolution_param {{ num_output: 2 kernel_size: 1 weight_filler {{ type: 'gaussian' std: {i} }} }} }}",
                    i + 1
                ),
            };
        }
        s
    }
}

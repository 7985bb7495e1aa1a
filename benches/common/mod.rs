//! What the benchmarks read: the same nets for the reader and the walker.

pub mod gen;

/// The binary's allocator (src/main.rs), so the stages are timed as the tool runs them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;

/// One net to measure: a short name for criterion's report and the file's text.
pub struct Net {
    pub name: String,
    pub text: Vec<u8>,
}

/// The corpus's largest nets (by size), read when `../shared/corpus` is beside the project.
const CORPUS: &[&str] = &[
    "soeaver__caffe-model/cls/inception/deploy_inception-resnet-v2.prototxt",
    "hujie-frank__SENet/models/SENet-154.prototxt",
];

/// A tiny net (AlexNet's deploy), the corpus's largest, and generated ResNet-like nets of 1k,
/// 10k and 100k layers.
pub fn nets() -> Vec<Net> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut nets = vec![Net {
        name: "tiny-alexnet".to_string(),
        text: std::fs::read(root.join("testdata/alexnet.prototxt")).expect("testdata"),
    }];
    for rel in CORPUS {
        let path = root.join("../shared/corpus").join(rel);
        match std::fs::read(&path) {
            Ok(text) => nets.push(Net {
                name: Path::new(rel)
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                text,
            }),
            Err(_) => eprintln!("skipping {}: not found", path.display()),
        }
    }
    for (layers, name) in [
        (1_000, "resnet-1k"),
        (10_000, "resnet-10k"),
        (100_000, "resnet-100k"),
    ] {
        nets.push(Net {
            name: name.to_string(),
            text: gen::resnet(layers).0.into_bytes(),
        });
    }
    nets
}

/// Criterion wants at least 10 samples; a second-long run is measured that many times and no
/// more.
pub fn sample_size(net: &Net) -> usize {
    if net.text.len() > 1 << 20 {
        10
    } else {
        50
    }
}

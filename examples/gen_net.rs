//! Writes a generated ResNet-like prototxt of about N layers, for scripts/bench.sh:
//! `cargo run --release --example gen_net -- 100000 net.prototxt` (no path: stdout).
//! The exact number of layers goes to stderr.

#[path = "../benches/common/gen.rs"]
mod gen;

use std::io::Write as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(layers) = args.next().and_then(|n| n.parse::<usize>().ok()) else {
        eprintln!("usage: gen_net LAYERS [OUT]");
        std::process::exit(2);
    };
    let (text, count) = gen::resnet(layers);
    let written = match args.next() {
        Some(path) => std::fs::write(&path, &text),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    if let Err(e) = written {
        eprintln!("gen_net: {e}");
        std::process::exit(2);
    }
    eprintln!("{count} layers, {} bytes", text.len());
}

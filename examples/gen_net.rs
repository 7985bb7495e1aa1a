//! Writes a generated prototxt of about N layers, for scripts/bench.sh:
//! `cargo run --release --example gen_net -- 100000 net.prototxt` (no path: stdout) writes a
//! ResNet-like net; `gen_net --shape chain|fan-out|shared|distinct N [OUT]` one of the nets that show
//! whether the time grows linearly (benches/common/growth.rs). The exact number of
//! layers goes to stderr.

#[path = "../benches/common/gen.rs"]
mod gen;
#[path = "../benches/common/growth.rs"]
mod growth;

use std::io::Write as _;

fn usage() -> ! {
    eprintln!("usage: gen_net [--shape chain|fan-out|shared|distinct] LAYERS [OUT]");
    std::process::exit(2);
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let growth = if args.first().map(String::as_str) == Some("--shape") {
        let Some(shape) = args
            .get(1)
            .and_then(|s| growth::Growth::ALL.into_iter().find(|g| g.name() == s))
        else {
            usage()
        };
        args.drain(..2);
        Some(shape)
    } else {
        None
    };
    let mut args = args.into_iter();
    let Some(layers) = args.next().and_then(|n| n.parse::<usize>().ok()) else {
        usage()
    };
    let (text, count) = match growth {
        Some(shape) => (shape.net(layers), layers + 1),
        None => gen::resnet(layers),
    };
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

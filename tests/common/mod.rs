//! Shared by the integration tests: where `../shared` is, and walking its golden files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `../shared` beside the project. CI always has it; without CI a missing folder skips the
/// corpus tests with a message, under CI it fails them.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("corpus").is_dir() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!("../shared is missing ({}): CI must provide it", p.display());
    }
    eprintln!("skipping: ../shared not found at {}", p.display());
    None
}

/// Every `*.json` golden under `dir` except the summaries, sorted; `variants/` and `upgraded/`
/// hold nets, not goldens.
pub fn golden_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if d == dir && (name == "variants" || name == "upgraded") {
                    continue;
                }
                stack.push(p);
            } else if (name.ends_with(".TEST.json") || name.ends_with(".TRAIN.json"))
                && !name.starts_with("SUMMARY")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A golden's list of shapes (`top_shapes`, `param_shapes`) as dims.
pub fn shapes(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    s.as_array()
                        .expect("a shape is a list")
                        .iter()
                        .map(|d| d.as_i64().expect("a dim is an integer"))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

// The list the unit tests use (src/net_files.rs), compiled into the integration tests too.
#[path = "../../src/net_files.rs"]
mod net_files;

/// Every `*.prototxt` of testdata and of ../shared/corpus, sorted.
pub fn net_files() -> Vec<PathBuf> {
    net_files::all()
}

/// `big_net(20_000)` where layer 15000 (line 15002, column 97) has a negative unsigned
/// number: an error late in a long file, for the readers that cut it.
pub fn big_net_with_a_bad_number() -> String {
    let mut lines: Vec<String> = big_net(20_000).lines().map(String::from).collect();
    lines[15_001] = lines[15_001].replacen("num_output: 8", "num_output: -8", 1);
    lines.join("\n")
}

/// `(line, col, message)` of a parse error.
pub fn error_place(e: &caffe_mem::error::Error) -> (u32, u32, String) {
    let (_, pos) = e.location().expect("a parse error");
    let pos = pos.expect("with a position");
    (pos.line, pos.col, e.to_string())
}

/// `text` without indentation: lines inside layers then begin at column 1 too, as a root
/// field's do, which is where the readers that cut a text may cut it.
pub fn unindented(text: &[u8]) -> Vec<u8> {
    text.split(|&b| b == b'\n')
        .map(|line| line.trim_ascii_start())
        .collect::<Vec<_>>()
        .join(&b'\n')
}

/// A net of `layers` convolutions, a line each, after `name:` on line 1: layer `i` is on line
/// `i + 2`. 20,000 of them are over a MiB, which the readers cut (`parse_split`) or read in
/// pieces (`load`).
pub fn big_net(layers: usize) -> String {
    let mut text = String::from("name: 'big'\n");
    for i in 0..layers {
        text.push_str(&format!(
            "layer {{ name: 'c{i}' type: 'Convolution' bottom: 'x' top: 'x' \
             convolution_param {{ num_output: 8 kernel_size: 3 }} }}\n"
        ));
    }
    text
}

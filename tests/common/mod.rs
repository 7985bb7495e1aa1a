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

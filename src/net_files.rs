//! The nets the tests run over (the unit tests, and the integration tests through
//! tests/common): every prototxt of testdata and of the corpus beside this checkout
//! (`../shared/corpus`, which CI always has: there, a missing corpus fails the test rather
//! than shrinking it to testdata).

use std::path::{Path, PathBuf};

/// Every `*.prototxt` under testdata and ../shared/corpus, sorted.
pub fn all() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus");
    if !corpus.is_dir() && std::env::var_os("CI").is_some() {
        panic!("{} is missing: CI must provide it", corpus.display());
    }
    let mut files = Vec::new();
    let mut dirs = vec![root.join("testdata"), corpus];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "prototxt") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

//! Every real-world file of `../shared/corpus` reads: nets and solvers parse with no unknown
//! field or enum value (the extended caffe.proto knows the forks), old formats upgrade, and
//! the format found is the one INDEX.tsv records.

mod common;

use caffe_mem::load::{self, ReadOptions};
use caffe_mem::upgrade::{self, Format};

#[test]
fn every_corpus_file_reads_without_warnings() {
    let Some(shared) = common::shared() else {
        return;
    };
    let index = std::fs::read_to_string(shared.join("corpus/INDEX.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut read = 0;
    for row in index.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (rel, format, kind) = (cols[0], cols[1], cols[2]);
        let path = shared.join("corpus").join(rel);
        let path = path.to_string_lossy();
        let mut warnings = Vec::new();
        let result = load::load(&path, ReadOptions { strict: true }, &mut warnings);
        match (kind, result) {
            // A label map is not a net: refused as a usage error, after it parsed cleanly.
            ("other", Err(e)) if e.to_string().contains("label map") => read += 1,
            ("solver", Err(e)) if e.to_string().contains("was not found") => {
                // The solver itself parsed; its net is not in the corpus (absolute paths,
                // ${VAR}s, files never published).
                read += 1;
            }
            (_, Err(e)) => failures.push(format!("{rel}: {e}")),
            (_, Ok(mut f)) => {
                let root = std::mem::take(&mut f.root_fields);
                match upgrade::upgrade(&f.file, &mut f.net, f.layers, &root) {
                    Ok(u) => {
                        let found = u.format;
                        let expected = match format {
                            "V0" => Format::V0,
                            "V1" => Format::V1,
                            _ => Format::V2,
                        };
                        // A solver's format column describes the solver file, not its net.
                        if kind != "solver" && found != expected {
                            failures.push(format!("{rel}: format {found:?}, INDEX says {format}"));
                        }
                        read += 1;
                    }
                    Err(e) => failures.push(format!("{rel}: upgrade: {e}")),
                }
            }
        }
        if !warnings.is_empty() {
            failures.push(format!("{rel}: warnings {warnings:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(read >= 146, "only {read} corpus files read");
}

//! caffe-mem against what real Caffe built from the corpus nets (`../shared/golden*`): the
//! layer list (Split layers included) and every top and parameter shape, in every phase,
//! stage and level a golden has; and, where Caffe refused a net as invalid, the same refusal.

mod common;

use common::shapes;

use std::path::{Path, PathBuf};

use caffe_mem::layers::Phase;
use caffe_mem::pipeline::{self, Options};
use serde_json::Value;

/// Refusals that are artefacts of the oracle, not of the net: a missing database, a layer
/// type or field its build lacks. caffe-mem reads those nets (SPEC §1), so they are not
/// compared; the same rule as `../shared/tools/conform`.
fn oracle_artefact(g: &Value) -> bool {
    let err = g["error"].as_str().unwrap_or("");
    let env = [
        "Unknown database backend",
        "Failed to open source",
        "Failed to open leveldb",
        "Failed to open lmdb",
        "mdb_env_open",
        "Could not open or find file",
        "Failed opening HDF5",
        "Failed to open HDF5",
        "Cannot open window file",
        "window_file",
        "No such file or directory",
        "Unknown layer type",
    ];
    if env.iter().any(|p| err.contains(p)) {
        return true;
    }
    let logs = g["log"].to_string();
    (err.contains("Failed to parse NetParameter") || err.contains("ReadProtoFromTextFile"))
        && (logs.contains("has no field named") || logs.contains("Unknown enumeration value"))
}

struct Case {
    golden: PathBuf,
    net: PathBuf,
    g: Value,
    opts: Options,
}

fn cases(shared: &Path, dir: &str) -> Vec<Case> {
    let gdir = shared.join(dir);
    let mut out = Vec::new();
    for path in common::golden_files(&gdir) {
        let text = std::fs::read_to_string(&path).unwrap();
        let g: Value = serde_json::from_str(&text).unwrap();
        let src = &g["_source"];
        let rel = src["net"].as_str().expect("golden names its net");
        let net = if src["variant"].as_bool().unwrap_or(false) {
            gdir.join("variants").join(rel)
        } else {
            let c = shared.join("corpus").join(rel);
            if c.is_file() {
                c
            } else {
                gdir.join("..").join(rel)
            }
        };
        let phase = match src["phase"].as_str() {
            Some("TRAIN") => Phase::Train,
            _ => Phase::Test,
        };
        let stages = src["stages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let opts = Options {
            path: net.to_string_lossy().into_owned(),
            phase: Some(phase),
            stages,
            level: src["level"].as_i64().unwrap_or(0) as i32,
            ..Default::default()
        };
        out.push(Case {
            golden: path,
            net,
            g,
            opts,
        });
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The first difference between Caffe's build and ours, if any.
fn compare(case: &Case, with_shapes: bool) -> Option<String> {
    let result = pipeline::analyze(&case.opts);
    if let Some(err) = case.g.get("error").and_then(Value::as_str) {
        if oracle_artefact(&case.g) {
            return None;
        }
        return match result {
            Ok(_) => Some(format!("Caffe refuses ({err}) but caffe-mem accepts")),
            Err(e) if e.exit_code() != 1 => Some(format!(
                "Caffe refuses ({err}); caffe-mem exits {}: {e}",
                e.exit_code()
            )),
            Err(e) => {
                // The message must name the same problem: Caffe's own words up to the first
                // closing parenthesis ("Unknown bottom blob 'x' (layer 'y', bottom index 0").
                let key = err.split(')').next().unwrap_or(err);
                (!e.to_string().contains(key))
                    .then(|| format!("refusal differs: Caffe '{err}', caffe-mem '{e}'"))
            }
        };
    }
    let a = match result {
        Ok(a) => a.analysis,
        Err(e) => return Some(format!("Caffe loads it; caffe-mem: {e}")),
    };
    let gl = case.g["layers"].as_array().unwrap();
    if gl.len() != a.layers.len() {
        let names: Vec<&str> = a.layers.iter().map(|l| l.name()).collect();
        return Some(format!(
            "{} layers expected, got {}: {:?}",
            gl.len(),
            a.layers.len(),
            names
        ));
    }
    for (i, (g, m)) in gl.iter().zip(&a.layers).enumerate() {
        let same = g["name"].as_str() == Some(m.name())
            && g["type"].as_str() == Some(m.ty())
            && strings(&g["bottoms"]) == m.lp.bottom.as_slice()
            && strings(&g["tops"]) == m.lp.top.as_slice();
        if !same {
            return Some(format!(
                "layer #{i}: expected {} ({}) {:?} -> {:?}, got {} ({}) {:?} -> {:?}",
                g["name"],
                g["type"],
                strings(&g["bottoms"]),
                strings(&g["tops"]),
                m.name(),
                m.ty(),
                m.lp.bottom,
                m.lp.top
            ));
        }
        if with_shapes {
            let tops = shapes(&g["top_shapes"]);
            if m.output_shapes[..] != tops[..] {
                return Some(format!(
                    "layer #{i} {} ({}): tops expected {tops:?}, got {:?}",
                    m.name(),
                    m.ty(),
                    m.output_shapes
                ));
            }
            let params = shapes(&g["param_shapes"]);
            let ours: Vec<Vec<i64>> = m.params.iter().map(|p| p.shape.to_vec()).collect();
            if params != ours {
                return Some(format!(
                    "layer #{i} {} ({}): params expected {params:?}, got {ours:?}",
                    m.name(),
                    m.ty()
                ));
            }
        }
    }
    None
}

fn check(dir: &str, with_shapes: bool) {
    let Some(shared) = common::shared() else {
        return;
    };
    let cases = cases(&shared, dir);
    assert!(!cases.is_empty(), "no goldens under {dir}");
    let mut failures = Vec::new();
    for case in &cases {
        if let Some(diff) = compare(case, with_shapes) {
            failures.push(format!(
                "{} ({}): {diff}",
                case.golden
                    .strip_prefix(&shared)
                    .unwrap_or(&case.golden)
                    .display(),
                case.net.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} goldens in {dir} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn layer_lists_match_bvlc_caffe() {
    check("golden", false);
}

#[test]
fn shapes_match_bvlc_caffe() {
    check("golden", true);
}

#[test]
fn shapes_match_fork_caffe() {
    check("golden-fork", true);
}

#[test]
fn shapes_match_multi_fork_caffe() {
    check("golden-multi", true);
}

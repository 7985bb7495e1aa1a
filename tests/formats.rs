//! The output for people, run through the built binary as a user would: table, markdown, csv
//! and dot snapshots of the test nets, `--group-by prefix`, `diff`, every kind of diagnostic
//! with its exit code, colour rules, and Graphviz rendering the dot output of corpus nets.
//! Snapshots live in tests/snapshots/ (review changes with `cargo insta review`, or accept
//! them with `INSTA_UPDATE=always cargo test --test formats`).

mod common;

use std::process::{Command, Output, Stdio};

const NETS: [&str; 4] = [
    "testdata/alexnet.prototxt",
    "testdata/inception.prototxt",
    "testdata/resblock.prototxt",
    "testdata/splits.prototxt",
];
const FORMATS: [&str; 4] = ["table", "markdown", "csv", "dot"];

/// The binary, run from the crate's folder (so that paths in messages are the relative ones
/// given) with none of the colour or width settings of the environment running the tests.
fn caffe_mem(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caffe-mem"));
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    caffe_mem(args).output().expect("the binary runs")
}

fn stdout_of(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "caffe-mem {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Exit code and stderr, as one snapshot.
fn diagnostic(args: &[&str]) -> String {
    let out = run(args);
    format!(
        "exit code: {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stem(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".prototxt"))
        .unwrap_or(path)
}

#[test]
fn every_format_of_the_test_nets() {
    for net in NETS {
        for format in FORMATS {
            let text = stdout_of(&["--format", format, net]);
            insta::assert_snapshot!(format!("{}.{format}", stem(net)), text);
        }
    }
}

#[test]
fn group_by_prefix_folds_inception_modules() {
    for format in ["table", "markdown", "csv"] {
        let text = stdout_of(&[
            "--format",
            format,
            "--group-by",
            "prefix",
            "testdata/inception.prototxt",
        ]);
        insta::assert_snapshot!(format!("inception.grouped.{format}"), text);
    }
}

/// TRAIN adds the backward pass, the gradients and solver state, and with a small card the
/// fit and the iter_size that keeps the batch.
#[test]
fn a_training_net_on_a_small_card() {
    for format in ["table", "markdown"] {
        let text = stdout_of(&[
            "--format",
            format,
            "--phase",
            "train",
            "--gpu-mem",
            "8MiB",
            "testdata/resblock_train.prototxt",
        ]);
        insta::assert_snapshot!(format!("resblock_train.train.{format}"), text);
    }
}

#[test]
fn tables_wrap_to_a_narrow_terminal() {
    let out = caffe_mem(&["--format", "table", "testdata/resblock.prototxt"])
        .env("COLUMNS", "60")
        .output()
        .expect("the binary runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8 output");
    for line in text.lines().skip(1) {
        assert!(line.chars().count() <= 60, "wider than 60: {line}");
    }
    insta::assert_snapshot!("resblock.table.60-columns", text);
}

#[test]
fn json_is_the_default_in_a_pipe() {
    let text = stdout_of(&["testdata/alexnet.prototxt"]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["net"]["name"], "AlexNet");
}

#[test]
fn csv_columns_are_the_documented_ones() {
    let text = stdout_of(&["--format", "csv", "testdata/inception.prototxt"]);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(caffe_mem::format::csv::COLUMNS.join(",").as_str())
    );
    assert_eq!(
        caffe_mem::format::csv::COLUMNS,
        [
            "name",
            "type",
            "layers",
            "in_place",
            "inserted",
            "line",
            "bottoms",
            "tops",
            "output_shapes",
            "params",
            "macs",
            "flops",
            "backward_macs",
            "activation_bytes"
        ],
        "CSV columns are an interface: add new ones at the end, and to the README"
    );
    for line in lines {
        // No test net has a comma in a name, so fields split plainly.
        assert_eq!(line.split(',').count(), 14, "{line}");
    }
}

#[test]
fn diff_of_two_nets() {
    let nets = [
        "testdata/resblock.prototxt",
        "testdata/resblock_wide.prototxt",
    ];
    for format in ["table", "markdown", "json"] {
        let text = stdout_of(&["diff", "--format", format, nets[0], nets[1]]);
        insta::assert_snapshot!(format!("resblock.diff.{format}"), text);
    }
    // Options before the subcommand apply too.
    let text = stdout_of(&["--batch", "8", "diff", "--format", "json", nets[0], nets[1]]);
    assert!(text.contains("batch 8"), "{text}");
}

#[test]
fn diff_of_a_net_with_itself_is_empty() {
    let net = "testdata/alexnet.prototxt";
    let text = stdout_of(&["diff", "--format", "table", net, net]);
    assert!(text.contains("0 added, 0 removed, 0 changed"), "{text}");
}

#[test]
fn diagnostic_parse_error() {
    insta::assert_snapshot!(
        "diagnostic.parse_error",
        diagnostic(&["testdata/diagnostics/parse_error.prototxt"])
    );
}

#[test]
fn diagnostic_invalid_net() {
    insta::assert_snapshot!(
        "diagnostic.invalid.no_input_shape",
        diagnostic(&["testdata/diagnostics/no_input_shape.prototxt"])
    );
    insta::assert_snapshot!(
        "diagnostic.invalid.unknown_bottom",
        diagnostic(&["testdata/diagnostics/unknown_bottom.prototxt"])
    );
}

#[test]
fn diagnostic_usage_and_io() {
    insta::assert_snapshot!(
        "diagnostic.io.missing_file",
        diagnostic(&["testdata/no_such_net.prototxt"])
    );
    insta::assert_snapshot!(
        "diagnostic.usage.bad_flag_value",
        diagnostic(&["--batch", "0", "testdata/alexnet.prototxt"])
    );
    insta::assert_snapshot!(
        "diagnostic.usage.group_by_dot",
        diagnostic(&[
            "--format",
            "dot",
            "--group-by",
            "prefix",
            "testdata/alexnet.prototxt"
        ])
    );
    insta::assert_snapshot!(
        "diagnostic.usage.net_and_diff",
        diagnostic(&["testdata/alexnet.prototxt", "diff", "a", "b"])
    );
}

#[test]
fn diagnostic_warnings() {
    let out = run(&["--format", "csv", "testdata/diagnostics/warnings.prototxt"]);
    assert!(out.status.success());
    insta::assert_snapshot!("diagnostic.warnings", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn colour_only_on_request_or_a_terminal() {
    let esc = |b: &[u8]| b.contains(&0x1b);
    let net = "testdata/diagnostics/warnings.prototxt";
    // A pipe: no colour.
    let out = run(&["--format", "table", net]);
    assert!(!esc(&out.stdout) && !esc(&out.stderr));
    // Forced: colour on both streams.
    let out = run(&["--format", "table", "--color", "always", net]);
    assert!(esc(&out.stdout) && esc(&out.stderr));
    // CLICOLOR_FORCE forces it too, but NO_COLOR wins.
    let out = caffe_mem(&["--format", "table", net])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("the binary runs");
    assert!(esc(&out.stdout));
    let out = caffe_mem(&["--format", "table", net])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(!esc(&out.stdout) && !esc(&out.stderr));
    // JSON is never coloured: it is for tools.
    let out = run(&["--color", "always", net]);
    assert!(!esc(&out.stdout));
}

#[test]
fn help_has_examples_and_exit_codes() {
    let text = stdout_of(&["--help"]);
    for needle in [
        "Examples:",
        "--format",
        "--group-by",
        "caffe-mem diff",
        "Exit codes:",
        "3  the file does not parse",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
}

/// Graphviz's `dot` (an OS package; .ci/run installs it) renders the graph of real nets.
#[test]
fn graphviz_renders_the_dot_of_corpus_nets() {
    let Some(shared) = common::shared() else {
        return;
    };
    if Command::new("dot").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Graphviz's dot is missing: .ci/run must install it"
        );
        eprintln!("skipping: Graphviz's dot is not installed");
        return;
    }
    let corpus = shared.join("corpus/BVLC__caffe/models");
    // GoogLeNet's TRAIN net has three loss heads and many Split layers; its Data layer's
    // shape is in its database, so it is given.
    for (net, flags) in [
        (
            "bvlc_googlenet/train_val.prototxt",
            &["--phase", "train", "--input", "data=32,3,224,224"][..],
        ),
        ("bvlc_alexnet/deploy.prototxt", &[][..]),
    ] {
        let path = corpus.join(net);
        let path = path.to_str().expect("a UTF-8 path");
        let mut args = vec!["--format", "dot"];
        args.extend_from_slice(flags);
        args.push(path);
        let graph = stdout_of(&args);
        let mut dot = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dot runs");
        std::io::Write::write_all(
            &mut dot.stdin.take().expect("dot's stdin"),
            graph.as_bytes(),
        )
        .expect("dot reads the graph");
        let out = dot.wait_with_output().expect("dot finishes");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "dot -Tsvg failed on {net}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains("<svg"), "{net}: no SVG");
        // Every layer is drawn: GoogLeNet's inception modules are all there.
        assert!(svg.contains("conv1"), "{net}: conv1 missing from the SVG");
    }
}

/// `--buffers` adds `memory.caffe.buffers` to the JSON, and only then; the entries in the
/// layer_buffers part add up to that part (tiny in TEST at its batch of 2 on the CPU: 7252
/// fixed + 2 x 344 per sample = 7940 bytes, as in tests/memory.rs).
#[test]
fn buffer_list_is_opt_in() {
    let net = "testdata/memory/tiny.prototxt";
    let plain: serde_json::Value =
        serde_json::from_str(&stdout_of(&["--format", "json", "--device", "cpu", net])).unwrap();
    assert!(plain["memory"]["caffe"].get("buffers").is_none());
    let listed: serde_json::Value = serde_json::from_str(&stdout_of(&[
        "--format",
        "json",
        "--device",
        "cpu",
        "--buffers",
        net,
    ]))
    .unwrap();
    let caffe = &listed["memory"]["caffe"];
    let sum: u64 = caffe["buffers"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|b| b["part"] == "layer_buffers")
        .map(|b| b["total"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 7940);
    assert_eq!(caffe["parts"]["layer_buffers"]["total"], 7940);
}

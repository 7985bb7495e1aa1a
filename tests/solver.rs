//! A solver file is followed to its net, which is then built in TRAIN.

use caffe_mem::layers::Phase;
use caffe_mem::pipeline::{self, Options};

#[test]
fn a_solver_leads_to_its_training_net() {
    let opts = Options {
        path: concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/solver.prototxt").to_string(),
        ..Default::default()
    };
    let a = pipeline::analyze(&opts).unwrap();
    assert_eq!(a.net.state.phase, Phase::Train);
    assert!(
        a.net.file.ends_with("testdata/phases.prototxt"),
        "{}",
        a.net.file
    );
    assert!(a
        .net
        .solver
        .as_deref()
        .unwrap()
        .ends_with("solver.prototxt"));
    // TRAIN keeps the TRAIN data layer (batch 8) and the loss; ip_deep needs a stage.
    let names: Vec<&str> = a.analysis.layers.iter().map(|l| l.name()).collect();
    assert_eq!(names, ["train_data", "ip", "loss"]);
    assert_eq!(a.analysis.layers[0].output_shapes[0], vec![8, 1, 28, 28]);
}

#[test]
fn a_missing_net_is_a_usage_error_with_a_hint() {
    let dir = std::env::temp_dir().join("caffe-mem-solver-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("solver.prototxt");
    std::fs::write(
        &path,
        "train_net: \"nowhere/train.prototxt\"\nbase_lr: 0.1\n",
    )
    .unwrap();
    let opts = Options {
        path: path.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let e = pipeline::analyze(&opts)
        .err()
        .expect("the net does not exist");
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .contains("'nowhere/train.prototxt' was not found"),
        "{e}"
    );
    assert!(e.hint().unwrap().contains("solver's folder"));
}

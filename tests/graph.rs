//! Phase/stage/level filtering and Caffe's Split insertion, on hand-written nets whose
//! expected layer lists are worked out from net.cpp and insert_splits.cpp in the comments.

use caffe_mem::filter::{filter, State};
use caffe_mem::graph::{insert_splits, Node};
use caffe_mem::layers::Phase;
use caffe_mem::load::{load, ReadOptions};
use caffe_mem::proto::LayerParameter;
use caffe_mem::textformat::Pos;
use caffe_mem::upgrade::upgrade;

fn build(file: &str, phase: Phase, stages: &[&str], level: i32) -> caffe_mem::Result<Vec<Node>> {
    let path = format!("{}/testdata/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut w = Vec::new();
    let mut f = load(&path, ReadOptions::default(), &mut w)?;
    let u = upgrade(&f.file, &mut f.net, f.layers, &f.root_fields)?;
    let state = State {
        phase,
        stages: stages.iter().map(|s| s.to_string()).collect(),
        level,
    };
    let (layers, pos) = filter(&f.file, u.layers, u.positions, &state)?;
    insert_splits(&f.file, layers, pos)
}

fn names(nodes: &[Node]) -> Vec<&str> {
    nodes.iter().map(|n| n.lp.name()).collect()
}

#[test]
fn phase_rules_pick_the_data_layer() {
    // TEST, no stage, level 0: the TEST data layer; ip_deep needs stage "deep"; loss is only
    // excluded under "deploy"; accuracy needs level >= 1.
    let n = build("phases.prototxt", Phase::Test, &[], 0).unwrap();
    assert_eq!(names(&n), ["test_data", "ip", "loss"]);
    // TRAIN with stage "deep": ip feeds ip_deep and loss, so Caffe splits it.
    let n = build("phases.prototxt", Phase::Train, &["deep"], 0).unwrap();
    assert_eq!(
        names(&n),
        ["train_data", "ip", "ip_ip_0_split", "ip_deep", "loss"]
    );
    assert_eq!(n[3].lp.bottom.as_slice(), ["ip_ip_0_split_0"]);
    assert_eq!(n[4].lp.bottom.as_slice(), ["ip_ip_0_split_1", "label"]);
}

#[test]
fn stage_and_level_rules() {
    // Stage "deploy" excludes the loss; level 1 admits accuracy.
    let n = build("phases.prototxt", Phase::Test, &["deploy"], 1).unwrap();
    assert_eq!(names(&n), ["test_data", "ip", "accuracy"]);
    // Level 2 is above ip_deep's max_level 1; loss and accuracy both read ip and label, so
    // both are split; label is test_data's second top (index 1).
    let n = build("phases.prototxt", Phase::Test, &["deep"], 2).unwrap();
    assert_eq!(
        names(&n),
        [
            "test_data",
            "label_test_data_1_split",
            "ip",
            "ip_ip_0_split",
            "loss",
            "accuracy"
        ]
    );
    assert_eq!(
        n[4].lp.bottom.as_slice(),
        ["ip_ip_0_split_0", "label_test_data_1_split_0"]
    );
    assert_eq!(
        n[5].lp.bottom.as_slice(),
        ["ip_ip_0_split_1", "label_test_data_1_split_1"]
    );
    assert!(n[1].inserted && n[3].inserted && !n[4].inserted);
}

#[test]
fn splits_follow_in_place_layers_and_loss_weights() {
    let n = build("splits.prototxt", Phase::Test, &[], 0).unwrap();
    // conv is rewritten in place by relu, so the split is named after relu (the last
    // writer); sum has loss_weight 0.5 and one consumer: two uses, so it is split too.
    assert_eq!(
        names(&n),
        [
            "data",
            "conv",
            "relu",
            "conv_relu_0_split",
            "a",
            "b",
            "sum",
            "sum_sum_0_split",
            "up"
        ]
    );
    assert_eq!(
        n[3].lp.top.as_slice(),
        ["conv_relu_0_split_0", "conv_relu_0_split_1"]
    );
    assert_eq!(n[4].lp.bottom.as_slice(), ["conv_relu_0_split_0"]);
    assert_eq!(n[5].lp.bottom.as_slice(), ["conv_relu_0_split_1"]);
    // The loss moves to the split's first top; the consumer reads the second.
    assert!(n[6].lp.loss_weight().is_empty());
    assert_eq!(n[7].lp.loss_weight(), [0.5, 0.0]);
    assert_eq!(n[8].lp.bottom.as_slice(), ["sum_sum_0_split_1"]);
    // An inserted split carries its producer's position.
    assert_eq!(n[7].pos, n[6].pos);
}

#[test]
fn a_bottom_reads_the_last_top_of_its_name_next_door_or_further_back() {
    // `d` writes 'x' twice: the second is the blob. `c1` (right after `d`) and `c2` (after
    // `c1`) both read that one, so it is split as `d`'s top 1.
    let layer = |name: &str, bottom: &[&str], top: &[&str]| {
        std::sync::Arc::new(LayerParameter {
            name: Some(name.into()),
            r#type: Some("Layer".into()),
            bottom: bottom.iter().map(|&b| b.into()).collect(),
            top: top.iter().map(|&t| t.into()).collect(),
            ..Default::default()
        })
    };
    let layers = vec![
        layer("d", &[], &["x", "x"]),
        layer("c1", &["x"], &["y"]),
        layer("c2", &["x"], &["z"]),
    ];
    let n = insert_splits("net.prototxt", layers, vec![Pos::default(); 3]).unwrap();
    assert_eq!(names(&n), ["d", "x_d_1_split", "c1", "c2"]);
    assert_eq!(n[1].lp.top.as_slice(), ["x_d_1_split_0", "x_d_1_split_1"]);
    assert_eq!(n[2].lp.bottom.as_slice(), ["x_d_1_split_0"]);
    assert_eq!(n[3].lp.bottom.as_slice(), ["x_d_1_split_1"]);
}

#[test]
fn loss_weights_go_to_the_last_top_of_their_name_and_each_split_keeps_its_own() {
    // `d` weights both its tops and `c` reads both: each has two uses, so each is split with
    // its own weight on the Split's first top, and `d` keeps none. `e` writes 'z' twice with
    // weights 3 and 0: both are for its top 1 (the last 'z'), the second one decides, so the
    // Split after it has no weight and `e` keeps its own; only the weight 3 counts as a use.
    let layer = |name: &str, bottom: &[&str], top: &[&str], weights: &[f32]| {
        let mut lp = LayerParameter {
            name: Some(name.into()),
            r#type: Some("Layer".into()),
            bottom: bottom.iter().map(|&b| b.into()).collect(),
            top: top.iter().map(|&t| t.into()).collect(),
            ..Default::default()
        };
        if !weights.is_empty() {
            lp.rare_mut().loss_weight = weights.to_vec();
        }
        std::sync::Arc::new(lp)
    };
    let layers = vec![
        layer("d", &[], &["x", "y"], &[1.0, 2.0]),
        layer("c", &["x", "y"], &[], &[]),
        layer("e", &[], &["z", "z"], &[3.0, 0.0]),
        layer("f", &["z"], &[], &[]),
    ];
    let n = insert_splits("net.prototxt", layers, vec![Pos::default(); 4]).unwrap();
    assert_eq!(
        names(&n),
        [
            "d",
            "x_d_0_split",
            "y_d_1_split",
            "c",
            "e",
            "z_e_1_split",
            "f"
        ]
    );
    assert!(n[0].lp.loss_weight().is_empty());
    assert_eq!(n[1].lp.loss_weight(), [1.0, 0.0]);
    assert_eq!(n[2].lp.loss_weight(), [2.0, 0.0]);
    assert_eq!(
        n[3].lp.bottom.as_slice(),
        ["x_d_0_split_1", "y_d_1_split_1"]
    );
    assert_eq!(n[4].lp.loss_weight(), [3.0, 0.0]);
    assert_eq!(n[5].lp.top.as_slice(), ["z_e_1_split_0", "z_e_1_split_1"]);
    assert!(n[5].lp.loss_weight().is_empty());
    assert_eq!(n[6].lp.bottom.as_slice(), ["z_e_1_split_0"]);
}

#[test]
fn unknown_bottoms_are_refused_with_caffes_words() {
    let dir = std::env::temp_dir().join("caffe-mem-graph-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.prototxt");
    std::fs::write(
        &path,
        "layer { name: 'ip' type: 'InnerProduct' bottom: 'nowhere' top: 'ip' }\n",
    )
    .unwrap();
    let mut w = Vec::new();
    let mut f = load(path.to_str().unwrap(), ReadOptions::default(), &mut w).unwrap();
    let u = upgrade(&f.file, &mut f.net, f.layers, &f.root_fields).unwrap();
    let e = insert_splits(&f.file, u.layers, u.positions).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.to_string()
            .starts_with("Unknown bottom blob 'nowhere' (layer 'ip', bottom index 0)"),
        "{e}"
    );
    let (_, p) = e.location().unwrap();
    assert_eq!(p.map(|p| (p.line, p.col)), Some((1, 1)));
}

#[test]
fn include_and_exclude_together_are_refused() {
    let dir = std::env::temp_dir().join("caffe-mem-graph-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("both.prototxt");
    std::fs::write(
        &path,
        "layer { name: 'x' type: 'Input' top: 'x' include { phase: TRAIN } exclude { stage: 'a' } }\n",
    )
    .unwrap();
    let mut w = Vec::new();
    let mut f = load(path.to_str().unwrap(), ReadOptions::default(), &mut w).unwrap();
    let u = upgrade(&f.file, &mut f.net, f.layers, &f.root_fields).unwrap();
    let state = State {
        phase: Phase::Test,
        stages: vec![],
        level: 0,
    };
    let e = filter(&f.file, u.layers, u.positions, &state).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().contains("both include and exclude"), "{e}");
}

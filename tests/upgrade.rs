//! The V0/V1/net-input/BatchNorm upgrades: against Caffe's own `upgrade_net_proto_text` output
//! for every old-format corpus net (`../shared/golden/upgraded`), over every V0/V1 corpus entry,
//! and on small hand-written nets in `testdata/upgrade/` for specific values and refusals.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use caffe_mem::load::{self, ReadOptions};
use caffe_mem::proto::{LayerParameter, NetParameter, ParamSpec};
use caffe_mem::textformat::Pos;
use caffe_mem::upgrade::{self, Format};
use caffe_mem::Error;

fn testdata(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/upgrade")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn read(path: &str) -> load::NetFile {
    let mut warnings = Vec::new();
    let net = load::load(path, ReadOptions::default(), &mut warnings)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(warnings.is_empty(), "{path}: {warnings:?}");
    net
}

/// Loads and upgrades a file.
fn upgraded(path: &str) -> Result<(NetParameter, Format, Vec<Pos>), Error> {
    let mut f = read(path);
    let u = upgrade::upgrade(&f.file, &mut f.net, f.layers, &f.root_fields)?;
    assert!(
        f.net.layer.is_empty(),
        "{path}: the layers are in the upgraded list"
    );
    // Back into the net, for the tests below to read.
    f.net.layer = unshared(u.layers);
    Ok((f.net, u.format, u.positions))
}

fn unshared(layers: Vec<Arc<LayerParameter>>) -> Vec<LayerParameter> {
    layers.into_iter().map(Arc::unwrap_or_clone).collect()
}

fn ok(name: &str) -> (NetParameter, Format, Vec<Pos>) {
    upgraded(&testdata(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn layer<'a>(net: &'a NetParameter, name: &str) -> &'a LayerParameter {
    net.layer
        .iter()
        .find(|l| l.name() == name)
        .unwrap_or_else(|| panic!("no layer '{name}'"))
}

fn names(net: &NetParameter) -> Vec<&str> {
    net.layer.iter().map(|l| l.name()).collect()
}

fn at(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

fn assert_upgraded_invariants(net: &NetParameter, starts: &[Pos], what: &str) {
    assert!(net.layers.is_empty(), "{what}: V1 layers left");
    assert!(net.input.is_empty(), "{what}: net inputs left");
    assert!(net.input_dim.is_empty(), "{what}: input_dim left");
    assert!(net.input_shape.is_empty(), "{what}: input_shape left");
    assert_eq!(
        starts.len(),
        net.layer.len(),
        "{what}: one position per layer"
    );
}

/// A message's Debug text without its unset fields, to keep a failure readable.
fn set_fields(v: &impl std::fmt::Debug) -> String {
    format!("{v:?}")
        .split(", ")
        .filter(|t| !t.ends_with(": None") && !t.ends_with(": []"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every file below `dir`, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn matches_caffes_own_upgrade_of_every_old_corpus_net() {
    let Some(shared) = common::shared() else {
        return;
    };
    let golden_dir = shared.join("golden/upgraded");
    let goldens = files_under(&golden_dir);
    assert!(!goldens.is_empty(), "no files in {}", golden_dir.display());
    for golden in &goldens {
        let rel = golden.strip_prefix(&golden_dir).unwrap();
        let source = shared.join("corpus").join(rel);
        let (net, _, starts) = upgraded(&source.to_string_lossy())
            .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        // A V2 file as read: its layers are decoded apart from the net.
        let golden_file = read(&golden.to_string_lossy());
        let mut expected = golden_file.net;
        expected.layer = unshared(golden_file.layers);
        assert_upgraded_invariants(&net, &starts, &rel.to_string_lossy());
        assert_eq!(
            names(&net),
            names(&expected),
            "{}: layer list differs",
            rel.display()
        );
        for (got, want) in net.layer.iter().zip(&expected.layer) {
            assert!(
                got == want,
                "{}: layer '{}' differs from Caffe's upgrade\n  ours:   {}\n  Caffe's: {}",
                rel.display(),
                want.name(),
                set_fields(got),
                set_fields(want)
            );
        }
        assert_eq!(net, expected, "{}: net fields differ", rel.display());
    }
    eprintln!("{} nets match Caffe's own upgrade", goldens.len());
}

#[test]
fn every_old_format_corpus_entry_upgrades() {
    let Some(shared) = common::shared() else {
        return;
    };
    let index = std::fs::read_to_string(shared.join("corpus/INDEX.tsv")).unwrap();
    let mut seen = 0;
    for row in index.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let format = match cols[1] {
            "V0" => Format::V0,
            "V1" => Format::V1,
            _ => continue,
        };
        let path = shared.join("corpus").join(cols[0]);
        let (net, got, starts) =
            upgraded(&path.to_string_lossy()).unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
        assert_eq!(got, format, "{}: format", cols[0]);
        assert_upgraded_invariants(&net, &starts, cols[0]);
        for (l, pos) in net.layer.iter().zip(&starts) {
            // A type the schema lacks would have been skipped while reading and left empty here.
            assert!(
                !l.r#type().is_empty(),
                "{}: layer '{}' has no type",
                cols[0],
                l.name()
            );
            // A solver's inline net has no positions; a net file has one for every layer.
            if cols[2] != "solver" {
                assert_ne!(*pos, Pos::default(), "{}: '{}'", cols[0], l.name());
            }
        }
        seen += 1;
    }
    assert!(seen >= 16, "only {seen} V0/V1 corpus entries");
}

#[test]
fn deeplab_v1_fork_types_get_the_forks_names() {
    let Some(shared) = common::shared() else {
        return;
    };
    let path = shared.join("corpus/TheLegendAli__DeepLab-Context/voc12/vgg128_noup/test.prototxt");
    let (net, format, _) = upgraded(&path.to_string_lossy()).unwrap();
    assert_eq!(format, Format::V1);
    assert_eq!(layer(&net, "data").r#type(), "ImageSegData");
    let interp = layer(&net, "fc8_interp");
    assert_eq!(interp.r#type(), "Interp");
    assert_eq!(interp.interp_param().unwrap().zoom_factor, Some(8));
    // The fork's V1 *_param messages move to the same-named V2 fields.
    let crop = layer(&net, "fc8_crop");
    assert_eq!(crop.r#type(), "Padding");
    let pad = crop.padding_param().unwrap();
    assert_eq!((pad.pad_beg, pad.pad_end), (Some(-7), Some(-8)));
    assert_eq!(layer(&net, "accuracy").r#type(), "SegAccuracy");
    assert_eq!(layer(&net, "fc8_crop_mat").r#type(), "MatWrite");
}

#[test]
fn v0_deploy_net() {
    let (net, format, starts) = ok("v0_deploy.prototxt");
    assert_eq!(format, Format::V0);
    assert_upgraded_invariants(&net, &starts, "v0_deploy");
    assert_eq!(net.name(), "v0_deploy");
    // The padding layer is gone; the net-level input became the first layer.
    assert_eq!(
        names(&net),
        ["input", "conv1", "relu1", "pool1", "norm1", "fc", "drop", "prob"]
    );
    assert_eq!(starts[0], at(3, 1), "Input layer: the first `input`");
    assert_eq!(starts[1], at(17, 1), "conv1: its outer `layers {{`");

    let input = layer(&net, "input");
    assert_eq!(input.r#type(), "Input");
    assert_eq!(input.top.as_slice(), ["data"]);
    let shape = &input.input_param().unwrap().shape;
    assert_eq!(shape.len(), 1);
    assert_eq!(shape[0].dim, [10, 3, 32, 32]);

    let conv = layer(&net, "conv1");
    assert_eq!(conv.r#type(), "Convolution");
    assert_eq!(
        conv.bottom.as_slice(),
        ["data"],
        "reads the padding layer's input"
    );
    let p = conv.convolution_param().unwrap();
    assert_eq!(p.pad, [2], "the padding layer's pad");
    assert_eq!(p.kernel_size, [5]);
    assert_eq!(p.stride, [1]);
    assert_eq!(p.num_output, Some(16));
    assert_eq!(p.weight_filler.as_ref().unwrap().std, Some(0.01));
    assert_eq!(conv.param.len(), 2);
    assert_eq!(conv.param[0].lr_mult, Some(1.0));
    assert_eq!(conv.param[0].decay_mult, Some(1.0));
    assert_eq!(conv.param[1].lr_mult, Some(2.0));
    assert_eq!(conv.param[1].decay_mult, Some(0.0));

    assert_eq!(layer(&net, "relu1").r#type(), "ReLU");
    let pool = layer(&net, "pool1");
    assert_eq!(pool.r#type(), "Pooling");
    let pp = pool.pooling_param().unwrap();
    assert_eq!(
        pp.pool(),
        caffe_mem::proto::pooling_parameter::PoolMethod::Ave
    );
    assert_eq!(
        (pp.kernel_size, pp.stride, pp.pad),
        (Some(3), Some(2), None)
    );
    let lrn = layer(&net, "norm1").lrn_param().unwrap();
    assert_eq!((lrn.local_size, lrn.alpha), (Some(3), Some(0.0001)));
    let fc = layer(&net, "fc");
    assert_eq!(fc.r#type(), "InnerProduct");
    assert_eq!(fc.inner_product_param().unwrap().bias_term, Some(false));
    let drop = layer(&net, "drop");
    assert_eq!(drop.dropout_param().unwrap().dropout_ratio, Some(0.3));
    // Caffe drops a field the type does not use and goes on.
    let prob = layer(&net, "prob");
    assert_eq!(prob.r#type(), "Softmax");
    assert_eq!(prob.softmax_param(), None);
    assert_eq!(prob.inner_product_param(), None);
}

#[test]
fn v0_data_fields_move_to_their_params() {
    let (net, format, _) = ok("v0_train.prototxt");
    assert_eq!(format, Format::V0);
    let data = layer(&net, "mnist");
    assert_eq!(data.r#type(), "Data");
    let dp = data.data_param().unwrap();
    assert_eq!(dp.source(), "mnist-train-leveldb");
    assert_eq!((dp.batch_size, dp.rand_skip), (Some(64), Some(5)));
    assert_eq!((dp.scale, dp.crop_size, dp.mirror), (None, None, None));
    let t = data.transform_param().unwrap();
    assert_eq!(t.scale, Some(0.00390625));
    assert_eq!(t.crop_size, Some(24));
    assert_eq!(t.mirror, Some(true));
    assert_eq!(t.mean_file(), "mean.binaryproto");

    let images = layer(&net, "images");
    assert_eq!(images.r#type(), "ImageData");
    let ip = images.image_data_param().unwrap();
    assert_eq!(ip.shuffle, Some(true));
    assert_eq!((ip.new_height, ip.new_width), (Some(256), Some(256)));
    assert_eq!(images.transform_param(), None);

    let conv = layer(&net, "conv1").convolution_param().unwrap();
    assert_eq!((conv.pad.as_slice(), conv.group), ([1].as_slice(), Some(2)));
    assert_eq!(
        layer(&net, "concat").concat_param().unwrap().concat_dim,
        Some(1)
    );
    assert_eq!(layer(&net, "loss").r#type(), "SoftmaxWithLoss");
}

#[test]
fn v1_net() {
    let (net, format, starts) = ok("v1.prototxt");
    assert_eq!(format, Format::V1);
    assert_upgraded_invariants(&net, &starts, "v1");
    assert_eq!(
        names(&net),
        ["mnist", "images", "conv1", "relu1", "up", "fc", "loss"]
    );
    assert_eq!(starts[0], at(3, 1));
    assert_eq!(starts[6], at(72, 1));

    // The old data fields moved into transform_param.
    let data = layer(&net, "mnist");
    assert_eq!(data.r#type(), "Data");
    assert_eq!(data.include().len(), 1);
    assert_eq!(data.include()[0].phase, Some(0), "TRAIN");
    let dp = data.data_param().unwrap();
    assert_eq!(dp.batch_size, Some(64));
    assert_eq!((dp.scale, dp.mean_file.as_deref()), (None, None));
    let t = data.transform_param().unwrap();
    assert_eq!(t.scale, Some(0.00390625));
    assert_eq!((t.crop_size, t.mirror), (Some(24), Some(true)));
    assert_eq!(t.mean_file(), "mean.binaryproto");
    // Caffe gives every other data layer an empty transform_param in the same pass.
    let images = layer(&net, "images");
    assert_eq!(images.r#type(), "ImageData");
    assert_eq!(images.transform_param(), Some(&Default::default()));

    let conv = layer(&net, "conv1");
    assert_eq!(conv.r#type(), "Convolution");
    assert_eq!(conv.param.len(), 2);
    assert_eq!(conv.param[0].name(), "conv1_w");
    assert_eq!(conv.param[1].name(), "conv1_b");
    assert_eq!(conv.param[0].lr_mult, Some(1.0));
    assert_eq!(conv.param[1].lr_mult, Some(2.0));
    assert_eq!(conv.param[1].decay_mult, Some(0.0));
    assert_eq!(
        conv.param[0].share_mode(),
        caffe_mem::proto::param_spec::DimCheckMode::Permissive
    );
    assert_eq!(
        conv.param[1],
        ParamSpec::new(Some("conv1_b".into()), None, Some(2.0), Some(0.0)),
        "no share mode"
    );
    assert_eq!(
        conv.convolution_param().unwrap().kernel_size,
        [5],
        "*_param copied"
    );

    assert_eq!(layer(&net, "relu1").r#type(), "ReLU");
    // A DeepLab fork type and its fork parameter message.
    let up = layer(&net, "up");
    assert_eq!(up.r#type(), "Interp");
    assert_eq!(up.interp_param().unwrap().zoom_factor, Some(8));

    let fc = layer(&net, "fc");
    assert_eq!(fc.param.len(), 1);
    assert_eq!(
        (fc.param[0].lr_mult, fc.param[0].decay_mult),
        (Some(3.0), None)
    );

    let loss = layer(&net, "loss");
    assert_eq!(loss.r#type(), "SoftmaxWithLoss");
    assert_eq!(loss.loss_weight(), [2.0]);
    assert_eq!(loss.exclude()[0].stage, ["deploy"]);
}

#[test]
fn input_dim_becomes_an_input_layer() {
    let (net, format, starts) = ok("input_dim.prototxt");
    assert_eq!(format, Format::V2);
    assert_upgraded_invariants(&net, &starts, "input_dim");
    assert_eq!(names(&net), ["input", "relu"]);
    assert_eq!(starts, [at(3, 1), at(13, 1)]);
    let input = &net.layer[0];
    assert_eq!(input.r#type(), "Input");
    assert_eq!(input.top.as_slice(), ["data", "rois"]);
    let shapes = &input.input_param().unwrap().shape;
    assert_eq!(shapes.len(), 2);
    assert_eq!(shapes[0].dim, [1, 3, 224, 224]);
    assert_eq!(shapes[1].dim, [1, 5, 1, 1]);
}

#[test]
fn input_shape_becomes_an_input_layer_first() {
    let (net, _, starts) = ok("input_shape.prototxt");
    assert_upgraded_invariants(&net, &starts, "input_shape");
    // Inserted before the layer that comes earlier in the file.
    assert_eq!(names(&net), ["input", "relu"]);
    assert_eq!(starts, [at(9, 1), at(3, 1)]);
    let shapes = &net.layer[0].input_param().unwrap().shape;
    assert_eq!(shapes.len(), 1);
    assert_eq!(shapes[0].dim, [2, 3, 8], "input_shape wins over input_dim");
}

#[test]
fn an_input_without_shape_is_dropped() {
    let (net, _, starts) = ok("input_legacy.prototxt");
    assert_upgraded_invariants(&net, &starts, "input_legacy");
    assert_eq!(names(&net), ["relu"]);
}

#[test]
fn old_batchnorm_params_stop_learning() {
    let (net, format, _) = ok("batchnorm.prototxt");
    assert_eq!(format, Format::V2);
    let old = layer(&net, "bn_old");
    assert_eq!(old.param.len(), 3);
    for p in &old.param {
        assert_eq!((p.lr_mult, p.decay_mult), (Some(0.0), Some(0.0)));
    }
    assert_eq!(old.param[0].name(), "mean", "other fields are kept");
    // Only a BatchNorm with exactly three param specs is the old form.
    for name in ["bn_two", "scale"] {
        for p in &layer(&net, name).param {
            assert_eq!((p.lr_mult, p.decay_mult), (Some(1.0), None), "{name}");
        }
    }
}

#[test]
fn an_inline_net_has_default_positions() {
    let mut f = read(&testdata("v1.prototxt"));
    let u = upgrade::upgrade(&f.file, &mut f.net, f.layers, &[]).unwrap();
    assert_eq!(u.format, Format::V1);
    assert_eq!(u.positions, vec![Pos::default(); u.layers.len()]);
}

/// The refusal of a file: exit code 1, the message, and where it points.
fn refused(name: &str) -> (String, Option<Pos>) {
    let err = match upgraded(&testdata(name)) {
        Ok(_) => panic!("{name}: upgraded, but Caffe refuses it"),
        Err(e) => e,
    };
    assert_eq!(err.exit_code(), 1, "{name}: {err}");
    let (file, pos) = err.location().unwrap();
    assert!(file.ends_with(name), "{file}");
    (err.to_string(), pos)
}

#[test]
fn unknown_v0_layer_type_is_refused() {
    let (msg, pos) = refused("err_v0_unknown_type.prototxt");
    assert!(msg.contains("unknown V0 layer type 'maxout'"), "{msg}");
    assert_eq!(pos, Some(at(12, 1)));
}

#[test]
fn v0_padding_into_a_non_conv_layer_is_refused() {
    let (msg, pos) = refused("err_v0_padding_relu.prototxt");
    assert!(msg.contains("padding layer 'pad'"), "{msg}");
    assert!(msg.contains("'relu'"), "{msg}");
    assert_eq!(pos, Some(at(12, 1)));
}

#[test]
fn v0_unknown_bottom_is_refused() {
    let (msg, pos) = refused("err_v0_unknown_blob.prototxt");
    assert!(msg.contains("unknown blob input 'nothing'"), "{msg}");
    assert_eq!(pos, Some(at(7, 1)));
}

#[test]
fn v1_and_v2_layers_together_are_refused() {
    let (msg, pos) = refused("err_mixed_v1_v2.prototxt");
    assert!(msg.contains("both 'layer'"), "{msg}");
    assert_eq!(pos, Some(at(13, 1)));
}

#[test]
fn too_few_input_dims_are_refused() {
    let (msg, pos) = refused("err_input_dim_short.prototxt");
    assert!(msg.contains("incorrect input blob dimensions"), "{msg}");
    assert!(msg.contains("the net gives 5"), "{msg}");
    assert_eq!(pos, Some(at(4, 1)));
}

#[test]
fn too_few_input_shapes_are_refused() {
    let (msg, pos) = refused("err_input_shape_short.prototxt");
    assert!(msg.contains("one input_shape"), "{msg}");
    assert_eq!(pos, Some(at(4, 1)));
}

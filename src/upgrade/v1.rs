//! V1 nets (`layers { type: CONVOLUTION blobs_lr: 1 ... }`) to today's `layer { type:
//! "Convolution" param { lr_mult: 1 } ... }`, as Caffe's UpgradeNetDataTransformation and
//! UpgradeV1Net do it.

use prost::Message as _;

use crate::error::{Error, Result};
use crate::proto::v1_layer_parameter::LayerType;
use crate::proto::{
    LayerParameter, NetParameter, ParamSpec, TransformationParameter, V1LayerParameter,
};
use crate::textformat::{
    FieldDesc, Kind, Pos, ENUMS, MESSAGES, MSG_LAYERPARAMETER, MSG_V1LAYERPARAMETER,
};

use super::located;

/// Before `transform_param` existed, the DATA, IMAGE_DATA and WINDOW_DATA layers had their own
/// scale, mean_file, crop_size and mirror: the same four fields on three message types.
macro_rules! has_old_transform {
    ($param:expr) => {
        $param.as_ref().is_some_and(|p| {
            p.scale.is_some()
                || p.mean_file.is_some()
                || p.crop_size.is_some()
                || p.mirror.is_some()
        })
    };
}

/// Takes the four old fields out of a data layer's parameter message, creating the message as
/// Caffe does.
macro_rules! take_old_transform {
    ($param:expr) => {{
        let p = $param.get_or_insert_with(Default::default);
        TransformationParameter {
            scale: p.scale.take(),
            mean_file: p.mean_file.take(),
            crop_size: p.crop_size.take(),
            mirror: p.mirror.take(),
            ..Default::default()
        }
    }};
}

fn needs_data_upgrade(net: &NetParameter) -> bool {
    net.layers.iter().any(|l| match l.r#type() {
        LayerType::Data => has_old_transform!(l.data_param),
        LayerType::ImageData => has_old_transform!(l.image_data_param),
        LayerType::WindowData => has_old_transform!(l.window_data_param),
        _ => false,
    })
}

/// Moves the old per-layer transformation fields into `transform_param`. Once one layer needs it,
/// Caffe visits every data layer of the three types and creates its `transform_param` and its
/// `*_param` even when they end up empty; we do the same so the result equals Caffe's.
pub(super) fn upgrade_data_transformation(net: &mut NetParameter) {
    if !needs_data_upgrade(net) {
        return;
    }
    for l in &mut net.layers {
        let old = match l.r#type() {
            LayerType::Data => take_old_transform!(l.data_param),
            LayerType::ImageData => take_old_transform!(l.image_data_param),
            LayerType::WindowData => take_old_transform!(l.window_data_param),
            _ => continue,
        };
        let t = l.transform_param.get_or_insert_with(Default::default);
        t.scale = old.scale.or(t.scale);
        t.mean_file = old.mean_file.or(t.mean_file.take());
        t.crop_size = old.crop_size.or(t.crop_size);
        t.mirror = old.mirror.or(t.mirror);
    }
}

/// V1 enum names and the type strings they became. The first block is Caffe's own table; the
/// second holds the DeepLab fork's V1 types, named as DeepLab's V2 fork names its layers
/// ("ImageSegData", "Interp", ...) or, for types that fork dropped, in the same CamelCase style.
const V1_TYPES: &[(&str, &str)] = &[
    ("NONE", ""),
    ("ABSVAL", "AbsVal"),
    ("ACCURACY", "Accuracy"),
    ("ARGMAX", "ArgMax"),
    ("BNLL", "BNLL"),
    ("CONCAT", "Concat"),
    ("CONTRASTIVE_LOSS", "ContrastiveLoss"),
    ("CONVOLUTION", "Convolution"),
    ("DECONVOLUTION", "Deconvolution"),
    ("DATA", "Data"),
    ("DROPOUT", "Dropout"),
    ("DUMMY_DATA", "DummyData"),
    ("EUCLIDEAN_LOSS", "EuclideanLoss"),
    ("ELTWISE", "Eltwise"),
    ("EXP", "Exp"),
    ("FLATTEN", "Flatten"),
    ("HDF5_DATA", "HDF5Data"),
    ("HDF5_OUTPUT", "HDF5Output"),
    ("HINGE_LOSS", "HingeLoss"),
    ("IM2COL", "Im2col"),
    ("IMAGE_DATA", "ImageData"),
    ("INFOGAIN_LOSS", "InfogainLoss"),
    ("INNER_PRODUCT", "InnerProduct"),
    ("LRN", "LRN"),
    ("MEMORY_DATA", "MemoryData"),
    ("MULTINOMIAL_LOGISTIC_LOSS", "MultinomialLogisticLoss"),
    ("MVN", "MVN"),
    ("POOLING", "Pooling"),
    ("POWER", "Power"),
    ("RELU", "ReLU"),
    ("SIGMOID", "Sigmoid"),
    ("SIGMOID_CROSS_ENTROPY_LOSS", "SigmoidCrossEntropyLoss"),
    ("SILENCE", "Silence"),
    ("SOFTMAX", "Softmax"),
    ("SOFTMAX_LOSS", "SoftmaxWithLoss"),
    ("SPLIT", "Split"),
    ("SLICE", "Slice"),
    ("TANH", "TanH"),
    ("WINDOW_DATA", "WindowData"),
    ("THRESHOLD", "Threshold"),
    // DeepLab (TheLegendAli/DeepLab-Context).
    ("IMAGE_SEG_DATA", "ImageSegData"),
    ("SEG_ACCURACY", "SegAccuracy"),
    ("INTERP", "Interp"),
    ("PADDING", "Padding"),
    ("MAT_WRITE", "MatWrite"),
    ("MAT_READ", "MatRead"),
    ("DENSE_CRF", "DenseCRF"),
    ("DOMINANT_CHANNEL", "DominantChannel"),
    ("BIAS_CHANNEL", "BiasChannel"),
    ("UNIQUE_LABEL", "UniqueLabel"),
    ("CENSOR_LABEL", "CensorLabel"),
    ("ADAPTIVE_BIAS_CHANNEL", "AdaptiveBiasChannel"),
    ("CHANNEL_AGGREGATOR", "ChannelAggregator"),
    ("IGNORE_OVERLAY", "IgnoreOverlay"),
    ("HISTOGRAM", "Histogram"),
    ("RELATIVE_ERROR", "RelativeError"),
    ("GAIN_CHANNEL", "GainChannel"),
    ("ONEHOT", "OneHot"),
];

fn v2_type(v1: i32) -> Option<&'static str> {
    let name = LayerType::try_from(v1).ok()?.as_str_name();
    V1_TYPES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Rewrites `net`'s V1 `layers` as `layer` entries (the caller has checked there are none yet).
/// `starts` holds one position per layer; the upgrade keeps the layers in order.
pub(super) fn upgrade(file: &str, net: &mut NetParameter, starts: &[Pos]) -> Result<()> {
    let renumbered = same_named_fields();
    net.layer = std::mem::take(&mut net.layers)
        .into_iter()
        .zip(starts)
        .map(|(l, &pos)| upgrade_layer(file, l, pos, &renumbered))
        .collect::<Result<_>>()?;
    Ok(())
}

fn upgrade_layer(
    file: &str,
    l: V1LayerParameter,
    pos: Pos,
    renumbered: &[(u32, u32)],
) -> Result<LayerParameter> {
    let mut out = LayerParameter::decode(renumber(&l.encode_to_vec(), renumbered).as_slice())
        .expect("fields copied between messages of the same types decode");
    if let Some(t) = l.r#type {
        let Some(name) = v2_type(t) else {
            let shown = LayerType::try_from(t).map_or(t.to_string(), |t| t.as_str_name().into());
            return Err(Error::invalid(
                file,
                located(pos),
                format!("unknown V1 layer type {shown} (layer '{}')", l.name()),
            ));
        };
        out.r#type = Some(name.into());
    }
    // The per-blob lists (names, sharing modes, learning rates, decays) become one ParamSpec per
    // blob, as long as the longest list.
    let count = [
        l.param.len(),
        l.blob_share_mode.len(),
        l.blobs_lr.len(),
        l.weight_decay.len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    out.param = (0..count)
        .map(|i| {
            ParamSpec::new(
                l.param.get(i).cloned(),
                // V1's STRICT/PERMISSIVE carry ParamSpec's numbers.
                l.blob_share_mode.get(i).copied(),
                l.blobs_lr.get(i).copied(),
                l.weight_decay.get(i).copied(),
            )
        })
        .collect();
    Ok(out)
}

/// Caffe copies bottom, top, name, include, exclude, blobs, loss_weight and every `*_param`
/// message of a V1 layer into the V2 field of the same name. Those are exactly the V1 fields that
/// have a same-named V2 field of the same type, so the copy is done by name through the schema:
/// it then also carries the `*_param` fields that forks add to both messages. Returns (V1 field
/// number, V2 field number) pairs.
fn same_named_fields() -> Vec<(u32, u32)> {
    let v2 = &MESSAGES[MSG_LAYERPARAMETER];
    MESSAGES[MSG_V1LAYERPARAMETER]
        .fields
        .iter()
        .filter_map(|f1| {
            let f2 = v2.field(f1.name.as_bytes())?;
            same_type(f1, f2).then_some((f1.number, f2.number))
        })
        .collect()
}

fn same_type(a: &FieldDesc, b: &FieldDesc) -> bool {
    let target = |f: &FieldDesc| match f.kind {
        Kind::Message => MESSAGES[f.target as usize].name,
        Kind::Enum => ENUMS[f.target as usize].name,
        _ => "",
    };
    a.kind == b.kind && a.repeated == b.repeated && target(a) == target(b)
}

/// Keeps the fields of `wire` (a message prost just encoded) listed in `map`, under their new
/// numbers, and drops the others.
fn renumber(wire: &[u8], map: &[(u32, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut rest = wire;
    while !rest.is_empty() {
        let key = read_varint(&mut rest);
        let (number, wire_type) = (key >> 3, key & 7);
        let value = rest;
        let len = match wire_type {
            0 => {
                read_varint(&mut rest);
                0
            }
            1 => 8,
            2 => read_varint(&mut rest) as usize,
            5 => 4,
            other => unreachable!("wire type {other}: prost writes no groups"),
        };
        rest = &rest[len..];
        let value = &value[..value.len() - rest.len()];
        if let Some(&(_, to)) = map.iter().find(|&&(from, _)| u64::from(from) == number) {
            write_varint(&mut out, (u64::from(to) << 3) | wire_type);
            out.extend_from_slice(value);
        }
    }
    out
}

fn read_varint(buf: &mut &[u8]) -> u64 {
    let mut value = 0u64;
    for (i, &b) in buf.iter().enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *buf = &buf[i + 1..];
            return value;
        }
    }
    unreachable!("prost writes whole varints")
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

//! V0 nets (`layers { layer { type: "conv" ... } }`, Caffe's first format) to V1 (`layers { type:
//! CONVOLUTION ... }`), as Caffe's UpgradeV0Net does it: padding layers are folded into the
//! convolution or pooling that reads them, then each layer's flat V0 fields move into the V1
//! `*_param` message its type owns.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::proto::v1_layer_parameter::LayerType;
use crate::proto::{
    ConcatParameter, ConvolutionParameter, DataParameter, DropoutParameter, Hdf5DataParameter,
    ImageDataParameter, InfogainLossParameter, InnerProductParameter, LrnParameter, NetParameter,
    PoolingParameter, TransformationParameter, V1LayerParameter, WindowDataParameter,
};
use crate::textformat::Pos;

use super::located;

/// Caffe treats a net as V0 as soon as one `layers` entry nests a V0 `layer`.
pub(super) fn is_v0(net: &NetParameter) -> bool {
    net.layers.iter().any(|l| l.layer.is_some())
}

/// Rewrites `net` to V1. `starts` holds one position per `layers` entry and is kept in step.
pub(super) fn upgrade(file: &str, net: &mut NetParameter, starts: &mut Vec<Pos>) -> Result<()> {
    let (layers, kept_starts) = fold_padding(file, net, starts)?;
    let layers = layers
        .into_iter()
        .zip(&kept_starts)
        .map(|(l, &pos)| upgrade_layer(file, l, pos))
        .collect::<Result<Vec<_>>>()?;
    // Caffe rebuilds the net from these fields alone: anything else at the root of a V0 file
    // (input_shape, state, V2 `layer` entries ...) is dropped.
    *net = NetParameter {
        name: net.name.take(),
        input: std::mem::take(&mut net.input),
        input_dim: std::mem::take(&mut net.input_dim),
        force_backward: net.force_backward,
        layers,
        ..Default::default()
    };
    *starts = kept_starts;
    Ok(())
}

fn v0_type(l: &V1LayerParameter) -> &str {
    l.layer.as_ref().map_or("", |v0| v0.r#type())
}

fn v0_name(l: &V1LayerParameter) -> &str {
    l.layer.as_ref().map_or("", |v0| v0.name())
}

/// V0 had a separate "padding" layer; later Caffe pads inside convolution and pooling. Drops
/// every padding layer and gives its `pad` and its input to the conv or pool layer reading it.
fn fold_padding(
    file: &str,
    net: &NetParameter,
    starts: &[Pos],
) -> Result<(Vec<V1LayerParameter>, Vec<Pos>)> {
    let layers = &net.layers;
    // For each blob, the index of the layer that last wrote it; None for a net input.
    let mut producer: HashMap<&str, Option<usize>> =
        net.input.iter().map(|n| (n.as_str(), None)).collect();
    let mut kept: Vec<V1LayerParameter> = Vec::with_capacity(layers.len());
    let mut kept_starts = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let ty = v0_type(layer);
        if ty != "padding" {
            kept.push(layer.clone());
            kept_starts.push(starts[i]);
        }
        for (j, bottom) in layer.bottom.iter().enumerate() {
            let s = match producer.get(bottom.as_str()) {
                None => {
                    return Err(Error::invalid(
                        file,
                        located(starts[i]),
                        format!(
                            "unknown blob input '{bottom}' to V0 layer '{}': no net input or \
                             earlier layer produces it",
                            v0_name(layer)
                        ),
                    ))
                }
                Some(None) => continue,
                Some(&Some(s)) => s,
            };
            let source = &layers[s];
            if v0_type(source) != "padding" {
                continue;
            }
            if ty != "conv" && ty != "pool" {
                return Err(Error::invalid(
                    file,
                    located(starts[i]),
                    format!(
                        "V0 padding layer '{}' feeds layer '{}' of type '{ty}'; Caffe can fold \
                         padding only into a following conv or pool layer",
                        v0_name(source),
                        v0_name(layer)
                    ),
                ));
            }
            if layer.bottom.len() != 1 {
                return Err(Error::invalid(
                    file,
                    located(starts[i]),
                    format!(
                        "V0 layer '{}' reads a padding layer, so it must have exactly one \
                         bottom (it has {})",
                        v0_name(layer),
                        layer.bottom.len()
                    ),
                ));
            }
            if source.bottom.len() != 1 || source.top.len() != 1 {
                return Err(Error::invalid(
                    file,
                    located(starts[s]),
                    format!(
                        "V0 padding layer '{}' must have exactly one bottom and one top \
                         (it has {} and {})",
                        v0_name(source),
                        source.bottom.len(),
                        source.top.len()
                    ),
                ));
            }
            // The layer just kept is this one (it is a conv or pool, not a padding layer).
            let target = kept.last_mut().expect("a conv or pool layer was just kept");
            let pad = source.layer.as_ref().map_or(0, |l| l.pad());
            target.layer.get_or_insert_with(Default::default).pad = Some(pad);
            target.bottom[j] = source.bottom[0].clone();
        }
        for top in &layer.top {
            producer.insert(top, Some(i));
        }
    }
    Ok((kept, kept_starts))
}

/// The V1 enum value of each V0 type string Caffe knows.
const V0_TYPES: [(&str, LayerType); 24] = [
    ("accuracy", LayerType::Accuracy),
    ("bnll", LayerType::Bnll),
    ("concat", LayerType::Concat),
    ("conv", LayerType::Convolution),
    ("data", LayerType::Data),
    ("dropout", LayerType::Dropout),
    ("euclidean_loss", LayerType::EuclideanLoss),
    ("flatten", LayerType::Flatten),
    ("hdf5_data", LayerType::Hdf5Data),
    ("hdf5_output", LayerType::Hdf5Output),
    ("im2col", LayerType::Im2col),
    ("images", LayerType::ImageData),
    ("infogain_loss", LayerType::InfogainLoss),
    ("innerproduct", LayerType::InnerProduct),
    ("lrn", LayerType::Lrn),
    (
        "multinomial_logistic_loss",
        LayerType::MultinomialLogisticLoss,
    ),
    ("pool", LayerType::Pooling),
    ("relu", LayerType::Relu),
    ("sigmoid", LayerType::Sigmoid),
    ("softmax", LayerType::Softmax),
    ("softmax_loss", LayerType::SoftmaxLoss),
    ("split", LayerType::Split),
    ("tanh", LayerType::Tanh),
    ("window_data", LayerType::WindowData),
];

/// `Some(p)` unless every field of `p` is unset: Caffe creates a `*_param` message only when it
/// moves at least one field into it.
fn non_empty<T: Default + PartialEq>(p: T) -> Option<Box<T>> {
    (p != T::default()).then(|| Box::new(p))
}

/// One V0 layer to V1. A V0 field that the layer's type does not use is dropped: Caffe logs an
/// error for it and carries on with the upgraded net, so the net still loads.
fn upgrade_layer(file: &str, l: V1LayerParameter, pos: Pos) -> Result<V1LayerParameter> {
    let mut out = V1LayerParameter {
        bottom: l.bottom,
        top: l.top,
        ..Default::default()
    };
    // In a V0 net, Caffe keeps only the wiring of an entry that has no nested V0 layer.
    let Some(v0) = l.layer else {
        return Ok(out);
    };
    let ty = v0.r#type().to_string();
    if let Some(t) = &v0.r#type {
        // "padding" is not in the list: those layers were folded away before this.
        let known = V0_TYPES.iter().find(|(name, _)| name == t);
        let Some(&(_, v1)) = known else {
            return Err(Error::invalid(
                file,
                located(pos),
                format!("unknown V0 layer type '{t}' (layer '{}')", v0.name()),
            ));
        };
        out.r#type = Some(v1 as i32);
    }
    out.name = v0.name;
    out.blobs = v0.blobs;
    out.blobs_lr = v0.blobs_lr;
    out.weight_decay = v0.weight_decay;
    // Any V0 layer may carry the data transformation fields.
    out.transform_param = non_empty(TransformationParameter {
        scale: v0.scale,
        mean_file: v0.meanfile,
        crop_size: v0.cropsize,
        mirror: v0.mirror,
        ..Default::default()
    });
    match ty.as_str() {
        "conv" => {
            out.convolution_param = non_empty(ConvolutionParameter {
                num_output: v0.num_output,
                bias_term: v0.biasterm,
                weight_filler: v0.weight_filler,
                bias_filler: v0.bias_filler,
                pad: v0.pad.into_iter().collect(),
                kernel_size: v0.kernelsize.into_iter().collect(),
                group: v0.group,
                stride: v0.stride.into_iter().collect(),
                ..Default::default()
            })
        }
        "innerproduct" => {
            out.inner_product_param = non_empty(InnerProductParameter {
                num_output: v0.num_output,
                bias_term: v0.biasterm,
                weight_filler: v0.weight_filler,
                bias_filler: v0.bias_filler,
                ..Default::default()
            })
        }
        "pool" => {
            out.pooling_param = non_empty(PoolingParameter {
                pad: v0.pad,
                kernel_size: v0.kernelsize,
                stride: v0.stride,
                // V0's MAX/AVE/STOCHASTIC carry PoolingParameter's numbers.
                pool: v0.pool,
                ..Default::default()
            })
        }
        "dropout" => {
            out.dropout_param = non_empty(DropoutParameter {
                dropout_ratio: v0.dropout_ratio,
                ..Default::default()
            })
        }
        "lrn" => {
            out.lrn_param = non_empty(LrnParameter {
                local_size: v0.local_size,
                alpha: v0.alpha,
                beta: v0.beta,
                k: v0.k,
                ..Default::default()
            })
        }
        "data" => {
            out.data_param = non_empty(DataParameter {
                source: v0.source,
                batch_size: v0.batchsize,
                rand_skip: v0.rand_skip,
                ..Default::default()
            })
        }
        "hdf5_data" => {
            out.hdf5_data_param = non_empty(Hdf5DataParameter {
                source: v0.source,
                batch_size: v0.batchsize,
                ..Default::default()
            })
        }
        "images" => {
            out.image_data_param = non_empty(ImageDataParameter {
                source: v0.source,
                batch_size: v0.batchsize,
                rand_skip: v0.rand_skip,
                shuffle: v0.shuffle_images,
                new_height: v0.new_height.map(|h| h as u32),
                new_width: v0.new_width.map(|w| w as u32),
                ..Default::default()
            })
        }
        "window_data" => {
            out.window_data_param = non_empty(WindowDataParameter {
                source: v0.source,
                batch_size: v0.batchsize,
                fg_threshold: v0.det_fg_threshold,
                bg_threshold: v0.det_bg_threshold,
                fg_fraction: v0.det_fg_fraction,
                context_pad: v0.det_context_pad,
                crop_mode: v0.det_crop_mode,
                ..Default::default()
            })
        }
        "infogain_loss" => {
            out.infogain_loss_param = non_empty(InfogainLossParameter {
                source: v0.source,
                ..Default::default()
            })
        }
        "concat" => {
            out.concat_param = non_empty(ConcatParameter {
                concat_dim: v0.concat_dim,
                ..Default::default()
            })
        }
        "hdf5_output" => out.hdf5_output_param = v0.hdf5_output_param.map(Box::new),
        _ => {}
    }
    Ok(out)
}

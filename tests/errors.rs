//! Every error path, tested (issue 6): each row of `CASES` runs the binary on a small net written
//! by hand and checks the exit code (1 invalid net, 2 usage or I/O, 3 parse), that stderr says
//! `error:` and the message, and, where the input is to blame, the `file:line:col` it points at.
//! No run may panic.
//!
//! The rows cover the error sites no other test reaches with both the exit code and the message.
//! The rest are covered elsewhere:
//! - tests/robustness.rs (`every_error_has_its_exit_code_place_and_message`, the binary-file,
//!   I/O and limit tests): every other syntax error of textformat (lexer.rs, value.rs, mod.rs),
//!   `--strict` unknown fields and enum values, binary files (file and stdin), files and stdin
//!   larger than memory, a missing file, a directory, unknown-field nesting over 64, strings
//!   over 1 MiB, layer names over 1024 bytes, the label map, a solver's missing net, the FLOPs
//!   total overflow, the Input layer's `int`/negative/INT_MAX/overflowing dims and `--batch`
//!   past INT_MAX (the walk's count check), and in analysis.rs/graph.rs/filter.rs: unknown
//!   bottom, a top made twice, loss_weight count, too many params, BatchNorm lr_mult, a shared
//!   param of another shape, propagate_down count, include with exclude, `--strict` unknown
//!   type, an unknown type without bottoms; and the flags `--batch 0`, `--input x=1,a`,
//!   `--input =1`, `--phase val`, an unknown flag, `--engine cudnn --device cpu`, `--group-by`
//!   with json, `--gpu-mem 12XB`, `--iter-size 0`, `diff --group-by`, `diff` with one file, no
//!   file at all.
//! - tests/upgrade.rs: V0 unknown type, V0 padding into a non-conv layer, V0 unknown blob,
//!   V1 and V2 layers mixed, too few input_dim, too few input_shape.
//! - tests/graph.rs, tests/textformat.rs, tests/solver.rs, tests/memory.rs: the same unknown
//!   bottom, include/exclude, binary and nesting errors, the solver's missing net, cuDNN on the
//!   CPU, through the library with `exit_code()`.
//! - tests/formats.rs (snapshots of exit code and stderr): a Data layer's unknown shape, a net
//!   and `diff` together, a missing file, a bad flag value, `--group-by` with dot, a parse error.
//!
//! Sites no input reaches (defensive checks), so no row:
//! - textformat/value.rs "string ends in a lone backslash": the lexer never ends a literal on an
//!   escaped quote, so a body never ends in an odd backslash; `put_scalar`'s `unreachable!`:
//!   `scalar` handles strings and enums itself and messages never get there.
//! - textformat/mod.rs `message_field` "nested more than 64 deep": caffe.proto has no recursive
//!   message, known messages nest at most 6 deep (unknown blocks are bounded by `skip_block`,
//!   covered); "message is larger than 2 GiB" needs an input over 2 GiB, not run here.
//! - load.rs `decode_error` (net and solver): the wire bytes are the reader's own, which checks
//!   UTF-8 and ranges, so prost decodes them; "the solver names no net": a file is read as a
//!   solver only when its root has net, train_net, net_param or train_net_param, and a value the
//!   solver cannot take there is a parse error first. (`parse_text`'s own binary check is for
//!   the library's `load_bytes`, covered by tests/textformat.rs; the binary's `read_source`
//!   refuses a binary head before it.)
//! - upgrade/v1.rs "unknown V1 layer type": every value of the LayerType enum is in V1_TYPES and
//!   the reader refuses numbers outside the enum (V0 types map to values in it).
//! - analysis.rs: "Unknown bottom blob" and "it was already consumed" in the walk
//!   (`insert_splits` refuses unknown bottoms first and gives each consumer its own Split top);
//!   "makes N top(s) but M are named" (every rule checks its top count and returns one shape per
//!   named top); a parameter's count (parameter shapes come from `filled`/`blob`, already
//!   checked); backward MACs overflowing in a layer or in the totals, and the forward MACs total
//!   (every rule has FLOPs >= 2 x MACs >= backward MACs, so the FLOPs total overflows first).
//! - layers/bvlc/mod.rs: `Layer::bottom` (rules check their bottom count first); `blob`'s
//!   dimension over INT_MAX (every dimension passed `int`/`fit` or comes from a checked blob or
//!   `--input`, 0..=INT_MAX); `dim`'s i32 conversion (indices are small); `u` (dims are
//!   non-negative once counted); `add` (its callers' terms stay below 2^50: InnerProduct MACs are
//!   at most 2^47, the recurrent ones are bounded by the top's INT_MAX elements).
//! - data.rs DummyData "has no shape for this top" (the count check before); ip.rs "K
//!   overflows", shape_ops.rs "flattened size overflows", norm.rs "too many axes" (counts of at
//!   most INT_MAX, at most 32 axes); pool.rs SPP's FLOPs sum (each level's FLOPs are about the
//!   bottom's count).
//! - layers/fork: mobile.rs ConvolutionDepthwise's FLOPs sum (2 x MACs <= 2^63) and
//!   "DepthwiseConvolution follows the Convolution rule, which is missing"; ssd.rs Normalize's
//!   and MultiBoxLoss's FLOPs sums (counts of INT_MAX elements times 7 at most); seg.rs "Interp
//!   output size overflows" (i64 arithmetic on int operands).
//! - format/mod.rs `json`, format/csv.rs: serializing the report to memory cannot fail.
//!
//! Errors that are not exits: a solver's test net that cannot be built (pipeline.rs
//! `test_nets`, `test_net_file`) is left out with a note in the report; the last test checks it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An Input layer making `x` (and any other tops) of the given shapes, on line 1; then the
/// layer under test on line 2, so that a layer's error points at `2:1`.
macro_rules! inputs {
    ($($top:literal = $dims:literal),+ ; $layer:literal) => {
        concat!(
            "layer { name: 'in' type: 'Input'",
            $(" top: '", $top, "'",)+
            " input_param {",
            $(" shape { ", $dims, " }",)+
            " } }\n",
            $layer
        )
    };
}

/// `x` of shape [2, 3, 8, 8] on line 1, the layer on line 2.
macro_rules! x4 {
    ($layer:literal) => {
        inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8"; $layer)
    };
}

/// One row: what it tests, the net, extra arguments, the exit code, where the error points and
/// a distinctive part of its message.
///
/// - The net is written to `net.prototxt` in a fresh folder. A line `--- NAME` starts another
///   file written beside it (a solver's net, the other side of a diff).
/// - Arguments: `@` is the net's path (otherwise it comes last), `@/NAME` a path in the folder,
///   `@dir` the folder; `>full` sends stdout to /dev/full instead.
/// - Where: `L:C` is a line and column of the net, `NAME:L:C` of another file; `-` the net
///   without a position; `` a message with no file (`caffe-mem: error:`); `clap` the argument
///   parser's own (`error:`).
type Case = (
    &'static str,
    &'static str,
    &'static [&'static str],
    i32,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ---- reading (exit 3) ----
    // textformat/value.rs parse_int: a literal with no digits.
    ("a sign alone", "layer { convolution_param { axis: - } }", &[], 3, "1:35", "'-' is not an integer"),
    // textformat/value.rs parse_float: a hex float goes through parse_int.
    ("a hex float that is not hex", "layer { dropout_param { dropout_ratio: 0xZZ } }", &[], 3, "1:40", "'0xZZ' is not an integer"),
    // load.rs load_bytes: a label map is read as caffe.LabelMap too, and fails there.
    ("a label map that does not parse", "item { name: 'cat' label: 'one' }", &[], 3, "1:27", "expected a value for field 'label', found ''one''"),
    // load.rs load_bytes: a solver is read again as caffe.SolverParameter, and fails there.
    ("a solver that does not parse", "net: 'a.prototxt'\nbase_lr: 'fast'", &[], 3, "2:10", "expected a value for field 'base_lr', found ''fast''"),
    // load.rs report_unknown, on the solver's own fields.
    ("an unknown solver field, --strict", "net: 'a.prototxt'\nbogus: 1", &["--strict"], 3, "2:1", "unknown field 'bogus' in caffe.SolverParameter"),
    // load.rs solver_net: read_source of the net the solver names.
    ("a solver's net that is binary", "net: 'model.caffemodel'\n--- model.caffemodel\n\u{0}\u{0}\u{1}\u{2}", &[], 3, "model.caffemodel:1:1", "this looks like a binary file, not a text prototxt"),
    // load.rs solver_net: parse_text of the net the solver names.
    ("a solver's net that does not parse", "train_net: 'train.prototxt'\n--- train.prototxt\nlayer { 5 }", &[], 3, "train.prototxt:1:9", "expected a field name, found '5'"),
    // cli.rs main, diff: load.rs parse_text of the second net.
    ("diff whose second net does not parse", "name: 'a'\n--- b.prototxt\nname: 'b'\nlayer { 5 }", &["diff", "@", "@/b.prototxt"], 3, "b.prototxt:2:9", "expected a field name, found '5'"),

    // ---- I/O and usage (exit 2) ----
    // cli.rs main, diff: load.rs read_source of the second file (Error::Io).
    ("diff with a missing file", "name: 'a'", &["diff", "@", "@/nothing.prototxt"], 2, "", "nothing.prototxt: No such file or directory"),
    // cli.rs main, diff: load.rs read_source of the second file (Error::Io).
    ("diff with a directory", "name: 'a'", &["diff", "@", "@dir"], 2, "", "Is a directory"),
    // cli.rs main: format::print of a text report fails.
    ("stdout full, table", "name: 'a'", &[">full", "--format", "table"], 2, "", "cannot write the report: No space left on device"),
    // cli.rs main: print_json of the streamed JSON report fails.
    ("stdout full, JSON", "name: 'a'", &[">full"], 2, "", "cannot write the report: No space left on device"),
    // format/diff.rs render: csv and dot have no diff.
    ("diff as csv", "name: 'a'", &["diff", "--format", "csv", "@", "@"], 2, "", "diff prints json, table or markdown"),
    // cli.rs parse_input: no '='.
    ("--input without '='", "name: 'a'", &["--input", "x"], 2, "clap", "'x' is not NAME=N,C,H,W"),
    // cli.rs parse_input: a dimension past INT_MAX.
    ("--input past INT_MAX", "name: 'a'", &["--input", "x=2147483648"], 2, "clap", "'2147483648' in 'x=2147483648' is not a dimension (0 to 2147483647)"),
    // memory/settings.rs parse_size: no number.
    ("--gpu-mem with no number", "name: 'a'", &["--gpu-mem", "GiB"], 2, "clap", "'GiB' is not a size such as 11GiB or 8000MB"),
    // memory/settings.rs parse_size: past u64.
    ("--gpu-mem too large", "name: 'a'", &["--gpu-mem", "99999999999999999999TiB"], 2, "clap", "'99999999999999999999TiB' is too large"),
    // memory/settings.rs parse_size, for --reserve.
    ("--reserve with two points", "name: 'a'", &["--reserve", "1.2.3"], 2, "clap", "'1.2.3' is not a size such as 11GiB or 8000MB"),
    // cli.rs Args (clap): --level is an i32.
    ("--level not a number", "name: 'a'", &["--level", "x"], 2, "clap", "invalid value 'x' for '--level <LEVEL>'"),
    // cli.rs Args (clap): --batch is in 1..=INT_MAX.
    ("--batch past INT_MAX", "name: 'a'", &["--batch", "2147483648"], 2, "clap", "2147483648 is not in 1..=2147483647"),
    // cli.rs Args (clap): Format's values.
    ("--format unknown", "name: 'a'", &["--format", "yaml"], 2, "clap", "invalid value 'yaml' for '--format <FORMAT>'"),
    // cli.rs Args (clap): Dtype's values.
    ("--dtype unknown", "name: 'a'", &["--dtype", "fp8"], 2, "clap", "invalid value 'fp8' for '--dtype <DTYPE>'"),

    // ---- upgrade (exit 1) ----
    // upgrade/v0.rs fold_padding: the layer reading a padding layer has two bottoms.
    ("V0 conv after padding with two bottoms", "input: 'data' input_dim: 1 input_dim: 1 input_dim: 4 input_dim: 4\nlayers { layer { name: 'pad' type: 'padding' pad: 1 } bottom: 'data' top: 'padded' }\nlayers { layer { name: 'conv' type: 'conv' num_output: 2 kernelsize: 3 } bottom: 'padded' bottom: 'data' top: 'c' }", &[], 1, "3:1", "V0 layer 'conv' reads a padding layer, so it must have exactly one bottom (it has 2)"),
    // upgrade/v0.rs fold_padding: the padding layer has two bottoms.
    ("V0 padding layer with two bottoms", "input: 'data' input_dim: 1 input_dim: 1 input_dim: 4 input_dim: 4\nlayers { layer { name: 'pad' type: 'padding' pad: 1 } bottom: 'data' bottom: 'data' top: 'padded' }\nlayers { layer { name: 'conv' type: 'conv' num_output: 2 kernelsize: 3 } bottom: 'padded' top: 'c' }", &[], 1, "2:1", "V0 padding layer 'pad' must have exactly one bottom and one top (it has 2 and 1)"),
    // upgrade/mod.rs upgrade_input, in a solver's inline net (positions from load.rs solver_net).
    ("inline net with too few input_dim", "base_lr: 0.1\ntrain_net_param {\n  input: 'x' input_dim: 1\n}", &[], 1, "3:14", "incorrect input blob dimensions: 1 net inputs need 4 input_dim values each"),

    // ---- the walk (exit 1) ----
    // graph.rs insert_splits, in a solver's inline net (positions from load.rs solver_net).
    ("inline net with an unknown bottom", "base_lr: 0.1\nnet_param {\n  layer { name: 'r' type: 'ReLU' bottom: 'nope' top: 'y' }\n}", &[], 1, "3:3", "Unknown bottom blob 'nope' (layer 'r', bottom index 0)"),
    // analysis.rs walk: a rule's refusal in a solver's inline net.
    ("inline net with a bad axis", "base_lr: 0.1\ntrain_net_param {\n  layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 2 dim: 3 } } }\n  layer { name: 's' type: 'Softmax' bottom: 'x' top: 'y' softmax_param { axis: 5 } }\n}", &[], 1, "4:3", "layer 's' (Softmax): axis 5 out of range for a 2-axis blob"),
    // analysis.rs walk: sharing by name with PERMISSIVE compares counts.
    ("shared param of another count", x4!("layer { name: 'a' type: 'Convolution' bottom: 'x' top: 'y' param { name: 'w' share_mode: PERMISSIVE } convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }\nlayer { name: 'b' type: 'Convolution' bottom: 'x' top: 'z' param { name: 'w' share_mode: PERMISSIVE } convolution_param { num_output: 4 kernel_size: 1 bias_term: false } }"), &[], 1, "3:1", "Cannot share param 'w' owned by layer 'a' with layer 'b'; count mismatch: owner has shape [2, 3, 1, 1], this layer expects [4, 3, 1, 1]"),
    // memory/mod.rs (the `overflow` closures): a figure past 64 bits, prefetch x a 2^31-element
    // top x 4 bytes; a sum over the whole net, so the file is named without a line.
    ("memory figure overflow", "layer { name: 'd' type: 'Data' top: 'a' data_param { batch_size: 1 prefetch: 4000000000 } }", &["--input", "a=2147483647"], 1, "-", "a memory figure of this net overflows 64 bits"),

    // ---- layers/mod.rs helpers (exit 1, at the layer) ----
    // layers/mod.rs canonical_axis.
    ("axis out of range", x4!("layer { name: 'l' type: 'Softmax' bottom: 'x' top: 'y' softmax_param { axis: 4 } }"), &[], 1, "2:1", "layer 'l' (Softmax): axis 4 out of range for a 4-axis blob"),
    // layers/mod.rs mul: 3 bottoms of 2^62 MACs each fit, their FLOPs (2 x MACs) do not.
    ("operation count past 64 bits", inputs!("x" = "dim: 2147483647 dim: 1 dim: 1 dim: 1"; "layer { name: 'c' type: 'Convolution' bottom: 'x' bottom: 'x' bottom: 'x' top: 'a' top: 'b' top: 'c' convolution_param { num_output: 1 kernel_size: 46340 pad: 23170 stride: 2 bias_term: false } }"), &[], 1, "2:1", "layer 'c' (Convolution): operation count overflows 64 bits"),
    // layers/mod.rs check_count: an exact count.
    ("no bottom for InnerProduct", x4!("layer { name: 'l' type: 'InnerProduct' top: 'y' inner_product_param { num_output: 2 } }"), &[], 1, "2:1", "InnerProduct Layer takes 1 bottom blob(s) as input (got 0)"),
    // layers/mod.rs check_count: at least.
    ("no top for Slice", x4!("layer { name: 'l' type: 'Slice' bottom: 'x' }"), &[], 1, "2:1", "Slice Layer produces at least 1 top blob(s) as output (got 0)"),
    // layers/mod.rs check_count: at most.
    ("two tops for AVE pooling", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'a' top: 'b' pooling_param { pool: AVE kernel_size: 2 } }"), &[], 1, "2:1", "Pooling Layer produces at most 1 top blob(s) as output (got 2)"),

    // ---- layers/bvlc/mod.rs helpers ----
    // bvlc/mod.rs Layer::not_in_place.
    ("Flatten in place", x4!("layer { name: 'l' type: 'Flatten' bottom: 'x' top: 'x' }"), &[], 1, "2:1", "Flatten Layer does not allow in-place computation"),
    // bvlc/mod.rs blob: at most 32 axes.
    ("a blob of 33 axes", "layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 dim: 1 } } }", &[], 1, "1:1", "a blob has at most 32 axes; this one would have 33"),
    // bvlc/mod.rs fit, from shape_ops.rs concat.
    ("Concat past INT_MAX", inputs!("x" = "dim: 1 dim: 2147483647"; "layer { name: 'l' type: 'Concat' bottom: 'x' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "concatenated dimension overflows Caffe's int"),
    // bvlc/mod.rs count_range, from arith.rs argmax.
    ("ArgMax of a scalar", inputs!("x" = ""; "layer { name: 'l' type: 'ArgMax' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "axes 1..0 are out of range for shape []"),
    // bvlc/mod.rs legacy, from norm.rs mvn.
    ("MVN of 5 axes", inputs!("x" = "dim: 1 dim: 1 dim: 1 dim: 1 dim: 1"; "layer { name: 'l' type: 'MVN' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Cannot use legacy accessors (num/channels/height/width) on blobs with > 4 axes"),
    // bvlc/mod.rs filled: the filler's type.
    ("unknown filler", x4!("layer { name: 'l' type: 'InnerProduct' bottom: 'x' top: 'y' inner_product_param { num_output: 2 weight_filler { type: 'fancy' } } }"), &[], 1, "2:1", "Unknown filler name: fancy"),
    // bvlc/mod.rs filled: an empty blob.
    ("filling an empty blob", x4!("layer { name: 'l' type: 'InnerProduct' bottom: 'x' top: 'y' inner_product_param { num_output: 0 } }"), &[], 1, "2:1", "the constant filler cannot fill the empty parameter blob [0, 192]"),
    // bvlc/mod.rs filled: sparse.
    ("sparse xavier", x4!("layer { name: 'l' type: 'InnerProduct' bottom: 'x' top: 'y' inner_product_param { num_output: 2 weight_filler { type: 'xavier' sparse: 2 } } }"), &[], 1, "2:1", "Sparsity not supported by the xavier filler"),
    // bvlc/mod.rs filled: bilinear.
    ("bilinear on a 2-D weight", x4!("layer { name: 'l' type: 'InnerProduct' bottom: 'x' top: 'y' inner_product_param { num_output: 2 weight_filler { type: 'bilinear' } } }"), &[], 1, "2:1", "the bilinear filler needs a square 4-D blob"),
    // bvlc/mod.rs filled: an axis-less blob.
    ("xavier on a scalar", x4!("layer { name: 'l' type: 'PReLU' bottom: 'x' top: 'y' prelu_param { channel_shared: true filler { type: 'xavier' } } }"), &[], 1, "2:1", "the xavier filler needs a blob with at least one axis"),

    // ---- layers/bvlc/data.rs ----
    // bvlc/data.rs input: the shape count.
    ("Input shapes neither once nor per top", "layer { name: 'in' type: 'Input' top: 'a' top: 'b' top: 'c' input_param { shape { dim: 1 } shape { dim: 2 } } }", &[], 1, "1:1", "Must specify 'shape' once, once per top blob, or not at all: 3 tops vs. 2 shapes"),
    // bvlc/data.rs input, unknown.
    ("Input without a shape", "layer { name: 'in' type: 'Input' top: 'img' }", &[], 1, "1:1", "shape of blob 'img' cannot be known from the net (the Input layer has no input_param shape for it)"),
    // bvlc/data.rs image_data: new_height without new_width.
    ("ImageData new_height alone", "layer { name: 'd' type: 'ImageData' top: 'a' top: 'b' image_data_param { new_height: 8 } }", &[], 1, "1:1", "Current implementation requires new_height and new_width to be set at the same time"),
    // bvlc/data.rs image_data: batch_size.
    ("ImageData batch 0", "layer { name: 'd' type: 'ImageData' top: 'a' top: 'b' image_data_param { batch_size: 0 } }", &[], 1, "1:1", "Positive batch size required"),
    // bvlc/data.rs image_data: the crop against the resize.
    ("ImageData crop past the resize", "layer { name: 'd' type: 'ImageData' top: 'a' top: 'b' image_data_param { new_height: 8 new_width: 8 } transform_param { crop_size: 10 } }", &[], 1, "1:1", "crop_size 10 is larger than the resized image (8x8)"),
    // bvlc/data.rs image_data, unknown.
    ("ImageData of unknown size", "layer { name: 'd' type: 'ImageData' top: 'a' top: 'b' }", &[], 1, "1:1", "shape of blob 'a' cannot be known from the net (an ImageData layer without crop_size"),
    // bvlc/data.rs window_data: crop_size.
    ("WindowData without crop", "layer { name: 'd' type: 'WindowData' top: 'a' top: 'b' }", &[], 1, "1:1", "WindowData needs transform_param.crop_size > 0"),
    // bvlc/data.rs hdf5_data: transform_param.
    ("HDF5Data with a transform", "layer { name: 'd' type: 'HDF5Data' top: 'a' transform_param { scale: 0.5 } }", &[], 1, "1:1", "HDF5Data does not transform data (remove transform_param)"),
    // bvlc/data.rs hdf5_data, unknown.
    ("HDF5Data of unknown shape", "layer { name: 'd' type: 'HDF5Data' top: 'a' hdf5_data_param { batch_size: 4 } }", &[], 1, "1:1", "shape of blob 'a' cannot be known from the net (an HDF5Data layer reads it from its .h5 files)"),
    // bvlc/data.rs memory_data: the four sizes.
    ("MemoryData without width", "layer { name: 'd' type: 'MemoryData' top: 'a' top: 'b' memory_data_param { batch_size: 2 channels: 3 height: 8 } }", &[], 1, "1:1", "batch_size, channels, height, and width must be specified and positive in memory_data_param"),
    // bvlc/data.rs dummy_data: the filler count.
    ("DummyData with 2 fillers for 3 tops", "layer { name: 'd' type: 'DummyData' top: 'a' top: 'b' top: 'c' dummy_data_param { shape { dim: 1 } data_filler { } data_filler { } } }", &[], 1, "1:1", "Number of data fillers must be 0, 1 or equal to the number of tops: 3; you specified 2 data fillers"),
    // bvlc/data.rs dummy_data: shape and legacy fields.
    ("DummyData shape and num", "layer { name: 'd' type: 'DummyData' top: 'a' dummy_data_param { shape { dim: 1 } num: 1 } }", &[], 1, "1:1", "Both shape and legacy fields were specified"),
    // bvlc/data.rs dummy_data: a legacy field's count.
    ("DummyData 2 nums for 3 tops", "layer { name: 'd' type: 'DummyData' top: 'a' top: 'b' top: 'c' dummy_data_param { num: 1 num: 2 } }", &[], 1, "1:1", "Must specify 'num' once, or once per top blob (3); specified 2"),
    // bvlc/data.rs dummy_data: the shape count.
    ("DummyData 2 shapes for 3 tops", "layer { name: 'd' type: 'DummyData' top: 'a' top: 'b' top: 'c' dummy_data_param { shape { dim: 1 } shape { dim: 2 } } }", &[], 1, "1:1", "Must specify 'shape' once, or once per top blob (3); specified 2"),
    // bvlc/data.rs python, unknown.
    ("Python of unknown shape", "layer { name: 'p' type: 'Python' top: 'a' }", &[], 1, "1:1", "shape of blob 'a' cannot be known from the net (a Python layer shapes its tops in its own code)"),

    // ---- layers/bvlc/conv.rs ----
    // bvlc/conv.rs Geometry::conv_out.
    ("kernel larger than the input", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 11 } }"), &[], 1, "2:1", "Convolution output size along spatial axis 0 would be -2"),
    // bvlc/conv.rs Geometry::deconv_out.
    ("deconvolution pad too large", x4!("layer { name: 'l' type: 'Deconvolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 1 pad: 5 } }"), &[], 1, "2:1", "Deconvolution output size along spatial axis 0 would be -2: pad 5 is too large for input 8"),
    // bvlc/conv.rs per_axis: _h/_w off 2-D.
    ("stride_h on a 1-D convolution", inputs!("x" = "dim: 2 dim: 3 dim: 8"; "layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 3 stride_h: 2 stride_w: 2 } }"), &[], 1, "2:1", "stride_h & stride_w can only be used for 2D convolution"),
    // bvlc/conv.rs per_axis: both forms.
    ("stride and stride_h", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 3 stride: 1 stride_h: 2 stride_w: 2 } }"), &[], 1, "2:1", "Either stride or stride_h/w should be specified; not both"),
    // bvlc/conv.rs per_axis: the count.
    ("three pads for two axes", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 3 pad: 1 pad: 1 pad: 1 } }"), &[], 1, "2:1", "pad must be specified once, or once per spatial dimension (pad specified 3 times; 2 spatial dims)"),
    // bvlc/conv.rs geometry: min_spatial (Im2col).
    ("Im2col with no spatial axis", inputs!("x" = "dim: 2 dim: 3"; "layer { name: 'l' type: 'Im2col' bottom: 'x' top: 'y' convolution_param { kernel_size: 1 } }"), &[], 1, "2:1", "Im2col needs at least 1 spatial axis after the channel axis 1; bottom is [2, 3]"),
    // bvlc/conv.rs geometry: kernel_h/w off 2-D.
    ("kernel_h on a 1-D convolution", inputs!("x" = "dim: 2 dim: 3 dim: 8"; "layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_h: 3 kernel_w: 3 } }"), &[], 1, "2:1", "kernel_h & kernel_w can only be used for 2D convolution"),
    // bvlc/conv.rs geometry: both kernel forms.
    ("kernel_size and kernel_h", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 3 kernel_h: 3 kernel_w: 3 } }"), &[], 1, "2:1", "Either kernel_size or kernel_h/w should be specified; not both"),
    // bvlc/conv.rs geometry: the kernel_size count.
    ("no kernel_size", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 } }"), &[], 1, "2:1", "kernel_size must be specified once, or once per spatial dimension (kernel_size specified 0 times; 2 spatial dims)"),
    // bvlc/conv.rs geometry: a zero kernel.
    ("kernel_size 0", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 0 } }"), &[], 1, "2:1", "Filter dimensions must be nonzero (kernel [0, 0])"),
    // bvlc/conv.rs geometry: a zero stride.
    ("stride 0", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 3 stride: 0 } }"), &[], 1, "2:1", "Stride dimensions must be nonzero (stride [0, 0])"),
    // bvlc/conv.rs geometry: hole off 2-D.
    ("hole on a 1-D convolution", inputs!("x" = "dim: 2 dim: 3 dim: 8"; "layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 1 kernel_size: 3 hole: 2 } }"), &[], 1, "2:1", "hole can only be used for 2D convolution"),
    // bvlc/conv.rs base_conv: a top per bottom.
    ("two tops for one bottom", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'a' top: 'b' convolution_param { num_output: 1 kernel_size: 1 } }"), &[], 1, "2:1", "Convolution Layer produces one top blob as output for each bottom blob input (1 bottoms, 2 tops)"),
    // bvlc/conv.rs base_conv: num_output.
    ("num_output 0", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 0 kernel_size: 1 } }"), &[], 1, "2:1", "num_output must be positive (got 0)"),
    // bvlc/conv.rs base_conv: group.
    ("group 0", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 2 kernel_size: 1 group: 0 } }"), &[], 1, "2:1", "group must be positive (got 0)"),
    // bvlc/conv.rs base_conv: channels and group.
    ("channels not a multiple of group", x4!("layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 2 kernel_size: 1 group: 2 } }"), &[], 1, "2:1", "the 3 input channels are not a multiple of group 2"),
    // bvlc/conv.rs base_conv: num_output and group.
    ("num_output not a multiple of group", inputs!("x" = "dim: 2 dim: 4 dim: 8 dim: 8"; "layer { name: 'l' type: 'Convolution' bottom: 'x' top: 'y' convolution_param { num_output: 3 kernel_size: 1 group: 2 } }"), &[], 1, "2:1", "Number of output should be multiples of group (num_output 3, group 2)"),
    // bvlc/conv.rs base_conv: the bottoms' shapes.
    ("bottoms of two shapes", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 2 dim: 3 dim: 4 dim: 4"; "layer { name: 'l' type: 'Convolution' bottom: 'x' bottom: 'y' top: 'a' top: 'b' convolution_param { num_output: 1 kernel_size: 1 } }"), &[], 1, "2:1", "shape mismatch - bottom[0]: [2, 3, 8, 8] vs. bottom[1]: [2, 3, 4, 4]"),
    // bvlc/conv.rs base_conv, the bias adds (checked_add): 3 bottoms of [2^31-1, 1, 1, 1] and a
    // 1431655766 x 1 kernel make 2 x MACs 2^64 - 4; the 3 x (2^31-1) bias adds pass 2^64.
    ("bias adds past 64 bits", inputs!("x" = "dim: 2147483647 dim: 1 dim: 1 dim: 1"; "layer { name: 'c' type: 'Convolution' bottom: 'x' bottom: 'x' bottom: 'x' top: 'a' top: 'b' top: 'c' convolution_param { num_output: 1 kernel_h: 1431655766 kernel_w: 1 pad_h: 715827883 pad_w: 0 stride_h: 2 stride_w: 1 } }"), &[], 1, "2:1", "layer 'c' (Convolution): operation count overflows 64 bits"),

    // ---- layers/bvlc/pool.rs ----
    // bvlc/pool.rs pooling, check_kernel.
    ("pooling kernel 0", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 0 } }"), &[], 1, "2:1", "Filter dimensions cannot be zero (kernel 0x0)"),
    // bvlc/pool.rs Window::apply: padding with STOCHASTIC.
    ("padded stochastic pooling", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { pool: STOCHASTIC kernel_size: 3 pad: 1 } }"), &[], 1, "2:1", "Padding implemented only for average and max pooling"),
    // bvlc/pool.rs Window::apply: pad against kernel.
    ("pad as large as the kernel", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 2 pad: 2 } }"), &[], 1, "2:1", "pad must be less than kernel (pad 2x2, kernel 2x2)"),
    // bvlc/pool.rs Window::apply: the stride.
    ("pooling stride 0", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 2 stride: 0 } }"), &[], 1, "2:1", "pooling stride must be positive (stride 0x0)"),
    // bvlc/pool.rs Window::apply: 4 axes.
    ("pooling a 3-D blob", inputs!("x" = "dim: 2 dim: 3 dim: 8"; "layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 2 } }"), &[], 1, "2:1", "(Pooling): Input must have 4 axes, corresponding to (num, channels, height, width); bottom is [2, 3, 8]"),
    // bvlc/pool.rs Window::pooled, the second clip check: 2^30 + 65 rounds up to 2^30 + 128 in
    // float, as in Caffe, and the last window starts 62 rows into the padding.
    ("last window in the padding", inputs!("x" = "dim: 1 dim: 1 dim: 1073741888 dim: 1"; "layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 3 pad: 2 } }"), &[], 1, "2:1", "the last pooling window starts in the padding ((pooled 1073741952 - 1) * stride 1 >= input 1073741888 + pad 2)"),
    // bvlc/pool.rs Window::pooled: a negative size.
    ("pooling kernel larger than the input", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 11 } }"), &[], 1, "2:1", "pooled size would be -2: kernel 11 is larger than input 8 + 2 * pad 0"),
    // bvlc/pool.rs pooling: global with a kernel.
    ("global pooling with a kernel", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { global_pooling: true kernel_size: 2 } }"), &[], 1, "2:1", "With Global_pooling: true Filter size cannot specified"),
    // bvlc/pool.rs pooling: no kernel.
    ("pooling without a kernel", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { pool: MAX } }"), &[], 1, "2:1", "Filter size is kernel_size OR kernel_h and kernel_w; not both"),
    // bvlc/pool.rs pooling: pad_h without pad_w.
    ("pad_h alone", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 2 pad_h: 1 } }"), &[], 1, "2:1", "pad is pad OR pad_h and pad_w are required"),
    // bvlc/pool.rs pooling: stride_h without stride_w.
    ("stride_h alone", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { kernel_size: 2 stride_h: 1 } }"), &[], 1, "2:1", "Stride is stride OR stride_h and stride_w are required"),
    // bvlc/pool.rs pooling: global with a stride.
    ("global pooling with a stride", x4!("layer { name: 'l' type: 'Pooling' bottom: 'x' top: 'y' pooling_param { global_pooling: true stride: 2 } }"), &[], 1, "2:1", "With Global_pooling: true; only pad = 0 and stride = 1"),
    // bvlc/pool.rs spp: an empty plane.
    ("SPP of an empty plane", inputs!("x" = "dim: 2 dim: 3 dim: 0 dim: 8"; "layer { name: 'l' type: 'SPP' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Input dimensions cannot be zero (bottom [2, 3, 0, 8])"),
    // bvlc/pool.rs spp: pyramid_height 0.
    ("SPP of no level", x4!("layer { name: 'l' type: 'SPP' bottom: 'x' top: 'y' spp_param { pyramid_height: 0 } }"), &[], 1, "2:1", "pyramid_height must be at least 1"),
    // bvlc/pool.rs spp: pyramid_height over 31.
    ("SPP of 32 levels", x4!("layer { name: 'l' type: 'SPP' bottom: 'x' top: 'y' spp_param { pyramid_height: 32 } }"), &[], 1, "2:1", "pyramid_height 32 is too large"),

    // ---- layers/bvlc/ip.rs ----
    // bvlc/ip.rs embed: num_output.
    ("Embed num_output 0", x4!("layer { name: 'l' type: 'Embed' bottom: 'x' top: 'y' embed_param { num_output: 0 input_dim: 10 } }"), &[], 1, "2:1", "EmbedLayer num_output must be positive"),
    // bvlc/ip.rs embed: input_dim.
    ("Embed input_dim 0", x4!("layer { name: 'l' type: 'Embed' bottom: 'x' top: 'y' embed_param { num_output: 4 } }"), &[], 1, "2:1", "EmbedLayer input_dim must be positive"),

    // ---- layers/bvlc/activation.rs ----
    // bvlc/activation.rs prelu: the axes.
    ("PReLU of one axis", inputs!("x" = "dim: 16"; "layer { name: 'l' type: 'PReLU' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Number of axes of bottom blob must be >=2 (bottom is [16])"),
    // bvlc/activation.rs log_base: not positive (Exp).
    ("Exp base 0", x4!("layer { name: 'l' type: 'Exp' bottom: 'x' top: 'y' exp_param { base: 0 } }"), &[], 1, "2:1", "base must be strictly positive (base 0)"),
    // bvlc/activation.rs log_base: log(base) not finite (Log).
    ("Log base inf", x4!("layer { name: 'l' type: 'Log' bottom: 'x' top: 'y' log_param { base: inf } }"), &[], 1, "2:1", "log(base) = log(inf) = inf is not finite"),
    // bvlc/activation.rs log_flops: 1/log(base) not finite.
    ("Log base 1", x4!("layer { name: 'l' type: 'Log' bottom: 'x' top: 'y' log_param { base: 1 } }"), &[], 1, "2:1", "1/log(base) = 1/log(1) is not finite"),

    // ---- layers/bvlc/arith.rs ----
    // bvlc/arith.rs eltwise: the coeff count.
    ("Eltwise with one coeff for two", x4!("layer { name: 'l' type: 'Eltwise' bottom: 'x' bottom: 'x' top: 'y' eltwise_param { coeff: 1 } }"), &[], 1, "2:1", "Eltwise Layer takes one coefficient per bottom blob (2 bottoms, 1 coeff)"),
    // bvlc/arith.rs eltwise: PROD with coeff.
    ("Eltwise PROD with coeff", x4!("layer { name: 'l' type: 'Eltwise' bottom: 'x' bottom: 'x' top: 'y' eltwise_param { operation: PROD coeff: 1 coeff: 1 } }"), &[], 1, "2:1", "Eltwise layer only takes coefficients for summation"),
    // bvlc/arith.rs eltwise: the shapes.
    ("Eltwise of two shapes", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 4"; "layer { name: 'l' type: 'Eltwise' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "Eltwise bottoms must have the same shape: bottom[0] [2, 3], bottom[1] [2, 4]"),
    // bvlc/arith.rs argmax: top_k below 1.
    ("ArgMax top_k 0", x4!("layer { name: 'l' type: 'ArgMax' bottom: 'x' top: 'y' argmax_param { top_k: 0 } }"), &[], 1, "2:1", "top k must not be less than 1"),
    // bvlc/arith.rs argmax: top_k against the axis.
    ("ArgMax top_k past the axis", x4!("layer { name: 'l' type: 'ArgMax' bottom: 'x' top: 'y' argmax_param { axis: 1 top_k: 4 } }"), &[], 1, "2:1", "top_k must be less than or equal to the dimension of the axis (4 > 3)"),
    // bvlc/arith.rs argmax: top_k against the item.
    ("ArgMax top_k past the item", inputs!("x" = "dim: 2 dim: 3"; "layer { name: 'l' type: 'ArgMax' bottom: 'x' top: 'y' argmax_param { top_k: 4 } }"), &[], 1, "2:1", "top_k must be less than or equal to the dimension of the flattened bottom blob per instance (4 > 3)"),

    // ---- layers/bvlc/norm.rs ----
    // bvlc/norm.rs lrn: local_size.
    ("LRN local_size 4", x4!("layer { name: 'l' type: 'LRN' bottom: 'x' top: 'y' lrn_param { local_size: 4 } }"), &[], 1, "2:1", "LRN only supports odd values for local_size (got 4)"),
    // bvlc/norm.rs lrn: 4 axes.
    ("LRN of a 3-D blob", inputs!("x" = "dim: 2 dim: 3 dim: 8"; "layer { name: 'l' type: 'LRN' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "(LRN): Input must have 4 axes, corresponding to (num, channels, height, width); bottom is [2, 3, 8]"),
    // bvlc/norm.rs batch_norm: the axes.
    ("BatchNorm of one axis", inputs!("x" = "dim: 4"; "layer { name: 'l' type: 'BatchNorm' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "BatchNorm needs a bottom with at least 2 axes (N, C, ...); bottom is [4]"),
    // bvlc/norm.rs batch_norm: an empty bottom.
    ("BatchNorm of an empty batch", inputs!("x" = "dim: 0 dim: 3"; "layer { name: 'l' type: 'BatchNorm' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "BatchNorm on an empty bottom [0, 3] divides by N*C = 0"),
    // bvlc/norm.rs operand_shape: num_axes.
    ("Scale num_axes -2", x4!("layer { name: 'l' type: 'Scale' bottom: 'x' top: 'y' scale_param { num_axes: -2 } }"), &[], 1, "2:1", "num_axes must be non-negative, or -1 to extend to the end of bottom[0] (got -2)"),
    // bvlc/norm.rs operand_shape: past the last axis.
    ("Scale past the last axis", x4!("layer { name: 'l' type: 'Scale' bottom: 'x' top: 'y' scale_param { axis: 2 num_axes: 3 } }"), &[], 1, "2:1", "(Scale): scale blob's shape extends past bottom[0]'s shape when applied starting with bottom[0] axis = 2"),
    // bvlc/norm.rs check_operand: past the last axis (Bias of two bottoms).
    ("Bias operand past the last axis", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 8 dim: 8 dim: 8"; "layer { name: 'l' type: 'Bias' bottom: 'x' bottom: 'y' top: 'z' bias_param { axis: 2 } }"), &[], 1, "2:1", "(Bias): bias blob's shape extends past bottom[0]'s shape when applied starting with bottom[0] axis = 2"),
    // bvlc/norm.rs check_operand: a dimension (Scale of two bottoms).
    ("Scale operand of another size", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 4"; "layer { name: 'l' type: 'Scale' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "dimension mismatch between bottom[0]->shape(1) = 3 and scale->shape(0) = 4"),

    // ---- layers/bvlc/shape_ops.rs ----
    // bvlc/shape_ops.rs pick_axis: both.
    ("Concat axis and concat_dim", x4!("layer { name: 'l' type: 'Concat' bottom: 'x' bottom: 'x' top: 'y' concat_param { axis: 1 concat_dim: 1 } }"), &[], 1, "2:1", "Either axis or concat_dim should be specified; not both"),
    // bvlc/shape_ops.rs pick_axis: concat_dim past int.
    ("concat_dim past int", x4!("layer { name: 'l' type: 'Concat' bottom: 'x' top: 'y' concat_param { concat_dim: 4294967295 } }"), &[], 1, "2:1", "casting concat_dim from uint32 to int32 produced negative result"),
    // bvlc/shape_ops.rs pick_axis: concat_dim out of range.
    ("concat_dim out of range", x4!("layer { name: 'l' type: 'Concat' bottom: 'x' top: 'y' concat_param { concat_dim: 4 } }"), &[], 1, "2:1", "concat_dim out of range (concat_dim 4 for a 4-axis blob)"),
    // bvlc/shape_ops.rs concat: the axes.
    ("Concat of 2 and 3 axes", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 3 dim: 1"; "layer { name: 'l' type: 'Concat' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "All inputs must have the same #axes (bottom[0] [2, 3], bottom[1] [2, 3, 1])"),
    // bvlc/shape_ops.rs concat: the other dimensions.
    ("Concat of other batches", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 3 dim: 3"; "layer { name: 'l' type: 'Concat' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "All inputs must have the same shape, except at concat_axis 1 (bottom[0] [2, 3], bottom[1] [3, 3])"),
    // bvlc/shape_ops.rs slice: equal parts.
    ("Slice of 3 in 2", x4!("layer { name: 'l' type: 'Slice' bottom: 'x' top: 'a' top: 'b' }"), &[], 1, "2:1", "Number of top blobs (2) should evenly divide input slice axis (3)"),
    // bvlc/shape_ops.rs slice: the slice_point count.
    ("Slice with as many points as tops", x4!("layer { name: 'l' type: 'Slice' bottom: 'x' top: 'a' top: 'b' slice_param { slice_point: 1 slice_point: 2 } }"), &[], 1, "2:1", "2 slice_point(s) for 2 tops: give one fewer slice point than tops"),
    // bvlc/shape_ops.rs slice: more tops than entries.
    ("Slice of 2 in 3", inputs!("x" = "dim: 2 dim: 2"; "layer { name: 'l' type: 'Slice' bottom: 'x' top: 'a' top: 'b' top: 'c' slice_param { slice_point: 1 slice_point: 2 } }"), &[], 1, "2:1", "3 tops is more than the 2 entries of slice axis 1 (bottom [2, 2])"),
    // bvlc/shape_ops.rs slice: increasing points.
    ("slice points going down", x4!("layer { name: 'l' type: 'Slice' bottom: 'x' top: 'a' top: 'b' top: 'c' slice_param { slice_point: 2 slice_point: 1 } }"), &[], 1, "2:1", "slice_point 1 must be greater than the previous one (2)"),
    // bvlc/shape_ops.rs slice: the last point.
    ("slice point past the axis", x4!("layer { name: 'l' type: 'Slice' bottom: 'x' top: 'a' top: 'b' slice_param { slice_point: 4 } }"), &[], 1, "2:1", "slice_point 4 is beyond the slice axis size 3"),
    // bvlc/shape_ops.rs flatten: axis after end_axis.
    ("Flatten axis after end_axis", x4!("layer { name: 'l' type: 'Flatten' bottom: 'x' top: 'y' flatten_param { axis: 3 end_axis: 1 } }"), &[], 1, "2:1", "Flatten axis 3 comes after end_axis 1"),
    // bvlc/shape_ops.rs reshape: two -1.
    ("Reshape with two -1", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: -1 dim: -1 } } }"), &[], 1, "2:1", "new shape contains multiple -1 dims"),
    // bvlc/shape_ops.rs reshape: a dimension below -1.
    ("Reshape to -2", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: -2 } } }"), &[], 1, "2:1", "reshape dimension -2 is invalid"),
    // bvlc/shape_ops.rs reshape: the product of the given dims (i64).
    ("Reshape dims past i64", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 2147483647 dim: 2147483647 dim: 2147483647 } } }"), &[], 1, "2:1", "(Reshape): reshape dimensions overflow"),
    // bvlc/shape_ops.rs reshape: that product times the kept axes (u64).
    ("Reshape dims and kept axes past u64", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: -1 dim: 2147483647 dim: 2147483647 } axis: 1 num_axes: 1 } }"), &[], 1, "2:1", "(Reshape): reshape dimensions overflow"),
    // bvlc/shape_ops.rs reshape: axis.
    ("Reshape axis 5", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 1 } axis: 5 } }"), &[], 1, "2:1", "axis 5 out of range for 4-D input blob"),
    // bvlc/shape_ops.rs reshape: num_axes.
    ("Reshape num_axes -2", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 1 } num_axes: -2 } }"), &[], 1, "2:1", "num_axes must be >= 0, or -1 for all"),
    // bvlc/shape_ops.rs reshape: axis + num_axes.
    ("Reshape past the last axis", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 1 } axis: 2 num_axes: 3 } }"), &[], 1, "2:1", "end_axis = axis + num_axes (5) is out of range for 4-D input blob"),
    // bvlc/shape_ops.rs reshape: a 0 with no axis to copy.
    ("Reshape copying a fifth axis", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 0 dim: 0 dim: 0 dim: 0 dim: 0 } } }"), &[], 1, "2:1", "new shape contains a 0, but there was no corresponding bottom axis to copy"),
    // bvlc/shape_ops.rs reshape: -1 over 0.
    ("Reshape inferring from 0", inputs!("x" = "dim: 0 dim: 3"; "layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 0 dim: -1 } } }"), &[], 1, "2:1", "cannot infer the -1 dimension: the other dimensions multiply to 0"),
    // bvlc/shape_ops.rs reshape: divisibility.
    ("Reshape not dividing", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 7 dim: -1 } } }"), &[], 1, "2:1", "bottom count (384) must be divisible by the product of the specified dimensions (7)"),
    // bvlc/shape_ops.rs reshape: the count.
    ("Reshape to another count", x4!("layer { name: 'l' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape { dim: 5 } } }"), &[], 1, "2:1", "output count must match input count: [5] has 5 elements, bottom [2, 3, 8, 8] has 384"),
    // bvlc/shape_ops.rs crop: the offset count.
    ("Crop with 3 offsets for 2 axes", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 2 dim: 3 dim: 4 dim: 4"; "layer { name: 'l' type: 'Crop' bottom: 'x' bottom: 'y' top: 'z' crop_param { axis: 2 offset: 1 offset: 1 offset: 1 } }"), &[], 1, "2:1", "number of offset values specified (3) must be equal to the number of dimensions following axis 2 (2)"),
    // bvlc/shape_ops.rs crop: the bounds.
    ("Crop out of bounds", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 2 dim: 3 dim: 4 dim: 4"; "layer { name: 'l' type: 'Crop' bottom: 'x' bottom: 'y' top: 'z' crop_param { axis: 2 offset: 6 } }"), &[], 1, "2:1", "the crop for dimension 2 is out-of-bounds with size 4 and offset 6"),
    // bvlc/shape_ops.rs tile: tiles unset.
    ("Tile without tiles", x4!("layer { name: 'l' type: 'Tile' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Number of tiles must be specified"),
    // bvlc/shape_ops.rs tile: tiles 0.
    ("Tile 0 times", x4!("layer { name: 'l' type: 'Tile' bottom: 'x' top: 'y' tile_param { tiles: 0 } }"), &[], 1, "2:1", "Number of tiles must be positive (got 0)"),
    // bvlc/shape_ops.rs filter: the counts.
    ("Filter with a top for the selector", inputs!("x" = "dim: 4 dim: 3", "s" = "dim: 4 dim: 1"; "layer { name: 'l' type: 'Filter' bottom: 'x' bottom: 's' top: 'a' top: 'b' }"), &[], 1, "2:1", "Filter Layer needs one top per filtered bottom: 2 bottoms (the last one selects), 2 tops"),
    // bvlc/shape_ops.rs filter: the selector's singletons.
    ("Filter selector of 2 columns", inputs!("x" = "dim: 4 dim: 3", "s" = "dim: 4 dim: 2"; "layer { name: 'l' type: 'Filter' bottom: 'x' bottom: 's' top: 'a' }"), &[], 1, "2:1", "Selector blob dimensions must be singletons (1), except the first (selector [4, 2])"),
    // bvlc/shape_ops.rs filter: the 0th dimension.
    ("Filter of another batch", inputs!("x" = "dim: 4 dim: 3", "s" = "dim: 5 dim: 1"; "layer { name: 'l' type: 'Filter' bottom: 'x' bottom: 's' top: 'a' }"), &[], 1, "2:1", "Each bottom should have the same 0th dimension as the selector blob ([4, 3] vs. selector [5, 1])"),
    // bvlc/shape_ops.rs batch_reindex: the indices' axes.
    ("BatchReindex of 2-D indices", inputs!("x" = "dim: 4 dim: 3", "i" = "dim: 2 dim: 1"; "layer { name: 'l' type: 'BatchReindex' bottom: 'x' bottom: 'i' top: 'y' }"), &[], 1, "2:1", "BatchReindex indices (bottom[1]) must have exactly 1 axis; got [2, 1]"),

    // ---- layers/bvlc/loss.rs ----
    // bvlc/loss.rs same_num.
    ("loss of two batches", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 3 dim: 3"; "layer { name: 'l' type: 'EuclideanLoss' bottom: 'x' bottom: 'y' top: 'loss' }"), &[], 1, "2:1", "The data and label should have the same first dimension ([2, 3] vs. [3, 3])"),
    // bvlc/loss.rs labels_match.
    ("softmax loss with 4 labels for 2", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 2"; "layer { name: 'l' type: 'SoftmaxWithLoss' bottom: 'x' bottom: 'y' top: 'loss' }"), &[], 1, "2:1", "Number of labels must match number of predictions; e.g., if softmax axis == 1"),
    // bvlc/loss.rs accuracy: no labels.
    ("Accuracy with no labels", inputs!("x" = "dim: 0 dim: 3", "y" = "dim: 0"; "layer { name: 'l' type: 'Accuracy' bottom: 'x' bottom: 'y' top: 'a' }"), &[], 1, "2:1", "Accuracy with no labels (bottom[1] is empty) divides by zero"),
    // bvlc/loss.rs accuracy: top_k.
    ("Accuracy top_k 4 of 3", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2"; "layer { name: 'l' type: 'Accuracy' bottom: 'x' bottom: 'y' top: 'a' accuracy_param { top_k: 4 } }"), &[], 1, "2:1", "top_k must be less than or equal to the number of classes (top_k 4, predictions [2, 3], labels [2])"),
    // bvlc/loss.rs euclidean.
    ("EuclideanLoss of two sizes", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 4"; "layer { name: 'l' type: 'EuclideanLoss' bottom: 'x' bottom: 'y' top: 'loss' }"), &[], 1, "2:1", "Inputs must have the same dimension ([2, 3] vs. [2, 4])"),
    // bvlc/loss.rs sigmoid_cross_entropy.
    ("SigmoidCrossEntropyLoss of two counts", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 4"; "layer { name: 'l' type: 'SigmoidCrossEntropyLoss' bottom: 'x' bottom: 'y' top: 'loss' }"), &[], 1, "2:1", "SIGMOID_CROSS_ENTROPY_LOSS layer inputs must have the same count ([2, 3] vs. [2, 4])"),
    // bvlc/loss.rs infogain: normalize.
    ("InfogainLoss with normalize", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2"; "layer { name: 'l' type: 'InfogainLoss' bottom: 'x' bottom: 'y' top: 'loss' loss_param { normalize: true } }"), &[], 1, "2:1", "normalize is deprecated. use \"normalization\""),
    // bvlc/loss.rs infogain: no matrix.
    ("InfogainLoss without a matrix", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2"; "layer { name: 'l' type: 'InfogainLoss' bottom: 'x' bottom: 'y' top: 'loss' }"), &[], 1, "2:1", "Infogain matrix source must be specified"),
    // bvlc/loss.rs infogain: the matrix's size.
    ("InfogainLoss matrix of 4 for 3 classes", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2", "h" = "dim: 2 dim: 2"; "layer { name: 'l' type: 'InfogainLoss' bottom: 'x' bottom: 'y' bottom: 'h' top: 'loss' }"), &[], 1, "2:1", "the infogain matrix (bottom[2], [2, 2]) must have 3x3 elements"),
    // bvlc/loss.rs multinomial_logistic.
    ("MultinomialLogisticLoss with 2 labels per item", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 2"; "layer { name: 'l' type: 'MultinomialLogisticLoss' bottom: 'x' bottom: 'y' top: 'loss' }"), &[], 1, "2:1", "the labels (bottom[1]) must be one per item: channels, height and width 1, got [2, 2]"),
    // bvlc/loss.rs contrastive: the channels.
    ("ContrastiveLoss of two channel counts", inputs!("x" = "dim: 2 dim: 3", "y" = "dim: 2 dim: 4", "s" = "dim: 2"; "layer { name: 'l' type: 'ContrastiveLoss' bottom: 'x' bottom: 'y' bottom: 's' top: 'loss' }"), &[], 1, "2:1", "the two feature bottoms must have the same channels ([2, 3] vs. [2, 4])"),
    // bvlc/loss.rs contrastive: the singleton axes.
    ("ContrastiveLoss of 3-D features", inputs!("x" = "dim: 2 dim: 3 dim: 2", "y" = "dim: 2 dim: 3 dim: 2", "s" = "dim: 2"; "layer { name: 'l' type: 'ContrastiveLoss' bottom: 'x' bottom: 'y' bottom: 's' top: 'loss' }"), &[], 1, "2:1", "bottom[0] must be 1 on every axis after channels (got [2, 3, 2])"),

    // ---- layers/bvlc/recurrent.rs ----
    // bvlc/recurrent.rs recurrent: x's axes.
    ("LSTM input of one axis", inputs!("x" = "dim: 4", "c" = "dim: 4 dim: 2"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' top: 'h' recurrent_param { num_output: 4 } }"), &[], 1, "2:1", "bottom[0] must have at least 2 axes -- (#timesteps, #streams, ...); got [4]"),
    // bvlc/recurrent.rs recurrent: cont's axes.
    ("LSTM cont of one axis", inputs!("x" = "dim: 4 dim: 2 dim: 3", "c" = "dim: 4"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' top: 'h' recurrent_param { num_output: 4 } }"), &[], 1, "2:1", "bottom[1] must have exactly 2 axes -- (#timesteps, #streams); got [4]"),
    // bvlc/recurrent.rs recurrent: cont's shape.
    ("LSTM cont of other streams", inputs!("x" = "dim: 4 dim: 2 dim: 3", "c" = "dim: 4 dim: 3"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' top: 'h' recurrent_param { num_output: 4 } }"), &[], 1, "2:1", "bottom[1] [4, 3] must be [T, N] = [4, 2] like bottom[0]"),
    // bvlc/recurrent.rs recurrent: the static input's N.
    ("LSTM static input of other streams", inputs!("x" = "dim: 4 dim: 2 dim: 3", "c" = "dim: 4 dim: 2", "s" = "dim: 3 dim: 5"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' bottom: 's' top: 'h' recurrent_param { num_output: 4 } }"), &[], 1, "2:1", "the static input (bottom[2]) [3, 5] must have N = 2 items on axis 0"),
    // bvlc/recurrent.rs recurrent: num_output.
    ("LSTM without num_output", inputs!("x" = "dim: 4 dim: 2 dim: 3", "c" = "dim: 4 dim: 2"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' top: 'h' }"), &[], 1, "2:1", "(LSTM): num_output must be positive"),
    // bvlc/recurrent.rs recurrent: no timestep.
    ("LSTM of no timestep", inputs!("x" = "dim: 0 dim: 2 dim: 3", "c" = "dim: 0 dim: 2"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' top: 'h' recurrent_param { num_output: 4 } }"), &[], 1, "2:1", "a recurrent layer needs at least one timestep; bottom[0] is [0, 2, 3]"),
    // bvlc/recurrent.rs recurrent: the initial states' shape.
    ("LSTM initial state of another size", inputs!("x" = "dim: 4 dim: 2 dim: 3", "c" = "dim: 4 dim: 2", "h0" = "dim: 1 dim: 2 dim: 5", "c0" = "dim: 1 dim: 2 dim: 4"; "layer { name: 'l' type: 'LSTM' bottom: 'x' bottom: 'c' bottom: 'h0' bottom: 'c0' top: 'h' top: 'hT' top: 'cT' recurrent_param { num_output: 4 expose_hidden: true } }"), &[], 1, "2:1", "shape mismatch - recur_input_blobs_[0]: [1, 2, 4] vs. bottom[2]: [1, 2, 5]"),
    // bvlc/recurrent.rs lstm_unit: the bottoms' shapes.
    ("LSTMUnit cont of other streams", inputs!("c" = "dim: 1 dim: 2 dim: 4", "g" = "dim: 1 dim: 2 dim: 16", "k" = "dim: 1 dim: 3"; "layer { name: 'l' type: 'LSTMUnit' bottom: 'c' bottom: 'g' bottom: 'k' top: 'c1' top: 'h' }"), &[], 1, "2:1", "LSTMUnit bottom[2] must be [1, 2] (got [1, 3])"),
    // bvlc/recurrent.rs lstm_unit: the gates.
    ("LSTMUnit gates of 15", inputs!("c" = "dim: 1 dim: 2 dim: 4", "g" = "dim: 1 dim: 2 dim: 15", "k" = "dim: 1 dim: 2"; "layer { name: 'l' type: 'LSTMUnit' bottom: 'c' bottom: 'g' bottom: 'k' top: 'c1' top: 'h' }"), &[], 1, "2:1", "LSTMUnit gate input has 15 channels; 4 * hidden = 4 * 4 expected"),

    // ---- layers/fork/mod.rs helpers ----
    // fork/mod.rs legacy, from mobile.rs shuffle_channel.
    ("ShuffleChannel of 5 axes", inputs!("x" = "dim: 1 dim: 1 dim: 1 dim: 1 dim: 1"; "layer { name: 'l' type: 'ShuffleChannel' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Cannot use legacy accessors on Blobs with > 4 axes (bottom is [1, 1, 1, 1, 1])"),
    // fork/mod.rs dim: negative, from seg.rs unpool.
    ("unpooling an empty plane with pad_out", inputs!("x" = "dim: 1 dim: 1 dim: 0 dim: 4", "m" = "dim: 1 dim: 1 dim: 0 dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' upsample_param { pad_out_h: true } }"), &[], 1, "2:1", "Upsample output height is negative (-1)"),
    // fork/mod.rs dim: past int, from yolo.rs upsample.
    ("Upsample past int", x4!("layer { name: 'l' type: 'Upsample' bottom: 'x' top: 'y' upsample_param { scale: 4294967295 } }"), &[], 1, "2:1", "Upsample output size overflows Caffe's int"),

    // ---- layers/fork/mobile.rs ----
    // fork/mobile.rs hw.
    ("ConvolutionDepthwise without kernel", x4!("layer { name: 'l' type: 'ConvolutionDepthwise' bottom: 'x' top: 'y' convolution_param { num_output: 3 } }"), &[], 1, "2:1", "ConvolutionDepthwise reads kernel_size without a default and none is set"),
    // fork/mobile.rs dw_out: stride 0.
    ("ConvolutionDepthwise stride 0", x4!("layer { name: 'l' type: 'ConvolutionDepthwise' bottom: 'x' top: 'y' convolution_param { kernel_size: 3 stride: 0 pad: 1 } }"), &[], 1, "2:1", "ConvolutionDepthwise: stride 0 divides by zero"),
    // fork/mobile.rs dw_out: a negative size.
    ("ConvolutionDepthwise kernel larger than the input", x4!("layer { name: 'l' type: 'ConvolutionDepthwise' bottom: 'x' top: 'y' convolution_param { kernel_size: 11 stride: 1 pad: 0 } }"), &[], 1, "2:1", "ConvolutionDepthwise output size is negative (-2)"),
    // fork/mobile.rs shuffle_channel: no bottom.
    ("ShuffleChannel without a bottom", "layer { name: 's' type: 'ShuffleChannel' top: 'y' }", &[], 1, "1:1", "ShuffleChannel needs a bottom"),
    // fork/mobile.rs shuffle_channel: group.
    ("ShuffleChannel group 0", x4!("layer { name: 'l' type: 'ShuffleChannel' bottom: 'x' top: 'y' shuffle_channel_param { group: 0 } }"), &[], 1, "2:1", "group must be greater than 0"),

    // ---- layers/fork/neuron.rs ----
    // fork/neuron.rs axpy: the scale's axes.
    ("Axpy scale of other channels", inputs!("a" = "dim: 2 dim: 3", "x" = "dim: 2 dim: 4 dim: 8 dim: 8", "y" = "dim: 2 dim: 4 dim: 8 dim: 8"; "layer { name: 'l' type: 'Axpy' bottom: 'a' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "Axpy: scale [2, 3] and input [2, 4, 8, 8] differ in axis 1"),
    // fork/neuron.rs axpy: a 4-D scale.
    ("Axpy 4-D scale not 1x1", inputs!("a" = "dim: 2 dim: 3 dim: 2 dim: 1", "x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 2 dim: 3 dim: 8 dim: 8"; "layer { name: 'l' type: 'Axpy' bottom: 'a' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "Axpy: a 4-D scale must be [N, C, 1, 1] (got [2, 3, 2, 1])"),
    // fork/neuron.rs axpy: x and y.
    ("Axpy x and y of two shapes", inputs!("a" = "dim: 2 dim: 3", "x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 2 dim: 3 dim: 4 dim: 4"; "layer { name: 'l' type: 'Axpy' bottom: 'a' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "Axpy: x [2, 3, 8, 8] and y [2, 3, 4, 4] must have the same shape"),

    // ---- layers/fork/yolo.rs ----
    // fork/yolo.rs upsample: dims_num.
    ("Upsample dims_num 5", x4!("layer { name: 'l' type: 'Upsample' bottom: 'x' top: 'y' upsample_param { dims_num: 5 } }"), &[], 1, "2:1", "Upsample: dims_num 5; only 3 or 4 are supported"),
    // fork/yolo.rs upsample: the axes.
    ("Upsample of one axis", inputs!("x" = "dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Upsample scales the last 2 axes; the bottom [4] has fewer"),

    // ---- layers/fork/rcnn.rs ----
    // fork/rcnn.rs roi_pooling: pooled_h.
    ("ROIPooling pooled_h 0", inputs!("x" = "dim: 1 dim: 3 dim: 8 dim: 8", "r" = "dim: 2 dim: 5"; "layer { name: 'l' type: 'ROIPooling' bottom: 'x' bottom: 'r' top: 'y' roi_pooling_param { pooled_w: 2 } }"), &[], 1, "2:1", "pooled_h must be > 0"),
    // fork/rcnn.rs roi_pooling: pooled_w.
    ("ROIPooling pooled_w 0", inputs!("x" = "dim: 1 dim: 3 dim: 8 dim: 8", "r" = "dim: 2 dim: 5"; "layer { name: 'l' type: 'ROIPooling' bottom: 'x' bottom: 'r' top: 'y' roi_pooling_param { pooled_h: 2 } }"), &[], 1, "2:1", "pooled_w must be > 0"),
    // fork/rcnn.rs psroi_pooling: output_dim.
    ("PSROIPooling output_dim 0", inputs!("x" = "dim: 1 dim: 8 dim: 8 dim: 8", "r" = "dim: 2 dim: 5"; "layer { name: 'l' type: 'PSROIPooling' bottom: 'x' bottom: 'r' top: 'y' psroi_pooling_param { group_size: 2 } }"), &[], 1, "2:1", "output_dim must be > 0"),
    // fork/rcnn.rs psroi_pooling: group_size.
    ("PSROIPooling group_size 0", inputs!("x" = "dim: 1 dim: 8 dim: 8 dim: 8", "r" = "dim: 2 dim: 5"; "layer { name: 'l' type: 'PSROIPooling' bottom: 'x' bottom: 'r' top: 'y' psroi_pooling_param { output_dim: 2 group_size: 0 } }"), &[], 1, "2:1", "group_size must be > 0"),
    // fork/rcnn.rs psroi_pooling: the channels.
    ("PSROIPooling channels not output_dim x group^2", inputs!("x" = "dim: 1 dim: 3 dim: 8 dim: 8", "r" = "dim: 2 dim: 5"; "layer { name: 'l' type: 'PSROIPooling' bottom: 'x' bottom: 'r' top: 'y' psroi_pooling_param { output_dim: 2 group_size: 2 } }"), &[], 1, "2:1", "input channel number does not match layer parameters (3 channels, output_dim 2 x group_size 2^2)"),
    // fork/rcnn.rs smooth_l1_loss: three bottoms.
    ("SmoothL1Loss with one weight", inputs!("x" = "dim: 2 dim: 4", "t" = "dim: 2 dim: 4", "w" = "dim: 2 dim: 4"; "layer { name: 'l' type: 'SmoothL1Loss' bottom: 'x' bottom: 't' bottom: 'w' top: 'loss' }"), &[], 1, "2:1", "If weights are used, must specify both inside and outside weights"),
    // fork/rcnn.rs smooth_l1_loss: the first dimension.
    ("SmoothL1Loss of two batches", inputs!("x" = "dim: 2 dim: 4", "t" = "dim: 3 dim: 4"; "layer { name: 'l' type: 'SmoothL1Loss' bottom: 'x' bottom: 't' top: 'loss' }"), &[], 1, "2:1", "(SmoothL1Loss): The data and label should have the same first dimension."),
    // fork/rcnn.rs smooth_l1_loss: channels, height, width.
    ("SmoothL1Loss of two widths", inputs!("x" = "dim: 2 dim: 4", "t" = "dim: 2 dim: 5"; "layer { name: 'l' type: 'SmoothL1Loss' bottom: 'x' bottom: 't' top: 'loss' }"), &[], 1, "2:1", "SmoothL1Loss: bottom 1 [2, 5] differs from bottom 0 [2, 4] in channels, height or width"),
    // fork/rcnn.rs proposal, unknown_top.
    ("Proposal of unknown shape", "layer { name: 'p' type: 'Proposal' top: 'rois' }", &[], 1, "1:1", "shape of blob 'rois' cannot be known from the net (a proposal layer keeps as many regions as NMS leaves"),

    // ---- layers/fork/seg.rs ----
    // fork/seg.rs interp: positive padding.
    ("Interp padding out", x4!("layer { name: 'l' type: 'Interp' bottom: 'x' top: 'y' interp_param { pad_beg: 1 zoom_factor: 2 } }"), &[], 1, "2:1", "Only supports non-pos padding (cropping) for now"),
    // fork/seg.rs interp: shrink_factor.
    ("Interp shrink 0", x4!("layer { name: 'l' type: 'Interp' bottom: 'x' top: 'y' interp_param { shrink_factor: 0 } }"), &[], 1, "2:1", "Shrink factor must be positive"),
    // fork/seg.rs interp: zoom_factor.
    ("Interp zoom 0", x4!("layer { name: 'l' type: 'Interp' bottom: 'x' top: 'y' interp_param { zoom_factor: 0 } }"), &[], 1, "2:1", "Zoom factor must be positive"),
    // fork/seg.rs interp: a second bottom with a size.
    ("Interp of two bottoms and a zoom", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 2 dim: 3 dim: 4 dim: 4"; "layer { name: 'l' type: 'Interp' bottom: 'x' bottom: 'y' top: 'z' interp_param { zoom_factor: 2 } }"), &[], 1, "2:1", "Interp layer cannot have a second bottom layer if any of its shrink, zoom, height, or width parameters are specified"),
    // fork/seg.rs interp: the second bottom's num.
    ("Interp of two batches", inputs!("x" = "dim: 2 dim: 3 dim: 8 dim: 8", "y" = "dim: 3 dim: 3 dim: 4 dim: 4"; "layer { name: 'l' type: 'Interp' bottom: 'x' bottom: 'y' top: 'z' }"), &[], 1, "2:1", "Interp: the second bottom's num 3 differs from 2"),
    // fork/seg.rs interp: no size.
    ("Interp of no size", x4!("layer { name: 'l' type: 'Interp' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "Interp: no output size given"),
    // fork/seg.rs interp: the cropped input.
    ("Interp cropping everything", x4!("layer { name: 'l' type: 'Interp' bottom: 'x' top: 'y' interp_param { pad_beg: -4 pad_end: -4 zoom_factor: 2 } }"), &[], 1, "2:1", "Interp: the cropped input height and width should be positive"),
    // fork/seg.rs interp: the output.
    ("Interp to 0x0", x4!("layer { name: 'l' type: 'Interp' bottom: 'x' top: 'y' interp_param { height: 0 width: 0 } }"), &[], 1, "2:1", "Interp: the output height and width should be positive"),
    // fork/seg.rs unpool: scale with scale_h/w.
    ("unpooling with scale and scale_h", inputs!("x" = "dim: 1 dim: 1 dim: 4 dim: 4", "m" = "dim: 1 dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' upsample_param { scale: 2 scale_h: 2 scale_w: 2 } }"), &[], 1, "2:1", "upsample_h & upsample_w are required, else (DEPRECATED) scale OR scale_h & scale_w are required."),
    // fork/seg.rs unpool: 4 axes.
    ("unpooling 3-D blobs", inputs!("x" = "dim: 1 dim: 4 dim: 4", "m" = "dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' }"), &[], 1, "2:1", "Input and mask must have 4 axes, corresponding to (num, channels, height, width)"),
    // fork/seg.rs unpool: input and mask.
    ("unpooling a mask of another shape", inputs!("x" = "dim: 1 dim: 1 dim: 4 dim: 4", "m" = "dim: 1 dim: 1 dim: 4 dim: 5"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' }"), &[], 1, "2:1", "Upsample: input [1, 1, 4, 4] and mask [1, 1, 4, 5] differ"),
    // fork/seg.rs unpool: upsample_h/w.
    ("unpooling to upsample_h 1", inputs!("x" = "dim: 1 dim: 1 dim: 4 dim: 4", "m" = "dim: 1 dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' upsample_param { upsample_h: 1 upsample_w: 8 } }"), &[], 1, "2:1", "Upsample: upsample_h and upsample_w must be > 1"),
    // fork/seg.rs unpool: the scale.
    ("unpooling scale 1", inputs!("x" = "dim: 1 dim: 1 dim: 4 dim: 4", "m" = "dim: 1 dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' upsample_param { scale: 1 } }"), &[], 1, "2:1", "Upsample: the scale must be > 1"),
    // fork/seg.rs unpool: pad_out and the scale.
    ("unpooling pad_out at scale 3", inputs!("x" = "dim: 1 dim: 1 dim: 4 dim: 4", "m" = "dim: 1 dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'Upsample' bottom: 'x' bottom: 'm' top: 'y' upsample_param { scale: 3 pad_out_h: true } }"), &[], 1, "2:1", "Output padding compensation requires a scale of 2"),
    // fork/seg.rs dense_image_data: new_height without new_width.
    ("DenseImageData new_height alone", "layer { name: 'd' type: 'DenseImageData' top: 'a' top: 'b' dense_image_data_param { new_height: 8 } }", &[], 1, "1:1", "(DenseImageData): Current implementation requires new_height and new_width to be set at the same time."),
    // fork/seg.rs dense_image_data: crop_height without crop_width.
    ("DenseImageData crop_height alone", "layer { name: 'd' type: 'DenseImageData' top: 'a' top: 'b' dense_image_data_param { crop_height: 8 } }", &[], 1, "1:1", "Current implementation requires crop_height and crop_width to be set at the same time."),
    // fork/seg.rs image_and_label: the image, unknown_top.
    ("DenseImageData of unknown size", "layer { name: 'd' type: 'DenseImageData' top: 'a' top: 'b' dense_image_data_param { batch_size: 2 } }", &[], 1, "1:1", "shape of blob 'a' cannot be known from the net (it takes its first image's size: no crop or new size is set)"),
    // fork/seg.rs image_and_label: the label, unknown_top.
    ("DenseImageData label of a 3-D image", "layer { name: 'd' type: 'DenseImageData' top: 'a' top: 'b' dense_image_data_param { batch_size: 2 } }", &["--input", "a=2,3,8"], 1, "1:1", "shape of blob 'b' cannot be known from the net (the given 'a' [2, 3, 8] is not [N, C, H, W])"),
    // fork/seg.rs image_seg_data: mean_file.
    ("ImageSegData with a mean file", "layer { name: 'd' type: 'ImageSegData' top: 'a' transform_param { mean_file: 'mean.binaryproto' } }", &[], 1, "1:1", "ImageSegDataLayer does not support mean file"),
    // fork/seg.rs image_seg_data: new_height without new_width.
    ("ImageSegData new_height alone", "layer { name: 'd' type: 'ImageSegData' top: 'a' image_data_param { new_height: 8 } }", &[], 1, "1:1", "(ImageSegData): Current implementation requires new_height and new_width to be set at the same time."),
    // fork/seg.rs seg_accuracy: no channel.
    ("SegAccuracy of no channel", inputs!("x" = "dim: 2 dim: 0 dim: 4 dim: 4", "y" = "dim: 2 dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'SegAccuracy' bottom: 'x' bottom: 'y' top: 'a' }"), &[], 1, "2:1", "SegAccuracy: the scores need at least one channel"),
    // fork/seg.rs seg_accuracy: the num.
    ("SegAccuracy of two batches", inputs!("x" = "dim: 2 dim: 3 dim: 4 dim: 4", "y" = "dim: 3 dim: 1 dim: 4 dim: 4"; "layer { name: 'l' type: 'SegAccuracy' bottom: 'x' bottom: 'y' top: 'a' }"), &[], 1, "2:1", "The data and label should have the same number."),
    // fork/seg.rs seg_accuracy: the label's channels.
    ("SegAccuracy label of 2 channels", inputs!("x" = "dim: 2 dim: 3 dim: 4 dim: 4", "y" = "dim: 2 dim: 2 dim: 4 dim: 4"; "layer { name: 'l' type: 'SegAccuracy' bottom: 'x' bottom: 'y' top: 'a' }"), &[], 1, "2:1", "The label should have one channel."),
    // fork/seg.rs seg_accuracy: height and width.
    ("SegAccuracy label of another size", inputs!("x" = "dim: 2 dim: 3 dim: 4 dim: 4", "y" = "dim: 2 dim: 1 dim: 4 dim: 5"; "layer { name: 'l' type: 'SegAccuracy' bottom: 'x' bottom: 'y' top: 'a' }"), &[], 1, "2:1", "The data should have the same height and width as label."),
    // fork/seg.rs padding: the signs.
    ("Padding out and in", x4!("layer { name: 'l' type: 'Padding' bottom: 'x' top: 'y' padding_param { pad_beg: 1 pad_end: -1 } }"), &[], 1, "2:1", "Padding must either be both positive or negative"),
    // fork/seg.rs padding: the size.
    ("Padding cropping everything", x4!("layer { name: 'l' type: 'Padding' bottom: 'x' top: 'y' padding_param { pad_beg: -4 pad_end: -4 } }"), &[], 1, "2:1", "Padding makes height or width <= 0"),
    // fork/seg.rs mat_write: period.
    ("MatWrite period 0", x4!("layer { name: 'l' type: 'MatWrite' bottom: 'x' mat_write_param { period: 0 } }"), &[], 1, "2:1", "period must be positive"),

    // ---- layers/fork/ssd.rs ----
    // fork/ssd.rs prior_box: no bottom.
    ("PriorBox without a bottom", "layer { name: 'p' type: 'PriorBox' top: 'y' }", &[], 1, "1:1", "PriorBox needs the feature map as bottom 0"),
    // fork/ssd.rs prior_box: no min_size.
    ("PriorBox without min_size", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "must provide min_size."),
    // fork/ssd.rs prior_box: min_size.
    ("PriorBox min_size 0", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 0 } }"), &[], 1, "2:1", "min_size must be positive."),
    // fork/ssd.rs prior_box: the max_size count.
    ("PriorBox 2 max_size for 1 min_size", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 max_size: 4 max_size: 5 } }"), &[], 1, "2:1", "PriorBox: 2 max_size values for 1 min_size values; they must pair up"),
    // fork/ssd.rs prior_box: max_size against min_size.
    ("PriorBox max_size below min_size", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 4 max_size: 2 } }"), &[], 1, "2:1", "max_size must be greater than min_size."),
    // fork/ssd.rs prior_box: a variance.
    ("PriorBox variance 0", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 variance: 0 } }"), &[], 1, "2:1", "PriorBox: every variance must be positive"),
    // fork/ssd.rs prior_box: the variance count.
    ("PriorBox 2 variances", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 variance: 0.1 variance: 0.1 } }"), &[], 1, "2:1", "PriorBox: give one variance or exactly four (got 2)"),
    // fork/ssd.rs check_size_pair: both forms.
    ("PriorBox img_size and img_h", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 img_size: 300 img_h: 300 } }"), &[], 1, "2:1", "Either img_size or img_h/img_w should be specified; not both."),
    // fork/ssd.rs check_size_pair: half a pair.
    ("PriorBox step_h alone", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 step_h: 8 } }"), &[], 1, "2:1", "step_h and step_w should be larger than 0."),
    // fork/ssd.rs check_size_pair: the single value.
    ("PriorBox img_size 0", x4!("layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 img_size: 0 } }"), &[], 1, "2:1", "img_size should be larger than 0."),
    // fork/ssd.rs prior_box: an empty output.
    ("PriorBox of an empty map", inputs!("x" = "dim: 1 dim: 3 dim: 0 dim: 4"; "layer { name: 'l' type: 'PriorBox' bottom: 'x' top: 'y' prior_box_param { min_size: 2 } }"), &[], 1, "2:1", "PriorBox output is empty"),
    // fork/ssd.rs permute: an order past the axes.
    ("Permute order 4 of 4 axes", x4!("layer { name: 'l' type: 'Permute' bottom: 'x' top: 'y' permute_param { order: 4 } }"), &[], 1, "2:1", "order should be less than the input dimension (order 4, 4 axes)"),
    // fork/ssd.rs permute: an order twice.
    ("Permute order twice", x4!("layer { name: 'l' type: 'Permute' bottom: 'x' top: 'y' permute_param { order: 1 order: 1 } }"), &[], 1, "2:1", "there are duplicate orders"),
    // fork/ssd.rs normalize: the axes.
    ("Normalize of one axis", inputs!("x" = "dim: 4"; "layer { name: 'l' type: 'Normalize' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "(Normalize): Number of axes of bottom blob must be >=2."),
    // fork/ssd.rs detection_output: num_classes.
    ("DetectionOutput without num_classes", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16"; "layer { name: 'd' type: 'DetectionOutput' bottom: 'l' bottom: 'c' bottom: 'p' top: 'y' }"), &[], 1, "2:1", "Must specify num_classes"),
    // fork/ssd.rs detection_output: nms_threshold.
    ("DetectionOutput nms_threshold -1", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16"; "layer { name: 'd' type: 'DetectionOutput' bottom: 'l' bottom: 'c' bottom: 'p' top: 'y' detection_output_param { num_classes: 3 nms_param { nms_threshold: -1 } } }"), &[], 1, "2:1", "nms_threshold must be non negative."),
    // fork/ssd.rs detection_output: eta.
    ("DetectionOutput eta 0", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16"; "layer { name: 'd' type: 'DetectionOutput' bottom: 'l' bottom: 'c' bottom: 'p' top: 'y' detection_output_param { num_classes: 3 nms_param { eta: 0 } } }"), &[], 1, "2:1", "nms_param.eta must be in (0, 1] (got 0)"),
    // fork/ssd.rs detection_output: the nums.
    ("DetectionOutput of two batches", inputs!("l" = "dim: 2 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16"; "layer { name: 'd' type: 'DetectionOutput' bottom: 'l' bottom: 'c' bottom: 'p' top: 'y' detection_output_param { num_classes: 3 } }"), &[], 1, "2:1", "DetectionOutput: location and confidence bottoms differ in num"),
    // fork/ssd.rs check_heads: the locations.
    ("DetectionOutput locations for 3 priors", inputs!("l" = "dim: 1 dim: 12", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16"; "layer { name: 'd' type: 'DetectionOutput' bottom: 'l' bottom: 'c' bottom: 'p' top: 'y' detection_output_param { num_classes: 3 } }"), &[], 1, "2:1", "DetectionOutput: Number of priors must match number of location predictions (4 priors x 1 x 4 != 12)"),
    // fork/ssd.rs check_heads: the confidences.
    ("DetectionOutput confidences for 10/3 priors", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 10", "p" = "dim: 1 dim: 2 dim: 16"; "layer { name: 'd' type: 'DetectionOutput' bottom: 'l' bottom: 'c' bottom: 'p' top: 'y' detection_output_param { num_classes: 3 } }"), &[], 1, "2:1", "DetectionOutput: Number of priors must match number of confidence predictions (4 priors x 3 classes != 10)"),
    // fork/ssd.rs multibox_loss: no num_classes.
    ("MultiBoxLoss without num_classes", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'm' type: 'MultiBoxLoss' bottom: 'l' bottom: 'c' bottom: 'p' bottom: 'g' top: 'loss' }"), &[], 1, "2:1", "(MultiBoxLoss): Must provide num_classes."),
    // fork/ssd.rs multibox_loss: num_classes 0.
    ("MultiBoxLoss num_classes 0", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'm' type: 'MultiBoxLoss' bottom: 'l' bottom: 'c' bottom: 'p' bottom: 'g' top: 'loss' multibox_loss_param { num_classes: 0 } }"), &[], 1, "2:1", "num_classes should not be less than 1."),
    // fork/ssd.rs multibox_loss: do_neg_mining.
    ("MultiBoxLoss do_neg_mining against mining_type", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'm' type: 'MultiBoxLoss' bottom: 'l' bottom: 'c' bottom: 'p' bottom: 'g' top: 'loss' multibox_loss_param { num_classes: 3 do_neg_mining: false } }"), &[], 1, "2:1", "do_neg_mining is deprecated and disagrees with mining_type"),
    // fork/ssd.rs multibox_loss: mining and share_location.
    ("MultiBoxLoss mining without shared locations", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'm' type: 'MultiBoxLoss' bottom: 'l' bottom: 'c' bottom: 'p' bottom: 'g' top: 'loss' multibox_loss_param { num_classes: 3 share_location: false } }"), &[], 1, "2:1", "Currently only support negative mining if share_location is true."),
    // fork/ssd.rs multibox_loss: background_label_id.
    ("MultiBoxLoss background label 3 of 3", inputs!("l" = "dim: 1 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'm' type: 'MultiBoxLoss' bottom: 'l' bottom: 'c' bottom: 'p' bottom: 'g' top: 'loss' multibox_loss_param { num_classes: 3 background_label_id: 3 } }"), &[], 1, "2:1", "background_label_id should be within [0, num_classes) for Softmax."),
    // fork/ssd.rs multibox_loss: the first dimension.
    ("MultiBoxLoss of two batches", inputs!("l" = "dim: 2 dim: 16", "c" = "dim: 1 dim: 12", "p" = "dim: 1 dim: 2 dim: 16", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'm' type: 'MultiBoxLoss' bottom: 'l' bottom: 'c' bottom: 'p' bottom: 'g' top: 'loss' multibox_loss_param { num_classes: 3 } }"), &[], 1, "2:1", "(MultiBoxLoss): The data and label should have the same first dimension."),
    // fork/ssd.rs detection_evaluate: the bottom count.
    ("DetectionEvaluate of one bottom", x4!("layer { name: 'l' type: 'DetectionEvaluate' bottom: 'x' top: 'y' }"), &[], 1, "2:1", "DetectionEvaluate needs the detections and the ground truth"),
    // fork/ssd.rs detection_evaluate: num_classes.
    ("DetectionEvaluate without num_classes", inputs!("d" = "dim: 1 dim: 1 dim: 3 dim: 7", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'e' type: 'DetectionEvaluate' bottom: 'd' bottom: 'g' top: 'y' }"), &[], 1, "2:1", "(DetectionEvaluate): Must provide num_classes."),
    // fork/ssd.rs detection_evaluate: overlap_threshold.
    ("DetectionEvaluate overlap 0", inputs!("d" = "dim: 1 dim: 1 dim: 3 dim: 7", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'e' type: 'DetectionEvaluate' bottom: 'd' bottom: 'g' top: 'y' detection_evaluate_param { num_classes: 3 overlap_threshold: 0 } }"), &[], 1, "2:1", "overlap_threshold must be non negative."),
    // fork/ssd.rs detection_evaluate: the detections' shape.
    ("DetectionEvaluate detections of 6 columns", inputs!("d" = "dim: 1 dim: 1 dim: 3 dim: 6", "g" = "dim: 1 dim: 1 dim: 2 dim: 8"; "layer { name: 'e' type: 'DetectionEvaluate' bottom: 'd' bottom: 'g' top: 'y' detection_evaluate_param { num_classes: 3 } }"), &[], 1, "2:1", "DetectionEvaluate: detections must be [1, 1, D, 7] (got [1, 1, 3, 6])"),
    // fork/ssd.rs detection_evaluate: the ground truth's shape.
    ("DetectionEvaluate ground truth of 7 columns", inputs!("d" = "dim: 1 dim: 1 dim: 3 dim: 7", "g" = "dim: 1 dim: 1 dim: 2 dim: 7"; "layer { name: 'e' type: 'DetectionEvaluate' bottom: 'd' bottom: 'g' top: 'y' detection_evaluate_param { num_classes: 3 } }"), &[], 1, "2:1", "DetectionEvaluate: ground truth must be [1, 1, G, 8] (got [1, 1, 2, 7])"),
    // fork/ssd.rs annotated_data: FIT_SMALL_SIZE.
    ("AnnotatedData FIT_SMALL_SIZE with batch 2", "layer { name: 'd' type: 'AnnotatedData' top: 'a' data_param { batch_size: 2 } transform_param { resize_param { resize_mode: FIT_SMALL_SIZE } } }", &[], 1, "1:1", "Only support batch size of 1 for FIT_SMALL_SIZE."),
    // fork/ssd.rs annotated_data: the crop against the resize.
    ("AnnotatedData crop past the resize", "layer { name: 'd' type: 'AnnotatedData' top: 'a' data_param { batch_size: 2 } transform_param { crop_size: 10 resize_param { height: 8 width: 8 } } }", &[], 1, "1:1", "crop 10x10 is larger than the resized image 8x8"),
    // fork/ssd.rs annotated_data, unknown_top.
    ("AnnotatedData of unknown size", "layer { name: 'd' type: 'AnnotatedData' top: 'a' data_param { batch_size: 2 } }", &[], 1, "1:1", "shape of blob 'a' cannot be known from the net (each image keeps its own size: no crop and no fixed resize)"),
];

/// What one run printed and how it ended.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A fresh, empty folder for one run.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("caffe-mem-errors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the net (and the files after `--- NAME` lines) to `dir`, runs the binary with `args`
/// (see `Case` for `@`, `@/NAME`, `@dir` and `>full`).
fn run(dir: &Path, net: &[u8], args: &[&str]) -> (Outcome, String) {
    let net_path = dir.join("net.prototxt");
    let mut parts = split_files(net);
    std::fs::write(&net_path, parts.remove(0).1).unwrap();
    for (name, text) in parts {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let net_arg = net_path.to_string_lossy().into_owned();
    let dir_arg = dir.to_string_lossy().into_owned();
    let mut full = false;
    let mut argv: Vec<String> = Vec::new();
    for &a in args {
        match a {
            ">full" => full = true,
            "@" => argv.push(net_arg.clone()),
            "@dir" => argv.push(dir_arg.clone()),
            _ => match a.strip_prefix("@/") {
                Some(name) => argv.push(dir.join(name).to_string_lossy().into_owned()),
                None => argv.push(a.to_string()),
            },
        }
    }
    if !args.contains(&"@") {
        argv.push(net_arg.clone());
    }
    let stdout = if full {
        Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
    } else {
        Stdio::piped()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_caffe-mem"))
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the caffe-mem binary runs");
    let outcome = Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (outcome, net_arg)
}

/// The main net and the files after it: `(name, bytes)`, the main one named "".
fn split_files(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(String::new(), Vec::new())];
    for line in text.split_inclusive(|&b| b == b'\n') {
        match line.strip_prefix(b"--- ") {
            Some(name) => {
                // The newline before a `---` line belongs to the marker.
                let previous = &mut files.last_mut().unwrap().1;
                if previous.ends_with(b"\n") {
                    previous.pop();
                }
                let name = String::from_utf8_lossy(name).trim_end().to_string();
                files.push((name, Vec::new()));
            }
            None => files.last_mut().unwrap().1.extend_from_slice(line),
        }
    }
    files
}

/// Checks one case; the reason when it fails.
fn check(
    name: &str,
    net: &[u8],
    args: &[&str],
    code: i32,
    at: &str,
    says: &str,
) -> Result<(), String> {
    let dir = folder(name);
    let (out, net_path) = run(&dir, net, args);
    let _ = std::fs::remove_dir_all(&dir);
    let first = out.stderr.lines().next().unwrap_or("");
    let prefix = match at {
        "" => "caffe-mem: error: ".to_string(),
        "clap" => "error: ".to_string(),
        "-" => format!("{net_path}: error: "),
        _ => match at
            .rsplit_once(':')
            .and_then(|(file, _)| file.rsplit_once(':'))
        {
            // NAME:L:C, another file of the case.
            Some((file, _)) => {
                let place = &at[file.len() + 1..];
                format!("{}:{place}: error: ", dir.join(file).display())
            }
            None => format!("{net_path}:{at}: error: "),
        },
    };
    let mut problems = Vec::new();
    if out.code != Some(code) {
        problems.push(format!("exit {:?}, expected {code}", out.code));
    }
    if !first.starts_with(&prefix) {
        problems.push(format!("the first line should start with {prefix:?}"));
    }
    if !out.stderr.contains("error:") || !out.stderr.contains(says) {
        problems.push(format!("stderr should say {says:?}"));
    }
    for bad in ["panicked", "RUST_BACKTRACE", "internal error"] {
        if out.stderr.contains(bad) {
            problems.push(format!("stderr says {bad:?}"));
        }
    }
    if !out.stdout.is_empty() {
        problems.push("stdout should be empty".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name}: {}\nstderr:\n{}",
            problems.join("; "),
            out.stderr
        ))
    }
}

#[test]
fn every_error_site_exits_with_its_code_place_and_message() {
    // /dev/full is Linux's; elsewhere the rows that write to it are left out.
    let full = Path::new("/dev/full").exists();
    let failures: Vec<String> = CASES
        .iter()
        .enumerate()
        .filter(|(_, (_, _, args, ..))| full || !args.contains(&">full"))
        .filter_map(|(i, &(what, net, args, code, at, says))| {
            check(&format!("{i}"), net.as_bytes(), args, code, at, says)
                .err()
                .map(|e| format!("row {i}, {what}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

/// textformat/mod.rs `scalar`, the fast path (no escape): raw bytes that are not UTF-8 in a
/// string, which a `&str` row cannot hold.
#[test]
fn raw_bytes_that_are_not_utf8_in_a_string() {
    check(
        "raw",
        b"name: 'caf\xe9'\n",
        &[],
        3,
        "1:7",
        "string is not valid UTF-8",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// pipeline.rs `test_net_file` and `test_nets`: a solver's test net that cannot be built is not
/// an exit; the train net is reported, with the reason in the caffe model's notes.
#[test]
fn a_test_net_that_cannot_be_built_is_a_note() {
    let dir = folder("test-net");
    let net = "train_net: 'train.prototxt'\ntest_net: 'nowhere.prototxt'\ntest_iter: 1\ntest_interval: 10\nbase_lr: 0.1\n--- train.prototxt\nlayer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 2 dim: 3 } } }\nlayer { name: 'r' type: 'ReLU' bottom: 'x' top: 'y' }";
    let (out, net_path) = run(&dir, net.as_bytes(), &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let notes = report["memory"]["caffe"]["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "test net #0 is not counted: {net_path}: test_net 'nowhere.prototxt' was not found"
        )),
        "{notes}"
    );
}

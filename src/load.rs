//! From a path (or stdin) to Caffe's `NetParameter`: reading the bytes once, refusing binary
//! files, telling a solver from a net and following a solver to its net.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use prost::Message as _;

use crate::error::{Error, Result};
use crate::proto::{LayerParameter, NetParameter, SharedSubs, SolverParameter};
use crate::textformat::{self, Pos, MSG_LABELMAP, MSG_NETPARAMETER, MSG_SOLVERPARAMETER};
use crate::upgrade;

/// A warning tied to a place in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// Settings that change how files are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Unknown fields and enum values are errors rather than warnings.
    pub strict: bool,
}

/// A net file as read, before upgrades.
#[derive(Debug)]
pub struct NetFile {
    /// The name used in messages: the path as given, or `<stdin>`.
    pub file: String,
    /// The net's fields; its `layer` list is in `layers` when the net was read from a file.
    pub net: NetParameter,
    /// The `layer` entries of a net file, each decoded apart into the `Arc` that the walks
    /// share (see `decode_layers_apart`), with BatchNorm's old param specs upgraded
    /// (`upgrade::upgrade_batch_norm`). Empty for a solver's inline net, whose layers are in
    /// `net`.
    pub layers: Vec<Arc<LayerParameter>>,
    /// Every root field in file order with its position (layers, inputs, ...).
    pub root_fields: Vec<(u32, Pos)>,
    /// Whether a layer of `layers` has include or exclude rules, noted as each was decoded:
    /// without any, the filter need not read a large net's layers again.
    pub rules: bool,
    /// Present when the net was reached through a solver file.
    pub solver: Option<SolverFile>,
}

#[derive(Debug)]
pub struct SolverFile {
    pub file: String,
    pub solver: SolverParameter,
}

/// NetParameter's `layer` field number (caffe.proto).
const NET_LAYER_FIELD: u32 = 100;

/// SolverParameter's `train_net_param` and `net_param` field numbers (caffe.proto).
const SOLVER_TRAIN_NET_PARAM_FIELD: u32 = 21;
const SOLVER_NET_PARAM_FIELD: u32 = 25;

/// How much of the start of a file `looks_binary` looks at.
const HEAD: usize = 8192;

/// Reads a whole input, once, into one buffer. `-` is stdin. A binary file (a caffemodel given
/// by mistake is often hundreds of megabytes) is recognised from its first 8 KiB and read no
/// further.
pub fn read_source(path: &str) -> Result<(String, Vec<u8>)> {
    let (file, read) = if path == "-" {
        ("<stdin>", read_text(std::io::stdin().lock(), 0))
    } else {
        let opened = std::fs::File::open(path).and_then(|f| {
            let size = f.metadata()?.len();
            read_text(f, usize::try_from(size).unwrap_or(0))
        });
        (path, opened)
    };
    match read {
        Ok(Some(bytes)) => Ok((file.to_string(), bytes)),
        Ok(None) => Err(binary_error(file)),
        Err(e) => Err(Error::Io {
            path: PathBuf::from(file),
            source: e,
        }),
    }
}

/// The bytes of `r`, or `None` when its head looks binary. `size` is the expected length, so a
/// large file is read into a buffer of its size rather than one grown by doubling.
fn read_text(mut r: impl Read, size: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(size.min(HEAD));
    (&mut r).take(HEAD as u64).read_to_end(&mut buf)?;
    if looks_binary(&buf) {
        return Ok(None);
    }
    buf.try_reserve_exact(size.saturating_sub(buf.len()))
        .map_err(|_| {
            let msg = format!("its {size} bytes do not fit in memory");
            std::io::Error::new(std::io::ErrorKind::OutOfMemory, msg)
        })?;
    r.read_to_end(&mut buf)?;
    Ok(Some(buf))
}

fn binary_error(file: &str) -> Error {
    Error::Parse {
        file: file.to_string(),
        pos: Pos { line: 1, col: 1 },
        message: "this looks like a binary file, not a text prototxt".to_string(),
        hint: Some(
            "caffe-mem reads the text net definition (deploy.prototxt, train_val.prototxt \
             or solver.prototxt), not trained weights (.caffemodel)"
                .to_string(),
        ),
    }
}

/// A caffemodel, an image or an archive has NUL bytes or many control bytes near its start;
/// a prototxt has neither.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(HEAD)];
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .count();
    control * 20 > head.len()
}

/// Fields that only a solver has: a file with one of them at its root is read as a solver.
const SOLVER_NET_FIELDS: [&str; 4] = ["net", "train_net", "net_param", "train_net_param"];

/// Reads a net or a solver file; a solver is followed to its training net.
pub fn load(path: &str, opts: ReadOptions, warnings: &mut Vec<Warning>) -> Result<NetFile> {
    if path != "-" {
        if let Some(net) = load_in_pieces(path, PIECES_MIN, PIECE, opts, warnings)? {
            return Ok(net);
        }
    }
    let (file, bytes) = read_source(path)?;
    load_bytes(file, &bytes, opts, warnings)
}

/// Net files at least this long are read in pieces (`load_in_pieces`).
const PIECES_MIN: u64 = 1 << 20;

/// The text read per piece: small enough that a piece's text and wire stay in the cache
/// between reading and decoding.
const PIECE: usize = 1 << 18;

/// A net file of at least `min` bytes, read and decoded a piece (of `block` bytes of text) at a
/// time (`textformat::parse_pieces`), so that neither its whole text nor its whole wire form is
/// held. `None` when the file is to be read whole: it is shorter, binary, a solver or a label
/// map, or it did not read in pieces (an error, which the whole read then places exactly, or a
/// file written without indentation).
fn load_in_pieces(
    path: &str,
    min: u64,
    block: usize,
    opts: ReadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<Option<NetFile>> {
    // Any trouble with the file itself is left to the whole read to report.
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let size = f.metadata().map_or(0, |m| m.len());
    let mut head = Vec::with_capacity(HEAD);
    if size < min || (&mut f).take(HEAD as u64).read_to_end(&mut head).is_err() {
        return Ok(None);
    }
    if looks_binary(&head) {
        return Ok(None);
    }
    let mut net = NetParameter::default();
    // Grown as layers come (a pointer each): sized from the file, an absurd file reserved
    // what the reader thread then lacked.
    let mut layers = Vec::new();
    let (mut root_fields, mut unknown, mut root_names) = (Vec::new(), Vec::new(), Vec::new());
    let mut rules = false;
    let text = std::io::Cursor::new(head).chain(f);
    // Each piece's layers are decoded on the thread that read it, into the `Arc`s the walks
    // share; the few other fields are merged here, in order. Decoded on both threads rather than
    // all on this one, the 100k-layer net's peak is some 8-12 MiB lower. Each thread's layers
    // share the sub-messages they repeat, across its pieces.
    let new_decoder = || {
        let mut shared = SharedSubs::default();
        move |piece: &textformat::Parsed| {
            let (mut piece_layers, mut others) = (Vec::new(), Vec::new());
            let keep = |wire: &[u8]| {
                others.extend_from_slice(wire);
                Ok(())
            };
            let mut rules = false;
            decode_into(
                &piece.wire,
                keep,
                &mut piece_layers,
                &mut rules,
                &mut shared,
            )
            .map(|()| (piece_layers, others, rules))
        }
    };
    let read = textformat::parse_pieces(
        text,
        MSG_NETPARAMETER,
        block,
        new_decoder,
        |piece, decoded| {
            root_fields.append(&mut piece.root_fields);
            unknown.append(&mut piece.unknown);
            root_names.append(&mut piece.unknown_root_names);
            let Ok((mut piece_layers, others, piece_rules)) = decoded else {
                return false;
            };
            layers.append(&mut piece_layers);
            rules |= piece_rules;
            net.merge(others.as_slice()).is_ok()
        },
    );
    if !matches!(read, Ok(true)) || root_kind(&root_names) != RootKind::Net {
        return Ok(None);
    }
    report_unknown(path, &unknown, opts, warnings)?;
    Ok(Some(NetFile {
        file: path.to_string(),
        net,
        layers,
        root_fields,
        rules,
        solver: None,
    }))
}

/// Like `load`, for text already in memory; `file` names it in messages and locates the nets
/// a solver names.
pub fn load_bytes(
    file: String,
    bytes: &[u8],
    opts: ReadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<NetFile> {
    let parsed = parse_text(&file, bytes, MSG_NETPARAMETER)?;
    match root_kind(&parsed.unknown_root_names) {
        RootKind::Net => return decode_net(&file, parsed, opts, warnings),
        RootKind::LabelMap => {
            parse_text(&file, bytes, MSG_LABELMAP)?;
            return Err(Error::usage(format!(
                "{file} is a label map (caffe.LabelMap, SSD's class names), not a net"
            ))
            .with_hint("give the net's deploy.prototxt, train_val.prototxt or solver.prototxt"));
        }
        RootKind::Solver => {}
    }
    // Read as a net, a solver is of no use: free that wire copy before reading it again.
    drop(parsed);
    // The positions of an inline net's fields are kept, so that its layers are located in the
    // solver file as a net file's are (without them every error in it pointed at 0:0).
    let parsed = parse_text_nested(&file, bytes, MSG_SOLVERPARAMETER, Some(MSG_NETPARAMETER))?;
    report_unknown(&file, &parsed.unknown, opts, warnings)?;
    let solver =
        SolverParameter::decode(parsed.wire.as_slice()).map_err(|e| decode_error(&file, e))?;
    let mut net = solver_net(&file, &solver, &parsed.nested_fields, opts, warnings)?;
    net.solver = Some(SolverFile { file, solver });
    Ok(net)
}

#[derive(Debug, PartialEq, Eq)]
enum RootKind {
    Net,
    /// SSD's label maps are prototxts too, and users pass them by mistake.
    LabelMap,
    Solver,
}

/// What a file read as a net is, from the names of its root fields that a net does not have.
fn root_kind(unknown_root_names: &[String]) -> RootKind {
    if !unknown_root_names.is_empty() && unknown_root_names.iter().all(|n| n == "item") {
        RootKind::LabelMap
    } else if unknown_root_names
        .iter()
        .any(|n| SOLVER_NET_FIELDS.contains(&n.as_str()))
    {
        RootKind::Solver
    } else {
        RootKind::Net
    }
}

fn parse_text(file: &str, bytes: &[u8], root: usize) -> Result<textformat::Parsed> {
    parse_text_nested(file, bytes, root, None)
}

/// `parse_text`, keeping the positions of the fields of root fields of type `nested`.
fn parse_text_nested(
    file: &str,
    bytes: &[u8],
    root: usize,
    nested: Option<usize>,
) -> Result<textformat::Parsed> {
    if looks_binary(bytes) {
        return Err(binary_error(file));
    }
    textformat::parse_nested(bytes, root, nested).map_err(|e| Error::Parse {
        file: file.to_string(),
        pos: e.pos,
        message: e.message,
        hint: None,
    })
}

fn report_unknown(
    file: &str,
    unknown: &[textformat::Unknown],
    opts: ReadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    for u in unknown {
        if opts.strict {
            return Err(Error::Parse {
                file: file.to_string(),
                pos: u.pos,
                message: u.message.clone(),
                hint: Some("without --strict, unknown fields are skipped with a warning".into()),
            });
        }
        warnings.push(Warning {
            file: file.to_string(),
            line: u.pos.line,
            col: u.pos.col,
            message: u.message.clone(),
        });
    }
    Ok(())
}

fn decode_error(file: &str, e: prost::DecodeError) -> Error {
    Error::Parse {
        file: file.to_string(),
        pos: Pos { line: 1, col: 1 },
        message: format!("the file does not decode as a Caffe message: {e}"),
        hint: None,
    }
}

fn decode_net(
    file: &str,
    parsed: textformat::Parsed,
    opts: ReadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<NetFile> {
    report_unknown(file, &parsed.unknown, opts, warnings)?;
    let count = parsed
        .root_fields
        .iter()
        .filter(|&&(n, _)| n == NET_LAYER_FIELD)
        .count();
    let (net, layers, rules) =
        decode_layers_apart(&parsed.wire, count).map_err(|e| decode_error(file, e))?;
    Ok(NetFile {
        file: file.to_string(),
        net,
        layers,
        root_fields: parsed.root_fields,
        rules,
        solver: None,
    })
}

/// A net's other fields, its layers and whether one has rules, or prost's error.
type Decoding =
    std::result::Result<(NetParameter, Vec<Arc<LayerParameter>>, bool), prost::DecodeError>;

/// A NetParameter from its wire format, with each `layer` (`count` of them) decoded into its
/// own `Arc` rather than into `NetParameter::layer`: moving them from that vector into the walks'
/// `Arc`s held a large net twice at once. Layers that repeat a sub-message share it
/// (`LayerParameter::merge_shared`). Anything unexpected in the wire is left to prost, which
/// decodes or refuses it.
///
/// One thread: decoding half the layers on a second one saved no time measurably once layers
/// got small (2926249), and the second thread's heap left its pages to the first unevenly, so
/// the 100k-layer net's peak was 186.5 or 214.8 MiB from run to run (183 MiB on one thread).
fn decode_layers_apart(wire: &[u8], count: usize) -> Decoding {
    let mut net = NetParameter::default();
    let mut layers = Vec::with_capacity(count);
    let (mut shared, mut rules) = (SharedSubs::default(), false);
    decode_into(
        wire,
        |other| net.merge(other),
        &mut layers,
        &mut rules,
        &mut shared,
    )?;
    Ok((net, layers, rules))
}

/// `decode_layers_apart` onto layers decoded so far, handing the wire of the net's other fields
/// to `others` in order: the wire of a net read in pieces is decoded piece by piece, its layers
/// on two threads and its other fields merged on one. The layers share sub-messages with those
/// decoded before them with `shared`. Each is upgraded and looked at for rules here, while it
/// is in the cache, and `rules` set when one has some.
fn decode_into(
    wire: &[u8],
    mut others: impl FnMut(&[u8]) -> std::result::Result<(), prost::DecodeError>,
    layers: &mut Vec<Arc<LayerParameter>>,
    rules: &mut bool,
    shared: &mut SharedSubs,
) -> std::result::Result<(), prost::DecodeError> {
    let mut rest = wire;
    while !rest.is_empty() {
        let Some(field) = next_field(rest) else {
            others(rest)?;
            break;
        };
        match field.body {
            Some(body) if field.number == NET_LAYER_FIELD => {
                // Decoded in place, not moved into the `Arc` afterwards.
                let mut layer = Arc::new(LayerParameter::default());
                let lp = Arc::get_mut(&mut layer).expect("a new Arc is not shared");
                lp.merge_shared(body, shared)?;
                if upgrade::needs_batch_norm_upgrade(lp) {
                    upgrade::upgrade_batch_norm(lp);
                }
                *rules |= crate::filter::has_rules(lp);
                layers.push(layer);
            }
            _ => others(&rest[..rest.len() - field.after.len()])?,
        }
        rest = field.after;
    }
    Ok(())
}

/// One field of a message's wire format.
#[derive(Debug, PartialEq)]
struct Field<'a> {
    number: u32,
    /// The payload of a length-delimited field.
    body: Option<&'a [u8]>,
    /// The bytes after the field.
    after: &'a [u8],
}

/// The first field of `wire`, read with prost's own key and varint decoders; `None` when it is
/// not one of the four plain wire types or is cut off.
fn next_field(wire: &[u8]) -> Option<Field<'_>> {
    use prost::encoding::{decode_key, decode_varint, WireType};
    let mut rest = wire;
    let (number, wire_type) = decode_key(&mut rest).ok()?;
    let (body, after) = match wire_type {
        WireType::Varint => {
            decode_varint(&mut rest).ok()?;
            (None, rest)
        }
        WireType::SixtyFourBit => (None, rest.get(8..)?),
        WireType::ThirtyTwoBit => (None, rest.get(4..)?),
        WireType::LengthDelimited => {
            let len = usize::try_from(decode_varint(&mut rest).ok()?).ok()?;
            (Some(rest.get(..len)?), rest.get(len..)?)
        }
        WireType::StartGroup | WireType::EndGroup => return None,
    };
    Some(Field {
        number,
        body,
        after,
    })
}

/// The training net of a solver: inline (`train_net_param`, `net_param`) or a file (`train_net`,
/// `net`), as Caffe's Solver::InitTrainNet picks it. `nested_fields` holds the positions of the
/// inline nets' fields in the solver file (`textformat::Parsed::nested_fields`).
fn solver_net(
    file: &str,
    solver: &SolverParameter,
    nested_fields: &[(u32, u32, Pos)],
    opts: ReadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<NetFile> {
    let inline = match (&solver.train_net_param, &solver.net_param) {
        (Some(net), _) => Some((net, SOLVER_TRAIN_NET_PARAM_FIELD)),
        (None, Some(net)) => Some((net, SOLVER_NET_PARAM_FIELD)),
        (None, None) => None,
    };
    if let Some((inline, number)) = inline {
        return Ok(NetFile {
            file: file.to_string(),
            net: inline.clone(),
            layers: Vec::new(),
            rules: false,
            root_fields: nested_fields
                .iter()
                .filter(|&&(parent, _, _)| parent == number)
                .map(|&(_, field, pos)| (field, pos))
                .collect(),
            solver: None,
        });
    }
    let target = solver
        .train_net
        .as_deref()
        .or(solver.net.as_deref())
        .ok_or_else(|| Error::invalid(file, None, "the solver names no net"))?;
    let resolved = resolve_relative(file, target).ok_or_else(|| {
        Error::usage(format!("{file}: the solver's net '{target}' was not found")).with_hint(
            "relative paths are tried against the solver's folder, each folder above it, \
             and the working directory; give the net file itself instead",
        )
    })?;
    let (net_file, bytes) = read_source(&resolved.to_string_lossy())?;
    let parsed = parse_text(&net_file, &bytes, MSG_NETPARAMETER)?;
    decode_net(&net_file, parsed, opts, warnings)
}

/// Resolves a path named in a solver file. Caffe resolves it against the directory Caffe was
/// started in, usually the repository root; users expect the solver's own folder to work too.
/// So: the solver's folder, then each folder above it, then the working directory.
pub fn resolve_relative(solver_file: &str, target: &str) -> Option<PathBuf> {
    let t = Path::new(target);
    if t.is_absolute() {
        return t.is_file().then(|| t.to_path_buf());
    }
    let t = t.strip_prefix("./").unwrap_or(t);
    let solver_dir = Path::new(solver_file).parent().unwrap_or(Path::new(""));
    let mut dir = Some(solver_dir);
    while let Some(d) = dir {
        let candidate = d.join(t);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    t.is_file().then(|| t.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire of a net file, as the reader makes it.
    fn wire_of(name: &str) -> Vec<u8> {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read(path).unwrap();
        textformat::parse(&text, MSG_NETPARAMETER).unwrap().wire
    }

    #[test]
    fn layers_decoded_apart_are_the_whole_decodes_layers() {
        // (grammar.prototxt has a NaN, which equals nothing; a V1 file's `layers` stay in the net.)
        for name in [
            "alexnet.prototxt",
            "inception.prototxt",
            "phases.prototxt",
            "upgrade/v1.prototxt",
        ] {
            let wire = wire_of(name);
            let mut whole = NetParameter::decode(wire.as_slice()).unwrap();
            let want = std::mem::take(&mut whole.layer);
            assert_eq!(want.is_empty(), name.starts_with("upgrade/"), "{name}");
            let (net, layers, rules) = decode_layers_apart(&wire, 0).unwrap();
            assert_eq!(net, whole, "{name}: the other fields");
            // phases.prototxt's layers have include rules (v1.prototxt's are in `net.layers`).
            assert_eq!(rules, name == "phases.prototxt", "{name}");
            let got: Vec<LayerParameter> = layers.iter().map(|l| (**l).clone()).collect();
            assert_eq!(got, want, "{name}: the layers, in order");
        }
    }

    /// A net's fields and layers as bytes (a NaN in a file equals nothing, its bytes do).
    fn encoded(net: &NetFile) -> (Vec<u8>, Vec<Vec<u8>>) {
        let layers = net.layers.iter().map(|l| l.encode_to_vec()).collect();
        (net.net.encode_to_vec(), layers)
    }

    #[test]
    fn nets_read_in_pieces_equal_nets_read_whole() {
        let files = crate::net_files::all();
        let (mut pieces, mut declined) = (0, 0);
        for path in &files {
            let file = path.to_string_lossy().into_owned();
            let text = std::fs::read(path).unwrap();
            for strict in [false, true] {
                let opts = ReadOptions { strict };
                let mut whole_warnings = Vec::new();
                let whole = load_bytes(file.clone(), &text, opts, &mut whole_warnings);
                // Blocks of 1 and 61 bytes: a cut at every layer, and at some.
                for block in [1, 61] {
                    let mut warnings = Vec::new();
                    match (load_in_pieces(&file, 0, block, opts, &mut warnings), &whole) {
                        (Ok(Some(got)), Ok(want)) => {
                            assert_eq!(encoded(&got), encoded(want), "{file}");
                            assert_eq!(got.root_fields, want.root_fields, "{file}");
                            assert_eq!(got.rules, want.rules, "{file}");
                            assert_eq!(warnings, whole_warnings, "{file}");
                            pieces += 1;
                        }
                        // Strict, an unknown field: the first one is refused either way.
                        (Err(got), Err(want)) => assert_eq!(got.to_string(), want.to_string()),
                        (Ok(None), whole) => {
                            // Read whole: a solver, a label map, or an error placed there.
                            let net = whole.as_ref().ok().filter(|n| n.solver.is_none());
                            assert!(net.is_none(), "{file}: a net, declined");
                            declined += 1;
                        }
                        (got, want) => {
                            panic!("{file}: {:?} != {:?}", got.err(), want.as_ref().err())
                        }
                    }
                }
            }
        }
        assert!(
            pieces > 100 && declined > 10,
            "{pieces} read, {declined} declined"
        );
    }

    #[test]
    fn layers_read_together_share_the_sub_messages_they_repeat() {
        // resblock.prototxt's three convolutions have one convolution_param.
        let file = format!("{}/testdata/resblock.prototxt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read(&file).unwrap();
        let opts = ReadOptions::default();
        let whole = load_bytes(file.clone(), &text, opts, &mut Vec::new()).unwrap();
        // One piece, which the calling thread reads and decodes.
        let piece = load_in_pieces(&file, 0, 1 << 20, opts, &mut Vec::new()).unwrap();
        for net in [whole, piece.unwrap()] {
            let mut layers = net.layers;
            let convs: Vec<usize> = (0..layers.len())
                .filter(|&i| layers[i].convolution_param().is_some())
                .collect();
            assert_eq!(convs.len(), 3);
            // The accessor's reference is into the sub-message's `Arc`: one address, one copy.
            let at = |layers: &[Arc<LayerParameter>], i: usize| {
                std::ptr::from_ref(layers[i].convolution_param().unwrap())
            };
            assert!(convs
                .iter()
                .all(|&i| at(&layers, i) == at(&layers, convs[0])));
            // Changed in one layer, it is copied for that layer alone.
            let changed = Arc::make_mut(&mut layers[convs[1]]).convolution_param_mut();
            assert_eq!(changed.num_output, Some(16));
            changed.num_output = Some(32);
            let num_output = |i: usize| layers[i].convolution_param().unwrap().num_output;
            let nums: Vec<_> = convs.iter().map(|&i| num_output(i)).collect();
            assert_eq!(nums, [Some(16), Some(32), Some(16)]);
            assert_eq!(at(&layers, convs[0]), at(&layers, convs[2]));
            assert_ne!(at(&layers, convs[0]), at(&layers, convs[1]));
        }
    }

    #[test]
    fn a_cut_wire_is_refused_not_misread() {
        let wire = wire_of("alexnet.prototxt");
        // Cut inside a layer's payload, and inside a key's varint.
        for cut in [&wire[..wire.len() / 2], &[0xa2][..]] {
            assert!(decode_layers_apart(cut, 0).is_err(), "{cut:?}");
        }
    }

    #[test]
    fn fields_are_read_as_protobuf_writes_them() {
        // Field 1, a varint: key 0x08, 150 = 0x96 0x01.
        assert_eq!(
            next_field(&[0x08, 0x96, 0x01, 7]),
            Some(Field {
                number: 1,
                body: None,
                after: &[7]
            })
        );
        assert_eq!(next_field(&[0x08, 0x80]), None, "value cut off");
        assert_eq!(next_field(&[0x80]), None, "key cut off");
        // Field 100 (`layer`), length-delimited: key 802 = 0xa2 0x06.
        assert_eq!(
            next_field(&[0xa2, 0x06, 2, 8, 1, 9]),
            Some(Field {
                number: 100,
                body: Some(&[8, 1]),
                after: &[9]
            })
        );
        assert_eq!(next_field(&[0xa2, 0x06, 5, 8]), None, "body cut off");
    }
}

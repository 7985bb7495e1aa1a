//! The text-format reader alone. Any input either fails with a positioned error or yields wire
//! bytes that prost decodes. Like `load`, a text whose root has unknown fields is also read as
//! a solver and as a label map. Read in small pieces (as `load` reads long files), it gives
//! exactly the one-piece result, or declines.

#![no_main]

use caffe_mem::proto::{LabelMap, NetParameter, SolverParameter};
use caffe_mem::textformat::{
    parse, parse_pieces, Parsed, Pos, MSG_LABELMAP, MSG_NETPARAMETER, MSG_SOLVERPARAMETER,
};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fn valid(pos: Pos) -> bool {
    pos.line >= 1 && pos.col >= 1
}

/// Reads `data` as `MESSAGES[root]` and checks the result decodes as `M`.
fn read<M: Message + Default>(data: &[u8], root: usize) -> Option<Parsed> {
    match parse(data, root) {
        Err(e) => {
            assert!(valid(e.pos), "error at {:?}: {}", e.pos, e.message);
            None
        }
        Ok(p) => {
            assert!(p.root_fields.iter().all(|&(_, pos)| valid(pos)));
            assert!(p.unknown.iter().all(|u| valid(u.pos)));
            if let Err(e) = M::decode(p.wire.as_slice()) {
                panic!("the reader's wire bytes do not decode: {e}");
            }
            Some(p)
        }
    }
}

/// `data` read as a net in pieces of `block` bytes, joined; `None` when declined.
fn in_pieces(data: &[u8], block: usize) -> Option<Parsed> {
    let mut joined = Parsed::with_wire(Vec::new());
    // Nothing to decode: the joined wire is the check.
    let read = parse_pieces(
        data,
        MSG_NETPARAMETER,
        block,
        || |_: &Parsed| (),
        |piece, ()| {
            joined.wire.extend_from_slice(&piece.wire);
            joined.root_fields.append(&mut piece.root_fields);
            joined.unknown.append(&mut piece.unknown);
            joined
                .unknown_root_names
                .append(&mut piece.unknown_root_names);
            true
        },
    );
    read.expect("reading a slice").then_some(joined)
}

fuzz_target!(|data: &[u8]| {
    let pieces = in_pieces(data, 16);
    let Some(net) = read::<NetParameter>(data, MSG_NETPARAMETER) else {
        assert!(pieces.is_none(), "read in pieces, not whole");
        return;
    };
    if let Some(pieces) = pieces {
        assert_eq!(pieces, net, "read in pieces");
    }
    if !net.unknown_root_names.is_empty() {
        read::<SolverParameter>(data, MSG_SOLVERPARAMETER);
        read::<LabelMap>(data, MSG_LABELMAP);
    }
});

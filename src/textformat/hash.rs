//! The hash of a field name, shared by build.rs (which lays out each message's field table)
//! and the reader (which probes it). FNV-1a: names are short, and it needs no state.

pub fn name_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

//! The hash of a field name, shared by build.rs (which lays out each message's field table)
//! and the reader (which probes it once per field of the text). Names are short: the hash
//! reads a few words of the name (its first and last eight bytes, or four, or three single
//! bytes for the shortest) and its length, and mixes them with one wide multiplication, instead
//! of a chain of per-byte multiplications. Two names of a message that agree in all of these
//! only share a probe sequence.

pub fn name_hash(name: &[u8]) -> u32 {
    let n = name.len();
    let (head, tail) = if n >= 8 {
        (word8(&name[..8]), word8(&name[n - 8..]))
    } else if n >= 4 {
        (
            u64::from(word4(&name[..4])),
            u64::from(word4(&name[n - 4..])),
        )
    } else if n > 0 {
        let bytes = [name[0], name[n / 2], name[n - 1]];
        (bytes.iter().fold(0, |w, &b| w << 8 | u64::from(b)), 0)
    } else {
        (0, 0)
    };
    // Arbitrary odd constants (digits of pi), so that zero words still mix.
    let product = u128::from(head ^ 0x243f_6a88_85a3_08d3)
        * u128::from(tail ^ n as u64 ^ 0x1319_8a2e_0370_7344);
    (product as u64 ^ (product >> 64) as u64) as u32
}

/// Eight bytes as a little-endian word; `s` is eight bytes long.
pub fn word8(s: &[u8]) -> u64 {
    u64::from_le_bytes(s.try_into().expect("eight bytes"))
}

/// Four bytes as a little-endian word; `s` is four bytes long.
pub fn word4(s: &[u8]) -> u32 {
    u32::from_le_bytes(s.try_into().expect("four bytes"))
}

//! Scalar values of the text format and their wire encoding.

use super::{FieldDesc, Kind, Pos, TextError};

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_key(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

/// Writes `len`, the length of what follows `out[at]`, as a varint at `at`, where one byte
/// was kept for it: a longer varint moves what follows along. Most messages (a parameter spec,
/// a filler) are shorter than 128 bytes, and a minimal varint is what prost decodes fastest.
/// Inline, with the longer lengths out of line: a call for the one store was most of its cost.
#[inline]
pub fn put_len(out: &mut Vec<u8>, at: usize, len: u32) {
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        put_long_len(out, at, len);
    }
}

/// `put_len` for a length of two bytes or more.
#[cold]
fn put_long_len(out: &mut Vec<u8>, at: usize, len: u32) {
    let mut varint = [0; 5];
    let mut n = 0;
    let mut v = len;
    while v >= 0x80 {
        varint[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    varint[n] = v as u8;
    n += 1;
    let end = out.len();
    out.resize(end + n - 1, 0);
    out.copy_within(at + 1..end, at + n);
    out[at..at + n].copy_from_slice(&varint[..n]);
}

/// An integer literal: decimal, `0x` hex or leading-`0` octal, with an optional sign.
/// Returns it widened to i128 so every proto integer type can range-check it. Inline for the
/// usual literal, a few decimal digits (`num_output: 64`, `pad: 1`), the rest out of line.
#[inline]
pub fn parse_int(text: &[u8], pos: Pos, allow_negative: bool) -> Result<i128, TextError> {
    match plain_int(text) {
        Some(v) => Ok(v),
        None => parse_other_int(text, pos, allow_negative),
    }
}

/// The value of up to 18 decimal digits without a sign (not octal: no leading `0` but for `0`
/// itself), which a u64 holds without overflow; `None` for any other literal.
#[inline]
fn plain_int(text: &[u8]) -> Option<i128> {
    if text.is_empty() || text.len() > 18 || (text[0] == b'0' && text.len() > 1) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in text {
        let digit = c.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        v = v * 10 + u64::from(digit);
    }
    Some(i128::from(v))
}

/// `parse_int` for any literal but a plain decimal, and its errors.
#[inline(never)]
fn parse_other_int(text: &[u8], pos: Pos, allow_negative: bool) -> Result<i128, TextError> {
    let bad = || {
        TextError::new(
            pos,
            format!("'{}' is not an integer", String::from_utf8_lossy(text)),
        )
    };
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if neg && !allow_negative {
        return Err(TextError::new(
            pos,
            format!(
                "'{}' is negative, but the field is unsigned",
                String::from_utf8_lossy(text)
            ),
        ));
    }
    let (radix, body) =
        if digits.len() > 2 && (digits.starts_with(b"0x") || digits.starts_with(b"0X")) {
            (16, &digits[2..])
        } else if digits.len() > 1 && digits[0] == b'0' {
            (8, &digits[1..])
        } else {
            (10, digits)
        };
    if body.is_empty() {
        return Err(bad());
    }
    let mut v: i128 = 0;
    for &c in body {
        let d = (c as char).to_digit(radix).ok_or_else(bad)?;
        v = v * i128::from(radix) + i128::from(d);
        if v > i128::from(u64::MAX) + 1 {
            return Err(TextError::new(
                pos,
                format!(
                    "integer '{}' is out of range",
                    String::from_utf8_lossy(text)
                ),
            ));
        }
    }
    Ok(if neg { -v } else { v })
}

/// Powers of ten that an f64 holds exactly: 10^22 is the last.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of a plain decimal (`1`, `0.01`, `1e-5`, `2.5E+3`; no sign), when one rounding
/// gives it: digits up to 2^53 and a power of ten up to 10^22 are both exact in an f64, so
/// their product or quotient is the correctly rounded value, the one `str::parse` returns.
/// `None` for anything else, which `parse_float` then reads the general way. Caffe's values
/// (learning-rate multipliers, epsilons, filler widths) are nearly all of this kind, and this
/// spares them the UTF-8 check, the lower-cased copy and the general parser.
#[inline]
fn plain_decimal(text: &[u8]) -> Option<f64> {
    // Longer literals take the general way; this bounds `scale` too.
    if text.len() > 32 {
        return None;
    }
    let mut digits: u64 = 0;
    let mut any_digit = false;
    let mut scale: i32 = 0;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        match c {
            b'0'..=b'9' => {
                digits = digits.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                any_digit = true;
                scale -= i32::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !any_digit || digits > 1 << 53 {
        return None;
    }
    if i < text.len() {
        // Only an exponent may follow: 'e', a sign, one to three digits.
        let (&e, rest) = text[i..].split_first()?;
        if e != b'e' && e != b'E' {
            return None;
        }
        let (negative, exp) = match rest.split_first() {
            Some((b'-', exp)) => (true, exp),
            Some((b'+', exp)) => (false, exp),
            _ => (false, rest),
        };
        if exp.is_empty() || exp.len() > 3 {
            return None;
        }
        let mut n: i32 = 0;
        for &c in exp {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i32::from(c - b'0');
        }
        scale += if negative { -n } else { n };
    }
    let pow = *EXACT_POW10.get(scale.unsigned_abs() as usize)?;
    let v = digits as f64;
    Some(if scale < 0 { v / pow } else { v * pow })
}

/// A floating-point literal: inline for a plain decimal, the rest out of line
/// (`parse_other_float`), so that the usual value costs no call.
#[inline]
fn parse_float(text: &[u8], pos: Pos) -> Result<f64, TextError> {
    let (neg, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    match plain_decimal(body) {
        Some(v) => Ok(if neg { -v } else { v }),
        None => parse_other_float(text, pos),
    }
}

/// `parse_float` for what is not a plain decimal: `inf`, `nan`, hex, a trailing `f`, long
/// literals, and errors.
#[inline(never)]
fn parse_other_float(text: &[u8], pos: Pos) -> Result<f64, TextError> {
    let s = std::str::from_utf8(text).unwrap_or("");
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else if lower.starts_with("0x") {
        parse_int(body.as_bytes(), pos, false)? as f64
    } else {
        // A trailing 'f' is allowed ("1.5f"), as protobuf's reader allows it.
        let trimmed = lower.strip_suffix('f').unwrap_or(&lower);
        let ok_chars = trimmed
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'-' | b'+'));
        match trimmed.parse::<f64>() {
            Ok(v) if ok_chars && !trimmed.is_empty() => v,
            _ => {
                return Err(TextError::new(pos, format!("'{s}' is not a number")));
            }
        }
    };
    Ok(if neg { -v } else { v })
}

fn range_checked(v: i128, min: i128, max: i128, text: &[u8], pos: Pos) -> Result<i128, TextError> {
    if v < min || v > max {
        return Err(TextError::new(
            pos,
            format!(
                "integer '{}' is out of range for this field",
                String::from_utf8_lossy(text)
            ),
        ));
    }
    Ok(v)
}

/// Encodes a numeric or boolean field from its literal text.
pub fn put_scalar(
    out: &mut Vec<u8>,
    f: &FieldDesc,
    text: &[u8],
    pos: Pos,
) -> Result<(), TextError> {
    match f.kind {
        // One call of `parse_float` for both, so that it is inlined.
        Kind::Float | Kind::Double => {
            let v = parse_float(text, pos)?;
            if f.kind == Kind::Float {
                put_key(out, f.number, 5);
                out.extend_from_slice(&(v as f32).to_le_bytes());
            } else {
                put_key(out, f.number, 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        Kind::Int32 | Kind::Int64 => {
            let (min, max) = if f.kind == Kind::Int32 {
                (i128::from(i32::MIN), i128::from(i32::MAX))
            } else {
                (i128::from(i64::MIN), i128::from(i64::MAX))
            };
            let v = range_checked(parse_int(text, pos, true)?, min, max, text, pos)?;
            put_key(out, f.number, 0);
            put_varint(out, v as i64 as u64);
        }
        Kind::Uint32 | Kind::Uint64 => {
            let max = if f.kind == Kind::Uint32 {
                i128::from(u32::MAX)
            } else {
                i128::from(u64::MAX)
            };
            let v = range_checked(parse_int(text, pos, false)?, 0, max, text, pos)?;
            put_key(out, f.number, 0);
            put_varint(out, v as u64);
        }
        Kind::Bool => {
            let v = match text {
                b"true" | b"True" | b"t" | b"1" => 1,
                b"false" | b"False" | b"f" | b"0" => 0,
                _ => {
                    return Err(TextError::new(
                        pos,
                        format!(
                            "expected true or false for field '{}', found '{}'",
                            f.name,
                            String::from_utf8_lossy(text)
                        ),
                    ))
                }
            };
            put_key(out, f.number, 0);
            out.push(v);
        }
        Kind::String | Kind::Bytes | Kind::Message | Kind::Enum => {
            unreachable!("put_scalar is only called for numbers and booleans")
        }
    }
    Ok(())
}

/// Appends the bytes of a quoted literal (quotes included in `lit`), resolving C escapes.
pub fn unescape(lit: &[u8], pos: Pos, out: &mut Vec<u8>) -> Result<(), TextError> {
    let body = &lit[1..lit.len() - 1];
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = body.get(i) else {
            return Err(TextError::new(pos, "string ends in a lone backslash"));
        };
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' | b'?' => out.push(e),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' | b'X' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match body.get(i).and_then(|&d| (d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    return Err(TextError::new(pos, "'\\x' is not followed by hex digits"));
                }
                out.push(v as u8);
            }
            other => {
                return Err(TextError::new(
                    pos,
                    format!("unknown escape '\\{}' in string", other as char),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_is_a_minimal_varint_before_its_body() {
        for len in [0u32, 1, 127, 128, 300, 16_383, 16_384, 2_097_152] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            // A key, the byte kept for the length, the body.
            let mut out = vec![0x0a, 0];
            out.extend_from_slice(&body);
            put_len(&mut out, 1, len);
            let mut expected = vec![0x0a];
            put_varint(&mut expected, u64::from(len));
            expected.extend_from_slice(&body);
            assert_eq!(out, expected, "{len}");
        }
    }
}

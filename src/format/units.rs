//! Human-scaled numbers for tables: counts in powers of 1000 (K, M, G, T, P, E), bytes in
//! powers of 1024 (KiB ... EiB, as SPEC §3 asks). Three significant digits, so a column of
//! figures reads at a glance; the JSON report keeps the exact integers.

const COUNT_UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
const BYTE_UNITS: [&str; 7] = [" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"];

/// `61.0M`, `724M`, `1.45G`; below 1000 the exact count.
pub fn count(n: u64) -> String {
    scaled(n, 1000.0, &COUNT_UNITS)
}

/// `2.36 MiB`, `618 KiB`; below 1024 the exact bytes (`512 B`).
pub fn bytes(n: u64) -> String {
    scaled(n, 1024.0, &BYTE_UNITS)
}

/// A signed difference: `+1.20M`, `-512 KiB`, `0`.
pub fn delta(d: i128, fmt: fn(u64) -> String) -> String {
    let magnitude = u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX);
    match d.signum() {
        1 => format!("+{}", fmt(magnitude)),
        -1 => format!("-{}", fmt(magnitude)),
        _ => "0".to_string(),
    }
}

fn scaled(n: u64, base: f64, units: &[&str]) -> String {
    let mut value = n as f64;
    let mut unit = 0;
    while unit + 1 < units.len() && value >= base {
        value /= base;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n}{}", units[0]);
    }
    let (mut text, rounded) = three_digits(value);
    // 999.7K rounds to "1000K": say 1.00M instead.
    if rounded >= base && unit + 1 < units.len() {
        unit += 1;
        text = three_digits(rounded / base).0;
    }
    format!("{text}{}", units[unit])
}

/// The value with three significant digits (it is at least 1), and that rounded value.
fn three_digits(v: f64) -> (String, f64) {
    let decimals = if v < 9.995 {
        2
    } else if v < 99.95 {
        1
    } else {
        0
    };
    let text = format!("{v:.decimals$}");
    let rounded = text.parse().unwrap_or(v);
    (text, rounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1.00K");
        assert_eq!(count(34_944), "34.9K");
        assert_eq!(count(60_965_224), "61.0M");
        assert_eq!(count(724_406_816), "724M");
        assert_eq!(count(999_700), "1.00M");
        assert_eq!(count(1_448_813_632), "1.45G");
        assert_eq!(count(u64::MAX), "18.4E");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(618_348), "604 KiB");
        assert_eq!(bytes(1_048_000), "1023 KiB");
        assert_eq!(bytes(1_048_570), "1.00 MiB");
        assert_eq!(bytes(11 << 30), "11.0 GiB");
    }

    #[test]
    fn deltas() {
        assert_eq!(delta(0, count), "0");
        assert_eq!(delta(1_200_000, count), "+1.20M");
        assert_eq!(delta(-524_288, bytes), "-512 KiB");
    }
}

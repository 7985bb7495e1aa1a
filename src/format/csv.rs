//! `--format csv`: one row per layer (or group) with exact integers, for spreadsheets. The
//! columns are a stable interface: new ones are only ever added at the end.

use super::group::{Kind, Row};
use super::shape;
use crate::error::{Error, Result};

/// The header, in order. Lists (bottoms, tops, shapes) are `;`-separated.
pub const COLUMNS: [&str; 14] = [
    "name",
    "type",
    "layers",
    "in_place",
    "inserted",
    "line",
    "bottoms",
    "tops",
    "output_shapes",
    "params",
    "macs",
    "flops",
    "backward_macs",
    "activation_bytes",
];

pub fn render(rows: &[Row]) -> Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let fail = |e: ::csv::Error| Error::usage(format!("cannot write the CSV: {e}"));
    w.write_record(COLUMNS).map_err(fail)?;
    for r in rows {
        let shapes: Vec<String> = r.output_shapes.iter().map(shape).collect();
        w.write_record([
            r.name.clone(),
            r.ty.clone(),
            r.layers.to_string(),
            (r.kind == Kind::InPlace).to_string(),
            (r.kind == Kind::Inserted).to_string(),
            r.line.to_string(),
            r.bottoms.join(";"),
            r.tops.join(";"),
            shapes.join(";"),
            r.params.to_string(),
            r.macs.to_string(),
            r.flops.to_string(),
            r.backward_macs.to_string(),
            r.activation_bytes.to_string(),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::usage(format!("cannot write the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::usage(format!("cannot write the CSV: {e}")))
}

//! Build step: read `proto/caffe.proto` without a `protoc` binary (protobuf-parse's pure-Rust
//! parser), generate the prost types, and write a compact descriptor table that the text-format
//! reader uses to map field names to numbers and wire types. Doing the descriptor work here keeps
//! it out of start-up.

use std::fmt::Write as _;
use std::path::PathBuf;

use prost::Message as _;
use protobuf::Message as _;

#[path = "src/textformat/hash.rs"]
mod hash;

fn main() {
    let proto = "proto/caffe.proto";
    println!("cargo:rerun-if-changed={proto}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/textformat/hash.rs");

    let parsed = protobuf_parse::Parser::new()
        .pure()
        .include("proto")
        .input(proto)
        .file_descriptor_set()
        .expect("proto/caffe.proto does not parse");
    // protobuf-parse speaks rust-protobuf's types; prost-build wants prost-types: go via bytes.
    let bytes = parsed.write_to_bytes().expect("serialise descriptor set");
    let fds = prost_types::FileDescriptorSet::decode(bytes.as_slice()).expect("descriptor set");

    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // A LayerParameter has some sixty optional sub-messages; inline they make it over 5 KiB,
    // so a 100k-layer net would take half a gigabyte before any work. Boxed, each unset one
    // costs a pointer.
    let mut config = prost_build::Config::new();
    for m in fds.file.iter().flat_map(|f| &f.message_type) {
        if !matches!(m.name(), "LayerParameter" | "V1LayerParameter") {
            continue;
        }
        for f in &m.field {
            let singular = f.label() != prost_types::field_descriptor_proto::Label::Repeated;
            if singular && f.r#type() == prost_types::field_descriptor_proto::Type::Message {
                config.boxed(format!(".caffe.{}.{}", m.name(), f.name()));
            }
        }
    }
    config.compile_fds(fds.clone()).expect("prost-build failed");
    std::fs::write(out.join("descriptor.rs"), descriptor_table(&fds)).unwrap();
}

/// Field kinds as the text reader needs them: how to read the value and how to encode it.
fn kind_of(t: i32) -> &'static str {
    use prost_types::field_descriptor_proto::Type;
    match Type::try_from(t).expect("field type") {
        Type::Double => "Kind::Double",
        Type::Float => "Kind::Float",
        Type::Int64 => "Kind::Int64",
        Type::Uint64 => "Kind::Uint64",
        Type::Int32 => "Kind::Int32",
        Type::Uint32 => "Kind::Uint32",
        Type::Bool => "Kind::Bool",
        Type::String => "Kind::String",
        Type::Bytes => "Kind::Bytes",
        Type::Message => "Kind::Message",
        Type::Enum => "Kind::Enum",
        other => panic!("caffe.proto uses an unsupported field type {other:?}"),
    }
}

/// Open-addressing table of a message's fields (indices into its sorted list, `u16::MAX` for an
/// empty slot), probed linearly from `name_hash & (len - 1)`: a field name costs the reader one
/// hash and usually one comparison, where a binary search over LayerParameter's hundred-odd
/// fields costs seven.
fn slots(fields: &[&prost_types::FieldDescriptorProto]) -> Vec<u16> {
    let len = (fields.len() * 2).max(1).next_power_of_two();
    let mut slots = vec![u16::MAX; len];
    for (i, f) in fields.iter().enumerate() {
        let mut at = hash::name_hash(f.name().as_bytes()) as usize & (len - 1);
        while slots[at] != u16::MAX {
            at = (at + 1) & (len - 1);
        }
        slots[at] = u16::try_from(i).expect("fewer than 65535 fields");
    }
    slots
}

/// Emits `MESSAGES` and `ENUMS`: every message and enum of the file (nested ones flattened,
/// addressed by index), fields sorted by name, with a hash table over them.
fn descriptor_table(fds: &prost_types::FileDescriptorSet) -> String {
    let mut msgs: Vec<(String, &prost_types::DescriptorProto)> = Vec::new();
    let mut enums: Vec<(String, &prost_types::EnumDescriptorProto)> = Vec::new();
    fn walk<'a>(
        prefix: &str,
        m: &'a prost_types::DescriptorProto,
        msgs: &mut Vec<(String, &'a prost_types::DescriptorProto)>,
        enums: &mut Vec<(String, &'a prost_types::EnumDescriptorProto)>,
    ) {
        let full = format!("{prefix}.{}", m.name());
        for e in &m.enum_type {
            enums.push((format!("{full}.{}", e.name()), e));
        }
        for n in &m.nested_type {
            walk(&full, n, msgs, enums);
        }
        msgs.push((full, m));
    }
    for f in &fds.file {
        let pkg = format!(".{}", f.package());
        for e in &f.enum_type {
            enums.push((format!("{pkg}.{}", e.name()), e));
        }
        for m in &f.message_type {
            walk(&pkg, m, &mut msgs, &mut enums);
        }
    }
    let msg_index = |name: &str| msgs.iter().position(|(n, _)| n == name);
    let enum_index = |name: &str| enums.iter().position(|(n, _)| n == name);

    let mut s = String::new();
    s.push_str("// Generated by build.rs from proto/caffe.proto. Do not edit.\n");
    writeln!(s, "pub static MESSAGES: &[MessageDesc] = &[").unwrap();
    for (name, m) in &msgs {
        let mut fields: Vec<_> = m.field.iter().collect();
        fields.sort_by(|a, b| a.name().cmp(b.name()));
        writeln!(
            s,
            "  MessageDesc {{ name: {:?}, fields: &[",
            name.trim_start_matches('.')
        )
        .unwrap();
        for f in &fields {
            let target = match f.r#type() {
                prost_types::field_descriptor_proto::Type::Message => {
                    msg_index(f.type_name()).expect("message type") as u32
                }
                prost_types::field_descriptor_proto::Type::Enum => {
                    enum_index(f.type_name()).expect("enum type") as u32
                }
                _ => 0,
            };
            let repeated = f.label() == prost_types::field_descriptor_proto::Label::Repeated;
            writeln!(
                s,
                "    FieldDesc {{ name: {:?}, number: {}, kind: {}, repeated: {}, target: {} }},",
                f.name(),
                f.number(),
                kind_of(f.r#type() as i32),
                repeated,
                target
            )
            .unwrap();
        }
        let slots: Vec<String> = slots(&fields).iter().map(u16::to_string).collect();
        writeln!(s, "  ], slots: &[{}] }},", slots.join(", ")).unwrap();
    }
    writeln!(s, "];").unwrap();
    writeln!(s, "pub static ENUMS: &[EnumDesc] = &[").unwrap();
    for (name, e) in &enums {
        let mut values: Vec<_> = e.value.iter().collect();
        values.sort_by(|a, b| a.name().cmp(b.name()));
        let vals: Vec<String> = values
            .iter()
            .map(|v| format!("({:?}, {})", v.name(), v.number()))
            .collect();
        writeln!(
            s,
            "  EnumDesc {{ name: {:?}, values: &[{}] }},",
            name.trim_start_matches('.'),
            vals.join(", ")
        )
        .unwrap();
    }
    writeln!(s, "];").unwrap();
    for (name, _) in &msgs {
        let ident: String = name
            .trim_start_matches(".caffe.")
            .replace('.', "_")
            .to_uppercase();
        writeln!(
            s,
            "pub const MSG_{ident}: usize = {};",
            msg_index(name).unwrap()
        )
        .unwrap();
    }
    s
}

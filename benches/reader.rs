//! The text reader: protobuf text to wire format (`textformat::parse`), and on to Caffe's
//! `NetParameter` (`load::load_bytes`: the same plus prost's decoding and the net/solver
//! checks). Texts over 1 MiB are read on two threads, so the larger nets' times depend on a
//! second core being free. `cargo bench --bench reader [-- FILTER]`;
//! scripts/bench.sh times the whole process.

mod common;

use caffe_mem::load::{self, ReadOptions};
use caffe_mem::textformat::{self, MSG_NETPARAMETER};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn reader(c: &mut Criterion) {
    for net in common::nets() {
        let mut group = c.benchmark_group(format!("reader/{}", net.name));
        group.sample_size(common::sample_size(&net));
        group.throughput(Throughput::Bytes(net.text.len() as u64));
        group.bench_function("text", |b| {
            b.iter(|| textformat::parse(&net.text, MSG_NETPARAMETER).expect("parses"))
        });
        group.bench_function("load", |b| {
            b.iter(|| {
                load::load_bytes(
                    net.name.clone(),
                    &net.text,
                    ReadOptions::default(),
                    &mut Vec::new(),
                )
                .expect("loads")
            })
        });
        group.finish();
    }
}

criterion_group!(benches, reader);
criterion_main!(benches);

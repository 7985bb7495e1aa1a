//! After reading: building the net (upgrade, phase filter, Split insertion), the walk that
//! infers shapes and costs, the net one sample larger found beside it, the whole analysis
//! (both walks and the memory models), and the report with its JSON.
//! `cargo bench --bench walker [-- FILTER]`.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use caffe_mem::analysis::{self, WalkOptions};
use caffe_mem::filter::{self, State};
use caffe_mem::graph;
use caffe_mem::layers::{Ctx, Phase, PoolingRule};
use caffe_mem::load::{self, ReadOptions};
use caffe_mem::numbering;
use caffe_mem::pipeline::{self, Options};
use caffe_mem::proto::LayerParameter;
use caffe_mem::rebatch;
use caffe_mem::upgrade;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn walker(c: &mut Criterion) {
    let given = HashMap::new();
    let walk = WalkOptions {
        ctx: Ctx {
            phase: Phase::Test,
            given: &given,
            pooling: PoolingRule::Caffe,
        },
        batch: None,
        strict: false,
        force_backward: false,
    };
    let state = State {
        phase: Phase::Test,
        stages: Vec::new(),
        level: 0,
    };
    let opts = Options::default();
    for net in common::nets() {
        let file = net.name.clone();
        let loaded = load::load_bytes(
            file.clone(),
            &net.text,
            ReadOptions::default(),
            &mut Vec::new(),
        )
        .expect("loads");
        let build = |(mut n, layers): (caffe_mem::proto::NetParameter, _)| {
            let u = upgrade::upgrade(&file, &mut n, layers, &loaded.root_fields)?;
            let (layers, positions) = filter::filter(&file, u.layers, u.positions, &state)?;
            graph::insert_splits(&file, layers, positions)
        };
        let nodes = build((loaded.net.clone(), loaded.layers.clone())).expect("builds");

        let mut group = c.benchmark_group(format!("walker/{}", net.name));
        group.sample_size(common::sample_size(&net));
        group.throughput(Throughput::Elements(nodes.len() as u64));
        group.bench_function("build", |b| {
            b.iter_batched(
                // Fresh layers, as the reader makes them: shared ones would be copied when
                // the Split insertion rewires them.
                || {
                    let fresh = loaded
                        .layers
                        .iter()
                        .map(|l| Arc::new(LayerParameter::clone(l)));
                    (loaded.net.clone(), fresh.collect())
                },
                |n| build(n).expect("builds"),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("walk", |b| {
            b.iter(|| analysis::walk(&file, &nodes, &walk, &mut Vec::new()).expect("walks"))
        });
        // The blob ids both walks of a large net read, found once before them.
        group.bench_function("number", |b| b.iter(|| numbering::number(&nodes)));
        // The net one sample larger, found from the nodes (beside the walk, on a large net).
        let numbering = numbering::number(&nodes);
        group.bench_function("ahead", |b| {
            b.iter(|| rebatch::ahead(&file, &nodes, &numbering, &walk).expect("resizes"))
        });
        group.bench_function("analyze", |b| {
            b.iter(|| pipeline::analyze_bytes(&opts, file.clone(), &net.text).expect("analyzes"))
        });
        // The full report, which the tables, the indented JSON and `diff` read.
        group.bench_function("report", |b| {
            b.iter_batched(
                || pipeline::analyze_bytes(&opts, file.clone(), &net.text).expect("analyzes"),
                pipeline::report,
                BatchSize::PerIteration,
            )
        });
        // What the command line does after the walk for the compact JSON: the memory figures
        // computed while the report's front part is written from the walk.
        group.bench_function("memory+json", |b| {
            b.iter_batched(
                || pipeline::walk_bytes(&opts, file.clone(), &net.text).expect("walks"),
                |w| {
                    w.write_compact(&mut std::io::sink()).expect("serializes");
                    w
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, walker);
criterion_main!(benches);

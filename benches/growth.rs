//! Whether the whole analysis (reading, both walks, the memory models, the report) grows
//! linearly with the layers on nets that would show anything worse: a chain, a fan-out (one
//! Split with a top per reader) and parameters shared by name across every layer. Each shape
//! is measured at 2,000 and 20,000 layers: linear is about 10x, quadratic 100x.
//! `cargo bench --bench growth`.

#[path = "common/growth.rs"]
mod nets;

use caffe_mem::pipeline::{self, Options};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nets::Growth;

fn growth(c: &mut Criterion) {
    let opts = Options::default();
    for shape in Growth::ALL {
        let mut group = c.benchmark_group(format!("growth/{}", shape.name()));
        group.sample_size(10);
        for n in [2_000, 20_000] {
            let text = shape.net(n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(n.to_string(), |b| {
                b.iter(|| {
                    let a = pipeline::analyze_bytes(&opts, "growth".into(), text.as_bytes())
                        .expect("analyses");
                    pipeline::report(a)
                })
            });
        }
        group.finish();
    }
}

/// The binary's allocator (src/main.rs), as in the other benchmarks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion_group!(benches, growth);
criterion_main!(benches);

//! P4's native proxy (docs/budgets.md: `on_configure` with the scale bundle ≤ 50 ms per VM):
//! `Engine::load` of the scale bundle, and its two halves — `Bundle::decode` (checksum, parsing)
//! and `Engine::new` (route table, memberships, bucket scopes). The wasm filter runs the same code
//! in a VM, typically a few times slower than native.

mod common;

use std::hint::black_box;
use std::time::Duration;

use acepack_filter::bundle::Bundle;
use acepack_filter::Engine;
use common::prepare_budget_scale;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn benches(c: &mut Criterion) {
    let scale = prepare_budget_scale().expect("the scale catalog is generated and compiles");
    let bytes = scale.bundle;
    eprintln!("acepack-benches: bundle {} bytes", bytes.len());
    let mut group = c.benchmark_group("bundle_load");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("engine_load", |b| {
        b.iter(|| black_box(Engine::load(black_box(&bytes)).is_ok()))
    });
    group.bench_function("bundle_decode", |b| {
        b.iter(|| black_box(Bundle::decode(black_box(&bytes)).is_ok()))
    });
    let decoded = Bundle::decode(&bytes).expect("the scale bundle decodes");
    group.bench_function("engine_new", |b| {
        b.iter_batched(
            || decoded.clone(),
            |d| black_box(Engine::new(d).is_ok()),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(bundle_load, benches);
criterion_main!(bundle_load);

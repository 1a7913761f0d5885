//! P3 (docs/budgets.md): compiling the scale catalog — `load_model` + `bundle::build` + `encode`, in
//! process, as `acepack compile` does (without writing the file). Setup prints the bundle's size
//! per section and a one-off breakdown of `load_model` (reading + JSON parsing, catalog structure,
//! and the rest: specs, validation, hashing).
//!
//! Each iteration takes seconds, so this runs the minimum of 10 samples in flat sampling mode.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{compile, prepare_budget_scale, section_sizes};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

fn benches(c: &mut Criterion) {
    let scale = prepare_budget_scale().expect("the scale catalog is generated and compiles");
    let catalog = scale.catalog.clone();

    // One-off breakdown of the phases.
    let (bytes, times) = compile(&catalog).expect("compiles");
    eprintln!("acepack-benches: P3 one-off: {times} (budget 5 s, 8 MiB = 8388608 bytes)");
    for (name, size) in section_sizes(&bytes) {
        eprintln!("acepack-benches:   {name:<13} {size:>9} bytes");
    }
    let file = catalog.display().to_string();
    let t0 = Instant::now();
    let doc = acepack_compiler::source::load(&catalog, &file).expect("catalog reads");
    let t1 = Instant::now();
    let parsed = acepack_compiler::catalog::parse(&doc, &file).expect("catalog parses");
    let t2 = Instant::now();
    drop(parsed);
    drop(doc);
    eprintln!(
        "acepack-benches: load_model breakdown: read + JSON parse of catalog.json {:.3} s, catalog::parse {:.3} s, the rest (specs, validation, hashing) ≈ {:.3} s",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        times.load_model.saturating_sub(t2 - t0).as_secs_f64()
    );

    let mut group = c.benchmark_group("compile_scale");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    group.bench_function("load_model+build+encode", |b| {
        b.iter(|| black_box(compile(black_box(&catalog)).map(|(bytes, _)| bytes.len())))
    });
    group.finish();
}

criterion_group!(compile_scale, benches);
criterion_main!(compile_scale);

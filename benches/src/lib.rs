//! acepack's benchmarks (docs/budgets.md): the scale catalog generator ([`scale`], binary
//! `gen-scale-catalog`).
//!
//! The criterion benches live in `benches/benches/` and share `benches/benches/common/` (the
//! cached, compiled scale catalog; realistic requests; P5's store measurement); the example
//! `scale-probe` is a driver over the same for profilers. This library depends on nothing of
//! acepack's (see `Cargo.toml`).
//!
//! ```text
//! cargo run --release -p acepack-benches --bin gen-scale-catalog -- OUT_DIR [--scale F] [--seed N]
//! scripts/gen-scale-catalog [OUT_DIR] [--compile]       # also compiles with target/release/acepack
//! CARGO_TARGET_DIR=target/bench cargo bench -p acepack-benches   # P1, P3, native P4, P5; ~3 min
//! CARGO_TARGET_DIR=target/bench-probe cargo run --release -p acepack-benches --example scale-probe -- decide limited 1000000
//! ```
//!
//! Run `cargo bench` in a target directory of its own: it builds acepack-filter (a cdylib + rlib
//! crate, whose files carry no hash) with `panic = "unwind"`, over the `panic = "abort"` copy that
//! `cargo build --release` keeps in the same place, and the next release build of another crate can
//! then fail with E0460. For the same reason the `scale-probe` example (release profile) gets yet
//! another one.

use std::path::{Path, PathBuf};

pub mod rng;
pub mod scale;

pub use scale::{Config, Plan, Probe, Probes, Summary};

/// Where the scale catalog and bundle are cached: `$ACEPACK_SCALE_DIR`, else `target/scale` in
/// the workspace.
pub fn scale_dir() -> PathBuf {
    match std::env::var_os("ACEPACK_SCALE_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().unwrap_or(manifest).join("target").join("scale")
        }
    }
}

//! Test support shared by the integration tests that read third-party documents.
//!
//! The real-world OpenAPI documents and gateway configurations (KongAir, Twilio, Discord, ...) are
//! not part of the repository: they are other people's work with their own licenses. They live in a
//! fixtures folder outside the clone, found by [`fixtures_dir`]; the tests that need them fail with
//! one clear line when it is absent. Core behaviour is covered by the small fixtures in `tests/data`.

#![allow(dead_code)] // each test file uses a different part of this module

use std::path::{Path, PathBuf};

/// The environment variable naming the third-party fixtures folder.
pub const FIXTURES_ENV: &str = "ACEPACK_FIXTURES";

/// The third-party fixtures folder: `$ACEPACK_FIXTURES`, else `../shared/fixtures` beside the
/// repository root.
///
/// # Panics
/// When the folder has no `SOURCES.tsv`, with one line saying how to provide it.
pub fn fixtures_dir() -> PathBuf {
    let dir = match std::env::var_os(FIXTURES_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"),
    };
    if !dir.join("SOURCES.tsv").is_file() {
        panic!(
            "third-party fixtures not found at {}: set {FIXTURES_ENV} to the fixtures folder (the one holding SOURCES.tsv)",
            dir.display()
        );
    }
    dir
}

/// A file inside [`fixtures_dir`].
pub fn fixture(relative: &str) -> PathBuf {
    fixtures_dir().join(relative)
}

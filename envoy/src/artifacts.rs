//! Where the release artifacts of docs/development.md live, and running the CLI.
//!
//! Paths are derived from this crate's `CARGO_MANIFEST_DIR/..` (the repository root). When an
//! artifact is missing the functions panic with a message that names the command producing it:
//! the end-to-end tests must fail, never pass silently, on a machine that has not built them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (`envoy/..`).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` when set (relative to the repository root),
/// else `<repo>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                repo_root().join(d)
            }
        }
        _ => repo_root().join("target"),
    }
}

/// The three artifacts a real-Envoy test needs.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// `target/release/acepack`.
    pub cli: PathBuf,
    /// `target/wasm32-wasip1/release/acepack_filter.wasm`.
    pub wasm: PathBuf,
    /// `.venv/bin/envoy`.
    pub envoy: PathBuf,
}

impl Artifacts {
    /// Locates all three artifacts.
    ///
    /// # Panics
    /// When one is missing, with the command that produces it.
    pub fn locate() -> Artifacts {
        Artifacts {
            cli: cli(),
            wasm: filter_wasm(),
            envoy: envoy_bin(),
        }
    }
}

fn require(path: PathBuf, what: &str, hint: &str) -> PathBuf {
    if path.is_file() {
        path
    } else {
        panic!(
            "{what} not found at {}.\n  Build it first: {hint}\n  (the end-to-end tests run against \
             the release artifacts; `scripts/test` builds everything in order)",
            path.display()
        )
    }
}

/// `target/release/acepack`.
///
/// # Panics
/// When it is missing.
pub fn cli() -> PathBuf {
    require(
        target_dir().join("release").join("acepack"),
        "the acepack CLI",
        "cargo build --release -p acepack-compiler",
    )
}

/// `target/wasm32-wasip1/release/acepack_filter.wasm`.
///
/// # Panics
/// When it is missing.
pub fn filter_wasm() -> PathBuf {
    require(
        target_dir()
            .join("wasm32-wasip1")
            .join("release")
            .join("acepack_filter.wasm"),
        "the acepack filter (acepack_filter.wasm)",
        "cargo build --release -p acepack-filter --target wasm32-wasip1",
    )
}

/// `.venv/bin/envoy`.
///
/// # Panics
/// When it is missing.
pub fn envoy_bin() -> PathBuf {
    require(
        repo_root().join(".venv").join("bin").join("envoy"),
        "Envoy",
        "scripts/setup",
    )
}

/// The folder of the end-to-end test data (`envoy/tests/data`).
pub fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data")
}

/// What one CLI run produced.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `acepack ARGS...` and returns its exit code and output.
///
/// # Panics
/// When the CLI is missing or cannot be started.
pub fn run_cli<I, S>(args: I) -> CliOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let bin = cli();
    let out = Command::new(&bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `acepack compile CATALOG -o OUT`; returns the bundle bytes.
///
/// # Panics
/// When the compile fails (with the CLI's output) or the bundle is not written.
pub fn compile_catalog(catalog: &Path, out: &Path) -> Vec<u8> {
    let o = run_cli([
        std::ffi::OsStr::new("compile"),
        catalog.as_os_str(),
        std::ffi::OsStr::new("-o"),
        out.as_os_str(),
    ]);
    assert_eq!(
        o.code,
        0,
        "acepack compile {} failed (exit {}):\n{}{}",
        catalog.display(),
        o.code,
        o.stdout,
        o.stderr
    );
    std::fs::read(out).unwrap_or_else(|e| panic!("bundle {} not written: {e}", out.display()))
}

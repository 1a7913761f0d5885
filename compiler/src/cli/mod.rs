//! Command-line parsing and dispatch.

use std::ffi::OsString;

/// Runs the CLI and returns the exit status.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let _ = args.into_iter().count();
    2
}

//! `acepack explain BUNDLE METHOD URL [-H ...] [--client-ip IP]`.

use std::path::Path;

use super::Exit;

/// Runs the decision engine on one request.
pub fn run(bundle: &Path, method: &str, url: &str, headers: &[String], client_ip: Option<&str>) -> Exit {
    let _ = (bundle, method, url, headers, client_ip);
    eprintln!("acepack explain: not yet implemented");
    Exit::Usage
}

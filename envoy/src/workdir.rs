//! Per-test scratch folders under `target/acepack-envoy/`, kept after the run so that a failed
//! test's Envoy config, log and bundle can be inspected.

use std::fs;
use std::path::{Path, PathBuf};

use crate::artifacts::target_dir;

/// A scratch folder for one test: `target/acepack-envoy/<name>/`, emptied when created.
#[derive(Debug, Clone)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// Creates (or empties) `target/acepack-envoy/<name>/`.
    ///
    /// # Panics
    /// When the folder cannot be created.
    pub fn new(name: &str) -> WorkDir {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = target_dir().join("acepack-envoy").join(safe);
        if path.exists() {
            let _ = fs::remove_dir_all(&path);
        }
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create work dir {}: {e}", path.display()));
        WorkDir { path }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a file inside the folder and returns its path.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

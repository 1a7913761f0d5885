//! Writing outputs (bundles, reports): only ever a regular file, never one of the command's
//! inputs, and replaced atomically so that a failure leaves the previous file untouched.
//!
//! Refused targets: an existing directory, FIFO, socket, device or symbolic link (replacing a
//! link would silently turn it into a file; name the file it points to instead), and any file
//! that is also an input of the command (the same file, also through a hard link or a symbolic
//! link, is recognised by device and inode). A missing target is created.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::source::file_kind;

/// Why an output cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The target exists and is not a regular file.
    #[error("{}: is {kind}; the output must be a regular file (name a file to write)", path.display())]
    NotRegular {
        /// The output as given.
        path: PathBuf,
        /// "a directory", "a FIFO (named pipe)", ...
        kind: &'static str,
    },
    /// The target is one of the command's inputs.
    #[error("{}: is also an input of this command ({}); write the output to another file", path.display(), input.display())]
    IsInput {
        /// The output as given.
        path: PathBuf,
        /// The input it is the same file as.
        input: PathBuf,
    },
    /// Reading the target's metadata, writing or renaming failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The output as given.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Checks that `path` may be written: missing, or an existing regular file that is none of `inputs`.
pub fn check_target(path: &Path, inputs: &[PathBuf]) -> Result<(), OutputError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(OutputError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if !meta.file_type().is_file() {
        return Err(OutputError::NotRegular {
            path: path.to_path_buf(),
            kind: file_kind(&meta),
        });
    }
    for input in inputs {
        if let Ok(other) = std::fs::metadata(input) {
            if other.dev() == meta.dev() && other.ino() == meta.ino() {
                return Err(OutputError::IsInput {
                    path: path.to_path_buf(),
                    input: input.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a new temporary file in the same folder, synced, then
/// renamed over the target. The target must pass [`check_target`] (without inputs: callers that
/// have inputs check them first). On failure the target is untouched and the temporary file removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    check_target(path, &[]).map_err(|e| match e {
        OutputError::Io { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    // `create_new` never follows or reuses something already at the temporary name.
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.tmp-{}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.bin");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            (link.as_path(), "symbolic link"),
            (fifo.as_path(), "FIFO"),
            (dir.path(), "directory"),
            (Path::new("/dev/null"), "device"),
        ] {
            let err = write_atomic(path, b"new").unwrap_err().to_string();
            assert!(err.contains(kind) && err.contains("must be a regular file"), "{err}");
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    }

    #[test]
    fn refuses_an_input_also_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("catalog.yaml");
        std::fs::write(&input, b"version: 1\n").unwrap();
        let hard = dir.path().join("hard.bin");
        std::fs::hard_link(&input, &hard).unwrap();
        for path in [&input, &hard] {
            let err = check_target(path, std::slice::from_ref(&input)).unwrap_err();
            assert!(matches!(err, OutputError::IsInput { .. }), "{err}");
            assert!(err.to_string().contains("also an input"), "{err}");
        }
        assert!(check_target(&dir.path().join("new.bin"), std::slice::from_ref(&input)).is_ok());
    }

    #[test]
    fn replaces_a_regular_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("out.bin")]);
    }
}

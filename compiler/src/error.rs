//! The compiler's error types, in one place: why a file could not be read or parsed
//! ([`SourceError`]) and why a catalog could not become a model ([`LoadError`]). Every stage
//! (catalog, OpenAPI, validation, route mapping) returns these; the CLI renders them once.

use std::path::PathBuf;

use crate::diag::Diagnostic;

/// Why a file could not be turned into a document.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file is missing, unreadable, not a regular file or too large (exit status 2 at the CLI).
    #[error("{path}: {message}")]
    Io {
        /// The path as given.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file was read but is not valid YAML/JSON (exit status 1 at the CLI).
    #[error("{0}")]
    Syntax(Diagnostic),
}

/// Why a catalog (or one of the files it names) could not become a model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read (exit status 2).
    #[error("{0}")]
    Io(SourceError),
    /// The catalog, a spec or the gateway file is invalid (exit status 1). Never empty.
    #[error("{} error(s)", .0.len())]
    Invalid(Vec<Diagnostic>),
}

impl From<SourceError> for LoadError {
    /// A syntax error is an invalid input (one diagnostic); anything else is I/O.
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Syntax(d) => LoadError::Invalid(vec![d]),
            io @ SourceError::Io { .. } => LoadError::Io(io),
        }
    }
}

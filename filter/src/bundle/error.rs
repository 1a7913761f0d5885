//! Why bytes are not a bundle, and why a bundle cannot be written.

use super::format::MAJOR;

/// Why bytes are not a usable bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// Shorter than a header, or not starting with the magic bytes.
    NotABundle,
    /// A major version this reader does not understand.
    UnsupportedVersion {
        /// The bundle's major version.
        major: u16,
        /// The bundle's minor version.
        minor: u16,
    },
    /// `body_len` disagrees with the input's length.
    Truncated {
        /// What the header promised.
        expected: usize,
        /// What was there.
        actual: usize,
    },
    /// The body does not match the header's check ([`body_checksum`]).
    Checksum,
    /// A section or field is malformed.
    Malformed {
        /// Which section.
        section: &'static str,
        /// What was wrong.
        what: &'static str,
        /// Byte offset within the section.
        offset: usize,
    },
    /// A required section is absent.
    MissingSection(&'static str),
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::NotABundle => write!(f, "not an acepack bundle (bad magic or shorter than the header)"),
            BundleError::UnsupportedVersion { major, minor } => {
                write!(
                    f,
                    "bundle format {major}.{minor} is not supported (this filter reads {MAJOR}.x)"
                )
            }
            BundleError::Truncated { expected, actual } => {
                write!(
                    f,
                    "bundle is truncated or padded: header says {expected} body bytes, found {actual}"
                )
            }
            BundleError::Checksum => write!(f, "bundle checksum mismatch (corrupted)"),
            BundleError::Malformed { section, what, offset } => {
                write!(f, "bundle section {section} is malformed: {what} at byte {offset}")
            }
            BundleError::MissingSection(s) => write!(f, "bundle has no {s} section"),
        }
    }
}

impl std::error::Error for BundleError {}

/// A bundle that cannot be encoded: a count, index or string exceeds the format's 32-bit fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeError;

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bundle too large: a count or string exceeds 4 GiB")
    }
}

impl std::error::Error for EncodeError {}

impl From<crate::bytes::TooLarge> for EncodeError {
    fn from(_: crate::bytes::TooLarge) -> Self {
        EncodeError
    }
}

//! Live updates through file-based ECDS (docs/envoy.md, "Live updates"): the static
//! `http_filters` entry that takes the acepack filter's configuration from a resource file
//! (`config_discovery` on a `path_config_source` with a `watched_directory`), the resource itself
//! (a discovery response holding one `TypedExtensionConfig` that wraps the Wasm filter
//! configuration with the bundle), its atomic replacement, and — when Envoy's admin interface is
//! given — the confirmation that Envoy applied it.
//!
//! Envoy picks a new version up when a file is renamed into the watched directory; a file written
//! in place could be read half-written. Rarely, Envoy misses an update renamed in shortly after the
//! previous one, so [`publish`] watches the applied version and renames the resource in again
//! until Envoy reports it, within a bounded wait.

pub mod admin;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::Digest as _;

pub use admin::Admin;

/// The type URL of the Wasm HTTP filter configuration.
pub const WASM_TYPE_URL: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// Errors of writing or confirming an ECDS resource.
#[derive(Debug, thiserror::Error)]
pub enum EcdsError {
    /// The resource name cannot be a file name.
    #[error("ECDS resource name {0:?}: use letters, digits, '.', '_' or '-' (it names the resource file)")]
    BadName(String),
    /// Writing the resource file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--admin` URL is not `http://HOST:PORT`.
    #[error("admin URL {0:?}: expected http://HOST:PORT (Envoy's admin interface)")]
    AdminUrl(String),
    /// The admin interface did not answer as expected.
    #[error("Envoy admin {url}: {detail}")]
    Admin {
        /// The URL asked.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// Envoy refused the new configuration (its `config_fail` counter grew); the previous resource
    /// file was put back.
    #[error(
        "Envoy rejected version {version} of ECDS resource {name:?} (its extension_config_discovery update_rejected/config_fail grew; see Envoy's log for the filter's reason); the previous resource file was restored and the previous bundle keeps serving"
    )]
    Rejected {
        /// The resource name.
        name: String,
        /// The refused version.
        version: String,
    },
    /// Envoy did not report the new version within the wait.
    #[error(
        "Envoy did not apply version {version} of ECDS resource {name:?} within {waited:?} (renamed into place {writes} time(s)); it reports {applied}. Check that Envoy watches {dir} and that the filter entry names {name:?}"
    )]
    NotApplied {
        /// The resource name.
        name: String,
        /// The version written.
        version: String,
        /// The version Envoy reports, if any.
        applied: String,
        /// How long we waited.
        waited: Duration,
        /// How many times the file was renamed into place.
        writes: u32,
        /// The watched directory.
        dir: String,
    },
}

/// One version of the resource file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `version_info`: a digest of the filter configuration, so identical content has one version.
    pub version: String,
    /// The file's content (JSON).
    pub text: String,
}

/// Checks that `name` is usable as the resource (and file) name.
pub fn check_name(name: &str) -> Result<(), EcdsError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(EcdsError::BadName(name.to_owned()))
    }
}

/// The resource file of `name` in `dir`: `DIR/NAME.json`.
pub fn resource_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// The static `http_filters` list item (not indented) that takes filter `name` from
/// `DIR/NAME.json`. Without `default_config` the listener waits for the first valid resource.
pub fn filter_entry_yaml(dir: &Path, name: &str) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        r#"- name: {name}
  config_discovery:
    config_source:
      resource_api_version: V3
      path_config_source:
        path: {path}
        watched_directory:
          path: {dir}
    type_urls:
    - {WASM_TYPE_URL}
"#,
        name = q(name),
        path = q(&resource_path(dir, name).display().to_string()),
        dir = q(&dir.display().to_string()),
    )
}

/// The resource holding `typed_config` (a Wasm filter configuration, see
/// [`crate::envoy_filter::wasm_config`]) under `name`.
pub fn resource(name: &str, typed_config: &serde_json::Value) -> Resource {
    let config = typed_config.to_string();
    let digest = sha2::Sha256::digest(format!("{name}\n{config}").as_bytes());
    let version: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let text = json!({
        "version_info": version,
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": name,
            "typed_config": typed_config,
        }]
    })
    .to_string();
    Resource { version, text }
}

/// Writes `bytes` to `path` atomically ([`crate::output::write_atomic`]: a temporary file in the
/// same directory, synced, then renamed over `path` — the move Envoy's directory watch reacts to).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EcdsError> {
    crate::output::write_atomic(path, bytes).map_err(|source| EcdsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// How [`publish`] confirms.
#[derive(Debug, Clone)]
pub struct Confirm<'a> {
    /// Envoy's admin interface.
    pub admin: &'a Admin,
    /// The longest wait for Envoy to report the new version.
    pub wait: Duration,
    /// Rename the resource in again when Envoy has not applied it after this long.
    pub retry_every: Duration,
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The version written.
    pub version: String,
    /// Whether Envoy confirmed it (`false`: no admin interface was given).
    pub confirmed: bool,
    /// How many times the file was renamed into place (1 unless Envoy missed an update).
    pub writes: u32,
    /// From the first rename to the confirmation.
    pub elapsed: Duration,
}

/// Writes `resource` as `DIR/NAME.json` and, with `confirm`, waits until Envoy reports its
/// version, renaming it in again every `retry_every`. If Envoy rejects it, the previous file (if
/// any) is put back, so a restarted Envoy still starts with the bundle that serves now.
pub fn publish(
    dir: &Path,
    name: &str,
    resource: &Resource,
    confirm: Option<&Confirm<'_>>,
) -> Result<Published, EcdsError> {
    check_name(name)?;
    let path = resource_path(dir, name);
    let Some(c) = confirm else {
        write_atomic(&path, resource.text.as_bytes())?;
        return Ok(Published {
            version: resource.version.clone(),
            confirmed: false,
            writes: 1,
            elapsed: Duration::ZERO,
        });
    };
    let previous = std::fs::read(&path).ok();
    let before = c.admin.ecds_stats(name)?;
    let started = Instant::now();
    write_atomic(&path, resource.text.as_bytes())?;
    let mut writes = 1;
    let mut written = Instant::now();
    loop {
        let now = c.admin.ecds_stats(name)?;
        if now.refused > before.refused {
            if let Some(prev) = &previous {
                write_atomic(&path, prev)?;
            }
            return Err(EcdsError::Rejected {
                name: name.to_owned(),
                version: resource.version.clone(),
            });
        }
        let ours = now.version.as_deref() == Some(resource.version.as_str());
        // Already serving this very content, or an update applied since the write that left our
        // version in place (a version seen without a grown success count can still be refused).
        if ours && (now.applied > before.applied || before.version == now.version) {
            return Ok(Published {
                version: resource.version.clone(),
                confirmed: true,
                writes,
                elapsed: started.elapsed(),
            });
        }
        let applied = now.version;
        if started.elapsed() >= c.wait {
            return Err(EcdsError::NotApplied {
                name: name.to_owned(),
                version: resource.version.clone(),
                applied: applied.map_or_else(|| "no version".to_owned(), |v| format!("version {v}")),
                waited: c.wait,
                writes,
                dir: dir.display().to_string(),
            });
        }
        if written.elapsed() >= c.retry_every {
            write_atomic(&path, resource.text.as_bytes())?;
            writes += 1;
            written = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

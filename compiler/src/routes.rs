//! Mapping operations onto a gateway's routes (§3.3): Envoy bootstrap / Listener / RouteConfiguration
//! or a Kong declarative file. Read-only: the gateway configuration is never modified.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::model::{Api, Mapping, Operation};
use crate::validate::LoadError;

/// Which kind of gateway file the catalog names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayKind {
    /// `gateway.envoy`.
    Envoy,
    /// `gateway.kong`.
    Kong,
}

/// Maps every operation to the first route that would serve a request for it.
pub fn map_routes(
    kind: GatewayKind,
    path: &Path,
    display: &str,
    apis: &[Api],
    operations: &[Operation],
) -> Result<Mapping, LoadError> {
    let _ = (kind, path, apis, operations);
    Err(LoadError::Invalid(vec![Diagnostic::error(display, "", "not yet implemented")]))
}

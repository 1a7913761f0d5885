//! The host side of [`crate::claims`]: claims `jwt_authn` verified, read one at a time from the
//! request's dynamic metadata through the proxy-wasm property
//! `metadata.filter_metadata["envoy.filters.http.jwt_authn"][key][claim]` (docs/oidc.md).
//!
//! Read lazily: a bundle without an `openid_connect` strategy never calls the host here.

use crate::claims::{Claims, JWT_AUTHN_NAMESPACE};

use super::abi;

/// The current request's verified claims.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostClaims;

impl Claims for HostClaims {
    fn claim(&self, metadata_key: &str, name: &str) -> Option<Vec<u8>> {
        let path = ["metadata", "filter_metadata", JWT_AUTHN_NAMESPACE, metadata_key, name];
        // A host error reads as "no verified claim": the request then has no identity from this
        // strategy, which can only deny (401/403), never admit.
        abi::property(&path)
            .ok()
            .flatten()
            .map(|b| b.to_vec())
            // Envoy answers a missing map key with success and no bytes.
            .filter(|v| !v.is_empty())
    }

    fn route_cluster(&self) -> Option<String> {
        // Measured in Envoy 1.40: `xds.cluster_name` is the selected route's cluster (the legacy
        // top-level `cluster_name` is not found).
        let raw = abi::property(&["xds", "cluster_name"]).ok().flatten()?;
        String::from_utf8(raw.to_vec()).ok().filter(|c| !c.is_empty())
    }
}

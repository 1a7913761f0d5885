//! acepack's compiler: turns a catalog (docs/catalog.md) and the OpenAPI documents it names into
//! a validated [`Model`], maps it onto gateway routes, and writes the binary bundle the filter loads.
//!
//! Data flows one way: [`catalog`] (raw file) → [`openapi`] (operations) → [`validate`] (the
//! [`Model`]) → [`routes`] (gateway mapping) → [`bundle`] (bytes).
#![deny(missing_docs)]

pub mod bundle;
pub mod catalog;
pub mod diag;
pub mod ecds;
pub mod envoy_filter;
pub mod model;
pub mod openapi;
pub mod routes;
pub mod source;
pub mod template;
pub mod validate;

pub use diag::{Diagnostic, Severity};
pub use model::Model;
pub use validate::{load_model, LoadError};

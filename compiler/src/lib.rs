//! acepack's compiler: turns a catalog (docs/catalog.md) and the OpenAPI documents it names into
//! a validated [`Model`], maps it onto gateway routes, and writes the binary bundle the filter loads.
//!
//! Data flows one way, and [`validate::load_model`] is where it is driven:
//! [`source`] (read a file) → [`catalog`] (the raw catalog) → [`validate`], which loads each API's
//! spec through [`openapi`] and maps the operations onto the gateway's routes through [`routes`],
//! giving the [`Model`] → [`bundle`] (bytes, checked by the filter's own engine before they are
//! written). Every stage reports with the types of [`error`]; the CLI renders them once.
#![deny(missing_docs)]

pub mod bundle;
pub mod catalog;
pub mod diag;
pub mod ecds;
pub mod envoy_filter;
pub mod envoy_jwt;
pub mod error;
pub mod limits;
pub mod model;
pub mod openapi;
pub mod output;
pub mod portal;
pub mod routes;
pub mod source;
pub mod spec;
pub mod template;
pub mod validate;

pub use diag::{Diagnostic, Severity};
pub use error::LoadError;
pub use model::Model;
pub use validate::load_model;

//! acepack's filter: the bundle reader and the host-agnostic decision engine, plus a thin
//! proxy-wasm glue module compiled only for wasm32-wasip1.
//!
//! Data flows one way: [`bundle`] (bytes → [`bundle::Bundle`]) → [`engine`] (with [`matcher`],
//! [`canonical`], [`limiter`]) → [`engine::Decision`] → [`headers`] / the host. Leaves used along
//! the way: [`bytes`] (all byte-level reading and writing) and [`decimal`] (number formatting).
//!
//! The `testkit` cargo feature adds `fixture`, the behaviour table every layer is tested against;
//! it is test support and never part of the filter.
#![deny(missing_docs)]

pub mod bundle;
pub mod bytes;
pub mod canonical;
pub mod claims;
pub mod decimal;
pub mod engine;
pub mod explain;
#[cfg(any(test, feature = "testkit"))]
pub mod fixture;
pub mod headers;
pub mod limiter;
pub mod matcher;
pub mod plugin_config;
pub mod rls;

pub use engine::{Decision, Engine, Request};

// Not for wasm32-unknown-unknown: there the crate is the portal's in-browser engine (browser/),
// which must not export the proxy-wasm ABI nor import its host functions.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod proxy;

#[cfg(any(test, all(target_arch = "wasm32", target_os = "wasi")))]
mod pending;

//! acepack's filter: the bundle reader and the host-agnostic decision engine, plus a thin
//! proxy-wasm glue module compiled only for wasm32.
//!
//! Data flows one way: [`bundle`] (bytes → [`bundle::Bundle`]) → [`engine`] (with [`matcher`],
//! [`canonical`], [`limiter`]) → [`engine::Decision`] → [`headers`] / the host.
#![deny(missing_docs)]

pub mod bundle;
pub mod bytes;
pub mod canonical;
pub mod decimal;
pub mod engine;
#[cfg(any(test, feature = "testkit"))]
pub mod fixture;
pub mod headers;
pub mod limiter;
pub mod matcher;
pub mod rls;

pub use engine::{Decision, Engine, Request};

#[cfg(target_arch = "wasm32")]
mod proxy;

//! acepack's filter: the bundle reader and the host-agnostic decision engine, plus a thin
//! proxy-wasm glue module compiled only for wasm32.
#![deny(missing_docs)]

pub mod bundle;
pub mod bytes;
pub mod canonical;
pub mod limiter;
pub mod matcher;

//! Harness for running acepack inside a real Envoy.
//!
//! The end-to-end tests in `envoy/tests/` use it to:
//!
//! - locate the release artifacts of docs/development.md ([`artifacts`]): `target/release/acepack`,
//!   `target/wasm32-wasip1/release/acepack_filter.wasm` and `.venv/bin/envoy` — a missing
//!   artifact is a test failure whose message names the command that builds it;
//! - compile a catalog with the real CLI ([`artifacts::compile_catalog`]);
//! - run an upstream that echoes the request it received as JSON ([`upstream::EchoUpstream`]);
//! - generate an Envoy bootstrap with the acepack wasm filter ([`config::Bootstrap`]) and run
//!   Envoy with it ([`envoy::Envoy`]): loopback only, `--concurrency 2`, readiness through the
//!   admin `/ready` endpoint, killed on drop;
//! - send raw HTTP/1.1 requests, optionally from a chosen 127.0.0.x source address, so that hostile
//!   paths (`//`, `%2F`, `\`) reach Envoy byte for byte ([`http`]).
//!
//! [`scenario::Scenario`] ties these together for the common case: one catalog, one Envoy, one
//! echo upstream.

pub mod artifacts;
pub mod config;
pub mod envoy;
pub mod expect;
pub mod http;
pub mod jwt;
pub mod live;
pub mod rls;
pub mod scenario;
pub mod upstream;
pub mod workdir;

pub use artifacts::Artifacts;
pub use config::Bootstrap;
pub use envoy::Envoy;
pub use http::{Request, Response};
pub use scenario::Scenario;
pub use upstream::{EchoUpstream, Echoed};
pub use workdir::WorkDir;

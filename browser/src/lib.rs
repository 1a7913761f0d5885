//! acepack's "try it" engine for the developer portal (docs/portal.md): the filter's bundle reader
//! and decision engine ([`acepack_filter::Engine`], the code that runs in Envoy), built for
//! `wasm32-unknown-unknown` with wasm-bindgen.
//!
//! The page hands over the bundle bytes once ([`Explainer::new`]), then one request at a time
//! ([`Explainer::explain`]); the answer is a JSON string (see [`explain::explain`]). A bundle holds
//! SHA-256 digests of keys, never the keys, so nothing secret reaches the page.
#![deny(missing_docs)]

pub mod explain;

use acepack_filter::Engine;
use wasm_bindgen::prelude::*;

/// A loaded bundle, ready to decide requests.
#[wasm_bindgen]
pub struct Explainer {
    engine: Engine,
}

#[wasm_bindgen]
impl Explainer {
    /// Loads a bundle (the bytes `acepack compile` writes); an invalid bundle is an error.
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8]) -> Result<Explainer, JsError> {
        Engine::load(bundle)
            .map(|engine| Explainer { engine })
            .map_err(|e| JsError::new(&format!("the bundle cannot be loaded: {e}")))
    }

    /// Decides one request: `headers` holds `Name: value` lines, `now_ms` is the clock
    /// (`Date.now()`). Returns the decision as JSON text.
    pub fn explain(&self, method: &str, url: &str, headers: &str, now_ms: f64) -> Result<String, JsError> {
        let pairs = explain::parse_headers(headers).map_err(|e| JsError::new(&e.0))?;
        // As sent: methods are case-sensitive, and `get` for a GET operation is refused like in Envoy.
        let method = method.trim();
        let now_us = if now_ms.is_finite() && now_ms > 0.0 {
            (now_ms * 1000.0) as u64
        } else {
            0
        };
        explain::explain(&self.engine, method, url.trim(), &pairs, now_us)
            .map(|v| v.to_string())
            .map_err(|e| JsError::new(&e.0))
    }
}

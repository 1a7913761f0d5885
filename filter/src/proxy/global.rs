//! The global rate-limit modes in the host (docs/global-rate-limits.md): a request the engine
//! admitted and charged to a bucket is paused while the rate limit service named in the bundle
//! (`envoy.service.ratelimit.v3`, on an Envoy cluster) decides; its answer resumes the request or
//! denies it with 429, and no answer in time (the call fails, times out, or cannot be made) applies
//! the configured failure mode: 503 `limiter_unavailable`, or admit.
//!
//! Only streams with a call in flight, or an answer waiting for the response headers, keep state
//! here. Calls end with the service's answer or the call's timeout; an answer for a stream that is
//! gone (reset while its call was in flight) is dropped; answers waiting for response headers sit
//! in a bounded table ([`Pending`]) that ages out those of streams reset before their response.

use hashbrown::HashMap;
use smallvec::SmallVec;

use super::{abi, allow, deny, with_filter, Metrics, CONTINUE, PAUSE};
use crate::bundle::{GlobalLimits, RateLimitMode};
use crate::engine::{Allow, Deny, Engine, Reason};
use crate::headers::RateLimitState;
use crate::pending::Pending;
use crate::rls::{self, Answer, Code, Figures};

/// A request waiting for the service.
#[derive(Debug, Clone, Copy)]
struct Call {
    context: u32,
    package: u32,
    scope: u32,
    /// The local bucket's state, in `local+global` mode.
    local: Option<RateLimitState>,
}

/// What a decided stream adds to its response.
#[derive(Debug, Clone, Copy)]
enum Headers {
    /// From the local bucket (the service gave no figures, or did not answer).
    Local(RateLimitState),
    /// From the service's figures, with the catalog's policy.
    Service { package: u32, scope: u32, figures: Figures },
}

/// Per-VM state of the global modes.
#[derive(Default)]
pub(super) struct Global {
    /// Calls in flight, by token.
    calls: HashMap<u32, Call>,
    /// Decided streams waiting for their response headers, by context id.
    answered: Pending<Headers>,
}

/// The bundle's global settings, when it is in a global mode.
pub(super) fn settings(engine: &Engine) -> Option<&GlobalLimits> {
    engine
        .bundle()
        .global
        .as_ref()
        .filter(|g| g.mode != RateLimitMode::Local)
}

impl Global {
    /// Asks the service about an admitted, charged request: applies the allow's request headers
    /// now (they are kept if the service admits) and pauses the stream. Returns what
    /// `proxy_on_request_headers` returns.
    pub(super) fn start(
        &mut self,
        engine: &Engine,
        metrics: Option<&Metrics>,
        context_id: u32,
        a: &Allow,
        spoofed: Option<&[(&[u8], &[u8])]>,
    ) -> u32 {
        let (Some(settings), Some(charge)) = (settings(engine), a.charge.as_ref()) else {
            return CONTINUE;
        };
        allow(engine, a, spoofed);
        let call = Call {
            context: context_id,
            package: charge.package,
            scope: charge.scope,
            local: RateLimitState::of(charge),
        };
        let (credential, bucket) = engine.global_descriptor(charge);
        let windows: SmallVec<[String; 2]> = engine
            .scope_limits(charge.scope)
            .iter()
            .map(|l| l.window_seconds.to_string())
            .collect();
        let entries: SmallVec<[[(&str, &str); 3]; 2]> = windows
            .iter()
            .map(|w| {
                [
                    (rls::CREDENTIAL_KEY, credential.as_str()),
                    (rls::BUCKET_KEY, bucket.as_str()),
                    (rls::WINDOW_KEY, w.as_str()),
                ]
            })
            .collect();
        let descriptors: SmallVec<[&[(&str, &str)]; 2]> = entries.iter().map(|e| &e[..]).collect();
        let message = rls::encode_request(&settings.domain, &descriptors, 1);
        let service = rls::encode_grpc_service(&settings.cluster);
        match abi::grpc_call(&service, rls::SERVICE, rls::METHOD, &message, settings.timeout_ms) {
            Ok(token) => {
                if self.calls.insert(token, call).is_none() {
                    if let Some(m) = metrics {
                        abi::increment(m.global_calls, 1);
                    }
                }
                PAUSE
            }
            Err(s) => {
                abi::log(
                    abi::LogLevel::Warn,
                    &format!(
                        "acepack: cannot call the rate limit service on cluster {:?} (host status {})",
                        settings.cluster, s.0
                    ),
                );
                self.unavailable(engine, metrics, settings, &call, false)
            }
        }
    }

    /// The service did not decide: the failure mode. `paused`: the stream waits (resume it)
    /// rather than being in `proxy_on_request_headers` (return `CONTINUE`).
    fn unavailable(
        &mut self,
        engine: &Engine,
        metrics: Option<&Metrics>,
        settings: &GlobalLimits,
        call: &Call,
        paused: bool,
    ) -> u32 {
        if settings.failure_allow {
            self.admit(metrics, call, None, paused)
        } else {
            let d = Deny {
                status: 503,
                reason: Reason::LimiterUnavailable,
                retry_after: None,
                www_authenticate: false,
                operation: None,
                application: None,
                charge: None,
            };
            deny(engine, metrics, &d);
            PAUSE
        }
    }

    fn admit(&mut self, metrics: Option<&Metrics>, call: &Call, figures: Option<Figures>, paused: bool) -> u32 {
        if let Some(m) = metrics {
            abi::increment(m.allowed, 1);
        }
        let headers = match (figures.filter(|f| f.remaining.is_some()), call.local) {
            (None, Some(local)) => Headers::Local(local),
            (figures, _) => Headers::Service {
                package: call.package,
                scope: call.scope,
                figures: figures.unwrap_or_default(),
            },
        };
        self.answered.insert(call.context, headers);
        if paused {
            if let Err(s) = abi::continue_request() {
                abi::log(
                    abi::LogLevel::Error,
                    &format!("acepack: cannot resume a request (host status {})", s.0),
                );
            }
            PAUSE
        } else {
            CONTINUE
        }
    }

    /// The answer (or failure) of call `token`.
    fn finish(&mut self, engine: Option<&Engine>, metrics: Option<&Metrics>, token: u32, answer: Option<Answer>) {
        let Some(call) = self.calls.remove(&token) else {
            // Not a token of ours.
            return;
        };
        if let Some(m) = metrics {
            abi::increment(m.global_calls, -1);
        }
        if abi::set_effective_context(call.context).is_err() {
            // The stream is gone (reset while the service was deciding): nothing to resume.
            return;
        }
        let Some(engine) = engine else {
            let _ = super::fail_closed(Reason::NotConfigured);
            return;
        };
        let Some(settings) = settings(engine) else {
            // A reload switched to local mode while the call was in flight: its local decision stands.
            self.admit(metrics, &call, None, true);
            return;
        };
        match answer {
            Some(a) if a.code == Code::Ok => {
                self.admit(metrics, &call, Some(Figures::of(&a)), true);
            }
            Some(a) => self.over_limit(engine, metrics, &call, &Figures::of(&a)),
            None => {
                self.unavailable(engine, metrics, settings, &call, true);
            }
        }
    }

    /// 429 with `Retry-After` and rate-limit headers from the service's answer.
    fn over_limit(&mut self, engine: &Engine, metrics: Option<&Metrics>, call: &Call, figures: &Figures) {
        if let Some(m) = metrics {
            m.denied(Reason::RateLimited);
        }
        let limits = engine.scope_limits(call.scope);
        // Without a reset from the service, the shortest window is a safe wait.
        let fallback = limits.iter().map(|l| u64::from(l.window_seconds)).min().unwrap_or(1);
        let retry = figures.reset.unwrap_or(fallback).max(1);
        let mut owned: SmallVec<[(&'static str, String); 6]> = SmallVec::new();
        owned.push(("content-type", "application/json".to_owned()));
        owned.push(("retry-after", retry.to_string()));
        emit(engine, call.package, call.scope, figures, |k, v| {
            owned.push((k, v.to_owned()))
        });
        let pairs: SmallVec<[(&str, &str); 6]> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if abi::send_response(429, &pairs, Reason::RateLimited.body().as_bytes()).is_err() {
            abi::log(abi::LogLevel::Error, "acepack: the host refused a local response");
        }
    }

    /// Adds the rate-limit headers of a stream the service decided; `false` if it has none here.
    pub(super) fn response_headers(&mut self, engine: &Engine, context_id: u32, scratch: &mut String) -> bool {
        let Some(headers) = self.answered.remove(context_id) else {
            return false;
        };
        let mut set = |name: &'static str, value: &str| {
            let _ = abi::set_header(abi::Map::ResponseHeaders, name, value);
        };
        match headers {
            Headers::Local(state) => state.emit(engine, scratch, set),
            Headers::Service {
                package,
                scope,
                figures,
            } => emit(engine, package, scope, &figures, &mut set),
        }
        true
    }
}

fn emit(engine: &Engine, package: u32, scope: u32, figures: &Figures, out: impl FnMut(&'static str, &str)) {
    let bundle = engine.bundle();
    let Some(p) = bundle.packages.get(package as usize) else {
        return;
    };
    let catalog_limit = engine.scope_limits(scope).iter().map(|l| l.count).min();
    figures.emit(
        bundle.enforcement.rate_limit_headers,
        &p.id,
        engine.policy(scope),
        catalog_limit,
        out,
    );
}

#[no_mangle]
pub extern "C" fn proxy_on_grpc_receive(_context_id: u32, token: u32, response_size: usize) {
    let answer = match abi::grpc_message(response_size) {
        Ok(bytes) => match rls::decode_response(&bytes) {
            Ok(a) => Some(a),
            Err(e) => {
                abi::log(abi::LogLevel::Debug, &format!("acepack: rate limit service: {e}"));
                None
            }
        },
        Err(_) => None,
    };
    with_filter(|f| f.global.finish(f.engine.as_ref(), f.metrics.as_ref(), token, answer));
}

#[no_mangle]
pub extern "C" fn proxy_on_grpc_close(_context_id: u32, token: u32, status_code: u32) {
    // Debug level: while the service is down every request would log this.
    abi::log(
        abi::LogLevel::Debug,
        &format!("acepack: rate limit service call failed (gRPC status {status_code})"),
    );
    with_filter(|f| f.global.finish(f.engine.as_ref(), f.metrics.as_ref(), token, None));
}

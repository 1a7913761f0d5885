//! A small Envoy rate limit service: `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`
//! over gRPC, answered by the `limitador` library with its Redis counter storage.
//!
//! It exists so acepack's global rate-limit modes (docs/global-rate-limits.md) can be tested and
//! tried with real parts; in production any standard service works (Limitador, envoyproxy/ratelimit).
//! It owns: the limits file (limitador's YAML format, as `acepack limits --for limitador` writes
//! it), the mapping from a `RateLimitRequest` to limitador's evaluation context, and the answer.
//!
//! Mapping (the same as the Limitador server's): the request's `domain` is limitador's namespace;
//! the descriptors are bound, as a list of `{key: value}` maps, to the CEL variable `descriptors`,
//! which limit conditions and variables read (`descriptors[0]["acepack_bucket"] == "gold"`);
//! `hits_addend` (0 means 1) is the number of hits.
//!
//! Accuracy (what the service promises): limitador's Redis storage counts in fixed windows that
//! start at a counter's first hit, and checks the counters before it increments them in a second
//! round trip. Concurrent requests for the same counter can therefore all pass the check: it
//! over-admits by at most the number of requests in flight for that counter at the service, and, as
//! any fixed window does, up to twice the limit across a window boundary.

#![deny(missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    rate_limit::Unit, Code, DescriptorStatus, RateLimit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration;
use limitador::counter::Counter;
use limitador::limit::{Context, Limit, Namespace};
use limitador::storage::redis::AsyncRedisStorage;
use limitador::AsyncRateLimiter;
use tokio::net::TcpListener;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The limits file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The limits file is not a list of limitador limits.
    #[error(
        "{path}: not a list of limitador limits (namespace, max_value, seconds, conditions, variables): {message}"
    )]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Redis cannot be reached or refused the service's scripts.
    #[error("redis {url}: {message}")]
    Redis {
        /// The Redis URL.
        url: String,
        /// What Redis said.
        message: String,
    },
    /// The listen address cannot be bound, or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("grpc server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Parses limitador limits from YAML text (a list of `namespace`, `max_value`, `seconds`,
/// `conditions`, `variables`, optional `name`).
pub fn parse_limits(text: &str, path: &str) -> Result<Vec<Limit>, Error> {
    serde_saphyr::from_str::<Vec<Limit>>(text).map_err(|e| Error::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Reads and parses a limits file.
pub fn load_limits(path: &Path) -> Result<Vec<Limit>, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: shown.clone(),
        source,
    })?;
    parse_limits(&text, &shown)
}

/// How long one Redis connection attempt or command may take.
pub const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// A limiter on Redis, configured with `limits`.
pub async fn redis_limiter(url: &str, limits: Vec<Limit>) -> Result<AsyncRateLimiter, Error> {
    let redis_error = |e: redis::RedisError| Error::Redis {
        url: url.to_owned(),
        message: e.to_string(),
    };
    // Bounded waits: without them a call made while Redis is away can wait forever, and the
    // connection manager may never come back (seen when Redis restarts under load).
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_TIMEOUT)
        .set_response_timeout(REDIS_TIMEOUT)
        .set_number_of_retries(2)
        .set_max_delay(200);
    let client = redis::Client::open(url).map_err(redis_error)?;
    let manager = redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .map_err(redis_error)?;
    let storage = AsyncRedisStorage::new_with_conn_manager(manager)
        .await
        .map_err(redis_error)?;
    let limiter = AsyncRateLimiter::new_with_storage(Box::new(storage));
    for limit in limits {
        limiter.add_limit(limit);
    }
    Ok(limiter)
}

/// The gRPC service: answers `ShouldRateLimit` from a limitador limiter.
pub struct Service {
    limiter: Arc<AsyncRateLimiter>,
}

impl Service {
    /// A service answering from `limiter`.
    pub fn new(limiter: AsyncRateLimiter) -> Service {
        Service {
            limiter: Arc::new(limiter),
        }
    }

    /// Decides one request (what `ShouldRateLimit` answers).
    pub async fn decide(&self, request: &RateLimitRequest) -> Result<RateLimitResponse, tonic::Status> {
        if request.domain.is_empty() {
            return Err(tonic::Status::invalid_argument("domain must not be empty"));
        }
        let namespace = Namespace::from(request.domain.as_str());
        let descriptors: Vec<HashMap<String, String>> = request
            .descriptors
            .iter()
            .map(|d| d.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
            .collect();
        let mut ctx = Context::default();
        ctx.list_binding("descriptors".to_owned(), descriptors);
        let hits = u64::from(request.hits_addend.max(1));
        let mut result = self
            .limiter
            .check_rate_limited_and_update(&namespace, &ctx, hits)
            .await
            .map_err(|e| tonic::Status::unavailable(format!("limiter: {e}")))?;
        let code = if result.limited { Code::OverLimit } else { Code::Ok };
        // `response_header` sorts the counters, most restrictive (least remaining) first.
        let headers = result.response_header();
        let status = result.counters.first().map(|c| descriptor_status(c, code));
        let mut response_headers_to_add: Vec<HeaderValue> = headers
            .into_iter()
            .map(|(key, value)| HeaderValue {
                key: key.to_ascii_lowercase(),
                value,
                ..Default::default()
            })
            .collect();
        response_headers_to_add.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(RateLimitResponse {
            overall_code: code as i32,
            statuses: request
                .descriptors
                .iter()
                .map(|_| {
                    status.clone().unwrap_or(DescriptorStatus {
                        code: code as i32,
                        ..Default::default()
                    })
                })
                .collect(),
            response_headers_to_add,
            ..Default::default()
        })
    }
}

/// The status of the binding counter: its limit (in the largest whole unit that divides its window
/// — the protocol has no arbitrary windows), what remains, and when its window ends.
fn descriptor_status(counter: &Counter, code: Code) -> DescriptorStatus {
    let seconds = counter.window().as_secs();
    let (unit, per) = match seconds {
        s if s > 0 && s % 86_400 == 0 => (Unit::Day, s / 86_400),
        s if s > 0 && s % 3_600 == 0 => (Unit::Hour, s / 3_600),
        s if s > 0 && s % 60 == 0 => (Unit::Minute, s / 60),
        s => (Unit::Second, s.max(1)),
    };
    let max = counter.max_value();
    // requests_per_unit must be per one unit; a window of several units is only approximated.
    let per_unit = if per == 1 { max } else { max.div_ceil(per) };
    let remaining = counter.remaining().unwrap_or(max);
    DescriptorStatus {
        code: code as i32,
        current_limit: Some(RateLimit {
            name: counter.limit().name().unwrap_or_default().to_owned(),
            requests_per_unit: u32::try_from(per_unit).unwrap_or(u32::MAX),
            unit: unit as i32,
        }),
        limit_remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        duration_until_reset: Some(Duration {
            seconds: counter
                .expires_in()
                .map_or(i64::try_from(seconds).unwrap_or(i64::MAX), |d| {
                    // Round up: a client told 0 would retry while the window still holds.
                    i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
                }),
            nanos: 0,
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl RateLimitService for Service {
    async fn should_rate_limit(
        &self,
        request: tonic::Request<RateLimitRequest>,
    ) -> Result<tonic::Response<RateLimitResponse>, tonic::Status> {
        self.decide(request.get_ref()).await.map(tonic::Response::new)
    }
}

/// Binds `addr` (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    Ok(TcpListener::bind(addr).await?)
}

/// Serves `service` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, service: Service) -> Result<(), Error> {
    tonic::transport::Server::builder()
        .add_service(RateLimitServiceServer::new(service))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await?;
    Ok(())
}

//! The service on a real Redis (started by the test on a loopback port): limits in limitador's YAML
//! apply per (credential, bucket) descriptor, several windows at once, concurrent callers stay
//! within the documented bound, a Redis restart makes calls fail and then recover, and the gRPC
//! API answers what `Service::decide` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acepack_envoy::rls::Redis;
use acepack_envoy::WorkDir;
use acepack_ratelimit_service::{parse_limits, redis_limiter, Service};
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::{rate_limit_descriptor::Entry, RateLimitDescriptor};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::Code;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use envoy_types::pb::envoy::service::ratelimit::v3::RateLimitRequest;

const LIMITS: &str = r#"
- namespace: acepack
  max_value: 5
  seconds: 60
  conditions: ["descriptors[0]['acepack_bucket'] == 'gold'"]
  variables: ["descriptors[0]['acepack_credential']"]
- namespace: acepack
  max_value: 3
  seconds: 1
  conditions: ["descriptors[0]['acepack_bucket'] == 'silver'"]
  variables: ["descriptors[0]['acepack_credential']"]
- namespace: acepack
  max_value: 100
  seconds: 3600
  conditions: ["descriptors[0]['acepack_bucket'] == 'silver'"]
  variables: ["descriptors[0]['acepack_credential']"]
- namespace: acepack
  max_value: 50
  seconds: 60
  conditions: ["descriptors[0]['acepack_bucket'] == 'burst'"]
  variables: ["descriptors[0]['acepack_credential']"]
"#;

fn request(credential: &str, bucket: &str) -> RateLimitRequest {
    RateLimitRequest {
        domain: "acepack".into(),
        descriptors: vec![RateLimitDescriptor {
            entries: vec![
                Entry {
                    key: "acepack_credential".into(),
                    value: credential.into(),
                },
                Entry {
                    key: "acepack_bucket".into(),
                    value: bucket.into(),
                },
            ],
            ..Default::default()
        }],
        hits_addend: 1,
    }
}

async fn service(redis: &Redis) -> Service {
    let limits = parse_limits(LIMITS, "limits.yaml").unwrap();
    Service::new(redis_limiter(&redis.url(), limits).await.unwrap())
}

async fn admitted(svc: &Service, credential: &str, bucket: &str, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        let r = svc.decide(&request(credential, bucket)).await.unwrap();
        ok += usize::from(r.overall_code == Code::Ok as i32);
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_apply_per_credential_and_bucket() {
    let dir = WorkDir::new("rls-per-credential");
    let redis = Redis::start(&dir);
    let svc = service(&redis).await;

    assert_eq!(admitted(&svc, "credA", "gold", 8).await, 5);
    assert_eq!(
        admitted(&svc, "credB", "gold", 8).await,
        5,
        "another credential has its own count"
    );
    // A bucket with no limit configured is not limited (and says so with no status).
    let r = svc.decide(&request("credA", "bronze")).await.unwrap();
    assert_eq!(r.overall_code, Code::Ok as i32);

    // The answer carries the binding counter: limit, remaining, reset.
    let r = svc.decide(&request("credC", "gold")).await.unwrap();
    let s = &r.statuses[0];
    assert_eq!(s.current_limit.as_ref().map(|l| l.requests_per_unit), Some(5));
    assert_eq!(s.limit_remaining, 4);
    let reset = s.duration_until_reset.as_ref().unwrap().seconds;
    assert!((1..=60).contains(&reset), "reset {reset}");
    assert!(r
        .response_headers_to_add
        .iter()
        .any(|h| h.key == "x-ratelimit-remaining" && h.value == "4"));

    // Two windows: 3 per second binds first; a second later it admits again.
    assert_eq!(admitted(&svc, "credA", "silver", 5).await, 3);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(admitted(&svc, "credA", "silver", 5).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_over_admit_at_most_the_calls_in_flight() {
    let dir = WorkDir::new("rls-concurrent");
    let redis = Redis::start(&dir);
    let svc = Arc::new(service(&redis).await);
    const WORKERS: usize = 8;
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let svc = svc.clone();
        tasks.push(tokio::spawn(
            async move { admitted(&svc, "credBurst", "burst", 25).await },
        ));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    // 200 requests against 50/minute: limitador checks, then increments, so each of the other
    // workers' calls in flight can slip through once more.
    println!("admitted {total} of 200 against 50/minute with {WORKERS} concurrent callers");
    assert!((50..=50 + WORKERS - 1).contains(&total), "admitted {total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_fails_calls_then_recovers() {
    let dir = WorkDir::new("rls-redis-restart");
    let mut redis = Redis::start(&dir);
    let svc = service(&redis).await;
    assert_eq!(admitted(&svc, "credA", "gold", 2).await, 2);

    redis.stop();
    // Several calls while Redis is away (once, this left the connection manager stuck for good).
    for _ in 0..5 {
        let r = svc.decide(&request("credA", "gold")).await;
        assert_eq!(r.map_err(|s| s.code()).err(), Some(tonic::Code::Unavailable));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    redis.restart();
    // The connection manager reconnects on use; the counts started over with the empty Redis.
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(10);
    let mut ok = 0;
    while ok == 0 {
        assert!(
            Instant::now() < deadline,
            "the service did not recover after Redis restarted"
        );
        let r = svc.decide(&request("credA", "gold")).await;
        if let Ok(r) = r {
            ok = usize::from(r.overall_code == Code::Ok as i32);
            assert_eq!(ok, 1, "the restarted Redis is empty: the first call is admitted");
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(admitted(&svc, "credA", "gold", 10).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_api_answers() {
    let dir = WorkDir::new("rls-grpc");
    let redis = Redis::start(&dir);
    let svc = service(&redis).await;
    let listener = acepack_ratelimit_service::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(acepack_ratelimit_service::serve(listener, svc));
    let mut client = RateLimitServiceClient::connect(format!("http://{addr}")).await.unwrap();
    let mut codes = Vec::new();
    for _ in 0..6 {
        let r = client
            .should_rate_limit(request("credG", "gold"))
            .await
            .unwrap()
            .into_inner();
        codes.push(r.overall_code);
    }
    assert_eq!(codes, [1, 1, 1, 1, 1, 2]);
    let err = client.should_rate_limit(RateLimitRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    server.abort();
}

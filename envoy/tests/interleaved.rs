//! Several streams in flight in one worker at once, answered out of order: each response carries
//! the rate-limit headers of its own request's bucket (the filter keeps a charged stream's state by
//! context id from the request phase to the response phase).

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use acepack_envoy::expect::ietf_ratelimit;
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

const KEYS: [&str; 6] = ["k-il-1", "k-il-2", "k-il-3", "k-il-4", "k-il-5", "k-il-6"];
const PER_KEY: i64 = 12;

#[test]
fn out_of_order_responses_carry_their_own_buckets_state() {
    let s = Scenario::start("interleaved", "interleaved.yaml", Some("routes.yaml"));
    overlapping_clients(&s);
    // Every request reached the upstream.
    assert_eq!(s.upstream.count(), KEYS.len() * PER_KEY as usize);
}

/// Clients that give up before their response: Envoy resets those streams, so the filter never
/// sees their response headers and keeps what it noted for them until newer streams push it out
/// (the filter does not ask to be told of a stream's end). More of them than the filter's
/// direct-mapped table has slots, in both workers; afterwards overlapping streams still carry
/// their own bucket's state, and the reset requests were charged.
#[test]
fn streams_reset_before_their_response_leave_nothing_behind() {
    const RESETS: usize = 150;
    let s = Scenario::start("interleaved-reset", "interleaved.yaml", Some("routes.yaml"));
    let held = Request::get("/v1/flights/RESET")
        .header("apikey", "k-il-reset")
        .header("x-test-delay-ms", "3000")
        .to_bytes();
    let mut open: Vec<TcpStream> = (0..RESETS)
        .map(|i| {
            let mut c = TcpStream::connect(s.envoy.addr()).unwrap_or_else(|e| panic!("connection {i}: {e}"));
            c.write_all(&held).unwrap_or_else(|e| panic!("request {i}: {e}"));
            c
        })
        .collect();
    // Decided and forwarded: the upstream holds them all.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.upstream.count() < RESETS {
        assert!(
            Instant::now() < deadline,
            "{} of {RESETS} reached the upstream",
            s.upstream.count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    open.clear(); // the clients go away: Envoy resets the streams
    overlapping_clients(&s);
    let r = s.send(&Request::get("/v1/flights/AFTER").header("apikey", "k-il-reset"));
    assert_eq!(r.status, 200, "{}", r.summary());
    let (_, left, _) = ietf_ratelimit(&r);
    assert_eq!(
        left,
        1000 - RESETS as i64 - 1,
        "the reset requests were charged: {}",
        r.summary()
    );
}

/// Six clients, each sending its requests one after another with varied upstream delays: each
/// response must carry its own bucket's state.
fn overlapping_clients(s: &Scenario) {
    // Each client sends its requests one after another, so its bucket goes 999, 998, ... whatever
    // the other clients do; the upstream delays vary so that streams of different clients overlap
    // in both workers and finish in another order than they started.
    let seen: Vec<(usize, Vec<i64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = KEYS
            .iter()
            .enumerate()
            .map(|(c, key)| {
                let s = &s;
                scope.spawn(move || {
                    let mut remaining = Vec::new();
                    for i in 0..PER_KEY {
                        let delay = ((c as i64 * 7 + i * 13) % 6) * 15;
                        let req = Request::get(&format!("/v1/flights/IL{c}x{i}"))
                            .header("apikey", key)
                            .header("x-test-delay-ms", &delay.to_string());
                        let r = s.send(&req);
                        assert_eq!(r.status, 200, "{}", r.summary());
                        assert_eq!(echoed(&r).header("x-ace-package"), Some("daily"));
                        let (package, left, _) = ietf_ratelimit(&r);
                        assert_eq!(package, "daily", "{}", r.summary());
                        remaining.push(left);
                    }
                    (c, remaining)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    for (c, remaining) in seen {
        let want: Vec<i64> = (1..=PER_KEY).map(|k| 1000 - k).collect();
        assert_eq!(remaining, want, "client {c} ({}) saw another bucket's state", KEYS[c]);
    }
}

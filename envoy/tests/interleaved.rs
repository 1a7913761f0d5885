//! Several streams in flight in one worker at once, answered out of order: each response carries
//! the rate-limit headers of its own request's bucket (the filter keeps a charged stream's state by
//! context id from the request phase to the response phase).

use acepack_envoy::expect::ietf_ratelimit;
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

const KEYS: [&str; 6] = ["k-il-1", "k-il-2", "k-il-3", "k-il-4", "k-il-5", "k-il-6"];
const PER_KEY: i64 = 12;

#[test]
fn out_of_order_responses_carry_their_own_buckets_state() {
    let s = Scenario::start("interleaved", "interleaved.yaml", Some("routes.yaml"));
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
    // Every request reached the upstream.
    assert_eq!(s.upstream.count(), KEYS.len() * PER_KEY as usize);
}

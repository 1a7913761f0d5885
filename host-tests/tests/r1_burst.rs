//! R1 (docs/budgets.md): a burst of 10 × N requests from several VMs on several threads against one
//! N/minute bucket admits at least N and at most N + ⌊N × burst seconds / 60⌋, every time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Barrier};
use std::time::Instant;

use acepack_filter::bundle::Limit;
use acepack_filter::fixture::{self, keys};
use acepack_host_tests::{filter_host, Clock, Metrics, Request, SharedData, VmOptions};

const N: u64 = 50;
const VMS: usize = 4;
const REPETITIONS: usize = 20;

#[test]
fn bursts_across_four_vms_stay_within_the_bucket() {
    let mut bundle = fixture::bundle();
    bundle.packages[0].limits = vec![Limit {
        count: N,
        window_seconds: 60,
    }];
    let config = bundle.encode().unwrap();
    let per_vm = (10 * N) as usize / VMS;
    for rep in 0..REPETITIONS {
        // Fresh buckets each time; the real clock, so refill during the burst is real too.
        let (shared, clock, metrics) = (SharedData::new(), Clock::system(), Metrics::new());
        let vms: Vec<_> = (0..VMS)
            .map(|_| {
                let opts = VmOptions {
                    plugin_config: config.clone(),
                    shared: shared.clone(),
                    clock: clock.clone(),
                    metrics: metrics.clone(),
                    ..VmOptions::default()
                };
                filter_host().configured_vm(opts).unwrap()
            })
            .collect();
        let barrier = Arc::new(Barrier::new(VMS + 1));
        let workers: Vec<_> = vms
            .into_iter()
            .map(|mut vm| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let req = Request::get("/v1/flights").header("apikey", keys::SOLO);
                    barrier.wait();
                    let mut admitted = 0u64;
                    for _ in 0..per_vm {
                        let out = vm.request(&req).unwrap();
                        match out.status() {
                            Some(200) => admitted += 1,
                            Some(429) => {}
                            other => panic!("unexpected status {other:?}: {:?}", out.local_response),
                        }
                    }
                    admitted
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let admitted: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let burst = start.elapsed().as_secs_f64();
        let max = N + (N as f64 * burst / 60.0).floor() as u64;
        assert!(
            (N..=max).contains(&admitted),
            "repetition {rep}: admitted {admitted} of {} in {burst:.3}s, bounds [{N}, {max}]",
            10 * N
        );
        assert_eq!(metrics.counter("acepack.requests_allowed"), admitted);
        assert_eq!(
            metrics.counter("acepack.requests_denied.rate_limited"),
            10 * N - admitted
        );
    }
}

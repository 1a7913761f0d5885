//! R1 (docs/budgets.md): a burst of 10 × N requests from several VMs on several threads against one
//! N/minute bucket admits at least N and at most N + ⌊N × burst seconds / 60⌋, every time. The
//! host's clock is frozen during the burst (no refill), so the bound is exact: N admitted, no more
//! and no fewer; moving the clock by the time k tokens take then admits exactly k more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Barrier};
use std::time::Duration;

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
        // Fresh buckets each time; a manual clock that only the test moves.
        let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
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
        let burst = |vms: Vec<acepack_host_tests::Vm>, per_vm: usize| -> (u64, Vec<acepack_host_tests::Vm>) {
            let barrier = Arc::new(Barrier::new(vms.len() + 1));
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
                        (admitted, vm)
                    })
                })
                .collect();
            barrier.wait();
            let mut total = 0;
            let mut back = Vec::new();
            for w in workers {
                let (admitted, vm) = w.join().unwrap();
                total += admitted;
                back.push(vm);
            }
            (total, back)
        };
        let (admitted, vms) = burst(vms, per_vm);
        assert_eq!(
            admitted,
            N,
            "repetition {rep}: admitted {admitted} of {} with the clock frozen",
            10 * N
        );
        // Three tokens' worth of time (60 s / N each): exactly three more, however the burst races.
        clock.advance(Duration::from_micros(3 * 60_000_000 / N));
        let (more, _) = burst(vms, per_vm);
        assert_eq!(more, 3, "repetition {rep}: after three tokens of refill");
        let admitted = admitted + more;
        assert_eq!(metrics.counter("acepack.requests_allowed"), admitted);
        assert_eq!(
            metrics.counter("acepack.requests_denied.rate_limited"),
            20 * N - admitted
        );
    }
}

//! Runs hand-written proxy-wasm modules (WAT) through the host to check the
//! ABI boundary itself: statuses, bounds checks, serialization, phases and
//! traps. These need no filter build.

use acepack_host_tests::{
    deserialize_pairs, Action, Host, HostError, HostOptions, LogSource, Request, SharedData, VmOptions,
};

/// A probe module: each host call's status is reported as a one-byte
/// `proxy_log` line (level info); data returned by the host is logged as is.
const PROBE: &str = r#"
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $hget (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $hset (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $hadd (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $sget (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $sset (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $prop (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_not_in_the_abi" (func $unknown (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "k1")
  (data (i32.const 210) ":path")
  (data (i32.const 220) "X-A")
  (data (i32.const 230) "1")
  (data (i32.const 240) "source\00address\00")
  (data (i32.const 260) "\ff\ff\ff")
  (data (i32.const 270) "x-mode")
  (data (i32.const 280) ":status")
  (data (i32.const 300) "\f0\ff\ff\ff\0a\00\00\00")
  (global $heap (mut i32) (i32.const 4096))
  (global $fail_alloc (mut i32) (i32.const 0))
  (global $forward (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32) (local $p i32)
    (if (global.get $fail_alloc) (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.const 1)
        (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                   (i32.const 65536)))))))
    (local.get $p))
  (func $report (param $s i32)
    (i32.store8 (i32.const 100) (local.get $s))
    (drop (call $log (i32.const 2) (i32.const 100) (i32.const 1))))
  (func $log_out
    (drop (call $log (i32.const 2) (i32.load (i32.const 16)) (i32.load (i32.const 20)))))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    ;; forward mode: when x-mode is present, continue at once
    (if (i32.eqz (call $hget (i32.const 0) (i32.const 270) (i32.const 6) (i32.const 16) (i32.const 20)))
      (then (global.set $forward (i32.const 1)) (return (i32.const 0))))
    (call $report (call $pairs (i32.const 0) (i32.const 0xFFFFFFF0) (i32.const 20)))
    (call $report (call $pairs (i32.const 0) (i32.const 16) (i32.const 20)))
    (call $log_out)
    (call $report (call $log (i32.const 9) (i32.const 200) (i32.const 2)))
    (call $report (call $log (i32.const 2) (i32.const 0xFFFFFFFF) (i32.const 2)))
    (call $report (call $sget (i32.const 200) (i32.const 2) (i32.const 16) (i32.const 20) (i32.const 24)))
    (call $report (call $sset (i32.const 200) (i32.const 2) (i32.const 230) (i32.const 1) (i32.const 5)))
    (call $report (call $sset (i32.const 200) (i32.const 2) (i32.const 230) (i32.const 1) (i32.const 5)))
    (call $report (call $sget (i32.const 200) (i32.const 2) (i32.const 16) (i32.const 20) (i32.const 0x7FFFFFFF)))
    (call $report (call $hget (i32.const 0) (i32.const 210) (i32.const 5) (i32.const 16) (i32.const 20)))
    (call $log_out)
    (call $report (call $hset (i32.const 0) (i32.const 220) (i32.const 3) (i32.const 230) (i32.const 1)))
    (call $report (call $hget (i32.const 7) (i32.const 210) (i32.const 5) (i32.const 16) (i32.const 20)))
    (call $report (call $hget (i32.const 9) (i32.const 210) (i32.const 5) (i32.const 16) (i32.const 20)))
    (call $report (call $unknown (i32.const 0)))
    (call $report (call $reply (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 230) (i32.const 1) (i32.const 260) (i32.const 3) (i32.const -1)))
    (call $report (call $fd_write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 16)))
    (call $report (call $buf (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 16) (i32.const 20)))
    (call $report (call $prop (i32.const 240) (i32.const 15) (i32.const 16) (i32.const 20)))
    (call $log_out)
    (global.set $fail_alloc (i32.const 1))
    (call $report (call $hget (i32.const 0) (i32.const 210) (i32.const 5) (i32.const 16) (i32.const 20)))
    (global.set $fail_alloc (i32.const 0))
    (call $report (call $reply (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 230) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const -1)))
    (call $report (call $reply (i32.const 500) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
    (i32.const 1))
  (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (if (global.get $forward)
      (then
        ;; the request continued: its headers are gone
        (call $report (call $hget (i32.const 0) (i32.const 210) (i32.const 5) (i32.const 16) (i32.const 20)))
        (call $report (call $pairs (i32.const 0) (i32.const 16) (i32.const 20)))
        (call $report (i32.load (i32.const 20)))
        (call $report (call $hset (i32.const 0) (i32.const 220) (i32.const 3) (i32.const 230) (i32.const 1)))))
    (call $report (call $hget (i32.const 2) (i32.const 280) (i32.const 7) (i32.const 16) (i32.const 20)))
    (call $log_out)
    (call $report (call $hadd (i32.const 2) (i32.const 220) (i32.const 3) (i32.const 230) (i32.const 1)))
    (i32.const 0))
)
"#;

fn probe_host() -> Host {
    let wasm = wat::parse_str(PROBE).expect("valid WAT");
    Host::from_bytes(&wasm, HostOptions::default()).expect("compiles")
}

fn guest_lines(logs: &[acepack_host_tests::LogLine]) -> Vec<Vec<u8>> {
    logs.iter()
        .filter(|l| l.source == LogSource::ProxyLog)
        .map(|l| l.message.as_bytes().to_vec())
        .collect()
}

#[test]
fn statuses_bounds_checks_and_serialization() {
    let shared = SharedData::new();
    let mut vm = probe_host()
        .configured_vm(VmOptions {
            shared: shared.clone(),
            ..VmOptions::default()
        })
        .unwrap();
    let out = vm
        .request(&Request::get("/p").source("10.9.8.7:6543").header("X-Text", "é"))
        .unwrap();
    let lines = guest_lines(&out.logs);
    let mut lines = lines.iter();
    let mut next = || lines.next().expect("another log line").clone();

    assert_eq!(next(), [6], "bad out-pointer: INVALID_MEMORY_ACCESS");
    assert_eq!(next(), [0], "get_header_map_pairs");
    let map = deserialize_pairs(&next()).expect("the host's serialization parses");
    assert_eq!(map.len(), 5);
    assert_eq!(map[1], (b":path".to_vec(), b"/p".to_vec()));
    assert_eq!(map[4], (b"x-text".to_vec(), "é".as_bytes().to_vec()));
    assert_eq!(next(), [2], "unknown log level: BAD_ARGUMENT");
    assert_eq!(next(), [6], "message range wraps around: INVALID_MEMORY_ACCESS");
    assert_eq!(next(), [1], "missing shared key: NOT_FOUND");
    assert_eq!(next(), [0], "nonzero CAS on a missing key inserts");
    assert_eq!(next(), [8], "same CAS again: CAS_MISMATCH");
    assert_eq!(next(), [6], "bad cas pointer");
    assert_eq!(next(), [0], "get :path");
    assert_eq!(next(), b"/p");
    assert_eq!(next(), [0], "replace X-A");
    assert_eq!(next(), [2], "map 7 is not available now");
    assert_eq!(next(), [2], "map 9 does not exist");
    assert_eq!(next(), [12], "import outside the ABI: UNIMPLEMENTED");
    assert_eq!(next(), [2], "malformed local-response headers: BAD_ARGUMENT");
    assert_eq!(next(), [21], "fd_write with a bad iovec: EFAULT");
    assert_eq!(next(), [1], "plugin configuration outside start: NOT_FOUND");
    assert_eq!(next(), [0], "property with trailing NUL, as Envoy accepts it");
    assert_eq!(next(), b"10.9.8.7:6543");
    assert_eq!(next(), [6], "allocator returned 0");
    assert_eq!(next(), [0], "local response");
    assert_eq!(next(), [0], "second local response is accepted but ignored");
    // Response callbacks run on the local response.
    assert_eq!(next(), [0], "get :status");
    assert_eq!(next(), b"403");
    assert_eq!(next(), [0], "add a response header");
    assert_eq!(lines.next(), None);

    assert_eq!(out.action, Action::Pause);
    assert!(!out.forwarded);
    let local = out.local_response.as_ref().unwrap();
    assert_eq!(local.status, 403);
    assert_eq!(local.body, b"1");
    assert!(local.headers.is_empty());
    assert_eq!(out.status(), Some(403));
    assert_eq!(out.response_header_str("x-a"), Some("1"));
    assert_eq!(out.response_header_str("content-type"), Some("text/plain"));
    assert_eq!(out.response_header_str("content-length"), Some("1"));
    assert_eq!(out.request_header_str("x-a"), Some("1"), "names are lower-cased");
    assert!(out
        .logs
        .iter()
        .any(|l| l.source == LogSource::Host && l.message.contains("proxy_not_in_the_abi")));
    assert!(out
        .logs
        .iter()
        .any(|l| l.source == LogSource::Host && l.message.contains("second proxy_send_local_response")));
    assert_eq!(shared.get("acepack", b"k1").unwrap().0, b"1");
    assert!(!vm.failed());
}

#[test]
fn request_headers_are_gone_after_continue() {
    let mut vm = probe_host().configured_vm(VmOptions::default()).unwrap();
    let out = vm
        .request(
            &Request::get("/f")
                .header("x-mode", "go")
                .response_header("server", "up"),
        )
        .unwrap();
    assert_eq!(out.action, Action::Continue);
    assert!(out.forwarded);
    let lines = guest_lines(&out.logs);
    assert_eq!(
        lines,
        vec![
            vec![2], // get a request header: BAD_ARGUMENT (the SDK would panic)
            vec![0], // get all request headers: OK...
            vec![0], // ...and empty
            vec![2], // change a request header: BAD_ARGUMENT
            vec![0], // get :status
            b"200".to_vec(),
            vec![0], // add a response header
        ]
    );
    assert_eq!(out.status(), Some(200));
    assert_eq!(out.response_header_str("server"), Some("up"));
    assert_eq!(out.response_header_str("x-a"), Some("1"));
    assert_eq!(out.request_header_str("x-a"), None);
}

const TRAPS: &str = r#"
(module
  (import "env" "proxy_get_header_map_value" (func $hget (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "x-trap")
  (data (i32.const 210) "x-loop")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    ;; grow by 64 MiB: fails under a memory limit
    (i32.ne (memory.grow (i32.const 1024)) (i32.const -1)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $hget (i32.const 0) (i32.const 200) (i32.const 6) (i32.const 16) (i32.const 20)))
      (then unreachable))
    (if (i32.eqz (call $hget (i32.const 0) (i32.const 210) (i32.const 6) (i32.const 16) (i32.const 20)))
      (then (loop $l (br $l))))
    (i32.const 0))
)
"#;

#[test]
fn a_trap_is_an_error_and_fails_the_vm() {
    let host = Host::from_bytes(&wat::parse_str(TRAPS).unwrap(), HostOptions::default()).unwrap();
    let mut vm = host.configured_vm(VmOptions::default()).unwrap();
    assert!(vm.request(&Request::get("/")).unwrap().forwarded);
    let err = vm.request(&Request::get("/").header("x-trap", "1")).unwrap_err();
    match &err {
        HostError::Trap { callback, message, .. } => {
            assert_eq!(*callback, "proxy_on_request_headers");
            assert!(message.contains("unreachable"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(vm.failed());
    assert!(matches!(vm.request(&Request::get("/")), Err(HostError::VmFailed)));
}

#[test]
fn fuel_bounds_runaway_guests() {
    let host = Host::from_bytes(
        &wat::parse_str(TRAPS).unwrap(),
        HostOptions {
            fuel: Some(1_000_000),
            ..HostOptions::default()
        },
    )
    .unwrap();
    let mut vm = host.configured_vm(VmOptions::default()).unwrap();
    let ok = vm.request(&Request::get("/")).unwrap();
    assert!(ok.fuel_consumed.unwrap() > 0);
    let err = vm.request(&Request::get("/").header("x-loop", "1")).unwrap_err();
    match &err {
        HostError::Trap { callback, message, .. } => {
            assert_eq!(*callback, "proxy_on_request_headers");
            assert!(message.contains("fuel"), "the loop ran out of fuel: {message}");
        }
        other => panic!("expected a fuel trap, got {other:?}"),
    }
    assert!(vm.failed(), "a guest stopped for fuel is not trusted again");
}

#[test]
fn fuel_trace_notes_every_callback_and_host_call_in_order() {
    let traced = |fuel_trace: bool| {
        let host = Host::from_bytes(
            &wat::parse_str(TRAPS).unwrap(),
            HostOptions {
                fuel: Some(1_000_000),
                fuel_trace,
                ..HostOptions::default()
            },
        )
        .unwrap();
        let mut vm = host.configured_vm(VmOptions::default()).unwrap();
        let out = vm.request(&Request::get("/")).unwrap();
        (out.fuel_consumed.unwrap(), vm.fuel_trace())
    };
    let (used, marks) = traced(true);
    let events: Vec<&str> = marks.iter().map(|(e, _)| *e).collect();
    assert_eq!(
        events,
        [
            "proxy_on_request_headers",
            "proxy_get_header_map_value",
            "proxy_get_header_map_value",
            "(return)"
        ],
        "{marks:?}"
    );
    assert!(
        marks.windows(2).all(|w| w[0].1 >= w[1].1),
        "fuel only goes down: {marks:?}"
    );
    assert_eq!(
        marks[0].1 - marks[3].1,
        used,
        "the notes account for all the guest's work"
    );
    assert!(traced(false).1.is_empty(), "no notes unless asked");
}

#[test]
fn memory_limit_makes_growth_fail() {
    let host = Host::from_bytes(&wat::parse_str(TRAPS).unwrap(), HostOptions::default()).unwrap();
    assert!(host.vm(VmOptions::default()).unwrap().configured());
    let limited = host
        .vm(VmOptions {
            max_memory_bytes: Some(1 << 20),
            ..VmOptions::default()
        })
        .unwrap();
    assert!(!limited.configured(), "memory.grow past the limit returns -1");
    assert!(matches!(
        host.configured_vm(VmOptions {
            max_memory_bytes: Some(1 << 20),
            ..VmOptions::default()
        }),
        Err(HostError::NotConfigured { .. })
    ));
}

#[test]
fn modules_outside_the_abi_are_rejected() {
    let no_marker = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    assert!(matches!(
        Host::from_bytes(&no_marker, HostOptions::default()),
        Err(HostError::Abi(_))
    ));
    let wrong_import = wat::parse_str(
        r#"(module
            (import "env" "proxy_log" (func (param i64)))
            (func (export "proxy_abi_version_0_2_1")))"#,
    )
    .unwrap();
    assert!(matches!(
        Host::from_bytes(&wrong_import, HostOptions::default()),
        Err(HostError::Instantiate(_))
    ));
    let wrong_export = wat::parse_str(
        r#"(module
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let host = Host::from_bytes(&wrong_export, HostOptions::default()).unwrap();
    assert!(matches!(host.vm(VmOptions::default()), Err(HostError::Abi(_))));
}

#[test]
fn vms_are_send_and_share_data_across_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<acepack_host_tests::Vm>();
    assert_send::<Host>();

    let host = probe_host();
    let shared = SharedData::new();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let host = host.clone();
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut vm = host
                    .configured_vm(VmOptions {
                        shared,
                        ..VmOptions::default()
                    })
                    .unwrap();
                vm.request(&Request::get("/")).unwrap()
            })
        })
        .collect();
    let statuses: Vec<u8> = handles
        .into_iter()
        .map(|h| {
            let out = h.join().unwrap();
            // 6th status line: the first set_shared_data with CAS 5 on "k1"
            guest_lines(&out.logs)[6][0]
        })
        .collect();
    // Whoever came first inserted (the key was missing); for the others the
    // key existed with another CAS: mismatch.
    assert_eq!(statuses.iter().filter(|s| **s == 0).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 8).count(), 2, "{statuses:?}");
    assert_eq!(shared.len("acepack"), 1);
}

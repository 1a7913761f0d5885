//! `acepack_compiler::ecds::publish` against a fake Envoy admin interface (its ECDS stats) served
//! on loopback by the test: an update Envoy misses is renamed in again, a rejected one restores the previous file,
//! one never applied ends in a clear error within the wait.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acepack_compiler::ecds::{self, Admin, Confirm, EcdsError};
use acepack_compiler::envoy_filter::{wasm_config, PluginConfiguration};

/// How the fake Envoy treats the resource file.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Ignores the first file it sees (a missed rename), applies any later one.
    MissFirst,
    /// Refuses every new file (config_fail grows).
    Reject,
    /// Never notices anything.
    Never,
}

struct Fake {
    mode: Mode,
    file: PathBuf,
    /// Inode of the first file seen after the write.
    first_inode: Option<u64>,
    applied: String,
    successes: u64,
    rejected: u64,
}

impl Fake {
    fn observe(&mut self) {
        let Ok(meta) = std::fs::metadata(&self.file) else {
            return;
        };
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            return;
        };
        let version = v["version_info"].as_str().unwrap_or_default().to_string();
        if version == self.applied {
            return;
        }
        match self.mode {
            Mode::MissFirst => {
                let first = *self.first_inode.get_or_insert(meta.ino());
                if meta.ino() != first {
                    self.applied = version;
                    self.successes += 1;
                }
            }
            Mode::Reject => self.rejected = 1,
            Mode::Never => {}
        }
    }
}

/// Serves `/config_dump` and `/stats` the way Envoy does, from `fake`.
fn serve(fake: Arc<Mutex<Fake>>) -> Admin {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() <= 2 {
                    break;
                }
            }
            let body = {
                let mut f = fake.lock().unwrap();
                assert!(line.starts_with("GET /stats?filter="), "{line}");
                f.observe();
                format!(
                    "extension_config_discovery.http_filter.acepack.version_text: \"{}\"\nextension_config_discovery.http_filter.acepack.config_fail: {}\nextension_config_discovery.http_filter.acepack.update_rejected: {}\nextension_config_discovery.http_filter.acepack.update_success: {}\nextension_config_discovery.http_filter.other.update_rejected: 7\nextension_config_discovery.http_filter.other.version_text: \"x\"\n",
                    f.applied, f.rejected, f.rejected, f.successes
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            );
        }
    });
    Admin::parse(&format!("http://{addr}")).unwrap()
}

fn setup(mode: Mode) -> (tempfile::TempDir, Arc<Mutex<Fake>>, Admin, ecds::Resource) {
    let dir = tempfile::tempdir().unwrap();
    let file = ecds::resource_path(dir.path(), "acepack");
    std::fs::write(&file, "{\"version_info\":\"old\",\"resources\":[]}").unwrap();
    let fake = Arc::new(Mutex::new(Fake {
        mode,
        file,
        first_inode: None,
        applied: "old".into(),
        successes: 1,
        rejected: 0,
    }));
    let admin = serve(fake.clone());
    let typed = wasm_config(b"ACEPACK\0new", PluginConfiguration::Bytes, "/f.wasm", "vm", "acepack");
    (dir, fake, admin, ecds::resource("acepack", &typed))
}

fn confirm(admin: &Admin, wait_ms: u64) -> Confirm<'_> {
    Confirm {
        admin,
        wait: Duration::from_millis(wait_ms),
        retry_every: Duration::from_millis(100),
    }
}

fn content(dir: &Path) -> String {
    std::fs::read_to_string(ecds::resource_path(dir, "acepack")).unwrap()
}

#[test]
fn a_missed_update_is_renamed_in_again_until_applied() {
    let (dir, fake, admin, resource) = setup(Mode::MissFirst);
    let p = ecds::publish(dir.path(), "acepack", &resource, Some(&confirm(&admin, 5_000))).unwrap();
    assert!(p.confirmed);
    assert_eq!(p.writes, 2, "the first rename was missed, the second applied");
    assert_eq!(fake.lock().unwrap().applied, resource.version);
    assert_eq!(content(dir.path()), resource.text);
    // Publishing the same content again is confirmed at once: same version.
    let again = ecds::publish(dir.path(), "acepack", &resource, Some(&confirm(&admin, 5_000))).unwrap();
    assert_eq!(again.writes, 1);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("acepack.json")]);
}

#[test]
fn a_rejected_update_restores_the_previous_file() {
    let (dir, _fake, admin, resource) = setup(Mode::Reject);
    let before = content(dir.path());
    let e = ecds::publish(dir.path(), "acepack", &resource, Some(&confirm(&admin, 5_000))).unwrap_err();
    assert!(matches!(e, EcdsError::Rejected { .. }), "{e}");
    assert!(e.to_string().contains("previous resource file was restored"), "{e}");
    assert_eq!(content(dir.path()), before);
}

#[test]
fn an_update_never_applied_fails_after_the_wait() {
    let (dir, _fake, admin, resource) = setup(Mode::Never);
    let e = ecds::publish(dir.path(), "acepack", &resource, Some(&confirm(&admin, 450))).unwrap_err();
    match &e {
        EcdsError::NotApplied { writes, applied, .. } => {
            assert!(*writes >= 3, "renamed in again every 100 ms: {writes}");
            assert_eq!(applied, "version old");
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("did not apply version"), "{e}");
}

#[test]
fn an_unreachable_admin_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let admin = Admin::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let typed = wasm_config(b"x", PluginConfiguration::Bytes, "/f.wasm", "vm", "acepack");
    let e = ecds::publish(
        dir.path(),
        "acepack",
        &ecds::resource("acepack", &typed),
        Some(&confirm(&admin, 200)),
    )
    .unwrap_err();
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[test]
fn resource_names_are_file_names() {
    for bad in ["", ".hidden", "a/b", "a b", "../x"] {
        assert!(ecds::check_name(bad).is_err(), "{bad}");
    }
    ecds::check_name("acepack.edge-1").unwrap();
}

fn acepack(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn compile_with_ecds_writes_the_resource_and_prints_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bundle/catalog.yaml");
    let bundle = dir.path().join("b.acepack");
    let ecds_dir = dir.path().join("ecds");
    std::fs::create_dir(&ecds_dir).unwrap();
    let o = acepack(&[
        "compile".as_ref(),
        catalog.as_os_str(),
        "-o".as_ref(),
        bundle.as_os_str(),
        "--ecds".as_ref(),
        ecds_dir.as_os_str(),
        "--wasm".as_ref(),
        "/opt/acepack_filter.wasm".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let entry = String::from_utf8(o.stdout).unwrap();
    assert!(
        entry.contains("config_discovery:") && entry.contains("watched_directory:"),
        "{entry}"
    );
    let resource: serde_json::Value = serde_json::from_str(&content(&ecds_dir)).unwrap();
    let config = &resource["resources"][0]["typed_config"]["config"];
    assert_eq!(
        config["vm_config"]["code"]["local"]["filename"],
        "/opt/acepack_filter.wasm"
    );
    use base64::Engine as _;
    let inlined = base64::engine::general_purpose::STANDARD
        .decode(config["configuration"]["value"].as_str().unwrap())
        .unwrap();
    assert_eq!(inlined, std::fs::read(&bundle).unwrap());
    // `acepack envoy` writes the same resource for the same bundle (same version).
    let o = acepack(&[
        "envoy".as_ref(),
        bundle.as_os_str(),
        "--wasm".as_ref(),
        "/opt/acepack_filter.wasm".as_ref(),
        "--ecds".as_ref(),
        ecds_dir.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&content(&ecds_dir)).unwrap(),
        resource
    );
    // --ecds without --wasm is a usage error, before anything is written.
    let o = acepack(&[
        "compile".as_ref(),
        catalog.as_os_str(),
        "-o".as_ref(),
        dir.path().join("other.acepack").as_os_str(),
        "--ecds".as_ref(),
        ecds_dir.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("other.acepack").exists());
    // Istio and Envoy Gateway snippets carry the bundle as JSON.
    for (format, marker) in [
        ("istio", "kind: WasmPlugin"),
        ("envoy-gateway", "kind: EnvoyExtensionPolicy"),
    ] {
        let o = acepack(&[
            "envoy".as_ref(),
            bundle.as_os_str(),
            "--wasm".as_ref(),
            "https://example.test/acepack_filter.wasm".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
        ]);
        assert_eq!(o.status.code(), Some(0));
        let t = String::from_utf8(o.stdout).unwrap();
        assert!(t.contains(marker) && t.contains("bundle: \""), "{t}");
    }
}

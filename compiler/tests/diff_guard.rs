//! The breaking-change guard (docs/catalog.md#breaking-changes) through the built binary: an
//! operation that a publication or a registration (approved or pending) could reach may not
//! disappear; version changes are reported; lowered limits are warnings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A catalog with one API and one package; the closures edit its parts.
struct Catalog {
    version: &'static str,
    rate_limit: &'static str,
    override_limit: &'static str,
    with_invoice: bool,
    exclude_invoice: bool,
    publication: &'static str,
    registration: &'static str,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog {
            version: "1",
            rate_limit: "[5/second, 100/day]",
            override_limit: "1/minute",
            with_invoice: true,
            exclude_invoice: false,
            publication: "[]",
            registration: "{ package: billing-pkg, status: approved }",
        }
    }
}

impl Catalog {
    fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bundle/specs-billing.yaml");
        std::fs::copy(spec, dir.join("specs-billing.yaml")).unwrap();
        let invoice = if self.with_invoice {
            "      - api: billing\n        op: GET /billing/invoices/{invoiceId}\n"
        } else {
            ""
        };
        let exclude = if self.exclude_invoice {
            "    exclude: [getInvoice]\n"
        } else {
            ""
        };
        let text = format!(
            "version: 1
auth_strategies:
  - {{ name: keys, type: key_auth, key_names: [apikey] }}
apis:
  - name: billing
    version: \"2.0.0\"
    spec: specs-billing.yaml
{exclude}packages:
  - name: Billing
    id: billing-pkg
    version: \"{version}\"
    rate_limit: {rate_limit}
    operations:
      - api: billing
        op: GET /billing
      - api: billing
        op: createInvoice
        rate_limit: {override_limit}
{invoice}developers:
  - email: alice@acme.test
portals:
  - name: partners
    auth_strategies: [keys]
    publications: {publication}
applications:
  - name: acme-billing
    owner: {{ developer: alice@acme.test }}
    auth_strategy: keys
    credentials:
      - key: \"acme-live-7f3a9c\"
    registrations:
      - {registration}
",
            version = self.version,
            rate_limit = self.rate_limit,
            override_limit = self.override_limit,
            publication = self.publication,
            registration = self.registration,
        );
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn diff(old: &Catalog, new: &Catalog) -> (Option<i32>, String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let (o, n) = (old.write(dir.path(), "old.yaml"), new.write(dir.path(), "new.yaml"));
    let run = |extra: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_acepack"))
            .arg("diff")
            .args([&o, &n])
            .args(extra)
            .output()
            .unwrap()
    };
    let text = run(&[]);
    let json = run(&["--json", "--allow-breaking"]);
    assert_eq!(json.status.code(), Some(0), "{}", String::from_utf8_lossy(&json.stderr));
    (
        text.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&text.stdout),
            String::from_utf8_lossy(&text.stderr)
        ),
        serde_json::from_slice(&json.stdout).unwrap(),
    )
}

fn without_invoice(mut c: Catalog) -> Catalog {
    c.with_invoice = false;
    c
}

#[test]
fn a_registered_package_may_not_lose_operations_even_unpublished() {
    let (code, out, json) = diff(&Catalog::default(), &without_invoice(Catalog::default()));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("BREAKING: package \"billing-pkg\" (registered by application \"acme-billing\") no longer contains billing: GET /billing/invoices/{}"),
        "{out}"
    );
    assert_eq!(json["breaking"].as_array().unwrap().len(), 1);
}

#[test]
fn a_pending_registration_counts_a_revoked_one_does_not() {
    let pending = || Catalog {
        registration: "{ package: billing-pkg, status: pending }",
        ..Catalog::default()
    };
    let (code, out, _) = diff(&pending(), &without_invoice(pending()));
    assert_eq!(code, Some(1), "{out}");
    let revoked = || Catalog {
        registration: "{ package: billing-pkg, status: revoked }",
        ..Catalog::default()
    };
    let (code, out, _) = diff(&revoked(), &without_invoice(revoked()));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no breaking changes"), "{out}");
    assert!(
        out.contains("- package billing-pkg: billing: GET /billing/invoices/{}"),
        "{out}"
    );
}

#[test]
fn a_published_package_is_guarded_without_registrations() {
    let published = || Catalog {
        publication: "[{ package: billing-pkg }]",
        registration: "{ api: billing, status: revoked }",
        ..Catalog::default()
    };
    let (code, out, _) = diff(&published(), &without_invoice(published()));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("package \"billing-pkg\" (published) no longer contains"),
        "{out}"
    );
}

#[test]
fn a_directly_published_or_registered_api_may_not_lose_operations() {
    // The package no longer lists the operation and the API excludes it: it is gone from the API.
    let gone = |c: Catalog| Catalog {
        with_invoice: false,
        exclude_invoice: true,
        ..c
    };
    let published = || Catalog {
        publication: "[{ api: billing }]",
        registration: "{ package: billing-pkg, status: revoked }",
        ..Catalog::default()
    };
    let (code, out, _) = diff(&published(), &gone(published()));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("BREAKING: API \"billing\" (published) no longer has GET /billing/invoices/{}"),
        "{out}"
    );
    let registered = || Catalog {
        registration: "{ api: billing, status: approved }",
        ..Catalog::default()
    };
    let (code, out, _) = diff(&registered(), &gone(registered()));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "API \"billing\" (registered by application \"acme-billing\") no longer has GET /billing/invoices/{}"
        ),
        "{out}"
    );
    // Nobody relies on it: not breaking.
    let unused = || Catalog {
        registration: "{ api: billing, status: rejected }",
        ..Catalog::default()
    };
    let (code, out, _) = diff(&unused(), &gone(unused()));
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn versions_are_reported_and_lowered_limits_are_warnings() {
    let new = Catalog {
        version: "2",
        rate_limit: "[3/second, 100/day]",
        override_limit: "1/hour",
        ..Catalog::default()
    };
    let (code, out, json) = diff(&Catalog::default(), &new);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("~ version package \"billing-pkg\": 1 → 2"), "{out}");
    assert!(
        out.contains(
            "WARNING: package \"billing-pkg\": rate limit lowered from 5/second, 100/day to 3/second, 100/day"
        ),
        "{out}"
    );
    assert!(
        out.contains("WARNING: package \"billing-pkg\": rate limit of billing: POST /billing/invoices lowered from 1/minute to 1/hour"),
        "{out}"
    );
    assert_eq!(json["versions_changed"].as_array().unwrap().len(), 1);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 2);
    // Raising a limit is no warning.
    let raised = Catalog {
        rate_limit: "[10/second, 100/day]",
        ..Catalog::default()
    };
    let (_, _, json) = diff(&Catalog::default(), &raised);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 0);
}

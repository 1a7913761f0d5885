//! OpenAPI ingestion over the public third-party documents found by `support::fixtures_dir` (origins in SOURCES.tsv):
//! every one loads, with operation and merge counts worked out from the raw files, not from acepack.
//!
//! How the counts were obtained: for each file, the (method, path) entries under `paths` were listed
//! with the jq program below (run with `yq` for YAML), which skips nothing but takes the eight 3.0
//! methods, drops a query string, writes every `{name}` as `{}` and strips one trailing slash:
//!
//! ```text
//! [.paths | to_entries[] | (.key | sub("\\?.*";"") | gsub("\\{[^}]*\\}";"{}") | sub("(?<a>.)/$";"\(.a)")) as $p
//!  | .value | keys[] | select(IN("get","put","post","delete","options","head","patch","trace"))
//!  | "\(.) \($p)"] | "entries=\(length) unique=\(unique|length)"
//! ```
//!
//! operations = unique, merges = entries − unique. A separate Python script (PyYAML, the same rules
//! plus `query` for 3.2 and skipping `{$...}` keys) gave the same numbers for every file; the small
//! files were also read by hand. Base paths come from reading each file's `servers`.

mod support;

use support::fixtures_dir as fixtures;

use acepack_compiler::diag::Severity;
use acepack_compiler::openapi::{load_spec, SpecApi, SpecOperation};

fn load(relative: &str) -> SpecApi {
    let path = fixtures().join(relative);
    load_spec(&path, relative, None).unwrap_or_else(|e| match e {
        acepack_compiler::LoadError::Invalid(errors) => {
            let shown: Vec<String> = errors.iter().take(10).map(ToString::to_string).collect();
            panic!("{relative}: {} error(s):\n{}", errors.len(), shown.join("\n"))
        }
        io => panic!("{relative}: {io}"),
    })
}

fn merges(api: &SpecApi) -> usize {
    api.operations.iter().map(|o| o.aliases.len()).sum()
}

fn find<'a>(api: &'a SpecApi, method: &str, path: &str) -> &'a SpecOperation {
    api.operations
        .iter()
        .find(|o| o.method == method && o.path == path)
        .unwrap_or_else(|| panic!("no operation {method} {path}"))
}

/// (file under fixtures/, operations, merges, base path).
const EXPECTED: &[(&str, usize, usize, &str)] = &[
    // OAI examples. Small: the jq counts were checked by reading each file. Only petstore and
    // uspto have `servers`; uspto's is `{scheme}://developer.uspto.gov/ds-api`, scheme default https.
    ("oai/learn__v3.1__tictactoe.json", 3, 0, ""),
    // GET /board, GET+PUT /board/{row}/{column}; the `markStatus` webhook is not an operation.
    ("oai/learn__v3.1__tictactoe.yaml", 3, 0, ""),
    // One `query` operation (3.2), which the 3.0-method jq program does not see; read by hand.
    ("oai/learn__v3.2__3.2-query-example.yaml", 1, 0, ""),
    ("oai/learn__v3.2__3.2-tags-example.yaml", 4, 0, ""),
    ("oai/v3.0__api-with-examples.json", 2, 0, ""),
    ("oai/v3.0__api-with-examples.yaml", 2, 0, ""),
    // POST /streams only: the callback `{$request.query.callbackUrl}/data` yields nothing.
    ("oai/v3.0__callback-example.json", 1, 0, ""),
    ("oai/v3.0__callback-example.yaml", 1, 0, ""),
    ("oai/v3.0__link-example.json", 6, 0, ""),
    ("oai/v3.0__link-example.yaml", 6, 0, ""),
    ("oai/v3.0__petstore-expanded.json", 4, 0, "/v2"),
    ("oai/v3.0__petstore-expanded.yaml", 4, 0, "/v2"),
    ("oai/v3.0__petstore.json", 3, 0, "/v1"),
    ("oai/v3.0__petstore.yaml", 3, 0, "/v1"),
    ("oai/v3.0__uspto.json", 3, 0, "/ds-api"),
    ("oai/v3.0__uspto.yaml", 3, 0, "/ds-api"),
    ("oai/v3.1__non-oauth-scopes.json", 1, 0, ""),
    ("oai/v3.1__non-oauth-scopes.yaml", 1, 0, ""),
    // No `paths` at all, one webhook: zero operations.
    ("oai/v3.1__webhook-example.json", 0, 0, ""),
    ("oai/v3.1__webhook-example.yaml", 0, 0, ""),
    // KongAir: every spec's server is https://api.kong-air.com (no path).
    ("kongair/flight-data__flights__openapi.yaml", 4, 0, ""),
    ("kongair/flight-data__routes__openapi.yaml", 3, 0, ""),
    ("kongair/sales__bookings__openapi.yaml", 3, 0, ""),
    ("kongair/sales__customer__openapi.yaml", 2, 0, ""),
    // jq: entries=242 unique=242. `@me` is a literal, distinct from `{user_id}`.
    // Server https://discord.com/api/v10.
    ("large/discord_openapi.json", 242, 0, "/api/v10"),
    // jq: entries=288 unique=281: the 6 `?beta=true` keys repeat 7 (method, path) pairs of the
    // plain keys (`/responses/{response_id}?beta=true` has GET and DELETE). Server https://api.openai.com/v1.
    ("large/openai_openapi.yaml", 281, 7, "/v1"),
    // jq: entries=197 unique=197. 120 of 121 path items set `servers: [https://api.twilio.com]`,
    // the root says the same, so every effective server agrees on "" (the paths carry /2010-04-01).
    ("large/twilio_api_v2010.yaml", 197, 0, ""),
    // jq: entries=1049 unique=832. Trailing slash alone merges 7 (e.g. GET /sys/policy/),
    // parameter names alone 208 (e.g. /auth/{aws_mount_path}/login ≡ /auth/{gcp_mount_path}/login),
    // 217 together. No servers.
    ("large/vault_openapi.json", 832, 217, ""),
];

#[test]
fn every_fixture_loads_with_the_expected_counts() {
    let mut failures = Vec::new();
    for &(file, operations, merged, base_path) in EXPECTED {
        let api = load(file);
        let got = (api.operations.len(), merges(&api), api.base_path.as_str());
        if got != (operations, merged, base_path) {
            failures.push(format!(
                "{file}: got {got:?}, expected {:?}",
                (operations, merged, base_path)
            ));
        }
        // Each merge is reported once, as a warning, and nothing else is warned about.
        assert_eq!(
            api.warnings.len(),
            merged,
            "{file}: {:#?}",
            api.warnings.iter().take(3).collect::<Vec<_>>()
        );
        assert!(api
            .warnings
            .iter()
            .all(|w| w.severity == Severity::Warning && w.file == file));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every OpenAPI document among the fixtures is in [`EXPECTED`]: a new one cannot slip by untested.
#[test]
fn expected_table_covers_every_openapi_fixture() {
    let root = fixtures();
    let mut found = Vec::new();
    for dir in ["oai", "large", "kongair"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if dir != "kongair" || name.ends_with("openapi.yaml") {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn vault_trailing_slash_twins_and_renamed_parameters_merge() {
    let api = load("large/vault_openapi.json");
    // /sys/policy (GET policies-list-acl-policies2) comes first in the file, /sys/policy/ next.
    let policy = find(&api, "GET", "/sys/policy");
    assert_eq!(policy.spec_path, "/sys/policy");
    assert_eq!(policy.operation_id.as_deref(), Some("policies-list-acl-policies2"));
    assert_eq!(policy.aliases, ["policies-list-acl-policies3"]);
    // POST /sys/tools/random/{source} and /sys/tools/random/{urlbytes}: same shape, one operation.
    let random = find(&api, "POST", "/sys/tools/random/{}");
    assert_eq!(random.spec_path, "/sys/tools/random/{source}");
    assert_eq!(random.operation_id.as_deref(), Some("generate-random-with-source"));
    assert_eq!(random.aliases, ["generate-random-with-bytes"]);
    assert_eq!(
        find(&api, "POST", "/sys/tools/random/{}/{}").aliases,
        Vec::<String>::new()
    );
    // The merge is a warning naming both entries.
    let warning = api
        .warnings
        .iter()
        .find(|w| w.place == "paths./sys/policy/.get")
        .expect("merge warning");
    assert!(
        warning.message.contains("/sys/policy (paths./sys/policy.get)"),
        "{warning}"
    );
    // `/{kv_v2_mount_path}/^.*$` has no method, so it is skipped instead of refused.
    assert!(api.operations.iter().all(|o| !o.spec_path.contains('^')));
}

#[test]
fn openai_beta_query_keys_merge_into_the_plain_paths() {
    let api = load("large/openai_openapi.yaml");
    let create = find(&api, "POST", "/responses");
    assert_eq!(
        (create.spec_path.as_str(), create.operation_id.as_deref()),
        ("/responses", Some("createResponse"))
    );
    assert_eq!(create.aliases, ["beta_createResponse"]);
    let delete = find(&api, "DELETE", "/responses/{}");
    assert_eq!(delete.aliases, ["beta_deleteResponse"]);
    assert!(api.operations.iter().all(|o| !o.path.contains('?')));
    assert!(api
        .warnings
        .iter()
        .any(|w| w.place == "paths./responses?beta=true.post"));
}

#[test]
fn twilio_partial_segment_parameters_and_path_level_servers() {
    let api = load("large/twilio_api_v2010.yaml");
    assert_eq!(api.base_path, "");
    let prefix = "/2010-04-01/Accounts/{}/IncomingPhoneNumbers";
    let fetch = find(&api, "GET", &format!("{prefix}/{{}}.json"));
    assert_eq!(
        fetch.spec_path,
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json"
    );
    assert_eq!(fetch.operation_id.as_deref(), Some("FetchIncomingPhoneNumber"));
    // Literal siblings stay distinct operations.
    for literal in ["TollFree", "Local", "Mobile"] {
        let list = find(&api, "GET", &format!("{prefix}/{literal}.json"));
        assert_eq!(
            list.operation_id.as_deref(),
            Some(format!("ListIncomingPhoneNumber{literal}").as_str())
        );
    }
    // 45 path keys end in `{...}.json`; all of them have operations.
    let keys: std::collections::BTreeSet<&str> = api
        .operations
        .iter()
        .filter(|o| o.path.ends_with("{}.json"))
        .map(|o| o.spec_path.as_str())
        .collect();
    assert_eq!(keys.len(), 45);
}

#[test]
fn base_path_override_wins_over_path_level_servers() {
    let path = fixtures().join("large/twilio_api_v2010.yaml");
    let api = load_spec(&path, "twilio", Some("/twilio/")).unwrap();
    assert_eq!(api.base_path, "/twilio");
    assert_eq!(api.operations.len(), 197);
}

#[test]
fn discord_at_me_is_a_literal_beside_parameters() {
    let api = load("large/discord_openapi.json");
    assert_eq!(
        find(&api, "GET", "/users/@me").operation_id.as_deref(),
        Some("get_my_user")
    );
    assert_eq!(find(&api, "GET", "/users/{}").operation_id.as_deref(), Some("get_user"));
    assert_eq!(
        find(&api, "PATCH", "/guilds/{}/members/@me").operation_id.as_deref(),
        Some("update_my_guild_member")
    );
    assert_eq!(
        find(&api, "PATCH", "/guilds/{}/members/{}").operation_id.as_deref(),
        Some("update_guild_member")
    );
}

#[test]
fn callback_runtime_expression_yields_nothing() {
    for file in ["oai/v3.0__callback-example.yaml", "oai/v3.0__callback-example.json"] {
        let api = load(file);
        assert_eq!(api.operations.len(), 1, "{file}");
        let op = &api.operations[0];
        // No operationId in the file: the id falls back to `METHOD /path`.
        assert_eq!(
            (op.method.as_str(), op.path.as_str(), op.operation_id.as_deref()),
            ("POST", "/streams", None)
        );
    }
}

#[test]
fn webhook_only_document_has_no_operations() {
    for file in ["oai/v3.1__webhook-example.yaml", "oai/v3.1__webhook-example.json"] {
        let api = load(file);
        assert!(api.operations.is_empty() && api.warnings.is_empty(), "{file}: {api:?}");
    }
}

#[test]
fn query_method_of_openapi_3_2() {
    let api = load("oai/learn__v3.2__3.2-query-example.yaml");
    let op = &api.operations[0];
    assert_eq!(
        (op.method.as_str(), op.path.as_str(), op.operation_id.as_deref()),
        ("QUERY", "/flights/search", Some("searchFlights"))
    );
}

#[test]
fn uspto_templated_server_host() {
    let api = load("oai/v3.0__uspto.yaml");
    assert_eq!(api.base_path, "/ds-api");
    let fields = find(&api, "GET", "/{}/{}/fields");
    assert_eq!(fields.spec_path, "/{dataset}/{version}/fields");
    assert_eq!(find(&api, "GET", "/").spec_path, "/");
}

#[test]
fn json_and_yaml_copies_agree() {
    // tictactoe.json lacks the YAML's webhook, which is not an operation anyway.
    for stem in [
        "oai/learn__v3.1__tictactoe",
        "oai/v3.0__petstore-expanded",
        "oai/v3.0__link-example",
        "oai/v3.0__uspto",
    ] {
        assert_eq!(
            load(&format!("{stem}.json")).operations,
            load(&format!("{stem}.yaml")).operations,
            "{stem}"
        );
    }
}

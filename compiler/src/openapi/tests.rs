//! Unit tests of OpenAPI ingestion on small specs written into temporary directories.

use super::*;
use crate::diag::Severity;

/// Writes `files` (name, text) into a fresh directory and loads the first one as `spec.yaml`.
fn load_files(files: &[(&str, &str)], base_path: Option<&str>) -> Result<SpecApi, LoadError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    load_spec(&dir.path().join(files[0].0), files[0].0, base_path)
}

fn load(text: &str) -> Result<SpecApi, LoadError> {
    load_files(&[("spec.yaml", text)], None)
}

/// The errors of an invalid spec.
fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Err(LoadError::Invalid(errors)) => errors,
        Err(LoadError::Io(e)) => panic!("unexpected I/O error {e}"),
        Ok(api) => panic!("expected errors, got {api:?}"),
    }
}

/// Asserts there is exactly one error, at `place`, whose message contains `needle`.
fn assert_one_error(text: &str, place: &str, needle: &str) {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!((e.file.as_str(), e.place.as_str()), ("spec.yaml", place), "{e}");
    assert!(e.message.contains(needle), "{e}");
}

fn routes(api: &SpecApi) -> Vec<String> {
    api.operations
        .iter()
        .map(|o| format!("{} {}", o.method, o.path))
        .collect()
}

const PETS: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

#[test]
fn swagger_2_is_refused() {
    assert_one_error(
        "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n",
        "swagger",
        "Swagger 2.0",
    );
}

#[test]
fn missing_openapi_field() {
    assert_one_error(
        "info: {title: t, version: '1'}\npaths: {}\n",
        "openapi",
        "missing field `openapi`",
    );
}

#[test]
fn unsupported_or_unquoted_versions() {
    assert_one_error(
        "openapi: 4.0.0\npaths: {}\n",
        "openapi",
        "unsupported OpenAPI version \"4.0.0\"",
    );
    // An unquoted version is a number: read as written, with a warning.
    let api = load("openapi: 3.1\npaths: {}\n").unwrap();
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    assert!(
        api.warnings[0].message.contains("read as \"3.1\""),
        "{}",
        api.warnings[0]
    );
    assert_one_error("openapi: [3]\npaths: {}\n", "openapi", "must be a string");
    assert!(load("openapi: 3.2.0-rc1\n").is_ok());
}

#[test]
fn bad_path_key() {
    assert_one_error(
        &format!("{PETS}paths:\n  /pets/{{id:\n    get: {{}}\n"),
        "paths./pets/{id",
        "unbalanced brace",
    );
    assert_one_error(
        &format!("{PETS}paths:\n  pets:\n    get: {{}}\n"),
        "paths.pets",
        "must start with '/'",
    );
    assert_one_error(
        &format!("{PETS}paths:\n  /a/{{x}}{{y}}:\n    get: {{}}\n"),
        "paths./a/{x}{y}",
        "more than one parameter",
    );
}

#[test]
fn ref_cycle() {
    let text = format!(
        "{PETS}paths:\n  /a:\n    $ref: '#/components/pathItems/one'\ncomponents:\n  pathItems:\n    one:\n      $ref: '#/components/pathItems/two'\n    two:\n      $ref: '#/components/pathItems/one'\n"
    );
    assert_one_error(&text, "paths./a.$ref", "$ref cycle");
    assert_one_error(
        &format!("{PETS}paths:\n  /a:\n    $ref: '#/paths/~1a'\n"),
        "paths./a.$ref",
        "$ref cycle",
    );
}

#[test]
fn dangling_ref() {
    let text = format!("{PETS}paths:\n  /a:\n    $ref: '#/components/pathItems/nope'\n");
    assert_one_error(&text, "paths./a.$ref", "points to nothing");
    let text = format!("{PETS}paths:\n  /a:\n    $ref: 'missing.yaml#/x'\n");
    assert_one_error(&text, "paths./a.$ref", "cannot read");
    let text = format!("{PETS}paths:\n  /a:\n    $ref: 'https://example.com/x.yaml#/x'\n");
    assert_one_error(&text, "paths./a.$ref", "remote");
}

#[test]
fn server_variables_without_a_value_in_the_path_are_errors() {
    // In the path, a variable without a value would decide the base path.
    let text = format!("{PETS}servers:\n  - url: 'https://h/{{base}}'\npaths:\n  /a:\n    get: {{}}\n");
    assert_one_error(&text, "servers[0].url", "does not define");
    let text = format!(
        "{PETS}servers:\n  - url: 'https://h/{{v}}/api'\n    variables:\n      v:\n        enum: [v1, v2]\npaths:\n  /a:\n    get: {{}}\n"
    );
    assert_one_error(&text, "servers[0].url", "has no `default`");
    let e = &errors(&text)[0];
    assert!(e.message.contains("part of the URL's path"), "{e}");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("base_path")), "{e:?}");
    // With a base_path in the catalog the servers are not read at all.
    let api = load_files(&[("spec.yaml", &text)], Some("/v1")).unwrap();
    assert_eq!(api.base_path, "/v1");
}

#[test]
fn server_variables_without_a_value_in_the_host_are_ignored_with_a_warning() {
    // Root servers, path-level and operation-level servers alike (real specs do all three).
    let text = format!(
        "{PETS}servers:\n  - url: 'https://{{region}}.example.com/v1'\npaths:\n  /a:\n    get: {{}}\n  /b:\n    get:\n      servers: [{{url: '{{scheme}}://{{tenant}}.example.com/v1/'}}]\n  /c:\n    servers:\n      - url: 'https://{{r}}.x.com/v1'\n        variables: {{r: {{enum: [eu, us]}}}}\n    get: {{}}\n"
    );
    let api = load(&text).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(api.base_path, "/v1");
    let places: Vec<&str> = api.warnings.iter().map(|w| w.place.as_str()).collect();
    assert_eq!(
        places,
        [
            "servers[0].url",
            "paths./b.get.servers[0].url",
            "paths./b.get.servers[0].url",
            "paths./c.servers[0].url"
        ],
        "{:#?}",
        api.warnings
    );
    assert!(api.warnings.iter().all(|w| w.severity == Severity::Warning));
    assert!(api.warnings[0].message.contains("{region}"), "{}", api.warnings[0]);
    assert!(
        api.warnings[0].message.contains("assumed it only names the host"),
        "{}",
        api.warnings[0]
    );
}

#[test]
fn disagreeing_servers_need_an_override() {
    let text = format!(
        "{PETS}servers:\n  - url: https://api.example.com/v1\n  - url: http://localhost:8080\npaths:\n  /a:\n    get: {{}}\n"
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].place, "servers[1].url");
    assert!(
        errors[0].message.contains("https://api.example.com/v1") && errors[0].message.contains("http://localhost:8080")
    );
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("set `base_path` for this API in the catalog")
    );
    // Path-level servers that disagree with the root's, for a path that uses them.
    let text = format!(
        "{PETS}servers:\n  - url: /v1\npaths:\n  /a:\n    get: {{}}\n  /b:\n    servers:\n      - url: /v2\n    get: {{}}\n"
    );
    assert_one_error(&text, "paths./b.servers[0].url", "disagree");
    // The override wins and servers are not read at all.
    let api = load_files(&[("spec.yaml", &text)], Some("/api/")).unwrap();
    assert_eq!(api.base_path, "/api");
}

#[test]
fn duplicate_operation_id() {
    let text = format!("{PETS}paths:\n  /a:\n    get: {{operationId: x}}\n  /b:\n    get: {{operationId: x}}\n");
    assert_one_error(
        &text,
        "paths./b.get.operationId",
        "also the id of GET /a (paths./a.get)",
    );
}

#[test]
fn other_broken_shapes() {
    assert_one_error("openapi: 3.0.0\n", "paths", "requires");
    assert_one_error(
        &format!("{PETS}paths:\n  /a:\n    get: 3\n"),
        "paths./a.get",
        "must be a mapping",
    );
    assert_one_error(
        &format!("{PETS}paths:\n  /a:\n    get: {{operationId: [x]}}\n"),
        "paths./a.get.operationId",
        "non-empty string",
    );
    // Loose but harmless: a numeric operationId is taken as written, an empty one is none.
    let api = load(&format!(
        "{PETS}paths:\n  /a:\n    get: {{operationId: 7}}\n  /b:\n    get: {{operationId: ''}}\n"
    ))
    .unwrap();
    assert_eq!(api.operations[0].operation_id.as_deref(), Some("7"));
    assert_eq!(api.operations[1].operation_id, None);
    assert_eq!(api.warnings.len(), 2, "{:?}", api.warnings);
    assert_one_error(&format!("{PETS}paths: [1]\n"), "paths", "must be a mapping");
    assert_one_error("[1, 2]\n", "", "top level");
}

#[test]
fn all_errors_are_collected() {
    let text = format!(
        "{PETS}servers:\n  - url: 'https://h/{{x}}'\npaths:\n  /a/{{:\n    get: {{}}\n  /b:\n    $ref: '#/nope'\n  /c:\n    get: {{operationId: c}}\n  /d:\n    get: {{operationId: c}}\n"
    );
    let places: Vec<String> = errors(&text).into_iter().map(|e| e.place).collect();
    assert_eq!(
        places,
        [
            "paths./b.$ref",
            "paths./a/{",
            "paths./d.get.operationId",
            "servers[0].url"
        ]
    );
}

#[test]
fn syntax_errors_are_invalid_and_missing_files_are_io() {
    match load("openapi: [3\n") {
        Err(LoadError::Invalid(errors)) => {
            assert!(errors[0].place.starts_with("line "), "{errors:?}")
        }
        other => panic!("{other:?}"),
    }
    let err = load_spec(Path::new("/nonexistent/acepack/spec.yaml"), "spec.yaml", None).unwrap_err();
    assert!(matches!(err, LoadError::Io(_)), "{err:?}");
}

#[test]
fn merges_keep_the_first_and_warn() {
    let text = format!(
        "{PETS}paths:\n  /a/{{id}}:\n    get: {{operationId: first}}\n  /a/{{name}}/:\n    get: {{operationId: second}}\n    post: {{}}\n  /a/{{x}}?beta=true:\n    get: {{}}\n"
    );
    let api = load(&text).unwrap();
    assert_eq!(routes(&api), ["GET /a/{}", "POST /a/{}"]);
    let get = &api.operations[0];
    assert_eq!(get.operation_id.as_deref(), Some("first"));
    assert_eq!(get.spec_path, "/a/{id}");
    assert_eq!(get.aliases, ["second", "GET /a/{x}"]);
    assert_eq!(api.operations[1].operation_id, None);
    let places: Vec<&str> = api.warnings.iter().map(|w| w.place.as_str()).collect();
    assert_eq!(places, ["paths./a/{name}/.get", "paths./a/{x}?beta=true.get"]);
    assert!(api.warnings.iter().all(|w| w.severity == Severity::Warning));
    assert!(
        api.warnings[0].message.contains("/a/{id} (paths./a/{id}.get)"),
        "{}",
        api.warnings[0]
    );
}

#[test]
fn merged_entries_with_one_id_add_no_alias() {
    // Same operationId twice, and two keys whose default ids (query dropped) coincide.
    let text = format!(
        "{PETS}paths:\n  /a:\n    get: {{operationId: same}}\n  /a/:\n    get: {{operationId: same}}\n  /b:\n    get: {{}}\n  /b?x=1:\n    get: {{}}\n"
    );
    let api = load(&text).unwrap();
    assert_eq!(routes(&api), ["GET /a", "GET /b"]);
    assert!(api.operations.iter().all(|o| o.aliases.is_empty()));
    let places: Vec<&str> = api.warnings.iter().map(|w| w.place.as_str()).collect();
    assert_eq!(places, ["paths./a/.get", "paths./b?x=1.get"]);
    assert!(
        api.warnings[0].message.contains("both have the id \"same\""),
        "{}",
        api.warnings[0]
    );
}

#[test]
fn what_is_no_route_is_skipped() {
    let text = format!(
        "{PETS}paths:\n  x-internal: {{get: {{}}}}\n  '{{$request.query.url}}':\n    post: {{}}\n  /weird/^.*$:\n    parameters: []\n  /a:\n    post:\n      callbacks:\n        cb:\n          '{{$request.body#/url}}':\n            post: {{}}\nwebhooks:\n  hook:\n    post: {{}}\n"
    );
    let api = load(&text).unwrap();
    assert_eq!(routes(&api), ["POST /a"]);
    assert_eq!(api.operations[0].operation_id, None);
    assert!(api.warnings.is_empty());
}

#[test]
fn query_and_additional_operations() {
    let text = "openapi: 3.2.0\npaths:\n  /search:\n    query: {operationId: search}\n    additionalOperations:\n      LINK: {}\n      TRACE: {operationId: t}\n";
    let api = load(text).unwrap();
    assert_eq!(routes(&api), ["QUERY /search", "TRACE /search"]);
    assert_eq!(api.warnings.len(), 1);
    assert_eq!(api.warnings[0].place, "paths./search.additionalOperations.LINK");
    // Before 3.2 neither is an operation.
    let api = load(&text.replace("3.2.0", "3.1.0")).unwrap();
    assert!(api.operations.is_empty());
    assert_eq!(api.warnings.len(), 2);
}

#[test]
fn refs_local_escaped_and_external() {
    let files = [
        (
            "spec.yaml",
            "openapi: 3.1.0\npaths:\n  /pets:\n    $ref: 'paths/pets.yaml'\n  /pets/{id}:\n    $ref: '#/components/pathItems/pet'\n  /alias:\n    $ref: '#/paths/~1pets~1%7Bid%7D'\n    summary: local fields win\ncomponents:\n  pathItems:\n    pet:\n      get: {}\n      delete: {}\n",
        ),
        ("paths/pets.yaml", "get:\n  operationId: listPets\npost:\n  $ref: ignored\nservers:\n  - url: /v1\n"),
    ];
    let api = load_files(&files, Some("/x")).unwrap();
    assert_eq!(
        routes(&api),
        [
            "GET /pets",
            "POST /pets",
            "GET /pets/{}",
            "DELETE /pets/{}",
            "GET /alias",
            "DELETE /alias"
        ]
    );
    assert_eq!(api.operations[0].operation_id.as_deref(), Some("listPets"));
    // Without the override: /pets uses the referenced file's servers (/v1), the others the
    // implicit default "/", so the base path is ambiguous.
    match load_files(&files, None) {
        Err(LoadError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].place, "paths./pets.servers[0].url");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn external_ref_syntax_errors_name_that_file() {
    let files = [
        ("spec.yaml", "openapi: 3.1.0\npaths:\n  /a:\n    $ref: 'other.yaml'\n"),
        ("other.yaml", "get: [\n"),
    ];
    match load_files(&files, None) {
        Err(LoadError::Invalid(errors)) => {
            assert_eq!(errors[0].file, "other.yaml", "{errors:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn base_paths_from_servers() {
    let cases = [
        ("servers: [{url: 'https://h/v1/'}]\n", "/v1"),
        ("servers: [{url: /api}]\n", "/api"),
        ("servers: [{url: 'v2'}]\n", "/v2"),
        ("servers: [{url: 'https://h'}, {url: 'http://localhost:8080/'}]\n", ""),
        ("servers: []\n", ""),
        ("", ""),
        ("servers: [{url: '{scheme}://developer.uspto.gov/ds-api', variables: {scheme: {default: https, enum: [https, http]}}}]\n", "/ds-api"),
        ("servers: [{url: 'https://{region}.h.com:{port}/{ver}', variables: {region: {default: eu}, port: {default: 8443}, ver: {default: v3}}}]\n", "/v3"),
        ("servers: [{url: 'https://h/v1?x=1#f'}]\n", "/v1"),
    ];
    for (servers, expected) in cases {
        let text = format!("{PETS}{servers}paths:\n  /a:\n    get: {{}}\n");
        let api = load(&text).unwrap_or_else(|e| panic!("{servers}: {e:?}"));
        assert_eq!(api.base_path, expected, "{servers}");
    }
}

#[test]
fn path_and_operation_servers_override_the_root() {
    // Every operation uses its own servers: the root's (which disagree) are never consulted.
    let text = format!(
        "{PETS}servers: [{{url: /unused}}]\npaths:\n  /a:\n    servers: [{{url: 'https://h/v1'}}]\n    get: {{}}\n  /b:\n    get:\n      servers: [{{url: /v1/}}]\n"
    );
    assert_eq!(load(&text).unwrap().base_path, "/v1");
    // Without operations, the root's servers decide.
    assert_eq!(
        load("openapi: 3.1.0\nservers: [{url: /v9}]\n").unwrap().base_path,
        "/v9"
    );
}

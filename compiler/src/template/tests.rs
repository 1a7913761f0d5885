//! Normalization rules on hand-picked templates, plus a property: normalizing is idempotent.

use super::*;

/// Table of `input → expected` for one function, checked in order with the input in the message.
struct Test<F>(F, Vec<(&'static str, Result<&'static str, TemplateError>)>);

impl<F: Fn(&str) -> Result<String, TemplateError>> Test<F> {
    fn run(self) {
        for (input, expected) in self.1 {
            let got = (self.0)(input);
            assert_eq!(got.as_deref().map_err(Clone::clone), expected, "input {input:?}");
            if let Ok(once) = &got {
                assert_eq!((self.0)(once).as_ref(), Ok(once), "not idempotent on {input:?}");
            }
        }
    }
}

fn p(s: &str) -> String {
    s.to_string()
}

#[test]
fn parameters_lose_their_names() {
    Test(
        normalize,
        vec![
            ("/a/{id}", Ok("/a/{}")),
            ("/a/{name}", Ok("/a/{}")),
            ("/a/{}", Ok("/a/{}")),
            ("/{kv_v2_mount_path}/config", Ok("/{}/config")),
            ("/sys/tools/random/{source}/{urlbytes}", Ok("/sys/tools/random/{}/{}")),
            ("/a/{a b.c-d}", Ok("/a/{}")),
        ],
    )
    .run()
}

#[test]
fn parameters_inside_segments() {
    Test(
        normalize,
        vec![
            // Twilio: https://github.com/twilio/twilio-oai spec/yaml/twilio_api_v2010.yaml
            (
                "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
                Ok("/2010-04-01/Accounts/{}/Calls/{}.json"),
            ),
            (
                "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/TollFree.json",
                Ok("/2010-04-01/Accounts/{}/IncomingPhoneNumbers/TollFree.json"),
            ),
            ("/img-{id}.png", Ok("/img-{}.png")),
            ("/v1/{name}:cancel", Ok("/v1/{}:cancel")),
            (
                "/a/{x}{y}",
                Err(TemplateError::TwoParameters {
                    path: p("/a/{x}{y}"),
                    segment: p("{x}{y}"),
                }),
            ),
            (
                "/range/{from}-{to}",
                Err(TemplateError::TwoParameters {
                    path: p("/range/{from}-{to}"),
                    segment: p("{from}-{to}"),
                }),
            ),
        ],
    )
    .run()
}

#[test]
fn trailing_slash_and_query() {
    Test(
        normalize,
        vec![
            ("/", Ok("/")),
            ("/billing/", Ok("/billing")),
            ("/billing", Ok("/billing")),
            ("/a/{id}/", Ok("/a/{}")),
            // OpenAI: https://github.com/openai/openai-openapi openapi.yaml
            ("/responses?beta=true", Ok("/responses")),
            ("/responses/{response_id}?beta=true", Ok("/responses/{}")),
            ("/?x=1", Ok("/")),
            ("/a/?x", Ok("/a")),
            ("//", Err(TemplateError::EmptySegment { path: p("//") })),
            ("/a//", Err(TemplateError::EmptySegment { path: p("/a//") })),
            ("/a//b", Err(TemplateError::EmptySegment { path: p("/a//b") })),
        ],
    )
    .run()
}

#[test]
fn literals_beside_parameters() {
    Test(
        normalize,
        vec![
            // Discord: https://github.com/discord/discord-api-spec specs/openapi.json
            ("/users/@me", Ok("/users/@me")),
            ("/users/{user_id}", Ok("/users/{}")),
            ("/odata/$metadata", Ok("/odata/$metadata")),
            ("/Products(1)", Ok("/Products(1)")),
            ("/a;b=c,d!e'f+g&h~i", Ok("/a;b=c,d!e'f+g&h~i")),
        ],
    )
    .run()
}

#[test]
fn malformed_templates() {
    Test(
        normalize,
        vec![
            ("", Err(TemplateError::NotAbsolute { path: p("") })),
            ("a/b", Err(TemplateError::NotAbsolute { path: p("a/b") })),
            ("?x", Err(TemplateError::NotAbsolute { path: p("?x") })),
            (
                "/a/{b",
                Err(TemplateError::UnbalancedBrace {
                    path: p("/a/{b"),
                    segment: p("{b"),
                }),
            ),
            (
                "/a/{b/c}",
                Err(TemplateError::UnbalancedBrace {
                    path: p("/a/{b/c}"),
                    segment: p("{b"),
                }),
            ),
            (
                "/a/b}",
                Err(TemplateError::UnbalancedBrace {
                    path: p("/a/b}"),
                    segment: p("b}"),
                }),
            ),
            (
                "/a/{b{c}}",
                Err(TemplateError::NestedBrace {
                    path: p("/a/{b{c}}"),
                    segment: p("{b{c}}"),
                }),
            ),
            (
                "/a/./b",
                Err(TemplateError::DotSegment {
                    path: p("/a/./b"),
                    segment: p("."),
                }),
            ),
            (
                "/a/..",
                Err(TemplateError::DotSegment {
                    path: p("/a/.."),
                    segment: p(".."),
                }),
            ),
            (
                "/a/*",
                Err(TemplateError::InvalidCharacter {
                    path: p("/a/*"),
                    ch: '*',
                }),
            ),
            // Vault: https://github.com/hashicorp/vault-client-go openapi.json
            (
                "/{kv_v2_mount_path}/^.*$",
                Err(TemplateError::InvalidCharacter {
                    path: p("/{kv_v2_mount_path}/^.*$"),
                    ch: '^',
                }),
            ),
            (
                "/a b",
                Err(TemplateError::InvalidCharacter {
                    path: p("/a b"),
                    ch: ' ',
                }),
            ),
            (
                "/a\\b",
                Err(TemplateError::InvalidCharacter {
                    path: p("/a\\b"),
                    ch: '\\',
                }),
            ),
            (
                "/a#frag",
                Err(TemplateError::InvalidCharacter {
                    path: p("/a#frag"),
                    ch: '#',
                }),
            ),
            (
                "/src/{*path}",
                Err(TemplateError::InvalidParameter {
                    path: p("/src/{*path}"),
                    name: p("*path"),
                    reason: "a catch-all; a parameter matches exactly one segment",
                }),
            ),
            (
                "/v1/{+name}",
                Err(TemplateError::InvalidParameter {
                    path: p("/v1/{+name}"),
                    name: p("+name"),
                    reason: "a reserved expansion that may span segments; a parameter matches exactly one segment",
                }),
            ),
        ],
    )
    .run()
}

#[test]
fn percent_escapes() {
    Test(
        normalize,
        vec![
            ("/a%20b", Ok("/a%20b")),
            ("/a%3ab", Ok("/a:b")),
            ("/a%c3%a9", Ok("/a%C3%A9")),
            (
                "/a%7Bb",
                Err(TemplateError::InvalidCharacter {
                    path: p("/a%7Bb"),
                    ch: '{',
                }),
            ),
            ("/%41%7e", Ok("/A~")),
            ("/café", Ok("/caf%C3%A9")),
            (
                "/a%2Fb",
                Err(TemplateError::EncodedDelimiter {
                    path: p("/a%2Fb"),
                    escape: p("%2F"),
                }),
            ),
            ("/a%2eb", Ok("/a.b")),
            (
                "/a/%2E%2e/b",
                Err(TemplateError::DotSegment {
                    path: p("/a/%2E%2e/b"),
                    segment: p("%2E%2e"),
                }),
            ),
            (
                "/a%5c",
                Err(TemplateError::EncodedDelimiter {
                    path: p("/a%5c"),
                    escape: p("%5c"),
                }),
            ),
            (
                "/a%zz",
                Err(TemplateError::InvalidEscape {
                    path: p("/a%zz"),
                    escape: p("%zz"),
                }),
            ),
            (
                "/a%4",
                Err(TemplateError::InvalidEscape {
                    path: p("/a%4"),
                    escape: p("%4"),
                }),
            ),
        ],
    )
    .run()
}

#[test]
fn base_paths() {
    Test(
        normalize_base_path,
        vec![
            ("", Ok("")),
            ("/", Ok("")),
            ("/v1", Ok("/v1")),
            ("/v1/", Ok("/v1")),
            ("/api/v10", Ok("/api/v10")),
            ("v1", Err(TemplateError::NotAbsolute { path: p("v1") })),
            ("/v1/{x}", Err(TemplateError::BasePathNotStatic { path: p("/v1/{x}") })),
            ("/v1?x=1", Err(TemplateError::BasePathNotStatic { path: p("/v1?x=1") })),
            ("/v1//", Err(TemplateError::EmptySegment { path: p("/v1//") })),
        ],
    )
    .run()
}

#[test]
fn joins() {
    for (base, path, expected) in [
        ("", "/", "/"),
        ("", "/x", "/x"),
        ("/v1", "/", "/v1"),
        ("/v1", "/x/{}", "/v1/x/{}"),
    ] {
        assert_eq!(join(base, path), expected, "join({base:?}, {path:?})");
    }
}

#[test]
fn runtime_expressions() {
    assert!(is_runtime_expression("{$request.query.queryUrl}"));
    assert!(is_runtime_expression("{$request.query.callbackUrl}/data"));
    assert!(is_runtime_expression("$request.body#/url"));
    assert!(!is_runtime_expression("/pets/{id}"));
    assert!(!is_runtime_expression("/odata/$metadata"));
}

proptest::proptest! {
    /// Whatever is accepted comes out in normalized form, which normalizes to itself.
    #[test]
    fn normalized_output_is_a_fixed_point(s in "[/a{}.%2Fe?*@~-]{0,24}") {
        if let Ok(n) = normalize(&s) {
            proptest::prop_assert_eq!(normalize(&n), Ok(n.clone()));
            proptest::prop_assert!(n.starts_with('/') && !n.contains('?'));
            if n != "/" {
                proptest::prop_assert!(!n.ends_with('/'));
                for segment in n.split('/').skip(1) {
                    proptest::prop_assert!(!segment.is_empty() && segment != "." && segment != "..");
                    proptest::prop_assert!(segment.matches("{}").count() <= 1, "two parameters in {:?}", segment);
                }
            }
        }
    }
}

#[test]
fn errors_show_the_input() {
    let err = normalize("/a/{x}{y}").unwrap_err().to_string();
    assert!(err.contains("/a/{x}{y}") && err.contains("at most one"), "{err}");
    let err = normalize("/a/*").unwrap_err().to_string();
    assert!(err.contains("'*'"), "{err}");
}

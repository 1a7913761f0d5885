//! The filter's hand-written protobuf (acepack_filter::rls) against the generated Envoy types:
//! what the filter sends decodes as the `RateLimitRequest` it means, and what a service answers
//! decodes in the filter as the service meant it.

use acepack_filter::rls;
use envoy_types::pb::envoy::config::core::v3::{grpc_service::TargetSpecifier, GrpcService, HeaderValue};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    rate_limit::Unit, Code, DescriptorStatus, RateLimit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration;
use prost::Message;

#[test]
fn the_filters_request_is_the_generated_request() {
    let bytes = rls::encode_request(
        "acepack",
        &[
            &[
                (rls::CREDENTIAL_KEY, "Zm9vYmFyYmF6cXV4"),
                (rls::BUCKET_KEY, "gold:getInvoice"),
            ],
            &[(rls::WINDOW_KEY, "60")],
        ],
        1,
    );
    let req = RateLimitRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(req.domain, "acepack");
    assert_eq!(req.hits_addend, 1);
    assert_eq!(req.descriptors.len(), 2);
    assert_eq!(req.descriptors[1].entries[0].key, "acepack_window");
    assert_eq!(req.descriptors[1].entries[0].value, "60");
    let entries: Vec<(&str, &str)> = req.descriptors[0]
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("acepack_credential", "Zm9vYmFyYmF6cXV4"),
            ("acepack_bucket", "gold:getInvoice")
        ]
    );
    // And byte for byte what prost writes for the same message.
    assert_eq!(bytes, req.encode_to_vec());

    // Long values need multi-byte lengths.
    let long = "p".repeat(300);
    let req = RateLimitRequest::decode(rls::encode_request("d", &[&[("k", &long)]], 0).as_slice()).unwrap();
    assert_eq!(req.descriptors[0].entries[0].value, long);
    assert_eq!(req.hits_addend, 0);
}

#[test]
fn the_filters_upstream_is_a_grpc_service_naming_the_cluster() {
    for cluster in ["rls", "rate_limit_service", &"c".repeat(200)] {
        let service = GrpcService::decode(rls::encode_grpc_service(cluster).as_slice()).unwrap();
        match service.target_specifier {
            Some(TargetSpecifier::EnvoyGrpc(g)) => assert_eq!(g.cluster_name, cluster),
            other => panic!("not envoy_grpc: {other:?}"),
        }
    }
}

fn status(code: Code, per_unit: u32, unit: Unit, remaining: u32, reset: Duration) -> DescriptorStatus {
    DescriptorStatus {
        code: code as i32,
        current_limit: Some(RateLimit {
            name: "gold".into(),
            requests_per_unit: per_unit,
            unit: unit as i32,
        }),
        limit_remaining: remaining,
        duration_until_reset: Some(reset),
        ..Default::default()
    }
}

#[test]
fn the_generated_response_reads_in_the_filter() {
    let resp = RateLimitResponse {
        overall_code: Code::OverLimit as i32,
        statuses: vec![
            status(Code::OverLimit, 5, Unit::Minute, 0, Duration { seconds: 41, nanos: 5 }),
            status(
                Code::Ok,
                1000,
                Unit::Day,
                999,
                Duration {
                    seconds: 80_000,
                    nanos: 0,
                },
            ),
        ],
        response_headers_to_add: vec![HeaderValue {
            key: "X-RateLimit-Remaining".into(),
            value: "0".into(),
            ..Default::default()
        }],
        raw_body: b"ignored".to_vec(),
        ..Default::default()
    };
    let answer = rls::decode_response(&resp.encode_to_vec()).unwrap();
    assert_eq!(answer.code, rls::Code::OverLimit);
    assert_eq!(
        answer.status,
        Some(rls::Status {
            limit: Some(5),
            unit: Unit::Minute as u32,
            remaining: 0,
            reset_seconds: Some(42),
        })
    );
    assert_eq!(
        answer.headers.as_slice(),
        [("x-ratelimit-remaining".to_owned(), "0".to_owned())]
    );
    let figures = rls::Figures::of(&answer);
    assert_eq!(
        (figures.limit, figures.remaining, figures.reset),
        (Some(5), Some(0), Some(42))
    );

    // An OK answer with nothing else (envoyproxy/ratelimit for an unconfigured descriptor).
    let ok = RateLimitResponse {
        overall_code: Code::Ok as i32,
        ..Default::default()
    };
    let answer = rls::decode_response(&ok.encode_to_vec()).unwrap();
    assert_eq!((answer.code, answer.status), (rls::Code::Ok, None));
    assert_eq!(rls::Figures::of(&answer), rls::Figures::default());

    // UNKNOWN means the service did not decide: an error, so the failure mode applies.
    let unknown = RateLimitResponse::default();
    assert!(rls::decode_response(&unknown.encode_to_vec()).is_err());
}

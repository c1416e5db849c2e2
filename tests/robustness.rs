//! Whatever bytes arrive, every decoder and every request parser answers with a value or an
//! error: never a panic, never a stack overflow. And rendering then decoding is the identity.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use ipernity::protocol::{HttpMethod, IncomingRequest};
use ipernity::{Error, Format, Map, Protocol, Value};
use proptest::prelude::*;

// Decoders and parsers run on a small stack (`support::SMALL_STACK`, a quarter of a test
// thread's default), so recursion that follows the input's depth shows up as a crash here. 128
// levels of JSON take about 300 KiB in a debug build.
mod support;

use support::on_small_stack;

fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("py" | "php")
            ) {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut out,
    );
    out.sort();
    out
}

/// Every request parser on `body`, at every endpoint path form.
fn parse_everywhere(body: &[u8]) {
    for (path, method) in [
        ("test.echo/json", HttpMethod::Post),
        ("test.echo", HttpMethod::Get),
        ("soap", HttpMethod::Post),
        ("soap/json", HttpMethod::Post),
        ("xmlrpc", HttpMethod::Post),
        ("xmlrpc/php", HttpMethod::Post),
    ] {
        let query = std::str::from_utf8(body).unwrap_or("");
        let request = IncomingRequest {
            method,
            path,
            query,
            content_type: None,
            body,
        };
        let _ = Protocol::for_path(path).transport().parse(&request);
    }
}

fn decode_everywhere(body: &[u8]) {
    for format in Format::ALL {
        let _ = format.decode(body);
    }
}

#[test]
fn every_prefix_of_every_fixture_is_answered_by_every_decoder() {
    on_small_stack(|| {
        for (_, bytes) in fixtures() {
            for end in 0..=bytes.len() {
                decode_everywhere(&bytes[..end]);
            }
        }
    });
}

#[test]
fn every_prefix_of_every_fixture_is_answered_by_every_request_parser() {
    on_small_stack(|| {
        for (_, bytes) in fixtures() {
            // Requests carry their body after the head; feed the whole text and the body alone.
            let body_start = bytes
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(0, |p| p + 4);
            for end in 0..=bytes.len() {
                parse_everywhere(&bytes[..end]);
                if end >= body_start {
                    parse_everywhere(&bytes[body_start..end]);
                }
            }
        }
    });
}

#[test]
fn every_fixture_with_any_one_byte_changed_is_answered() {
    on_small_stack(|| {
        for (_, bytes) in fixtures() {
            let mut copy = bytes.clone();
            for index in (0..bytes.len()).step_by(3) {
                for replacement in [b'<', b'"', b';', 0xff] {
                    let original = copy[index];
                    copy[index] = replacement;
                    decode_everywhere(&copy);
                    parse_everywhere(&copy);
                    copy[index] = original;
                }
            }
        }
    });
}

const DEPTH: usize = 100_000;

fn nested_bodies() -> Vec<(Format, String)> {
    let xml_nest = format!("{}x{}", "<a>".repeat(DEPTH), "</a>".repeat(DEPTH));
    let escaped_nest = xml_nest.replace('<', "&lt;").replace('>', "&gt;");
    vec![
        (
            Format::Json,
            format!(
                "{{\"api\":{{\"status\":\"ok\"}},\"a\":{}1{}}}",
                "[".repeat(DEPTH),
                "]".repeat(DEPTH)
            ),
        ),
        (
            Format::Json,
            format!(
                "{{\"api\":{{\"status\":\"ok\"}},\"a\":{}1{}}}",
                "{\"a\":".repeat(DEPTH),
                "}".repeat(DEPTH)
            ),
        ),
        (Format::Xml, format!("<api status=\"ok\">{xml_nest}</api>")),
        (
            Format::Php,
            format!(
                "a:2:{{s:3:\"api\";a:1:{{s:6:\"status\";s:2:\"ok\";}}s:1:\"a\";{}N;{}}}",
                "a:1:{i:0;".repeat(DEPTH),
                "}".repeat(DEPTH)
            ),
        ),
        (
            Format::Soap,
            format!(
                "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\">&lt;api status=\"ok\"&gt;{escaped_nest}&lt;/api&gt;</x:ipernityResponse></s:Body></s:Envelope>"
            ),
        ),
        (
            Format::Soap,
            format!(
                "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\">{xml_nest}</x:ipernityResponse></s:Body></s:Envelope>"
            ),
        ),
        (
            Format::Soap,
            format!(
                "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><s:Fault>{xml_nest}</s:Fault></s:Body></s:Envelope>"
            ),
        ),
        (
            Format::XmlRpc,
            format!(
                "<methodResponse><params><param><value>{}1{}</value></param></params></methodResponse>",
                "<array><data><value>".repeat(DEPTH / 3),
                "</value></data></array>".repeat(DEPTH / 3)
            ),
        ),
        (
            Format::XmlRpc,
            format!(
                "<methodResponse><params><param><value><string>&lt;api status=\"ok\"&gt;{escaped_nest}&lt;/api&gt;</string></value></param></params></methodResponse>"
            ),
        ),
        (
            Format::XmlRpc,
            format!("<methodResponse><fault><value>{xml_nest}</value></fault></methodResponse>"),
        ),
    ]
}

#[test]
fn a_hundred_thousand_levels_of_nesting_are_an_error_in_every_format() {
    on_small_stack(|| {
        for (format, body) in nested_bodies() {
            match format.decode(body.as_bytes()) {
                Err(Error::Malformed { format: f, .. }) => assert_eq!(f, format),
                other => panic!("{format}: {other:?}"),
            }
        }
    });
}

#[test]
fn a_hundred_thousand_levels_of_nesting_are_refused_by_the_request_parsers() {
    on_small_stack(|| {
        let xml_nest = format!("{}x{}", "<a>".repeat(DEPTH), "</a>".repeat(DEPTH));
        let soap = format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityRequest xmlns:x=\"urn:ipernity\"><method>test.echo</method><echo>{xml_nest}</echo></x:ipernityRequest></s:Body></s:Envelope>"
        );
        let xmlrpc = format!(
            "<methodCall><methodName>test.echo</methodName><params><param><value><struct><member><name>echo</name><value>{}1{}</value></member></struct></value></param></params></methodCall>",
            "<array><data><value>".repeat(DEPTH / 3),
            "</value></data></array>".repeat(DEPTH / 3)
        );
        for (path, body, code) in [("soap", soap, 121), ("xmlrpc", xmlrpc, 122)] {
            let request = IncomingRequest {
                method: HttpMethod::Post,
                path,
                query: "",
                content_type: None,
                body: body.as_bytes(),
            };
            let error = Protocol::for_path(path)
                .transport()
                .parse(&request)
                .unwrap_err();
            assert_eq!(error.error.code.as_u32(), code);
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_answered(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everywhere(&bytes);
        parse_everywhere(&bytes);
    }

    #[test]
    fn random_markup_is_answered(text in "[<>/a-z=\" &;:!\\[\\]?{}0-9]{0,256}") {
        decode_everywhere(text.as_bytes());
        parse_everywhere(text.as_bytes());
    }
}

// ------------------------------------------------------------------------------------------------
// Rendering then decoding is the identity, for every format, on the values every format can
// carry: text scalars, non-empty maps, lists of two or more maps or texts.

fn xml_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range(' ', '~'),
            1 => Just('\n'),
            1 => Just('\t'),
            1 => Just('\r'),
            1 => proptest::char::range('\u{a0}', '\u{d7ff}'),
            1 => proptest::char::range('\u{10000}', '\u{10ffff}'),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn member_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,7}".prop_filter("reserved names", |n| n != "api")
}

fn canonical_value() -> impl Strategy<Value = Value> {
    let leaf = xml_text().prop_map(Value::from);
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec((member_name(), inner.clone()), 1..5).prop_map(|members| {
                Value::Map(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
            }),
            proptest::collection::vec(
                prop_oneof![
                    xml_text().prop_map(Value::from),
                    proptest::collection::vec((member_name(), inner), 1..4).prop_map(|members| {
                        Value::Map(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
                    }),
                ],
                2..4,
            )
            .prop_map(Value::List),
        ]
    })
}

fn payload() -> impl Strategy<Value = Map> {
    proptest::collection::vec((member_name(), canonical_value()), 0..4)
        .prop_map(|members| members.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn rendering_then_decoding_is_the_identity(payload in payload()) {
        for format in Format::ALL {
            let body = format.render(Ok(&payload));
            let decoded = format.decode(&body);
            prop_assert_eq!(decoded.as_ref().ok(), Some(&Value::Map(payload.clone())), "{} {:?}", format, String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn errors_survive_rendering(code in 0u32..1000, message in xml_text()) {
        let error = ipernity::ApiError::new(code, message);
        for format in Format::ALL {
            let decoded = format.decode(&format.render(Err(&error)));
            prop_assert_eq!(decoded.err().and_then(|e| e.api_error().cloned()), Some(error.clone()), "{}", format);
        }
    }
}

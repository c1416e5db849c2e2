//! The validators: each compares one outcome with what a case expects and returns a typed
//! [`Failure`] naming what differs.
//!
//! Comparison rules (`protocols/README.md`): HTTP method and path exactly; query strings and form
//! bodies as unordered sets of decoded fields; every header of the fixture present with the same
//! value; XML bodies exactly once whitespace-only text between elements is removed; other bodies
//! (multipart) byte for byte.

use std::collections::BTreeSet;

use super::{Case, Check, Decoded, FIXTURE_BASE_URL, FileSpec, Parsed, Suite, UploadSpec};
use crate::call::{Call, Credentials};
use crate::error::Error;
use crate::form::form_decode;
use crate::format::Format;
use crate::protocol::{
    FileContent, HttpRequest, IncomingRequest, ParsedRequest, Protocol, RequestError, Rest,
};
use crate::value::Value;

/// Why a case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The fixture could not be read or is not an HTTP request.
    #[error("fixture {path}: {reason}")]
    Fixture {
        /// The fixture.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A decoded payload differs from the expected one.
    #[error("decoded\n  {decoded}\nexpected\n  {expected}")]
    PayloadDiffers {
        /// What was decoded, as JSON.
        decoded: String,
        /// What was expected, as JSON.
        expected: String,
    },
    /// Another kind of outcome than the one expected (an error for a payload, another code…).
    #[error("expected {expected}, got {got}")]
    Outcome {
        /// The outcome expected.
        expected: String,
        /// The outcome found.
        got: String,
    },
    /// The call could not be encoded.
    #[error("encoding failed: {0}")]
    Encoding(String),
    /// The encoded request's HTTP method differs.
    #[error("HTTP method {encoded}, expected {expected}")]
    Method {
        /// Encoded.
        encoded: String,
        /// In the fixture.
        expected: String,
    },
    /// The encoded request's path differs.
    #[error("path {encoded}, expected {expected}")]
    Path {
        /// Encoded.
        encoded: String,
        /// In the fixture.
        expected: String,
    },
    /// The encoded query string holds other fields.
    #[error("query {encoded}, expected {expected}")]
    Query {
        /// Encoded.
        encoded: String,
        /// In the fixture.
        expected: String,
    },
    /// A header of the fixture is absent or different.
    #[error("header {name}: {encoded:?}, expected {expected:?}")]
    Header {
        /// The header.
        name: String,
        /// Its encoded value, if any.
        encoded: Option<String>,
        /// Its value in the fixture.
        expected: String,
    },
    /// The encoded body differs.
    #[error("body\n{encoded}\nexpected\n{expected}")]
    Body {
        /// Encoded (lossy UTF-8).
        encoded: String,
        /// In the fixture (lossy UTF-8).
        expected: String,
    },
    /// A golden group does not decode alike in every format.
    #[error("golden group: {0}")]
    Golden(String),
    /// The endpoint could not be reached, or did not answer in time.
    #[error("the endpoint: {0}")]
    Endpoint(String),
    /// A recorded case's answer and the endpoint's differ in shape or value.
    #[error("at {at}: recorded {recorded}, got {got}")]
    Shape {
        /// Where in the answer (`doc.owner.user_id`, `docs.doc[2]`).
        at: String,
        /// What the recording holds there.
        recorded: String,
        /// What the endpoint answered there.
        got: String,
    },
}

fn outcome(expected: impl Into<String>, got: impl Into<String>) -> Failure {
    Failure::Outcome {
        expected: expected.into(),
        got: got.into(),
    }
}

fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| e.to_string())
}

/// A decoding outcome in words.
pub(super) fn describe(outcome: &Result<Value, Error>) -> String {
    match outcome {
        Ok(value) => format!("the payload {}", json(value)),
        Err(Error::Api(api)) => format!("API error {} {:?}", api.code, api.message),
        Err(other) => other.to_string(),
    }
}

/// A decode case: `outcome` is what decoding the fixture as `format` gave.
pub(super) fn decoded(
    expect: &Decoded,
    format: Format,
    outcome: Result<Value, Error>,
) -> Result<(), Failure> {
    match (expect, &outcome) {
        (Decoded::Payload(expected), Ok(value)) if value == expected => Ok(()),
        (Decoded::Payload(expected), Ok(value)) => Err(Failure::PayloadDiffers {
            decoded: json(value),
            expected: json(expected),
        }),
        (Decoded::Error { code, message }, Err(Error::Api(api)))
            if api.code.as_u32() == *code && api.message == *message =>
        {
            Ok(())
        }
        (
            Decoded::Fault { code, message },
            Err(Error::Fault {
                code: got_code,
                message: got_message,
                format: got_format,
            }),
        ) if got_format == &format && got_code == code && got_message == message => Ok(()),
        (Decoded::Malformed, Err(Error::Malformed { format: got, .. })) if *got == format => Ok(()),
        (expected, _) => Err(outcome_failure(expected, format, &outcome)),
    }
}

fn outcome_failure(expect: &Decoded, format: Format, got: &Result<Value, Error>) -> Failure {
    let expected = match expect {
        Decoded::Payload(value) => format!("the payload {}", json(value)),
        Decoded::Error { code, message } => format!("API error {code} {message:?}"),
        Decoded::Fault { code, message } => format!("a {format} fault {code} {message:?}"),
        Decoded::Malformed => format!("a malformed {format} response"),
    };
    outcome(expected, describe(got))
}

/// The request of a fixture as the emulator sees it.
fn incoming(request: &HttpRequest) -> IncomingRequest<'_> {
    IncomingRequest::from_http(request, "/api")
}

fn fixture_request(fixture: &[u8]) -> Result<HttpRequest, Failure> {
    HttpRequest::from_http_text(fixture).map_err(|e| Failure::Fixture {
        path: String::new(),
        reason: e.to_string(),
    })
}

/// An encode case: the call (signed, with its file) encodes to the fixture, and the fixture
/// parses back to the expectation.
pub(super) fn encoded(
    protocol: Protocol,
    call: &Call,
    credentials: Option<&Credentials>,
    format: Format,
    upload: Option<&UploadSpec>,
    fixture: &[u8],
    expect: &Parsed,
) -> Result<(), Failure> {
    let call = match credentials {
        Some(credentials) => call.clone().signed(credentials),
        None => call.clone(),
    };
    let transport = protocol.transport();
    let encoding = |e: Error| Failure::Encoding(e.to_string());
    let encoded = match upload {
        None => transport
            .encode(FIXTURE_BASE_URL, &call, Some(format))
            .map_err(encoding)?,
        Some(upload) => {
            let envelope = match protocol {
                Protocol::Rest => Rest.encode_upload_with_boundary(
                    FIXTURE_BASE_URL,
                    &call,
                    &upload.filename,
                    Some(format),
                    &upload.boundary,
                ),
                _ => {
                    transport.encode_upload(FIXTURE_BASE_URL, &call, &upload.filename, Some(format))
                }
            }
            .map_err(encoding)?;
            envelope.with_file(&upload.content)
        }
    };
    let expected = fixture_request(fixture)?;
    same_request(&encoded, &expected)?;
    // The other direction: the fixture parses back into the expectation.
    parsed(expect, transport.parse(&incoming(&expected)))
}

/// A parse case: the fixture, sent to `protocol`'s endpoint, parses to the expectation.
pub(super) fn parsed_fixture(
    protocol: Protocol,
    fixture: &[u8],
    expect: &Parsed,
) -> Result<(), Failure> {
    let request = fixture_request(fixture)?;
    let incoming = incoming(&request);
    let routed = Protocol::for_path(incoming.path);
    if routed != protocol {
        return Err(outcome(
            format!("a request to the {protocol} endpoint"),
            format!("one whose path routes to {routed}"),
        ));
    }
    parsed(expect, protocol.transport().parse(&incoming))
}

/// What a parser gave, against what a case expects.
pub(super) fn parsed(
    expect: &Parsed,
    outcome_found: Result<ParsedRequest, RequestError>,
) -> Result<(), Failure> {
    match (expect, &outcome_found) {
        (Parsed::Refused { code, format }, Err(refused))
            if refused.error.code.as_u32() == *code && refused.format == *format =>
        {
            Ok(())
        }
        (
            Parsed::Call {
                method,
                params,
                format,
                file,
            },
            Ok(parsed),
        ) if parsed.call.method() == method
            && parsed.call.params() == params
            && parsed.format == *format
            && same_file(file.as_ref(), parsed) =>
        {
            Ok(())
        }
        (expected, _) => Err(outcome(
            describe_parsed(expected),
            match &outcome_found {
                Ok(parsed) => format!(
                    "{} {:?} in {}{}",
                    parsed.call.method(),
                    parsed.call.params(),
                    parsed.format,
                    match &parsed.file {
                        Some(file) => format!(
                            " with a file of {} bytes named {:?}",
                            file.len(),
                            file.filename
                        ),
                        None => String::new(),
                    }
                ),
                Err(refused) => format!("error {} in {}", refused.error.code, refused.format),
            },
        )),
    }
}

fn describe_parsed(expect: &Parsed) -> String {
    match expect {
        Parsed::Refused { code, format } => format!("error {code} in {format}"),
        Parsed::Call {
            method,
            params,
            format,
            file,
        } => format!(
            "{method} {params:?} in {format}{}",
            match file {
                Some(file) => format!(
                    " with a file of {} bytes named {:?}",
                    file.content.len(),
                    file.filename
                ),
                None => String::new(),
            }
        ),
    }
}

fn same_file(expected: Option<&FileSpec>, parsed: &ParsedRequest) -> bool {
    match (expected, &parsed.file) {
        (None, None) => true,
        (Some(expected), Some(file)) => {
            file.filename == expected.filename
                && matches!(&file.content, FileContent::Memory(data) if *data == expected.content)
        }
        _ => false,
    }
}

/// An encoded request against the fixture's.
pub fn same_request(encoded: &HttpRequest, expected: &HttpRequest) -> Result<(), Failure> {
    if encoded.method != expected.method {
        return Err(Failure::Method {
            encoded: encoded.method.as_str().to_owned(),
            expected: expected.method.as_str().to_owned(),
        });
    }
    let (path, query) = split_target(&encoded.url);
    let (expected_path, expected_query) = split_target(&expected.url);
    if path != expected_path {
        return Err(Failure::Path {
            encoded: path.to_owned(),
            expected: expected_path.to_owned(),
        });
    }
    if form_set(query.as_bytes()) != form_set(expected_query.as_bytes()) {
        return Err(Failure::Query {
            encoded: query.to_owned(),
            expected: expected_query.to_owned(),
        });
    }
    for (name, value) in &expected.headers {
        if encoded.header(name) != Some(value.as_str()) {
            return Err(Failure::Header {
                name: name.clone(),
                encoded: encoded.header(name).map(str::to_owned),
                expected: value.clone(),
            });
        }
    }
    let content_type = expected.header("content-type").unwrap_or_default();
    let same_body = if content_type.starts_with("application/x-www-form-urlencoded") {
        form_set(&encoded.body) == form_set(&expected.body)
    } else if content_type.contains("xml") {
        normalise_xml(&encoded.body) == normalise_xml(&expected.body)
    } else {
        encoded.body == expected.body
    };
    if !same_body {
        return Err(Failure::Body {
            encoded: String::from_utf8_lossy(&encoded.body).into_owned(),
            expected: String::from_utf8_lossy(&expected.body).into_owned(),
        });
    }
    Ok(())
}

/// The path and query of a URL.
fn split_target(url: &str) -> (&str, &str) {
    let (_, target) = crate::http::split_url(url);
    target.split_once('?').unwrap_or((target, ""))
}

/// Form fields as an unordered set of decoded pairs.
fn form_set(text: &[u8]) -> BTreeSet<(String, String)> {
    form_decode(text).into_iter().collect()
}

/// XML with whitespace-only text between elements removed.
fn normalise_xml(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut pending = String::new();
    for c in text.chars() {
        if c.is_whitespace() && (out.ends_with('>') || !pending.is_empty()) {
            pending.push(c);
            continue;
        }
        if c != '<' {
            out.push_str(&pending);
        }
        pending.clear();
        out.push(c);
    }
    out.push_str(&pending);
    out.trim().to_owned()
}

/// A golden group: every case decodes to the same value (scalars as text, one-element lists as
/// their element), and the crate's own renderers reproduce it in every format.
pub(super) fn golden(suite: &Suite, cases: &[&Case]) -> Result<(), Failure> {
    let mut results = Vec::new();
    let mut formats = BTreeSet::new();
    for case in cases {
        let Check::Decode { format, .. } = &case.check else {
            return Err(Failure::Golden(format!(
                "{} is not a decode case",
                case.name
            )));
        };
        formats.insert(*format);
        let outcome = format.decode(&suite.fixture(&case.fixture)?);
        results.push((case.name.as_str(), canonical_outcome(&outcome), outcome));
    }
    if formats.len() != Format::ALL.len() {
        return Err(Failure::Golden(format!(
            "the group covers {} formats, expected all five",
            formats.len()
        )));
    }
    let Some(((first_name, first, original), rest)) = results.split_first() else {
        return Err(Failure::Golden("the group is empty".to_owned()));
    };
    for (name, result, _) in rest {
        if result != first {
            return Err(Failure::Golden(format!(
                "{name} decodes to {result:?}\n{first_name} decodes to {first:?}"
            )));
        }
    }
    for format in Format::ALL {
        let rendered = match original {
            Ok(Value::Map(payload)) => format.render(Ok(payload)),
            Ok(other) => {
                return Err(Failure::Golden(format!(
                    "a payload that is not a map: {other:?}"
                )));
            }
            Err(Error::Api(error)) => format.render(Err(error)),
            Err(other) => {
                return Err(Failure::Golden(format!(
                    "{first_name} failed to decode: {other}"
                )));
            }
        };
        let again = canonical_outcome(&format.decode(&rendered));
        if &again != first {
            return Err(Failure::Golden(format!(
                "rendered as {format} it decodes to {again:?}, expected {first:?}"
            )));
        }
    }
    Ok(())
}

fn canonical_outcome(outcome: &Result<Value, Error>) -> Result<Value, String> {
    match outcome {
        Ok(value) => Ok(canonical(value)),
        Err(Error::Api(api)) => Err(format!("api {} {}", api.code, api.message)),
        Err(other) => Err(other.to_string()),
    }
}

/// The form every format can carry: scalars as text, a one-element list as its element, empty
/// lists, maps and null as `""`.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::List(items) => match items.as_slice() {
            [] => Value::from(""),
            [only] => canonical(only),
            items => Value::List(items.iter().map(canonical).collect()),
        },
        Value::Map(map) if map.is_empty() => Value::from(""),
        Value::Map(map) => map
            .iter()
            .filter(|(_, v)| !matches!(v, Value::List(items) if items.is_empty()))
            .map(|(k, v)| (k.clone(), canonical(v)))
            .collect(),
        scalar => Value::from(scalar.to_text().unwrap_or_default().as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HttpMethod;

    fn request(url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: HttpMethod::Post,
            url: url.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn each_difference_is_its_own_typed_failure() {
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let expected = request("https://h/api/doc.set/json?x=1", &form, b"a=1&b=2");
        assert_eq!(
            same_request(
                &request("https://h/api/doc.set/json?x=1", &form, b"b=2&a=1"),
                &expected
            ),
            Ok(()),
            "form fields compare as a set"
        );
        assert!(matches!(
            same_request(
                &request("https://h/api/doc.get/json?x=1", &form, b"a=1&b=2"),
                &expected
            ),
            Err(Failure::Path { .. })
        ));
        assert!(matches!(
            same_request(
                &request("https://h/api/doc.set/json?x=2", &form, b"a=1&b=2"),
                &expected
            ),
            Err(Failure::Query { .. })
        ));
        assert!(matches!(
            same_request(&request("https://h/api/doc.set/json?x=1", &[], b"a=1&b=2"), &expected),
            Err(Failure::Header { name, encoded: None, .. }) if name == "Content-Type"
        ));
        assert!(matches!(
            same_request(
                &request("https://h/api/doc.set/json?x=1", &form, b"a=1"),
                &expected
            ),
            Err(Failure::Body { .. })
        ));
        let xml = [("Content-Type", "text/xml")];
        assert_eq!(
            same_request(
                &request("https://h/api/xmlrpc", &xml, b"<a><b>x y</b></a>"),
                &request("https://h/api/xmlrpc", &xml, b"<a>\n  <b>x y</b>\n</a>\n"),
            ),
            Ok(()),
            "whitespace between elements is not content"
        );
    }

    #[test]
    fn decode_and_parse_outcomes_fail_with_what_was_expected_and_found() {
        let payload = Value::from_json_str(r#"{"hello":"hi"}"#).unwrap();
        assert_eq!(
            decoded(
                &Decoded::Payload(payload.clone()),
                Format::Json,
                Ok(payload.clone())
            ),
            Ok(())
        );
        let other = Value::from_json_str(r#"{"hello":"ho"}"#).unwrap();
        assert!(matches!(
            decoded(&Decoded::Payload(payload), Format::Json, Ok(other)),
            Err(Failure::PayloadDiffers { .. })
        ));
        let refused = Parsed::Refused {
            code: 121,
            format: Format::Soap,
        };
        let failure = parsed(
            &refused,
            Err(RequestError {
                error: crate::error::ApiError::global(crate::error::ErrorCode::MethodNotFound),
                format: Format::Soap,
            }),
        )
        .unwrap_err();
        assert_eq!(
            failure.to_string(),
            "expected error 121 in soap, got error 103 in soap"
        );
    }
}

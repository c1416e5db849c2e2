//! The conformance suite: every case of `protocols/*.json` as one named test.
//!
//! Schema: `protocols/README.md`. A case listed in `protocols/known-failures.json` must fail; if it
//! starts passing, its test fails so the list is kept honest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ipernity::protocol::IncomingRequest;
use ipernity::{Call, Credentials, Error, Format, HttpRequest, Params, Protocol, Value};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;

const BASE_URL: &str = "https://api.ipernity.com/api";

#[derive(Debug, Deserialize)]
struct Manifest {
    cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    format: Option<String>,
    fixture: String,
    expect: serde_json::Value,
    #[serde(default)]
    golden: Option<String>,
    #[serde(default)]
    call: Option<CallSpec>,
    #[serde(default)]
    credentials: Option<CredentialSpec>,
}

#[derive(Debug, Clone, Deserialize)]
struct CallSpec {
    method: String,
    params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CredentialSpec {
    api_key: String,
    secret: String,
    #[serde(default)]
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct KnownFailures {
    cases: Vec<KnownFailure>,
}

#[derive(Debug, Deserialize)]
struct KnownFailure {
    name: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn to_value(json: &serde_json::Value) -> Value {
    serde_json::from_value(json.clone()).unwrap()
}

fn main() {
    let args = Arguments::from_args();
    let known: BTreeSet<String> =
        load::<KnownFailures>(&root().join("protocols/known-failures.json"))
            .cases
            .into_iter()
            .map(|k| k.name)
            .collect();
    let mut trials = Vec::new();
    let mut golden: BTreeMap<String, Vec<Case>> = BTreeMap::default();
    for manifest in ["formats", "rest", "soap", "xmlrpc"] {
        let manifest: Manifest = load(&root().join(format!("protocols/{manifest}.json")));
        for case in manifest.cases {
            if let Some(group) = &case.golden {
                golden.entry(group.clone()).or_default().push(case.clone());
            }
            let is_known = known.contains(&case.name);
            let name = case.name.clone();
            trials.push(Trial::test(name, move || {
                with_known(is_known, run_case(&case))
            }));
        }
    }
    for (group, cases) in golden {
        let name = format!("golden/{group}");
        let is_known = known.contains(&name);
        trials.push(Trial::test(name, move || {
            with_known(is_known, run_golden(&cases))
        }));
    }
    trials.push(Trial::test(
        "suite/known-failure-that-passes-fails",
        || match with_known(true, Ok(())) {
            Err(_) => Ok(()),
            Ok(()) => Err("a passing known failure was not reported".into()),
        },
    ));
    trials.push(Trial::test("suite/size", move || {
        let count = ["formats", "rest", "soap", "xmlrpc"]
            .iter()
            .map(|m| {
                load::<Manifest>(&root().join(format!("protocols/{m}.json")))
                    .cases
                    .len()
            })
            .sum::<usize>();
        if count >= 150 {
            Ok(())
        } else {
            Err(format!("only {count} cases").into())
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}

fn with_known(is_known: bool, outcome: Result<(), String>) -> Result<(), Failed> {
    match (is_known, outcome) {
        (false, outcome) => outcome.map_err(Failed::from),
        (true, Err(_)) => Ok(()),
        (true, Ok(())) => Err(
            "this known failure now passes: remove it from protocols/known-failures.json".into(),
        ),
    }
}

fn run_case(case: &Case) -> Result<(), String> {
    match case.kind.as_deref() {
        None | Some("decode") => run_decode(case),
        Some("encode") => run_encode(case),
        Some("parse") => run_parse(case),
        Some(other) => Err(format!("unknown case kind {other}")),
    }
}

fn format_of(case: &Case) -> Format {
    case.format.as_deref().unwrap().parse().unwrap()
}

fn run_decode(case: &Case) -> Result<(), String> {
    let format = format_of(case);
    let outcome = format.decode(&fixture(&case.fixture));
    check_outcome(&case.expect, format, outcome)
}

fn check_outcome(
    expect: &serde_json::Value,
    format: Format,
    outcome: Result<Value, Error>,
) -> Result<(), String> {
    if let Some(payload) = expect.get("payload") {
        let expected = to_value(payload);
        return match outcome {
            Ok(value) if value == expected => Ok(()),
            Ok(value) => Err(format!(
                "decoded\n  {}\nexpected\n  {}",
                json(&value),
                json(&expected)
            )),
            Err(error) => Err(format!("expected a payload, got {error}")),
        };
    }
    if let Some(error) = expect.get("error") {
        let code = error["code"].as_u64().unwrap() as u32;
        let message = error["message"].as_str().unwrap();
        return match outcome {
            Err(Error::Api(api)) if api.code.as_u32() == code && api.message == message => Ok(()),
            other => Err(format!(
                "expected API error {code} {message:?}, got {other:?}"
            )),
        };
    }
    if let Some(fault) = expect.get("fault") {
        return match outcome {
            Err(Error::Fault {
                code,
                message,
                format: f,
            }) if f == format
                && code == fault["code"].as_str().unwrap()
                && message == fault["message"].as_str().unwrap() =>
            {
                Ok(())
            }
            other => Err(format!("expected fault {fault}, got {other:?}")),
        };
    }
    if expect.get("malformed").is_some() {
        return match outcome {
            Err(Error::Malformed { format: f, .. }) if f == format => Ok(()),
            other => Err(format!(
                "expected a malformed {format} response, got {other:?}"
            )),
        };
    }
    Err(format!("the case expects nothing known: {expect}"))
}

fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

/// The request of a fixture as the emulator sees it.
fn incoming(request: &HttpRequest) -> IncomingRequest<'_> {
    IncomingRequest::from_http(request, "/api")
}

fn run_encode(case: &Case) -> Result<(), String> {
    let spec = case.call.as_ref().ok_or("an encode case needs a call")?;
    let protocol: Protocol = case.name.split('/').next().unwrap().parse().unwrap();
    let params: Params = spec
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut call = Call::with_params(spec.method.clone(), params);
    if let Some(c) = &case.credentials {
        let mut credentials = Credentials::new(c.api_key.clone(), c.secret.clone());
        if let Some(token) = &c.token {
            credentials = credentials.with_token(token.clone());
        }
        call = call.signed(&credentials);
    }
    let format = format_of(case);
    let encoded = protocol
        .transport()
        .encode(BASE_URL, &call, Some(format))
        .map_err(|e| format!("encoding failed: {e}"))?;
    let expected =
        HttpRequest::from_http_text(&fixture(&case.fixture)).map_err(|e| e.to_string())?;
    compare_requests(&encoded, &expected)?;
    // The other direction: the fixture parses back into the same call.
    let parsed = protocol
        .transport()
        .parse(&incoming(&expected))
        .map_err(|e| format!("parsing the fixture: {e}"))?;
    if parsed.call != call || parsed.format != format {
        return Err(format!(
            "the fixture parses back as {:?} in {}, expected {call:?} in {format}",
            parsed.call, parsed.format
        ));
    }
    check_parse_expectation(&case.expect, Ok(parsed))
}

fn run_parse(case: &Case) -> Result<(), String> {
    let request =
        HttpRequest::from_http_text(&fixture(&case.fixture)).map_err(|e| e.to_string())?;
    let incoming = incoming(&request);
    let protocol = Protocol::for_path(incoming.path);
    let declared: Protocol = case.name.split('/').next().unwrap().parse().unwrap();
    if protocol != declared {
        return Err(format!(
            "the fixture's path routes to {protocol}, the case is filed under {declared}"
        ));
    }
    check_parse_expectation(&case.expect, protocol.transport().parse(&incoming))
}

fn check_parse_expectation(
    expect: &serde_json::Value,
    outcome: Result<ipernity::protocol::ParsedRequest, ipernity::protocol::RequestError>,
) -> Result<(), String> {
    let format: Format = expect["format"].as_str().unwrap().parse().unwrap();
    if let Some(code) = expect.get("error") {
        let code = code.as_u64().unwrap() as u32;
        return match outcome {
            Err(e) if e.error.code.as_u32() == code && e.format == format => Ok(()),
            other => Err(format!("expected error {code} in {format}, got {other:?}")),
        };
    }
    let method = expect["method"].as_str().unwrap();
    let params: Params = expect["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    match outcome {
        Ok(parsed)
            if parsed.call.method() == method
                && parsed.call.params() == &params
                && parsed.format == format =>
        {
            Ok(())
        }
        other => Err(format!(
            "expected {method} {params:?} in {format}, got {other:?}"
        )),
    }
}

fn compare_requests(encoded: &HttpRequest, expected: &HttpRequest) -> Result<(), String> {
    if encoded.method != expected.method {
        return Err(format!(
            "method {:?}, expected {:?}",
            encoded.method, expected.method
        ));
    }
    let (path, query) = split_target(&encoded.url);
    let (expected_path, expected_query) = split_target(&expected.url);
    if path != expected_path {
        return Err(format!("path {path}, expected {expected_path}"));
    }
    if form_set(query.as_bytes()) != form_set(expected_query.as_bytes()) {
        return Err(format!("query {query}, expected {expected_query}"));
    }
    for (name, value) in &expected.headers {
        if encoded.header(name) != Some(value.as_str()) {
            return Err(format!(
                "header {name}: {:?}, expected {value:?}",
                encoded.header(name)
            ));
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
        return Err(format!(
            "body\n{}\nexpected\n{}",
            String::from_utf8_lossy(&encoded.body),
            String::from_utf8_lossy(&expected.body)
        ));
    }
    Ok(())
}

fn split_target(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let target = rest.find('/').map_or("/", |i| &rest[i..]);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (path.to_owned(), query.to_owned())
}

/// Form fields as an unordered set of decoded pairs.
fn form_set(text: &[u8]) -> BTreeSet<(String, String)> {
    text.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let text = String::from_utf8_lossy(pair).replace('+', " ");
            let (k, v) = text.split_once('=').unwrap_or((&text, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
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

/// Every case of a golden group decodes to the same value (scalars as text, one-element lists as
/// their element), and the crate's own renderers reproduce it in every format.
fn run_golden(cases: &[Case]) -> Result<(), String> {
    let mut results = Vec::new();
    for case in cases {
        let format = format_of(case);
        let outcome = format.decode(&fixture(&case.fixture));
        results.push((
            case.name.clone(),
            outcome.map(|v| canonical(&v)).map_err(|e| describe(&e)),
        ));
    }
    let formats: BTreeSet<Format> = cases.iter().map(format_of).collect();
    if formats.len() != 5 {
        return Err(format!(
            "the group covers {} formats, expected all five",
            formats.len()
        ));
    }
    let (first_name, first) = &results[0];
    for (name, result) in &results[1..] {
        if result != first {
            return Err(format!(
                "{name} decodes to {result:?}\n{first_name} decodes to {first:?}"
            ));
        }
    }
    let original = cases[0]
        .format
        .as_deref()
        .unwrap()
        .parse::<Format>()
        .unwrap()
        .decode(&fixture(&cases[0].fixture));
    for format in Format::ALL {
        let rendered = match &original {
            Ok(Value::Map(payload)) => format.render(Ok(payload)),
            Ok(other) => return Err(format!("a payload that is not a map: {other:?}")),
            Err(Error::Api(error)) => format.render(Err(error)),
            Err(other) => return Err(format!("golden case failed to decode: {other}")),
        };
        let again = format
            .decode(&rendered)
            .map(|v| canonical(&v))
            .map_err(|e| describe(&e));
        if &again != first {
            return Err(format!(
                "rendered as {format} it decodes to {again:?}, expected {first:?}"
            ));
        }
    }
    Ok(())
}

fn describe(error: &Error) -> String {
    match error {
        Error::Api(api) => format!("api {} {}", api.code, api.message),
        other => other.to_string(),
    }
}

/// The form every format can carry: scalars as text, a one-element list as its element, empty
/// lists, maps and null as "".
fn canonical(value: &Value) -> Value {
    match value {
        Value::List(items) if items.len() == 1 => canonical(&items[0]),
        Value::List(items) if items.is_empty() => Value::from(""),
        Value::List(items) => Value::List(items.iter().map(canonical).collect()),
        Value::Map(map) if map.is_empty() => Value::from(""),
        Value::Map(map) => map
            .iter()
            .filter(|(_, v)| !matches!(v, Value::List(items) if items.is_empty()))
            .map(|(k, v)| (k.clone(), canonical(v)))
            .collect(),
        scalar => Value::from(scalar.to_text().unwrap().as_ref()),
    }
}

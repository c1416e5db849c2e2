//! `ipernity conformance`: the server-side cases of the conformance suite (`protocols/`), sent
//! over HTTP to any endpoint.
//!
//! A case that expects an error (102, 103, 121, 122) is sent byte for byte and must come back
//! as that error in the expected format. A case that expects the request to be understood is
//! re-signed with the given credentials and must come back as anything but those errors: a
//! payload, or an error of a later check (an unknown document, say).

use crate::error::CliError;
use std::path::Path;
use std::time::Duration;

use ipernity::client::{HttpSender, ReqwestSender};
use ipernity::protocol::IncomingRequest;
use ipernity::{Call, Credentials, Error, ErrorCode, Format, HttpRequest, Params, Protocol};

/// Codes that mean the server did not understand the request.
const NOT_UNDERSTOOD: [ErrorCode; 4] = [
    ErrorCode::InvalidFormat,
    ErrorCode::MethodNotFound,
    ErrorCode::InvalidSoapEnvelope,
    ErrorCode::InvalidXmlRpcEnvelope,
];

/// One case's outcome.
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) failure: Option<String>,
}

/// Runs every `parse` case of the protocol manifests in `suite` against `endpoint`, each given
/// at most `case_timeout` (a silent endpoint fails each case in turn instead of stalling the
/// run), handing each outcome to `report` as soon as it is known.
pub(crate) async fn run(
    suite: &Path,
    endpoint: &str,
    credentials: &Credentials,
    case_timeout: Duration,
    report: &mut dyn FnMut(&Outcome),
) -> Result<Vec<Outcome>, CliError> {
    let sender = ReqwestSender::for_api()?;
    let root = suite.parent().unwrap_or(suite);
    let mut outcomes = Vec::new();
    for protocol in Protocol::ALL {
        let path = suite.join(format!("{protocol}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let cases = manifest
            .get("cases")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        for case in cases
            .iter()
            .filter(|c| c.get("kind").and_then(|k| k.as_str()) == Some("parse"))
        {
            let name = case
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("?")
                .to_owned();
            let case = run_case(&sender, root, case, protocol, endpoint, credentials);
            let failure = match tokio::time::timeout(case_timeout, case).await {
                Ok(outcome) => outcome.err(),
                Err(_) => Some(format!("no answer within {} s", case_timeout.as_secs_f64())),
            };
            let outcome = Outcome { name, failure };
            report(&outcome);
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}

async fn run_case(
    sender: &ReqwestSender,
    root: &Path,
    case: &serde_json::Value,
    protocol: Protocol,
    endpoint: &str,
    credentials: &Credentials,
) -> Result<(), String> {
    let fixture = case["fixture"]
        .as_str()
        .ok_or("the case names no fixture")?;
    let bytes = std::fs::read(root.join(fixture)).map_err(|e| format!("{fixture}: {e}"))?;
    let recorded = HttpRequest::from_http_text(&bytes).map_err(|e| e.to_string())?;
    let expect = case.get("expect").ok_or("the case expects nothing")?;
    let format: Format = expect["format"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("{e}"))?;
    let incoming = IncomingRequest::from_http(&recorded, "/api");
    let query = if incoming.query.is_empty() {
        String::new()
    } else {
        format!("?{}", incoming.query)
    };
    let target = format!("/{}{query}", incoming.path);
    if let Some(code) = expect.get("error").and_then(|e| e.as_u64()) {
        let request = HttpRequest {
            url: format!("{}{target}", endpoint.trim_end_matches('/')),
            ..recorded.clone()
        };
        return match send(sender, request, format).await {
            Err(Error::Api(error)) if u64::from(error.code.as_u32()) == code => Ok(()),
            other => Err(format!(
                "expected error {code} in {format}, got {}",
                describe(&other)
            )),
        };
    }
    // Understood requests: the same call, signed with the endpoint's credentials.
    let parsed = protocol
        .transport()
        .parse(&incoming)
        .map_err(|e| format!("the fixture itself does not parse: {e}"))?;
    let params: Params = parsed
        .call
        .params()
        .iter()
        .filter(|(name, _)| !["api_key", "api_sig", "auth_token"].contains(name))
        .collect();
    let call = Call::with_params(parsed.call.method(), params).signed(credentials);
    let request = protocol
        .transport()
        .encode(endpoint, &call, Some(format))
        .map_err(|e| e.to_string())?;
    match send(sender, request, format).await {
        Err(Error::Api(error)) if NOT_UNDERSTOOD.contains(&error.code) => Err(format!(
            "not understood: {}",
            describe(&Err(Error::Api(error)))
        )),
        Ok(_) | Err(Error::Api(_)) => Ok(()),
        other => Err(describe(&other)),
    }
}

async fn send(
    sender: &ReqwestSender,
    request: HttpRequest,
    format: Format,
) -> Result<ipernity::Value, Error> {
    let response = sender
        .send(request, Duration::from_secs(30))
        .await
        .map_err(Error::from)?;
    format.decode(&response.body)
}

fn describe(outcome: &Result<ipernity::Value, Error>) -> String {
    match outcome {
        Ok(_) => "a payload".to_owned(),
        Err(error) => error.to_string(),
    }
}

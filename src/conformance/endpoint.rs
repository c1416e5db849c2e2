//! Running the suite's parse cases against a live endpoint (features `server` and `client`):
//! what `ipernity conformance --endpoint URL` does.
//!
//! A case that expects an error (102, 103, 121, 122) is sent byte for byte and must come back as
//! that error in the expected format. A case that expects the request to be understood is
//! re-signed with the endpoint's credentials and must come back as anything but those errors: a
//! payload, or an error of a later check (an unknown document, say).

use std::time::Duration;

use super::validate::{Failure, describe};
use super::{Case, Check, Parsed, Suite};
use crate::call::{Call, Credentials, Params};
use crate::client::{HttpSender, ReqwestSender};
use crate::error::{Error, ErrorCode};
use crate::format::Format;
use crate::protocol::{HttpRequest, IncomingRequest};
use crate::value::Value;

/// Codes that mean the server did not understand the request.
const NOT_UNDERSTOOD: [ErrorCode; 4] = [
    ErrorCode::InvalidFormat,
    ErrorCode::MethodNotFound,
    ErrorCode::InvalidSoapEnvelope,
    ErrorCode::InvalidXmlRpcEnvelope,
];

/// One case's outcome against an endpoint.
#[derive(Debug)]
#[non_exhaustive]
pub struct EndpointOutcome {
    /// The case.
    pub name: String,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
}

/// Runs every parse case of `suite` against `endpoint`, each given at most `case_timeout` (a
/// silent endpoint fails each case in turn instead of stalling the run), handing each outcome to
/// `report` as soon as it is known.
///
/// # Errors
///
/// When the HTTP sender cannot be built (the TLS backend failed to start).
pub async fn run_against(
    suite: &Suite,
    endpoint: &str,
    credentials: &Credentials,
    case_timeout: Duration,
    report: &mut dyn FnMut(&EndpointOutcome),
) -> Result<Vec<EndpointOutcome>, Error> {
    let sender = ReqwestSender::for_api()?;
    let mut outcomes = Vec::new();
    for case in &suite.cases {
        let Check::Parse { expect, .. } = &case.check else {
            continue;
        };
        let attempt = run_case(&sender, suite, case, expect, endpoint, credentials);
        let outcome = EndpointOutcome::within(&case.name, case_timeout, attempt).await;
        report(&outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

impl EndpointOutcome {
    /// The outcome of case `name`, whose `attempt` gets `timeout` to end: its failure, or the
    /// endpoint's silence (a silent endpoint fails each case in turn, never stalls a run).
    pub(super) async fn within(
        name: &str,
        timeout: Duration,
        attempt: impl std::future::Future<Output = Result<(), Failure>>,
    ) -> EndpointOutcome {
        let failure = match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result.err(),
            Err(_) => Some(Failure::Endpoint(format!(
                "no answer within {} s",
                timeout.as_secs_f64()
            ))),
        };
        EndpointOutcome {
            name: name.to_owned(),
            failure,
        }
    }
}

async fn run_case(
    sender: &ReqwestSender,
    suite: &Suite,
    case: &Case,
    expect: &Parsed,
    endpoint: &str,
    credentials: &Credentials,
) -> Result<(), Failure> {
    let bytes = suite.fixture(&case.fixture)?;
    let recorded = HttpRequest::from_http_text(&bytes).map_err(|e| Failure::Fixture {
        path: case.fixture.clone(),
        reason: e.to_string(),
    })?;
    let incoming = IncomingRequest::from_http(&recorded, "/api");
    let protocol = crate::protocol::Protocol::for_path(incoming.path);
    let query = if incoming.query.is_empty() {
        String::new()
    } else {
        format!("?{}", incoming.query)
    };
    let target = format!("/{}{query}", incoming.path);
    match expect {
        Parsed::Refused { code, format } => {
            let request = HttpRequest {
                url: format!("{}{target}", endpoint.trim_end_matches('/')),
                ..recorded.clone()
            };
            match send(sender, request, *format).await {
                Err(Error::Api(error)) if error.code.as_u32() == *code => Ok(()),
                other => Err(Failure::Outcome {
                    expected: format!("error {code} in {format}"),
                    got: describe(&other),
                }),
            }
        }
        Parsed::Call { format, .. } => {
            // Understood requests: the same call, signed with the endpoint's credentials.
            let parsed = protocol
                .transport()
                .parse(&incoming)
                .map_err(|e| Failure::Fixture {
                    path: case.fixture.clone(),
                    reason: format!("it does not parse: {e}"),
                })?;
            let params: Params = parsed
                .call
                .params()
                .iter()
                .filter(|(name, _)| !["api_key", "api_sig", "auth_token"].contains(name))
                .collect();
            let call = Call::with_params(parsed.call.method(), params).signed(credentials);
            let request = protocol
                .transport()
                .encode(endpoint, &call, Some(*format))
                .map_err(|e| Failure::Encoding(e.to_string()))?;
            match send(sender, request, *format).await {
                Err(Error::Api(error)) if NOT_UNDERSTOOD.contains(&error.code) => {
                    Err(Failure::Outcome {
                        expected: "a request the endpoint understands".to_owned(),
                        got: describe(&Err(Error::Api(error))),
                    })
                }
                Ok(_) | Err(Error::Api(_)) => Ok(()),
                Err(other) => Err(Failure::Endpoint(other.to_string())),
            }
        }
    }
}

async fn send(
    sender: &ReqwestSender,
    request: HttpRequest,
    format: Format,
) -> Result<Value, Error> {
    let response = sender
        .send(request, Duration::from_secs(30))
        .await
        .map_err(Error::from)?;
    format.decode(&response.body)
}

//! One call through the bridge: read within bounds, parsed, forwarded, answered in the caller's
//! protocol and format (the steps of the module's header).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::record::{Exchange, Recorder};
use crate::call::Call;
use crate::client::{HttpResponse, HttpSender, RetryPolicy};
use crate::error::{ApiError, Error, ErrorCode};
use crate::format::Format;
use crate::protocol::{FileContent, FilePart, HttpMethod, HttpRequest, ParsedRequest, Protocol};
use crate::server::listen::LocalAddr;
use crate::server::receive::{Arrival, Intake, Received};
use crate::value::Value;

/// What every call through one bridge shares.
pub(super) struct BridgeState {
    /// The upstream's API base URL, without trailing slash.
    pub(super) upstream: String,
    pub(super) upstream_protocol: Protocol,
    pub(super) sender: Arc<dyn HttpSender>,
    pub(super) call_timeout: Duration,
    pub(super) upload_timeout: Duration,
    pub(super) retry: RetryPolicy,
    /// One permit per call that may be upstream at once.
    pub(super) turns: tokio::sync::Semaphore,
    pub(super) spool_dir: std::path::PathBuf,
    pub(super) max_file_size: u64,
    pub(super) idle_timeout: Duration,
    pub(super) recorder: Option<Recorder>,
}

/// `/api/…`: every call, whatever its protocol.
pub(super) async fn api(
    State(bridge): State<Arc<BridgeState>>,
    local: Option<axum::Extension<LocalAddr>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let intake = Intake {
        spool_dir: &bridge.spool_dir,
        max_file_size: bridge.max_file_size,
        idle_timeout: bridge.idle_timeout,
    };
    let local = local.and_then(|axum::Extension(LocalAddr(addr))| addr);
    let received = match intake.receive(local, &method, &uri, &headers, body).await {
        Arrival::Request(received) => received,
        Arrival::Answered(response) => return response,
    };
    // A turn for the trip upstream; waiting callers hold only their connection.
    let Ok(_turn) = bridge.turns.acquire().await else {
        return answer_error(
            Format::Xml,
            &ApiError::new(ErrorCode::ServiceUnavailable, "the bridge is stopping"),
        );
    };
    exchange(&bridge, received, &headers).await
}

/// Any other path.
pub(super) async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no route for {}; the API lives under /api", uri.path()),
    )
        .into_response()
}

/// Parses, forwards and answers one call.
async fn exchange(bridge: &BridgeState, mut received: Received, headers: &HeaderMap) -> Response {
    let caller = Protocol::for_path(&received.path);
    let mut parsed = match caller.transport().parse(&received.incoming()) {
        Ok(parsed) => parsed,
        Err(refused) => return answer_error(refused.format, &refused.error),
    };
    // The file: its name from the envelope, its bytes from the spool (kept alive to the end).
    let (spooled, _spool) = received.file.take().unzip();
    let file = match (parsed.file.take(), spooled) {
        (envelope, Some(spooled)) => Some(FilePart {
            filename: envelope.and_then(|f| f.filename).or(spooled.filename),
            content: spooled.content,
        }),
        (envelope, None) => envelope,
    };
    let authorization = oauth_authorization(headers);
    let oauth = authorization.is_some()
        || parsed.call.params().get("oauth_consumer_key").is_some()
        || received.query.contains("oauth_consumer_key=");
    if oauth && caller != bridge.upstream_protocol {
        let error = ApiError::new(
            ErrorCode::SignatureInvalid,
            format!(
                "Signature is invalid: an OAuth signature covers how a call is carried, and this \
                 bridge forwards {caller} calls over {}; sign with api_sig, or run the bridge \
                 with the upstream protocol {caller}",
                bridge.upstream_protocol
            ),
        );
        return answer_error(parsed.format, &error);
    }
    let upstream_transport = bridge.upstream_protocol.transport();
    let upstream_format = match upstream_transport.formats().contains(&parsed.format) {
        true => parsed.format,
        // SOAP and XML-RPC answers from a REST upstream: rendered here from its xml answer.
        false => Format::Xml,
    };
    let is_read = crate::methods::lookup(parsed.call.method()).is_some_and(|info| !info.post);
    let same_protocol = caller == bridge.upstream_protocol;
    let carried = Carried {
        authorization,
        query: &received.query,
        same_protocol,
    };
    let (upstream_request, outcome) = match &file {
        Some(file) => match send_upload(bridge, &parsed, file, upstream_format, &carried).await {
            Ok((request, outcome)) => (Some(request), outcome),
            Err(error) => (None, Err(error)),
        },
        None => {
            let request = match same_protocol && upstream_format == parsed.format {
                true => Ok(as_sent(bridge, &received, carried.authorization.clone())),
                false => translated(bridge, &parsed.call, upstream_format),
            };
            match request {
                Ok(request) => {
                    let outcome =
                        send_with_retries(bridge, &request, upstream_format, is_read).await;
                    (Some(request), outcome)
                }
                Err(error) => (None, Err(error)),
            }
        }
    };
    let answer = Answer::from_upstream(outcome, upstream_format, parsed.format);
    if let Some(recorder) = &bridge.recorder {
        recorder
            .record(Exchange {
                caller: &received,
                parsed: &parsed,
                file: file.as_ref(),
                upstream: upstream_request.as_ref(),
                answer: &answer.body,
                format: parsed.format,
            })
            .await;
    }
    answer.into_response(parsed.format)
}

/// How the caller's request is carried upstream besides its call.
struct Carried<'a> {
    /// The caller's `Authorization: OAuth …` header.
    authorization: Option<String>,
    /// The caller's query string.
    query: &'a str,
    /// Whether the upstream speaks the caller's protocol.
    same_protocol: bool,
}

/// The `Authorization` header of an OAuth call.
fn oauth_authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            value
                .get(..6)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("oauth "))
        })
        .map(str::to_owned)
}

/// The caller's request as it came, to the upstream's base: same method, path, query, body.
fn as_sent(
    bridge: &BridgeState,
    received: &Received,
    authorization: Option<String>,
) -> HttpRequest {
    let mut url = format!("{}/{}", bridge.upstream, received.path);
    if !received.query.is_empty() {
        url.push('?');
        url.push_str(&received.query);
    }
    let mut headers = Vec::new();
    if let Some(content_type) = &received.content_type {
        headers.push(("Content-Type".to_owned(), content_type.clone()));
    }
    if let Some(authorization) = authorization {
        headers.push(("Authorization".to_owned(), authorization));
    }
    HttpRequest {
        method: received.method,
        url,
        headers,
        body: received.body.to_vec(),
    }
}

/// The parsed call in the upstream's protocol, always a POST: a token and a signature never go
/// into a URL (access logs), and a long call never meets a URL length limit.
fn translated(bridge: &BridgeState, call: &Call, format: Format) -> Result<HttpRequest, Error> {
    let request =
        bridge
            .upstream_protocol
            .transport()
            .encode(&bridge.upstream, call, Some(format))?;
    Ok(crate::protocol::rest_with_method(request, HttpMethod::Post))
}

/// An upstream's answer, decoded once in the format it was asked for.
struct Upstream {
    response: HttpResponse,
    decoded: Result<Value, Error>,
}

impl Upstream {
    fn new(response: HttpResponse, format: Format) -> Upstream {
        let decoded = format.decode(&response.body);
        Upstream { response, decoded }
    }
}

/// Sends `request`, again while the client's retry policy allows: a read after any failure or
/// retryable answer (500, 501, 503, 112, 113, a gateway's 502–504), a write only when it never
/// left.
async fn send_with_retries(
    bridge: &BridgeState,
    request: &HttpRequest,
    format: Format,
    is_read: bool,
) -> Result<Upstream, Error> {
    let started = Instant::now();
    let mut retry = 0u32;
    loop {
        let attempt = bridge
            .sender
            .send(request.clone(), bridge.call_timeout)
            .await;
        let (outcome, retryable, retry_after) = match attempt {
            Ok(response) => {
                let retry_after = crate::client::retry_after(&response);
                let upstream = Upstream::new(response, format);
                let retryable = is_read
                    && match &upstream.decoded {
                        Ok(_) => false,
                        Err(error @ Error::Api(_)) => crate::client::is_retryable_answer(error),
                        Err(_) => crate::client::is_retryable_status(upstream.response.status),
                    };
                (Ok(upstream), retryable, retry_after)
            }
            Err(failure) => {
                let retryable = failure.before_sending || is_read;
                (Err(Error::from(failure)), retryable, None)
            }
        };
        let Some(delay) = retryable
            .then(|| bridge.retry.next_delay(retry, started, retry_after))
            .flatten()
        else {
            return outcome;
        };
        tracing::warn!(
            retry = retry + 1,
            delay_ms = delay.as_millis() as u64,
            "retrying a read upstream"
        );
        tokio::time::sleep(delay).await;
        retry += 1;
    }
}

/// Sends an upload upstream, its file streamed from the spool (or memory) into the upstream's
/// body; repeated only when it never left. Gives back the request's head with its body as the
/// upstream got it around the file (for the recorder).
async fn send_upload(
    bridge: &BridgeState,
    parsed: &ParsedRequest,
    file: &FilePart,
    format: Format,
    carried: &Carried<'_>,
) -> Result<(HttpRequest, Result<Upstream, Error>), Error> {
    let transport = bridge.upstream_protocol.transport();
    let filename = file.filename.as_deref().unwrap_or("file");
    let mut envelope =
        transport.encode_upload(&bridge.upstream, &parsed.call, filename, Some(format))?;
    if carried.same_protocol {
        // An OAuth signature on an envelope covers its query string and header.
        if bridge.upstream_protocol != Protocol::Rest && !carried.query.is_empty() {
            envelope.head.url.push('?');
            envelope.head.url.push_str(carried.query);
        }
        if let Some(authorization) = &carried.authorization {
            envelope
                .head
                .headers
                .push(("Authorization".to_owned(), authorization.clone()));
        }
    }
    let length = file.len();
    let started = Instant::now();
    let mut retry = 0u32;
    let outcome = loop {
        let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match &file.content {
            FileContent::Memory(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
            FileContent::Spooled { path, .. } => Box::new(
                tokio::fs::File::open(path)
                    .await
                    .map_err(|e| Error::invalid_param("file", e.to_string()))?,
            ),
        };
        let outcome = crate::client::send_envelope(
            &*bridge.sender,
            &envelope,
            reader,
            length,
            bridge.upload_timeout,
            bridge.call_timeout,
        )
        .await;
        let never_left = matches!(
            outcome,
            Err(Error::Connection {
                may_have_been_sent: false,
                ..
            })
        );
        match never_left
            .then(|| bridge.retry.next_delay(retry, started, None))
            .flatten()
        {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                retry += 1;
            }
            None => break outcome,
        }
    };
    let mut head = envelope.head.clone();
    head.body = envelope.before.clone();
    head.body.extend_from_slice(&envelope.after);
    Ok((
        head,
        outcome.map(|response| Upstream::new(response, format)),
    ))
}

/// What the caller gets: the body in its format, and the upstream's `Retry-After`.
struct Answer {
    body: Vec<u8>,
    retry_after: Option<HeaderValue>,
}

impl Answer {
    /// The caller's answer from the upstream's: its bytes when it answered in the caller's
    /// format, its payload or error rendered in the caller's format otherwise, or the service
    /// error that says why there is none.
    fn from_upstream(
        outcome: Result<Upstream, Error>,
        upstream_format: Format,
        format: Format,
    ) -> Answer {
        let Upstream { response, decoded } = match outcome {
            Ok(upstream) => upstream,
            Err(error) => return Answer::failed(format, unreachable_error(&error)),
        };
        let retry_after = response
            .header("retry-after")
            .and_then(|value| HeaderValue::from_str(value).ok());
        if (300..400).contains(&response.status) {
            let error = ApiError::new(
                ErrorCode::ServiceError,
                format!(
                    "Service error: the upstream answered HTTP {} (a redirect, not followed)",
                    response.status
                ),
            );
            return Answer::failed(format, error);
        }
        let body = match decoded {
            Ok(_) | Err(Error::Api(_)) if upstream_format == format => response.body,
            Ok(payload) => match in_envelope(upstream_format, format, &response.body) {
                Some(body) => body,
                None => match payload {
                    Value::Map(payload) => format.render(Ok(&payload)),
                    other => {
                        let error = ApiError::new(
                            ErrorCode::ServiceError,
                            format!(
                                "Service error: the upstream's answer is a {}, not a document",
                                other.kind()
                            ),
                        );
                        format.render(Err(&error))
                    }
                },
            },
            Err(Error::Api(error)) => format.render(Err(&error)),
            Err(_) => {
                let error = match response.status {
                    503 => ApiError::new(
                        ErrorCode::ServiceUnavailable,
                        "Service unavailable: the upstream answered HTTP 503",
                    ),
                    200..=299 => ApiError::new(
                        ErrorCode::ServiceError,
                        format!(
                            "Service error: the upstream's answer is not a {upstream_format} \
                             document"
                        ),
                    ),
                    status => ApiError::new(
                        ErrorCode::ServiceError,
                        format!(
                            "Service error: the upstream answered HTTP {status} without an API \
                             answer"
                        ),
                    ),
                };
                format.render(Err(&error))
            }
        };
        Answer { body, retry_after }
    }

    fn failed(format: Format, error: ApiError) -> Answer {
        Answer {
            body: format.render(Err(&error)),
            retry_after: None,
        }
    }

    fn into_response(self, format: Format) -> Response {
        let mut response = (StatusCode::OK, self.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, after);
        }
        response
    }
}

/// A success answer in xml, in the SOAP or XML-RPC envelope the caller asked for: the document
/// itself goes in, so nothing is lost on the way (its elements' text stays text).
fn in_envelope(upstream_format: Format, format: Format, body: &[u8]) -> Option<Vec<u8>> {
    match upstream_format {
        Format::Xml => crate::format::xml_in_envelope(format, body),
        _ => None,
    }
}

/// The service error for a call that got no answer upstream: 503 when the upstream could not be
/// reached or did not answer in time, 500 when the call could not be sent at all; saying why,
/// never where (the upstream's URL).
fn unreachable_error(error: &Error) -> ApiError {
    match error {
        Error::Connection {
            timed_out: true, ..
        } => ApiError::new(
            ErrorCode::ServiceUnavailable,
            "Service unavailable: the upstream did not answer in time",
        ),
        Error::Connection { source, .. } => ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!("Service unavailable: the upstream could not be reached: {source}"),
        ),
        other => ApiError::new(
            ErrorCode::ServiceError,
            format!("Service error: the call could not be sent upstream: {other}"),
        ),
    }
}

/// An error answered here, as the service answers errors: HTTP 200 in the requested format.
fn answer_error(format: Format, error: &ApiError) -> Response {
    Answer::failed(format, error.clone()).into_response(format)
}

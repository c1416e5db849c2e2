//! The HTTP sender: the one place that touches the network, behind a small object-safe trait so
//! tests (and the `test-util` doubles) can stand in for it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::protocol::{HttpMethod, HttpRequest};

/// A boxed future, as the object-safe [`HttpSender`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An HTTP response, fully read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why sending failed, and whether the request may have reached the server.
///
/// Built from a reqwest error, it keeps the failure's whole chain of causes but never the
/// request's URL (whose query carries `auth_token` and `api_sig`): only its origin.
#[derive(Debug)]
pub struct SendError {
    /// The connection was never established: nothing was sent.
    pub before_sending: bool,
    /// The deadline passed.
    pub timed_out: bool,
    /// What went wrong.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The causes too: "error sending request" alone does not say what went wrong. Each once:
        // some errors (OpenSSL's) already print their cause's text in their own.
        let mut shown = self.source.to_string();
        let mut cause = self.source.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !shown.contains(&text) {
                shown.push_str(": ");
                shown.push_str(&text);
            }
            cause = error.source();
        }
        f.write_str(&shown)
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for crate::error::Error {
    fn from(failure: SendError) -> crate::error::Error {
        crate::error::Error::Connection {
            may_have_been_sent: !failure.before_sending,
            timed_out: failure.timed_out,
            source: Box::new(failure),
        }
    }
}

/// A request body produced piece by piece (an upload streamed from disk).
pub type BodyStream =
    Pin<Box<dyn futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

/// A response whose body is read piece by piece: a document's original, downloaded.
pub struct StreamedResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, as it arrives.
    pub body: BodyStream,
}

impl fmt::Debug for StreamedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamedResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

/// Sends one HTTP request and reads the whole response.
pub trait HttpSender: Send + Sync + fmt::Debug {
    /// Sends `request`, giving up after `timeout`.
    fn send(
        &self,
        request: HttpRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>>;

    /// Sends `head` with a streamed body of exactly `length` bytes. The default collects the
    /// stream and calls [`HttpSender::send`] (test doubles); senders that can stream override it.
    fn send_stream(
        &self,
        head: HttpRequest,
        length: u64,
        body: BodyStream,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            use futures_util::StreamExt;
            let mut collected =
                Vec::with_capacity(usize::try_from(length).unwrap_or(0).min(1 << 20));
            let mut body = body;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| SendError {
                    before_sending: true,
                    timed_out: false,
                    source: Box::new(e),
                })?;
                collected.extend_from_slice(&chunk);
            }
            self.send(
                HttpRequest {
                    body: collected,
                    ..head
                },
                timeout,
            )
            .await
        })
    }

    /// Sends a GET for `url`, with no credentials, and hands back the response as soon as its
    /// head has arrived (within `timeout`); the body follows as a stream. The default reads the
    /// whole response with [`HttpSender::send`] (test doubles); senders that can stream override
    /// it.
    fn get_streamed(
        &self,
        url: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<StreamedResponse, SendError>> {
        Box::pin(async move {
            let request = HttpRequest {
                method: HttpMethod::Get,
                url,
                headers: Vec::new(),
                body: Vec::new(),
            };
            let response = self.send(request, timeout).await?;
            let body = bytes::Bytes::from(response.body);
            Ok(StreamedResponse {
                status: response.status,
                headers: response.headers,
                body: Box::pin(futures_util::stream::iter([Ok(body)])),
            })
        })
    }
}

/// The largest response body read into memory; a longer one is an error.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The [`HttpSender`] over reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestSender {
    client: reqwest::Client,
}

impl ReqwestSender {
    /// A sender over an already configured reqwest client. The client's redirect and referer
    /// settings are its own: [`ReqwestSender::api_client_builder`] gives the safe ones.
    pub fn new(client: reqwest::Client) -> ReqwestSender {
        ReqwestSender { client }
    }

    /// A reqwest builder configured as an API client must be: it follows no redirect (a signed
    /// query or form re-sent elsewhere would hand over the token; a 3xx answer becomes
    /// [`crate::error::Error::Redirect`]) and sends no `Referer`. This is curl's default and what
    /// `Client` itself uses.
    pub fn api_client_builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
    }
}

impl ReqwestSender {
    /// A sender over [`ReqwestSender::api_client_builder`]'s client; an error when reqwest
    /// cannot build one (no TLS backend, say: with `rustls-no-provider`, none was installed).
    pub fn for_api() -> Result<ReqwestSender, crate::error::Error> {
        ReqwestSender::api_client_builder()
            .build()
            .map(ReqwestSender::new)
            .map_err(|e| crate::error::Error::invalid_param("client", e.without_url().to_string()))
    }
}

impl HttpSender for ReqwestSender {
    fn send(
        &self,
        request: HttpRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            let mut builder = self.builder(&request, timeout);
            if request.method == HttpMethod::Post {
                builder = builder.body(request.body);
            }
            let response = builder.send().await.map_err(send_error)?;
            ReqwestSender::read_response(response).await
        })
    }

    fn send_stream(
        &self,
        head: HttpRequest,
        length: u64,
        body: BodyStream,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            let response = self
                .builder(&head, timeout)
                .header(reqwest::header::CONTENT_LENGTH, length)
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
                .map_err(send_error)?;
            ReqwestSender::read_response(response).await
        })
    }

    fn get_streamed(
        &self,
        url: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<StreamedResponse, SendError>> {
        use futures_util::TryStreamExt;
        Box::pin(async move {
            // The deadline covers the head only: a large body takes as long as it takes, and its
            // reader bounds each piece's wait instead.
            let sent = tokio::time::timeout(timeout, self.client.get(&url).send()).await;
            let response = match sent {
                Ok(response) => response.map_err(send_error)?,
                Err(_) => {
                    return Err(SendError {
                        before_sending: false,
                        timed_out: true,
                        source: "timed out waiting for the response head".into(),
                    });
                }
            };
            let status = response.status().as_u16();
            let headers = ReqwestSender::headers_of(&response);
            let body = response
                .bytes_stream()
                .map_err(|e| std::io::Error::other(send_error(e)));
            Ok(StreamedResponse {
                status,
                headers,
                body: Box::pin(body),
            })
        })
    }
}

impl ReqwestSender {
    fn headers_of(response: &reqwest::Response) -> Vec<(String, String)> {
        response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect()
    }

    async fn read_response(mut response: reqwest::Response) -> Result<HttpResponse, SendError> {
        let status = response.status().as_u16();
        let headers = ReqwestSender::headers_of(&response);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(send_error)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(SendError {
                    before_sending: false,
                    timed_out: false,
                    source: format!("the response is longer than {MAX_RESPONSE_BYTES} bytes")
                        .into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn builder(&self, request: &HttpRequest, timeout: Duration) -> reqwest::RequestBuilder {
        let method = match request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, &request.url).timeout(timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
    }
}

/// The failure without the request's URL: reqwest's errors print it whole, query included, and
/// the query of a REST call carries `auth_token` and `api_sig`. Only the origin is kept.
fn send_error(error: reqwest::Error) -> SendError {
    let origin = error.url().map(origin_of);
    let before_sending = error.is_connect() || error.is_builder();
    let timed_out = error.is_timeout();
    let what = if timed_out {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_builder() {
        "could not build the request"
    } else if error.is_body() || error.is_decode() {
        "a body failed (the request's, or the response's cut short)"
    } else {
        "the exchange failed"
    };
    let what = match origin {
        Some(origin) => format!("{what} ({origin})"),
        None => what.to_owned(),
    };
    SendError {
        before_sending,
        timed_out,
        source: Box::new(Failure {
            what,
            cause: error.without_url(),
        }),
    }
}

/// `scheme://host[:port]` of `url`: what an error may say about where a request went.
fn origin_of(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_owned(),
    }
}

/// A reqwest failure described in words, its URL already removed.
#[derive(Debug)]
struct Failure {
    what: String,
    cause: reqwest::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

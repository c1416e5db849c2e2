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
        write!(f, "{}", self.source)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// A request body produced piece by piece (an upload streamed from disk).
pub type BodyStream =
    Pin<Box<dyn futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

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
}

/// The largest response body read into memory; a longer one is an error.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The [`HttpSender`] over reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestSender {
    client: reqwest::Client,
}

impl ReqwestSender {
    /// A sender over an already configured reqwest client.
    pub fn new(client: reqwest::Client) -> ReqwestSender {
        ReqwestSender { client }
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
}

impl ReqwestSender {
    async fn read_response(mut response: reqwest::Response) -> Result<HttpResponse, SendError> {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
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

fn send_error(error: reqwest::Error) -> SendError {
    SendError {
        before_sending: error.is_connect() || error.is_builder(),
        timed_out: error.is_timeout(),
        source: Box::new(error),
    }
}

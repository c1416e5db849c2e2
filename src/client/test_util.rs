//! Test doubles for the HTTP sender (feature `test-util`), so that crates depending on this one
//! test their own code offline.
//!
//! ```
//! # async fn run() -> Result<(), ipernity::Error> {
//! use std::sync::Arc;
//! use ipernity::Client;
//! use ipernity::client::HttpResponse;
//! use ipernity::client::test_util::ReplaySender;
//!
//! let sender = Arc::new(ReplaySender::new([
//!     HttpResponse::new(200, r#"{"api":{"status":"ok"},"hello":"hello world!"}"#),
//! ]));
//! let client = Client::builder().credentials("key", "secret").sender(sender.clone()).build()?;
//! let payload = client.call("test.hello").send().await?;
//! assert_eq!(payload.get("hello").and_then(|v| v.as_str()), Some("hello world!"));
//! assert!(sender.requests()[0].url.contains("/test.hello/json?api_key=key&api_sig="));
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{BoxFuture, HttpResponse, HttpSender, SendError};
use crate::protocol::HttpRequest;

/// One scripted answer of a [`ReplaySender`].
#[derive(Debug)]
pub enum Reply {
    /// Answer with this response.
    Respond(HttpResponse),
    /// Fail before anything is sent (a refused connection).
    RefuseConnection,
    /// Fail after the request went out (a dropped connection).
    DropConnection,
}

impl From<HttpResponse> for Reply {
    fn from(response: HttpResponse) -> Self {
        Reply::Respond(response)
    }
}

/// Answers requests with scripted replies, in order, and records every request. A request past
/// the end of the script fails with a message naming it.
#[derive(Debug, Default)]
pub struct ReplaySender {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<HttpRequest>>,
}

impl ReplaySender {
    /// A sender that gives `replies` in order.
    pub fn new<R: Into<Reply>>(replies: impl IntoIterator<Item = R>) -> ReplaySender {
        ReplaySender {
            replies: Mutex::new(replies.into_iter().map(Into::into).collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many scripted replies are left.
    pub fn remaining(&self) -> usize {
        self.replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl HttpSender for ReplaySender {
    fn send(
        &self,
        request: HttpRequest,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        let description = format!("{} {}", request.method.as_str(), request.url);
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
        let reply = self
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        Box::pin(async move {
            match reply {
                Some(Reply::Respond(response)) => Ok(response),
                Some(Reply::RefuseConnection) => Err(SendError {
                    before_sending: true,
                    timed_out: false,
                    source: "connection refused (scripted)".into(),
                }),
                Some(Reply::DropConnection) => Err(SendError {
                    before_sending: false,
                    timed_out: false,
                    source: "connection closed before the response (scripted)".into(),
                }),
                None => Err(SendError {
                    before_sending: true,
                    timed_out: false,
                    source: format!("no scripted reply left for {description}").into(),
                }),
            }
        })
    }
}

/// Records every request and answers each with the same response.
#[derive(Debug)]
pub struct CapturingSender {
    response: HttpResponse,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
}

impl CapturingSender {
    /// A sender that answers every request with `response`.
    pub fn new(response: HttpResponse) -> CapturingSender {
        CapturingSender {
            response,
            requests: Arc::default(),
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl HttpSender for CapturingSender {
    fn send(
        &self,
        request: HttpRequest,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
        let response = self.response.clone();
        Box::pin(async move { Ok(response) })
    }
}

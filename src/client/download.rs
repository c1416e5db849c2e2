//! Downloading a document's file (an original or a thumbnail) from the URL an answer gave: the
//! body arrives as a stream, so a file of any size passes through a few pieces of memory.

use std::fmt;
use std::time::Instant;

use super::{BodyStream, Client, is_retryable_status, redirect_target};
use crate::error::Error;

/// A file being downloaded: its announced length and its body, piece by piece.
pub struct Download {
    /// The length the server announced (`Content-Length`), if it did.
    pub length: Option<u64>,
    /// The body as it arrives; an error in it is the connection's (cut short, stalled).
    pub body: BodyStream,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts downloading `url` (a media URL from an answer: `original.url`, a thumbnail's
    /// `url`). No credential goes with it and no redirect is followed. The head is awaited with
    /// the call timeout and retried as reads are (connection failures, 502/503/504); the body is
    /// the caller's to read, and to bound in time.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`], [`Error::Redirect`], or [`Error::Http`] for a status other than
    /// 200.
    pub async fn download(&self, url: &str) -> Result<Download, Error> {
        let inner = &self.inner;
        let started = Instant::now();
        let mut retry = 0u32;
        loop {
            let attempt = inner
                .sender
                .get_streamed(url.to_owned(), inner.call_timeout)
                .await;
            let (error, retryable) = match attempt {
                Ok(response) if response.status == 200 => {
                    let length = response
                        .headers
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, value)| value.trim().parse().ok());
                    return Ok(Download {
                        length,
                        body: response.body,
                    });
                }
                Ok(response) if (300..400).contains(&response.status) => {
                    let location = response
                        .headers
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
                        .map(|(_, value)| value.as_str());
                    let error = Error::Redirect {
                        status: response.status,
                        target: redirect_target(location),
                    };
                    return Err(error);
                }
                Ok(response) => (
                    Error::Http {
                        status: response.status,
                        body_prefix: String::new(),
                    },
                    is_retryable_status(response.status),
                ),
                Err(failure) => (Error::from(failure), true),
            };
            let Some(delay) = retryable
                .then(|| inner.retry.next_delay(retry, started, None))
                .flatten()
            else {
                return Err(error);
            };
            tracing::warn!(retry = retry + 1, delay_ms = delay.as_millis() as u64, error = %error, "retrying a download");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

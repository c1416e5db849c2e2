//! What one request may make the emulator spend, enforced before any credential is checked:
//! body sizes, parameters, the pace of a body, connections, and spool files that never outlive
//! the request that made them. Every figure here is listed in the README's "Guarantees".

use std::path::PathBuf;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The largest body read whole: a form, a query-only call's body, an envelope without a file.
/// A call's parameters are short; uploads stream (multipart) or go through the file extractor
/// (envelopes larger than this).
pub(crate) const MAX_BUFFERED_BODY: usize = 1024 * 1024;
/// The most parameters one form body or query string may carry (counted before decoding).
pub(crate) const MAX_PARAMS: usize = 1000;
/// Beyond what the largest file takes, what an upload body may add: the other parameters, the
/// envelope and the multipart framing.
pub(crate) const UPLOAD_OVERHEAD: u64 = 2 * 1024 * 1024;
/// A body must arrive at this pace on average once its grace period (the idle timeout) is over:
/// Apache's `mod_reqtimeout` default (`body=20,MinRate=500`). One byte every few seconds keeps
/// no connection.
pub(crate) const MIN_BODY_RATE: u64 = 500;
/// Connections served at once; the next waits in the kernel's backlog until one closes (nginx's
/// `worker_connections` default is 512).
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyRefused {
    /// Announced or grown beyond its limit.
    TooLarge,
    /// It stalled, went too slowly, or failed.
    Unreadable,
}

impl IntoResponse for BodyRefused {
    fn into_response(self) -> Response {
        match self {
            BodyRefused::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response()
            }
            BodyRefused::Unreadable => (
                StatusCode::REQUEST_TIMEOUT,
                "the request body stalled, was too slow, or failed",
            )
                .into_response(),
        }
    }
}

/// Refuses a body announced (`Content-Length`) larger than `limit`, before a byte is read.
pub(crate) fn refuse_announced(body: &Body, limit: u64) -> Result<(), BodyRefused> {
    if http_body::Body::size_hint(body).lower() > limit {
        return Err(BodyRefused::TooLarge);
    }
    Ok(())
}

/// A request body as a stream that fails when the client sends nothing for `idle`, or when,
/// after a grace period of `idle`, it has sent fewer than [`MIN_BODY_RATE`] bytes a second on
/// average.
pub(crate) fn paced(
    body: Body,
    idle: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Unpin {
    use futures_util::StreamExt;
    let started = tokio::time::Instant::now();
    Box::pin(futures_util::stream::unfold(
        Some((body.into_data_stream(), 0u64)),
        move |state| async move {
            let (mut stream, received) = state?;
            // The body may take the grace period plus one second per MIN_BODY_RATE bytes.
            let allowed = idle.saturating_add(Duration::from_secs(received / MIN_BODY_RATE));
            let deadline = (started + allowed).min(tokio::time::Instant::now() + idle);
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(chunk))) => {
                    let received = received.saturating_add(chunk.len() as u64);
                    Some((Ok(chunk), Some((stream, received))))
                }
                Ok(Some(Err(error))) => Some((Err(error.to_string()), None)),
                Ok(None) => None,
                Err(_) => Some((
                    Err(format!(
                        "the body stalled or came slower than {MIN_BODY_RATE} bytes a second"
                    )),
                    None,
                )),
            }
        },
    ))
}

/// Reads a whole body of at most `limit` bytes: one announced larger is refused before a byte
/// is read, one that grows larger as soon as it does, one that stalls or crawls as [`paced`]
/// says.
pub(crate) async fn read_limited(
    body: Body,
    limit: usize,
    idle: Duration,
) -> Result<Bytes, BodyRefused> {
    use futures_util::StreamExt;
    refuse_announced(&body, u64::try_from(limit).unwrap_or(u64::MAX))?;
    let mut stream = paced(body, idle);
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyRefused::Unreadable)?;
        if bytes.len() + chunk.len() > limit {
            return Err(BodyRefused::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

/// Whether a query string or form body carries more than [`MAX_PARAMS`] parameters, counted on
/// the raw bytes (no parameter is decoded to find out).
pub(crate) fn too_many_params(encoded: &[u8]) -> bool {
    !encoded.is_empty() && memchr::memchr_iter(b'&', encoded).count() >= MAX_PARAMS
}

/// An upload's spool file: it is removed when this is dropped, whatever ended the request (an
/// error, a refusal, a client gone mid-body, a cancelled handler), unless a document took it
/// (renamed it away) first.
#[derive(Debug)]
pub(crate) struct Spool {
    path: PathBuf,
}

impl Spool {
    /// A new spool file name in `dir` (nothing is created yet).
    pub(crate) fn in_dir(dir: &std::path::Path) -> std::io::Result<Spool> {
        let name = crate::random::io_token()?;
        Ok(Spool {
            path: dir.join(format!("upload-{name}.part")),
        })
    }

    /// Where the bytes go.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Gone already when a document took it: nothing to do then.
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "removing a spool file failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_counted_without_decoding() {
        assert!(!too_many_params(b""));
        assert!(!too_many_params("a=1&".repeat(999).as_bytes()));
        assert!(too_many_params("a=1&".repeat(1000).as_bytes()));
    }

    #[test]
    fn a_spool_file_goes_with_its_guard() {
        let dir = std::env::temp_dir();
        let spool = Spool::in_dir(&dir).unwrap();
        std::fs::write(spool.path(), b"partial").unwrap();
        let path = spool.path().to_owned();
        drop(spool);
        assert!(!path.exists());
        // Taken away first: dropping it is quiet.
        let spool = Spool::in_dir(&dir).unwrap();
        drop(spool);
    }
}

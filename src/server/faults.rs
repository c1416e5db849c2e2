//! Fault injection for tests: make the next N requests, or every K-th, answer an API error or an
//! HTTP status, or drop the connection.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What an injected fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this API error code (HTTP 200, in the requested format).
    Api(u32),
    /// Answer this HTTP status with an HTML page, as a proxy would.
    Http(u16),
    /// Close the connection without a complete response.
    CloseConnection,
}

/// Which requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The next N requests.
    Next(u32),
    /// Every K-th request from now on (the K-th, the 2K-th, …).
    Every(u32),
}

/// The active fault plan.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    plan: Option<(Fault, Schedule)>,
    /// Only calls of this method count, when set.
    method: Option<String>,
    seen: u64,
}

impl Faults {
    pub(crate) fn set(&mut self, fault: Fault, schedule: Schedule, method: Option<String>) {
        self.plan = Some((fault, schedule));
        self.method = method;
        self.seen = 0;
    }

    pub(crate) fn clear(&mut self) {
        self.plan = None;
    }

    /// The fault for the request arriving now (calling `method`, when it could be read), if any.
    pub(crate) fn next(&mut self, method: Option<&str>) -> Option<Fault> {
        let (fault, schedule) = self.plan?;
        if self.method.is_some() && self.method.as_deref() != method {
            return None;
        }
        self.seen += 1;
        match schedule {
            Schedule::Next(0) => {
                self.plan = None;
                None
            }
            Schedule::Next(left) => {
                self.plan = (left > 1).then_some((fault, Schedule::Next(left - 1)));
                Some(fault)
            }
            Schedule::Every(k) => {
                (k > 0 && self.seen.is_multiple_of(u64::from(k))).then_some(fault)
            }
        }
    }
}

/// A proxy's error page for an injected HTTP status.
pub(crate) fn http_page(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let page = format!(
        "<html><head><title>{code}</title></head><body><h1>{code}</h1><hr>injected by the emulator</body></html>"
    );
    (code, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// A response whose body fails at once, so the server drops the connection mid-response.
pub(crate) fn dropped_connection() -> Response {
    Response::new(Body::new(FailingBody))
}

struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection closed by fault injection",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_hit_the_right_requests() {
        let mut faults = Faults::default();
        faults.set(Fault::Http(503), Schedule::Next(2), None);
        assert_eq!(
            [faults.next(None), faults.next(Some("a")), faults.next(None)],
            [Some(Fault::Http(503)), Some(Fault::Http(503)), None]
        );
        faults.set(Fault::Api(113), Schedule::Every(3), None);
        let hits: Vec<bool> = (0..7).map(|_| faults.next(None).is_some()).collect();
        assert_eq!(hits, [false, false, true, false, false, true, false]);
        faults.clear();
        assert_eq!(faults.next(None), None);
    }

    #[test]
    fn a_plan_for_one_method_ignores_the_others() {
        let mut faults = Faults::default();
        faults.set(
            Fault::Api(113),
            Schedule::Next(2),
            Some("upload.file".into()),
        );
        let seen: Vec<bool> = [
            Some("account.getQuota"),
            Some("upload.file"),
            None,
            Some("upload.checkTickets"),
            Some("upload.file"),
            Some("upload.file"),
        ]
        .map(|method| faults.next(method).is_some())
        .to_vec();
        assert_eq!(seen, [false, true, false, false, true, false]);
    }
}

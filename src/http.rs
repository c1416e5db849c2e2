//! [`HttpRequest`]: an HTTP request as the protocols encode it and the emulator's parsers read
//! it, below both; and its HTTP/1.1 text form, which the conformance fixtures are written in.
//! Nothing here does I/O.

use std::fmt;

use crate::error::Error;

/// The HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
}

impl HttpMethod {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// An HTTP request as a transport encodes it: nothing is sent yet.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: HttpMethod,
    /// The absolute URL, query string included.
    pub url: String,
    /// Headers other than `Host` and `Content-Length`.
    pub headers: Vec<(String, String)>,
    /// The body (empty for GET).
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL and body may carry a token; show their sizes only.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url_len", &self.url.len())
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpRequest {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The request in HTTP/1.1 text form: request line with the path, `Host`, the headers,
    /// `Content-Length` for a body, a blank line, the body. This is also the form of the request
    /// fixtures of the conformance suite.
    pub fn to_http_text(&self) -> Vec<u8> {
        let (host, target) = split_url(&self.url);
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method.as_str(),
            target,
            host
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.method == HttpMethod::Post || !self.body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// Reads the HTTP/1.1 text form (lines may end in `\n` or `\r\n`). The URL becomes
    /// `http://{Host}{target}`; `Host` and `Content-Length` are not kept as headers, and a
    /// `Content-Length` must match the body.
    pub fn from_http_text(text: &[u8]) -> Result<HttpRequest, Error> {
        let bad = |reason: &str| Error::invalid_param("request", reason.to_owned());
        let split = find_subslice(text, b"\r\n\r\n")
            .map(|at| (at, at + 4))
            .or_else(|| find_subslice(text, b"\n\n").map(|at| (at, at + 2)))
            .unwrap_or((text.len(), text.len()));
        let head = std::str::from_utf8(text.get(..split.0).unwrap_or_default())
            .map_err(|_| bad("the request head is not UTF-8"))?;
        let body = text.get(split.1..).unwrap_or_default().to_vec();
        let mut lines = head.lines();
        let request_line = lines.next().ok_or_else(|| bad("no request line"))?;
        let mut parts = request_line.split(' ');
        let method = match parts.next() {
            Some("GET") => HttpMethod::Get,
            Some("POST") => HttpMethod::Post,
            _ => return Err(bad("the method must be GET or POST")),
        };
        let target = parts.next().ok_or_else(|| bad("no request target"))?;
        let mut host = "localhost".to_owned();
        let mut headers = Vec::new();
        let mut declared_length = None;
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad("a header line without `:`"))?;
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("host") {
                host = value;
            } else if name.eq_ignore_ascii_case("content-length") {
                declared_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| bad("a bad Content-Length"))?,
                );
            } else {
                headers.push((name.trim().to_owned(), value));
            }
        }
        if declared_length.is_some_and(|length| length != body.len()) {
            return Err(bad("Content-Length does not match the body"));
        }
        Ok(HttpRequest {
            method,
            url: format!("http://{host}{target}"),
            headers,
            body,
        })
    }
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Splits an absolute URL into its host and its path with query.
pub(crate) fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.find('/') {
        Some(slash) => (
            rest.get(..slash).unwrap_or_default(),
            rest.get(slash..).unwrap_or("/"),
        ),
        None => (rest, "/"),
    }
}

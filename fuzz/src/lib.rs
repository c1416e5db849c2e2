//! What the request-parser targets share: one byte of the input picks the HTTP method, the
//! path suffix and the content type (form, multipart, XML or none); the rest is the body (and,
//! for GET, the query string).

use ipernity::protocol::IncomingRequest;
use ipernity::{HttpMethod, Protocol};

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=XyZ"),
    Some("text/xml; charset=utf-8"),
    None,
];

/// Runs `protocol`'s request parser, as the emulator does, on the request `data` describes.
pub fn parse_request(protocol: Protocol, data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = if selector & 1 == 0 {
        HttpMethod::Post
    } else {
        HttpMethod::Get
    };
    let base = match protocol {
        Protocol::Rest => "test.echo",
        Protocol::Soap => "soap",
        Protocol::XmlRpc => "xmlrpc",
    };
    let path = match (selector >> 1) & 3 {
        0 => base.to_owned(),
        1 => format!("{base}/json"),
        2 => format!("{base}/php"),
        _ => format!("{base}/xmlrpc"),
    };
    let query = if method == HttpMethod::Get {
        std::str::from_utf8(rest).unwrap_or_default()
    } else {
        ""
    };
    let content_type = CONTENT_TYPES
        .get(usize::from((selector >> 3) & 3))
        .copied()
        .flatten();
    let request = IncomingRequest {
        method,
        path: &path,
        query,
        content_type,
        body: rest,
    };
    let _ = protocol.transport().parse(&request);
}

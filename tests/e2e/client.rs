//! The client against scripted senders (retries, pre-flight checks, every protocol and format)
//! and, through reqwest, against a loopback HTTP server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use ipernity::client::HttpResponse;
use ipernity::client::test_util::{CapturingSender, ReplaySender, Reply};
use ipernity::{
    ApiError, Client, Error, ErrorCode, Format, HttpMethod, Map, Protocol, RetryPolicy, Value,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "6fa87ba500002712bd4eed6020f3bd72";
const SECRET: &str = "e9a599f0cf6ce193";
const TOKEN: &str = "12345-a0b1c2d3e4f5";

fn payload(pairs: &[(&str, &str)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), Value::from(*v)))
        .collect()
}

fn ok(format: Format, pairs: &[(&str, &str)]) -> HttpResponse {
    HttpResponse::new(200, format.render(Ok(&payload(pairs))))
}

fn api_error(format: Format, code: u32) -> HttpResponse {
    HttpResponse::new(200, format.render(Err(&ApiError::new(code, "scripted"))))
}

fn html(status: u16) -> HttpResponse {
    HttpResponse::new(
        status,
        format!("<html><body><h1>{status} Bad Gateway</h1></body></html>"),
    )
}

fn client(sender: Arc<dyn ipernity::client::HttpSender>, token: bool) -> Client {
    let mut builder = Client::builder()
        .endpoint("http://emulator.test/api")
        .credentials(KEY, SECRET)
        .retry(RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(30),
        })
        .sender(sender);
    if token {
        builder = builder.token(TOKEN);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn every_protocol_and_format_round_trips_a_signed_call() {
    for protocol in Protocol::ALL {
        for &format in protocol.transport().formats() {
            let sender = Arc::new(CapturingSender::new(ok(format, &[("echo", "Zoë <&>")])));
            let client = client(sender.clone(), true);
            let value = client
                .call("test.echo")
                .param("echo", "Zoë <&>")
                .protocol(protocol)
                .format(format)
                .send()
                .await
                .unwrap();
            assert_eq!(
                value.get("echo").and_then(Value::as_str),
                Some("Zoë <&>"),
                "{protocol} {format}"
            );
            let request = &sender.requests()[0];
            let parsed = protocol
                .transport()
                .parse(&ipernity::protocol::IncomingRequest::from_http(
                    request, "/api",
                ))
                .unwrap();
            assert_eq!(parsed.format, format);
            let params = parsed.call.params();
            assert_eq!(params.get("auth_token"), Some(TOKEN));
            let expected = ipernity::sign::api_sig(
                "test.echo",
                &{
                    let mut p = params.clone();
                    p.remove("api_sig");
                    p
                },
                &ipernity::Secret::new(SECRET),
            );
            assert_eq!(
                params.get("api_sig"),
                Some(expected.as_str()),
                "{protocol} {format}"
            );
        }
    }
}

#[tokio::test]
async fn reads_use_get_and_writes_use_post_on_rest() {
    let sender = Arc::new(CapturingSender::new(ok(Format::Json, &[("x", "1")])));
    let client = client(sender.clone(), true);
    client
        .call("doc.get")
        .param("doc_id", 1)
        .send()
        .await
        .unwrap();
    client
        .call("doc.delete")
        .param("doc_id", 1)
        .send()
        .await
        .unwrap();
    let requests = sender.requests();
    assert_eq!(requests[0].method, HttpMethod::Get);
    assert!(
        requests[0]
            .url
            .starts_with("http://emulator.test/api/doc.get/json?")
    );
    assert_eq!(requests[1].method, HttpMethod::Post);
    assert_eq!(requests[1].url, "http://emulator.test/api/doc.delete/json");
}

#[tokio::test]
async fn the_registry_stops_unknown_methods_and_missing_tokens_before_sending() {
    let sender = Arc::new(ReplaySender::new(Vec::<Reply>::new()));
    let without_token = client(sender.clone(), false);
    assert!(
        matches!(without_token.call("doc.fly").send().await, Err(Error::UnknownMethod { method }) if method == "doc.fly")
    );
    assert!(
        matches!(without_token.call("doc.delete").param("doc_id", 1).send().await, Err(Error::TokenRequired { method }) if method == "doc.delete")
    );
    assert!(sender.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_read_succeeds_after_two_503s() {
    let sender = Arc::new(ReplaySender::new([
        html(503),
        html(503),
        ok(Format::Json, &[("hello", "hello world!")]),
    ]));
    let value = client(sender.clone(), false)
        .call("test.hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        value.get("hello").and_then(Value::as_str),
        Some("hello world!")
    );
    assert_eq!(sender.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_read_is_retried_on_retryable_api_codes_only() {
    for code in [500, 501, 503, 112, 113] {
        let sender = Arc::new(ReplaySender::new([
            api_error(Format::Xml, code),
            ok(Format::Xml, &[("hello", "x")]),
        ]));
        let value = client(sender.clone(), false)
            .call("test.hello")
            .format(Format::Xml)
            .send()
            .await;
        assert!(value.is_ok(), "{code}: {value:?}");
        assert_eq!(sender.requests().len(), 2, "{code}");
    }
    for code in [1, 100, 105, 110, 121] {
        let sender = Arc::new(ReplaySender::new([
            api_error(Format::Json, code),
            ok(Format::Json, &[]),
        ]));
        let error = client(sender.clone(), false)
            .call("test.hello")
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.api_error().map(|e| e.code.as_u32()), Some(code));
        assert_eq!(sender.requests().len(), 1, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_write_facing_a_dropped_connection_is_not_repeated() {
    let sender = Arc::new(ReplaySender::new([
        Reply::DropConnection,
        ok(Format::Json, &[]).into(),
    ]));
    let error = client(sender.clone(), true)
        .call("doc.delete")
        .param("doc_id", 7)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connection {
                may_have_been_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("may have been sent"), "{error}");
    assert_eq!(sender.requests().len(), 1);
    assert_eq!(sender.remaining(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_write_is_repeated_only_when_it_never_left() {
    let sender = Arc::new(ReplaySender::new([
        Reply::RefuseConnection,
        ok(Format::Json, &[("album", "1")]).into(),
    ]));
    assert!(
        client(sender.clone(), true)
            .call("album.create")
            .param("title", "t")
            .send()
            .await
            .is_ok()
    );
    assert_eq!(sender.requests().len(), 2);

    for reply in [
        api_error(Format::Json, 113),
        api_error(Format::Json, 503),
        html(503),
    ] {
        let sender = Arc::new(ReplaySender::new([reply, ok(Format::Json, &[])]));
        assert!(
            client(sender.clone(), true)
                .call("album.create")
                .param("title", "t")
                .send()
                .await
                .is_err()
        );
        assert_eq!(sender.requests().len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn rate_limits_back_off_and_honour_retry_after() {
    let sender = Arc::new(ReplaySender::new([
        api_error(Format::Json, 113),
        ok(Format::Json, &[]),
    ]));
    let started = tokio::time::Instant::now();
    client(sender, false)
        .call("test.hello")
        .send()
        .await
        .unwrap();
    // A 113 pauses the client (and its clones) for 1 s before anything else is sent, the first
    // step of the shared slowdown; the retry's own backoff runs inside that pause.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_millis(1200),
        "{waited:?}"
    );

    let mut limited = api_error(Format::Json, 113);
    limited.headers.push(("retry-after".into(), "5".into()));
    let sender = Arc::new(ReplaySender::new([limited, ok(Format::Json, &[])]));
    let started = tokio::time::Instant::now();
    client(sender, false)
        .call("test.hello")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded() {
    let sender = Arc::new(ReplaySender::new((0..10).map(|_| html(503))));
    let error = client(sender.clone(), false)
        .call("test.hello")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Http { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(sender.requests().len(), 4);
}

#[tokio::test]
async fn non_api_bodies_keep_the_status_and_the_first_bytes() {
    let sender = Arc::new(ReplaySender::new([html(502)]));
    let error = client(sender, true)
        .call("doc.delete")
        .param("doc_id", 1)
        .send()
        .await
        .unwrap_err();
    match error {
        Error::Http {
            status,
            body_prefix,
        } => {
            assert_eq!(status, 502);
            assert!(body_prefix.contains("502 Bad Gateway"), "{body_prefix}");
        }
        other => panic!("{other:?}"),
    }
    let long = HttpResponse::new(500, vec![b'x'; 10_000]);
    let error = client(Arc::new(ReplaySender::new([long])), true)
        .call("doc.delete")
        .param("doc_id", 1)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Http { body_prefix, .. } if body_prefix.len() == ipernity::error::BODY_PREFIX_LEN)
    );
    // An API error carried by a non-2xx status is still the API error.
    let error = client(
        Arc::new(ReplaySender::new([HttpResponse::new(
            403,
            Format::Json.render(Err(&ApiError::global(ErrorCode::IpNotAllowed))),
        )])),
        true,
    )
    .call("doc.delete")
    .param("doc_id", 1)
    .send()
    .await
    .unwrap_err();
    assert_eq!(
        error.api_error().map(|e| e.code),
        Some(ErrorCode::IpNotAllowed)
    );
}

#[tokio::test]
async fn send_as_reads_typed_payloads() {
    #[derive(serde::Deserialize)]
    struct Tickets {
        tickets: TicketList,
    }
    #[derive(serde::Deserialize)]
    struct TicketList {
        #[serde(default)]
        ticket: Vec<Ticket>,
    }
    #[derive(serde::Deserialize)]
    struct Ticket {
        id: String,
        done: bool,
        #[serde(default)]
        doc_id: Option<u64>,
    }
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/responses/soap/upload.checkTickets-several.xml"
    ))
    .unwrap();
    let sender = Arc::new(ReplaySender::new([HttpResponse::new(200, body)]));
    let client = Client::builder()
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .protocol(Protocol::Soap)
        .sender(sender)
        .build()
        .unwrap();
    let tickets: Tickets = client
        .call("upload.checkTickets")
        .param("tickets", "712218,712219")
        .send_as()
        .await
        .unwrap();
    assert_eq!(tickets.tickets.ticket.len(), 4);
    assert!(tickets.tickets.ticket[0].done);
    assert_eq!(tickets.tickets.ticket[0].doc_id, Some(5412));
    assert_eq!(tickets.tickets.ticket[3].id, "712311");
    let err = client
        .call("upload.checkTickets")
        .send_as::<Tickets>()
        .await;
    assert!(err.is_err());
}

#[test]
fn the_builder_refuses_settings_that_cannot_work() {
    assert!(
        matches!(Client::builder().build(), Err(Error::InvalidParam { param, .. }) if param == "api_key")
    );
    let bad_format = Client::builder()
        .credentials("k", "s")
        .protocol(Protocol::Rest)
        .format(Format::Soap)
        .build();
    assert!(matches!(bad_format, Err(Error::InvalidParam { param, .. }) if param == "format"));
    assert!(
        Client::builder()
            .credentials("k", "s")
            .endpoint("ftp://x")
            .build()
            .is_err()
    );
    assert!(
        Client::builder()
            .credentials("k", "s")
            .proxy("::not a url::")
            .build()
            .is_err()
    );
}

/// A loopback HTTP/1.1 server that answers each connection's request with `response` and hands
/// back the raw requests it read.
async fn loopback(responses: Vec<Vec<u8>>) -> (String, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let mut seen = Vec::new();
        for response in responses {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let n = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..n]);
                if let Some(head_end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            socket.write_all(&response).await.unwrap();
            socket.shutdown().await.ok();
            seen.push(request);
        }
        seen
    });
    (format!("http://{address}/api"), handle)
}

fn http_response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn reqwest_sends_get_and_post_over_loopback() {
    let hello = Format::Xml.render(Ok(&payload(&[("hello", "hello world!")])));
    let deleted = Format::Json.render(Ok(&payload(&[])));
    let (endpoint, server) = loopback(vec![
        http_response("200 OK", "text/xml", &hello),
        http_response("200 OK", "application/json", &deleted),
    ])
    .await;
    let client = Client::builder()
        .endpoint(endpoint)
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .user_agent("ipernity-test")
        .build()
        .unwrap();
    let value = client
        .call("test.hello")
        .format(Format::Xml)
        .send()
        .await
        .unwrap();
    assert_eq!(
        value.get("hello").and_then(Value::as_str),
        Some("hello world!")
    );
    client
        .call("doc.delete")
        .param("doc_id", 5)
        .send()
        .await
        .unwrap();
    let requests = server.await.unwrap();
    let get = String::from_utf8_lossy(&requests[0]);
    assert!(get.starts_with("GET /api/test.hello/xml?api_key="), "{get}");
    assert!(
        get.to_lowercase().contains("user-agent: ipernity-test"),
        "{get}"
    );
    let post = String::from_utf8_lossy(&requests[1]);
    assert!(
        post.starts_with("POST /api/doc.delete/json HTTP/1.1"),
        "{post}"
    );
    assert!(
        post.to_lowercase()
            .contains("content-type: application/x-www-form-urlencoded"),
        "{post}"
    );
    assert!(
        post.contains("auth_token=12345-a0b1c2d3e4f5") && post.contains("doc_id=5"),
        "{post}"
    );
}

#[tokio::test]
async fn reqwest_reports_proxies_error_pages_and_refused_connections() {
    let (endpoint, server) = loopback(vec![http_response(
        "502 Bad Gateway",
        "text/html",
        b"<html>502 Bad Gateway</html>",
    )])
    .await;
    let client = Client::builder()
        .endpoint(endpoint)
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .build()
        .unwrap();
    let error = client
        .call("doc.delete")
        .param("doc_id", 1)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Http { status: 502, body_prefix } if body_prefix.contains("Bad Gateway")),
        "{error:?}"
    );
    server.await.unwrap();

    // A port nobody listens on: refused before anything was sent, retried, then reported.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}/api"))
        .credentials(KEY, SECRET)
        .retry(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = client.call("test.hello").send().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connection {
                may_have_been_sent: false,
                ..
            }
        ),
        "{error:?}"
    );
}

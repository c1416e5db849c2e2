//! Secrets never leave the process. Every way an exchange can fail — connection refused, a
//! server that accepts and never answers, an HTML 500 page that echoes the request, a dropped
//! connection, redirects (302 and 307) to another host, a TLS failure, a body cut short — on
//! every protocol, for calls, writes and uploads, with `auth_token` and with OAuth: neither the
//! error's `Display`, its `Debug`, its causes nor anything the crate logs (a subscriber records
//! every event and span at TRACE) holds the API secret, the token, the OAuth token or its
//! secret, or the `api_sig` the call carried. Redirects are not followed: the other host
//! receives nothing, and the error names the status and the target host, not the query.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ipernity::oauth::{OAuthToken, Placement};
use ipernity::upload::UploadFile;
use ipernity::{Client, Error, Protocol, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const API_KEY: &str = "key4secrets";
const SECRET: &str = "SeCrEtVaLuE0042";
const TOKEN: &str = "ToKeNvAlUe0042-9f";
const OAUTH_TOKEN: &str = "OaUtHtOkEn0042";
const OAUTH_SECRET: &str = "OaUtHsEcReT0042";

// ---------------------------------------------------------------------------------------------
// A subscriber that keeps everything the crate logs, at every level.

#[derive(Default)]
struct Recorder {
    text: Mutex<String>,
    next_span: AtomicUsize,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut text = self.text.lock().unwrap();
        text.push_str(span.metadata().name());
        span.record(&mut Fields(&mut text));
        text.push('\n');
        tracing::span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) as u64 + 1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut text = self.text.lock().unwrap();
        values.record(&mut Fields(&mut text));
        text.push('\n');
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.text.lock().unwrap();
        text.push_str(event.metadata().target());
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn recorder() -> &'static Arc<Recorder> {
    static RECORDER: OnceLock<Arc<Recorder>> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder = Arc::new(Recorder::default());
        tracing::subscriber::set_global_default(Arc::clone(&recorder)).unwrap();
        recorder
    })
}

// ---------------------------------------------------------------------------------------------
// Servers that fail in every way, recording what reached them.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Refused,
    Silent,
    Html500,
    Dropped,
    Redirect302,
    Redirect307,
    Tls,
    CutShort,
}

const MODES: [Mode; 8] = [
    Mode::Refused,
    Mode::Silent,
    Mode::Html500,
    Mode::Dropped,
    Mode::Redirect302,
    Mode::Redirect307,
    Mode::Tls,
    Mode::CutShort,
];

struct Hostile {
    endpoint: String,
    /// Every request that reached the failing server, whole.
    received: Arc<Mutex<Vec<u8>>>,
    /// Connections the redirect target received (must stay 0).
    elsewhere: Arc<AtomicUsize>,
}

/// Reads one request: the head and as much body as its `Content-Length` says.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let Ok(n) = stream.read(&mut buffer).await else {
            return request;
        };
        if n == 0 {
            return request;
        }
        request.extend_from_slice(&buffer[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                return request;
            }
        }
    }
}

async fn hostile(mode: Mode) -> Hostile {
    let received = Arc::new(Mutex::new(Vec::new()));
    let elsewhere = Arc::new(AtomicUsize::new(0));
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_port = target.local_addr().unwrap().port();
    {
        let elsewhere = Arc::clone(&elsewhere);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = target.accept().await {
                elsewhere.fetch_add(1, Ordering::SeqCst);
                let _ = read_request(&mut stream).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if mode == Mode::Tls { "https" } else { "http" };
    if mode == Mode::Refused {
        // Port 1 (tcpmux) listens nowhere; a port just let go could be taken by another case.
        return Hostile {
            endpoint: "http://127.0.0.1:1/api".to_owned(),
            received,
            elsewhere,
        };
    }
    let endpoint = format!("{scheme}://127.0.0.1:{port}/api");
    let seen = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                if mode == Mode::Tls {
                    // Whatever the client says, the answer is not TLS.
                    let mut hello = [0u8; 512];
                    let _ = stream.read(&mut hello).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let request = read_request(&mut stream).await;
                seen.lock().unwrap().extend_from_slice(&request);
                let echo = String::from_utf8_lossy(&request).into_owned();
                let target_path = request_target(&echo);
                let answer = match mode {
                    Mode::Silent => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    Mode::Dropped => return,
                    Mode::Html500 => {
                        let page =
                            format!("<html><body><h1>500</h1><pre>{echo}</pre></body></html>");
                        format!(
                            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{page}",
                            page.len()
                        )
                    }
                    Mode::Redirect302 | Mode::Redirect307 => {
                        let status = if mode == Mode::Redirect302 {
                            "302 Found"
                        } else {
                            "307 Temporary Redirect"
                        };
                        let page = format!("<a href=\"{target_path}\">moved</a><pre>{echo}</pre>");
                        format!(
                            "HTTP/1.1 {status}\r\nlocation: http://127.0.0.1:{target_port}{target_path}\r\ncontent-length: {}\r\n\r\n{page}",
                            page.len()
                        )
                    }
                    Mode::CutShort => {
                        let part = format!("<api status=\"ok\"><echo>{echo}");
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{part}",
                            part.len() + 1000
                        )
                    }
                    Mode::Refused | Mode::Tls => unreachable!(),
                };
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Hostile {
        endpoint,
        received,
        elsewhere,
    }
}

/// The path and query of a request line.
fn request_target(request: &str) -> String {
    request
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned()
}

/// Every `api_sig` a request carried (32 hex digits shortly after the name, whatever the
/// protocol's framing).
fn signatures_in(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = Vec::new();
    for (at, _) in text.match_indices("api_sig") {
        let after = &text[at + 7..(at + 7 + 120).min(text.len())];
        let hex: Vec<char> = after.chars().collect();
        for start in 0..hex.len() {
            let run: String = hex[start..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            if run.len() >= 32 {
                found.push(run[..32].to_owned());
                break;
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Auth {
    Token,
    OAuthHeader,
    OAuthQuery,
}

fn client(endpoint: &str, protocol: Protocol, auth: Auth, patience: Duration) -> Client {
    let builder = Client::builder()
        .endpoint(endpoint)
        .credentials(API_KEY, SECRET)
        .protocol(protocol)
        .connect_timeout(patience)
        .call_timeout(patience)
        .upload_timeout(patience)
        // One retry, so the retry log is exercised too.
        .retry(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(5),
        });
    let builder = match auth {
        Auth::Token => builder.token(TOKEN),
        Auth::OAuthHeader => builder.oauth_token(OAuthToken::new(OAUTH_TOKEN, OAUTH_SECRET)),
        Auth::OAuthQuery => builder
            .oauth_token(OAuthToken::new(OAUTH_TOKEN, OAUTH_SECRET))
            .oauth_placement(Placement::Query),
    };
    builder.build().unwrap()
}

/// Everything an error can show: its text, its debug form and its causes.
fn shown(error: &Error) -> String {
    let mut text = format!("{error}\n{error:?}\n");
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        let _ = writeln!(text, "{next}\n{next:?}");
        cause = next.source();
    }
    text
}

#[derive(Clone, Copy, Debug)]
enum Operation {
    Read,
    Write,
    Upload,
}

async fn run(client: &Client, operation: Operation) -> Error {
    let outcome = match operation {
        Operation::Read => client
            .call("doc.get")
            .param("doc_id", 1001)
            .send()
            .await
            .map(drop),
        Operation::Write => client
            .call("doc.delete")
            .param("doc_id", 1001)
            .send()
            .await
            .map(drop),
        Operation::Upload => client
            .upload(UploadFile::from_bytes("a.jpg", vec![7u8; 3000]).title("t"))
            .send()
            .await
            .map(drop),
    };
    outcome.expect_err("every hostile server fails the call")
}

/// One failure, one protocol, one kind of credential, one operation: nothing shown is secret.
async fn check(mode: Mode, protocol: Protocol, auth: Auth, operation: Operation) {
    let recorder = recorder();
    let server = hostile(mode).await;
    // Only the silent server is waited out; the others answer at once, however busy the machine.
    let patience = if mode == Mode::Silent {
        Duration::from_millis(700)
    } else {
        Duration::from_secs(20)
    };
    let client = client(&server.endpoint, protocol, auth, patience);
    let error = run(&client, operation).await;
    let text = shown(&error);
    let received = server.received.lock().unwrap().clone();
    let what = format!("{mode:?} {protocol} {auth:?} {operation:?}");
    let mut forbidden = vec![
        SECRET.to_owned(),
        TOKEN.to_owned(),
        OAUTH_TOKEN.to_owned(),
        OAUTH_SECRET.to_owned(),
    ];
    let signatures = signatures_in(&received);
    if matches!(auth, Auth::Token) && !received.is_empty() {
        assert!(!signatures.is_empty(), "{what}: no api_sig was seen");
    }
    forbidden.extend(signatures);
    for secret in &forbidden {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: {secret} in the error:\n{text}"
        );
    }
    match mode {
        Mode::Redirect302 | Mode::Redirect307 => {
            assert_eq!(
                server.elsewhere.load(Ordering::SeqCst),
                0,
                "{what}: the redirect was followed"
            );
            let Error::Redirect { status, target } = &error else {
                panic!("{what}: not a redirect error: {error:?}");
            };
            assert_eq!(*status, if mode == Mode::Redirect302 { 302 } else { 307 });
            assert!(target.starts_with("http://127.0.0.1:"), "{what}: {target}");
            assert!(
                !target.contains('?') && !target.contains("/api"),
                "{what}: {target}"
            );
            assert!(
                text.contains(&format!("HTTP {status} redirect to {target}")),
                "{text}"
            );
        }
        Mode::Refused => assert!(text.contains("could not connect"), "{what}: {text}"),
        Mode::Silent => {
            assert!(
                error.is_timeout() && error.is_retryable(),
                "{what}: {error:?}"
            );
            assert!(
                text.contains("timed out")
                    || text.contains("stalled")
                    || text.contains("no answer"),
                "{what}: {text}"
            );
        }
        Mode::Html500 => assert!(
            matches!(error, Error::Http { status: 500, .. }),
            "{what}: {error:?}"
        ),
        Mode::Tls | Mode::Dropped | Mode::CutShort => {
            assert!(!error.is_timeout(), "{what}: {error:?}")
        }
    }
    let logged = recorder.text.lock().unwrap().clone();
    for secret in &forbidden {
        assert!(
            !logged.contains(secret.as_str()),
            "{what}: {secret} logged:\n{logged}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_failure_shows_a_secret_on_any_protocol() {
    let recorder = recorder();
    let mut checked = 0;
    // One failure mode at a time, its 27 cases at once.
    for mode in MODES {
        let mut cases = Vec::new();
        for protocol in Protocol::ALL {
            for auth in [Auth::Token, Auth::OAuthHeader, Auth::OAuthQuery] {
                for operation in [Operation::Read, Operation::Write, Operation::Upload] {
                    let case = tokio::spawn(check(mode, protocol, auth, operation));
                    if mode == Mode::Refused {
                        // Many connections refused at once make the kernel drop some SYNs
                        // (they then time out): these run one by one.
                        case.await.unwrap();
                        checked += 1;
                    } else {
                        cases.push(case);
                    }
                }
            }
        }
        for case in cases {
            case.await.unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, MODES.len() * 3 * 3 * 3);
    // The retries were logged (so the log was really looked at).
    assert!(recorder.text.lock().unwrap().contains("retrying"));
}

#[cfg(feature = "bridge")]
/// One failure upstream of a bridge, one caller protocol, one operation: the caller gets the
/// service error 500 or 503, and neither it nor anything the bridge logs holds a secret or the
/// signature the call carried; a redirect is not followed.
async fn check_through_the_bridge(mode: Mode, protocol: Protocol, operation: Operation) {
    let recorder = recorder();
    let server = hostile(mode).await;
    let bridge = ipernity::bridge::Bridge::builder(server.endpoint.as_str())
        .call_timeout(Duration::from_millis(700))
        .upload_timeout(Duration::from_millis(700))
        .retry(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(5),
        })
        .start()
        .await
        .unwrap();
    let caller = Client::builder()
        .endpoint(bridge.base_url())
        .credentials(API_KEY, SECRET)
        .token(TOKEN)
        .protocol(protocol)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = run(&caller, operation).await;
    let what = format!("bridge {mode:?} {protocol} {operation:?}");
    let code = error.code().map(|code| code.as_u32());
    assert!(matches!(code, Some(500 | 503)), "{what}: {error:?}");
    let text = shown(&error);
    let received = server.received.lock().unwrap().clone();
    let mut forbidden = vec![SECRET.to_owned(), TOKEN.to_owned()];
    let signatures = signatures_in(&received);
    if !received.is_empty() {
        assert!(!signatures.is_empty(), "{what}: no api_sig was seen");
    }
    forbidden.extend(signatures);
    for secret in &forbidden {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: {secret} in:\n{text}"
        );
    }
    if matches!(mode, Mode::Redirect302 | Mode::Redirect307) {
        assert_eq!(
            server.elsewhere.load(Ordering::SeqCst),
            0,
            "{what}: followed"
        );
    }
    bridge.shutdown().await;
    let logged = recorder.text.lock().unwrap().clone();
    for secret in &forbidden {
        assert!(!logged.contains(secret.as_str()), "{what}: {secret} logged");
    }
}

#[cfg(feature = "bridge")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_failure_upstream_of_the_bridge_shows_a_secret() {
    let mut checked = 0;
    for mode in MODES {
        let mut cases = Vec::new();
        for protocol in Protocol::ALL {
            for operation in [Operation::Read, Operation::Write, Operation::Upload] {
                let case = tokio::spawn(check_through_the_bridge(mode, protocol, operation));
                if mode == Mode::Refused {
                    case.await.unwrap();
                    checked += 1;
                } else {
                    cases.push(case);
                }
            }
        }
        for case in cases {
            case.await.unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, MODES.len() * 3 * 3);
}

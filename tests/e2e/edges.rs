//! Small promises: a UTF-8 byte order mark opens an XML document as XML allows; an endpoint
//! with a query is refused at build time; errors say what went wrong (no bare "builder error",
//! no lost cause behind a file that changed while it was sent); `ipernity conformance` against
//! a silent endpoint reports a line per case, each within its timeout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use ipernity::server::Emulator;
use ipernity::upload::UploadFile;
use ipernity::{Client, Error, Format, Protocol, RetryPolicy};

const BOM: &[u8] = b"\xef\xbb\xbf";

#[test]
fn decoders_accept_a_byte_order_mark() {
    for (format, body) in [
        (Format::Xml, &b"<api status=\"ok\"><hello>hi</hello></api>"[..]),
        (
            Format::Soap,
            b"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\">&lt;api status=\"ok\"&gt;&lt;hello&gt;hi&lt;/hello&gt;&lt;/api&gt;</x:ipernityResponse></s:Body></s:Envelope>",
        ),
        (
            Format::XmlRpc,
            b"<?xml version=\"1.0\"?><methodResponse><params><param><value><string>&lt;api status=\"ok\"&gt;&lt;hello&gt;hi&lt;/hello&gt;&lt;/api&gt;</string></value></param></params></methodResponse>",
        ),
    ] {
        let plain = format.decode(body).unwrap();
        let marked = format.decode(&[BOM, body].concat()).unwrap();
        assert_eq!(plain, marked, "{format}");
        // Only at the very start: anywhere else it is content, and content of an element here.
        assert!(format.decode(&[body, BOM].concat()).is_err(), "{format}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_reads_envelopes_that_open_with_a_byte_order_mark() {
    let emulator = Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    let http = reqwest::Client::new();
    for protocol in [Protocol::Soap, Protocol::XmlRpc] {
        let call = ipernity::Call::new("test.echo")
            .param("echo", "marked")
            .signed(&credentials);
        let request = protocol
            .transport()
            .encode(&emulator.base_url(), &call, None)
            .unwrap();
        let mut builder = http.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let body = [BOM, &request.body].concat();
        let answer = builder
            .body(body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let format = protocol.transport().default_format();
        let payload = format
            .decode(&answer)
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        assert_eq!(
            payload.get("echo").and_then(|v| v.as_str()),
            Some("marked"),
            "{protocol}"
        );
    }
    emulator.shutdown().await;
}

#[test]
fn an_endpoint_with_a_query_or_fragment_is_refused() {
    for endpoint in ["http://127.0.0.1:9/api?x=1", "http://127.0.0.1:9/api#top"] {
        let error = Client::builder()
            .endpoint(endpoint)
            .credentials("k", "s")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidParam { param, .. } if param == "endpoint"),
            "{error:?}"
        );
        assert!(error.to_string().contains("query or fragment"), "{error}");
    }
}

#[tokio::test]
async fn errors_say_what_went_wrong() {
    // A URL reqwest cannot build: what was wrong, not "builder error" alone.
    let client = Client::builder()
        .endpoint("http://exa mple.invalid/api")
        .credentials("k", "s")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.call("test.hello").send().await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("could not build the request"), "{text}");
    assert!(
        text.len() > "connection failed: could not build the request: builder error".len(),
        "{text}"
    );

    // A file that yields fewer bytes than announced: the cause is in the message.
    let emulator = Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    for protocol in Protocol::ALL {
        let client = Client::builder()
            .endpoint(emulator.base_url())
            .credentials(credentials.api_key.clone(), credentials.secret.clone())
            .token(credentials.token.clone().unwrap())
            .protocol(protocol)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let file = UploadFile::from_reader("short.bin", std::io::Cursor::new(vec![1u8; 10]), 20);
        let error = client.upload(file).send().await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("the file yielded 10 bytes, 20 were announced"),
            "{protocol}: {text}"
        );
    }
    emulator.shutdown().await;
}

#[test]
fn conformance_against_a_silent_endpoint_reports_each_case_in_time() {
    use std::io::BufRead;
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ipernity"))
        .args([
            "conformance",
            "--endpoint",
            &format!("http://{addr}/api"),
            "--api-key",
            "k",
            "--secret",
            "s",
            "--case-timeout",
            "0.3",
        ])
        .env(
            "IPERNITY_TOKEN_DIR",
            std::env::temp_dir().join("ipernity-edges-no-tokens"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The first case's line comes within its timeout, not after the whole run.
    let first = lines.next().unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        first.starts_with("FAIL  ") && first.contains("no answer within 0.3 s"),
        "{first}"
    );
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let summary = rest.last().unwrap();
    assert!(summary.starts_with("0 passed, "), "{summary}");
    let cases: usize = summary
        .strip_prefix("0 passed, ")
        .and_then(|s| s.strip_suffix(" failed"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rest.len(), cases, "a line per case, then the summary");
}

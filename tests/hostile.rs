//! Hostile input: entity bombs, external entities, a million levels of nesting, lengths far
//! beyond the input, invalid UTF-8 and NUL bytes for the decoders; the same and a 2 GB
//! `Content-Length` with a 10-byte body, slow-loris clients and header floods against the
//! emulator's endpoints and the bridge's; hostile files given to the CLI. Each gets a clear error, the emulator
//! keeps serving, and its memory stays bounded: its peak resident size over the whole attack
//! stays under [`EMULATOR_PEAK_RSS_MIB`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use support as common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ipernity::protocol::IncomingRequest;
use ipernity::{Error, Format, HttpMethod, Protocol};

/// The bound on the emulator's peak resident memory through every attack below.
const EMULATOR_PEAK_RSS_MIB: u64 = 64;
const MILLION: usize = 1_000_000;

use support::on_small_stack;

/// The classic entity bomb: ten levels of ten references, a billion `lol`s if expanded.
fn billion_laughs(root: &str) -> String {
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">");
    for level in 1..10 {
        let refs: String = (0..10).map(|_| format!("&lol{};", level - 1)).collect();
        dtd.push_str(&format!("<!ENTITY lol{level} \"{refs}\">"));
    }
    format!(
        "<?xml version=\"1.0\"?><!DOCTYPE bomb [{dtd}]>{}",
        root.replace("BOMB", "&lol9;")
    )
}

fn xxe(root: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
        root.replace("BOMB", "&e;")
    )
}

const XML_ROOT: &str = r#"<api status="ok"><x>BOMB</x></api>"#;
const SOAP_REQUEST: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x:ipernityRequest xmlns:x="urn:ipernity"><method>test.echo</method><echo>BOMB</echo></x:ipernityRequest></s:Body></s:Envelope>"#;
const XMLRPC_REQUEST: &str = "<methodCall><methodName>test.echo</methodName><params><param><value><struct><member><name>echo</name><value><string>BOMB</string></value></member></struct></value></param></params></methodCall>";
const XMLRPC_RESPONSE: &str = "<methodResponse><params><param><value><string>BOMB</string></value></param></params></methodResponse>";

/// Every XML decoder, with a document holding BOMB where the attack goes.
fn xml_decoders() -> [(Format, &'static str); 3] {
    [
        (Format::Xml, XML_ROOT),
        (Format::Soap, SOAP_REQUEST),
        (Format::XmlRpc, XMLRPC_RESPONSE),
    ]
}

/// `template` with raw `bytes` where BOMB is.
fn with_bytes(template: &str, bytes: &[u8]) -> Vec<u8> {
    let (before, after) = template.split_once("BOMB").unwrap();
    [before.as_bytes(), bytes, after.as_bytes()].concat()
}

fn malformed(result: Result<ipernity::Value, Error>, what: &str) -> String {
    match result {
        Err(Error::Malformed { reason, .. }) => reason,
        other => panic!("{what}: {other:?}"),
    }
}

#[test]
fn decoders_refuse_entity_bombs_and_external_entities_without_expanding_them() {
    for (format, root) in xml_decoders() {
        let reason = malformed(format.decode(billion_laughs(root).as_bytes()), "bomb");
        assert!(reason.contains("DTD"), "{format}: {reason}");
        let reason = malformed(format.decode(xxe(root).as_bytes()), "xxe");
        assert!(
            reason.contains("DTD") && !reason.contains("root:"),
            "{format}: {reason}"
        );
    }
}

/// A million levels in each format.
fn million_levels() -> Vec<(Format, Vec<u8>)> {
    vec![
        (Format::Json, "[".repeat(MILLION).into_bytes()),
        (Format::Php, "a:1:{i:0;".repeat(MILLION).into_bytes()),
        (
            Format::Xml,
            format!(
                "<api status=\"ok\">{}{}</api>",
                "<a>".repeat(MILLION),
                "</a>".repeat(MILLION)
            )
            .into_bytes(),
        ),
        (
            Format::Soap,
            format!(
                "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\">&lt;api status=\"ok\"&gt;{}{}&lt;/api&gt;</x:ipernityResponse></s:Body></s:Envelope>",
                "&lt;a&gt;".repeat(MILLION),
                "&lt;/a&gt;".repeat(MILLION)
            )
            .into_bytes(),
        ),
        (
            Format::XmlRpc,
            format!(
                "<methodResponse><params><param>{}{}</param></params></methodResponse>",
                "<value><array><data>".repeat(MILLION / 3),
                "</data></array></value>".repeat(MILLION / 3)
            )
            .into_bytes(),
        ),
    ]
}

#[test]
fn a_million_levels_of_nesting_are_an_error_on_a_small_stack() {
    for (format, body) in million_levels() {
        let reason = on_small_stack(move || malformed(format.decode(&body), "nesting"));
        assert!(
            ["deep", "nest", "depth", "recursion"]
                .iter()
                .any(|word| reason.contains(word)),
            "{format}: {reason}"
        );
    }
}

#[test]
fn lengths_far_beyond_the_input_utf8_errors_and_nul_bytes_are_errors() {
    for body in [
        &b"s:99999999999:\""[..],
        b"a:99999999999:{",
        b"a:2:{s:3:\"api\";a:1:{s:6:\"status\";s:2:\"ok\";}s:4:\"x\";s:18446744073709551615:\"",
        b"O:99999999:\"",
    ] {
        malformed(Format::Php.decode(body), "php length");
    }
    assert!(
        Format::Json
            .decode(b"{\"api\":{\"status\":\"ok\"},\"x\":\"a\x00b\"}")
            .is_err()
    );
    for format in Format::ALL {
        let invalid_utf8 = match format {
            Format::Json => b"{\"api\":{\"status\":\"ok\"},\"x\":\"\xff\xfe\"}".to_vec(),
            Format::Php => {
                b"a:2:{s:3:\"api\";a:1:{s:6:\"status\";s:2:\"ok\";}s:1:\"x\";s:2:\"\xff\xfe\";}"
                    .to_vec()
            }
            Format::Xml => with_bytes(XML_ROOT, b"\xff\xfe"),
            Format::Soap => with_bytes(SOAP_REQUEST, b"\xff\xfe"),
            Format::XmlRpc => with_bytes(XMLRPC_RESPONSE, b"\xff\xfe"),
        };
        assert!(
            format.decode(&invalid_utf8).is_err(),
            "{format}: invalid UTF-8 accepted"
        );
        let with_nul = match format {
            // JSON escapes NUL (a raw one is a control character it refuses, checked below).
            Format::Json => b"{\"api\":{\"status\":\"ok\"},\"x\":\"a\\u0000b\"}".to_vec(),
            Format::Php => {
                b"a:2:{s:3:\"api\";a:1:{s:6:\"status\";s:2:\"ok\";}s:1:\"x\";s:3:\"a\x00b\";}"
                    .to_vec()
            }
            Format::Xml => with_bytes(XML_ROOT, b"a\x00b"),
            Format::Soap => with_bytes(SOAP_REQUEST, b"a\x00b"),
            Format::XmlRpc => with_bytes(XMLRPC_RESPONSE, b"a\x00b"),
        };
        match format.decode(&with_nul) {
            // JSON (escaped) and PHP carry NUL as data; XML forbids the character outright.
            Ok(value) => {
                assert!(matches!(format, Format::Json | Format::Php), "{format}");
                assert_eq!(value.get("x").and_then(|x| x.as_str()), Some("a\0b"));
            }
            Err(error) => {
                assert!(
                    matches!(format, Format::Xml | Format::Soap | Format::XmlRpc),
                    "{format}: {error}"
                );
                assert!(error.to_string().contains("U+0000"), "{format}: {error}");
            }
        }
    }
}

#[test]
fn the_request_parsers_refuse_bombs_and_deep_envelopes() {
    let parse = |protocol: Protocol, body: &[u8]| {
        let request = IncomingRequest {
            method: HttpMethod::Post,
            path: if protocol == Protocol::Soap {
                "soap"
            } else {
                "xmlrpc"
            },
            query: "",
            content_type: Some("text/xml"),
            body,
        };
        protocol
            .transport()
            .parse(&request)
            .map(|_| ())
            .map_err(|refused| refused.error.code.as_u32())
    };
    for (protocol, envelope, code) in [
        (Protocol::Soap, SOAP_REQUEST, 121),
        (Protocol::XmlRpc, XMLRPC_REQUEST, 122),
    ] {
        assert_eq!(
            parse(protocol, billion_laughs(envelope).as_bytes()),
            Err(code)
        );
        assert_eq!(parse(protocol, xxe(envelope).as_bytes()), Err(code));
        let deep = envelope.replace("BOMB", &"<a>".repeat(MILLION));
        assert_eq!(
            on_small_stack(move || parse(protocol, deep.as_bytes())),
            Err(code),
            "{protocol}"
        );
    }
}

/// Sends raw bytes and reads what comes back until the server closes or `wait` passes.
fn exchange(addr: &str, request: &[u8], wait: Duration) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    // The server may answer and close before the whole request is written.
    stream.write_all(request).ok();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, text)
}

fn post(addr: &str, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

#[test]
fn the_emulator_answers_every_attack_keeps_serving_and_stays_small() {
    let (mut server, endpoint, [api_key, _, _]) = common::start_server(&["--idle-timeout", "1"]);
    every_attack_is_answered(&endpoint, &api_key, server.id(), "the emulator");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn the_bridge_answers_every_attack_keeps_serving_and_stays_small() {
    let (mut server, upstream, [api_key, _, _]) = common::start_server(&[]);
    let mut bridge = common::start_bridge(&upstream, &["--idle-timeout", "1"]);
    let endpoint = format!("http://{}/api", bridge.1);
    every_attack_is_answered(&endpoint, &api_key, bridge.0.id(), "the bridge");
    bridge.0.kill().unwrap();
    bridge.0.wait().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Every attack against the API at `endpoint` (served by process `pid`, `what`): each is
/// answered or cut off in time, the endpoint keeps serving, its peak RSS stays bounded.
fn every_attack_is_answered(endpoint: &str, api_key: &str, pid: u32, what: &str) {
    let addr = endpoint
        .strip_prefix("http://")
        .unwrap()
        .strip_suffix("/api")
        .unwrap()
        .to_owned();
    let wait = Duration::from_secs(10);
    let still_serving = || {
        let (status, answer) = exchange(
            &addr,
            format!("GET /api/test.echo?api_key={api_key}&echo=alive HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
            wait,
        );
        assert_eq!(status, Some(200), "{answer}");
        assert!(answer.contains("alive"), "{answer}");
    };

    // Entity bombs, external entities and a million levels, in both envelopes: 121 and 122.
    for (path, envelope, code) in [
        ("/api/soap", SOAP_REQUEST, "ipernity.error.121"),
        ("/api/xmlrpc", XMLRPC_REQUEST, "<int>122</int>"),
    ] {
        for body in [
            billion_laughs(envelope),
            xxe(envelope),
            envelope.replace("BOMB", &"<a>".repeat(MILLION)),
        ] {
            let (status, answer) =
                exchange(&addr, &post(&addr, path, "text/xml", body.as_bytes()), wait);
            assert_eq!(
                status,
                Some(200),
                "{path}: {}",
                &answer[..answer.len().min(300)]
            );
            assert!(
                answer.contains(code),
                "{path}: {}",
                &answer[..answer.len().min(600)]
            );
            assert!(!answer.contains("root:"), "a file was read");
        }
    }

    // Invalid UTF-8 and NUL bytes in a form body: an API answer, not a crash.
    let (status, answer) = exchange(
        &addr,
        &post(
            &addr,
            "/api/test.echo/json",
            "application/x-www-form-urlencoded",
            b"echo=%FF%FEa%00b&x=\xff\x00",
        ),
        wait,
    );
    assert_eq!(status, Some(200), "{answer}");
    assert!(answer.contains("\"api\""), "{answer}");

    // A 2 GB Content-Length with a 10-byte body: a form is refused before a byte is read; an
    // upload or an envelope waits for the rest, then is dropped once the client goes quiet.
    let two_gb = 2u64 << 30;
    let started = Instant::now();
    let (status, _) = exchange(
        &addr,
        format!("POST /api/test.echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {two_gb}\r\n\r\necho=12345").as_bytes(),
        wait,
    );
    assert_eq!(status, Some(413));
    // Uploads and envelopes too: 2 GB is more than the largest file (1 GiB) takes, even in
    // base64, so they are refused before a byte of their body is read.
    for (path, content_type) in [
        ("/api/upload.file", "multipart/form-data; boundary=XyZ"),
        ("/api/soap", "application/soap+xml"),
        ("/api/xmlrpc", "text/xml"),
    ] {
        let (status, answer) = exchange(
            &addr,
            format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {two_gb}\r\n\r\n--XyZ\r\nabc").as_bytes(),
            wait,
        );
        assert_eq!(status, Some(413), "{path}: {answer}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the stalled bodies were dropped"
    );

    // A slow-loris body: a form, an upload and an envelope whose bodies stop after their first
    // bytes are answered 408 or dropped once the client has been quiet for the idle timeout.
    let started = Instant::now();
    for (path, content_type) in [
        ("/api/test.echo", "application/x-www-form-urlencoded"),
        ("/api/upload.file", "multipart/form-data; boundary=XyZ"),
        ("/api/soap", "application/soap+xml"),
    ] {
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: 1000\r\n\r\necho="
        )
        .unwrap();
        stream.set_read_timeout(Some(wait)).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 408")
                || answer.contains("\"api\"")
                || answer.contains("121"),
            "{path}: {answer}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "slow bodies were not cut off"
    );

    // Slow loris: a hundred clients that never finish their request head are cut off after the
    // idle timeout, and others are served meanwhile.
    let started = Instant::now();
    let lorises: Vec<TcpStream> = (0..100)
        .map(|index| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            write!(
                stream,
                "GET /api/test.echo?echo={index} HTTP/1.1\r\nHost: {addr}\r\nX-Slow: "
            )
            .unwrap();
            stream
        })
        .collect();
    still_serving();
    for mut loris in lorises {
        loris.set_read_timeout(Some(wait)).unwrap();
        let mut rest = Vec::new();
        // The server closes the connection (perhaps after a 408).
        loris.read_to_end(&mut rest).ok();
        let text = String::from_utf8_lossy(&rest);
        assert!(
            rest.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "lorises were not cut off"
    );

    // Header floods: ten thousand headers, and one header of a megabyte.
    let many: String = (0..10_000).map(|i| format!("X-Flood-{i}: x\r\n")).collect();
    let (status, _) = exchange(
        &addr,
        format!("GET /api/test.echo?echo=x HTTP/1.1\r\nHost: {addr}\r\n{many}\r\n").as_bytes(),
        wait,
    );
    assert!(matches!(status, None | Some(431) | Some(400)), "{status:?}");
    let huge = "y".repeat(1 << 20);
    let (status, _) = exchange(
        &addr,
        format!("GET /api/test.echo?echo=x HTTP/1.1\r\nHost: {addr}\r\nX-Huge: {huge}\r\n\r\n")
            .as_bytes(),
        wait,
    );
    assert!(matches!(status, None | Some(431) | Some(400)), "{status:?}");

    still_serving();
    let peak = peak_rss_mib(pid);
    assert!(
        peak < EMULATOR_PEAK_RSS_MIB,
        "{what}'s peak RSS was {peak} MiB"
    );
}

#[test]
fn the_cli_refuses_hostile_files_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("ipernity-hostile-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, format, body, expected) in [
        (
            "bomb.xml",
            "xml",
            billion_laughs(XML_ROOT).into_bytes(),
            "DTD",
        ),
        ("xxe.soap", "soap", xxe(SOAP_REQUEST).into_bytes(), "DTD"),
        (
            "deep.json",
            "json",
            "[".repeat(MILLION).into_bytes(),
            "malformed json",
        ),
        (
            "long.php",
            "php",
            b"s:99999999999:\"".to_vec(),
            "malformed php",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        let out = common::ipernity_command()
            .args(["decode", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(
            stderr.len() < 1000,
            "{name}: the message is short: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The spool files left in an emulator's data directory.
fn spool_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("upload-"))
        .collect()
}

/// Writes `head`, then `parts` pieces made by `piece`, until the server stops reading; returns
/// the status it answered, if any, and how long that took.
fn stream_body(
    addr: &str,
    head: &str,
    parts: usize,
    piece: impl Fn(usize) -> Vec<u8>,
) -> (Option<u16>, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut written = stream.write_all(head.as_bytes()).is_ok();
    for index in 0..parts {
        if !written {
            break;
        }
        written = stream.write_all(&piece(index)).is_ok();
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, started.elapsed())
}

/// Every bound at once: hostile clients of every class in parallel (huge multipart fields, huge
/// forms, too many parameters, twenty file parts, a body cut off half way, a body one byte at a
/// time, unknown HTTP methods, envelopes announcing a terabyte, 50,000 tags in one call, more
/// idle connections than the emulator serves at once), while a normal client keeps calling.
/// The normal client is always answered, nothing is left in the data directory, and the
/// emulator's peak memory stays under the bound.
#[test]
fn hostile_clients_at_once_leave_nothing_behind_while_a_normal_client_is_served() {
    let dir = std::env::temp_dir().join(format!("ipernity-hostile-bounds-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let (mut server, endpoint, [api_key, secret, token]) = common::start_server(&[
        "--idle-timeout",
        "2",
        "--max-connections",
        "48",
        "--data",
        dir.to_str().unwrap(),
    ]);
    let addr = endpoint
        .strip_prefix("http://")
        .unwrap()
        .strip_suffix("/api")
        .unwrap()
        .to_owned();

    // A document to tag, uploaded by the library client.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = ipernity::Client::builder()
        .endpoint(endpoint.clone())
        .credentials(api_key.clone(), secret.clone())
        .token(token.clone())
        .retry(ipernity::RetryPolicy::none())
        .build()
        .unwrap();
    let doc_id = runtime
        .block_on(
            client
                .upload(
                    ipernity::upload::UploadFile::from_bytes("t.jpg", b"\xff\xd8 tags".to_vec())
                        .asynchronous(false),
                )
                .send(),
        )
        .unwrap()
        .doc_id
        .unwrap();

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The normal client: one echo after another, each answered, the slowest measured.
    let normal = {
        let (addr, api_key, done) = (addr.clone(), api_key.clone(), done.clone());
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            let mut calls = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let started = Instant::now();
                let (status, answer) = exchange(
                    &addr,
                    format!("GET /api/test.echo?api_key={api_key}&echo=alive HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
                    Duration::from_secs(30),
                );
                assert_eq!(status, Some(200), "{answer}");
                assert!(answer.contains("alive"), "{answer}");
                slowest = slowest.max(started.elapsed());
                calls += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (calls, slowest)
        })
    };

    let mut attacks: Vec<std::thread::JoinHandle<()>> = Vec::new();
    let spawn = |attacks: &mut Vec<std::thread::JoinHandle<()>>, work: Box<dyn FnOnce() + Send>| {
        attacks.push(std::thread::spawn(work));
    };
    // A thousand text fields of 1 MiB, no api_key: refused once the fields pass 1 MiB in all.
    let a = addr.clone();
    spawn(
        &mut attacks,
        Box::new(move || {
            let field = vec![b'x'; 1 << 20];
            let head = format!(
                "POST /api/upload.file HTTP/1.1\r\nHost: {a}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n",
                1000 * ((1 << 20) + 64)
            );
            let (status, took) = stream_body(&a, &head, 1000, |i| {
                [
                    format!("--B\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n")
                        .as_bytes(),
                    &field,
                    b"\r\n",
                ]
                .concat()
            });
            // An API answer once the fields pass 1 MiB (no api_key survives), or a connection
            // closed under a client still writing; never a body read to its end.
            assert!(matches!(status, Some(200) | None), "{status:?}");
            assert!(
                took < Duration::from_secs(15),
                "1000 MiB fields took {took:?}"
            );
        }),
    );
    // A 16 MB form of 1.9 million parameters: refused as too large (the limit is 1 MiB).
    let a = addr.clone();
    spawn(
        &mut attacks,
        Box::new(move || {
            let body = "a=&".repeat(1_900_000);
            let (status, answer) = exchange(
                &a,
                &post(
                    &a,
                    "/api/test.echo",
                    "application/x-www-form-urlencoded",
                    body.as_bytes(),
                ),
                Duration::from_secs(20),
            );
            assert_eq!(status, Some(413), "{}", &answer[..answer.len().min(200)]);
        }),
    );
    // 200,000 parameters in 400 KB, and 2,000 in a query: refused before decoding.
    let a = addr.clone();
    spawn(
        &mut attacks,
        Box::new(move || {
            let body = "a&".repeat(200_000);
            let (status, answer) = exchange(
                &a,
                &post(
                    &a,
                    "/api/test.echo",
                    "application/x-www-form-urlencoded",
                    body.as_bytes(),
                ),
                Duration::from_secs(20),
            );
            assert_eq!(status, Some(400), "{}", &answer[..answer.len().min(200)]);
            assert!(answer.contains("more than 1000 parameters"), "{answer}");
            let query = "b=1&".repeat(2000);
            let (status, _) = exchange(
                &a,
                format!(
                    "GET /api/test.echo?{query} HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
                Duration::from_secs(20),
            );
            assert_eq!(status, Some(400));
        }),
    );
    // Twenty file parts in one upload: refused at the second, no spool file kept.
    let (a, k) = (addr.clone(), api_key.clone());
    spawn(
        &mut attacks,
        Box::new(move || {
            let mut body =
                format!("--B\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n{k}\r\n")
                    .into_bytes();
            for i in 0..20 {
                body.extend_from_slice(format!("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{i}.jpg\"\r\n\r\n").as_bytes());
                body.extend_from_slice(&vec![b'z'; 100_000]);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"--B--\r\n");
            let (status, answer) = exchange(
                &a,
                &post(
                    &a,
                    "/api/upload.file",
                    "multipart/form-data; boundary=B",
                    &body,
                ),
                Duration::from_secs(20),
            );
            assert_eq!(status, Some(200), "{answer}");
            assert!(answer.contains("\"api\""), "{answer}");
        }),
    );
    // A 100 MB upload cut off at 30 MB (the client closes its side): its spool goes at once.
    let a = addr.clone();
    spawn(
        &mut attacks,
        Box::new(move || {
            let mut stream = TcpStream::connect(&a).unwrap();
            let head = format!(
                "POST /api/upload.file HTTP/1.1\r\nHost: {a}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000000\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).unwrap();
            let chunk = vec![b'q'; 1 << 20];
            for _ in 0..30 {
                stream.write_all(&chunk).unwrap();
            }
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).ok();
        }),
    );
    // A body one byte every half second: cut off once it falls behind 500 bytes a second after
    // the 2 s grace, although no gap reaches the idle timeout.
    let a = addr.clone();
    spawn(
        &mut attacks,
        Box::new(move || {
            let started = Instant::now();
            let mut stream = TcpStream::connect(&a).unwrap();
            write!(stream, "POST /api/soap HTTP/1.1\r\nHost: {a}\r\nContent-Type: application/soap+xml\r\nContent-Length: 100000\r\n\r\n").unwrap();
            let mut cut = false;
            for _ in 0..40 {
                if stream.write_all(b"<").is_err() {
                    cut = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
                // A 408 answer or a closed connection: peek without blocking long.
                stream
                    .set_read_timeout(Some(Duration::from_millis(1)))
                    .unwrap();
                let mut byte = [0u8; 1];
                match stream.read(&mut byte) {
                    Ok(0) | Ok(_) => {
                        cut = true;
                        break;
                    }
                    Err(error)
                        if error.kind() == std::io::ErrorKind::WouldBlock
                            || error.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => {
                        cut = true;
                        break;
                    }
                }
            }
            assert!(
                cut,
                "a body of one byte every 0.5 s was still read after 20 s"
            );
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "cut only after {:?}",
                started.elapsed()
            );
        }),
    );
    // Methods the API does not answer: 405, not a GET.
    let (a, k) = (addr.clone(), api_key.clone());
    spawn(
        &mut attacks,
        Box::new(move || {
            for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
                let (status, answer) = exchange(&a, format!("{method} /api/test.echo?api_key={k}&echo=x HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").as_bytes(), Duration::from_secs(20));
                assert_eq!(status, Some(405), "{method}: {answer}");
                assert!(
                    answer
                        .to_ascii_lowercase()
                        .contains("allow: get, head, post"),
                    "{answer}"
                );
            }
        }),
    );
    // Envelopes announcing a terabyte: refused before their body is read.
    let a = addr.clone();
    spawn(
        &mut attacks,
        Box::new(move || {
            for (path, content_type) in [
                ("/api/soap", "application/soap+xml"),
                ("/api/xmlrpc", "text/xml"),
                ("/api/upload.file", "multipart/form-data; boundary=B"),
            ] {
                let started = Instant::now();
                let (status, _) = exchange(&a, format!("POST {path} HTTP/1.1\r\nHost: {a}\r\nContent-Type: {content_type}\r\nContent-Length: 1000000000000\r\n\r\n<").as_bytes(), Duration::from_secs(20));
                assert_eq!(status, Some(413), "{path}");
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "{path}: {:?}",
                    started.elapsed()
                );
            }
        }),
    );
    // 50,000 keywords in one doc.tags.add: error 3 (tag limit), nothing added, no long lock.
    let tagger = client.clone();
    let tags_outcome = runtime.spawn(async move {
        let keywords: Vec<String> = (0..50_000).map(|i| format!("k{i}")).collect();
        let started = Instant::now();
        let outcome = tagger
            .call("doc.tags.add")
            .param("doc_id", doc_id)
            .param("keywords", keywords.join(","))
            .send()
            .await;
        (outcome, started.elapsed())
    });
    for attack in attacks {
        attack.join().unwrap();
    }
    // Then more idle connections than the emulator serves at once (48): each holds its slot
    // for at most the idle timeout, so the normal client waits two rounds of 2 s at worst.
    let idle: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(5));
    let (outcome, took) = runtime.block_on(tags_outcome).unwrap();
    let error = outcome.unwrap_err();
    assert_eq!(
        error.api_error().map(|e| e.code.as_u32()),
        Some(3),
        "{error}"
    );
    assert!(took < Duration::from_secs(5), "doc.tags.add took {took:?}");
    let tags = runtime
        .block_on(
            client
                .call("doc.tags.getList")
                .param("doc_id", doc_id)
                .send(),
        )
        .unwrap();
    assert!(
        !format!("{tags:?}").contains("k49999"),
        "tags were added: {tags:?}"
    );
    drop(idle);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (calls, slowest) = normal.join().unwrap();
    assert!(calls > 5, "the normal client made {calls} calls");
    assert!(
        slowest < Duration::from_secs(6),
        "the normal client waited {slowest:?}"
    );

    // Nothing any of them sent is left on disk.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !spool_files(&dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(spool_files(&dir), Vec::<String>::new());
    let peak = peak_rss_mib(server.id());
    assert!(
        peak < EMULATOR_PEAK_RSS_MIB,
        "the emulator's peak RSS was {peak} MiB"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// The receive path is flat: a 64 MiB upload into `serve --data` over each transport (the file
/// in base64 inside a SOAP or XML-RPC envelope, or multipart) keeps the emulator's peak memory
/// under 32 MiB. Memory that grew with the file would pass 64 MiB here.
#[test]
fn receiving_an_upload_takes_the_same_memory_on_every_transport() {
    const FILE_MIB: usize = 64;
    const PEAK_MIB: u64 = 32;
    let dir = std::env::temp_dir().join(format!("ipernity-hostile-flat-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.jpg");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let block: Vec<u8> = (0..(1 << 20)).map(|i: usize| (i * 7 % 251) as u8).collect();
        for _ in 0..FILE_MIB {
            out.write_all(&block).unwrap();
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for protocol in Protocol::ALL {
        let data = dir.join(format!("data-{protocol}"));
        std::fs::create_dir_all(&data).unwrap();
        let (mut server, endpoint, [api_key, secret, token]) =
            common::start_server(&["--data", data.to_str().unwrap()]);
        let client = ipernity::Client::builder()
            .endpoint(endpoint)
            .credentials(api_key, secret)
            .token(token)
            .protocol(protocol)
            .build()
            .unwrap();
        let uploaded = runtime
            .block_on(
                client
                    .upload(ipernity::upload::UploadFile::from_path(&file).asynchronous(false))
                    .send(),
            )
            .unwrap();
        assert!(uploaded.doc_id.is_some(), "{protocol}");
        let peak = peak_rss_mib(server.id());
        eprintln!("{protocol}: peak RSS {peak} MiB receiving {FILE_MIB} MiB");
        assert!(
            peak < PEAK_MIB,
            "{protocol}: receiving {FILE_MIB} MiB took the emulator to {peak} MiB"
        );
        server.kill().unwrap();
        server.wait().unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_upload_through_the_bridge_is_streamed_not_held() {
    const FILE_MIB: usize = 96;
    const PEAK_MIB: u64 = 48;
    let dir = std::env::temp_dir().join(format!("ipernity-hostile-bridge-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.jpg");
    let mut digest = md5::Md5::default();
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let block: Vec<u8> = (0..(1 << 20)).map(|i: usize| (i * 7 % 251) as u8).collect();
        for _ in 0..FILE_MIB {
            out.write_all(&block).unwrap();
            md5::Digest::update(&mut digest, &block);
        }
    }
    let md5: String = md5::Digest::finalize(digest)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (mut server, upstream, [api_key, secret, token]) =
        common::start_server(&["--data", data.to_str().unwrap()]);
    for protocol in [Protocol::Soap, Protocol::XmlRpc] {
        let spool = dir.join(format!("spool-{protocol}"));
        let (mut bridge, addr) =
            common::start_bridge(&upstream, &["--spool", spool.to_str().unwrap()]);
        let client = ipernity::Client::builder()
            .endpoint(format!("http://{addr}/api"))
            .credentials(api_key.clone(), secret.clone())
            .token(token.clone())
            .protocol(protocol)
            .build()
            .unwrap();
        let uploaded = runtime
            .block_on(
                client
                    .upload(ipernity::upload::UploadFile::from_path(&file).asynchronous(false))
                    .send(),
            )
            .unwrap();
        let doc_id = uploaded.doc_id.unwrap();
        let doc = runtime
            .block_on(
                client
                    .call("doc.get")
                    .param("doc_id", doc_id)
                    .param("extra", "md5")
                    .send(),
            )
            .unwrap();
        assert_eq!(doc["doc"]["md5"].as_str(), Some(md5.as_str()), "{protocol}");
        let peak = peak_rss_mib(bridge.id());
        eprintln!("{protocol}: the bridge's peak RSS {peak} MiB passing {FILE_MIB} MiB");
        assert!(
            peak < PEAK_MIB,
            "{protocol}: passing {FILE_MIB} MiB took the bridge to {peak} MiB"
        );
        assert_eq!(
            std::fs::read_dir(&spool).unwrap().count(),
            0,
            "{protocol}: spool left"
        );
        bridge.kill().unwrap();
        bridge.wait().unwrap();
    }
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

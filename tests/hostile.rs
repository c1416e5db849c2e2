//! Hostile input: entity bombs, external entities, a million levels of nesting, lengths far
//! beyond the input, invalid UTF-8 and NUL bytes for the decoders; the same and a 2 GB
//! `Content-Length` with a 10-byte body, slow-loris clients and header floods against the
//! emulator's endpoints; hostile files given to the CLI. Each gets a clear error, the emulator
//! keeps serving, and its memory stays bounded: its peak resident size over the whole attack
//! stays under [`EMULATOR_PEAK_RSS_MIB`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use ipernity::protocol::IncomingRequest;
use ipernity::{Error, Format, HttpMethod, Protocol};

/// The bound on the emulator's peak resident memory through every attack below.
const EMULATOR_PEAK_RSS_MIB: u64 = 64;
/// Decoders run on a thread this small (a quarter of a default thread's stack, in an
/// unoptimized build): one that recursed per level of its input would overflow it.
const SMALL_STACK: usize = 512 * 1024;
const MILLION: usize = 1_000_000;

fn on_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

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
        // Either an API answer (121/122 for an unreadable envelope, an error for an upload
        // without its fields) or a closed connection.
        assert!(
            status.is_none()
                || answer.contains("\"api\"")
                || answer.contains("121")
                || answer.contains("122"),
            "{path}: {answer}"
        );
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
    let peak = peak_rss_mib(server.id());
    assert!(
        peak < EMULATOR_PEAK_RSS_MIB,
        "the emulator's peak RSS was {peak} MiB"
    );
    server.kill().unwrap();
    server.wait().unwrap();
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
        let out = Command::new(env!("CARGO_BIN_EXE_ipernity"))
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

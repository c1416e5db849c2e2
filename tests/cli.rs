//! The `ipernity` binary: `decode`, `sign` and `encode`, their output and exit status.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::start_server;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const KEY: &str = "6fa87ba500002712bd4eed6020f3bd72";
const SECRET: &str = "e9a599f0cf6ce193";

/// The options that point a command at an emulator with an account's credentials.
fn connection<'a>(
    endpoint: &'a str,
    api_key: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
) -> Vec<&'a str> {
    let mut args = vec![
        "--endpoint",
        endpoint,
        "--api-key",
        api_key,
        "--secret",
        secret,
    ];
    args.extend(token.into_iter().flat_map(|token| ["--token", token]));
    args
}

fn ipernity(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = common::ipernity_command()
        .args(args)
        .env_remove("IPERNITY_SECRET")
        .env_remove("IPERNITY_TOKEN")
        .env_remove("IPERNITY_API_KEY")
        .env_remove("IPERNITY_ENDPOINT")
        .env_remove("IPERNITY_ACCOUNT")
        // No token kept anywhere unless a test keeps one.
        .env("IPERNITY_TOKEN_DIR", empty_token_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn empty_token_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ipernity-cli-no-tokens-{}", std::process::id()))
}

fn fixture(path: &str) -> String {
    format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn decode_prints_the_payload_as_json_for_every_format() {
    for (format, file) in [
        ("json", "responses/json/auth.getToken.json"),
        ("xml", "responses/xml/auth.getToken.xml"),
        ("php", "responses/php/auth.getToken.ser"),
        ("soap", "responses/soap/auth.getToken.xml"),
        ("xmlrpc", "responses/xmlrpc/auth.getToken.xml"),
    ] {
        let out = ipernity(&["decode", "--format", format, &fixture(file)], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["auth"]["token"], "12345-a0b1c2d3e4f5", "{format}");
        assert_eq!(json["auth"]["permissions"]["doc"], "write", "{format}");
        assert!(json.get("api").is_none());
    }
}

#[test]
fn decode_reads_standard_input() {
    let body = br#"{"api":{"status":"ok"},"hello":"hello world!"}"#;
    for args in [
        &["decode", "--format", "json"][..],
        &["decode", "--format", "json", "-"],
    ] {
        let out = ipernity(args, Some(body));
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            text(&out.stdout).trim(),
            "{\n  \"hello\": \"hello world!\"\n}"
        );
    }
}

#[test]
fn decode_reports_api_errors_with_status_2() {
    for (format, file) in [
        ("soap", "responses/soap/error-121.xml"),
        ("xmlrpc", "responses/xmlrpc/error-122.xml"),
        ("json", "responses/json/error-102.json"),
    ] {
        let out = ipernity(&["decode", "--format", format, &fixture(file)], None);
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(out.stdout.is_empty());
        let stderr = text(&out.stderr);
        assert!(
            [
                "error 121: Invalid SOAP envelope",
                "error 122: Invalid XML-RPC envelope",
                "error 102: Invalid format"
            ]
            .contains(&stderr.trim()),
            "{stderr}"
        );
    }
}

#[test]
fn decode_reports_malformed_bodies_with_status_1() {
    let out = ipernity(&["decode", "--format", "php"], Some(b"s:99999999999:\""));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("malformed php response:"), "{stderr}");
    let out = ipernity(&["decode", "--format", "xml", "/nonexistent/file"], None);
    assert_eq!(out.status.code(), Some(1));
    let out = ipernity(&["decode", "--format", "yaml"], Some(b""));
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn sign_reproduces_the_documented_vectors() {
    let out = ipernity(
        &[
            "sign",
            "--secret",
            SECRET,
            "doc.tags.add",
            &format!("api_key={KEY}"),
            "doc_id=1234",
            "keywords=easy",
        ],
        None,
    );
    assert_eq!(text(&out.stdout).trim(), "a269b218feb341ef03bc093a0f2c8078");
    let out = ipernity(
        &[
            "sign",
            "--secret",
            SECRET,
            "",
            &format!("api_key={KEY}"),
            "perm_network=read",
        ],
        None,
    );
    assert_eq!(text(&out.stdout).trim(), "da183021cd39461108770b822fcd9398");
}

#[test]
fn sign_explain_redacts_the_secret() {
    let out = ipernity(
        &[
            "sign",
            "--secret",
            SECRET,
            "--explain",
            "",
            &format!("api_key={KEY}"),
            "perm_network=read",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("api_key{KEY}perm_networkread<secret>")
    );
    assert!(!stdout.contains(SECRET));
    let out = ipernity(
        &["sign", "--secret", SECRET, "test.echo", "no-equals-sign"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn encode_prints_the_request_without_secrets() {
    let out = ipernity(
        &[
            "encode",
            "--protocol",
            "soap",
            "--format",
            "json",
            "--api-key",
            KEY,
            "--secret",
            SECRET,
            "--token",
            "TOKEN-VALUE",
            "doc.set",
            "doc_id=1234",
            "title=Zoë <&>",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("POST /api/soap/json HTTP/1.1\r\nHost: api.ipernity.com\r\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<title>Zoë &lt;&amp;&gt;</title>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<auth_token>&lt;redacted&gt;</auth_token>"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("TOKEN-VALUE") && !stdout.contains(SECRET),
        "{stdout}"
    );

    let out = ipernity(
        &[
            "encode",
            "--api-key",
            KEY,
            "--secret",
            SECRET,
            "--endpoint",
            "http://127.0.0.1:8700/api",
            "test.echo",
            "echo=a b",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("GET /api/test.echo/json?api_key="),
        "{stdout}"
    );
    assert!(stdout.contains("echo=a%20b"), "{stdout}");
    assert!(stdout.contains("Host: 127.0.0.1:8700"), "{stdout}");

    let out = ipernity(
        &[
            "encode",
            "--protocol",
            "rest",
            "--format",
            "soap",
            "--api-key",
            KEY,
            "--secret",
            SECRET,
            "test.echo",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("format"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_without_an_endpoint_uses_the_embedded_emulator() {
    for protocol in ["rest", "soap", "xmlrpc"] {
        let out = ipernity(
            &["call", "test.echo", "echo=hello", "--protocol", protocol],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{protocol}: {}",
            text(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["echo"], "hello");
        assert!(
            text(&out.stderr).contains("embedded emulator at http://127.0.0.1:"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = ipernity(&["call", "doc.get", "doc_id=1", "--format", "php"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("error 1: Document not found"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_dry_run_sends_nothing_and_redacts_the_token() {
    let out = ipernity(
        &[
            "call",
            "doc.delete",
            "doc_id=1",
            "--dry-run",
            "--endpoint",
            "http://127.0.0.1:9/api",
            "--api-key",
            KEY,
            "--secret",
            SECRET,
            "--token",
            "TOKEN-VALUE",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("POST /api/doc.delete/json HTTP/1.1"),
        "{stdout}"
    );
    assert!(stdout.contains("auth_token=%3Credacted%3E"), "{stdout}");
    assert!(
        !stdout.contains("TOKEN-VALUE") && !stdout.contains(SECRET),
        "{stdout}"
    );
}

#[test]
fn serve_prints_its_address_and_credentials_then_answers() {
    let (mut server, endpoint, [api_key, secret, token]) =
        start_server(&["--perms", "doc=read", "--api-key", "local-key"]);
    assert_eq!(api_key, "local-key");
    let base = connection(
        endpoint.as_str(),
        api_key.as_str(),
        secret.as_str(),
        Some(token.as_str()),
    );
    let out = ipernity(
        &[
            &["call", "auth.checkToken", "--protocol", "xmlrpc"][..],
            &base,
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"doc\": \"read\""),
        "{}",
        text(&out.stdout)
    );
    let out = ipernity(
        &[&["call", "doc.delete", "doc_id=1"][..], &base].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error 110:"),
        "{}",
        text(&out.stderr)
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Starts `ipernity serve` on a free port and reads its credentials.
#[test]
fn a_killed_emulator_restarted_on_its_data_directory_keeps_confirmed_documents() {
    let dir = std::env::temp_dir().join(format!("ipernity-cli-crash-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let fixed = [
        "--data",
        dir.to_str().unwrap(),
        "--api-key",
        "crash-key",
        "--secret",
        "crash-secret",
        "--token",
        "1-crashtoken",
    ];
    let (mut server, endpoint, _) = start_server(&fixed);
    let base = connection(
        endpoint.as_str(),
        "crash-key",
        "crash-secret",
        Some("1-crashtoken"),
    );
    let out = ipernity(
        &[&["call", "album.create", "title=survivor"][..], &base].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let album: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let album_id = album["album"]["album_id"].as_str().unwrap().to_owned();
    server.kill().unwrap(); // SIGKILL: no shutdown code runs
    server.wait().unwrap();

    let (mut server, endpoint, _) = start_server(&fixed);
    let base = connection(
        endpoint.as_str(),
        "crash-key",
        "crash-secret",
        Some("1-crashtoken"),
    );
    let out = ipernity(
        &[
            &["call", "album.get", &format!("album_id={album_id}")][..],
            &base,
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"title\": \"survivor\""),
        "{}",
        text(&out.stdout)
    );
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn conformance_passes_on_the_embedded_emulator_and_fails_elsewhere() {
    let out = ipernity(&["conformance"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(
        last.ends_with(" passed, 0 failed") && !last.starts_with("0 "),
        "{last}"
    );
    assert!(
        stdout.lines().any(|l| l == "ok    soap/parse/wrong-urn"),
        "{stdout}"
    );

    let (mut server, endpoint, [api_key, secret, token]) = start_server(&[]);
    let out = ipernity(
        &[
            "conformance",
            "--endpoint",
            &endpoint,
            "--api-key",
            &api_key,
            "--secret",
            &secret,
            "--token",
            &token,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // Something that is not the API fails every case.
    let elsewhere = endpoint.replace("/api", "/nowhere");
    let out = ipernity(
        &[
            "conformance",
            "--endpoint",
            &elsewhere,
            "--api-key",
            &api_key,
            "--secret",
            &secret,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .starts_with("0 passed, "),
        "{}",
        text(&out.stdout)
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn upload_walks_directories_and_prints_one_line_per_file() {
    let dir = std::env::temp_dir().join(format!("ipernity-cli-upload-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.jpg"), b"first").unwrap();
    std::fs::write(dir.join("sub/b.jpg"), b"second").unwrap();
    let data = dir.join("emulator-data");
    let (mut server, endpoint, [api_key, secret, token]) =
        start_server(&["--data", data.to_str().unwrap()]);
    let base = connection(
        endpoint.as_str(),
        api_key.as_str(),
        secret.as_str(),
        Some(token.as_str()),
    );
    let photos = dir.join("a.jpg");
    let sub = dir.join("sub");
    for protocol in ["rest", "soap", "xmlrpc"] {
        let args = [
            &[
                "upload",
                photos.to_str().unwrap(),
                sub.to_str().unwrap(),
                "--protocol",
                protocol,
                "--keywords",
                "x,y",
                "--visibility",
                "public",
            ][..],
            &base,
        ]
        .concat();
        let out = ipernity(&args, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{protocol}: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        let mut lines: Vec<&str> = stdout.lines().collect();
        lines.sort();
        assert_eq!(lines.len(), 2, "{stdout}");
        for (line, source, content) in [
            (lines[0], &photos, &b"first"[..]),
            (lines[1], &dir.join("sub/b.jpg"), &b"second"[..]),
        ] {
            let doc_id = line
                .strip_prefix(&format!("{} doc_id=", source.display()))
                .unwrap_or_else(|| panic!("{line}"));
            assert_eq!(
                std::fs::read(data.join(format!("doc-{doc_id}.bin"))).unwrap(),
                content
            );
        }
    }
    let out = ipernity(
        &[
            &["upload", photos.to_str().unwrap(), "--no-wait"][..],
            &base,
        ]
        .concat(),
        None,
    );
    assert!(
        text(&out.stdout).starts_with(&format!("{} ticket=", photos.display())),
        "{}",
        text(&out.stdout)
    );
    let out = ipernity(
        &[
            &[
                "upload",
                photos.to_str().unwrap(),
                "--lat",
                "95",
                "--lng",
                "0",
            ][..],
            &base,
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`lat`"), "{}", text(&out.stderr));
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tickets_reports_and_waits() {
    let dir = std::env::temp_dir().join(format!("ipernity-cli-tickets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("t.jpg");
    std::fs::write(&photo, b"ticket me").unwrap();
    let (mut server, endpoint, [api_key, secret, token]) = start_server(&[]);
    let base = connection(
        endpoint.as_str(),
        api_key.as_str(),
        secret.as_str(),
        Some(token.as_str()),
    );
    let out = ipernity(
        &[&["upload", photo.to_str().unwrap(), "--no-wait"][..], &base].concat(),
        None,
    );
    let line = text(&out.stdout);
    let ticket = line.trim().rsplit_once("ticket=").unwrap().1.to_owned();
    let out = ipernity(
        &[&["tickets", ticket.as_str(), "999-999"][..], &base].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{ticket} pending eta=")),
        "{stdout}"
    );
    assert!(stdout.contains("999-999 invalid"), "{stdout}");
    let out = ipernity(
        &[&["tickets", ticket.as_str(), "--wait"][..], &base].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("{ticket} doc_id=")),
        "{}",
        text(&out.stdout)
    );
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_slow_a_bulk_upload_down_instead_of_failing_files() {
    use ipernity::server::{Emulator, Fault, Schedule};
    let dir = std::env::temp_dir().join(format!("ipernity-cli-throttle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a.jpg", "b.jpg", "c.jpg"] {
        std::fs::write(dir.join(name), name.as_bytes()).unwrap();
    }
    let emulator = Emulator::builder()
        .ticket_delay(std::time::Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let credentials = emulator.credentials();
    emulator.inject_for("upload.file", Fault::Api(113), Schedule::Next(2));
    let endpoint = emulator.base_url();
    let token = credentials.token.clone().unwrap();
    let args: Vec<String> = [
        "upload",
        dir.to_str().unwrap(),
        "--jobs",
        "1",
        "--endpoint",
        &endpoint,
        "--api-key",
        &credentials.api_key,
        "--secret",
        credentials.secret.expose(),
        "--token",
        token.expose(),
    ]
    .map(str::to_owned)
    .to_vec();
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        ipernity(&args.iter().map(String::as_str).collect::<Vec<_>>(), None)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.contains(" doc_id="))
            .count(),
        3,
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("every upload waits").count(), 2, "{stderr}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "1 s then 2 s of pause"
    );
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_upload_killed_and_started_again_uploads_every_file_exactly_once() {
    use ipernity::server::{Emulator, Fault, Schedule};
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("ipernity-cli-bulk-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let mut sources = Vec::new();
    for index in 0..200 {
        let content = format!("photo {index} ").repeat(50 + index).into_bytes();
        std::fs::write(photos.join(format!("{index:03}.jpg")), &content).unwrap();
        sources.push(content);
    }
    let data = dir.join("data");
    let emulator = Emulator::builder()
        .data_dir(&data)
        .ticket_delay(std::time::Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let credentials = emulator.credentials();
    let token = credentials.token.clone().unwrap();
    let journal = dir.join("journal.jsonl");
    let args: Vec<String> = [
        "upload",
        photos.to_str().unwrap(),
        "--jobs",
        "8",
        "--journal",
        journal.to_str().unwrap(),
        "--endpoint",
        &emulator.base_url(),
        "--api-key",
        &credentials.api_key,
        "--secret",
        credentials.secret.expose(),
        "--token",
        token.expose(),
    ]
    .map(str::to_owned)
    .to_vec();

    // First run: rate-limit answers and proxy errors on the way, killed after 80 uploads began.
    emulator.inject_for("upload.file", Fault::Api(113), Schedule::Next(2));
    let first = args.clone();
    tokio::task::spawn_blocking(move || {
        let mut child = common::ipernity_command()
            .args(&first)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut started = 0;
        for line in stderr.lines() {
            if line.unwrap().starts_with("uploading ") {
                started += 1;
                if started == 80 {
                    child.kill().unwrap();
                    break;
                }
            }
        }
        child.wait().unwrap();
    })
    .await
    .unwrap();
    emulator.inject(Fault::Http(503), Schedule::Every(17));

    // Second run: whatever failed or was cut off is finished; a third cleans up the 503 casualties.
    let mut last_stdout = String::new();
    for _ in 0..3 {
        let again = args.clone();
        let out = tokio::task::spawn_blocking(move || {
            ipernity(&again.iter().map(String::as_str).collect::<Vec<_>>(), None)
        })
        .await
        .unwrap();
        last_stdout = text(&out.stdout);
        emulator.clear_faults();
        if out.status.code() == Some(0) {
            break;
        }
    }
    assert_eq!(
        last_stdout
            .lines()
            .filter(|l| l.contains(" doc_id="))
            .count(),
        200,
        "{last_stdout}"
    );

    // Exactly 200 documents, whose bytes are the sources'.
    let mut stored: Vec<Vec<u8>> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("doc-"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    stored.sort();
    sources.sort();
    assert_eq!(stored.len(), 200);
    assert!(
        stored == sources,
        "the stored files differ from the sources"
    );
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the CLI with a pseudo-terminal as its standard input, output and error (through Python's
/// `pty`), and returns everything the terminal showed and the exit status.
fn on_a_terminal(args: &[&str]) -> (String, Option<i32>) {
    const SCRIPT: &str = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave,
                         env=dict(os.environ, TERM="xterm", COLUMNS="120"))
os.close(slave)
shown = b""
while True:
    try:
        piece = os.read(master, 65536)
    except OSError:
        break
    if not piece:
        break
    shown += piece
sys.stdout.buffer.write(shown)
sys.exit(child.wait())
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(env!("CARGO_BIN_EXE_ipernity"))
        .args(args)
        .env(
            "IPERNITY_DATA_DIR",
            std::env::temp_dir().join(format!("ipernity-test-pty-{}", std::process::id())),
        )
        .output()
        .unwrap();
    (text(&out.stdout), out.status.code())
}

#[test]
fn upload_draws_bars_on_a_terminal_and_plain_lines_elsewhere() {
    let dir = std::env::temp_dir().join(format!("ipernity-cli-bars-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["one.bin", "two.bin"] {
        std::fs::write(dir.join(name), vec![b'x'; 24 << 20]).unwrap();
    }
    let path = dir.to_str().unwrap();

    // On a terminal: a bar per file and the overall bar, then one result line per file.
    let (shown, status) = on_a_terminal(&["upload", path, "--protocol", "soap", "--jobs", "2"]);
    assert_eq!(status, Some(0), "{shown}");
    assert!(shown.contains("all files"), "no overall bar: {shown}");
    assert!(
        shown.contains("one.bin") && shown.contains("two.bin"),
        "{shown}"
    );
    assert!(
        shown.contains("MiB/48.00 MiB"),
        "the overall bar counts file bytes: {shown}"
    );
    assert!(!shown.contains("uploading "), "{shown}");
    for name in ["one.bin", "two.bin"] {
        let line = format!("{} doc_id=", dir.join(name).display());
        assert!(shown.contains(&line), "{line} missing: {shown}");
    }

    // Elsewhere: plain lines only, no terminal control sequences.
    let out = ipernity(&["upload", path, "--protocol", "soap"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("uploading ").count(), 2, "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains("all files"),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout).lines().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_refuses_files_beyond_the_quota_without_sending_them() {
    use ipernity::server::Emulator;
    let dir = std::env::temp_dir().join(format!("ipernity-cli-quota-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("big.jpg"), vec![1u8; 2000]).unwrap();
    std::fs::write(dir.join("small.jpg"), vec![2u8; 500]).unwrap();
    let emulator = Emulator::builder()
        .max_file_size(1000)
        .ticket_delay(std::time::Duration::ZERO)
        .start()
        .await
        .unwrap();
    let credentials = emulator.credentials();
    let token = credentials.token.clone().unwrap();
    let args: Vec<String> = [
        "upload",
        dir.to_str().unwrap(),
        "--endpoint",
        &emulator.base_url(),
        "--api-key",
        &credentials.api_key,
        "--secret",
        credentials.secret.expose(),
        "--token",
        token.expose(),
    ]
    .map(str::to_owned)
    .to_vec();
    let out = tokio::task::spawn_blocking(move || {
        ipernity(&args.iter().map(String::as_str).collect::<Vec<_>>(), None)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with(&format!("{} doc_id=", dir.join("small.jpg").display())));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: invalid parameter `file`",
            dir.join("big.jpg").display()
        )) && stderr.contains("error 2"),
        "{stderr}"
    );
    // Only the small file was sent.
    assert_eq!(stderr.matches("uploading ").count(), 1, "{stderr}");
    assert_eq!(
        emulator.last_upload().unwrap().filename.as_deref(),
        Some("small.jpg")
    );
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `ipernity ARGS` with `token_dir` as its token store, answering its authorization step
/// like a user: the link it prints is opened (the emulator approves it), then Enter is pressed.
fn login_like_a_user(args: &[&str], token_dir: &std::path::Path) -> (String, String, Option<i32>) {
    use std::io::BufRead;
    let mut child = common::ipernity_command()
        .args(args)
        .env("IPERNITY_TOKEN_DIR", token_dir)
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The command waits for Enter: nothing is fetched before the user confirms.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "login did not wait for the user"
    );
    let page = http_get(&url);
    assert!(page.contains("authorized"), "{page}");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        format!("{url}\n{rest}"),
        text(&out.stderr),
        out.status.code(),
    )
}

/// A plain HTTP/1.1 GET on loopback, returning the body.
fn http_get(url: &str) -> String {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn login_keeps_a_private_token_that_later_commands_use() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ipernity-cli-login-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let tokens = dir.join("tokens");
    let (mut server, endpoint, [api_key, secret, _]) = start_server(&[]);
    let target = [
        "--endpoint",
        endpoint.as_str(),
        "--api-key",
        api_key.as_str(),
        "--secret",
        secret.as_str(),
    ];

    // The frob flow, then OAuth, each kept under its own account.
    let (stdout, stderr, status) = login_like_a_user(
        &[
            &[
                "login",
                "--perms",
                "doc=write,network=read",
                "--save-as",
                "frob",
            ][..],
            &target,
        ]
        .concat(),
        &tokens,
    );
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("logged in as emulated") && stdout.contains("doc=write,network=read"),
        "{stdout}"
    );
    assert!(stderr.contains("press Enter"), "{stderr}");
    let (stdout, stderr, status) = login_like_a_user(
        &[
            &[
                "login",
                "--oauth",
                "--perms",
                "doc=read",
                "--save-as",
                "oauth",
            ][..],
            &target,
        ]
        .concat(),
        &tokens,
    );
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("/apps/oauth/authorize?oauth_token="),
        "{stdout}"
    );

    let key_dir = tokens.join(&api_key);
    for account in ["frob", "oauth"] {
        let file = key_dir.join(format!("{account}.json"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }

    // Later commands use the kept token: the account chosen, or refused when it is not kept.
    let whoami = |extra: &[&str]| {
        let out = common::ipernity_command()
            .args([&["whoami"][..], &target, extra].concat())
            .env("IPERNITY_TOKEN_DIR", &tokens)
            .env_remove("IPERNITY_TOKEN")
            .env_remove("IPERNITY_ACCOUNT")
            .output()
            .unwrap();
        (text(&out.stdout), text(&out.stderr), out.status.code())
    };
    let (stdout, _, status) = whoami(&["--account", "frob"]);
    assert_eq!(status, Some(0));
    assert!(
        stdout.contains("permissions: doc=write,network=read"),
        "{stdout}"
    );
    assert!(stdout.contains("account: frob"), "{stdout}");
    let (stdout, _, status) = whoami(&["--account", "oauth"]);
    assert_eq!(status, Some(0));
    assert!(
        stdout.contains("permissions: doc=read") && stdout.contains("(OAuth)"),
        "{stdout}"
    );
    let (_, stderr, status) = whoami(&["--account", "nobody"]);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("run `ipernity login`"), "{stderr}");
    // Two accounts and none chosen: said so, and the call goes without a token (106).
    let (_, stderr, status) = whoami(&[]);
    assert_eq!(status, Some(1));
    assert!(
        stderr.contains("several accounts (frob, oauth)"),
        "{stderr}"
    );

    // The kept token's permissions are checked before anything is sent.
    let out = common::ipernity_command()
        .args(
            [
                &["call", "doc.delete", "doc_id=1", "--account", "oauth"][..],
                &target,
            ]
            .concat(),
        )
        .env("IPERNITY_TOKEN_DIR", &tokens)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("needs the doc:delete permission"),
        "{}",
        text(&out.stderr)
    );

    // No secret of the kept tokens shows in anything the commands printed.
    let kept: Vec<serde_json::Value> = ["frob", "oauth"]
        .iter()
        .map(|a| {
            serde_json::from_slice(&std::fs::read(key_dir.join(format!("{a}.json"))).unwrap())
                .unwrap()
        })
        .collect();
    let (stdout, stderr, _) = whoami(&["--account", "oauth"]);
    for record in &kept {
        for field in ["token", "oauth_secret"] {
            if let Some(secret) = record[field].as_str() {
                assert!(
                    !stdout.contains(secret) && !stderr.contains(secret),
                    "{field} leaked"
                );
            }
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn login_runs_unattended_on_the_embedded_emulator() {
    let tokens = std::env::temp_dir().join(format!(
        "ipernity-cli-login-embedded-{}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&tokens).ok();
    for extra in [&[][..], &["--oauth"][..]] {
        let out = common::ipernity_command()
            .args([&["login", "--perms", "doc=delete,profile=read"][..], extra].concat())
            .env("IPERNITY_TOKEN_DIR", &tokens)
            .env_remove("IPERNITY_ENDPOINT")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("with doc=delete,profile=read"), "{stdout}");
        assert!(text(&out.stderr).contains("authorizing without a browser"));
    }
    let kept = tokens
        .join("ipernity-embedded-emulator")
        .join("emulated.json");
    assert!(kept.exists(), "{}", kept.display());
    std::fs::remove_dir_all(&tokens).unwrap();
}

#[test]
fn an_emulator_killed_mid_bulk_upload_loses_no_confirmed_document_and_the_resumed_run_finishes_exactly_once()
 {
    use std::io::BufRead;
    let dir =
        std::env::temp_dir().join(format!("ipernity-cli-emulator-kill-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let mut sources = std::collections::BTreeMap::new();
    for index in 0..60 {
        let content = format!("picture {index} ")
            .repeat(200 + 97 * index)
            .into_bytes();
        let path = photos.join(format!("{index:02}.jpg"));
        std::fs::write(&path, &content).unwrap();
        sources.insert(path.display().to_string(), content);
    }
    let data = dir.join("data");
    let addr = common::free_addr();
    let fixed = [
        "--data",
        data.to_str().unwrap(),
        "--api-key",
        "kill-key",
        "--secret",
        "kill-secret",
        "--token",
        "1-killtoken",
    ];
    let (mut server, endpoint, _) = common::start_server_at(&addr, &fixed);
    let journal = dir.join("journal.jsonl");
    let args = [
        "upload",
        photos.to_str().unwrap(),
        "--jobs",
        "4",
        "--journal",
        journal.to_str().unwrap(),
        "--wait-timeout",
        "60",
        "--endpoint",
        endpoint.as_str(),
        "--api-key",
        "kill-key",
        "--secret",
        "kill-secret",
        "--token",
        "1-killtoken",
    ];

    // The emulator is killed once twenty documents were confirmed to the client.
    let mut client = common::ipernity_command()
        .args(args)
        .env("IPERNITY_TOKEN_DIR", empty_token_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut confirmed = std::collections::BTreeMap::new();
    for line in std::io::BufReader::new(client.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((path, doc_id)) = line.split_once(" doc_id=") {
            confirmed.insert(path.to_owned(), doc_id.to_owned());
            if confirmed.len() == 20 {
                server.kill().unwrap(); // SIGKILL: nothing is flushed on the way out
                server.wait().unwrap();
            }
        }
    }
    client.wait().unwrap();
    assert!(confirmed.len() >= 20, "{confirmed:?}");

    // Restarted on the same directory and address: every confirmed document is still there, and
    // what uploads in flight had spooled is gone.
    let (mut server, _, _) = common::start_server_at(&addr, &fixed);
    let leftovers: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    for (path, doc_id) in &confirmed {
        let stored = std::fs::read(data.join(format!("doc-{doc_id}.bin"))).unwrap();
        assert!(stored == sources[path], "{path}: doc {doc_id} differs");
    }
    let mut last = String::new();
    for _ in 0..3 {
        let out = ipernity(&args, None);
        last = text(&out.stdout);
        if out.status.code() == Some(0) {
            break;
        }
    }
    let finished: std::collections::BTreeMap<String, String> = last
        .lines()
        .filter_map(|l| l.split_once(" doc_id="))
        .map(|(p, d)| (p.to_owned(), d.to_owned()))
        .collect();
    assert_eq!(finished.len(), 60, "{last}");
    for (path, doc_id) in &confirmed {
        assert_eq!(
            &finished[path], doc_id,
            "a confirmed document was uploaded again"
        );
    }
    // Exactly one stored document per file, with its bytes.
    let mut stored: Vec<Vec<u8>> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("doc-"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    stored.sort();
    let mut expected: Vec<Vec<u8>> = sources.into_values().collect();
    expected.sort();
    assert_eq!(stored.len(), 60);
    assert!(
        stored == expected,
        "the stored files differ from the sources"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every command that talks to an endpoint, pointed at one that refuses connections, one that
/// answers an HTML 500 page echoing the request, and one that redirects elsewhere: whatever it
/// prints names the failure and never the secret, the token or the call's `api_sig`.
#[test]
fn commands_never_print_a_secret_when_the_endpoint_fails() {
    use std::io::Read;
    const TOKEN: &str = "TokenThatMustNotShow42";
    // A server that answers each request with a page echoing it, or a redirect.
    let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_addr = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, stream) in echo.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(std::time::Duration::from_millis(300)))
                .unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 65536];
            while let Ok(read) = stream.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            let echoed = String::from_utf8_lossy(&request).into_owned();
            let answer = if n % 2 == 0 {
                format!(
                    "HTTP/1.1 500 Oops\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{echoed}",
                    echoed.len()
                )
            } else {
                "HTTP/1.1 302 Found\r\nlocation: http://elsewhere.example:8080/api/x?auth_token=TokenThatMustNotShow42\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let echo_endpoint = format!("http://{echo_addr}/api");
    let dir = std::env::temp_dir().join(format!("ipernity-cli-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a.jpg");
    std::fs::write(&file, b"\xff\xd8 a photo").unwrap();
    let file = file.to_str().unwrap();
    for endpoint in [
        "http://127.0.0.1:1/api",
        echo_endpoint.as_str(),
        echo_endpoint.as_str(),
    ] {
        let commands: [&[&str]; 6] = [
            &["call", "test.hello"],
            &["call", "doc.get", "doc_id=1", "--protocol", "xmlrpc"],
            &["call", "doc.delete", "doc_id=1", "--protocol", "soap"],
            &["whoami"],
            &["tickets", "1-2"],
            &["upload", file],
        ];
        for command in commands {
            let args = [command, &connection(endpoint, KEY, SECRET, Some(TOKEN))[..]].concat();
            let out = ipernity(&args, None);
            let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert_ne!(out.status.code(), Some(0), "{args:?}: {printed}");
            assert!(!printed.is_empty(), "{args:?} printed nothing");
            assert!(
                !printed.contains(TOKEN) && !printed.contains(SECRET),
                "{args:?}: {printed}"
            );
            // No 32-hex-digit signature either (the API key and multipart boundaries are not
            // secret).
            let bytes = printed.as_bytes();
            let hex_run = (0..bytes.len()).any(|start| {
                let run = bytes[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                let boundary = bytes[..start].ends_with(b"ipernity-");
                let run_start = start == 0 || !bytes[start - 1].is_ascii_hexdigit();
                run_start && run == 32 && !boundary && &bytes[start..start + 32] != KEY.as_bytes()
            });
            assert!(!hex_run, "{args:?}: a signature in {printed}");
        }
    }
}

/// The README's walk-through, command after command: an upload to the embedded emulator, then a
/// call that reads the document back; the state is kept between runs in the data directory it
/// names, and `--fresh` starts it empty.
#[test]
fn the_embedded_emulator_keeps_its_state_between_commands() {
    let data = std::env::temp_dir().join(format!("ipernity-cli-walk-{}", std::process::id()));
    std::fs::remove_dir_all(&data).ok();
    let run = |args: &[&str]| {
        common::ipernity_command()
            .args(args)
            .env("IPERNITY_DATA_DIR", &data)
            .env("IPERNITY_TOKEN_DIR", empty_token_dir())
            .env_remove("IPERNITY_ENDPOINT")
            .output()
            .unwrap()
    };
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let out = run(&[
        "upload",
        readme,
        "--title",
        "First upload",
        "--protocol",
        "soap",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("its data in {}", data.display())),
        "{}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let doc_id = stdout
        .trim()
        .strip_prefix(&format!("{readme} doc_id="))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_owned();
    let doc_arg = format!("doc_id={doc_id}");
    let out = run(&["call", "doc.get", &doc_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("First upload"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&["call", "doc.get", &doc_arg, "--fresh"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("started fresh"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&data).ok();
}

//! The `ipernity` binary as a user runs it: `decode`, `sign`, `encode`, `call` (on the embedded
//! emulator and with `--dry-run`), `serve`, `conformance`, `tickets`, their output and exit
//! status, and no secret printed whatever the endpoint does. `upload` is in `upload`, `login`
//! and `whoami` in `login`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support as common;

mod login;
mod upload;

use common::start_server;
use std::io::Write;
use std::process::{Output, Stdio};

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
fn methods_lists_the_catalog_and_shows_one_method() {
    let out = ipernity(&["methods"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert_eq!(listing.lines().count(), 102, "{listing}");
    let delete = listing
        .lines()
        .find(|line| line.starts_with("doc.delete "))
        .unwrap();
    assert!(
        delete.contains("POST") && delete.contains("token") && delete.contains("doc:delete"),
        "{delete}"
    );
    let out = ipernity(&["methods", "doc.getList"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for fact in [
        "user_id",
        "required",
        "photo|video|audio|other",
        "1..=100",
        "user unknown, closed or suspended",
    ] {
        assert!(shown.contains(fact), "{fact} missing from {shown}");
    }
    let out = ipernity(&["methods", "doc.fly"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("doc.fly"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_refuses_parameters_the_catalog_refuses_before_sending() {
    // The endpoint does not exist: a refusal that sent something would say "connection".
    let remote = [
        "--endpoint",
        "http://127.0.0.1:9/api",
        "--api-key",
        KEY,
        "--secret",
        SECRET,
    ];
    for (args, param) in [
        (
            &["call", "doc.getList", "user_id=1", "per_page=500"][..],
            "per_page",
        ),
        (&["call", "doc.getList"][..], "user_id"),
        (&["call", "doc.get", "doc_id=1", "docid=2"][..], "docid"),
        (
            &[
                "call",
                "doc.getList",
                "user_id=1",
                "media=picture",
                "--dry-run",
            ][..],
            "media",
        ),
    ] {
        let out = ipernity(&[args, &remote[..]].concat(), None);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid parameter `{param}` of {}", args[1])),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Opting out sends an unknown name (here to a closed port: a connection error, status 1).
    let out = ipernity(
        &[
            &[
                "call",
                "doc.get",
                "doc_id=1",
                "lang=fr",
                "--allow-unknown-params",
            ][..],
            &remote[..],
        ]
        .concat(),
        None,
    );
    assert!(
        !text(&out.stderr).contains("invalid parameter"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_all_pages_prints_one_line_per_item() {
    let data = std::env::temp_dir().join(format!("ipernity-cli-pages-{}", std::process::id()));
    std::fs::remove_dir_all(&data).ok();
    let files = data.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for n in 0..5 {
        std::fs::write(files.join(format!("{n}.jpg")), format!("\u{ff}\u{d8} {n}")).unwrap();
    }
    let run = |args: &[&str]| {
        common::ipernity_command()
            .args(args)
            .env("IPERNITY_DATA_DIR", data.join("emulator"))
            .env("IPERNITY_TOKEN_DIR", empty_token_dir())
            .env_remove("IPERNITY_ENDPOINT")
            .output()
            .unwrap()
    };
    let out = run(&["upload", files.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Two per page: three pages, five lines, each a document.
    let out = run(&[
        "call",
        "doc.getList",
        "user_id=1",
        "per_page=2",
        "--all-pages",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{}", text(&out.stdout));
    assert!(
        lines.iter().all(|doc| doc["doc_id"].is_string()),
        "{lines:?}"
    );
    // A method that does not page is refused before anything is sent.
    let out = run(&["call", "doc.get", "doc_id=1", "--all-pages"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not page"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&data).ok();
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
    // Every method on every protocol and format, counted per family.
    assert!(
        stdout
            .lines()
            .any(|l| l == "ok    methods/xmlrpc/xmlrpc doc.getExif"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "doc: 155/155 passed"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "post: 65/65 passed"),
        "{stdout}"
    );

    // A seeded emulator has the group and post the method cases need.
    let (mut server, endpoint, [api_key, secret, token]) = start_server(&["--seed", "40"]);
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
    let archive = dir.join("archive");
    let archive = archive.to_str().unwrap();
    let journal = dir.join("restore.journal");
    let journal = journal.to_str().unwrap();
    for endpoint in [
        "http://127.0.0.1:1/api",
        echo_endpoint.as_str(),
        echo_endpoint.as_str(),
    ] {
        let commands: [&[&str]; 8] = [
            &["call", "test.hello"],
            &["call", "doc.get", "doc_id=1", "--protocol", "xmlrpc"],
            &["call", "doc.delete", "doc_id=1", "--protocol", "soap"],
            &["whoami"],
            &["tickets", "1-2"],
            &["upload", file],
            &["backup", archive],
            &["restore", archive, "--journal", journal],
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
    // Then the archive of that account: the original and its sidecar, verified.
    let archive = data.join("archive");
    let out = run(&["backup", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let original =
        std::fs::read(archive.join(format!("docs/{}.md", doc_arg.trim_start_matches("doc_id="))))
            .unwrap();
    assert_eq!(original, std::fs::read(readme).unwrap());
    let out = run(&["backup", "--verify", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(&["call", "doc.get", &doc_arg, "--fresh"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("started fresh"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&data).ok();
}

/// `backup` and `restore` show two bars with an ETA (documents, bytes) on a terminal, and one
/// plain line per document elsewhere.
#[test]
fn backup_and_restore_draw_bars_on_a_terminal_and_plain_lines_elsewhere() {
    let (mut server, endpoint, [key, secret, token]) =
        start_server(&["--seed", "60", "--latency", "20", "--ticket-delay", "0"]);
    let dir =
        std::env::temp_dir().join(format!("ipernity-cli-archive-bars-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let connection = [
        "--endpoint",
        &endpoint,
        "--api-key",
        &key,
        "--secret",
        &secret,
        "--token",
        &token,
    ];
    let on_terminal = dir.join("terminal");
    let args = [
        &["backup", on_terminal.to_str().unwrap(), "--jobs", "2"][..],
        &connection,
    ]
    .concat();
    let (shown, status) = upload::on_a_terminal(&args);
    assert_eq!(status, Some(0), "{shown}");
    assert!(
        shown.contains("documents [") && shown.contains("bytes ["),
        "no bars: {shown}"
    );
    assert!(shown.contains("eta"), "no ETA: {shown}");
    assert!(!shown.contains("saved "), "{shown}");
    assert!(
        shown.contains("documents: ") && shown.contains(" fetched"),
        "{shown}"
    );

    let elsewhere = dir.join("plain");
    let out = ipernity(
        &[&["backup", elsewhere.to_str().unwrap()][..], &connection].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("listed "), "{stderr}");
    let saved = stderr.lines().filter(|l| l.starts_with("saved ")).count();
    assert!(saved > 40, "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");

    let journal = dir.join("restore.journal");
    let args = [
        &[
            "restore",
            elsewhere.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ][..],
        &connection,
    ]
    .concat();
    let (shown, status) = upload::on_a_terminal(&args);
    assert_eq!(status, Some(0), "{shown}");
    assert!(
        shown.contains("restored [") && shown.contains("bytes ["),
        "no bars: {shown}"
    );
    assert!(
        shown.contains("not restorable through the API"),
        "no survival table: {shown}"
    );
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
}

//! `ipernity upload`: walking directories, one result line per file, bars on a terminal and lines
//! elsewhere, the quota checked before anything is sent, the 112/113 slowdown, and runs killed
//! (the client or the emulator) and started again uploading every file exactly once.

use super::{connection, empty_token_dir, ipernity, text};
use crate::support as common;
use common::start_server;
use std::process::{Command, Stdio};

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
pub(super) fn on_a_terminal(args: &[&str]) -> (String, Option<i32>) {
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

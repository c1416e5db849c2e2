//! Persistence fails loudly, never silently: a damaged or empty database is an error (exit 1)
//! unless `--fresh` asks for a new one; a second emulator on a data directory touches nothing
//! before it is refused; a document deleted while its replacement waits stays deleted; SIGTERM
//! leaves no temporary directory behind.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ipernity::server::Emulator;
use ipernity::upload::UploadFile;
use ipernity::{Client, RetryPolicy};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipernity-persist-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `serve` on `data` and returns its exit code and standard error once it stops on its own
/// (it is killed after 5 s if it started).
fn serve_once(data: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut child = common::ipernity_command()
        .args([
            "serve",
            "--addr",
            &common::free_addr(),
            "--data",
            data.to_str().unwrap(),
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_empty_or_damaged_database_is_an_error_unless_started_fresh() {
    let data = temp_dir("damaged");
    // A real database first.
    let (mut server, _, _) = common::start_server(&["--data", data.to_str().unwrap()]);
    server.kill().unwrap();
    server.wait().unwrap();
    let database = data.join("emulator.redb");
    let good = std::fs::read(&database).unwrap();
    assert!(good.len() > 4096);

    std::fs::write(&database, b"").unwrap();
    let (code, stderr) = serve_once(&data, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("emulator.redb is empty"), "{stderr}");
    assert_eq!(
        std::fs::metadata(&database).unwrap().len(),
        0,
        "the empty file was replaced"
    );

    for length in [100, 4096, good.len() / 2] {
        std::fs::write(&database, &good[..length]).unwrap();
        let (code, stderr) = serve_once(&data, &[]);
        assert_eq!(code, Some(1), "truncated to {length}: {stderr}");
        assert!(
            stderr.contains("is damaged"),
            "truncated to {length}: {stderr}"
        );
        assert_eq!(
            std::fs::read(&database).unwrap().len(),
            length,
            "the damaged file was touched"
        );
    }

    // Asked for, a fresh start replaces it.
    let (mut server, _, _) = common::start_server(&["--data", data.to_str().unwrap(), "--fresh"]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(std::fs::metadata(&database).unwrap().len() > 4096);
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn a_second_emulator_on_a_data_directory_touches_nothing_before_it_is_refused() {
    let data = temp_dir("second");
    let (mut first, _, _) = common::start_server(&["--data", data.to_str().unwrap()]);
    // An upload in flight on the first emulator has its spool file here.
    let in_flight = data.join("upload-0123456789abcdef0123456789abcdef.part");
    std::fs::write(&in_flight, b"half an upload").unwrap();
    let (code, stderr) = serve_once(&data, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("in use by another emulator"), "{stderr}");
    assert!(
        in_flight.exists(),
        "the second emulator removed the first one's spool file"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::remove_dir_all(&data).ok();
}

/// An emulator on `data` whose tickets take `ticket_delay`, and a client of its user.
async fn emulator_with_client(
    data: &Path,
    ticket_delay: Duration,
) -> (ipernity::server::EmulatorHandle, Client) {
    let emulator = Emulator::builder()
        .data_dir(data)
        .ticket_delay(ticket_delay)
        .start()
        .await
        .unwrap();
    let credentials = emulator.credentials();
    let client = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    (emulator, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_deleted_while_its_replacement_waits_stays_deleted() {
    let data = temp_dir("replace");
    let (emulator, client) = emulator_with_client(&data, Duration::from_millis(400)).await;
    let doc_id = client
        .upload(UploadFile::from_bytes("a.jpg", b"\xff\xd8 first".to_vec()).asynchronous(false))
        .send()
        .await
        .unwrap()
        .doc_id
        .unwrap();
    let original = std::fs::read(data.join(format!("doc-{doc_id}.bin"))).unwrap();
    // The replacement waits for its ticket; the document keeps its file meanwhile.
    let pending = client
        .upload(UploadFile::from_bytes("b.jpg", b"\xff\xd8 second".to_vec()).replacing(doc_id))
        .send()
        .await
        .unwrap();
    let ticket = pending.ticket.unwrap();
    assert_eq!(
        std::fs::read(data.join(format!("doc-{doc_id}.bin"))).unwrap(),
        original
    );
    client
        .call("doc.delete")
        .param("doc_id", doc_id)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let tickets = client
        .call("upload.checkTickets")
        .param("tickets", &ticket)
        .send()
        .await
        .unwrap();
    let answer = tickets.get("tickets").unwrap();
    assert_eq!(
        answer.get("invalid").and_then(|v| v.as_u64()),
        Some(1),
        "{tickets:?}"
    );
    assert_eq!(
        answer.get("done").and_then(|v| v.as_u64()),
        Some(0),
        "{tickets:?}"
    );
    let gone = client
        .call("doc.get")
        .param("doc_id", doc_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.api_error().map(|e| e.code.as_u32()), Some(1), "{gone}");
    let left: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".bin") || name.ends_with(".part"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "files of a deleted document");
    emulator.shutdown().await;
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_of_a_living_document_takes_its_place_when_done() {
    let data = temp_dir("replace-ok");
    let (emulator, client) = emulator_with_client(&data, Duration::from_millis(100)).await;
    let doc_id = client
        .upload(
            UploadFile::from_bytes("a.jpg", b"\xff\xd8 first".to_vec())
                .title("kept title")
                .asynchronous(false),
        )
        .send()
        .await
        .unwrap()
        .doc_id
        .unwrap();
    client
        .upload(
            UploadFile::from_bytes("b.jpg", b"\xff\xd8 second".to_vec())
                .replacing(doc_id)
                .asynchronous(false),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(data.join(format!("doc-{doc_id}.bin"))).unwrap(),
        b"\xff\xd8 second"
    );
    let doc = client
        .call("doc.get")
        .param("doc_id", doc_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        doc.get("doc").unwrap().get("title").unwrap().as_str(),
        Some("kept title")
    );
    emulator.shutdown().await;
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn sigterm_on_serve_without_data_removes_its_temporary_directory() {
    let tmp = temp_dir("sigterm");
    let addr = common::free_addr();
    let mut server = common::ipernity_command()
        .args(["serve", "--addr", &addr])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(server.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("listening"), "{first}");
    let emulator_dirs = || -> Vec<String> {
        std::fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("ipernity-emulator-"))
            .collect()
    };
    assert_eq!(
        emulator_dirs().len(),
        1,
        "the emulator made its temporary directory"
    );
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let exit = server
        .try_wait()
        .unwrap()
        .expect("serve stopped on SIGTERM");
    assert_eq!(exit.code(), Some(0));
    assert_eq!(
        emulator_dirs(),
        Vec::<String>::new(),
        "the temporary directory was left"
    );
    std::fs::remove_dir_all(&tmp).ok();
}

//! The library's bulk uploader (`Client::bulk_upload`) on the in-process emulator: every file once,
//! journals that survive runs, the 112/113 slowdown, uploads interrupted before their answer,
//! and a run spawned as a task.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipernity::client::bulk::{BulkEvent, FileOutcome, SkipReason};
use ipernity::server::{EmulatorHandle, Fault, Schedule};
use ipernity::upload::{Geo, UploadFile};
use ipernity::{Client, Protocol};

use crate::support::emulator;

fn client(emulator: &EmulatorHandle) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .build()
        .unwrap()
}

/// A fresh directory with `files` (name, content); an empty content makes an empty file.
fn photos(name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipernity-bulk-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    for (file, content) in files {
        std::fs::write(dir.join(file), content).unwrap();
    }
    dir
}

/// Every event's kind, in order, and the ids of the documents made.
#[derive(Default)]
struct Seen {
    kinds: Vec<&'static str>,
    documents: Vec<(PathBuf, u64)>,
}

fn recorder() -> (
    Arc<Mutex<Seen>>,
    impl Fn(&BulkEvent<'_>) + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let writer = Arc::clone(&seen);
    (seen, move |event: &BulkEvent<'_>| {
        let mut seen = writer.lock().unwrap();
        let kind = match event {
            BulkEvent::Skipped { .. } => "skipped",
            BulkEvent::Planned { .. } => "planned",
            BulkEvent::Sending { .. } => "sending",
            BulkEvent::Progress { .. } => return,
            BulkEvent::Attempted { .. } => "attempted",
            BulkEvent::Throttled { .. } => "throttled",
            BulkEvent::WaitingForDocuments => "waiting",
            BulkEvent::Finished { path, outcome } => {
                if let FileOutcome::Document { doc_id } = outcome {
                    seen.documents.push((path.to_path_buf(), *doc_id));
                }
                "finished"
            }
            _ => "other",
        };
        seen.kinds.push(kind);
    })
}

fn count(seen: &Seen, kind: &str) -> usize {
    seen.kinds.iter().filter(|k| **k == kind).count()
}

#[tokio::test]
async fn a_spawned_run_uploads_a_walked_directory_once_and_a_second_run_sends_nothing() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let dir = photos(
        "journal",
        &[
            ("a.jpg", b"first photo"),
            ("b.jpg", b"second photo"),
            ("nested/c.jpg", b"third photo"),
            ("empty.jpg", b""),
        ],
    );
    let journal = dir.with_extension("jsonl");
    std::fs::remove_file(&journal).ok();
    let (seen, on_event) = recorder();
    let run = client
        .bulk_upload([&dir])
        .describe(|path: &Path| UploadFile::from_path(path).keywords(["bulk"]))
        .jobs(2)
        .protocol(Protocol::Soap)
        .journal(&journal)
        .on_event(on_event)
        .run();
    // The run is 'static and Send: it can be a task of its own.
    let report = tokio::spawn(run).await.unwrap().unwrap();

    assert_eq!(report.outcomes.len(), 3, "{report:?}");
    assert!(
        report
            .outcomes
            .iter()
            .all(|(_, o)| matches!(o, FileOutcome::Document { .. }))
    );
    assert_eq!(
        report.skipped,
        vec![(dir.join("empty.jpg"), SkipReason::Empty)]
    );
    assert_eq!(report.failures(), 1, "the empty file counts");
    let first = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(count(&first, "sending"), 3);
    assert_eq!(count(&first, "finished"), 3);
    assert_eq!(first.kinds.first(), Some(&"skipped"));
    let uploaded = emulator.last_upload().unwrap();
    assert_eq!(uploaded.params.get("keywords"), Some("bulk"));

    // Everything is done in the journal: the second run reports the same documents and asks
    // the service nothing at all.
    let requests = emulator.requests_seen();
    let (again, on_event) = recorder();
    let report = client
        .bulk_upload([&dir])
        .journal(&journal)
        .on_event(on_event)
        .run()
        .await
        .unwrap();
    assert_eq!(emulator.requests_seen(), requests);
    assert_eq!(count(&again.lock().unwrap(), "sending"), 0);
    let mut before = first.documents.clone();
    let mut after = again.lock().unwrap().documents.clone();
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(report.outcomes.len(), 3);
    emulator.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_pause_the_run_and_the_file_is_sent_again() {
    let emulator = emulator().await;
    let dir = photos("throttle", &[("a.jpg", b"photo under a rate limit")]);
    emulator.inject_for("upload.file", Fault::Api(113), Schedule::Next(1));
    let (seen, on_event) = recorder();
    let report = client(&emulator)
        .bulk_upload([dir.join("a.jpg")])
        .on_event(on_event)
        .run()
        .await
        .unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(count(&seen, "throttled"), 1, "{:?}", seen.kinds);
    assert_eq!(count(&seen, "sending"), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_upload_interrupted_before_its_answer_is_found_by_its_md5_and_not_sent_again() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let dir = photos("interrupted", &[("a.jpg", b"taken before the kill")]);
    let path = dir.join("a.jpg");
    // The service took the file; the run was killed before it recorded the answer.
    let uploaded = client
        .upload(UploadFile::from_path(&path))
        .send()
        .await
        .unwrap();
    let ticket = uploaded.ticket.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let journal = dir.with_extension("jsonl");
    let requests = emulator.requests_seen();
    std::fs::write(
        &journal,
        format!(
            "{}\n",
            serde_json::json!({"path": path.to_str().unwrap(), "state": "sending"})
        ),
    )
    .unwrap();
    let report = client
        .bulk_upload([&path])
        .journal(&journal)
        .run()
        .await
        .unwrap();
    let [(reported, FileOutcome::Document { doc_id })] = report.outcomes.as_slice() else {
        panic!("{report:?}");
    };
    assert_eq!(reported, &path);
    let expected: u64 = ticket.rsplit('-').next().unwrap().parse().unwrap();
    assert_eq!(*doc_id, expected, "the document the service already had");
    assert_eq!(
        emulator.requests_seen() - requests,
        1,
        "one doc.checkMD5, and nothing uploaded again"
    );
    let written = std::fs::read_to_string(&journal).unwrap();
    assert!(
        written.lines().last().unwrap().contains("\"done\""),
        "{written}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_parameter_refused_before_the_first_file_stops_the_run_with_nothing_sent() {
    let emulator = emulator().await;
    let dir = photos("refused", &[("a.jpg", b"photo")]);
    let requests = emulator.requests_seen();
    let error = client(&emulator)
        .bulk_upload([&dir])
        .describe(|path: &Path| UploadFile::from_path(path).geo(Geo::at(123.0, 0.0)))
        .run()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("a.jpg"), "{error}");
    assert_eq!(emulator.requests_seen(), requests);
    emulator.shutdown().await;
}

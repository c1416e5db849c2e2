//! Uploads end to end: every transport, every kind of source, progress, validation before
//! sending, and the bytes the emulator stores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipernity::client::test_util::CapturingSender;
use ipernity::client::{HttpResponse, Progress, Quota};
use ipernity::server::{Emulator, EmulatorHandle};
use ipernity::upload::{Geo, UploadFile, Visibility};
use ipernity::{Client, Error, Format, Protocol, Value};

fn client(emulator: &EmulatorHandle, protocol: Protocol) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .protocol(protocol)
        .build()
        .unwrap()
}

fn pattern(length: usize) -> Vec<u8> {
    (0..length).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_streams_every_source_and_the_bytes_arrive_intact() {
    let dir = std::env::temp_dir().join(format!("ipernity-upload-test-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let emulator = Emulator::builder()
        .data_dir(&dir)
        .ticket_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let source_path = dir.join("source.bin");
    // Larger than one read chunk, and not a multiple of 3, so base64 crosses chunk boundaries.
    let content = pattern(3 * 1024 * 1024 + 1);
    std::fs::write(&source_path, &content).unwrap();
    for protocol in Protocol::ALL {
        let client = client(&emulator, protocol);
        let sources = [
            UploadFile::from_path(&source_path),
            UploadFile::from_bytes("bytes.bin", content.clone()),
            UploadFile::from_reader(
                "reader.bin",
                std::io::Cursor::new(content.clone()),
                content.len() as u64,
            ),
        ];
        for (index, file) in sources.into_iter().enumerate() {
            let title = format!("{protocol} source {index} – Zoë <&>");
            let uploaded = client
                .upload(
                    file.title(&title)
                        .keywords(["car", "red"])
                        .visibility(Visibility::Public)
                        .geo(Geo::at(48.85, 2.35))
                        .asynchronous(false),
                )
                .send()
                .await
                .unwrap();
            let doc_id = uploaded
                .doc_id
                .unwrap_or_else(|| panic!("{protocol}: {:?}", uploaded.payload));
            assert!(uploaded.ticket.is_some());
            let stored = std::fs::read(dir.join(format!("doc-{doc_id}.bin"))).unwrap();
            assert!(
                stored == content,
                "{protocol} source {index}: {} bytes stored",
                stored.len()
            );
            let doc = client
                .call("doc.get")
                .param("doc_id", doc_id)
                .param("extra", "tags")
                .format(Format::Json)
                .send()
                .await
                .unwrap();
            let doc = doc.get("doc").unwrap();
            assert_eq!(
                doc.get("title").and_then(Value::as_str),
                Some(title.as_str())
            );
            let tags: Vec<&str> = doc
                .get("tags")
                .unwrap()
                .list("tag")
                .iter()
                // doc.get names a tag's text `title` (its page's example).
                .filter_map(|t| t.get("title").and_then(Value::as_str))
                .collect();
            assert_eq!(tags, ["car", "red"]);
            // Answers spell the flag without the parameter's underscore (doc.get's page).
            assert_eq!(
                doc.get("visibility")
                    .unwrap()
                    .get("ispublic")
                    .and_then(Value::as_bool),
                Some(true)
            );
        }
    }
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_bytes_then_processing_then_the_ticket() {
    let emulator = Emulator::builder().start().await.unwrap();
    for protocol in Protocol::ALL {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let uploaded = client(&emulator, protocol)
            .upload(UploadFile::from_bytes("p.bin", pattern(64 * 1024 * 1024)))
            .on_progress(move |event| seen.lock().unwrap().push(event.clone()))
            .send()
            .await
            .unwrap();
        let events = events.lock().unwrap().clone();
        let sent: Vec<(u64, u64)> = events
            .iter()
            .filter_map(|e| match e {
                Progress::Sent { bytes, total } => Some((*bytes, *total)),
                _ => None,
            })
            .collect();
        assert!(sent.len() >= 3, "{protocol}: {sent:?}");
        assert!(
            sent.windows(2).all(|w| w[0].0 < w[1].0),
            "{protocol}: not increasing"
        );
        let (last, total) = *sent.last().unwrap();
        assert_eq!(last, total, "{protocol}");
        let tail = &events[events.len() - 2..];
        assert_eq!(tail[0], Progress::Processing, "{protocol}");
        assert_eq!(
            tail[1],
            Progress::Done {
                ticket: uploaded.ticket.clone(),
                doc_id: None
            },
            "{protocol}"
        );
    }
    emulator.shutdown().await;
}

fn capturing_client(protocol: Protocol, over_rest: bool) -> (Arc<CapturingSender>, Client) {
    let answer = Format::Json.render(Ok(&[("ticket".into(), Value::from("1-2"))]
        .into_iter()
        .collect()));
    let sender = Arc::new(CapturingSender::new(HttpResponse::new(200, answer)));
    let client = Client::builder()
        .endpoint("http://emulator.test/api")
        .credentials("key", "secret")
        .token("token")
        .protocol(protocol)
        .format(Format::Json)
        .uploads_over_rest(over_rest)
        .sender(sender.clone())
        .build()
        .unwrap();
    (sender, client)
}

#[tokio::test]
async fn uploads_can_go_over_rest_for_a_soap_client() {
    let (sender, client) = capturing_client(Protocol::Soap, true);
    let uploaded = client
        .upload(UploadFile::from_bytes("a.jpg", vec![1, 2, 3]))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.ticket.as_deref(), Some("1-2"));
    let request = &sender.requests()[0];
    assert_eq!(request.url, "http://emulator.test/api/upload.file/json");
    assert!(
        request
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let (sender, client) = capturing_client(Protocol::Soap, false);
    client
        .upload(UploadFile::from_bytes("a.jpg", vec![1, 2, 3]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sender.requests()[0].url,
        "http://emulator.test/api/soap/json"
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_before_anything_is_sent() {
    let (sender, client) = capturing_client(Protocol::Rest, false);
    let refused = [
        client
            .upload(UploadFile::from_bytes("empty", Vec::new()))
            .send()
            .await,
        client
            .upload(UploadFile::from_bytes("a", vec![1]).geo(Geo::at(100.0, 0.0)))
            .send()
            .await,
        client
            .upload(UploadFile::from_path("/nonexistent/photo.jpg"))
            .send()
            .await,
    ];
    for outcome in refused {
        assert!(
            matches!(outcome, Err(Error::InvalidParam { .. })),
            "{outcome:?}"
        );
    }
    let no_token = Client::builder()
        .credentials("k", "s")
        .sender(sender.clone())
        .build()
        .unwrap();
    assert!(matches!(
        no_token
            .upload(UploadFile::from_bytes("a", vec![1]))
            .send()
            .await,
        Err(Error::TokenRequired { .. })
    ));
    assert!(sender.requests().is_empty());
}

#[tokio::test]
async fn a_reader_shorter_than_announced_fails_and_says_the_request_may_have_been_sent() {
    let emulator = Emulator::builder().start().await.unwrap();
    let file = UploadFile::from_reader("short.bin", std::io::Cursor::new(vec![1u8; 10]), 20);
    let error = client(&emulator, Protocol::Rest)
        .upload(file)
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
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_reports_each_ticket_once_without_busy_polling() {
    use futures_util::StreamExt;
    use ipernity::client::TicketOutcome;
    let emulator = Emulator::builder()
        .ticket_delay(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let client = client(&emulator, Protocol::XmlRpc);
    let mut tickets = Vec::new();
    for index in 0..3 {
        let uploaded = client
            .upload(UploadFile::from_bytes(
                format!("{index}.bin"),
                vec![index; 10],
            ))
            .send()
            .await
            .unwrap();
        tickets.push(uploaded.ticket.unwrap());
    }
    tickets.push("404-404".to_owned());
    let before = emulator.requests_seen();
    let outcomes: Vec<TicketOutcome> = client
        .poll_tickets(tickets.clone(), Duration::from_secs(30))
        .map(Result::unwrap)
        .collect()
        .await;
    let polls = emulator.requests_seen() - before;
    assert_eq!(outcomes.len(), 4);
    assert_eq!(
        outcomes[0],
        TicketOutcome::Invalid {
            ticket: "404-404".to_owned()
        }
    );
    for ticket in &tickets[..3] {
        assert!(
            outcomes
                .iter()
                .any(|o| matches!(o, TicketOutcome::Done { ticket: t, .. } if t == ticket)),
            "{outcomes:?}"
        );
    }
    assert!(polls <= 3, "{polls} checkTickets calls for a 1.5 s delay");

    // Past the deadline, pending tickets time out.
    let slow = Emulator::builder()
        .ticket_delay(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let client = self::client(&slow, Protocol::Rest);
    let ticket = client
        .upload(UploadFile::from_bytes("slow.bin", vec![1]))
        .send()
        .await
        .unwrap()
        .ticket
        .unwrap();
    let before = slow.requests_seen();
    let outcomes: Vec<_> = client
        .poll_tickets([ticket.clone()], Duration::from_millis(1200))
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(outcomes, [TicketOutcome::TimedOut { ticket }]);
    assert!(slow.requests_seen() - before <= 2);
    slow.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_poller_asks_about_at_most_fifty_tickets_a_call() {
    use futures_util::StreamExt;
    let (sender, client) = capturing_client(Protocol::Rest, false);
    let tickets: Vec<String> = (0..120).map(|n| format!("{n}-1")).collect();
    // The canned answer lists no ticket: every one is reported invalid after one round.
    let outcomes: Vec<_> = client
        .poll_tickets(tickets, Duration::from_secs(5))
        .collect()
        .await;
    assert_eq!(outcomes.len(), 120);
    let sizes: Vec<usize> = sender
        .requests()
        .iter()
        .map(|r| {
            let query = r.url.split_once('?').unwrap().1;
            let tickets = query
                .split('&')
                .find_map(|p| p.strip_prefix("tickets="))
                .unwrap();
            tickets.split("%2C").count()
        })
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_stream_to_the_data_directory_and_leave_nothing_behind() {
    let dir = std::env::temp_dir().join(format!("ipernity-upload-spool-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let emulator = Emulator::builder()
        .data_dir(&data)
        .ticket_delay(Duration::ZERO)
        .max_file_size(96 * 1024 * 1024)
        .start()
        .await
        .unwrap();
    // Larger than any in-memory limit the emulator used to have.
    let source = dir.join("large.bin");
    let block = pattern(1024 * 1024);
    {
        use std::io::Write;
        let mut out = std::fs::File::create(&source).unwrap();
        for _ in 0..80 {
            out.write_all(&block).unwrap();
        }
    }
    let client = client(&emulator, Protocol::Rest);
    let uploaded = client
        .upload(UploadFile::from_path(&source).asynchronous(false))
        .send()
        .await
        .unwrap();
    let stored = data.join(format!("doc-{}.bin", uploaded.doc_id.unwrap()));
    assert_eq!(std::fs::metadata(&stored).unwrap().len(), 80 * 1024 * 1024);
    assert!(std::fs::read(&stored).unwrap() == std::fs::read(&source).unwrap());

    // Refused uploads keep no spool file: a wrong token, a file over the limit.
    let credentials = emulator.credentials();
    let wrong_token = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token("0-wrong")
        .build()
        .unwrap();
    let error = wrong_token
        .upload(UploadFile::from_bytes("a.bin", vec![1; 5000]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.api_error().map(|e| e.code.as_u32()), Some(107));
    let small = Emulator::builder()
        .data_dir(dir.join("small"))
        .max_file_size(1000)
        .start()
        .await
        .unwrap();
    let error = self::client(&small, Protocol::Rest)
        .upload(UploadFile::from_bytes("b.bin", vec![2; 5000]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.api_error().map(|e| e.code.as_u32()), Some(2));
    for directory in [data.clone(), dir.join("small")] {
        let leftovers: Vec<_> = std::fs::read_dir(&directory)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    small.shutdown().await;
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader that hands out `piece` bytes at a time, pausing before each, and stops forever
/// (pending, never woken) after `stall_after` bytes if set.
struct Trickle {
    left: usize,
    piece: usize,
    pause: Duration,
    stall_after: Option<usize>,
    given: usize,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl Trickle {
    fn new(length: usize, piece: usize, pause: Duration, stall_after: Option<usize>) -> Trickle {
        Trickle {
            left: length,
            piece,
            pause,
            stall_after,
            given: 0,
            sleep: None,
        }
    }
}

impl tokio::io::AsyncRead for Trickle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        if self.stall_after.is_some_and(|limit| self.given >= limit) {
            return std::task::Poll::Pending;
        }
        if self.left == 0 {
            return std::task::Poll::Ready(Ok(()));
        }
        let pause = self.pause;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
        if sleep.as_mut().poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        self.sleep = None;
        let n = self.piece.min(self.left).min(buf.remaining());
        buf.put_slice(&vec![7u8; n]);
        self.left -= n;
        self.given += n;
        std::task::Poll::Ready(Ok(()))
    }
}

fn part_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part") || name.starts_with("doc-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_timeout_bounds_stalls_not_slow_transfers_and_cancelled_uploads_leave_nothing() {
    let dir = std::env::temp_dir().join(format!("ipernity-upload-stall-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let emulator = Emulator::builder()
        .data_dir(&dir)
        .ticket_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let credentials = emulator.credentials();
    let client = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .upload_timeout(Duration::from_millis(400))
        .build()
        .unwrap();

    // Slow but moving: 12 pieces 100 ms apart take longer than the timeout, and succeed.
    let slow = Trickle::new(12 * 1024, 1024, Duration::from_millis(100), None);
    let started = std::time::Instant::now();
    let uploaded = client
        .upload(UploadFile::from_reader("slow.bin", slow, 12 * 1024).asynchronous(false))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() > Duration::from_millis(1000));
    assert!(uploaded.doc_id.is_some());

    // Stalled: the watchdog ends it, and says the request may have been sent.
    let stalled = Trickle::new(1 << 20, 4096, Duration::ZERO, Some(8192));
    let started = std::time::Instant::now();
    let error = client
        .upload(UploadFile::from_reader("stalled.bin", stalled, 1 << 20))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Connection {
                may_have_been_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("stalled"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Cancelled by dropping the future halfway.
    let stuck = Trickle::new(1 << 20, 4096, Duration::ZERO, Some(65536));
    let task = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .upload(UploadFile::from_reader("dropped.bin", stuck, 1 << 20))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    task.abort();
    // The emulator notices the connection closing and removes what it had spooled.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let files = part_files(&dir);
    assert_eq!(
        files.len(),
        1,
        "only the slow upload's document remains: {files:?}"
    );
    let docs = client
        .call("doc.getList")
        .param("user_id", 1)
        .send()
        .await
        .unwrap();
    assert_eq!(docs.get("docs").unwrap().list("doc").len(), 1);
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_upload_that_never_left_is_sent_again_when_its_file_can_be_read_again() {
    use ipernity::client::test_util::{ReplaySender, Reply};
    let answer = || {
        Reply::from(HttpResponse::new(
            200,
            Format::Json.render(Ok(&[("ticket".into(), Value::from("7-7"))]
                .into_iter()
                .collect())),
        ))
    };
    let client_with = |sender: Arc<ReplaySender>| {
        Client::builder()
            .credentials("key", "secret")
            .token("token")
            .sender(sender)
            .build()
            .unwrap()
    };
    let sender = Arc::new(ReplaySender::new([Reply::RefuseConnection, answer()]));
    let uploaded = client_with(sender.clone())
        .upload(UploadFile::from_bytes("a.bin", vec![1, 2, 3]))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.ticket.as_deref(), Some("7-7"));
    assert_eq!(sender.requests().len(), 2);
    // A reader cannot be read twice: no second attempt.
    let sender = Arc::new(ReplaySender::new([Reply::RefuseConnection, answer()]));
    let file = UploadFile::from_reader("r.bin", std::io::Cursor::new(vec![1u8, 2, 3]), 3);
    let error = client_with(sender.clone())
        .upload(file)
        .send()
        .await
        .unwrap_err();
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
    assert_eq!(sender.requests().len(), 1);
    // Once it may have left, never again.
    let sender = Arc::new(ReplaySender::new([Reply::DropConnection, answer()]));
    let error = client_with(sender.clone())
        .upload(UploadFile::from_bytes("a.bin", vec![1]))
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
    assert_eq!(sender.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_knows_each_uploads_md5_even_while_it_is_processed() {
    use md5::Digest;
    let emulator = Emulator::builder()
        .ticket_delay(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    // Small bodies stay in memory; these are past the streaming thresholds.
    for (protocol, size) in [
        (Protocol::Rest, 10usize),
        (Protocol::Rest, 3_000_000),
        (Protocol::Soap, 9_000_000),
        (Protocol::XmlRpc, 9_000_001),
    ] {
        let content = pattern(size);
        let md5: String = md5::Md5::digest(&content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let client = client(&emulator, protocol);
        client
            .upload(UploadFile::from_bytes("m.bin", content))
            .send()
            .await
            .unwrap();
        let found = client
            .call("doc.checkMD5")
            .param("md5", format!("0000,{md5}"))
            .send()
            .await
            .unwrap();
        // One line per checksum asked about; only the uploaded one names a document.
        let docs = found.get("docs").unwrap().list("doc");
        assert_eq!(docs.len(), 2, "{protocol} {size}");
        assert_eq!(docs[0].get("found").and_then(Value::as_bool), Some(false));
        assert_eq!(
            docs[1].get("md5").and_then(Value::as_str),
            Some(md5.as_str())
        );
        assert!(docs[1].get("doc_id").and_then(Value::as_u64).is_some());
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_parameter_travels_intact_on_every_transport() {
    use ipernity::upload::{Audience, CreatedAt, License, Orientation, Safety};
    let emulator = Emulator::builder().start().await.unwrap();
    for protocol in Protocol::ALL {
        let file = UploadFile::from_bytes("Zoë \"quoted\".jpg", pattern(1000))
            .title("Title <&> ]]> Zoë")
            .description("Line one\nline <b>two</b>")
            .created_at(CreatedAt::Text("2024-02-29 13:14:15".into()))
            .license(License::AttributionNonCommercialShareAlike)
            .visibility(Visibility::FamilyAndFriends)
            .safety(Safety::Moderate)
            .keywords(["car", "red car"])
            .album_id(42)
            .member_ids([7, 8])
            .perm_comment(Audience::Contacts)
            .perm_tag(Audience::OnlyYou)
            .perm_tagme(Audience::Everybody)
            .geo(Geo::at(-33.5, 151.25))
            .orientation(Orientation::Left)
            .asynchronous(true);
        let expected = file.call().unwrap();
        client(&emulator, protocol)
            .upload(file)
            .send()
            .await
            .unwrap();
        let received = emulator.last_upload().unwrap();
        for (name, value) in expected.params().iter() {
            assert_eq!(received.params.get(name), Some(value), "{protocol}: {name}");
        }
        assert!(!received.params.contains("file"), "{protocol}");
        assert_eq!(received.length, 1000, "{protocol}");
        // Multipart writes quotes in file names as %22 (as browsers do); XML-RPC has no file name.
        let expected_name = match protocol {
            Protocol::Rest => Some("Zoë %22quoted%22.jpg"),
            Protocol::Soap => Some("Zoë \"quoted\".jpg"),
            Protocol::XmlRpc => None,
        };
        assert_eq!(received.filename.as_deref(), expected_name, "{protocol}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_that_drops_the_connection_gets_no_second_upload() {
    use ipernity::server::{Fault, Schedule};
    let emulator = Emulator::builder().start().await.unwrap();
    for protocol in Protocol::ALL {
        emulator.inject(Fault::CloseConnection, Schedule::Next(1));
        let before = emulator.requests_seen();
        let error = client(&emulator, protocol)
            .upload(UploadFile::from_bytes("d.bin", pattern(100_000)))
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
            "{protocol}: {error:?}"
        );
        assert_eq!(emulator.requests_seen() - before, 1, "{protocol}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_token_ends_an_upload_halfway_on_every_transport_and_leaves_nothing() {
    use ipernity::client::CancellationToken;
    let dir = std::env::temp_dir().join(format!("ipernity-upload-cancel-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let emulator = Emulator::builder().data_dir(&dir).start().await.unwrap();
    for protocol in Protocol::ALL {
        let client = client(&emulator, protocol);
        let token = CancellationToken::new();
        // Stuck after 64 KiB: the body is never complete when the token fires.
        let stuck = Trickle::new(1 << 20, 4096, Duration::ZERO, Some(65536));
        let cancel = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cancel.cancel();
        });
        let (mut events, upload) = client
            .upload(UploadFile::from_reader("cancelled.bin", stuck, 1 << 20))
            .cancel_on(token)
            .send_with_events();
        let (outcome, seen) = futures_util::future::join(upload, async {
            let mut seen = Vec::new();
            while let Some(event) = futures_util::StreamExt::next(&mut events).await {
                seen.push(event);
            }
            seen
        })
        .await;
        let error = outcome.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Cancelled {
                    may_have_been_sent: false
                }
            ),
            "{protocol}: {error:?}"
        );
        assert!(
            error.to_string().contains("did not act on it"),
            "{protocol}: {error}"
        );
        // Some bytes went out, the body never completed, and the stream ended with the upload.
        assert!(
            seen.iter().any(|e| matches!(e, Progress::Sent { .. })),
            "{protocol}: {seen:?}"
        );
        assert!(
            !seen.contains(&Progress::Processing),
            "{protocol}: {seen:?}"
        );
    }
    // The emulator notices each connection closing and removes what it had spooled.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(part_files(&dir), Vec::<String>::new());
    let docs = client(&emulator, Protocol::Rest)
        .call("doc.getList")
        .param("user_id", 1)
        .send()
        .await
        .unwrap();
    assert_eq!(docs.get("docs").unwrap().list("doc").len(), 0);
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_token_cancelled_before_sending_sends_nothing() {
    use ipernity::client::CancellationToken;
    let (sender, client) = capturing_client(Protocol::Rest, false);
    let token = CancellationToken::new();
    token.cancel();
    let error = client
        .upload(UploadFile::from_bytes("a.bin", vec![1, 2, 3]))
        .cancel_on(token)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::Cancelled {
            may_have_been_sent: false
        }
    ));
    assert_eq!(sender.requests().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_keeps_order_and_merges_what_a_slow_reader_missed() {
    let emulator = Emulator::builder().start().await.unwrap();
    let client = client(&emulator, Protocol::Soap);
    let calls = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&calls);

    // Read as it happens: increasing byte counts, then processing, then the answer, then the end.
    let (mut events, upload) = client
        .upload(UploadFile::from_bytes("e.bin", pattern(8 << 20)))
        .on_progress(move |_| *counted.lock().unwrap() += 1)
        .send_with_events();
    let (uploaded, seen) = futures_util::future::join(upload, async {
        let mut seen = Vec::new();
        while let Some(event) = futures_util::StreamExt::next(&mut events).await {
            seen.push(event);
        }
        seen
    })
    .await;
    let uploaded = uploaded.unwrap();
    let n = seen.len();
    assert!(n >= 3, "{seen:?}");
    let sent: Vec<u64> = seen[..n - 2]
        .iter()
        .map(|e| match e {
            Progress::Sent { bytes, .. } => *bytes,
            other => panic!("{other:?} before the body was out"),
        })
        .collect();
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "{sent:?}");
    assert_eq!(seen[n - 2], Progress::Processing);
    assert_eq!(
        seen[n - 1],
        Progress::Done {
            ticket: uploaded.ticket.clone(),
            doc_id: None
        }
    );
    // The callback given as well saw every event.
    assert!(*calls.lock().unwrap() >= n);

    // Read only once the upload is over: every `Sent` merged into the last one, nothing lost.
    let (events, upload) = client
        .upload(UploadFile::from_bytes("late.bin", pattern(8 << 20)))
        .send_with_events();
    let uploaded = upload.await.unwrap();
    let seen: Vec<Progress> = futures_util::StreamExt::collect(events).await;
    let Progress::Sent { bytes, total } = seen[0] else {
        panic!("{seen:?}")
    };
    assert_eq!(bytes, total);
    assert_eq!(
        seen[1..],
        [
            Progress::Processing,
            Progress::Done {
                ticket: uploaded.ticket,
                doc_id: None
            }
        ]
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_quota_cannot_take_is_refused_before_it_is_sent() {
    let emulator = Emulator::builder()
        .max_file_size(1000)
        .start()
        .await
        .unwrap();
    let client = client(&emulator, Protocol::XmlRpc);
    let quota = client.upload_quota().await.unwrap();
    assert_eq!(quota.max_file_bytes, Some(1000));
    assert_eq!(quota.left_bytes, Some(10 * 1024 * 1024 * 1024));
    assert_eq!(quota.max_upload(), Some(1000));

    let before = emulator.requests_seen();
    let error = client
        .upload(UploadFile::from_bytes("big.bin", pattern(2000)))
        .within_quota(&quota)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidParam { param, reason, .. } if param == "file" && reason.contains("error 2")),
        "{error:?}"
    );
    assert_eq!(emulator.requests_seen(), before, "nothing was sent");

    // Without the quota the service itself refuses it, after the whole file went out.
    let error = client
        .upload(UploadFile::from_bytes("big.bin", pattern(2000)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.api_error().unwrap().code.as_u32(), 2, "{error:?}");
    let uploaded = client
        .upload(UploadFile::from_bytes("small.bin", pattern(1000)).asynchronous(false))
        .within_quota(&quota)
        .send()
        .await
        .unwrap();
    assert!(uploaded.doc_id.is_some());

    // Space used counts against what is left.
    let quota = client.upload_quota().await.unwrap();
    assert_eq!(quota.left_bytes, Some(10 * 1024 * 1024 * 1024 - 1000));
    assert_eq!(
        Quota {
            left_bytes: Some(10),
            max_file_bytes: Some(1000)
        }
        .max_upload(),
        Some(10)
    );
    assert_eq!(Quota::default().max_upload(), None);
    emulator.shutdown().await;
}

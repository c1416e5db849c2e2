//! Load: 20,000 mixed calls (every protocol with every format it answers in; reads and writes of
//! every family of the API) at concurrency 64 from one client process against the emulator
//! (`ipernity serve --seed 1000`, its own process), then 50 uploads at once. Prints throughput
//! and p50/p99 latency per protocol, and fails if a single call or upload failed.
//!
//! Run: `cargo bench --bench load --features cli`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ipernity::upload::UploadFile;
use ipernity::{Client, Format, Protocol, RetryPolicy, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ipernity");

#[path = "support/emulator_process.rs"]
mod emulator_process;
use emulator_process::{KEY, SECRET, TOKEN};
const CALLS: usize = 20_000;
const CONCURRENCY: usize = 64;
const UPLOADS: usize = 50;
const UPLOAD_BYTES: usize = 1 << 20;

fn client(endpoint: &str, protocol: Protocol, format: Format) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .protocol(protocol)
        .format(format)
        // Every failure counts: nothing is hidden behind a retry.
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The methods of the mix, one or more of every family, with their parameters (`{doc}`,
/// `{album}` filled in); writes among them.
const MIX: [(&str, &[(&str, &str)]); 24] = [
    ("test.echo", &[("echo", "load")]),
    ("api.methods.get", &[("method", "doc.get")]),
    ("auth.checkToken", &[]),
    ("account.getQuota", &[]),
    ("doc.get", &[("doc_id", "{doc}"), ("extra", "tags,geo")]),
    ("doc.getList", &[("user_id", "1"), ("per_page", "50")]),
    ("doc.search", &[("text", "sea"), ("per_page", "20")]),
    ("doc.set", &[("doc_id", "{doc}"), ("title", "load")]),
    ("doc.tags.getList", &[("doc_id", "{doc}")]),
    ("doc.comments.getList", &[("doc_id", "{doc}")]),
    (
        "doc.comments.add",
        &[("doc_id", "{doc}"), ("content", "load")],
    ),
    ("album.getList", &[]),
    ("album.docs.getList", &[("album_id", "{album}")]),
    ("folder.getList", &[]),
    ("faves.docs.getList", &[("user_id", "2")]),
    ("group.getList", &[]),
    ("group.docs.getList", &[("group_id", "1")]),
    ("explore.docs.getRecent", &[("count", "20")]),
    ("network.getList", &[]),
    ("post.getList", &[("user_id", "1")]),
    ("post.get", &[("post_id", "1")]),
    (
        "tags.user.getPopular",
        &[("user_id", "1"), ("type", "keyword")],
    ),
    ("user.get", &[("user_id", "1")]),
    ("upload.checkTickets", &[("tickets", "{ticket}")]),
];

/// The five methods the earlier figures were measured with: the baseline of this run.
const FIVE: [(&str, &[(&str, &str)]); 5] = [
    ("test.echo", &[("echo", "load")]),
    ("doc.get", &[("doc_id", "{doc}")]),
    ("doc.getList", &[("user_id", "1")]),
    ("auth.checkToken", &[]),
    ("doc.set", &[("doc_id", "{doc}"), ("title", "load")]),
];

/// One call of `mix`; `index` picks the method.
async fn one_call(
    client: &Client,
    mix: &[(&str, &[(&str, &str)])],
    index: usize,
    fixtures: &[(&str, String)],
) -> Result<Value, ipernity::Error> {
    let (method, params) = mix[index % mix.len()];
    let mut call = client.call(method);
    for (name, value) in params {
        let value = fixtures
            .iter()
            .find(|(placeholder, _)| placeholder == value)
            .map_or_else(|| (*value).to_owned(), |(_, filled)| filled.clone());
        call = call.param(*name, value);
    }
    call.send().await
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("ipernity-load-{}", std::process::id()));
    for durable in [true, false] {
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        println!(
            "== emulator state {}",
            if durable {
                "on disk, synced before each answer (--data)"
            } else {
                "in memory"
            }
        );
        let (mut emulator, endpoint) = emulator_process::start_emulator_with(
            BIN,
            durable.then_some(dir.as_path()),
            &["--seed", "1000"],
        );
        runtime.block_on(run(&endpoint));
        emulator.kill().ok();
        emulator.wait().ok();
        println!();
    }
    std::fs::remove_dir_all(&dir).ok();
}

async fn run(endpoint: &str) {
    let endpoint = endpoint.to_owned();
    {
        // Every protocol with every format its endpoint answers in.
        let mut clients = Vec::new();
        for protocol in Protocol::ALL {
            for format in protocol.transport().formats() {
                clients.push((protocol, *format, client(&endpoint, protocol, *format)));
            }
        }
        let seed = clients[0]
            .2
            .upload(UploadFile::from_bytes("seed.jpg", vec![7; 1000]).asynchronous(false))
            .send()
            .await
            .unwrap();
        let doc_id = seed.doc_id.unwrap();
        let albums = clients[0].2.call("album.getList").send().await.unwrap();
        let album = albums.get("albums").unwrap().list("album")[0]
            .get("album_id")
            .unwrap()
            .to_text()
            .unwrap()
            .into_owned();
        let fixtures = [
            ("{doc}", doc_id.to_string()),
            ("{album}", album),
            ("{ticket}", seed.ticket.unwrap()),
        ];
        let fixtures = &fixtures;

        let clients = &clients;
        let pairs = clients.len();
        for (name, mix) in [
            ("the five methods of the earlier figures", &FIVE[..]),
            ("methods of every family, reads and writes", &MIX[..]),
        ] {
            let started = Instant::now();
            let results: Vec<(Protocol, Duration, Result<Value, ipernity::Error>)> =
                futures_util::stream::iter(0..CALLS)
                    .map(|index| {
                        let (protocol, _, client) = &clients[index % pairs];
                        async move {
                            let began = Instant::now();
                            let outcome = one_call(client, mix, index / pairs, fixtures).await;
                            (*protocol, began.elapsed(), outcome)
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
            let elapsed = started.elapsed();
            let errors: Vec<String> = results
                .iter()
                .filter_map(|(protocol, _, outcome)| {
                    outcome.as_ref().err().map(|e| format!("{protocol}: {e}"))
                })
                .collect();
            println!(
                "{CALLS} mixed calls ({} {name}) over {} protocol/format pairs, concurrency {CONCURRENCY}: {:.2} s, {:.0} calls/s, {} errors",
                mix.len(),
                clients.len(),
                elapsed.as_secs_f64(),
                CALLS as f64 / elapsed.as_secs_f64(),
                errors.len()
            );
            println!();
            println!("| protocol | calls | p50 (ms) | p99 (ms) | max (ms) |");
            println!("|---|---|---|---|---|");
            for protocol in Protocol::ALL {
                let mut latencies: Vec<Duration> = results
                    .iter()
                    .filter(|(p, _, _)| *p == protocol)
                    .map(|(_, latency, _)| *latency)
                    .collect();
                latencies.sort();
                println!(
                    "| {protocol} | {} | {:.2} | {:.2} | {:.2} |",
                    latencies.len(),
                    percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
                    percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
                    latencies.last().unwrap().as_secs_f64() * 1000.0
                );
            }
            assert!(
                errors.is_empty(),
                "failed calls: {:?}",
                &errors[..errors.len().min(5)]
            );
            println!();
        }

        // Fifty uploads at once, spread over the protocols.
        let started = Instant::now();
        let uploads: Vec<(
            Duration,
            Result<ipernity::client::Uploaded, ipernity::Error>,
        )> = futures_util::future::join_all((0..UPLOADS).map(|index| {
            let client = client(&endpoint, Protocol::ALL[index % 3], Format::Json);
            async move {
                let began = Instant::now();
                let outcome = client
                    .upload(UploadFile::from_bytes(
                        format!("load-{index}.jpg"),
                        vec![index as u8; UPLOAD_BYTES],
                    ))
                    .send()
                    .await;
                (began.elapsed(), outcome)
            }
        }))
        .await;
        let elapsed = started.elapsed();
        let failed = uploads.iter().filter(|(_, o)| o.is_err()).count();
        let mut latencies: Vec<Duration> = uploads.iter().map(|(l, _)| *l).collect();
        latencies.sort();
        println!();
        println!(
            "{UPLOADS} concurrent uploads of {} MiB (REST, SOAP, XML-RPC in turn): {:.2} s, {:.1} MiB/s, p50 {:.0} ms, p99 {:.0} ms, {failed} errors",
            UPLOAD_BYTES >> 20,
            elapsed.as_secs_f64(),
            (UPLOADS * UPLOAD_BYTES) as f64 / (1 << 20) as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        );
        assert_eq!(failed, 0, "{:?}", uploads.iter().find(|(_, o)| o.is_err()));
    }
}

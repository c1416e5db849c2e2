//! Walking a paged list: 2,000 documents of `doc.getList` on an emulator that adds 20 ms of
//! latency to every answer. The baseline, measured in the same run, is the plain loop a user
//! writes without the crate's paging: one page after the other at the method's default of 20
//! per page (100 calls). Against it, `.items()`: pages as full as the method allows (100), four
//! at a time, yielded in order.
//!
//! Run: `cargo bench --bench paging --features server`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::time::{Duration, Instant};

use ipernity::ids::UserId;
use ipernity::server::Emulator;
use ipernity::upload::UploadFile;
use ipernity::{Client, Format, Protocol, RetryPolicy, StreamExt};

const DOCUMENTS: usize = 2000;
const LATENCY: Duration = Duration::from_millis(20);

fn client(emulator: &ipernity::server::EmulatorHandle) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .protocol(Protocol::Rest)
        .format(Format::Json)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("ipernity-paging-bench-{}", std::process::id()));
        // Seeded without latency, then started again on the same data with it.
        let seeding = Emulator::builder()
            .data_dir(&dir)
            .ticket_delay(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let uploader = client(&seeding);
        futures_util::stream::iter(0..DOCUMENTS)
            .map(|n| {
                let uploader = uploader.clone();
                async move {
                    let bytes = format!("\u{ff}\u{d8} document {n}").into_bytes();
                    uploader
                        .upload(UploadFile::from_bytes("d.jpg", bytes).asynchronous(false))
                        .send()
                        .await
                        .unwrap()
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        let credentials = seeding.credentials();
        seeding.shutdown().await;
        let emulator = Emulator::builder()
            .data_dir(&dir)
            .credentials(credentials.api_key.clone(), credentials.secret.clone())
            .token(credentials.token.clone().unwrap())
            .latency(LATENCY)
            .start()
            .await
            .unwrap();
        let client = client(&emulator);
        let user = UserId::new(1);

        let started = Instant::now();
        let mut looped = 0;
        let mut page = 1;
        loop {
            let answer = client.doc().get_list(user).page(page).send().await.unwrap();
            looped += answer.items.len();
            if u64::from(page) >= answer.page_count().unwrap() {
                break;
            }
            page += 1;
        }
        let plain = started.elapsed();

        let started = Instant::now();
        let streamed = client.doc().get_list(user).items().count().await;
        let stream = started.elapsed();

        // The same 100 pages of 20, four and eight at a time: what concurrency alone gives.
        let mut same_pages = Vec::new();
        for concurrency in [4, 8] {
            let started = Instant::now();
            let count: usize = client
                .doc()
                .get_list(user)
                .per_page(20)
                .pages()
                .concurrency(concurrency)
                .map(|page| page.unwrap().items.len())
                .fold(0, |sum, n| async move { sum + n })
                .await;
            assert_eq!(count, DOCUMENTS);
            same_pages.push((concurrency, started.elapsed()));
        }

        assert_eq!((looped, streamed), (DOCUMENTS, DOCUMENTS));
        let ratio = stream.as_secs_f64() / plain.as_secs_f64();
        let verdict = if stream < Duration::from_millis(500) { "met (< 0.5 s)" } else { "MISSED (< 0.5 s)" };
        println!("doc.getList, {DOCUMENTS} documents, {} ms of latency per answer", LATENCY.as_millis());
        println!();
        println!("| walk | calls | time (s) | ratio (stream / loop) | target |");
        println!("|---|---|---|---|---|");
        println!("| plain loop, 20 per page | {page} | {:.3} | 1.00 | |", plain.as_secs_f64());
        for (concurrency, took) in same_pages {
            println!(
                "| `.pages()`, 20 per page, {concurrency} at a time | {page} | {:.3} | {:.3} | |",
                took.as_secs_f64(),
                took.as_secs_f64() / plain.as_secs_f64()
            );
        }
        println!(
            "| `.items()`, 100 per page, 4 at a time (the default) | {} | {:.3} | {ratio:.3} | {verdict} |",
            DOCUMENTS.div_ceil(100),
            stream.as_secs_f64()
        );
        emulator.shutdown().await;
        std::fs::remove_dir_all(&dir).ok();
    });
}

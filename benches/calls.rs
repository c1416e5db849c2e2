//! Calls per second of `test.echo` over loopback with keep-alive, for each protocol, at
//! concurrency 1 and 32: the crate's `Client` against `curl` (one process, `--parallel`, the same
//! requests) as the baseline, both against the same emulator in the same run.
//!
//! Run: `cargo bench --bench calls --features server` (needs `curl` on the PATH).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use ipernity::server::Emulator;
use ipernity::{Call, Client, Format, Protocol, RetryPolicy};

#[path = "support/echo_calls.rs"]
mod echo_calls;

const CALLS: usize = 4000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::builder().start().await.unwrap();
        let credentials = emulator.credentials();
        println!("test.echo, {CALLS} calls per measurement, emulator and clients on one 2-core machine");
        println!();
        println!("| protocol | concurrency | ours (calls/s) | curl (calls/s) | ratio (ours / curl) |");
        println!("|---|---|---|---|---|");
        for protocol in Protocol::ALL {
            let client = Client::builder()
                .endpoint(emulator.base_url())
                .credentials(credentials.api_key.clone(), credentials.secret.clone())
                .protocol(protocol)
                .format(Format::Json)
                .retry(RetryPolicy::none())
                .build()
                .unwrap();
            // The request curl repeats: the same signed call the client sends.
            let call = Call::new("test.echo").param("echo", "hello").signed(&credentials);
            let request = protocol.transport().encode(&emulator.base_url(), &call, Some(Format::Json)).unwrap();
            for concurrency in [1usize, 32] {
                let ours = echo_calls::measure(&client, concurrency, CALLS).await;
                let curl = tokio::task::spawn_blocking({
                    let request = request.clone();
                    move || curl(&request, concurrency)
                })
                .await
                .unwrap();
                let ours_rate = CALLS as f64 / ours.as_secs_f64();
                match curl {
                    Some(curl) => {
                        let curl_rate = CALLS as f64 / curl.as_secs_f64();
                        println!("| {protocol} | {concurrency} | {ours_rate:.0} | {curl_rate:.0} | {:.2} |", ours_rate / curl_rate);
                    }
                    None => println!("| {protocol} | {concurrency} | {ours_rate:.0} | - | - |"),
                }
            }
        }
        emulator.shutdown().await;
    });
}

/// Sends the same request `CALLS` times from one curl process with `--parallel`.
fn curl(request: &ipernity::HttpRequest, concurrency: usize) -> Option<Duration> {
    let dir = std::env::temp_dir().join(format!("ipernity-calls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let body = dir.join("body");
    std::fs::write(&body, &request.body).ok()?;
    let mut config = String::new();
    for index in 0..CALLS {
        if index > 0 {
            config.push_str("next\n");
        }
        config.push_str(&format!(
            "url = \"{}\"\noutput = \"/dev/null\"\n",
            request.url
        ));
        if request.method == ipernity::HttpMethod::Post {
            config.push_str(&format!("data-binary = \"@{}\"\n", body.display()));
            for (name, value) in &request.headers {
                config.push_str(&format!("header = \"{name}: {value}\"\n"));
            }
        }
    }
    let config_path = dir.join("curl.conf");
    std::fs::File::create(&config_path)
        .ok()?
        .write_all(config.as_bytes())
        .ok()?;
    let started = Instant::now();
    let status = Command::new("curl")
        .args([
            "--silent",
            "--no-progress-meter",
            "--fail",
            "--parallel",
            "--parallel-max",
            &concurrency.to_string(),
            "--config",
        ])
        .arg(&config_path)
        .status()
        .ok()?;
    let elapsed = started.elapsed();
    std::fs::remove_dir_all(&dir).ok();
    status.success().then_some(elapsed)
}

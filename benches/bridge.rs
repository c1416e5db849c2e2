//! The protocol bridge's cost: calls per second of `test.echo` through `ipernity bridge` against
//! the same calls straight to the emulator it forwards to, in the same run, for each caller
//! protocol at concurrency 1 and 32; and a 1 GiB SOAP upload through the bridge (REST upstream)
//! against the same upload straight to the emulator, with the bridge's peak RSS. Emulator and
//! bridge each run as their own process (release builds), the callers in this one.
//!
//! Run: `cargo bench --bench bridge --features cli`. `IPERNITY_BENCH_UPLOAD_MB` sets the file
//! size (default 1024).
//!
//! One loopback round trip between two processes is what a direct call costs at concurrency 1;
//! the last column says how many of those a call through the bridge takes (at most 2 is the
//! target: one more hop, and little work of the bridge's own).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ipernity::{Client, Format, Protocol, RetryPolicy};

const BIN: &str = env!("CARGO_BIN_EXE_ipernity");
#[path = "support/echo_calls.rs"]
mod echo_calls;

const CALLS: usize = 2000;
const ROUNDS: usize = 5;
/// The bound on the bridge's peak resident memory while a large upload goes through it.
const BRIDGE_PEAK_KIB: u64 = 64 * 1024;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[path = "support/emulator_process.rs"]
mod emulator_process;
use emulator_process::{KEY, SECRET, TOKEN, peak_kib};

/// Starts `ipernity bridge` in front of `upstream`; the process and its API endpoint.
fn start_bridge(upstream: &str) -> (Child, String) {
    let mut command = Command::new(BIN);
    command.args(["bridge", "--upstream", upstream]);
    emulator_process::start_listening(command, "--listen", "ipernity bridge listening on")
}

fn client(endpoint: &str, protocol: Protocol, format: Format) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .protocol(protocol)
        .format(format)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Waits for `child`, sampling the peak RSS of `watched`; the time taken, that peak (KiB) and
/// whether the child succeeded.
fn watch(mut child: Child, watched: u32, started: Instant) -> (Duration, u64, bool) {
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(watched) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (started.elapsed(), peak, status.success());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stop(mut child: Child) {
    child.kill().ok();
    child.wait().ok();
}

fn main() {
    let dir = std::env::temp_dir().join(format!("ipernity-bench-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Calls per second.
    let (emulator, upstream) = emulator_process::start_emulator(BIN, None);
    let (bridge, bridged) = start_bridge(&upstream);
    println!(
        "test.echo, {CALLS} calls per measurement, median of {ROUNDS} alternating rounds; \
         emulator, bridge (REST upstream) and callers on one 2-core machine"
    );
    println!();
    println!(
        "| caller | concurrency | direct (calls/s) | through the bridge (calls/s) | ratio | time per call, bridged / direct |"
    );
    println!("|---|---|---|---|---|---|");
    runtime.block_on(async {
        for (protocol, format) in [
            (Protocol::Rest, Format::Json),
            (Protocol::Soap, Format::Soap),
            (Protocol::XmlRpc, Format::XmlRpc),
        ] {
            let direct = client(&upstream, protocol, format);
            let through = client(&bridged, protocol, format);
            // Warm both paths (connections, the bridge's pool).
            echo_calls::measure(&direct, 4, CALLS).await;
            echo_calls::measure(&through, 4, CALLS).await;
            for concurrency in [1usize, 32] {
                // Five rounds, the two paths alternating; the medians (a 2-core machine running
                // three processes is noisy at concurrency 1).
                let mut direct_times = Vec::new();
                let mut bridged_times = Vec::new();
                for _ in 0..ROUNDS {
                    direct_times.push(echo_calls::measure(&direct, concurrency, CALLS).await);
                    bridged_times.push(echo_calls::measure(&through, concurrency, CALLS).await);
                }
                let (direct_time, bridged_time) = (median(direct_times), median(bridged_times));
                let rate = |time: Duration| CALLS as f64 / time.as_secs_f64();
                println!(
                    "| {protocol}/{format} | {concurrency} | {:.0} | {:.0} | {:.2} | {:.2} |",
                    rate(direct_time),
                    rate(bridged_time),
                    rate(bridged_time) / rate(direct_time),
                    bridged_time.as_secs_f64() / direct_time.as_secs_f64(),
                );
            }
        }
    });
    stop(bridge);
    stop(emulator);

    // A large SOAP upload, straight and through the bridge.
    let mb: u64 = std::env::var("IPERNITY_BENCH_UPLOAD_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let file = dir.join("large.bin");
    {
        let block: Vec<u8> = (0..1024 * 1024)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for _ in 0..mb {
            out.write_all(&block).unwrap();
        }
    }
    println!();
    println!("one {mb} MiB file uploaded over SOAP (base64 in the envelope); each process its own");
    println!();
    println!("| path | time | MB/s | bridge peak RSS |");
    println!("|---|---|---|---|");
    let upload = |endpoint: &str| {
        Command::new(BIN)
            .args([
                "upload",
                file.to_str().unwrap(),
                "--no-wait",
                "--protocol",
                "soap",
            ])
            .args(["--endpoint", endpoint])
            .args(["--api-key", KEY, "--secret", SECRET, "--token", TOKEN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let bytes = (mb * 1024 * 1024) as f64;
    let mut times = Vec::new();
    for through_bridge in [false, true] {
        let data = dir.join(format!("data-{through_bridge}"));
        std::fs::create_dir_all(&data).unwrap();
        let (emulator, upstream) = emulator_process::start_emulator(BIN, Some(&data));
        let (bridge, bridged) = start_bridge(&upstream);
        let started = Instant::now();
        let endpoint = if through_bridge { &bridged } else { &upstream };
        let (time, peak, ok) = watch(upload(endpoint), bridge.id(), started);
        assert!(
            ok,
            "the upload failed (through the bridge: {through_bridge})"
        );
        let peak = peak.max(peak_kib(bridge.id()).unwrap_or(0));
        // The file goes through a spool file, never memory: the bridge stays small whatever
        // its size.
        assert!(
            !through_bridge || peak < BRIDGE_PEAK_KIB,
            "the bridge's peak RSS was {peak} KiB passing {mb} MiB"
        );
        stop(bridge);
        stop(emulator);
        std::fs::remove_dir_all(&data).ok();
        let path = if through_bridge {
            "SOAP → bridge → REST → emulator"
        } else {
            "SOAP → emulator"
        };
        let rss = if through_bridge {
            format!("{:.1} MiB", peak as f64 / 1024.0)
        } else {
            "-".to_owned()
        };
        println!(
            "| {path} | {:.1} s | {:.0} | {rss} |",
            time.as_secs_f64(),
            bytes / 1e6 / time.as_secs_f64()
        );
        times.push(time);
    }
    println!();
    println!(
        "upload time, through the bridge / straight: {:.2}",
        times[1].as_secs_f64() / times[0].as_secs_f64()
    );
    std::fs::remove_dir_all(&dir).ok();
}

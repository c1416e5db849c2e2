//! Uploading one large file over loopback: peak memory of the client and of the emulator for
//! each transport, and REST throughput against `curl -F` to the same emulator in the same run.
//! Client, emulator and curl each run as their own process so their peak RSS (VmHWM) is their own.
//!
//! Run: `cargo bench --bench upload --features cli` (needs `curl`). `IPERNITY_BENCH_UPLOAD_MB`
//! sets the file size (default 1024).

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

use ipernity::{Call, Credentials, Protocol};

const BIN: &str = env!("CARGO_BIN_EXE_ipernity");

#[path = "support/emulator_process.rs"]
mod emulator_process;
use emulator_process::{KEY, SECRET, TOKEN, peak_kib};

/// Waits for `child`, sampling its peak RSS; returns the time taken and the last peak seen.
fn watch(mut child: Child, started: Instant) -> (Duration, u64, bool) {
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (started.elapsed(), peak, status.success());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stop(mut child: Child) -> u64 {
    let peak = peak_kib(child.id()).unwrap_or(0);
    child.kill().ok();
    child.wait().ok();
    peak
}

fn main() {
    let mb: u64 = std::env::var("IPERNITY_BENCH_UPLOAD_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = std::env::temp_dir().join(format!("ipernity-bench-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    let bytes = mb * 1024 * 1024;
    println!("one {mb} MiB file over loopback; client, emulator and curl in separate processes");
    println!();
    println!("| sender | transport | time | MB/s | sender peak RSS | emulator peak RSS |");
    println!("|---|---|---|---|---|---|");
    let mut rest_time = None;
    for protocol in Protocol::ALL {
        let data = dir.join(format!("data-{protocol}"));
        std::fs::create_dir_all(&data).unwrap();
        let (emulator, endpoint) = emulator_process::start_emulator(BIN, Some(&data));
        let started = Instant::now();
        let child = Command::new(BIN)
            .args([
                "upload",
                file.to_str().unwrap(),
                "--no-wait",
                "--protocol",
                protocol.as_str(),
                "--endpoint",
                &endpoint,
            ])
            .args(["--api-key", KEY, "--secret", SECRET, "--token", TOKEN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (time, client_peak, ok) = watch(child, started);
        let emulator_peak = stop(emulator);
        assert!(ok, "the {protocol} upload failed");
        if protocol == Protocol::Rest {
            rest_time = Some(time);
        }
        report(
            "ipernity",
            protocol.as_str(),
            bytes,
            time,
            client_peak,
            emulator_peak,
        );
        std::fs::remove_dir_all(&data).ok();
    }

    // curl -F to the same emulator, with the same signed fields.
    let data = dir.join("data-curl");
    std::fs::create_dir_all(&data).unwrap();
    let (emulator, endpoint) = emulator_process::start_emulator(BIN, Some(&data));
    let call = Call::new("upload.file").signed(&Credentials::new(KEY, SECRET).with_token(TOKEN));
    let mut command = Command::new("curl");
    command.args(["--silent", "--fail", "--output", "/dev/null"]);
    for (name, value) in call.params().iter() {
        command.args(["-F", &format!("{name}={value}")]);
    }
    command.args([
        "-F",
        &format!("file=@{}", file.display()),
        &format!("{endpoint}/upload.file/json"),
    ]);
    let started = Instant::now();
    match command.spawn() {
        Ok(child) => {
            let (time, curl_peak, ok) = watch(child, started);
            let emulator_peak = stop(emulator);
            assert!(ok, "curl failed");
            report("curl -F", "rest", bytes, time, curl_peak, emulator_peak);
            if let Some(ours) = rest_time {
                println!();
                println!(
                    "REST throughput, ours / curl: {:.2}",
                    time.as_secs_f64() / ours.as_secs_f64()
                );
            }
        }
        Err(error) => {
            stop(emulator);
            println!("curl not run: {error}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn report(
    sender: &str,
    transport: &str,
    bytes: u64,
    time: Duration,
    sender_peak: u64,
    emulator_peak: u64,
) {
    println!(
        "| {sender} | {transport} | {:.2} s | {:.0} | {:.1} MiB | {:.1} MiB |",
        time.as_secs_f64(),
        bytes as f64 / 1e6 / time.as_secs_f64(),
        sender_peak as f64 / 1024.0,
        emulator_peak as f64 / 1024.0
    );
}

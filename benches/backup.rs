//! Backing up and restoring a whole account over loopback, each against `curl` doing only the
//! file transfers the same way in the same run: a seeded emulator with 20 ms of latency on every
//! answer and download, about 10,000 small documents and one of 1 GiB.
//!
//! - `ipernity backup --jobs 8` against `curl` fetching the same originals eight at a time from
//!   a URL list (`xargs -P 8`), although the backup also makes every metadata call (`doc.get`,
//!   `doc.getContainers`, `doc.getExif`, `doc.comments.getList`, the album and folder lists);
//! - a second backup with nothing changed, against the first;
//! - `ipernity restore --jobs 8` into an empty emulator against `curl -F` uploading the same
//!   files eight at a time;
//! - the peak RSS (VmHWM) of every run.
//!
//! Run: `cargo bench --bench backup --features cli` (needs `curl` and `xargs`).
//! `IPERNITY_BENCH_BACKUP_SEED` sets the seed (default 11,200: about 10,000 documents of the
//! caller's), `IPERNITY_BENCH_BACKUP_LARGE_MB` the large document (default 1024).

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

use ipernity::{Call, Credentials};

const BIN: &str = env!("CARGO_BIN_EXE_ipernity");
const LATENCY_MS: &str = "20";

#[path = "support/emulator_process.rs"]
mod emulator_process;
use emulator_process::{KEY, SECRET, TOKEN, peak_kib};

/// Runs `command` to its end, sampling its peak RSS (and its children's, for xargs' curls,
/// the largest one); returns the time and the peak in MiB.
fn timed(mut command: Command) -> (Duration, f64) {
    let started = Instant::now();
    let mut child: Child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let errors = errors.join().unwrap();
            assert!(status.success(), "{command:?} failed: {}", tail(&errors));
            return (started.elapsed(), peak as f64 / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

fn ipernity(endpoint: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).args([
        "--endpoint",
        endpoint,
        "--api-key",
        KEY,
        "--secret",
        SECRET,
        "--token",
        TOKEN,
    ]);
    command
}

fn main() {
    let seed = std::env::var("IPERNITY_BENCH_BACKUP_SEED").unwrap_or_else(|_| "11200".to_owned());
    let large_mb: u64 = std::env::var("IPERNITY_BENCH_BACKUP_LARGE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = std::env::temp_dir().join(format!("ipernity-bench-backup-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let large = dir.join("large.bin");
    {
        let block: Vec<u8> = (0..1024 * 1024)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut out = std::io::BufWriter::new(std::fs::File::create(&large).unwrap());
        for _ in 0..large_mb {
            out.write_all(&block).unwrap();
        }
    }
    let source_data = dir.join("source");
    std::fs::create_dir_all(&source_data).unwrap();
    let (mut source, endpoint) = emulator_process::start_emulator_with(
        BIN,
        Some(&source_data),
        &[
            "--seed",
            &seed,
            "--latency",
            LATENCY_MS,
            "--ticket-delay",
            "0",
        ],
    );
    let uploaded = ipernity(&endpoint, &["upload", large.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        uploaded.status.success(),
        "{}",
        String::from_utf8_lossy(&uploaded.stderr)
    );
    // Dates are precise to the second: what was made this second is looked at again by a
    // backup of the same second.
    std::thread::sleep(Duration::from_millis(1100));

    // The URL list curl fetches: every original, as the list gives them.
    let listed = ipernity(
        &endpoint,
        &[
            "call",
            "doc.getList",
            "user_id=1",
            "extra=original",
            "--all-pages",
        ],
    )
    .output()
    .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let urls = url_list(&listed.stdout);
    let documents = urls.len();
    let url_file = dir.join("urls.txt");
    std::fs::write(&url_file, urls.join("\n")).unwrap();
    println!(
        "{documents} documents ({} small and one of {large_mb} MiB), {LATENCY_MS} ms of latency on every answer and download",
        documents - 1
    );
    println!();

    let fetched = dir.join("curl");
    std::fs::create_dir_all(&fetched).unwrap();
    let mut curl = Command::new("sh");
    curl.arg("-c").arg(format!(
        "xargs -P 8 -n 100 curl -sSf --remote-name-all --output-dir '{}' < '{}'",
        fetched.display(),
        url_file.display()
    ));
    let (curl_time, _) = timed(curl);

    let archive = dir.join("archive");
    let (full_time, full_peak) = timed(ipernity(
        &endpoint,
        &["backup", archive.to_str().unwrap(), "--jobs", "8"],
    ));
    let (again_time, again_peak) = timed(ipernity(
        &endpoint,
        &["backup", archive.to_str().unwrap(), "--jobs", "8"],
    ));
    let verified = Command::new(BIN)
        .args([
            "backup",
            "--verify",
            archive.to_str().unwrap(),
            "--jobs",
            "8",
        ])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    stop(&mut source);

    println!("| run | time | peak RSS |");
    println!("|---|---|---|");
    println!(
        "| curl, originals only (xargs -P 8, 100 URLs a process) | {:.1} s | (not measured) |",
        curl_time.as_secs_f64()
    );
    println!(
        "| ipernity backup --jobs 8, everything | {:.1} s | {full_peak:.1} MiB |",
        full_time.as_secs_f64()
    );
    println!(
        "| ipernity backup --jobs 8, nothing changed | {:.2} s | {again_peak:.1} MiB |",
        again_time.as_secs_f64()
    );

    // Restore into an empty emulator, against curl -F of the same files.
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&fetched)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), documents, "curl fetched every original");
    let target_data = dir.join("target");
    std::fs::create_dir_all(&target_data).unwrap();
    let (mut target, target_endpoint) = emulator_process::start_emulator_with(
        BIN,
        Some(&target_data),
        &["--latency", LATENCY_MS, "--ticket-delay", "0"],
    );
    let journal = dir.join("restore.journal");
    let (restore_time, restore_peak) = timed(ipernity(
        &target_endpoint,
        &[
            "restore",
            archive.to_str().unwrap(),
            "--jobs",
            "8",
            "--journal",
            journal.to_str().unwrap(),
        ],
    ));
    stop(&mut target);

    let curl_target = dir.join("curl-target");
    std::fs::create_dir_all(&curl_target).unwrap();
    let (mut target, target_endpoint) = emulator_process::start_emulator_with(
        BIN,
        Some(&curl_target),
        &["--latency", LATENCY_MS, "--ticket-delay", "0"],
    );
    let list_file = dir.join("files.txt");
    std::fs::write(
        &list_file,
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let call = Call::new("upload.file").signed(&Credentials::new(KEY, SECRET).with_token(TOKEN));
    let fields: String = call
        .params()
        .iter()
        .map(|(name, value)| format!("-F '{name}={value}' "))
        .collect();
    let mut curl_upload = Command::new("sh");
    curl_upload.arg("-c").arg(format!(
        "xargs -P 8 -I '{{}}' curl -sSf -o /dev/null {fields} -F 'file=@{{}}' '{target_endpoint}/upload.file/json' < '{}'",
        list_file.display()
    ));
    let (curl_upload_time, _) = timed(curl_upload);
    stop(&mut target);
    println!(
        "| curl -F, files only (xargs -P 8, a process a file) | {:.1} s | (not measured) |",
        curl_upload_time.as_secs_f64()
    );
    println!(
        "| ipernity restore --jobs 8, every field, albums, folders | {:.1} s | {restore_peak:.1} MiB |",
        restore_time.as_secs_f64()
    );
    println!();
    let peak = full_peak.max(again_peak).max(restore_peak);
    println!(
        "backup / curl: {:.2} (target at most 1.5); nothing changed / full backup: {:.3} (target under 0.05); restore / curl -F: {:.2}; peak RSS {peak:.1} MiB (target under 64)",
        full_time.as_secs_f64() / curl_time.as_secs_f64(),
        again_time.as_secs_f64() / full_time.as_secs_f64(),
        restore_time.as_secs_f64() / curl_upload_time.as_secs_f64()
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn stop(child: &mut Child) {
    child.kill().ok();
    child.wait().ok();
}

/// The originals' URLs of `ipernity call --all-pages`'s lines, one document a line.
fn url_list(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let item: serde_json::Value = serde_json::from_str(line).unwrap();
            item["original"]["url"].as_str().unwrap().to_owned()
        })
        .collect()
}

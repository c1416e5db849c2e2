//! Starting `ipernity serve` (or another of its listening commands) as its own process for the
//! benches that measure it from outside, and reading a process's peak memory.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The application key, secret and token the benches' emulators are provisioned with.
pub(crate) const KEY: &str = "bench-key";
/// See [`KEY`].
pub(crate) const SECRET: &str = "bench-secret";
/// See [`KEY`].
pub(crate) const TOKEN: &str = "1-benchtoken";

/// Starts `ipernity serve` (the binary `bin`) on a free loopback port, its state kept durably in
/// `dir` or only in memory; returns the process and its API endpoint.
// Each bench includes this file; the load bench starts its emulator with arguments instead.
#[allow(dead_code)]
pub(crate) fn start_emulator(bin: &str, dir: Option<&Path>) -> (Child, String) {
    start_emulator_with(bin, dir, &[])
}

/// [`start_emulator`] with more arguments for `ipernity serve` (`--seed N`, say).
pub(crate) fn start_emulator_with(
    bin: &str,
    dir: Option<&Path>,
    extra: &[&str],
) -> (Child, String) {
    let mut command = Command::new(bin);
    command.arg("serve");
    if let Some(dir) = dir {
        command.arg("--data").arg(dir);
    }
    command
        .args(["--api-key", KEY, "--secret", SECRET, "--token", TOKEN])
        .args(extra);
    start_listening(command, "--addr", "ipernity emulator listening on")
}

/// Starts `command` on a free loopback port (given to it as `ADDR_FLAG 127.0.0.1:PORT`) and
/// waits for its first line, which must start with `banner`; returns the process and its API
/// endpoint. Used for `ipernity serve` and `ipernity bridge` alike.
pub(crate) fn start_listening(
    mut command: Command,
    addr_flag: &str,
    banner: &str,
) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = command
        .args([addr_flag, &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with(banner), "{first}");
    // The rest of what it prints is read too: a closed pipe would end it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, format!("http://127.0.0.1:{port}/api"))
}

/// The peak resident set (VmHWM) of a running process, in KiB.
#[allow(dead_code)]
pub(crate) fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

//! Set-up shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

/// Starts `ipernity serve` on a free port with `extra` arguments; returns the process, the
/// endpoint and the provisioned api_key, secret and token it printed.
pub(crate) fn start_server(extra: &[&str]) -> (std::process::Child, String, [String; 3]) {
    start_server_at(&free_addr(), extra)
}

/// A loopback address with a port nobody listens on.
pub(crate) fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// [`start_server`] on `addr`.
pub(crate) fn start_server_at(
    addr: &str,
    extra: &[&str],
) -> (std::process::Child, String, [String; 3]) {
    let addr = addr.to_owned();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ipernity"))
        .args([&["serve", "--addr", addr.as_str()][..], extra].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(server.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert_eq!(
        first,
        format!("ipernity emulator listening on http://{addr}/api")
    );
    let mut value = |prefix: &str| {
        lines
            .next()
            .unwrap()
            .unwrap()
            .strip_prefix(prefix)
            .unwrap()
            .to_owned()
    };
    let credentials = [value("api_key: "), value("secret: "), value("token: ")];
    // Whatever it prints later is read too: a closed pipe would end it.
    std::thread::spawn(move || lines.for_each(drop));
    (server, format!("http://{addr}/api"), credentials)
}

/// The `ipernity` binary, with a data directory of its own for the embedded emulator (which
/// keeps its state between runs): commands of different tests never share one.
pub(crate) fn ipernity_command() -> Command {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ipernity-test-data-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipernity"));
    command.env("IPERNITY_DATA_DIR", dir);
    command
}

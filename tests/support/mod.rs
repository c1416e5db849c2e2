//! What the integration tests share: the emulator in-process and clients of it, the `ipernity`
//! binary and `ipernity serve` as processes, API error codes, a small stack for decoders.
//! Compiled into each test binary that declares it; what one binary does not use is not dead
//! code in another.

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

/// The lowercase hex MD5 of `bytes`, as answers give it.
pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Starts `ipernity bridge` on a free port in front of `upstream` with `extra` arguments;
/// returns the process and its address.
pub(crate) fn start_bridge(upstream: &str, extra: &[&str]) -> (std::process::Child, String) {
    let addr = free_addr();
    let mut bridge = Command::new(env!("CARGO_BIN_EXE_ipernity"))
        .args(
            [
                &["bridge", "--listen", addr.as_str(), "--upstream", upstream][..],
                extra,
            ]
            .concat(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(bridge.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with(&format!("ipernity bridge listening on http://{addr}/api")),
        "{first}"
    );
    std::thread::spawn(move || lines.for_each(drop));
    (bridge, addr)
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

/// An emulator in-process whose tickets complete after 300 ms.
#[cfg(feature = "server")]
pub(crate) async fn emulator() -> ipernity::server::EmulatorHandle {
    ipernity::server::Emulator::builder()
        .ticket_delay(std::time::Duration::from_millis(300))
        .start()
        .await
        .unwrap()
}

/// A client of `emulator` over `protocol` asking for `format`, without retries, with the
/// provisioned user's token when `token`.
#[cfg(feature = "server")]
pub(crate) fn client_for(
    emulator: &ipernity::server::EmulatorHandle,
    protocol: ipernity::Protocol,
    format: ipernity::Format,
    token: bool,
) -> ipernity::Client {
    let credentials = emulator.credentials();
    let mut builder = ipernity::Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .protocol(protocol)
        .format(format)
        .retry(ipernity::RetryPolicy::none());
    if token {
        builder = builder.token(credentials.token.clone().unwrap());
    }
    builder.build().unwrap()
}

/// The API error code of a result that must be an API error.
pub(crate) fn api_code<T: std::fmt::Debug>(result: Result<T, ipernity::Error>) -> u32 {
    match result {
        Err(error) => error_code(&error),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The API error code of an error that must be an API error.
pub(crate) fn error_code(error: &ipernity::Error) -> u32 {
    error
        .api_error()
        .unwrap_or_else(|| panic!("not an API error: {error:?}"))
        .code
        .as_u32()
}

/// Decoders run on a thread this small (a quarter of a default thread's stack, in an
/// unoptimized build): one that recursed per level of its input would overflow it.
pub(crate) const SMALL_STACK: usize = 512 * 1024;

/// Runs `work` on a thread with a [`SMALL_STACK`] and returns what it gives.
pub(crate) fn on_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

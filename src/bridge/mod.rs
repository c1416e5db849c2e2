//! A protocol bridge (feature `bridge`): an endpoint that speaks the service's three protocols
//! and forwards every call to an upstream endpoint over one of them, so an integration written
//! for the SOAP or XML-RPC endpoint keeps working on the REST one.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use ipernity::Protocol;
//! use ipernity::bridge::Bridge;
//!
//! let bridge = Bridge::builder("https://api.ipernity.com/api")
//!     .upstream_protocol(Protocol::Rest)
//!     .listen("127.0.0.1:8080".parse().unwrap())
//!     .start()
//!     .await?;
//! // A SOAP toolkit binds to {base_url}/soap?wsdl; an XML-RPC one calls {base_url}/xmlrpc.
//! println!("bridging on {}", bridge.base_url());
//! bridge.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! What a call goes through:
//!
//! 1. The request is read within the emulator's bounds (body size, parameters, pace,
//!    connections), an upload's file spooled to disk as it arrives; the WSDL is served with the
//!    bridge's own address.
//! 2. It is parsed as the service parses it: an unreadable envelope (121, 122), an unknown
//!    format (102) or method (103) is answered here, as the service would answer it.
//! 3. It is forwarded: unchanged when the caller's protocol is the upstream's (same path, query,
//!    body, and OAuth header); otherwise the parsed call, `api_sig` included, encoded in the
//!    upstream's protocol, always as a POST (a token never goes into a URL), and an upload's file
//!    streamed from its spool into the upstream body. The signature covers the parameters and
//!    the method only (spec §14), so it stays valid and the bridge holds no secret. An OAuth
//!    signature also covers how the call is carried: an OAuth call is forwarded (unchanged,
//!    `Authorization` header included) only when the protocol does not change, and refused with
//!    error 105 otherwise. It also covers the URL, so its caller signs for the upstream's URL
//!    (`https://api.ipernity.com/api/…`), which the bridge keeps but for the origin.
//! 4. The answer is the upstream's bytes when the upstream can answer in the caller's format;
//!    otherwise (SOAP and XML-RPC answers from a REST upstream) the upstream's `xml` answer is
//!    decoded and rendered in the caller's format by the same code the emulator renders with,
//!    errors included (a REST error 105 becomes an `ipernity.error.105` SOAP fault). An upstream
//!    that cannot be reached or does not answer in time is error 503 in the caller's format, one
//!    that answers something other than an API answer error 500: never a hang.
//!
//! Reads are retried as the [`Client`](crate::Client) retries them ([`RetryPolicy`]); writes
//! only when they provably never left. At most [`BridgeBuilder::max_in_flight`] calls go
//! upstream at once; the others wait their turn.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::any;

use crate::client::{HttpSender, ReqwestSender, RetryPolicy};
use crate::protocol::Protocol;

mod forward;
mod record;

/// The bridge's entry point: [`Bridge::builder`].
#[derive(Debug)]
pub struct Bridge;

impl Bridge {
    /// A bridge to the API at `upstream` (its base URL, such as
    /// `https://api.ipernity.com/api`), over REST, on a free loopback port.
    pub fn builder(upstream: impl Into<String>) -> BridgeBuilder {
        BridgeBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: upstream.into(),
            upstream_protocol: Protocol::Rest,
            call_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_connections: crate::server::limits::DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs(30),
            max_file_size: 1024 * 1024 * 1024,
            spool_dir: None,
            record: None,
            sender: None,
        }
    }
}

/// Calls forwarded upstream at once, unless configured.
const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// Configures and starts a bridge.
#[derive(Debug, Clone)]
#[must_use]
pub struct BridgeBuilder {
    listen: SocketAddr,
    upstream: String,
    upstream_protocol: Protocol,
    call_timeout: Duration,
    upload_timeout: Duration,
    retry: RetryPolicy,
    max_in_flight: usize,
    max_connections: usize,
    idle_timeout: Duration,
    max_file_size: u64,
    spool_dir: Option<PathBuf>,
    record: Option<PathBuf>,
    sender: Option<Arc<dyn HttpSender>>,
}

impl BridgeBuilder {
    /// The address to listen on (default: a free port on 127.0.0.1).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The protocol calls go upstream in (default REST).
    pub fn upstream_protocol(mut self, protocol: Protocol) -> Self {
        self.upstream_protocol = protocol;
        self
    }

    /// How long the upstream may take to answer a call (default 30 s); past it the caller gets
    /// error 503.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long an upload going upstream may make no progress (default 60 s); the transfer as
    /// a whole has no deadline.
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.upload_timeout = timeout;
        self
    }

    /// How reads are retried when the upstream fails or answers a retryable error (default:
    /// the client's). Writes are repeated only when they never left.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How many calls go upstream at once (default 64); the next waits for a free turn.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls.max(1);
        self
    }

    /// How many connections are served at once (default 512, as the emulator's).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long a caller may send nothing, in its request head or body (default 30 s).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// The largest file an upload may carry through the bridge (default 1 GiB).
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Where uploads are spooled on their way (default: a temporary directory removed at
    /// shutdown).
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Writes every exchange into `dir` as a conformance case, secrets replaced by
    /// placeholders (`protocols/README.md`, "Recorded cases").
    pub fn record(mut self, dir: impl Into<PathBuf>) -> Self {
        self.record = Some(dir.into());
        self
    }

    /// Sends upstream requests through `sender` instead of the default HTTP client (TLS roots,
    /// proxies, test doubles).
    pub fn http_sender(mut self, sender: Arc<dyn HttpSender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Binds the address and serves in the background.
    ///
    /// # Errors
    ///
    /// [`std::io::ErrorKind::InvalidInput`] for an upstream that is not an `http` or `https`
    /// URL (or carries a query or credentials); the address cannot be bound; the spool or
    /// record directory cannot be created; the HTTP client cannot start.
    pub async fn start(self) -> std::io::Result<BridgeHandle> {
        let upstream = upstream_base(&self.upstream)?;
        let sender = match self.sender {
            Some(sender) => sender,
            None => Arc::new(ReqwestSender::for_api().map_err(std::io::Error::other)?),
        };
        let (spool_dir, temporary) = match self.spool_dir {
            Some(dir) => (dir, false),
            None => (
                std::env::temp_dir().join(format!(
                    "ipernity-bridge-{}-{}",
                    std::process::id(),
                    crate::random::io_token()?
                )),
                true,
            ),
        };
        std::fs::create_dir_all(&spool_dir)?;
        let recorder = match &self.record {
            Some(dir) => Some(record::Recorder::open(dir)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(forward::BridgeState {
            upstream,
            upstream_protocol: self.upstream_protocol,
            sender,
            call_timeout: self.call_timeout,
            upload_timeout: self.upload_timeout,
            retry: self.retry,
            turns: tokio::sync::Semaphore::new(self.max_in_flight),
            spool_dir: spool_dir.clone(),
            max_file_size: self.max_file_size,
            idle_timeout: self.idle_timeout,
            recorder,
        });
        let router = Router::new()
            .route("/api", any(forward::api))
            .route("/api/", any(forward::api))
            .route("/api/{*path}", any(forward::api))
            .fallback(forward::not_found)
            .with_state(state)
            .layer(axum::extract::DefaultBodyLimit::disable());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::listen::serve(
            listener,
            router,
            self.idle_timeout,
            self.max_connections,
            stopped,
        ));
        Ok(BridgeHandle {
            addr,
            stop: Some(stop),
            task,
            temporary_dir: temporary.then_some(spool_dir),
        })
    }
}

/// The upstream's base URL without its trailing slash, or why it cannot be one.
fn upstream_base(upstream: &str) -> std::io::Result<String> {
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_owned());
    let url = reqwest::Url::parse(upstream)
        .map_err(|_| invalid("the upstream is not a URL (http://HOST/api, https://HOST/api)"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the upstream must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the upstream URL carries a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // It would be sent with every call and printed by nothing: refused outright.
        return Err(invalid("the upstream URL carries credentials"));
    }
    Ok(upstream.trim_end_matches('/').to_owned())
}

/// A running bridge: its address and a graceful shutdown.
#[derive(Debug)]
pub struct BridgeHandle {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    temporary_dir: Option<PathBuf>,
}

impl BridgeHandle {
    /// The API base URL callers use, `http://ADDR/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The address the bridge listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets running calls finish, and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        (&mut self.task).await.ok();
    }
}

impl Drop for BridgeHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(dir) = self.temporary_dir.take() {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_is_an_http_url_without_secrets() {
        assert_eq!(
            upstream_base("https://api.ipernity.com/api/").unwrap(),
            "https://api.ipernity.com/api"
        );
        for wrong in [
            "api.ipernity.com",
            "ftp://host/api",
            "http://user:pw@host/api",
            "http://host/api?api_key=x",
        ] {
            let error = upstream_base(wrong).unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{wrong}");
            assert!(!error.to_string().contains("pw"), "{error}");
        }
    }
}

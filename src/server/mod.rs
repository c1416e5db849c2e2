//! A local emulator of the Ipernity API (feature `server`), built from the same `protocol/` and
//! `format/` code as the client: the wire rules exist once.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use ipernity::server::Emulator;
//! let emulator = Emulator::builder().start().await?;
//! println!("listening on {}", emulator.base_url());
//! let credentials = emulator.credentials();
//! // … point a Client at emulator.base_url() with these credentials …
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Every request is checked in the order the service checks it: format (102), envelope
//! (121/122), method (103), API key (100/101), HTTP POST for write methods (120), signature when
//! the method needs one or one is sent (104/105, compared in constant time), token (106/107),
//! permission (110). API errors are answered with HTTP 200 in the requested format.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::call::{Credentials, Params, Secret};
use crate::error::{ApiError, ErrorCode};
use crate::methods::{self, Level, MethodInfo, Target};
use crate::protocol::{
    FileContent, FilePart, HttpMethod, IncomingRequest, MultipartEvent, ParsedRequest, Protocol,
};
use crate::sign;
use crate::value::{Map, Text, Value};

mod faults;
mod handlers;
mod limits;
mod oauth;
mod store;

pub use faults::{Fault, Schedule};

/// The permissions a token holds, by target.
pub type Grants = BTreeMap<Target, Level>;

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    addr: SocketAddr,
    api_key: String,
    secret: Secret,
    token: Secret,
    grants: Grants,
    ticket_delay: Duration,
    data_dir: Option<PathBuf>,
    max_file_size: u64,
    callback: Option<String>,
    auth_lifetime: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    fresh: bool,
}

/// The emulator's entry point: [`Emulator::builder`].
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with a loopback address on a free port, fresh credentials and full permissions.
    pub fn builder() -> EmulatorBuilder {
        let seed = fresh_hex();
        EmulatorBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: seed
                .get(..29)
                .map(|s| format!("emu{s}"))
                .unwrap_or_default(),
            secret: Secret::new(fresh_hex()),
            token: Secret::new(fresh_hex()),
            grants: [
                (Target::Doc, Level::Delete),
                (Target::Blog, Level::Delete),
                (Target::Post, Level::Delete),
                (Target::Network, Level::Delete),
                (Target::Profile, Level::Write),
            ]
            .into_iter()
            .collect(),
            ticket_delay: Duration::from_secs(2),
            data_dir: None,
            max_file_size: 1024 * 1024 * 1024,
            callback: None,
            auth_lifetime: AUTH_LIFETIME,
            idle_timeout: Duration::from_secs(30),
            max_connections: limits::DEFAULT_MAX_CONNECTIONS,
            fresh: false,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The provisioned application's key and secret.
    pub fn credentials(mut self, api_key: impl Into<String>, secret: impl Into<Secret>) -> Self {
        self.api_key = api_key.into();
        self.secret = secret.into();
        self
    }

    /// The provisioned application's key.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = api_key.into();
        self
    }

    /// The provisioned application's secret.
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secret = secret.into();
        self
    }

    /// The provisioned user's token.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.token = token.into();
        self
    }

    /// The permissions of the provisioned token.
    pub fn grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }

    /// Where the web flow sends the browser with its frob (default: the emulator's own
    /// `/apps/callback` page, which shows it).
    pub fn callback(mut self, url: impl Into<String>) -> Self {
        self.callback = Some(url.into());
        self
    }

    /// How long a client may send nothing, in its request head or its body, before the
    /// emulator drops it (default 30 s).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// How long a frob or an OAuth request token stays usable (default 10 minutes).
    pub fn auth_lifetime(mut self, lifetime: Duration) -> Self {
        self.auth_lifetime = lifetime;
        self
    }

    /// How long an upload ticket takes to be processed (default 2 s).
    pub fn ticket_delay(mut self, delay: Duration) -> Self {
        self.ticket_delay = delay;
        self
    }

    /// Keeps uploaded files in `dir` (default: a temporary directory removed at shutdown).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Starts with an empty state even where the data directory holds one: its database and
    /// document files are removed first. Without it, an existing database is kept, and an empty
    /// or damaged one is an error.
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }

    /// How many connections are served at once (default 512); further ones wait in the
    /// kernel's backlog until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// The largest file `upload.file` accepts (default 1 GiB); larger is error 2.
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Binds the address and serves in the background. An empty API key, secret or token is
    /// refused: an empty secret signs everything, an empty token is no token.
    pub async fn start(self) -> std::io::Result<EmulatorHandle> {
        for (name, value) in [
            ("API key", self.api_key.as_str()),
            ("secret", self.secret.expose()),
            ("token", self.token.expose()),
        ] {
            if value.trim().is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("the emulator's {name} is empty"),
                ));
            }
        }
        let (data_dir, temporary) = match &self.data_dir {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "ipernity-emulator-{}-{}",
                    std::process::id(),
                    fresh_hex().get(..12).unwrap_or_default()
                )),
                true,
            ),
        };
        std::fs::create_dir_all(&data_dir)?;
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let credentials = Credentials::new(self.api_key.clone(), self.secret.clone())
            .with_token(self.token.clone());
        let mut state = StateData::provisioned(&self);
        // A data directory given by the caller keeps the state across restarts.
        let store = match temporary {
            true => None,
            false => {
                let store = store::Store::open(&data_dir, self.fresh)?;
                let provisioned = state.tokens.clone();
                store.load_into(&mut state)?;
                // The provisioned token's rights are what this start says, not what an
                // earlier start with other flags kept.
                for (token, grant) in provisioned {
                    state.dirty.tokens.insert(token.clone());
                    state.tokens.insert(token, grant);
                }
                store.save(&mut state)?;
                Some(store)
            }
        };
        // Uploads cut off by a crash left their spool files: no document took them. Only now,
        // with the database's lock held: another emulator on this directory is refused above
        // before it could touch the files of uploads in flight.
        for entry in std::fs::read_dir(&data_dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("upload-") && name.ends_with(".part") {
                std::fs::remove_file(entry.path()).ok();
            }
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            store,
            faults: Mutex::default(),
            requests: std::sync::atomic::AtomicU64::new(0),
            ticket_delay: self.ticket_delay,
            data_dir: data_dir.clone(),
            max_file_size: self.max_file_size,
            callback: self.callback.clone(),
            idle_timeout: self.idle_timeout,
        });
        let router = Router::new()
            .route("/api", any(api))
            .route("/api/", any(api))
            .route("/api/{*path}", any(api))
            .route("/apps/authorize", get(authorize))
            .route("/apps/callback", get(callback_page))
            .route("/apps/oauth/request", any(oauth::request))
            .route("/apps/oauth/authorize", get(oauth::authorize))
            .route("/apps/oauth/access", any(oauth::access))
            .fallback(not_found)
            .with_state(Arc::clone(&shared))
            // Bodies are limited by the handler: multipart streams to disk, others by file size.
            .layer(axum::extract::DefaultBodyLimit::disable());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            router,
            self.idle_timeout,
            self.max_connections,
            stopped,
        ));
        Ok(EmulatorHandle {
            shared: Arc::clone(&shared),
            addr,
            credentials,
            stop: Some(stop),
            task,
            temporary_dir: temporary.then_some(data_dir),
        })
    }
}

/// Accepts connections until `stopped`, then lets each finish its request and closes it. A
/// client gets `idle` to send its request head (hyper's header timeout) and, in the handlers, to
/// send each piece of its body: a slow-loris client is cut off instead of holding a task and
/// its buffers forever.
async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    idle: Duration,
    max_connections: usize,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use futures_util::future::{Either, select};
    let (closing, closing_watch) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        // A free slot first: at the limit, new connections wait in the backlog.
        let slot = match select(
            std::pin::pin!(Arc::clone(&slots).acquire_owned()),
            &mut stopped,
        )
        .await
        {
            Either::Left((Ok(slot), _)) => slot,
            Either::Left((Err(_), _)) | Either::Right(_) => break,
        };
        let accepted = match select(std::pin::pin!(listener.accept()), &mut stopped).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => break,
        };
        // Finished connections are reaped as new ones come.
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Each request learns the address its client reached: the WSDL names it, never what
        // the client's Host header claims.
        let local = LocalAddr(stream.local_addr().ok());
        let inner = hyper_util::service::TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(local);
                hyper::service::Service::call(&inner, request)
            },
        );
        let mut closing = closing_watch.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(idle)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            match select(connection.as_mut(), std::pin::pin!(closing.changed())).await {
                Either::Left(_) => {}
                Either::Right(_) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await.ok();
                }
            }
        });
    }
    closing.send(true).ok();
    while connections.join_next().await.is_some() {}
}

/// A running emulator: its address, its provisioned credentials, and a graceful shutdown.
#[derive(Debug)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    credentials: Credentials,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    temporary_dir: Option<PathBuf>,
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(dir) = self.temporary_dir.take() {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

impl EmulatorHandle {
    /// The API base URL, `http://ADDR/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The provisioned application key, secret and user token.
    pub fn credentials(&self) -> Credentials {
        self.credentials.clone()
    }

    /// Makes the requests `schedule` picks fail with `fault` (replacing any earlier plan).
    pub fn inject(&self, fault: Fault, schedule: Schedule) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(fault, schedule, None);
    }

    /// Like [`inject`](Self::inject), counting only the calls of `method`: other calls are
    /// answered normally.
    pub fn inject_for(&self, method: &str, fault: Fault, schedule: Schedule) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(fault, schedule, Some(method.to_owned()));
    }

    /// Stops injecting faults.
    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// What the last upload call carried.
    pub fn last_upload(&self) -> Option<ReceivedUpload> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_upload
            .clone()
    }

    /// How many API requests the emulator has received.
    pub fn requests_seen(&self) -> u64 {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting connections, lets running requests finish, and waits for the server (a
    /// temporary data directory is then removed).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        (&mut self.task).await.ok();
    }
}

/// The provisioned user's id.
const USER_ID: u64 = 1;
/// How long a frob or an OAuth request token waits for its user, unless configured.
const AUTH_LIFETIME: Duration = Duration::from_secs(600);

/// What the server's handlers share.
struct Shared {
    state: Mutex<StateData>,
    store: Option<store::Store>,
    faults: Mutex<faults::Faults>,
    requests: std::sync::atomic::AtomicU64,
    ticket_delay: Duration,
    data_dir: PathBuf,
    max_file_size: u64,
    callback: Option<String>,
    idle_timeout: Duration,
}

/// A user of the emulator.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) username: String,
    pub(crate) realname: String,
}

/// What a token allows.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Grant {
    pub(crate) api_key: String,
    pub(crate) user_id: u64,
    pub(crate) grants: Grants,
    /// The token secret of an OAuth access token (such a token signs with OAuth only).
    #[serde(default)]
    pub(crate) oauth_secret: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("api_key", &self.api_key)
            .field("user_id", &self.user_id)
            .field("grants", &self.grants)
            .field("oauth", &self.oauth_secret.is_some())
            .finish()
    }
}

#[derive(Debug)]
pub(crate) struct Frob {
    pub(crate) api_key: String,
    pub(crate) created: Instant,
    pub(crate) approved: Option<Grants>,
    pub(crate) used: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Doc {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) tags: Vec<(u64, String)>,
    pub(crate) is_public: bool,
    pub(crate) posted_at: u64,
    pub(crate) size: u64,
    /// The lowercase hex MD5 of the file.
    #[serde(default)]
    pub(crate) md5: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Album {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) docs: Vec<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub(crate) ready_at: Instant,
    pub(crate) doc: Doc,
    pub(crate) done: bool,
    /// The ticket failed: the document it replaces was deleted while it waited.
    pub(crate) invalid: bool,
    /// A replacement waits in its own file ([`pending_replacement`]) until it completes; the
    /// document keeps its current file until then.
    pub(crate) replaces: bool,
}

/// Where the file of a pending `upload.replace` waits for its ticket.
pub(crate) fn pending_replacement(data_dir: &Path, ticket: &str) -> PathBuf {
    data_dir.join(format!("replace-{ticket}.bin"))
}

/// Everything the emulator knows.
#[derive(Debug)]
pub(crate) struct StateData {
    pub(crate) apps: HashMap<String, Secret>,
    pub(crate) users: HashMap<u64, User>,
    pub(crate) tokens: HashMap<String, Grant>,
    pub(crate) frobs: HashMap<String, Frob>,
    pub(crate) oauth_requests: HashMap<String, oauth::RequestToken>,
    /// OAuth nonces seen, by consumer, with their timestamps.
    pub(crate) nonces: HashMap<(String, String), u64>,
    /// How long frobs and request tokens stay usable.
    pub(crate) auth_lifetime: Duration,
    pub(crate) docs: BTreeMap<u64, Doc>,
    pub(crate) albums: BTreeMap<u64, Album>,
    pub(crate) tickets: HashMap<String, Ticket>,
    pub(crate) next_id: u64,
    pub(crate) dirty: store::Dirty,
    pub(crate) last_upload: Option<ReceivedUpload>,
}

/// What the emulator received with the last `upload.file` or `upload.replace` call, for tests
/// that check each parameter travels intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedUpload {
    /// Every parameter, `api_key`, `auth_token` and `api_sig` included; never the file.
    pub params: Params,
    /// The file name the client sent, if any.
    pub filename: Option<String>,
    /// How many bytes the file had.
    pub length: u64,
}

impl StateData {
    fn provisioned(config: &EmulatorBuilder) -> StateData {
        let user = User {
            id: USER_ID,
            username: "emulated".to_owned(),
            realname: "Emulated User".to_owned(),
        };
        StateData {
            apps: [(config.api_key.clone(), config.secret.clone())]
                .into_iter()
                .collect(),
            users: [(user.id, user)].into_iter().collect(),
            tokens: [(
                config.token.expose().to_owned(),
                Grant {
                    api_key: config.api_key.clone(),
                    user_id: USER_ID,
                    grants: config.grants.clone(),
                    oauth_secret: None,
                },
            )]
            .into_iter()
            .collect(),
            frobs: HashMap::new(),
            oauth_requests: HashMap::new(),
            nonces: HashMap::new(),
            auth_lifetime: config.auth_lifetime,
            docs: BTreeMap::new(),
            albums: BTreeMap::new(),
            tickets: HashMap::new(),
            next_id: 1000,
            last_upload: None,
            dirty: store::Dirty {
                apps: true,
                tokens: [config.token.expose().to_owned()].into_iter().collect(),
                ..store::Dirty::default()
            },
        }
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.dirty.next_id = true;
        self.next_id
    }

    /// Registers the documents of tickets whose processing time has passed.
    /// Completes the tickets whose time has come. A replacement takes the place of its
    /// document's file only now, and only if the document still exists: one deleted meanwhile
    /// stays deleted, and its ticket becomes invalid.
    fn process_tickets(&mut self, now: Instant, data_dir: &Path) {
        let ready: Vec<String> = self
            .tickets
            .iter()
            .filter(|(_, ticket)| !ticket.done && !ticket.invalid && ticket.ready_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            let Some(ticket) = self.tickets.get_mut(&id) else {
                continue;
            };
            let doc = ticket.doc.clone();
            if ticket.replaces {
                let pending = pending_replacement(data_dir, &id);
                let target = data_dir.join(format!("doc-{}.bin", doc.id));
                if !self.docs.contains_key(&doc.id) || std::fs::rename(&pending, &target).is_err() {
                    std::fs::remove_file(&pending).ok();
                    ticket.invalid = true;
                    self.dirty.tickets.insert(id);
                    continue;
                }
            }
            ticket.done = true;
            self.dirty.tickets.insert(id);
            self.dirty.docs.insert(doc.id);
            match self.docs.get_mut(&doc.id) {
                // A replacement changes the file, not what was set on the document meanwhile.
                Some(current) if ticket.replaces => {
                    current.size = doc.size;
                    current.md5 = doc.md5;
                }
                _ => {
                    self.docs.insert(doc.id, doc);
                }
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 32 hex digits of per-process randomness (the standard library's hashing keys).
/// 32 hex digits from the operating system's random source; empty if it failed, which
/// [`EmulatorBuilder::start`] then refuses as an empty credential.
fn fresh_hex() -> String {
    crate::random::token().unwrap_or_default()
}

/// A call that passed every check, with the identity behind it.
pub(crate) struct Request<'a> {
    pub(crate) params: &'a Params,
    pub(crate) api_key: &'a str,
    /// The token the call was made with (`auth_token`, or the OAuth access token).
    pub(crate) token: Option<&'a str>,
    pub(crate) grant: Option<Grant>,
    pub(crate) file: Option<&'a FilePart>,
    pub(crate) ticket_delay: Duration,
    pub(crate) data_dir: &'a Path,
    pub(crate) max_file_size: u64,
}

impl Request<'_> {
    /// A parameter's value, if sent and not empty.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).filter(|v| !v.is_empty())
    }

    /// The user the token belongs to.
    pub(crate) fn user_id(&self) -> Option<u64> {
        self.grant.as_ref().map(|g| g.user_id)
    }
}

/// The outcome of one call: the payload, or the error to answer.
pub(crate) type Outcome = Result<Map, ApiError>;

async fn api(
    State(shared): State<Arc<Shared>>,
    local: Option<axum::Extension<LocalAddr>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/api")
        .unwrap_or_default()
        .trim_start_matches('/');
    let http_method = match method {
        Method::POST => HttpMethod::Post,
        Method::GET | Method::HEAD => HttpMethod::Get,
        _ => {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD, POST")],
                "the API answers GET and POST",
            )
                .into_response();
        }
    };
    if http_method == HttpMethod::Get && path == "soap" && uri.query() == Some("wsdl") {
        return wsdl(local.and_then(|axum::Extension(LocalAddr(addr))| addr));
    }
    if limits::too_many_params(uri.query().unwrap_or_default().as_bytes()) {
        return too_many_params();
    }
    let mut content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let boundary = content_type
        .as_deref()
        .and_then(crate::protocol::multipart_boundary)
        .map(str::to_owned);
    // An upload may be as large as the largest file (in base64 inside an envelope) plus the
    // rest of the call; anything announced larger is refused before a byte is read.
    let upload_limit = shared
        .max_file_size
        .saturating_add(shared.max_file_size / 3 + 4)
        .saturating_add(limits::UPLOAD_OVERHEAD);
    // A multipart upload is read as it arrives, its file going straight to the data directory;
    // an envelope too, through the file extractor when it is large; other bodies are read
    // whole, up to MAX_BUFFERED_BODY. The spool guard removes the file however this ends.
    let received = match boundary {
        Some(boundary)
            if http_method == HttpMethod::Post && Protocol::for_path(path) == Protocol::Rest =>
        {
            match shared
                .receive_multipart(body, &boundary, upload_limit)
                .await
            {
                Ok((fields, file)) => {
                    content_type = Some(crate::protocol::FORM_CONTENT_TYPE.to_owned());
                    let form = crate::protocol::form_encode(&crate::call::Call::with_params(
                        "upload",
                        fields.into_iter().collect(),
                    ));
                    Ok((Bytes::from(form), file))
                }
                Err(refused) => Err(refused),
            }
        }
        _ if http_method == HttpMethod::Post && Protocol::for_path(path) != Protocol::Rest => {
            shared
                .receive_envelope(body, Protocol::for_path(path), upload_limit)
                .await
        }
        _ => limits::read_limited(body, limits::MAX_BUFFERED_BODY, shared.idle_timeout)
            .await
            .map(|bytes| (bytes, None)),
    };
    let (body, spooled) = match received {
        Ok(received) => received,
        Err(refused) => return refused.into_response(),
    };
    if Protocol::for_path(path) == Protocol::Rest && limits::too_many_params(&body) {
        return too_many_params();
    }
    let (spooled, _spool) = spooled.unzip();
    let context = oauth::OAuthContext::new(&headers, &uri);
    let incoming = IncomingRequest {
        method: http_method,
        path,
        query: uri.query().unwrap_or_default(),
        content_type: content_type.as_deref(),
        body: &body,
    };
    // `_spool` lives to here: a file no document took is removed with it.
    answer_request(&shared, &context, incoming, spooled).await
}

fn too_many_params() -> Response {
    (
        StatusCode::BAD_REQUEST,
        format!("more than {} parameters", limits::MAX_PARAMS),
    )
        .into_response()
}

/// How much of an upload the emulator gathers before writing it to disk.
const SPOOL_BUFFER: usize = 1024 * 1024;

async fn answer_request(
    shared: &Arc<Shared>,
    context: &oauth::OAuthContext,
    incoming: IncomingRequest<'_>,
    spooled: Option<FilePart>,
) -> Response {
    let path = incoming.path;
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut parsed = Protocol::for_path(path).transport().parse(&incoming);
    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .next(parsed.as_ref().ok().map(|p| p.call.method()));
    if let (Ok(parsed), Some(file)) = (&mut parsed, spooled) {
        // The parsed envelope knows the file name; the spool has the bytes.
        let filename = parsed
            .file
            .take()
            .and_then(|f| f.filename)
            .or(file.filename);
        parsed.file = Some(FilePart {
            filename,
            content: file.content,
        });
    }
    let (format, outcome) = match (parsed, fault) {
        (_, Some(Fault::Http(status))) => return faults::http_page(status),
        (_, Some(Fault::CloseConnection)) => return faults::dropped_connection(),
        (Err(refused), _) => (refused.format, Err(refused.error)),
        (Ok(parsed), Some(Fault::Api(code))) => (
            parsed.format,
            Err(ApiError::global(ErrorCode::from_u32(code))),
        ),
        (Ok(parsed), None) => {
            let mut outcome = shared.answer(&parsed, context);
            if let Ok(payload) = &mut outcome
                && parsed.call.method().starts_with("upload.")
                && parsed.call.params().get("async") == Some("0")
            {
                shared.wait_for_ticket(payload).await;
            }
            (parsed.format, outcome)
        }
    };
    let body = format.render(outcome.as_ref());
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("data_dir", &self.data_dir)
            .field("ticket_delay", &self.ticket_delay)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Reads a multipart body chunk by chunk: text fields in memory (within the reader's
    /// bounds), the file part into a spool file in the data directory (bytes beyond the largest
    /// file allowed are counted, not kept). A body that is not readable multipart gives no
    /// fields (the call then fails its checks); one announced beyond `limit` is refused unread.
    async fn receive_multipart(
        &self,
        body: Body,
        boundary: &str,
        limit: u64,
    ) -> Result<(Vec<(String, String)>, Option<(FilePart, limits::Spool)>), limits::BodyRefused>
    {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        limits::refuse_announced(&body, limit)?;
        let mut reader = crate::protocol::MultipartReader::new(boundary);
        let mut fields = Vec::new();
        let mut spool: Option<(
            tokio::io::BufWriter<tokio::fs::File>,
            limits::Spool,
            u64,
            Option<String>,
        )> = None;
        let mut digest = md5::Md5::default();
        let mut file = None;
        let mut stream = limits::paced(body, self.idle_timeout);
        let mut received = 0u64;
        loop {
            let events = match stream.next().await {
                Some(Ok(chunk)) => {
                    received = received.saturating_add(chunk.len() as u64);
                    if received > limit {
                        return Err(limits::BodyRefused::TooLarge);
                    }
                    reader.feed(&chunk)
                }
                Some(Err(_)) => return Err(limits::BodyRefused::Unreadable),
                None => match reader.finish() {
                    Ok(_) => return Ok((fields, file)),
                    Err(_) => return Ok((Vec::new(), None)),
                },
            };
            let Ok(events) = events else {
                return Ok((Vec::new(), None));
            };
            for event in events {
                match event {
                    MultipartEvent::Field { name, value } => fields.push((name, value)),
                    MultipartEvent::FileStart { filename } => {
                        let guard = limits::Spool::in_dir(&self.data_dir)
                            .map_err(|_| limits::BodyRefused::Unreadable)?;
                        let handle = tokio::fs::File::create(guard.path())
                            .await
                            .map_err(|_| limits::BodyRefused::Unreadable)?;
                        // Batched: each write to a tokio file is a trip to the blocking pool.
                        spool = Some((
                            tokio::io::BufWriter::with_capacity(SPOOL_BUFFER, handle),
                            guard,
                            0,
                            filename,
                        ));
                    }
                    MultipartEvent::FileData(data) => {
                        if let Some((handle, _, length, _)) = &mut spool {
                            if *length <= self.max_file_size {
                                handle
                                    .write_all(&data)
                                    .await
                                    .map_err(|_| limits::BodyRefused::Unreadable)?;
                                md5::Digest::update(&mut digest, &data);
                            }
                            *length += u64::try_from(data.len()).unwrap_or(u64::MAX);
                        }
                    }
                    MultipartEvent::FileEnd => {
                        if let Some((mut handle, guard, length, filename)) = spool.take() {
                            handle
                                .flush()
                                .await
                                .map_err(|_| limits::BodyRefused::Unreadable)?;
                            let md5 = crate::sign::hex(&md5::Digest::finalize(std::mem::take(
                                &mut digest,
                            )));
                            let part = FilePart {
                                filename,
                                content: FileContent::Spooled {
                                    path: guard.path().to_owned(),
                                    length,
                                    md5,
                                },
                            };
                            file = Some((part, guard));
                        }
                    }
                }
            }
        }
    }

    /// Reads a SOAP or XML-RPC body: whole when small; otherwise through the file extractor, the
    /// decoded file spooled to the data directory and only the rest of the envelope kept. One
    /// announced beyond `limit` is refused unread.
    async fn receive_envelope(
        &self,
        body: Body,
        protocol: Protocol,
        limit: u64,
    ) -> Result<(Bytes, Option<(FilePart, limits::Spool)>), limits::BodyRefused> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        limits::refuse_announced(&body, limit)?;
        let mut stream = limits::paced(body, self.idle_timeout);
        let mut head = Vec::new();
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    head.extend_from_slice(&chunk);
                    if head.len() > limits::MAX_BUFFERED_BODY {
                        break;
                    }
                }
                Some(Err(_)) => return Err(limits::BodyRefused::Unreadable),
                None => return Ok((Bytes::from(head), None)),
            }
        }
        // Bytes no envelope parser accepts: an envelope that cannot be read becomes error 121
        // or 122.
        let unreadable = Ok((Bytes::from_static(b"<unreadable/>"), None));
        let Some(mut extractor) = crate::protocol::FileExtractor::new(protocol) else {
            return unreadable;
        };
        let guard =
            limits::Spool::in_dir(&self.data_dir).map_err(|_| limits::BodyRefused::Unreadable)?;
        let spool = tokio::fs::File::create(guard.path())
            .await
            .map_err(|_| limits::BodyRefused::Unreadable)?;
        let mut spool = tokio::io::BufWriter::with_capacity(SPOOL_BUFFER, spool);
        let mut length = 0u64;
        let mut received = 0u64;
        let mut digest = md5::Md5::default();
        let mut next = Some(Bytes::from(head));
        loop {
            let chunk = match next.take() {
                Some(chunk) => chunk,
                None => match stream.next().await {
                    Some(Ok(chunk)) => chunk,
                    Some(Err(_)) => return Err(limits::BodyRefused::Unreadable),
                    None => break,
                },
            };
            received = received.saturating_add(chunk.len() as u64);
            if received > limit {
                return Err(limits::BodyRefused::TooLarge);
            }
            let Ok(extracted) = extractor.feed(&chunk) else {
                return unreadable;
            };
            if length <= self.max_file_size {
                spool
                    .write_all(&extracted.file)
                    .await
                    .map_err(|_| limits::BodyRefused::Unreadable)?;
                md5::Digest::update(&mut digest, &extracted.file);
            }
            length += u64::try_from(extracted.file.len()).unwrap_or(u64::MAX);
        }
        match extractor.finish() {
            Ok((envelope, true)) => {
                spool
                    .flush()
                    .await
                    .map_err(|_| limits::BodyRefused::Unreadable)?;
                let md5 = crate::sign::hex(&md5::Digest::finalize(digest));
                let file = FilePart {
                    filename: None,
                    content: FileContent::Spooled {
                        path: guard.path().to_owned(),
                        length,
                        md5,
                    },
                };
                Ok((Bytes::from(envelope), Some((file, guard))))
            }
            Ok((envelope, false)) => Ok((Bytes::from(envelope), None)),
            Err(_) => unreadable,
        }
    }

    /// A synchronous upload (`async=0`) is answered once its ticket is done, with the `doc_id`.
    async fn wait_for_ticket(&self, payload: &mut Map) {
        tokio::time::sleep(self.ticket_delay).await;
        let Some(ticket) = payload
            .get("ticket")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.process_tickets(Instant::now(), &self.data_dir);
        if self.persist(&mut state).is_err() {
            return;
        }
        if let Some(done) = state.tickets.get(&ticket).filter(|t| t.done) {
            payload.insert("doc_id".into(), Value::from(done.doc.id.to_string()));
        }
    }

    fn answer(&self, parsed: &ParsedRequest, context: &oauth::OAuthContext) -> Outcome {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.process_tickets(Instant::now(), &self.data_dir);
        let call = &parsed.call;
        let info = methods::lookup(call.method())
            .ok_or_else(|| ApiError::global(ErrorCode::MethodNotFound))?;
        let (api_key, token, grant) = if oauth::is_oauth(context, call.params()) {
            let (consumer, granted) = oauth::authenticate(&mut state, parsed, context)?;
            if info.post && parsed.http_method == HttpMethod::Get {
                return Err(ApiError::global(ErrorCode::PostRequired));
            }
            let (token, grant) = granted.unzip();
            (consumer, token, check_grant(info, grant)?)
        } else {
            let (api_key, grant) = authenticate(&state, info, parsed)?;
            let token = grant
                .as_ref()
                .and(call.params().get("auth_token"))
                .map(str::to_owned);
            (api_key, token, grant)
        };
        let request = Request {
            params: call.params(),
            api_key: &api_key,
            token: token.as_deref(),
            grant,
            file: parsed.file.as_ref(),
            ticket_delay: self.ticket_delay,
            data_dir: &self.data_dir,
            max_file_size: self.max_file_size,
        };
        let outcome = handlers::dispatch(&mut state, info, &request);
        self.persist(&mut state)?;
        outcome
    }

    /// Writes what the call changed before it is answered; a failure is a service error.
    fn persist(&self, state: &mut StateData) -> Result<(), ApiError> {
        match &self.store {
            None => {
                state.dirty = store::Dirty::default();
                Ok(())
            }
            Some(store) => store.save(state).map_err(|error| {
                tracing::error!(%error, "saving the emulator's state failed");
                ApiError::new(
                    ErrorCode::ServiceError,
                    "Service error: the state could not be saved",
                )
            }),
        }
    }
}

/// The checks after parsing, in the service's order: key, POST, signature, token, permission.
fn authenticate(
    state: &StateData,
    info: &MethodInfo,
    parsed: &ParsedRequest,
) -> Result<(String, Option<Grant>), ApiError> {
    let params = parsed.call.params();
    let api_key = params
        .get("api_key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::global(ErrorCode::ApiKeyMissing))?;
    let secret = state
        .apps
        .get(api_key)
        .ok_or_else(|| ApiError::global(ErrorCode::ApiKeyInvalid))?;
    if info.post && parsed.http_method == HttpMethod::Get {
        return Err(ApiError::global(ErrorCode::PostRequired));
    }
    let signature = params.get("api_sig");
    let token = params.get("auth_token").filter(|t| !t.is_empty());
    // A call that carries a token is signed (spec §5.4), whatever the method: otherwise anyone
    // who saw a token in a log or a URL could call as its user without the secret.
    if info.sign || signature.is_some() || token.is_some() {
        let signature = signature.ok_or_else(|| ApiError::global(ErrorCode::SignatureMissing))?;
        if !sign::verify(parsed.call.method(), params, secret, signature) {
            return Err(ApiError::global(ErrorCode::SignatureInvalid));
        }
    }
    let grant = match token {
        None if info.token => return Err(ApiError::global(ErrorCode::TokenMissing)),
        None => None,
        // An OAuth access token signs with OAuth only.
        Some(token) => Some(
            state
                .tokens
                .get(token)
                .filter(|grant| grant.api_key == api_key && grant.oauth_secret.is_none())
                .cloned()
                .ok_or_else(|| ApiError::global(ErrorCode::TokenInvalid))?,
        ),
    };
    Ok((api_key.to_owned(), check_grant(info, grant)?))
}

/// The token and permission checks, after the signature: 106 without a token where one is
/// needed, 110 when the token lacks the method's permission.
fn check_grant(info: &MethodInfo, grant: Option<Grant>) -> Result<Option<Grant>, ApiError> {
    if info.token && grant.is_none() {
        return Err(ApiError::global(ErrorCode::TokenMissing));
    }
    if let (Some(needed), Some(grant)) = (info.permission, &grant)
        && info.token
        && grant
            .grants
            .get(&needed.target)
            .is_none_or(|held| *held < needed.level)
    {
        return Err(ApiError::new(
            ErrorCode::InsufficientPermissions,
            format!("Insufficient permissions: {needed} is needed"),
        ));
    }
    Ok(grant)
}

/// `/apps/authorize?api_key=…&frob=…&perm_doc=…&api_sig=…`: approves the frob for the provisioned
/// user at once (no browser needed), after checking the link's signature.
async fn authorize(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let params: Params = crate::protocol::form_decode(uri.query().unwrap_or_default().as_bytes())
        .into_iter()
        .collect();
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let page = |status: StatusCode, text: &str| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text.to_owned(),
        )
            .into_response()
    };
    let Some(api_key) = params.get("api_key") else {
        return page(StatusCode::BAD_REQUEST, "api_key is missing");
    };
    let Some(secret) = state.apps.get(api_key).cloned() else {
        return page(StatusCode::FORBIDDEN, "api_key is invalid");
    };
    let signature = params.get("api_sig").unwrap_or_default();
    if !sign::verify("", &params, &secret, signature) {
        return page(StatusCode::FORBIDDEN, "the link's signature is invalid");
    }
    let grants = match requested_grants(params.iter()) {
        Ok(grants) => grants,
        Err(refused) => return page(StatusCode::BAD_REQUEST, &refused),
    };
    let Some(frob) = params.get("frob") else {
        // The web flow: a frob approved at once, handed to the application's callback.
        let frob = match handlers::new_frob(&mut state, api_key, Some(grants)) {
            Ok(frob) => frob,
            Err(error) => return page(StatusCode::INTERNAL_SERVER_ERROR, &error.message),
        };
        let callback = shared
            .callback
            .clone()
            .unwrap_or_else(|| "/apps/callback".to_owned());
        let separator = if callback.contains('?') { '&' } else { '?' };
        let mut location = format!("{callback}{separator}frob=");
        crate::protocol::percent_encode_into(&mut location, &frob);
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    };
    let lifetime = state.auth_lifetime;
    match state.frobs.get_mut(frob) {
        Some(entry)
            if entry.api_key == api_key && !entry.used && entry.created.elapsed() < lifetime =>
        {
            entry.approved = Some(grants);
            page(StatusCode::OK, "authorized: return to the application")
        }
        _ => page(
            StatusCode::BAD_REQUEST,
            "the frob is unknown, used or expired",
        ),
    }
}

/// The WSDL of the SOAP endpoint (`protocols/soap/ipernity.wsdl`).
const WSDL: &str = include_str!("../../protocols/soap/ipernity.wsdl");

/// `GET /api/soap?wsdl`: the WSDL, its service element naming this emulator's own address.
/// The local address of the connection a request came on.
#[derive(Debug, Clone, Copy)]
struct LocalAddr(Option<SocketAddr>);

/// The WSDL with the address of this emulator as the client reached it (the connection's local
/// address): a `Host` header is the client's claim, and echoing it would let anyone who can
/// send one point a toolkit elsewhere.
fn wsdl(local: Option<SocketAddr>) -> Response {
    let Some(local) = local else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the connection's address is unknown",
        )
            .into_response();
    };
    let body = WSDL.replace(
        "https://api.ipernity.com/api/soap",
        &format!("http://{local}/api/soap"),
    );
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The `perm_*` parameters of an authorization link, or why one is refused.
pub(crate) fn requested_grants<'a>(
    params: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<Grants, String> {
    let mut grants = Grants::new();
    for (name, level) in params {
        let Some(target) = name.strip_prefix("perm_").and_then(handlers::parse_target) else {
            continue;
        };
        match handlers::parse_level(level) {
            Some(level) if !(target == Target::Profile && level == Level::Delete) => {
                grants.insert(target, level);
            }
            _ => return Err(format!("{name}={level} is not a permission")),
        }
    }
    Ok(grants)
}

/// Where the web flow lands when no callback is configured: a page showing the frob.
async fn callback_page(uri: Uri) -> Response {
    let params = crate::protocol::form_decode(uri.query().unwrap_or_default().as_bytes());
    let frob = params
        .iter()
        .find(|(name, _)| name == "frob")
        .map_or("", |(_, value)| value.as_str());
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("frob={frob}"),
    )
        .into_response()
}

async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no route for {}; the API lives under /api", uri.path()),
    )
        .into_response()
}

/// Turns a payload builder's pairs into a map.
pub(crate) fn map<K: Into<Text>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Map {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

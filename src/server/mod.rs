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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};

use crate::call::{Credentials, Secret};
use crate::methods::{Level, Target};

mod call;
mod checks;
mod faults;
mod handlers;
pub(crate) mod limits;
pub(crate) mod listen;
mod media;
mod oauth;
mod pages;
mod provision;
mod rates;
pub(crate) mod receive;
mod records;
mod seed;
mod shared;
mod state;
mod store;

pub use faults::{Fault, Schedule};
pub use media::sample_jpeg;
pub use seed::SeededMember;
use shared::Shared;
use state::ServiceState;
pub use state::{Grants, ReceivedUpload};

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
    latency: Duration,
    data_dir: Option<PathBuf>,
    max_file_size: u64,
    upload_quota: u64,
    callback: Option<String>,
    auth_lifetime: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    fresh: bool,
    provision: provision::Provision,
    seed: Option<usize>,
    rate_limits: (Option<u32>, Option<u32>),
}

/// The emulator's entry point: [`Emulator::builder`].
///
/// ```
/// use std::time::Duration;
/// use ipernity::server::{Emulator, Fault, Schedule};
/// use ipernity::{Client, ErrorCode};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = Emulator::builder()
///     .credentials("my-key", "my-secret")
///     .ticket_delay(Duration::from_millis(50))
///     .start()
///     .await?;
/// let client = Client::builder()
///     .endpoint(emulator.base_url())
///     .credentials("my-key", "my-secret")
///     .retry(ipernity::RetryPolicy::none())
///     .build()?;
/// emulator.inject(Fault::Api(105), Schedule::Next(1));
/// let refused = client.call("test.hello").send().await.unwrap_err();
/// assert_eq!(refused.code(), Some(ErrorCode::SignatureInvalid));
/// assert!(client.call("test.hello").send().await.is_ok());
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
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
            latency: Duration::ZERO,
            data_dir: None,
            max_file_size: 1024 * 1024 * 1024,
            upload_quota: 10 * 1024 * 1024 * 1024,
            callback: None,
            auth_lifetime: AUTH_LIFETIME,
            idle_timeout: Duration::from_secs(30),
            max_connections: limits::DEFAULT_MAX_CONNECTIONS,
            fresh: false,
            provision: provision::Provision::default(),
            seed: None,
            rate_limits: (None, None),
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

    /// Adds a member with a token of its own, holding the same permissions as the provisioned
    /// user's. The provisioned user has id 1; members get 2, 3, … in the order they are added.
    ///
    /// ```
    /// # async fn run() -> std::io::Result<()> {
    /// use ipernity::codes::Relation;
    /// use ipernity::server::Emulator;
    /// let emulator = Emulator::builder()
    ///     .member("alice", "alice-token") // user 2
    ///     .member("bob", "bob-token") // user 3
    ///     .relation(1, 2, Relation::Friends) // user 1 lists alice as a friend
    ///     .block(1, 3) // and blocks bob
    ///     .group("Blue skies", true, false) // group 1, everyone a member
    ///     .post(1, "Holidays", "We went to the sea.", true) // post 1
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn member(mut self, username: impl Into<String>, token: impl Into<Secret>) -> Self {
        self.provision.members.push(provision::Member {
            username: username.into(),
            token: token.into(),
        });
        self
    }

    /// Makes user `owner` list user `member` in its network: [`Relation::Contacts`],
    /// [`Relation::Friends`], [`Relation::Family`] or [`Relation::FriendsAndFamily`]
    /// ([`Relation::Everyone`] removes `member` from it).
    ///
    /// [`Relation::Contacts`]: crate::codes::Relation::Contacts
    /// [`Relation::Friends`]: crate::codes::Relation::Friends
    /// [`Relation::Family`]: crate::codes::Relation::Family
    /// [`Relation::FriendsAndFamily`]: crate::codes::Relation::FriendsAndFamily
    /// [`Relation::Everyone`]: crate::codes::Relation::Everyone
    pub fn relation(mut self, owner: u64, member: u64, relation: crate::codes::Relation) -> Self {
        self.provision.relations.push((owner, member, relation));
        self
    }

    /// Makes user `owner` block user `member`: `member` may no longer comment on, tag, note
    /// or fave what `owner` shows (error 109).
    pub fn block(mut self, owner: u64, member: u64) -> Self {
        self.provision.blocks.push((owner, member));
        self
    }

    /// Adds a group owned by user 1 with every user as a member (ids 1, 2, … in the order
    /// added). In a `moderated` group, documents wait for a moderator.
    pub fn group(mut self, title: impl Into<String>, is_public: bool, moderated: bool) -> Self {
        self.provision.groups.push(provision::GroupPlan {
            title: title.into(),
            is_public,
            moderated,
            members: None,
            weekly_quota: 0,
        });
        self
    }

    /// Restricts group `id` (1 for the first added): only `members` belong to it (the others
    /// may not post: `group.docs.add` error 4), and each may post `weekly_quota` documents a
    /// week (error 3; 0: no limit).
    pub fn restrict_group(mut self, id: u64, members: &[u64], weekly_quota: u32) -> Self {
        let index = usize::try_from(id.saturating_sub(1)).unwrap_or(usize::MAX);
        if let Some(plan) = self.provision.groups.get_mut(index) {
            plan.members = Some(members.to_vec());
            plan.weekly_quota = weekly_quota;
        }
        self
    }

    /// Adds a blog post of user `owner` (ids 1, 2, … in the order added).
    pub fn post(
        mut self,
        owner: u64,
        title: impl Into<String>,
        content: impl Into<String>,
        is_public: bool,
    ) -> Self {
        self.provision.posts.push(provision::PostPlan {
            owner,
            title: title.into(),
            content: content.into(),
            is_public,
        });
        self
    }

    /// Starts with a deterministic account family of `documents` documents (see
    /// [`SeededMember`] for the members it adds, and `ipernity serve --seed`): small JPEGs with
    /// EXIF, tags of every kind, notes, comments, faves, visits, albums and folders in order,
    /// groups, posts, and members who list each other, dated over the three years before
    /// 2026-01-01 whenever it runs. With a data directory, only a store
    /// without documents is seeded: a restart keeps what the first start made.
    pub fn seed(mut self, documents: usize) -> Self {
        self.seed = Some(documents);
        self
    }

    /// Request quotas, as the service's 112 and 113 answer them: at most `per_key` calls a
    /// second per application key and `per_address` per client address (`None`: no limit, the
    /// default). Counted before any credential is checked; a refused call carries
    /// `Retry-After: 1`.
    pub fn rate_limits(mut self, per_key: Option<u32>, per_address: Option<u32>) -> Self {
        self.rate_limits = (per_key, per_address);
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

    /// Waits this long before answering each request, as a distant service would (default:
    /// no wait).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
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

    /// How many bytes each member may upload in a calendar month (UTC; default 10 GiB): an
    /// upload beyond it is refused with `upload.file`'s error 4, and `account.getQuota` counts
    /// against it.
    pub fn monthly_upload_limit(mut self, bytes: u64) -> Self {
        self.upload_quota = bytes;
        self
    }

    /// Binds the address and serves in the background. An empty API key, secret or token is
    /// refused: an empty secret signs everything, an empty token is no token.
    ///
    /// # Errors
    ///
    /// [`std::io::ErrorKind::InvalidInput`] for an empty credential; the address cannot be
    /// bound; the data directory cannot be created; its `emulator.redb` is in use by another
    /// emulator ([`std::io::ErrorKind::ResourceBusy`]), empty or damaged
    /// ([`std::io::ErrorKind::InvalidData`], naming the file; [`fresh`](Self::fresh) replaces
    /// it).
    pub async fn start(self) -> std::io::Result<EmulatorHandle> {
        let member_tokens = self
            .provision
            .members
            .iter()
            .map(|member| ("member's token", member.token.expose()));
        for (name, value) in [
            ("API key", self.api_key.as_str()),
            ("secret", self.secret.expose()),
            ("token", self.token.expose()),
        ]
        .into_iter()
        .chain(member_tokens)
        {
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
        let mut state = ServiceState::provisioned(
            &self.api_key,
            &self.secret,
            &self.token,
            &self.grants,
            self.auth_lifetime,
        );
        self.provision
            .apply(&mut state, &self.api_key, &self.grants);
        // A data directory given by the caller keeps the state across restarts.
        let store = match temporary {
            true => None,
            false => {
                let store = store::Store::open(&data_dir, self.fresh)?;
                store.load_into(&mut state)?;
                Some(store)
            }
        };
        let seeded = match self.seed {
            Some(documents) if state.docs.values().next().is_none() => seed::seed(
                &mut state,
                &data_dir,
                &self.api_key,
                &self.grants,
                documents,
            )?,
            _ => Vec::new(),
        };
        match &store {
            Some(store) => store.save(&mut state)?,
            None => state.mark_saved(),
        }
        // Uploads cut off by a crash left their spool files: no document took them. Only now,
        // with the database's lock held: another emulator on this directory is refused above
        // before it could touch the files of uploads in flight.
        for entry in std::fs::read_dir(&data_dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Thumbnails cut off the same way (their name ends `.part` until complete).
            if (name.starts_with("upload-") || name.starts_with("thumb-"))
                && name.ends_with(".part")
            {
                std::fs::remove_file(entry.path()).ok();
            }
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            store,
            faults: Mutex::default(),
            requests: std::sync::atomic::AtomicU64::new(0),
            ticket_delay: self.ticket_delay,
            latency: self.latency,
            data_dir: data_dir.clone(),
            max_file_size: self.max_file_size,
            upload_quota: self.upload_quota,
            callback: self.callback.clone(),
            idle_timeout: self.idle_timeout,
            origin: format!("http://{addr}"),
            resizes: tokio::sync::Semaphore::new(media::MAX_RESIZES),
            rates: rates::Rates::new(self.rate_limits.0, self.rate_limits.1),
        });
        let router = Router::new()
            .route("/api", any(receive::api))
            .route("/api/", any(receive::api))
            .route("/api/{*path}", any(receive::api))
            .route("/media/{name}", get(media::serve))
            .route("/apps/authorize", get(pages::authorize))
            .route("/apps/callback", get(pages::callback_page))
            .route("/apps/oauth/request", any(oauth::request))
            .route("/apps/oauth/authorize", get(oauth::authorize))
            .route("/apps/oauth/access", any(oauth::access))
            .fallback(pages::not_found)
            .with_state(Arc::clone(&shared))
            // Bodies are limited by the handler: multipart streams to disk, others by file size.
            .layer(axum::extract::DefaultBodyLimit::disable());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(listen::serve(
            listener,
            router,
            self.idle_timeout,
            self.max_connections,
            stopped,
        ));
        Ok(EmulatorHandle {
            seeded,
            shared: Arc::clone(&shared),
            addr,
            credentials,
            stop: Some(stop),
            task,
            temporary_dir: temporary.then_some(data_dir),
        })
    }
}

/// A running emulator: its address, its provisioned credentials, and a graceful shutdown.
#[derive(Debug)]
pub struct EmulatorHandle {
    seeded: Vec<SeededMember>,
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

    /// The members a seed added this start, with their tokens (empty without a seed, or when
    /// the store already held documents).
    pub fn seeded_members(&self) -> &[SeededMember] {
        &self.seeded
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

/// How long a frob or an OAuth request token waits for its user, unless configured.
const AUTH_LIFETIME: Duration = Duration::from_secs(600);

/// 32 hex digits from the operating system's random source; empty if it failed, which
/// [`EmulatorBuilder::start`] then refuses as an empty credential.
fn fresh_hex() -> String {
    crate::random::token().unwrap_or_default()
}

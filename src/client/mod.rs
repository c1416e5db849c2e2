//! The async client: [`Client`], built by [`ClientBuilder`], sends calls over any protocol and
//! decodes any format, chosen at run time.
//!
//! ```no_run
//! # async fn run() -> Result<(), ipernity::Error> {
//! use ipernity::{Client, Protocol, Format};
//!
//! let client = Client::builder()
//!     .credentials("my-api-key", "my-secret")
//!     .token("user-token")
//!     .protocol("soap".parse::<Protocol>().unwrap())
//!     .build()?;
//! let doc = client.call("doc.get").param("doc_id", 42).send().await?;
//! let hello = client.call("test.hello").format(Format::Php).send().await?;
//! # Ok(()) }
//! ```
//!
//! Every call is signed; the token goes along when there is one. Before anything is sent, the
//! method registry refuses an unknown method and a method that needs a token when none is set.
//! Reads (and `upload.checkTickets`) are retried on connection failures, HTTP 502/503/504 and API
//! codes 500, 501, 503, 112 and 113, with exponential backoff and jitter, honouring
//! `Retry-After`; a write is only repeated when it provably never left (the connection failed).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::auth::{Permissions, Token};
use crate::call::{Call, Credentials, ParamValue, Secret};
use crate::error::{Error, body_prefix};
use crate::format::Format;
use crate::methods;
use crate::oauth::{OAuthSigner, OAuthToken, Placement, SignatureMethod};
use crate::protocol::{DEFAULT_ENDPOINT, HttpRequest, Protocol};
use crate::value::Value;

mod auth;
pub mod bulk;
mod redact;
mod sender;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod tickets;
mod upload;

pub use auth::{Auth, OAuthFlow};
/// What consuming [`TicketStream`] and [`ProgressEvents`] takes (`.next().await`), re-exported so
/// that a user needs no `futures` dependency of their own.
pub use futures_util::{Stream, StreamExt};
pub use sender::{
    BodyStream, BoxFuture, HttpResponse, HttpSender, MAX_RESPONSE_BYTES, ReqwestSender, SendError,
};
pub use tickets::{MAX_TICKETS_PER_CALL, TicketOutcome, TicketState, TicketStream};
pub use upload::{CancellationToken, Progress, ProgressEvents, Quota, UploadBuilder, Uploaded};

/// How often and how long a retryable call is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: u32,
    /// The delay before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The longest delay between two attempts (a longer `Retry-After` is still honoured).
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry number `retry` (0-based): exponential with "equal jitter" (half
    /// fixed, half random), or the server's `Retry-After` when it asked for longer.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        let half = exponential / 2;
        let jitter = half.mul_f64(random_fraction());
        let backoff = half + jitter;
        retry_after.map_or(backoff, |after| after.max(backoff))
    }
}

/// A number in [0, 1) from the standard library's per-process random hashing keys.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A client of the Ipernity API. Cheap to clone (one `Arc`), `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: String,
    credentials: Credentials,
    protocol: Protocol,
    format: Option<Format>,
    call_timeout: Duration,
    upload_timeout: Duration,
    uploads_over_rest: bool,
    retry: RetryPolicy,
    sender: Arc<dyn HttpSender>,
    /// Where the authorization pages are.
    site: String,
    /// What the token allows, when known: calls needing more fail before anything is sent.
    permissions: Option<Permissions>,
    /// OAuth signing instead of `api_sig`, when set.
    oauth: Option<OAuthSigner>,
    /// Takes this client's secrets out of every error it returns or logs.
    redactor: redact::Redactor,
}

impl Inner {
    /// Whether calls go with a user token (an `auth_token` or an OAuth access token).
    fn has_token(&self) -> bool {
        self.credentials.token.is_some() || self.oauth.as_ref().is_some_and(|o| o.token.is_some())
    }

    /// Refuses, before anything is sent, a call the token cannot make.
    fn preflight(&self, info: &methods::MethodInfo) -> Result<(), Error> {
        if info.token && !self.has_token() {
            return Err(Error::TokenRequired {
                method: info.name.to_owned(),
            });
        }
        if let (Some(needed), Some(held)) = (info.permission, &self.permissions)
            && info.token
            && !held.allows(needed)
        {
            return Err(Error::PermissionMissing {
                method: info.name.to_owned(),
                needed,
            });
        }
        Ok(())
    }

    /// The call as it is encoded: signed with `api_sig`, or bare for OAuth (which signs the
    /// encoded request instead and sends no api_key, api_sig or auth_token).
    fn prepare(&self, call: Call) -> Call {
        match self.oauth {
            Some(_) => call,
            None => call.signed(&self.credentials),
        }
    }

    /// Adds the OAuth signature to an encoded request (a fresh nonce each time); `fields` are
    /// the non-file fields of an upload, which the signature covers.
    fn sign_oauth(
        &self,
        request: &mut HttpRequest,
        fields: &[(String, String)],
    ) -> Result<(), Error> {
        match &self.oauth {
            Some(signer) => signer.sign(request, &[], fields),
            None => Ok(()),
        }
    }
}

/// Which certificates a client trusts, given [`ClientBuilder::root_certificates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustRoots {
    /// The given certificates and the platform's roots.
    AddToPlatform,
    /// The given certificates only.
    Only,
}

/// Adds the certificates of `pem` to `builder`'s trust roots, or makes them its only ones.
#[cfg(any(
    feature = "default-tls",
    feature = "native-tls",
    feature = "rustls-no-provider"
))]
fn trust_roots(
    builder: reqwest::ClientBuilder,
    pem: &[u8],
    trust: TrustRoots,
) -> Result<reqwest::ClientBuilder, Error> {
    let certificates = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| Error::invalid_param("root_certificates", e.to_string()))?;
    if certificates.is_empty() {
        return Err(Error::invalid_param(
            "root_certificates",
            "the PEM bundle holds no certificate",
        ));
    }
    Ok(match trust {
        TrustRoots::AddToPlatform => builder.tls_certs_merge(certificates),
        TrustRoots::Only => builder.tls_certs_only(certificates),
    })
}

/// Without a TLS backend there is nothing to trust certificates with.
#[cfg(not(any(
    feature = "default-tls",
    feature = "native-tls",
    feature = "rustls-no-provider"
)))]
fn trust_roots(
    _builder: reqwest::ClientBuilder,
    _pem: &[u8],
    _trust: TrustRoots,
) -> Result<reqwest::ClientBuilder, Error> {
    Err(Error::invalid_param(
        "root_certificates",
        "this build has no TLS backend (enable default-tls, native-tls or rustls-no-provider)",
    ))
}

/// Builds a [`Client`]; settings that fail are reported by [`ClientBuilder::build`].
#[must_use]
pub struct ClientBuilder {
    endpoint: String,
    api_key: Option<String>,
    secret: Option<Secret>,
    token: Option<Secret>,
    protocol: Protocol,
    format: Option<Format>,
    connect_timeout: Duration,
    call_timeout: Duration,
    upload_timeout: Duration,
    uploads_over_rest: bool,
    proxy: Option<String>,
    user_agent: String,
    /// PEM certificates to trust, and whether they replace the platform's roots.
    roots: Option<(Vec<u8>, TrustRoots)>,
    retry: RetryPolicy,
    sender: Option<Arc<dyn HttpSender>>,
    site: Option<String>,
    permissions: Option<Permissions>,
    oauth_token: Option<OAuthToken>,
    oauth_method: SignatureMethod,
    oauth_placement: Placement,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key)
            .field("secret", &self.secret)
            .field("token", &self.token)
            .field("oauth_token", &self.oauth_token)
            .field("protocol", &self.protocol)
            .field("format", &self.format)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            api_key: None,
            secret: None,
            token: None,
            protocol: Protocol::Rest,
            format: None,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(60),
            uploads_over_rest: false,
            proxy: None,
            user_agent: concat!("ipernity-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            roots: None,
            retry: RetryPolicy::default(),
            sender: None,
            site: None,
            permissions: None,
            oauth_token: None,
            oauth_method: SignatureMethod::HmacSha1,
            oauth_placement: Placement::Header,
        }
    }
}

impl ClientBuilder {
    /// The API base URL (default `https://api.ipernity.com/api`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The application's API key and secret.
    pub fn credentials(mut self, api_key: impl Into<String>, secret: impl Into<Secret>) -> Self {
        self.api_key = Some(api_key.into());
        self.secret = Some(secret.into());
        self
    }

    /// A user's `auth_token`, sent (and signed) with every call.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A user's token with what it allows ([`Auth::get_token`], a token store): calls needing a
    /// permission it lacks fail with [`Error::PermissionMissing`] before anything is sent.
    pub fn user_token(mut self, token: &Token) -> Self {
        self.token = Some(token.token.clone());
        self.permissions = Some(token.permissions.clone());
        self
    }

    /// What the token allows, for the pre-flight check (unknown by default: nothing is checked
    /// and the service answers 110 when a permission is missing).
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Signs every call with OAuth 1.0a and this access token instead of `api_sig` (the API
    /// key and secret act as consumer key and secret).
    pub fn oauth_token(mut self, token: OAuthToken) -> Self {
        self.oauth_token = Some(token);
        self
    }

    /// The OAuth signature method (default HMAC-SHA1; PLAINTEXT only over HTTPS or loopback).
    pub fn oauth_signature_method(mut self, method: SignatureMethod) -> Self {
        self.oauth_method = method;
        self
    }

    /// Where OAuth parameters travel (default: the `Authorization` header).
    pub fn oauth_placement(mut self, placement: Placement) -> Self {
        self.oauth_placement = placement;
        self
    }

    /// The site serving the authorization pages (default: derived from the endpoint,
    /// `https://www.ipernity.com` for the service).
    pub fn site(mut self, site: impl Into<String>) -> Self {
        self.site = Some(site.into());
        self
    }

    /// The request protocol (default REST).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The response format (default: the protocol's own).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt of a call may take, connection included (default 60 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long an upload may go without a byte of its body getting out (default 60 s). It
    /// bounds stalls, not the whole transfer: a large file on a slow link is not cut off. Once the
    /// body is sent, the answer may take up to the call timeout.
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.upload_timeout = timeout;
        self
    }

    /// Sends uploads as REST multipart even when the client speaks SOAP or XML-RPC (the answer
    /// keeps the chosen format when REST can give it, JSON otherwise).
    pub fn uploads_over_rest(mut self, enabled: bool) -> Self {
        self.uploads_over_rest = enabled;
        self
    }

    /// A proxy for every request (`http://host:port`, `socks5://…` is not supported).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Trusts the certificates of `pem` (one or more PEM blocks: a corporate proxy's CA, a
    /// self-hosted endpoint's own CA), in addition to the platform's roots with
    /// [`TrustRoots::AddToPlatform`], or instead of them with [`TrustRoots::Only`]. A bundle
    /// that does not parse is refused by [`ClientBuilder::build`].
    pub fn root_certificates(mut self, pem: impl Into<Vec<u8>>, trust: TrustRoots) -> Self {
        self.roots = Some((pem.into(), trust));
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The retry policy (default: 3 retries, 250 ms doubling up to 8 s, at most 60 s in all).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends through `sender` instead of reqwest (tests, custom stacks); the connect timeout,
    /// proxy and user agent are then the sender's business.
    pub fn sender(mut self, sender: Arc<dyn HttpSender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The client, or the first setting that cannot work.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self
            .api_key
            .filter(|key| !key.is_empty())
            .ok_or_else(|| Error::invalid_param("api_key", "an API key is required"))?;
        let secret = self
            .secret
            .ok_or_else(|| Error::invalid_param("secret", "an API secret is required"))?;
        if let Some(format) = self.format
            && !self.protocol.transport().formats().contains(&format)
        {
            return Err(Error::invalid_param(
                "format",
                format!("the {} endpoint cannot answer in {format}", self.protocol),
            ));
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(Error::invalid_param(
                "endpoint",
                "the endpoint must be an http:// or https:// URL",
            ));
        }
        // Paths and queries are appended to the endpoint: one that has its own would make every
        // request's URL wrong (`…/api?x=1/doc.get?api_key=…`).
        if let Some(extra) = self.endpoint.find(['?', '#']) {
            return Err(Error::invalid_param(
                "endpoint",
                format!(
                    "the endpoint must not carry a query or fragment (found {:?}): give the API's base URL, such as {DEFAULT_ENDPOINT}",
                    self.endpoint.get(extra..extra + 1).unwrap_or_default()
                ),
            ));
        }
        let sender = match self.sender {
            Some(sender) => sender,
            None => {
                let mut builder = ReqwestSender::api_client_builder()
                    .connect_timeout(self.connect_timeout)
                    .user_agent(self.user_agent);
                if let Some(proxy) = &self.proxy {
                    let proxy = reqwest::Proxy::all(proxy)
                        .map_err(|e| Error::invalid_param("proxy", e.to_string()))?;
                    builder = builder.proxy(proxy);
                }
                if let Some((pem, trust)) = &self.roots {
                    builder = trust_roots(builder, pem, *trust)?;
                }
                let client = builder
                    .build()
                    .map_err(|e| Error::invalid_param("client", e.to_string()))?;
                Arc::new(ReqwestSender::new(client))
            }
        };
        let mut credentials = Credentials::new(api_key, secret);
        credentials.token = self.token;
        let oauth = self.oauth_token.map(|token| OAuthSigner {
            consumer_key: credentials.api_key.clone(),
            consumer_secret: credentials.secret.clone(),
            token: Some(token),
            method: self.oauth_method,
            placement: self.oauth_placement,
        });
        let site = self
            .site
            .unwrap_or_else(|| crate::auth::site_of(&self.endpoint));
        let oauth_token = oauth.as_ref().and_then(|o| o.token.as_ref());
        let redactor = redact::Redactor::new(
            [
                Some(credentials.secret.expose()),
                credentials.token.as_ref().map(Secret::expose),
                oauth_token.map(|t| t.token.as_str()),
                oauth_token.map(|t| t.secret.expose()),
            ]
            .into_iter()
            .flatten(),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                endpoint: self.endpoint,
                credentials,
                protocol: self.protocol,
                format: self.format,
                call_timeout: self.call_timeout,
                upload_timeout: self.upload_timeout,
                uploads_over_rest: self.uploads_over_rest,
                retry: self.retry,
                sender,
                site,
                permissions: self.permissions,
                oauth,
                redactor,
            }),
        })
    }
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `IPERNITY_ENDPOINT`, `IPERNITY_API_KEY`, `IPERNITY_SECRET`,
    /// `IPERNITY_TOKEN`, `IPERNITY_PROTOCOL` and `IPERNITY_FORMAT` (key and secret required).
    pub fn from_env() -> Result<Client, Error> {
        Client::builder_from(|name| std::env::var(name).ok())?.build()
    }

    /// A builder configured from the `IPERNITY_*` variables that `lookup` returns.
    pub fn builder_from(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder, Error> {
        let mut builder = Client::builder();
        if let Some(endpoint) = lookup("IPERNITY_ENDPOINT") {
            builder = builder.endpoint(endpoint);
        }
        if let (Some(key), Some(secret)) = (lookup("IPERNITY_API_KEY"), lookup("IPERNITY_SECRET")) {
            builder = builder.credentials(key, secret);
        }
        if let Some(token) = lookup("IPERNITY_TOKEN").filter(|t| !t.is_empty()) {
            builder = builder.token(token);
        }
        if let Some(protocol) = lookup("IPERNITY_PROTOCOL") {
            let protocol = protocol.parse().map_err(|e: crate::format::UnknownName| {
                Error::invalid_param("IPERNITY_PROTOCOL", e.to_string())
            })?;
            builder = builder.protocol(protocol);
        }
        if let Some(format) = lookup("IPERNITY_FORMAT") {
            let format = format.parse().map_err(|e: crate::format::UnknownName| {
                Error::invalid_param("IPERNITY_FORMAT", e.to_string())
            })?;
            builder = builder.format(format);
        }
        Ok(builder)
    }

    /// Starts a call of `method`.
    pub fn call(&self, method: impl Into<String>) -> CallBuilder {
        CallBuilder {
            client: self.clone(),
            call: Call::new(method),
            protocol: None,
            format: None,
        }
    }

    /// Sends a prepared (unsigned) call with the client's protocol and format.
    pub async fn send(&self, call: Call) -> Result<Value, Error> {
        self.execute(call, None, None).await
    }

    async fn execute(
        &self,
        call: Call,
        protocol: Option<Protocol>,
        format: Option<Format>,
    ) -> Result<Value, Error> {
        let inner = &self.inner;
        let info = methods::lookup(call.method()).ok_or_else(|| Error::UnknownMethod {
            method: call.method().to_owned(),
        })?;
        inner.preflight(info)?;
        let protocol = protocol.unwrap_or(inner.protocol);
        let transport = protocol.transport();
        let format = format
            .or(inner.format.filter(|f| transport.formats().contains(f)))
            .unwrap_or(transport.default_format());
        let method = call.method().to_owned();
        let request = transport.encode(&inner.endpoint, &inner.prepare(call), Some(format))?;
        let is_read = !info.post;
        let started = Instant::now();
        let mut retry = 0u32;
        loop {
            let mut signed = request.clone();
            // Each attempt is signed anew: a repeated OAuth nonce would be refused (133).
            inner.sign_oauth(&mut signed, &[])?;
            let attempt = inner.sender.send(signed, inner.call_timeout).await;
            let (error, retryable, retry_after) = match attempt {
                Ok(response) => {
                    let retry_after = retry_after(&response);
                    match interpret(response, format) {
                        Ok(value) => return Ok(value),
                        Err(error) => {
                            let retryable = is_read && is_retryable_answer(&error);
                            (error, retryable, retry_after)
                        }
                    }
                }
                Err(failure) => {
                    let retryable = failure.before_sending || is_read;
                    let error = Error::from(failure);
                    (error, retryable, None)
                }
            };
            let error = answering(inner.redactor.error(error), &method);
            if !retryable || retry >= inner.retry.max_retries {
                return Err(error);
            }
            let delay = inner.retry.delay(retry, retry_after);
            if started.elapsed() + delay > inner.retry.max_elapsed {
                return Err(error);
            }
            tracing::warn!(method = %method, retry = retry + 1, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

/// Reads a response: the decoded payload, the API error, or — when the body is not an API
/// response — an HTTP error keeping the status and the first bytes.
fn interpret(response: crate::client::HttpResponse, format: Format) -> Result<Value, Error> {
    if (300..400).contains(&response.status) {
        return Err(Error::Redirect {
            status: response.status,
            target: redirect_target(response.header("location")),
        });
    }
    match format.decode(&response.body) {
        Ok(value) => Ok(value),
        Err(Error::Api(error)) => Err(Error::Api(error)),
        Err(_) if !(200..300).contains(&response.status) => Err(Error::Http {
            status: response.status,
            body_prefix: body_prefix(&response.body),
        }),
        Err(other) => Err(other),
    }
}

/// `error`, naming `method` when it is the API's answer.
fn answering(error: Error, method: &str) -> Error {
    match error {
        Error::Api(api) => Error::Api(api.answering(method)),
        other => other,
    }
}

/// Where a redirect pointed, as far as an error may say: the origin of an absolute `Location`,
/// never its path or query (which may repeat the signed parameters).
fn redirect_target(location: Option<&str>) -> String {
    let Some(location) = location else {
        return "nowhere (no Location header)".to_owned();
    };
    match location.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            // user:password@ is not the origin and may be a secret.
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => "another path on the same host".to_owned(),
    }
}

fn is_retryable_answer(error: &Error) -> bool {
    match error {
        Error::Api(api) => api.code.is_retryable(),
        Error::Http { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the API and is ignored).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let seconds: u64 = response.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

/// One call being prepared: parameters, and optionally its own protocol and format.
#[must_use = "a call does nothing until `.send().await`"]
#[derive(Debug)]
pub struct CallBuilder {
    client: Client,
    call: Call,
    protocol: Option<Protocol>,
    format: Option<Format>,
}

impl CallBuilder {
    /// Adds a parameter (booleans as `1`/`0`, numbers in decimal).
    pub fn param(mut self, name: impl Into<String>, value: impl ParamValue) -> Self {
        self.call = self.call.param(name, value);
        self
    }

    /// Sends this call over `protocol` instead of the client's.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Asks for `format` instead of the client's.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Sends the call and returns the payload (the response without its `api` member).
    pub async fn send(self) -> Result<Value, Error> {
        self.client
            .execute(self.call, self.protocol, self.format)
            .await
    }

    /// Sends the call and reads the payload into `T` (with [`Value`]'s leniency).
    pub async fn send_as<T: DeserializeOwned>(self) -> Result<T, Error> {
        let value = self.send().await?;
        T::deserialize(&value).map_err(Error::Deserialize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(10),
        };
        for retry in 0..6 {
            let full =
                Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_millis(1000));
            let delay = policy.delay(retry, None);
            assert!(delay >= full / 2 && delay <= full, "{retry}: {delay:?}");
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn environment_configures_the_builder() {
        let vars = [
            ("IPERNITY_API_KEY", "k"),
            ("IPERNITY_SECRET", "s"),
            ("IPERNITY_PROTOCOL", "xmlrpc"),
            ("IPERNITY_FORMAT", "php"),
            ("IPERNITY_ENDPOINT", "http://127.0.0.1:1/api"),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let client = Client::builder_from(lookup).unwrap().build().unwrap();
        assert_eq!(client.inner.protocol, Protocol::XmlRpc);
        assert_eq!(client.inner.format, Some(Format::Php));
        assert!(
            Client::builder_from(|name| (name == "IPERNITY_PROTOCOL").then(|| "grpc".to_owned()))
                .is_err()
        );
        assert!(Client::builder_from(|_| None).unwrap().build().is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let builder = Client::builder()
            .credentials("key", "the-secret")
            .token("the-token");
        let client = Client::builder()
            .credentials("key", "the-secret")
            .token("the-token")
            .build()
            .unwrap();
        for text in [format!("{builder:?}"), format!("{client:?}")] {
            assert!(
                !text.contains("the-secret") && !text.contains("the-token"),
                "{text}"
            );
        }
    }
}

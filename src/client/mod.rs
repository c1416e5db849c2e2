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

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::auth::Permissions;
use crate::call::{Call, Credentials, ParamValue};
use crate::error::{Error, body_prefix};
use crate::format::Format;
use crate::methods::{self, Validation};
use crate::oauth::OAuthSigner;
use crate::protocol::{HttpRequest, Protocol};
use crate::value::Value;

mod auth;
mod builder;
pub mod bulk;
mod download;
pub(crate) mod journal;
mod pace;
mod redact;
mod sender;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod tickets;
mod upload;

pub use auth::{Auth, OAuthFlow};
pub use builder::{ClientBuilder, TrustRoots};
pub use download::Download;
/// What consuming [`TicketStream`] and [`ProgressEvents`] takes (`.next().await`), re-exported so
/// that a user needs no `futures` dependency of their own.
pub use futures_util::{Stream, StreamExt};
use pace::Pace;
pub use pace::RateLimit;
pub use sender::{
    BodyStream, BoxFuture, HttpResponse, HttpSender, MAX_RESPONSE_BYTES, ReqwestSender, SendError,
    StreamedResponse,
};
pub use tickets::{MAX_TICKETS_PER_CALL, TicketOutcome, TicketState, TicketStream};
#[cfg(feature = "bridge")]
pub(crate) use upload::send_envelope;
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
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        let half = exponential / 2;
        let jitter = half.mul_f64(crate::random::fraction());
        let backoff = half + jitter;
        retry_after.map_or(backoff, |after| after.max(backoff))
    }

    /// The wait before retry number `retry` (0-based) of something first tried at `started`, or
    /// `None` when the policy allows no more: its retries are spent, or the wait would end past
    /// `max_elapsed`.
    pub(crate) fn next_delay(
        &self,
        retry: u32,
        started: Instant,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        let delay = self.delay(retry, retry_after);
        (started.elapsed() + delay <= self.max_elapsed).then_some(delay)
    }
}

/// A client of the Ipernity API. Cheap to clone (one `Arc`), `Send + Sync`; every builder it
/// hands out holds a clone, so their futures are `'static + Send` and can be spawned.
///
/// ```
/// use std::sync::Arc;
/// use ipernity::client::HttpResponse;
/// use ipernity::client::test_util::ReplaySender;
/// use ipernity::{Client, Protocol};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ipernity::Error> {
/// let sender = Arc::new(ReplaySender::new([HttpResponse::new(
///     200,
///     r#"<?xml version="1.0"?><api status="ok"><hello>hello world!</hello></api>"#,
/// )]));
/// let client = Client::builder()
///     .credentials("my-api-key", "my-secret")
///     .protocol(Protocol::Rest)
///     .format("xml".parse()?)
///     .sender(sender) // tests only; the default sends over HTTPS
///     .build()?;
/// let hello = tokio::spawn(client.call("test.hello").send()).await.unwrap()?;
/// assert_eq!(hello["hello"].as_str(), Some("hello world!"));
/// # Ok(()) }
/// ```
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
    /// The rate limit and the service's slowdown, shared by every clone.
    pace: Pace,
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

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `IPERNITY_ENDPOINT`, `IPERNITY_API_KEY`, `IPERNITY_SECRET`,
    /// `IPERNITY_TOKEN`, `IPERNITY_PROTOCOL` and `IPERNITY_FORMAT` (key and secret required).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the variable that is missing or does not parse, or what
    /// [`ClientBuilder::build`] refuses.
    pub fn from_env() -> Result<Client, Error> {
        Client::builder_from(|name| std::env::var(name).ok())?.build()
    }

    /// A builder configured from the `IPERNITY_*` variables that `lookup` returns.
    ///
    /// ```
    /// let builder = ipernity::Client::builder_from(|name| match name {
    ///     "IPERNITY_API_KEY" => Some("key".to_owned()),
    ///     "IPERNITY_SECRET" => Some("secret".to_owned()),
    ///     "IPERNITY_PROTOCOL" => Some("xmlrpc".to_owned()),
    ///     _ => None,
    /// })?;
    /// let client = builder.build()?;
    /// # Ok::<(), ipernity::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming `IPERNITY_PROTOCOL` or `IPERNITY_FORMAT` when its value
    /// is not a protocol or format name.
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
            validation: Validation::Strict,
        }
    }

    /// Sends a prepared (unsigned) call with the client's protocol and format.
    ///
    /// # Errors
    ///
    /// As [`CallBuilder::send`].
    pub async fn send(&self, call: Call) -> Result<Value, Error> {
        self.execute(call, None, None, Validation::Strict).await
    }

    async fn execute(
        &self,
        call: Call,
        protocol: Option<Protocol>,
        format: Option<Format>,
        validation: Validation,
    ) -> Result<Value, Error> {
        let inner = &self.inner;
        let info = methods::lookup(call.method()).ok_or_else(|| Error::UnknownMethod {
            method: call.method().to_owned(),
        })?;
        methods::validate(info, call.params(), validation)?;
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
            let sent = inner.pace.admit().await;
            let attempt = inner.sender.send(signed, inner.call_timeout).await;
            let (error, retryable, retry_after) = match attempt {
                Ok(response) => {
                    let retry_after = retry_after(&response);
                    let outcome = interpret(response, format);
                    inner.pace.heed(&outcome, retry_after, sent);
                    match outcome {
                        Ok(value) => return Ok(value),
                        Err(error) => {
                            let error = with_method_meaning(error, info);
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
            let error = answering(inner.redactor.error(error), info.name);
            let Some(delay) = retryable
                .then(|| inner.retry.next_delay(retry, started, retry_after))
                .flatten()
            else {
                return Err(error);
            };
            tracing::warn!(method = %method, retry = retry + 1, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

/// Reads a response: the decoded payload, the API error, or — when the body is not an API
/// response — an HTTP error keeping the status and the first bytes.
pub(crate) fn interpret(
    response: crate::client::HttpResponse,
    format: Format,
) -> Result<Value, Error> {
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

/// `error` with what the catalog says its code means for this method, when it is one of the
/// method's own codes.
fn with_method_meaning(error: Error, info: &methods::MethodInfo) -> Error {
    match error {
        Error::Api(api) => {
            let meaning = info.error_meaning(api.code.as_u32());
            Error::Api(api.meaning(meaning))
        }
        other => other,
    }
}

/// `error`, naming `method` when it is the API's answer.
fn answering(error: Error, method: &'static str) -> Error {
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

/// Whether an answer that is an error is worth repeating a read for: an API error the service
/// calls temporary, or a gateway's 502–504 page.
pub(crate) fn is_retryable_answer(error: &Error) -> bool {
    match error {
        Error::Api(api) => api.code.is_retryable(),
        Error::Http { status, .. } => is_retryable_status(*status),
        _ => false,
    }
}

/// Whether an HTTP status that carries no API answer is worth repeating a read for: a gateway
/// that could not reach the service (502), a service down (503), or one too slow (504).
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the API and is ignored).
pub(crate) fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let seconds: u64 = response.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

/// One call being prepared: parameters, and optionally its own protocol and format.
///
/// ```
/// # use std::sync::Arc;
/// # use ipernity::client::{HttpResponse, test_util::ReplaySender};
/// use ipernity::{Client, Format};
///
/// #[derive(serde::Deserialize)]
/// struct Echo {
///     doc_id: u64,
///     title: Option<String>,
///     tags: Vec<String>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ipernity::Error> {
/// # let sender = Arc::new(ReplaySender::new([HttpResponse::new(200,
/// #     r#"{"api":{"status":"ok"},"doc_id":"42","title":"","tags":"red"}"#)]));
/// # let client = Client::builder().credentials("k", "s").sender(sender).build()?;
/// let echo: Echo = client
///     .call("test.echo")
///     .param("doc_id", 42)
///     .param("title", None::<&str>) // absent
///     .param("tags", ["red"])
///     .format(Format::Json)
///     .send_as()
///     .await?;
/// assert_eq!((echo.doc_id, echo.title, echo.tags), (42, None, vec!["red".to_owned()]));
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until `.send().await`"]
#[derive(Debug, Clone)]
pub struct CallBuilder {
    client: Client,
    call: Call,
    protocol: Option<Protocol>,
    format: Option<Format>,
    validation: Validation,
}

impl CallBuilder {
    /// Adds a parameter (booleans as `1`/`0`, numbers in decimal).
    pub fn param(mut self, name: impl Into<String>, value: impl ParamValue) -> Self {
        self.call = self.call.param(name, value);
        self
    }

    /// The method this call is for.
    pub fn method(&self) -> &str {
        self.call.method()
    }

    /// Whether the call has parameter `name` set.
    pub(crate) fn has_param(&self, name: &str) -> bool {
        self.call.params().contains(name)
    }

    /// Adds every parameter of `params` (replacing earlier values of the same names).
    pub fn params(mut self, params: &crate::call::Params) -> Self {
        for (name, value) in params.iter() {
            self.call = self.call.param(name, value);
        }
        self
    }

    /// Sends parameters the method catalog does not know instead of refusing them (the ones it
    /// knows are still checked): for a parameter the service takes that its documentation does
    /// not list.
    pub fn allow_unknown_params(mut self) -> Self {
        self.validation = Validation::AllowUnknown;
        self
    }

    /// Sends the call without checking its parameters against the catalog at all (the method
    /// must still exist): to see how the service answers a call its documentation refuses.
    pub fn unchecked(mut self) -> Self {
        self.validation = Validation::Off;
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
    ///
    /// # Errors
    ///
    /// - before anything is sent: [`Error::UnknownMethod`], [`Error::TokenRequired`],
    ///   [`Error::PermissionMissing`], [`Error::InvalidParam`];
    /// - the service's answer: [`Error::Api`] (with [`Error::code`] and whether
    ///   [`Error::is_retryable`]), after the retries the client's [`RetryPolicy`] allows;
    /// - the exchange: [`Error::Connection`] (saying whether the request may have been sent),
    ///   [`Error::Http`] for a non-API page, [`Error::Redirect`], [`Error::Malformed`] or
    ///   [`Error::Fault`] for a body that is not a readable answer.
    pub async fn send(self) -> Result<Value, Error> {
        self.client
            .execute(self.call, self.protocol, self.format, self.validation)
            .await
    }

    /// Sends the call and reads the payload into `T` (with [`Value`]'s leniency).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), and [`Error::Deserialize`] naming the path of the field that
    /// does not fit `T`.
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
    fn no_retry_past_the_count_or_the_elapsed_budget() {
        let policy = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(10),
        };
        let now = Instant::now();
        let first = policy.next_delay(0, now, None).unwrap();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(policy.next_delay(1, now, None).is_some());
        assert_eq!(
            policy.next_delay(2, now, None),
            None,
            "the retries are spent"
        );
        // A wait that would end past the budget is not started.
        assert_eq!(
            policy.next_delay(0, now, Some(Duration::from_secs(11))),
            None
        );
        let Some(long_ago) = now.checked_sub(Duration::from_secs(10)) else {
            return;
        };
        assert_eq!(policy.next_delay(0, long_ago, None), None);
        assert_eq!(RetryPolicy::none().next_delay(0, now, None), None);
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

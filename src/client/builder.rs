//! [`ClientBuilder`]: every setting of a [`Client`], checked when it is built, and the trust
//! roots of its TLS connections.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::pace::{Pace, RateLimit};
use super::{Client, HttpSender, Inner, ReqwestSender, RetryPolicy, redact};
use crate::auth::{Permissions, Token};
use crate::call::{Credentials, Secret};
use crate::error::Error;
use crate::format::Format;
use crate::oauth::{OAuthSigner, OAuthToken, Placement, SignatureMethod};
use crate::protocol::{DEFAULT_ENDPOINT, Protocol};

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
    rate_limit: Option<RateLimit>,
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
            .field("rate_limit", &self.rate_limit)
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
            rate_limit: None,
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

    /// A user's token with what it allows ([`Auth::get_token`](super::Auth::get_token), a token store): calls needing a
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

    /// Starts at most this many calls in a period (default: no limit), counting every call,
    /// every upload and every page of a walk, across every clone of the client. The service's
    /// own slowdown (answers 112 and 113) is shared by the clones with or without a limit.
    ///
    /// ```
    /// use ipernity::client::RateLimit;
    /// let client = ipernity::Client::builder()
    ///     .credentials("key", "secret")
    ///     .rate_limit(RateLimit::per_second(5)?)
    ///     .build()?;
    /// # Ok::<(), ipernity::Error>(())
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Sends through `sender` instead of reqwest (tests, custom stacks); the connect timeout,
    /// proxy and user agent are then the sender's business.
    pub fn sender(mut self, sender: Arc<dyn HttpSender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The client, or the first setting that cannot work.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the setting: no API key or secret, a format the protocol's
    /// endpoint cannot answer in, an endpoint that is not `http(s)://` or has a query or
    /// fragment, a proxy URL or root certificates that do not parse, PLAINTEXT OAuth to a remote
    /// plain-HTTP endpoint; [`Error::Connection`] when the HTTP client cannot be built.
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
                pace: Pace::new(self.rate_limit),
                sender,
                site,
                permissions: self.permissions,
                oauth,
                redactor,
            }),
        })
    }
}

//! The authorization flows (`protocols/signing.md`): the web and desktop frob flows, and OAuth 1.0a.
//!
//! ```no_run
//! # async fn run(client: ipernity::Client) -> Result<(), ipernity::Error> {
//! let perms = "doc=write,network=read".parse()?;
//! // Desktop: a frob, a link the user opens, then the token.
//! let frob = client.auth().get_frob().await?;
//! println!("open {}", client.auth().desktop_authorize_url(&frob, &perms));
//! // … once the user has authorized the application:
//! let token = client.auth().get_token(&frob).await?;
//! println!("authorized as {} with {}", token.user.username, token.permissions);
//! # Ok(()) }
//! ```

use super::{Client, HttpResponse, interpret};
use crate::auth::{Permissions, Token, authorize_url};
use crate::error::Error;
use crate::form::percent_encode_into;
use crate::format::Format;
use crate::oauth::{OAuthSigner, OAuthToken};
use crate::protocol::{FORM_CONTENT_TYPE, HttpMethod, HttpRequest};

/// The frob flows and `auth.checkToken`, from [`Client::auth`]. It holds a clone of the client:
/// its futures are `'static + Send`, so they can be spawned.
#[derive(Debug, Clone)]
pub struct Auth {
    client: Client,
}

/// The OAuth 1.0a flow, from [`Client::oauth`]. It holds a clone of the client: its futures are
/// `'static + Send`.
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    client: Client,
}

impl Client {
    /// The frob flows and token checks.
    pub fn auth(&self) -> Auth {
        Auth {
            client: self.clone(),
        }
    }

    /// The OAuth 1.0a flow (request token, authorization, access token).
    pub fn oauth(&self) -> OAuthFlow {
        OAuthFlow {
            client: self.clone(),
        }
    }
}

impl Auth {
    /// The web flow's link: the user authorizes the application, and the service sends the
    /// browser to the application's callback with a frob for [`get_token`](Self::get_token).
    pub fn authorize_url(&self, permissions: &Permissions) -> String {
        let inner = &self.client.inner;
        authorize_url(&inner.site, &inner.credentials, permissions, None)
    }

    /// The desktop flow's first step: a frob (`auth.getFrob`).
    ///
    /// # Errors
    ///
    /// As [`CallBuilder::send`](super::CallBuilder::send), and [`Error::MissingField`] for an
    /// answer without a frob.
    pub fn get_frob(&self) -> impl Future<Output = Result<String, Error>> + Send + 'static {
        let call = self.client.call("auth.getFrob");
        async move {
            let payload = call.send().await?;
            payload
                .get("auth")
                .and_then(|auth| auth.get("frob"))
                .and_then(|frob| frob.to_text())
                .filter(|frob| !frob.is_empty())
                .map(|frob| frob.into_owned())
                .ok_or(Error::MissingField { field: "auth.frob" })
        }
    }

    /// The desktop flow's link for `frob`, which the user opens to authorize the application.
    pub fn desktop_authorize_url(&self, frob: &str, permissions: &Permissions) -> String {
        let inner = &self.client.inner;
        authorize_url(&inner.site, &inner.credentials, permissions, Some(frob))
    }

    /// The token for an authorized `frob` (`auth.getToken`; error 1: no frob, 2: invalid or
    /// already used).
    ///
    /// # Errors
    ///
    /// As [`CallBuilder::send`](super::CallBuilder::send), and [`Error::MissingField`] for an
    /// answer without a token or its user.
    pub fn get_token(
        &self,
        frob: &str,
    ) -> impl Future<Output = Result<Token, Error>> + Send + 'static {
        let call = self.client.call("auth.getToken").param("frob", frob);
        async move { Token::from_payload(&call.send().await?) }
    }

    /// What the client's token is and allows (`auth.checkToken`).
    ///
    /// # Errors
    ///
    /// As [`get_token`](Self::get_token).
    pub fn check_token(&self) -> impl Future<Output = Result<Token, Error>> + Send + 'static {
        let call = self.client.call("auth.checkToken");
        async move { Token::from_payload(&call.send().await?) }
    }
}

impl OAuthFlow {
    fn signer(&self, token: Option<&OAuthToken>) -> OAuthSigner {
        let inner = &self.client.inner;
        let configured = inner.oauth.as_ref();
        OAuthSigner {
            consumer_key: inner.credentials.api_key.clone(),
            consumer_secret: inner.credentials.secret.clone(),
            token: token.cloned(),
            method: configured.map(|o| o.method).unwrap_or_default(),
            placement: configured.map(|o| o.placement).unwrap_or_default(),
        }
    }

    /// Sends a signed POST to `/apps/oauth/{step}` and reads the token it answers.
    async fn exchange(
        self,
        step: &'static str,
        token: Option<OAuthToken>,
        extra: Vec<(String, String)>,
    ) -> Result<OAuthToken, Error> {
        let token = token.as_ref();
        let extra = extra.as_slice();
        let inner = &self.client.inner;
        let mut request = HttpRequest {
            method: HttpMethod::Post,
            url: format!("{}/apps/oauth/{step}", inner.site.trim_end_matches('/')),
            headers: vec![("Content-Type".to_owned(), FORM_CONTENT_TYPE.to_owned())],
            body: Vec::new(),
        };
        self.signer(token).sign(&mut request, extra, &[])?;
        let response = inner
            .sender
            .send(request, inner.call_timeout)
            .await
            .map_err(Error::from);
        // The token being exchanged is as secret as the client's own.
        let redactor = super::redact::Redactor::new(
            [inner.credentials.secret.expose()]
                .into_iter()
                .chain(token.map(|t| t.token.as_str()))
                .chain(token.map(|t| t.secret.expose())),
        );
        response
            .and_then(read_token)
            .map_err(|error| redactor.error(error))
    }

    /// A request token (`/apps/oauth/request`); `callback` is where the service sends the
    /// browser afterwards (`oob` when there is none).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for the service's refusal (a bad consumer key or signature),
    /// [`Error::OAuthAnswerIncomplete`] for an answer without the token or its secret, and the
    /// exchange errors of [`CallBuilder::send`](super::CallBuilder::send).
    pub fn request_token(
        &self,
        callback: Option<&str>,
    ) -> impl Future<Output = Result<OAuthToken, Error>> + Send + 'static {
        let callback = callback.unwrap_or("oob").to_owned();
        self.clone().exchange(
            "request",
            None,
            vec![("oauth_callback".to_owned(), callback)],
        )
    }

    /// The link the user opens to authorize `request_token`, with the `perm_*` parameters
    /// Ipernity reads there.
    pub fn authorize_url(&self, request_token: &OAuthToken, permissions: &Permissions) -> String {
        let mut url = format!(
            "{}/apps/oauth/authorize?oauth_token=",
            self.client.inner.site.trim_end_matches('/')
        );
        percent_encode_into(&mut url, &request_token.token);
        for (name, level) in permissions.params() {
            url.push('&');
            url.push_str(&name);
            url.push('=');
            url.push_str(level);
        }
        url
    }

    /// The access token for an authorized request token (`/apps/oauth/access`; Ipernity uses
    /// no verifier). Build a client with [`ClientBuilder::oauth_token`](super::ClientBuilder::oauth_token)
    /// to sign calls with it.
    ///
    /// # Errors
    ///
    /// As [`request_token`](Self::request_token); [`Error::Api`] 107 for a request token that
    /// is unknown, used, expired or not authorized yet.
    pub fn access_token(
        &self,
        request_token: &OAuthToken,
    ) -> impl Future<Output = Result<OAuthToken, Error>> + Send + 'static {
        self.clone()
            .exchange("access", Some(request_token.clone()), Vec::new())
    }
}

/// A token exchange's answer: the form-encoded token, or the API error the body carries.
fn read_token(response: HttpResponse) -> Result<OAuthToken, Error> {
    if (200..300).contains(&response.status) {
        return OAuthToken::from_form(&response.body);
    }
    match interpret(response, Format::Xml) {
        Err(error) => Err(error),
        Ok(_) => Err(Error::malformed(
            Format::Xml,
            "a failed token exchange answered a payload",
        )),
    }
}

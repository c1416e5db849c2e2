//! The authorization flows (spec §5): the web and desktop frob flows, and OAuth 1.0a.
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

/// The frob flows and `auth.checkToken`, from [`Client::auth`].
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    client: &'a Client,
}

/// The OAuth 1.0a flow, from [`Client::oauth`].
#[derive(Debug, Clone, Copy)]
pub struct OAuthFlow<'a> {
    client: &'a Client,
}

impl Client {
    /// The frob flows and token checks.
    pub fn auth(&self) -> Auth<'_> {
        Auth { client: self }
    }

    /// The OAuth 1.0a flow (request token, authorization, access token).
    pub fn oauth(&self) -> OAuthFlow<'_> {
        OAuthFlow { client: self }
    }
}

impl Auth<'_> {
    /// The web flow's link: the user authorizes the application, and the service sends the
    /// browser to the application's callback with a frob for [`get_token`](Self::get_token).
    pub fn authorize_url(&self, permissions: &Permissions) -> String {
        let inner = &self.client.inner;
        authorize_url(&inner.site, &inner.credentials, permissions, None)
    }

    /// The desktop flow's first step: a frob (`auth.getFrob`).
    pub async fn get_frob(&self) -> Result<String, Error> {
        let payload = self.client.call("auth.getFrob").send().await?;
        payload
            .get("auth")
            .and_then(|auth| auth.get("frob"))
            .and_then(|frob| frob.to_text())
            .filter(|frob| !frob.is_empty())
            .map(|frob| frob.into_owned())
            .ok_or(Error::MissingField { field: "auth.frob" })
    }

    /// The desktop flow's link for `frob`, which the user opens to authorize the application.
    pub fn desktop_authorize_url(&self, frob: &str, permissions: &Permissions) -> String {
        let inner = &self.client.inner;
        authorize_url(&inner.site, &inner.credentials, permissions, Some(frob))
    }

    /// The token for an authorized `frob` (`auth.getToken`; error 1: no frob, 2: invalid or
    /// already used).
    pub async fn get_token(&self, frob: &str) -> Result<Token, Error> {
        let payload = self
            .client
            .call("auth.getToken")
            .param("frob", frob)
            .send()
            .await?;
        Token::from_payload(&payload)
    }

    /// What the client's token is and allows (`auth.checkToken`).
    pub async fn check_token(&self) -> Result<Token, Error> {
        let payload = self.client.call("auth.checkToken").send().await?;
        Token::from_payload(&payload)
    }
}

impl OAuthFlow<'_> {
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
        &self,
        step: &str,
        token: Option<&OAuthToken>,
        extra: &[(String, String)],
    ) -> Result<OAuthToken, Error> {
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
    pub async fn request_token(&self, callback: Option<&str>) -> Result<OAuthToken, Error> {
        let callback = callback.unwrap_or("oob").to_owned();
        self.exchange("request", None, &[("oauth_callback".to_owned(), callback)])
            .await
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
    pub async fn access_token(&self, request_token: &OAuthToken) -> Result<OAuthToken, Error> {
        self.exchange("access", Some(request_token), &[]).await
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

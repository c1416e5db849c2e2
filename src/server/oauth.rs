//! OAuth 1.0a in the emulator: `/apps/oauth/request`, `/apps/oauth/authorize`,
//! `/apps/oauth/access`, and OAuth-signed API calls, with errors 130–135.
//!
//! The signature covers the query string, a form body's fields and a multipart upload's
//! non-file fields (which the emulator turns into a form before checking); SOAP and XML-RPC
//! envelopes are not forms, so there only the URL and the `oauth_*` parameters are covered.

use std::sync::{Arc, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::shared::Shared;
use super::state::{
    Grant, RequestToken, ServiceState, USER_ID, fresh_credential, requested_grants, unix_now,
};
use crate::call::Secret;
use crate::error::{ApiError, ErrorCode};
use crate::form::form_decode;
use crate::format::Format;
use crate::oauth::{SignatureMethod, base_string, parse_authorization_header, verify};

/// How far a timestamp may be from the emulator's clock, in seconds.
pub(crate) const CLOCK_WINDOW: u64 = 300;

/// What the HTTP layer knows of a request that OAuth needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct OAuthContext {
    /// The `Authorization: OAuth …` parameters, if the header is there.
    pub(crate) header: Vec<(String, String)>,
    /// `http://HOST` as the client addressed the emulator.
    pub(crate) origin: String,
    /// The request path (`/api/doc.get/json`).
    pub(crate) path: String,
    /// The raw query string.
    pub(crate) query: String,
}

impl OAuthContext {
    pub(crate) fn new(headers: &HeaderMap, uri: &Uri) -> OAuthContext {
        let header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_authorization_header)
            .unwrap_or_default();
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1");
        OAuthContext {
            header,
            origin: format!("http://{host}"),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("{}{}", self.origin, self.path)
    }
}

/// The `oauth_*` parameters of a request, wherever they travel, and the fields the signature
/// covers besides them.
struct Signed {
    oauth: Vec<(String, String)>,
    fields: Vec<(String, String)>,
}

impl Signed {
    fn get(&self, name: &str) -> Option<&str> {
        self.oauth
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a request is OAuth-signed: the header, or `oauth_*` parameters (in the call or the
/// query string) instead of an api_key.
pub(crate) fn is_oauth(context: &OAuthContext, params: &crate::call::Params) -> bool {
    let in_query = || {
        form_decode(context.query.as_bytes())
            .iter()
            .any(|(name, _)| name == "oauth_consumer_key")
    };
    !context.header.is_empty()
        || (params.get("api_key").is_none()
            && (params.get("oauth_consumer_key").is_some() || in_query()))
}

/// Checks an OAuth-signed request in the service's order (130, 131, 135, 134, 132, key,
/// signature, 133) and returns the consumer key and the token's grant, if any.
fn check(
    state: &mut ServiceState,
    http_method: &str,
    url: &str,
    signed: &Signed,
    token_secret: impl Fn(&ServiceState, &str) -> Result<Option<String>, ApiError>,
) -> Result<String, ApiError> {
    if let Some(version) = signed.get("oauth_version")
        && version != "1.0"
    {
        return Err(ApiError::new(
            ErrorCode::OAuthVersion,
            format!("OAuth protocol version unsupported: {version} (use 1.0)"),
        ));
    }
    let missing: Vec<&str> = [
        "oauth_consumer_key",
        "oauth_signature_method",
        "oauth_signature",
        "oauth_timestamp",
        "oauth_nonce",
    ]
    .into_iter()
    .filter(|name| signed.get(name).is_none_or(str::is_empty))
    .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            ErrorCode::OAuthParametersMissing,
            format!("OAuth parameters are missing: {}", missing.join(", ")),
        ));
    }
    let method = signed
        .get("oauth_signature_method")
        .and_then(SignatureMethod::from_name)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::OAuthSignatureMethod,
                "OAuth Signature method unsupported: use HMAC-SHA1, or PLAINTEXT over HTTPS",
            )
        })?;
    // PLAINTEXT sends the secrets as they are; RFC 5849 §3.4.4 allows it only over TLS, and
    // this endpoint is plain HTTP: the message above is the rule, not a suggestion.
    if method == SignatureMethod::Plaintext {
        return Err(ApiError::new(
            ErrorCode::OAuthSignatureMethod,
            "OAuth Signature method unsupported: PLAINTEXT needs HTTPS and this endpoint is plain HTTP; use HMAC-SHA1",
        ));
    }
    let timestamp: u64 = signed
        .get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .filter(|t| *t > 0)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::OAuthTimestampInvalid,
                "OAuth Timestamp is invalid: not a number of seconds",
            )
        })?;
    let now = unix_now();
    if timestamp.abs_diff(now) > CLOCK_WINDOW {
        return Err(ApiError::new(
            ErrorCode::OAuthClockSkew,
            format!(
                "OAuth Clock skew: the timestamp is {} s from the server's clock",
                timestamp.abs_diff(now)
            ),
        ));
    }
    let consumer = signed
        .get("oauth_consumer_key")
        .unwrap_or_default()
        .to_owned();
    let consumer_secret = state
        .apps
        .get(&consumer)
        .cloned()
        .ok_or_else(|| ApiError::global(ErrorCode::ApiKeyInvalid))?;
    let token_secret = match signed.get("oauth_token").filter(|t| !t.is_empty()) {
        Some(token) => token_secret(state, token)?,
        None => None,
    };
    let base = base_string(http_method, url, &signed.oauth, &signed.fields);
    if !verify(
        method,
        &base,
        &consumer_secret,
        token_secret.map(Secret::new).as_ref(),
        signed.get("oauth_signature").unwrap_or_default(),
    ) {
        return Err(ApiError::global(ErrorCode::SignatureInvalid));
    }
    // Nonces are remembered as long as their timestamps are inside the window, on disk too:
    // a request captured before a restart must not replay after it.
    state
        .nonces
        .retain(|_, seen| seen.abs_diff(now) <= CLOCK_WINDOW);
    let pair = (
        consumer.clone(),
        signed.get("oauth_nonce").unwrap_or_default().to_owned(),
    );
    if state.nonces.insert(pair, timestamp).is_some() {
        return Err(ApiError::new(
            ErrorCode::OAuthNonceInvalid,
            "OAuth Nonce is invalid: it was used before",
        ));
    }
    Ok(consumer)
}

/// Authenticates an OAuth-signed API call: the consumer, the signature over the URL, the query
/// and (for REST) the form fields, and the access token's grant.
pub(crate) fn authenticate(
    state: &mut ServiceState,
    parsed: &crate::protocol::ParsedRequest,
    context: &OAuthContext,
) -> Result<(String, Option<(String, Grant)>), ApiError> {
    let params = parsed.call.params();
    let rest =
        crate::protocol::Protocol::for_path(context.path.strip_prefix("/api/").unwrap_or_default())
            == crate::protocol::Protocol::Rest;
    let mut oauth = context.header.clone();
    let mut fields = Vec::new();
    if rest {
        // Query and form fields alike: the REST parser read both into the call.
        for (name, value) in params.iter() {
            if name.starts_with("oauth_") {
                oauth.push((name.to_owned(), value.to_owned()));
            } else {
                fields.push((name.to_owned(), value.to_owned()));
            }
        }
    } else {
        for (name, value) in form_decode(context.query.as_bytes()) {
            if name.starts_with("oauth_") {
                oauth.push((name, value));
            } else {
                fields.push((name, value));
            }
        }
    }
    let signed = Signed { oauth, fields };
    let consumer = check(
        state,
        parsed.http_method.as_str(),
        &context.url(),
        &signed,
        |state, token| {
            state
                .tokens
                .get(token)
                .and_then(|grant| grant.oauth_secret.clone())
                .map(Some)
                .ok_or_else(|| ApiError::global(ErrorCode::TokenInvalid))
        },
    )?;
    let Some(token) = signed.get("oauth_token").filter(|t| !t.is_empty()) else {
        return Ok((consumer, None));
    };
    let grant = state
        .tokens
        .get(token)
        .filter(|grant| grant.api_key == consumer)
        .cloned()
        .ok_or_else(|| ApiError::global(ErrorCode::TokenInvalid))?;
    Ok((consumer, Some((token.to_owned(), grant))))
}

/// The `oauth_*` parameters and covered fields of a token exchange: header, query and form body.
fn exchange_params(context: &OAuthContext, body: &[u8]) -> Signed {
    let mut oauth = context.header.clone();
    let mut fields = Vec::new();
    for (name, value) in form_decode(context.query.as_bytes())
        .into_iter()
        .chain(form_decode(body))
    {
        if name.starts_with("oauth_") {
            oauth.push((name, value));
        } else {
            fields.push((name, value));
        }
    }
    Signed { oauth, fields }
}

/// An OAuth error as the API writes errors (XML), with HTTP 401.
fn refusal(error: ApiError) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, Format::Xml.content_type())],
        Format::Xml.render(Err(&error)),
    )
        .into_response()
}

fn form_answer(pairs: &[(&str, &str)]) -> Response {
    let mut body = String::new();
    for (name, value) in pairs {
        if !body.is_empty() {
            body.push('&');
        }
        crate::form::percent_encode_into(&mut body, name);
        body.push('=');
        crate::form::percent_encode_into(&mut body, value);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        body,
    )
        .into_response()
}

/// Reads a token exchange: what the HTTP layer knows, and its `oauth_*` parameters and fields
/// (a form body of at most 64 KiB, read with the emulator's idle timeout).
async fn read_exchange(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
) -> Result<(OAuthContext, Signed), Response> {
    let context = OAuthContext::new(headers, uri);
    let body = super::limits::read_limited(body, 64 * 1024, shared.idle_timeout)
        .await
        .map_err(|refused| refused.into_response())?;
    let signed = exchange_params(&context, &body);
    Ok((context, signed))
}

/// A fresh token and its secret, both from the operating system's random source.
fn fresh_pair() -> Result<(String, String), ApiError> {
    Ok((fresh_credential()?, fresh_credential()?))
}

/// `/apps/oauth/request`: a request token for a correctly signed consumer.
pub(crate) async fn request(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (context, signed) = match read_exchange(&shared, &headers, &uri, body).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let consumer = match check(
        &mut state,
        method.as_str(),
        &context.url(),
        &signed,
        |_, _| Ok(None),
    ) {
        Ok(consumer) => consumer,
        Err(error) => return refusal(error),
    };
    // The nonce is kept before the token is handed out.
    if let Err(error) = shared.persist(&mut state) {
        return refusal(error);
    }
    let (token, secret) = match fresh_pair() {
        Ok(pair) => pair,
        Err(error) => return refusal(error),
    };
    state.oauth_requests.insert(
        token.clone(),
        RequestToken {
            consumer_key: consumer,
            secret: secret.clone(),
            created: Instant::now(),
            approved: None,
            used: false,
        },
    );
    form_answer(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", "true"),
    ])
}

/// `/apps/oauth/authorize?oauth_token=…&perm_doc=…`: the user approves at once (no browser
/// needed).
pub(crate) async fn authorize(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let params = form_decode(uri.query().unwrap_or_default().as_bytes());
    let page = |status: StatusCode, text: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response()
    };
    let grants = match requested_grants(params.iter().map(|(n, v)| (n.as_str(), v.as_str()))) {
        Ok(grants) => grants,
        Err(refused) => return page(StatusCode::BAD_REQUEST, refused),
    };
    let token = params
        .iter()
        .find(|(name, _)| name == "oauth_token")
        .map(|(_, value)| value.clone());
    let Some(token) = token else {
        return page(StatusCode::BAD_REQUEST, "oauth_token is missing".into());
    };
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let lifetime = state.auth_lifetime;
    match state.oauth_requests.get_mut(&token) {
        Some(request) if !request.used && request.created.elapsed() < lifetime => {
            request.approved = Some(grants);
            page(
                StatusCode::OK,
                "authorized: return to the application".into(),
            )
        }
        _ => page(
            StatusCode::BAD_REQUEST,
            "the request token is unknown, used or expired".into(),
        ),
    }
}

/// `/apps/oauth/access`: the access token for an authorized request token, signed with it.
pub(crate) async fn access(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (context, signed) = match read_exchange(&shared, &headers, &uri, body).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let checked = check(
        &mut state,
        method.as_str(),
        &context.url(),
        &signed,
        |state, token| {
            state
                .oauth_requests
                .get(token)
                .map(|r| Some(r.secret.clone()))
                .ok_or_else(|| ApiError::global(ErrorCode::TokenInvalid))
        },
    );
    let consumer = match checked {
        Ok(consumer) => consumer,
        Err(error) => return refusal(error),
    };
    let request_token = signed.get("oauth_token").unwrap_or_default().to_owned();
    let lifetime = state.auth_lifetime;
    let grants = match state.oauth_requests.get_mut(&request_token) {
        Some(request)
            if request.consumer_key == consumer
                && !request.used
                && request.created.elapsed() < lifetime =>
        {
            match request.approved.clone() {
                Some(grants) => {
                    request.used = true;
                    grants
                }
                None => {
                    return refusal(ApiError::new(
                        ErrorCode::TokenInvalid,
                        "Token invalid: the request token is not authorized yet",
                    ));
                }
            }
        }
        _ => {
            return refusal(ApiError::new(
                ErrorCode::TokenInvalid,
                "Token invalid: a request token is needed, unused and not expired",
            ));
        }
    };
    let (token, secret) = match fresh_pair() {
        Ok(pair) => pair,
        Err(error) => return refusal(error),
    };
    state.tokens.insert(
        token.clone(),
        Grant {
            api_key: consumer,
            user_id: USER_ID,
            grants,
            oauth_secret: Some(secret.clone()),
        },
    );
    let saved = shared.persist(&mut state);
    drop(state);
    if let Err(error) = saved {
        return refusal(error);
    }
    form_answer(&[("oauth_token", &token), ("oauth_token_secret", &secret)])
}

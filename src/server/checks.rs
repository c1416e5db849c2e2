//! From a parsed request to its answer: the checks in the order the service makes them, then
//! the method.
//!
//! 1. format (102) and envelope (121/122): while the protocol parses the request;
//! 2. injected faults, for tests of the client's retries;
//! 3. method (103);
//! 4. API key (100/101), or the OAuth checks (130–135) with the consumer key;
//! 5. HTTP POST for write methods (120);
//! 6. signature when the method needs one or one is sent (104/105, in constant time);
//! 7. token (106/107) and permission (110);
//! 8. the method itself ([`handlers::dispatch`]), whose changes are saved before the answer.
//!
//! API errors are answered with HTTP 200 in the requested format, as the service does.

use std::sync::{Arc, PoisonError};
use std::time::Instant;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::call::{Outcome, Request};
use super::faults::{self, Fault};
use super::handlers;
use super::oauth::{self, OAuthContext};
use super::shared::Shared;
use super::state::{Grant, ServiceState};
use crate::error::{ApiError, ErrorCode};
use crate::methods::{self, MethodInfo};
use crate::protocol::{FilePart, HttpMethod, IncomingRequest, ParsedRequest, Protocol};
use crate::sign;
use crate::value::{Map, Value};

/// Parses a received request, checks it, runs its method and renders the answer.
pub(super) async fn answer_request(
    shared: &Arc<Shared>,
    context: &OAuthContext,
    incoming: IncomingRequest<'_>,
    spooled: Option<FilePart>,
    peer: Option<std::net::IpAddr>,
) -> Response {
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A slow network, before anything is read or locked (so it holds no lock).
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    // Steps 1 and 2.
    let mut parsed = Protocol::for_path(incoming.path)
        .transport()
        .parse(&incoming);
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
    // The quotas, before any credential is checked (the key is counted as sent).
    let quota = match &parsed {
        Ok(parsed) => shared.rates.admit(
            parsed
                .call
                .params()
                .get("api_key")
                .or(parsed.call.params().get("oauth_consumer_key")),
            peer,
            super::state::unix_now(),
        ),
        Err(_) => Ok(()),
    };
    let (format, outcome) = match (parsed, fault) {
        (_, Some(Fault::Http(status))) => return faults::http_page(status),
        (_, Some(Fault::CloseConnection)) => return faults::dropped_connection(),
        (Err(refused), _) => (refused.format, Err(refused.error)),
        (Ok(parsed), Some(Fault::Api(code))) => (
            parsed.format,
            Err(ApiError::global(ErrorCode::from_u32(code))),
        ),
        (Ok(parsed), None) if quota.is_err() => (parsed.format, quota.map(|()| Map::default())),
        (Ok(parsed), None) => {
            let mut outcome = answer(shared, &parsed, context);
            if let Ok(payload) = &mut outcome
                && parsed.call.method().starts_with("upload.")
                && parsed.call.params().get("async") == Some("0")
            {
                wait_for_ticket(shared, payload).await;
            }
            (parsed.format, outcome)
        }
    };
    let body = format.render(outcome.as_ref());
    let mut response = (StatusCode::OK, body).into_response();
    // A quota answer says when to come back: the next second.
    if let Err(error) = &outcome
        && matches!(
            error.code,
            ErrorCode::ApplicationQuota | ErrorCode::ClientIpQuota
        )
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

/// Steps 3 to 8, under the state's lock.
fn answer(shared: &Shared, parsed: &ParsedRequest, context: &OAuthContext) -> Outcome {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    state.process_tickets(Instant::now(), &shared.data_dir);
    let call = &parsed.call;
    let info = methods::lookup(call.method())
        .ok_or_else(|| ApiError::global(ErrorCode::MethodNotFound))?;
    let (api_key, token, grant) = if oauth::is_oauth(context, call.params()) {
        let (consumer, granted) = oauth::authenticate(&mut state, parsed, context)?;
        require_post(info, parsed)?;
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
        ticket_delay: shared.ticket_delay,
        data_dir: &shared.data_dir,
        max_file_size: shared.max_file_size,
        upload_quota: shared.upload_quota,
        paging: info.paging,
        origin: &shared.origin,
    };
    let outcome = handlers::dispatch(&mut state, info, &request);
    shared.persist(&mut state)?;
    outcome
}

/// Step 5: a write method called with GET is refused (120).
fn require_post(info: &MethodInfo, parsed: &ParsedRequest) -> Result<(), ApiError> {
    if info.post && parsed.http_method == HttpMethod::Get {
        return Err(ApiError::global(ErrorCode::PostRequired));
    }
    Ok(())
}

/// Steps 4 to 7 for a call signed with `api_sig`: key, POST, signature, token, permission.
fn authenticate(
    state: &ServiceState,
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
    require_post(info, parsed)?;
    let signature = params.get("api_sig");
    let token = params.get("auth_token").filter(|t| !t.is_empty());
    // A call that carries a token is signed, whatever the method: otherwise anyone who saw a
    // token in a log or a URL could call as its user without the secret.
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

/// Step 7: 106 without a token where one is needed, 110 when the token lacks the method's
/// permission.
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

/// A synchronous upload (`async=0`) is answered once its ticket is done, with the `doc_id`.
async fn wait_for_ticket(shared: &Shared, payload: &mut Map) {
    tokio::time::sleep(shared.ticket_delay).await;
    let Some(ticket) = payload
        .get("ticket")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    state.process_tickets(Instant::now(), &shared.data_dir);
    if shared.persist(&mut state).is_err() {
        return;
    }
    if let Some(done) = state.tickets.get(ticket.as_str()).filter(|t| t.done) {
        payload.insert("doc_id".into(), Value::from(done.doc.id.to_string()));
    }
}

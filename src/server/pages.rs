//! What the emulator serves besides the API: the authorization page of the desktop and web
//! flows, the web flow's default callback, the WSDL and the answer for an unknown route.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::shared::Shared;
use super::state::requested_grants;
use crate::call::Params;
use crate::sign;

/// `/apps/authorize?api_key=…&frob=…&perm_doc=…&api_sig=…`: approves the frob for the provisioned
/// user at once (no browser needed), after checking the link's signature.
pub(super) async fn authorize(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let params: Params = crate::form::form_decode(uri.query().unwrap_or_default().as_bytes())
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
        let frob = match state.new_frob(api_key, Some(grants)) {
            Ok(frob) => frob,
            Err(error) => return page(StatusCode::INTERNAL_SERVER_ERROR, &error.message),
        };
        let callback = shared
            .callback
            .clone()
            .unwrap_or_else(|| "/apps/callback".to_owned());
        let separator = if callback.contains('?') { '&' } else { '?' };
        let mut location = format!("{callback}{separator}frob=");
        crate::form::percent_encode_into(&mut location, &frob);
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

/// The WSDL with the address of this emulator as the client reached it (the connection's local
/// address): a `Host` header is the client's claim, and echoing it would let anyone who can
/// send one point a toolkit elsewhere.
pub(super) fn wsdl(local: Option<SocketAddr>) -> Response {
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

/// Where the web flow lands when no callback is configured: a page showing the frob.
pub(super) async fn callback_page(uri: Uri) -> Response {
    let params = crate::form::form_decode(uri.query().unwrap_or_default().as_bytes());
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

/// Any route the emulator does not serve.
pub(super) async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no route for {}; the API lives under /api", uri.path()),
    )
        .into_response()
}

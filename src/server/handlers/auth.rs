//! `auth.getFrob`, `auth.getToken`, `auth.checkToken`, and the frobs the authorization page
//! hands out.

use serde::Serialize;

use super::{answer, method_error};
use crate::error::{ApiError, ErrorCode};
use crate::methods::{Level, Target};
use crate::server::call::{Outcome, Request};
use crate::server::state::{Grant, Grants, ServiceState, USER_ID, fresh_credential};

#[derive(Serialize)]
struct FrobAnswer {
    frob: String,
}

/// `auth.getFrob`.
pub(super) fn get_frob(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let frob = state.new_frob(request.api_key, None)?;
    answer("auth", &FrobAnswer { frob })
}

/// The levels a token holds, in the order the service lists its targets; targets not granted
/// are left out.
#[derive(Serialize)]
struct Levels {
    #[serde(skip_serializing_if = "Option::is_none")]
    doc: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blog: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'static str>,
}

impl Levels {
    fn of(grants: &Grants) -> Levels {
        let level = |target: Target| grants.get(&target).map(|level: &Level| level.as_str());
        Levels {
            doc: level(Target::Doc),
            blog: level(Target::Blog),
            post: level(Target::Post),
            network: level(Target::Network),
            profile: level(Target::Profile),
        }
    }
}

#[derive(Serialize)]
struct TokenUser<'a> {
    user_id: u64,
    username: &'a str,
    realname: &'a str,
}

#[derive(Serialize)]
struct TokenAnswer<'a> {
    token: &'a str,
    permissions: Levels,
    user: TokenUser<'a>,
}

/// The answer of `auth.getToken` and `auth.checkToken`.
fn token_answer(state: &ServiceState, token: &str, grant: &Grant) -> Outcome {
    let user = state.users.get(&grant.user_id);
    answer(
        "auth",
        &TokenAnswer {
            token,
            permissions: Levels::of(&grant.grants),
            user: TokenUser {
                user_id: grant.user_id,
                username: user.map_or("", |u| u.username.as_str()),
                realname: user.map_or("", |u| u.realname.as_str()),
            },
        },
    )
}

/// `auth.getToken`: a frob approved by its user, once, before it expires.
pub(super) fn get_token(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let frob_id = request
        .param("frob")
        .ok_or_else(|| method_error(1, "Frob missing"))?;
    let lifetime = state.auth_lifetime;
    let grants: Grants = match state.frobs.get_mut(frob_id) {
        Some(frob)
            if frob.api_key == request.api_key
                && !frob.used
                && frob.created.elapsed() < lifetime =>
        {
            let grants = frob
                .approved
                .clone()
                .ok_or_else(|| method_error(2, "Frob invalid (not authorized yet)"))?;
            frob.used = true;
            grants
        }
        _ => return Err(method_error(2, "Frob invalid or already used")),
    };
    let token = fresh_credential()?;
    let grant = Grant {
        api_key: request.api_key.to_owned(),
        user_id: USER_ID,
        grants,
        oauth_secret: None,
    };
    let payload = token_answer(state, &token, &grant)?;
    state.tokens.insert(token, grant);
    Ok(payload)
}

/// `auth.checkToken`.
pub(super) fn check_token(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let token = request.token.unwrap_or_default();
    let grant = request
        .grant
        .as_ref()
        .ok_or_else(|| ApiError::global(ErrorCode::TokenMissing))?;
    token_answer(state, token, grant)
}

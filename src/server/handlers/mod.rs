//! The emulated methods, one file per family of the API. Each takes the checked request and
//! the state, and returns the payload (the members beside `api`) or the method's documented
//! error. Answers are `#[derive(Serialize)]` structs turned into a [`Value`] tree with every
//! scalar as text, as the service writes them; a struct's field order is the order the answer
//! lists its members in.

use serde::Serialize;

use super::call::{Outcome, Request};
use super::state::{Doc, ServiceState};
use crate::error::{ApiError, ErrorCode};
use crate::methods::MethodInfo;
use crate::value::{Map, Text, Value, to_text_value};

mod album;
mod api;
mod auth;
mod doc;
mod upload;

pub(super) fn dispatch(
    state: &mut ServiceState,
    info: &MethodInfo,
    request: &Request<'_>,
) -> Outcome {
    match info.name {
        "test.echo" => api::test_echo(request),
        "test.hello" => answer("hello", "hello world!"),
        "api.methods.getList" => api::methods_list(),
        "api.methods.get" => api::method_get(request),
        "auth.getFrob" => auth::get_frob(state, request),
        "auth.getToken" => auth::get_token(state, request),
        "auth.checkToken" => auth::check_token(state, request),
        "account.getQuota" => upload::quota(state, request),
        "upload.file" => upload::upload(state, request, false),
        "upload.replace" => upload::upload(state, request, true),
        "upload.checkTickets" => upload::check_tickets(state, request),
        "doc.get" => doc::get(state, request),
        "doc.set" => doc::set(state, request),
        "doc.delete" => doc::delete(state, request),
        "doc.setLicense" => doc::set_license(state, request),
        "doc.setSafety" => doc::set_safety(state, request),
        "doc.setGeo" => doc::set_geo(state, request),
        "doc.setPerms" => doc::set_perms(state, request),
        "doc.getPerms" => doc::get_perms(state, request),
        "doc.getList" => doc::list(state, request, None),
        "doc.search" => doc::list(state, request, request.param("text")),
        "doc.tags.add" => doc::tags_add(state, request),
        "doc.checkMD5" => doc::check_md5(state, request),
        "doc.tags.getList" => doc::tags_list(state, request),
        "album.create" => album::create(state, request),
        "album.get" => album::get(state, request),
        "album.getList" => album::list(state, request),
        "album.docs.add" => album::docs_add(state, request),
        "album.docs.getList" => album::docs_list(state, request),
        other => Err(ApiError::new(
            ErrorCode::MethodNotFound,
            format!("Method not found: {other} is not emulated"),
        )),
    }
}

/// The payload `{root: answer}`.
fn answer<T: Serialize + ?Sized>(root: &str, answer: &T) -> Outcome {
    let value = text_value(answer)?;
    Ok(Map::from_iter([(Text::from(root), value)]))
}

/// The payload made of `answer`'s members, for answers with several top-level elements
/// (`doc.getPerms`' `visibility`, `permissions`, `usage`).
fn members<T: Serialize + ?Sized>(answer: &T) -> Outcome {
    match text_value(answer)? {
        Value::Map(members) => Ok(members),
        _ => Err(ApiError::new(
            ErrorCode::ServiceError,
            "Service error: the answer is not a set of elements",
        )),
    }
}

fn text_value<T: Serialize + ?Sized>(answer: &T) -> Result<Value, ApiError> {
    to_text_value(answer).map_err(|error| {
        ApiError::new(
            ErrorCode::ServiceError,
            format!("Service error: the answer could not be built: {error}"),
        )
    })
}

/// Latitude and longitude from `lat` and `lng`: `Ok(None)` for `-999` in both (no location),
/// `Err(())` when either is missing, not a number or out of range.
fn geo_params(request: &Request<'_>) -> Result<Option<(f64, f64)>, ()> {
    let number = |name: &str| request.param(name).and_then(|v| v.parse::<f64>().ok());
    match (number("lat"), number("lng")) {
        (Some(lat), Some(lng)) if lat == -999.0 && lng == -999.0 => Ok(None),
        (Some(lat), Some(lng))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
        {
            Ok(Some((lat, lng)))
        }
        _ => Err(()),
    }
}

/// The method-specific error `code`.
fn method_error(code: u32, message: &str) -> ApiError {
    ApiError::new(ErrorCode::Method(code), message)
}

/// An id parameter, or the method's "not found" error 1 (`what` names it).
fn id_param(request: &Request<'_>, name: &str, what: &str) -> Result<u64, ApiError> {
    request
        .param(name)
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| method_error(1, &format!("{what} not found")))
}

/// The values of a comma-separated parameter, trimmed, empty ones left out.
fn comma_list<'a>(request: &'a Request<'_>, name: &str) -> impl Iterator<Item = &'a str> {
    request
        .param(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// A document the caller may see: public ones, and any of the caller's own.
fn visible<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a Doc, ApiError> {
    state
        .docs
        .get(&id)
        .filter(|doc| doc.is_public || Some(doc.owner) == request.user_id())
        .ok_or_else(|| method_error(1, "Document not found"))
}

/// A document the caller owns, to read (nothing is recorded as changed).
fn owned_doc<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a Doc, ApiError> {
    state
        .docs
        .get(&id)
        .filter(|doc| Some(doc.owner) == request.user_id())
        .ok_or_else(|| method_error(1, "Document not found"))
}

/// A document the caller owns, to change (recorded as changed, so written with the call).
fn owned<'a>(
    state: &'a mut ServiceState,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a mut Doc, ApiError> {
    owned_doc(state, request, id)?;
    state
        .docs
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Document not found"))
}

/// A page of a list: `page` (1-based, clamped to the pages there are), `pages`, `per_page`
/// (1 to 100, default 100).
#[derive(Debug, Clone, Copy)]
struct Page {
    page: usize,
    pages: usize,
    per_page: usize,
}

impl Page {
    fn of(request: &Request<'_>, total: usize) -> Page {
        let per_page = request
            .param("per_page")
            .and_then(|p| p.parse().ok())
            // doc.getList, doc.search and album.docs.getList: 20 by default, at most 100.
            .unwrap_or(20usize)
            .clamp(1, 100);
        let pages = total.div_ceil(per_page).max(1);
        let page = request
            .param("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1usize)
            .clamp(1, pages);
        Page {
            page,
            pages,
            per_page,
        }
    }

    /// The items of this page.
    fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1)
            .saturating_mul(self.per_page)
            .min(items.len());
        let end = start.saturating_add(self.per_page).min(items.len());
        items.get(start..end).unwrap_or_default()
    }
}

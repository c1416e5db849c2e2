//! The emulated methods, one file per family of the API. Each takes the checked request and
//! the state, and returns the payload (the members beside `api`) or the method's documented
//! error. Answers are `#[derive(Serialize)]` structs turned into a [`Value`] tree with every
//! scalar as text, as the service writes them; a struct's field order is the order the answer
//! lists its members in.

use serde::Serialize;

use super::call::{Outcome, Request};
use super::records::may_see;
use super::state::{Doc, ServiceState};
use crate::error::{ApiError, ErrorCode};
use crate::methods::MethodInfo;
use crate::value::{Map, Text, Value, to_text_value};

mod album;
mod api;
mod auth;
mod comments;
mod doc;
mod explore;
mod faves;
mod folder;
mod group;
mod network;
mod post;
mod tags;
mod upload;
mod views;

use comments::On;

/// The emulator's own limits where the service documents an error without its figure.
mod bounds {
    /// The most tags one document holds (the service documents a limit, error 3 of
    /// `doc.tags.add`, without its figure; this is the emulator's). Bounded, a call's work under the
    /// state lock is too: at most this many tags are compared, each once, through a hash set.
    pub(crate) const MAX_TAGS_PER_DOC: usize = 200;

    /// The most albums one member has (account.getQuota's example: 2048).
    pub(crate) const MAX_ALBUMS: usize = 2048;
    /// The most albums one document is in (error 3 of album.create; the figure is the emulator's).
    pub(crate) const MAX_DOC_ALBUMS: usize = 100;
    /// The most documents one album holds (error 4 of album.docs.setList; the figure is the
    /// emulator's, the service documents none).
    pub(crate) const MAX_ALBUM_DOCS: usize = 10_000;
}

pub(crate) use bounds::{MAX_ALBUM_DOCS, MAX_ALBUMS, MAX_DOC_ALBUMS, MAX_TAGS_PER_DOC};

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
        "doc.getList" => doc::list(state, request),
        "doc.search" => doc::search(state, request),
        "doc.checkMD5" => doc::check_md5(state, request),
        "doc.getContext" => doc::context(state, request),
        "doc.getContainers" => doc::containers(state, request),
        "doc.getFaves" => doc::faves(state, request),
        "doc.getVisitors" => doc::visitors(state, request),
        "doc.getMedias" => doc::medias(state, request),
        "doc.getExif" => doc::exif(state, request),
        "doc.albums.add" => doc::albums_add(state, request),
        "doc.tags.add" => tags::add(state, request),
        "doc.tags.edit" => tags::edit(state, request),
        "doc.tags.remove" => tags::remove(state, request),
        "doc.tags.getList" => tags::list(state, request),
        "doc.comments.add" => comments::add(state, request, On::Doc),
        "doc.comments.delete" => comments::delete(state, request, On::Doc),
        "doc.comments.edit" => comments::edit(state, request, On::Doc),
        "doc.comments.get" => comments::get(state, request, On::Doc),
        "doc.comments.getList" => comments::list(state, request, On::Doc),
        "doc.comments.reply" => comments::reply(state, request, On::Doc),
        "doc.notes.add" => comments::note_add(state, request),
        "doc.notes.edit" => comments::note_edit(state, request),
        "doc.notes.delete" => comments::note_delete(state, request),
        "tags.docs.getList" => tags::docs_list(state, request),
        "tags.user.getList" => tags::user_list(state, request),
        "tags.user.getPopular" => tags::user_popular(state, request),
        "album.create" => album::create(state, request),
        "album.get" => album::get(state, request),
        "album.getList" => album::list(state, request),
        "album.edit" => album::edit(state, request),
        "album.delete" => album::delete(state, request),
        "album.setPerms" => album::set_perms(state, request),
        "album.orderList" => album::order_list(state, request),
        "album.getFaves" => album::faves(state, request),
        "album.getVisitors" => album::visitors(state, request),
        "album.docs.add" => album::docs_add(state, request),
        "album.docs.remove" => album::docs_remove(state, request),
        "album.docs.setList" => album::docs_set_list(state, request),
        "album.docs.getList" => album::docs_list(state, request),
        "album.docs.getContext" => album::docs_context(state, request),
        "faves.docs.add" => faves::doc(state, request, true),
        "faves.docs.remove" => faves::doc(state, request, false),
        "faves.docs.getList" => faves::docs_list(state, request),
        "faves.albums.add" => faves::album(state, request, true),
        "faves.albums.remove" => faves::album(state, request, false),
        "faves.albums.getList" => faves::albums_list(state, request),
        "folder.create" => folder::create(state, request),
        "folder.get" => folder::get(state, request),
        "folder.getList" => folder::list(state, request),
        "folder.edit" => folder::edit(state, request),
        "folder.delete" => folder::delete(state, request),
        "folder.orderList" => folder::order_list(state, request),
        "folder.albums.add" => folder::albums_add(state, request),
        "folder.albums.remove" => folder::albums_remove(state, request),
        "folder.albums.getList" => folder::albums_list(state, request),
        "group.get" => group::get(state, request),
        "group.getList" => group::list(state, request),
        "group.search" => group::search(state, request),
        "group.docs.add" => group::docs_add(state, request),
        "group.docs.remove" => group::docs_remove(state, request),
        "group.docs.getList" => group::docs_list(state, request),
        "group.docs.getContext" => group::docs_context(state, request),
        "explore.groups.getRandom" => group::random(state, request),
        "explore.docs.getRecent" => explore::recent(state, request),
        "explore.docs.getPopular" => explore::popular(state, request),
        "explore.docs.homepage" => explore::homepage(state, request),
        "network.getList" => network::list(state, request),
        "network.autocomplete" => network::autocomplete(state, request),
        "network.docs.getRecent" => network::docs_recent(state, request),
        "user.get" => network::get(state, request),
        "post.get" => post::get(state, request),
        "post.set" => post::set(state, request),
        "post.getList" => post::list(state, request),
        "post.search" => post::search(state, request),
        "post.getContext" => post::context(state, request),
        "post.getFaves" => post::faves(state, request),
        "post.getVisitors" => post::visitors(state, request),
        "post.comments.add" => comments::add(state, request, On::Post),
        "post.comments.delete" => comments::delete(state, request, On::Post),
        "post.comments.edit" => comments::edit(state, request, On::Post),
        "post.comments.get" => comments::get(state, request, On::Post),
        "post.comments.getList" => comments::list(state, request, On::Post),
        "post.comments.reply" => comments::reply(state, request, On::Post),
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

/// The `doc_id` parameter, or the method's error 1.
fn doc_id(request: &Request<'_>) -> Result<u64, crate::error::ApiError> {
    id_param(request, "doc_id", "Document")
}

/// The `album_id` parameter, or the method's error 1.
fn album_id(request: &Request<'_>) -> Result<u64, ApiError> {
    id_param(request, "album_id", "Album")
}

/// A code parameter within `allowed`, or the method's error `code` (out of range); `None` when
/// not sent.
fn code_param(
    request: &Request<'_>,
    name: &str,
    allowed: &[u8],
    code: u32,
) -> Result<Option<u8>, ApiError> {
    match request.param(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<u8>()
            .ok()
            .filter(|value| allowed.contains(value))
            .map(Some)
            .ok_or_else(|| method_error(code, &format!("{name} is out of range"))),
    }
}

/// The new place of `id` when its owner orders some of their albums or folders: its index in
/// `order`, or after all of those named, keeping its place among the others.
fn new_position(order: &[u64], id: u64, current: u64) -> u64 {
    match order.iter().position(|o| *o == id) {
        Some(at) => at as u64,
        None => (order.len() as u64).saturating_add(current),
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

/// Whether the caller sees `doc`: its owner, anyone when it is public, the owner's friends and
/// family as its flags say.
fn sees(state: &ServiceState, viewer: Option<u64>, doc: &Doc) -> bool {
    may_see(
        state.users.get(&doc.owner),
        doc.owner,
        viewer,
        (doc.is_public, doc.is_friend, doc.is_family),
    )
}

/// A document the caller may see.
fn visible<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a Doc, ApiError> {
    state
        .docs
        .get(&id)
        .filter(|doc| sees(state, request.user_id(), doc))
        .ok_or_else(|| method_error(1, "Document not found"))
}

/// Error 109 when `owner` blocks the caller; a caller acting on their own things passes.
fn not_blocked(state: &ServiceState, request: &Request<'_>, owner: u64) -> Result<(), ApiError> {
    let caller = request.user_id();
    let blocked = caller.is_some_and(|caller| {
        state
            .users
            .get(&owner)
            .is_some_and(|owner| owner.blocked.contains(&caller))
    });
    match blocked {
        true => Err(ApiError::new(
            ErrorCode::ActionBlocked,
            "Action blocked: the owner blocks you",
        )),
        false => Ok(()),
    }
}

/// Whether the caller belongs to `audience` (§9.1's codes) of what `owner` shows: the owner
/// always does.
fn in_audience(state: &ServiceState, request: &Request<'_>, owner: u64, audience: u8) -> bool {
    match request.user_id() {
        Some(caller) if caller == owner => true,
        Some(caller) => state
            .users
            .get(&owner)
            .is_some_and(|owner| owner.closeness(caller).within(audience)),
        None => false,
    }
}

/// The user a `user_id` parameter names, else the caller; error `code` when there is none or it
/// is unknown.
fn user_param(state: &ServiceState, request: &Request<'_>, code: u32) -> Result<u64, ApiError> {
    let id = match request.param("user_id") {
        Some(id) => id.trim().parse::<u64>().ok(),
        None => request.user_id(),
    };
    id.filter(|id| state.users.contains_key(id))
        .ok_or_else(|| method_error(code, "User not found"))
}

/// A user's name, empty when unknown.
fn username(state: &ServiceState, id: u64) -> &str {
    state
        .users
        .get(&id)
        .map_or("", |user| user.username.as_str())
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
/// (1 to the method's maximum, its default when not sent).
#[derive(Debug, Clone, Copy)]
struct Page {
    page: usize,
    pages: usize,
    per_page: usize,
}

impl Page {
    fn of(request: &Request<'_>, total: usize) -> Page {
        let (default, max) = request.paging.map_or((20, 100), |paging| {
            (
                usize::try_from(paging.default_per_page).unwrap_or(20),
                usize::try_from(paging.max_per_page).unwrap_or(100),
            )
        });
        let per_page = request
            .param("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(default)
            .clamp(1, max.max(1));
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

//! `faves.*`: a member's favourite documents and albums. Faving what one sees is open to any
//! member the owner does not block (109); each thing is faved once per member.

use serde::Serialize;

use super::views::{DocItem, filter_safe_media};
use super::{album_id, doc_id};
use super::{answer, method_error, not_blocked, user_param, visible};
use crate::server::call::{Outcome, Request};
use crate::server::records::Fave;
use crate::server::state::{Doc, ServiceState, unix_now};
use crate::value::Map;

/// Adds or removes the caller's fave in `faves`.
fn toggle(faves: &mut Vec<Fave>, user_id: u64, add: bool) {
    faves.retain(|f| f.user_id != user_id);
    if add {
        faves.push(Fave {
            user_id,
            faved_at: unix_now(),
        });
    }
}

/// `faves.docs.add` and `faves.docs.remove`.
pub(super) fn doc(state: &mut ServiceState, request: &Request<'_>, add: bool) -> Outcome {
    let id = doc_id(request)?;
    let owner = visible(state, request, id)?.owner;
    if add {
        not_blocked(state, request, owner)?;
    }
    let caller = request.user_id().unwrap_or_default();
    if let Some(doc) = state.docs.get_mut(&id) {
        toggle(&mut doc.faves, caller, add);
    }
    Ok(Map::default())
}

/// `faves.albums.add` and `faves.albums.remove`.
pub(super) fn album(state: &mut ServiceState, request: &Request<'_>, add: bool) -> Outcome {
    let id = album_id(request)?;
    let owner = state
        .albums
        .get(&id)
        .ok_or_else(|| method_error(1, "Album not found"))?
        .owner;
    if add {
        not_blocked(state, request, owner)?;
    }
    let caller = request.user_id().unwrap_or_default();
    if let Some(album) = state.albums.get_mut(&id) {
        toggle(&mut album.faves, caller, add);
    }
    Ok(Map::default())
}

/// The owner filter of a faves list (`owner_id`), error 2 when unknown.
fn owner_filter(
    state: &ServiceState,
    request: &Request<'_>,
) -> Result<Option<u64>, crate::error::ApiError> {
    match request.param("owner_id") {
        None => Ok(None),
        Some(owner) => owner
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|o| state.users.contains_key(o))
            .map(Some)
            .ok_or_else(|| method_error(2, "Owner not found")),
    }
}

/// A faved document: the list item and how the faving member relates to its owner.
#[derive(Serialize)]
struct FavedDoc<'a> {
    #[serde(flatten)]
    item: DocItem<'a>,
    isfamily: bool,
    isfriend: bool,
    iscontact: bool,
}

#[derive(Serialize)]
struct FavedDocs<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    doc: Vec<FavedDoc<'a>>,
}

/// `faves.docs.getList`: a member's faved documents the caller sees, latest fave first.
pub(super) fn docs_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = user_param(state, request, 1)?;
    let owner = owner_filter(state, request)?;
    let mut faved: Vec<(&Doc, u64)> = state
        .docs
        .values()
        .filter(|d| owner.is_none_or(|o| d.owner == o) && super::sees(state, request.user_id(), d))
        .filter_map(|d| {
            let fave = d.faves.iter().find(|f| f.user_id == user)?;
            Some((d, fave.faved_at))
        })
        .collect();
    faved.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.id.cmp(&a.0.id)));
    let mut docs: Vec<&Doc> = faved.into_iter().map(|(d, _)| d).collect();
    filter_safe_media(request, &mut docs);
    let page = super::Page::of(request, docs.len());
    let doc = page
        .slice(&docs)
        .iter()
        .map(|d| {
            let closeness = state
                .users
                .get(&d.owner)
                .map(|owner| owner.closeness(user))
                .unwrap_or_default();
            FavedDoc {
                item: DocItem::of(state, request, d, false),
                isfamily: closeness.family,
                isfriend: closeness.friend,
                iscontact: closeness.contact,
            }
        })
        .collect();
    answer(
        "docs",
        &FavedDocs {
            total: docs.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            doc,
        },
    )
}

#[derive(Serialize)]
struct FavedAlbumDates {
    created_at: u64,
    last_comment_at: u64,
    last_update_at: u64,
}

#[derive(Serialize)]
struct FavedAlbumCount {
    docs: usize,
    visits: u64,
    faves: usize,
    comments: usize,
}

#[derive(Serialize)]
struct FavedAlbumCover {
    cover_id: u64,
    w: u32,
    h: u32,
    url: String,
}

#[derive(Serialize)]
struct FavedAlbumCan {
    fave: bool,
    comment: bool,
}

#[derive(Serialize)]
struct FavedAlbum<'a> {
    album_id: u64,
    link: String,
    title: &'a str,
    user_id: u64,
    dates: FavedAlbumDates,
    count: FavedAlbumCount,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<FavedAlbumCover>,
    can: FavedAlbumCan,
}

#[derive(Serialize)]
struct FavedAlbums<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    count: usize,
    album: Vec<FavedAlbum<'a>>,
}

/// `faves.albums.getList`: a member's faved albums, latest fave first.
pub(super) fn albums_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = user_param(state, request, 1)?;
    let owner = owner_filter(state, request)?;
    let mut faved: Vec<(&crate::server::state::Album, u64)> = state
        .albums
        .values()
        .filter(|a| owner.is_none_or(|o| a.owner == o))
        .filter_map(|a| {
            let fave = a.faves.iter().find(|f| f.user_id == user)?;
            Some((a, fave.faved_at))
        })
        .collect();
    faved.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.id.cmp(&a.0.id)));
    let page = super::Page::of(request, faved.len());
    let label = super::views::thumbsize(request);
    let album: Vec<FavedAlbum<'_>> = page
        .slice(&faved)
        .iter()
        .map(|(a, _)| FavedAlbum {
            album_id: a.id,
            link: format!("{}/doc/{}/album/{}", request.origin, a.owner, a.id),
            title: &a.title,
            user_id: a.owner,
            dates: FavedAlbumDates {
                created_at: a.created_at,
                last_comment_at: 0,
                last_update_at: a.updated_at,
            },
            count: FavedAlbumCount {
                docs: a.docs.len(),
                visits: a.visits.iter().map(|v| v.visits).sum(),
                faves: a.faves.len(),
                comments: 0,
            },
            cover: a
                .cover
                .or_else(|| a.docs.first().copied())
                .and_then(|id| state.docs.get(&id))
                .map(|doc| {
                    let (w, h) = crate::server::media::thumb_size(label, doc.width, doc.height);
                    FavedAlbumCover {
                        cover_id: doc.id,
                        w,
                        h,
                        url: crate::server::media::thumb_url(request.origin, doc, label),
                    }
                }),
            can: FavedAlbumCan {
                fave: request.user_id().is_some(),
                comment: super::in_audience(state, request, a.owner, a.perm_comment),
            },
        })
        .collect();
    answer(
        "albums",
        &FavedAlbums {
            total: faved.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            count: album.len(),
            album,
        },
    )
}

//! `album.*`: albums and the documents in them, in order.

use serde::Serialize;

use super::doc::DocPage;
use super::{answer, comma_list, id_param, method_error};
use crate::server::call::{Outcome, Request};
use crate::server::state::{Album, Doc, ServiceState, USER_ID};

#[derive(Serialize)]
struct AlbumOwner {
    user_id: u64,
}

#[derive(Serialize)]
struct AlbumCount {
    docs: usize,
}

#[derive(Serialize)]
struct AlbumAnswer<'a> {
    album_id: u64,
    title: &'a str,
    description: &'a str,
    owner: AlbumOwner,
    count: AlbumCount,
}

impl<'a> AlbumAnswer<'a> {
    fn of(album: &'a Album) -> AlbumAnswer<'a> {
        AlbumAnswer {
            album_id: album.id,
            title: &album.title,
            description: &album.description,
            owner: AlbumOwner {
                user_id: album.owner,
            },
            count: AlbumCount {
                docs: album.docs.len(),
            },
        }
    }
}

#[derive(Serialize)]
struct AlbumId {
    album_id: u64,
}

/// `album.getList`'s answer (no `pages`: the page documents none).
#[derive(Serialize)]
struct AlbumList<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    count: usize,
    album: Vec<AlbumAnswer<'a>>,
}

/// `album.docs.add`'s answer: the album, its new total, and one line per document sent.
#[derive(Serialize)]
struct AlbumDocsAdded {
    album_id: u64,
    total: usize,
    added: usize,
    skipped: usize,
    doc: Vec<AddedLine>,
}

#[derive(Serialize)]
struct AddedLine {
    doc_id: u64,
    added: bool,
    error: u8,
}

/// `album.docs.getList`'s answer: the page of documents inside the album element.
#[derive(Serialize)]
struct AlbumDocs<'a> {
    album_id: u64,
    docs: DocPage<'a>,
}

fn album_id(request: &Request<'_>) -> Result<u64, crate::error::ApiError> {
    id_param(request, "album_id", "Album")
}

/// `album.create`.
pub(super) fn create(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let title = request
        .param("title")
        .ok_or_else(|| method_error(1, "Title missing"))?;
    let album = Album {
        id: state.ids.next(),
        owner: request.user_id().unwrap_or(USER_ID),
        title: title.to_owned(),
        description: request.param("description").unwrap_or_default().to_owned(),
        docs: Vec::new(),
    };
    let id = album.id;
    state.albums.insert(id, album);
    answer("album", &AlbumId { album_id: id })
}

/// `album.get`.
pub(super) fn get(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    answer("album", &AlbumAnswer::of(album))
}

/// `album.getList`: a user's albums.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let owner = match request.param("user_id") {
        Some(id) => id
            .parse::<u64>()
            .map_err(|_| method_error(1, "User not found"))?,
        None => request.user_id().unwrap_or(USER_ID),
    };
    if !state.users.contains_key(&owner) {
        return Err(method_error(1, "User not found"));
    }
    let album: Vec<AlbumAnswer<'_>> = state
        .albums
        .values()
        .filter(|a| a.owner == owner)
        .map(AlbumAnswer::of)
        .collect();
    answer(
        "albums",
        &AlbumList {
            total: album.len(),
            // Every album on one page, as many as there are (at least the documented 100).
            per_page: album.len().max(100),
            page: 1,
            count: album.len(),
            album,
        },
    )
}

/// `album.docs.add`: the caller's documents, appended in the order given, each once.
pub(super) fn docs_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    let user = request.user_id();
    let wanted: Vec<u64> = comma_list(request, "doc_id")
        .filter_map(|d| d.parse().ok())
        .collect();
    if wanted.is_empty()
        || wanted
            .iter()
            .any(|d| state.docs.get(d).is_none_or(|doc| Some(doc.owner) != user))
    {
        return Err(method_error(2, "Document not found"));
    }
    if state.albums.get(&id).is_none_or(|a| Some(a.owner) != user) {
        return Err(method_error(1, "Album not found"));
    }
    let album = state
        .albums
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    let mut lines = Vec::with_capacity(wanted.len());
    for doc in wanted {
        let added = !album.docs.contains(&doc);
        if added {
            album.docs.push(doc);
        }
        lines.push(AddedLine {
            doc_id: doc,
            added,
            error: 0,
        });
    }
    let added = lines.iter().filter(|line| line.added).count();
    answer(
        "album",
        &AlbumDocsAdded {
            album_id: id,
            total: album.docs.len(),
            added,
            skipped: lines.len() - added,
            doc: lines,
        },
    )
}

/// `album.docs.getList`: the documents the caller may see, in album order.
pub(super) fn docs_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    let docs: Vec<&Doc> = album
        .docs
        .iter()
        .filter_map(|id| state.docs.get(id))
        .filter(|doc| doc.is_public || Some(doc.owner) == request.user_id())
        .collect();
    answer(
        "album",
        &AlbumDocs {
            album_id: album.id,
            docs: DocPage::of(state, request, &docs),
        },
    )
}

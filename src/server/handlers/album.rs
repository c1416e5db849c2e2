//! `album.*`: albums, the documents in them in order, their cover, faves and visitors, and the
//! order of a member's albums.

use serde::Serialize;

use super::views::{
    Container, DocPage, FavesPage, VisitsPage, context_in, filter_safe_media, visible_docs,
};
use super::{
    MAX_ALBUM_DOCS, MAX_ALBUMS, MAX_DOC_ALBUMS, album_id, answer, comma_list, in_audience,
    method_error, not_blocked,
};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::media::{thumb_size, thumb_url};
use crate::server::records::{record_visit, share_code};
use crate::server::state::{Album, Doc, ServiceState, USER_ID, unix_now};
use crate::value::Map;

#[derive(Serialize)]
struct Visibility {
    family: usize,
    friend: usize,
    ff: usize,
    public: usize,
}

#[derive(Serialize)]
struct Dates {
    created_at: u64,
    comment_at: u64,
}

#[derive(Serialize)]
struct ListDates {
    created_at: u64,
    last_comment_at: u64,
    last_update_at: u64,
}

#[derive(Serialize)]
struct Count {
    docs: usize,
    visits: u64,
    faves: usize,
    comments: usize,
    #[serde(flatten)]
    visibility: Visibility,
}

/// An album's cover: `doc_id` in most answers, `cover_id` in `album.edit`'s (its page).
#[derive(Serialize)]
struct Cover {
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover_id: Option<u64>,
    w: u32,
    h: u32,
    url: String,
}

/// Who sees an album's documents: `album.create` counts them per audience, `album.edit` gives
/// flags and the sharing code (each as its page shows).
#[derive(Serialize)]
#[serde(untagged)]
enum AlbumVisibility {
    Counts(Visibility),
    Flags {
        ispublic: bool,
        isfamily: bool,
        isfriends: bool,
        share: u8,
    },
}

/// Which method answers an album: the pages differ in a few members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Create,
    Get,
    Edit,
}

#[derive(Serialize)]
struct Can {
    fave: bool,
    comment: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_doc: Option<bool>,
}

#[derive(Serialize)]
struct Permissions {
    comment: u8,
}

#[derive(Serialize)]
struct You {
    isfave: bool,
    visits: u64,
    last_visit_at: u64,
}

/// An album as `album.get`, `album.create` and `album.edit` answer it.
#[derive(Serialize)]
struct AlbumAnswer<'a> {
    album_id: u64,
    link: String,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbsize: Option<&'a str>,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<AlbumVisibility>,
    dates: Dates,
    count: Count,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<Cover>,
    can: Can,
    permissions: Permissions,
    #[serde(skip_serializing_if = "Option::is_none")]
    you: Option<You>,
}

/// An album in `album.getList`.
#[derive(Serialize)]
struct AlbumItem<'a> {
    album_id: u64,
    link: String,
    title: &'a str,
    dates: ListDates,
    count: Count,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<Cover>,
    can: Can,
    permissions: Permissions,
}

fn link(origin: &str, album: &Album) -> String {
    format!("{origin}/doc/{}/album/{}", album.owner, album.id)
}

/// How many of the album's documents each audience sees.
fn visibility(state: &ServiceState, album: &Album) -> Visibility {
    let docs: Vec<&Doc> = album
        .docs
        .iter()
        .filter_map(|id| state.docs.get(id))
        .collect();
    let count = |keep: &dyn Fn(&Doc) -> bool| docs.iter().filter(|d| keep(d)).count();
    Visibility {
        family: count(&|d| d.is_public || d.is_family),
        friend: count(&|d| d.is_public || d.is_friend),
        ff: count(&|d| d.is_public || d.is_friend || d.is_family),
        public: count(&|d| d.is_public),
    }
}

fn count(state: &ServiceState, album: &Album) -> Count {
    Count {
        docs: album.docs.len(),
        visits: album.visits.iter().map(|v| v.visits).sum(),
        faves: album.faves.len(),
        comments: 0,
        visibility: visibility(state, album),
    }
}

fn cover(state: &ServiceState, request: &Request<'_>, album: &Album, label: &str) -> Option<Cover> {
    let doc = album
        .cover
        .or_else(|| album.docs.first().copied())
        .and_then(|id| state.docs.get(&id))?;
    let (w, h) = thumb_size(label, doc.width, doc.height);
    Some(Cover {
        doc_id: Some(doc.id),
        cover_id: None,
        w,
        h,
        url: thumb_url(request.origin, doc, label),
    })
}

fn can(state: &ServiceState, request: &Request<'_>, album: &Album) -> Can {
    let caller = request.user_id();
    let unblocked = not_blocked(state, request, album.owner).is_ok();
    Can {
        fave: caller.is_some_and(|c| c != album.owner) && unblocked,
        comment: in_audience(state, request, album.owner, album.perm_comment) && unblocked,
        add_doc: Some(caller == Some(album.owner)),
    }
}

impl<'a> AlbumAnswer<'a> {
    fn of(state: &ServiceState, request: &'a Request<'_>, album: &'a Album, shape: Shape) -> Self {
        let label = super::views::thumbsize(request);
        let caller = request.user_id();
        let mine = album
            .visits
            .iter()
            .find(|v| v.user_id.is_some() && v.user_id == caller);
        let counts = visibility(state, album);
        let visibility = match shape {
            Shape::Get => None,
            Shape::Create => Some(AlbumVisibility::Counts(visibility(state, album))),
            Shape::Edit => Some(AlbumVisibility::Flags {
                ispublic: counts.public > 0,
                isfamily: counts.family > 0,
                isfriends: counts.friend > 0,
                share: share_code(counts.public > 0, counts.friend > 0, counts.family > 0),
            }),
        };
        let mut cover = cover(state, request, album, label);
        if shape == Shape::Edit
            && let Some(cover) = &mut cover
        {
            cover.cover_id = cover.doc_id.take();
        }
        AlbumAnswer {
            album_id: album.id,
            link: link(request.origin, album),
            title: &album.title,
            thumbsize: (shape == Shape::Get).then_some(label),
            description: &album.description,
            visibility,
            dates: Dates {
                created_at: album.created_at,
                comment_at: 0,
            },
            count: count(state, album),
            cover,
            can: can(state, request, album),
            permissions: Permissions {
                comment: album.perm_comment,
            },
            you: (shape == Shape::Get).then(|| You {
                isfave: caller.is_some_and(|c| album.faves.iter().any(|f| f.user_id == c)),
                visits: mine.map_or(0, |v| v.visits),
                last_visit_at: mine.map_or(0, |v| v.visited_at),
            }),
        }
    }
}

/// `album.getList`'s answer.
#[derive(Serialize)]
struct AlbumList<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    count: usize,
    thumbsize: &'a str,
    can: CanCreate,
    album: Vec<AlbumItem<'a>>,
}

#[derive(Serialize)]
struct CanCreate {
    create: bool,
}

/// An album of the caller's, to read.
fn own_album<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a Album, ApiError> {
    state
        .albums
        .get(&id)
        .filter(|a| Some(a.owner) == request.user_id())
        .ok_or_else(|| method_error(1, "Album not found"))
}

/// An album of the caller's, to change.
fn own_album_mut<'a>(
    state: &'a mut ServiceState,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a mut Album, ApiError> {
    own_album(state, request, id)?;
    state
        .albums
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Album not found"))
}

/// A cover parameter: one of the caller's documents (error `code` otherwise).
fn cover_param(
    state: &ServiceState,
    request: &Request<'_>,
    code: u32,
) -> Result<Option<u64>, ApiError> {
    let Some(cover) = request.param("cover_id") else {
        return Ok(None);
    };
    cover
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|id| {
            state
                .docs
                .get(id)
                .is_some_and(|d| Some(d.owner) == request.user_id())
        })
        .map(Some)
        .ok_or_else(|| method_error(code, "Cover document not found"))
}

/// `album.create`: an album of the caller's, with its cover (which it then holds).
pub(super) fn create(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let title = request
        .param("title")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| method_error(1, "Title missing"))?;
    let cover = cover_param(state, request, 2)?;
    if let Some(cover) = cover
        && state
            .albums
            .values()
            .filter(|a| a.docs.contains(&cover))
            .count()
            >= MAX_DOC_ALBUMS
    {
        return Err(method_error(
            3,
            "The cover document is in the most albums a document may be in",
        ));
    }
    let owner = request.user_id().unwrap_or(USER_ID);
    if state.albums.values().filter(|a| a.owner == owner).count() >= MAX_ALBUMS {
        return Err(method_error(4, "Album limit reached"));
    }
    let mut album = Album::new(
        state.ids.next(),
        owner,
        title.to_owned(),
        request.param("description").unwrap_or_default().to_owned(),
    );
    if let Some(perm) = request
        .param("perm_comment")
        .and_then(|p| p.parse::<u8>().ok())
    {
        album.perm_comment = perm.min(5);
    }
    album.cover = cover;
    album.docs.extend(cover);
    album.position = album.id;
    let id = album.id;
    state.albums.insert(id, album);
    let album = state
        .albums
        .get(&id)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    answer(
        "album",
        &AlbumAnswer::of(state, request, album, Shape::Create),
    )
}

/// `album.get`: a visit by anyone but the owner is counted.
pub(super) fn get(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    let owner = state
        .albums
        .get(&id)
        .ok_or_else(|| method_error(1, "Album not found"))?
        .owner;
    if request.user_id() != Some(owner)
        && let Some(album) = state.albums.get_mut(&id)
    {
        record_visit(&mut album.visits, request.user_id(), unix_now());
    }
    let album = state
        .albums
        .get(&id)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    answer("album", &AlbumAnswer::of(state, request, album, Shape::Get))
}

/// `album.getList`: a member's albums, in the order the member gave them.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let owner = super::user_param(state, request, 1)?;
    let mut albums: Vec<&Album> = state.albums.values().filter(|a| a.owner == owner).collect();
    albums.sort_by_key(|a| (a.position, a.id));
    let page = super::Page::of(request, albums.len());
    let label = super::views::thumbsize(request);
    let album: Vec<AlbumItem<'_>> = page
        .slice(&albums)
        .iter()
        .map(|album| AlbumItem {
            album_id: album.id,
            link: link(request.origin, album),
            title: &album.title,
            dates: ListDates {
                created_at: album.created_at,
                last_comment_at: 0,
                last_update_at: album.updated_at,
            },
            count: count(state, album),
            cover: cover(state, request, album, label),
            can: Can {
                add_doc: None,
                ..can(state, request, album)
            },
            permissions: Permissions {
                comment: album.perm_comment,
            },
        })
        .collect();
    answer(
        "albums",
        &AlbumList {
            total: albums.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            count: album.len(),
            thumbsize: label,
            can: CanCreate {
                create: request.user_id() == Some(owner),
            },
            album,
        },
    )
}

/// `album.edit`: title, description, cover; at least one.
pub(super) fn edit(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    own_album(state, request, id)?;
    let title = request.params.get("title");
    let description = request.params.get("description");
    if title.is_some_and(|t| t.trim().is_empty()) {
        return Err(method_error(3, "Title sent empty"));
    }
    let cover = cover_param(state, request, 2)?;
    if title.is_none() && description.is_none() && cover.is_none() {
        return Err(method_error(4, "Nothing to change"));
    }
    let album = own_album_mut(state, request, id)?;
    if let Some(title) = title {
        album.title = title.to_owned();
    }
    if let Some(description) = description {
        album.description = description.to_owned();
    }
    if let Some(cover) = cover {
        album.cover = Some(cover);
        if !album.docs.contains(&cover) {
            album.docs.push(cover);
        }
    }
    album.updated_at = unix_now();
    let album = own_album(state, request, id)?;
    answer(
        "album",
        &AlbumAnswer::of(state, request, album, Shape::Edit),
    )
}

/// `album.delete`: the album, not its documents; folders forget it.
pub(super) fn delete(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    own_album(state, request, id)?;
    state.albums.remove(&id);
    state.folders.update_each(|_, folder| {
        let held = folder.albums.contains(&id);
        folder.albums.retain(|a| *a != id);
        held
    });
    Ok(Map::default())
}

/// `album.setPerms`: who may comment (0, 3, 4, 5).
pub(super) fn set_perms(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    own_album(state, request, id)?;
    let perm = request
        .param("perm_comment")
        .and_then(|p| p.parse::<u8>().ok())
        .filter(|p| [0, 3, 4, 5].contains(p))
        .ok_or_else(|| method_error(2, "perm_comment is missing or out of range"))?;
    own_album_mut(state, request, id)?.perm_comment = perm;
    Ok(Map::default())
}

/// `album.orderList`: the caller's albums in the order given; those not named keep theirs
/// after them.
pub(super) fn order_list(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let order: Vec<u64> = comma_list(request, "album_ids")
        .filter_map(|a| a.parse().ok())
        .collect();
    let caller = request.user_id();
    if order.is_empty()
        || order
            .iter()
            .any(|id| state.albums.get(id).is_none_or(|a| Some(a.owner) != caller))
    {
        return Err(method_error(1, "Album not found"));
    }
    state.albums.update_each(|id, album| {
        let mine = Some(album.owner) == caller;
        if mine {
            album.position = super::new_position(&order, *id, album.position);
        }
        mine
    });
    Ok(Map::default())
}

/// The documents named by `doc_id` (comma-separated).
fn doc_ids(request: &Request<'_>, name: &str) -> Vec<u64> {
    comma_list(request, name)
        .filter_map(|d| d.parse().ok())
        .collect()
}

/// Whether every document is the caller's.
fn all_owned(state: &ServiceState, request: &Request<'_>, docs: &[u64]) -> bool {
    !docs.is_empty()
        && docs.iter().all(|d| {
            state
                .docs
                .get(d)
                .is_some_and(|doc| Some(doc.owner) == request.user_id())
        })
}

#[derive(Serialize)]
struct AddedLine {
    doc_id: u64,
    added: bool,
    error: u8,
}

/// `album.docs.add`'s answer: the album, its new total, and one line per document sent.
#[derive(Serialize)]
struct DocsAdded {
    album_id: u64,
    total: usize,
    added: usize,
    skipped: usize,
    doc: Vec<AddedLine>,
}

/// `album.docs.add`: the caller's documents, appended in the order given, each once.
pub(super) fn docs_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    let wanted = doc_ids(request, "doc_id");
    if !all_owned(state, request, &wanted) {
        return Err(method_error(2, "Document not found"));
    }
    let album = own_album_mut(state, request, id)?;
    let mut lines = Vec::with_capacity(wanted.len());
    for doc in wanted {
        let added = !album.docs.contains(&doc) && album.docs.len() < MAX_ALBUM_DOCS;
        if added {
            album.docs.push(doc);
        }
        lines.push(AddedLine {
            doc_id: doc,
            added,
            error: 0,
        });
    }
    album.updated_at = unix_now();
    let added = lines.iter().filter(|line| line.added).count();
    answer(
        "album",
        &DocsAdded {
            album_id: id,
            total: album.docs.len(),
            added,
            skipped: lines.len() - added,
            doc: lines,
        },
    )
}

#[derive(Serialize)]
struct RemovedLine {
    doc_id: u64,
    removed: bool,
}

#[derive(Serialize)]
struct DocsRemoved {
    album_id: u64,
    total: usize,
    removed: usize,
    skipped: usize,
    doc: Vec<RemovedLine>,
}

/// `album.docs.remove`: the documents leave the album (not the account).
pub(super) fn docs_remove(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    own_album(state, request, id)?;
    let wanted = doc_ids(request, "doc_id");
    if !all_owned(state, request, &wanted) {
        return Err(method_error(2, "Document not found"));
    }
    let album = own_album_mut(state, request, id)?;
    let doc: Vec<RemovedLine> = wanted
        .into_iter()
        .map(|doc_id| {
            let removed = album.docs.contains(&doc_id);
            album.docs.retain(|d| *d != doc_id);
            RemovedLine { doc_id, removed }
        })
        .collect();
    if album.cover.is_some_and(|c| !album.docs.contains(&c)) {
        album.cover = album.docs.first().copied();
    }
    album.updated_at = unix_now();
    let removed = doc.iter().filter(|d| d.removed).count();
    answer(
        "album",
        &DocsRemoved {
            album_id: id,
            total: album.docs.len(),
            removed,
            skipped: doc.len() - removed,
            doc,
        },
    )
}

#[derive(Serialize)]
struct SetLine {
    doc_id: u64,
    added: bool,
    error: u8,
}

#[derive(Serialize)]
struct DocsSet {
    album_id: u64,
    cover_id: u64,
    total: usize,
    added: usize,
    skipped: usize,
    doc: Vec<SetLine>,
}

/// `album.docs.setList`: the album holds exactly these documents, in this order, with this
/// cover.
pub(super) fn docs_set_list(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    own_album(state, request, id)?;
    let wanted = doc_ids(request, "doc_ids");
    if !all_owned(state, request, &wanted) {
        return Err(method_error(2, "Document not found"));
    }
    let cover = request
        .param("cover_id")
        .and_then(|c| c.trim().parse::<u64>().ok())
        .filter(|c| wanted.contains(c))
        .ok_or_else(|| method_error(3, "cover_id missing or not among doc_ids"))?;
    let mut unique: Vec<u64> = Vec::with_capacity(wanted.len());
    for doc in &wanted {
        if !unique.contains(doc) {
            unique.push(*doc);
        }
    }
    if unique.len() > MAX_ALBUM_DOCS {
        return Err(method_error(4, "Too many documents for one album"));
    }
    let album = own_album_mut(state, request, id)?;
    let before = std::mem::replace(&mut album.docs, unique.clone());
    album.cover = Some(cover);
    album.updated_at = unix_now();
    let doc: Vec<SetLine> = unique
        .iter()
        .map(|d| SetLine {
            doc_id: *d,
            added: !before.contains(d),
            error: 0,
        })
        .collect();
    let added = doc.iter().filter(|d| d.added).count();
    answer(
        "album",
        &DocsSet {
            album_id: id,
            cover_id: cover,
            total: unique.len(),
            added,
            skipped: doc.len() - added,
            doc,
        },
    )
}

/// `album.docs.getList`'s answer: the page of documents inside the album element.
#[derive(Serialize)]
struct AlbumDocs<'a> {
    album_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<Cover>,
    docs: DocPage<'a>,
}

/// The album's documents the caller sees, in album order, filtered as asked.
fn album_docs<'a>(state: &'a ServiceState, request: &Request<'_>, album: &Album) -> Vec<&'a Doc> {
    let mut docs = visible_docs(state, request, album.docs.iter().copied());
    filter_safe_media(request, &mut docs);
    docs
}

/// `album.docs.getList`.
pub(super) fn docs_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    let docs = album_docs(state, request, album);
    answer(
        "album",
        &AlbumDocs {
            album_id: album.id,
            cover: cover(state, request, album, super::views::thumbsize(request)),
            docs: DocPage::of(state, request, &docs, false),
        },
    )
}

/// `album.docs.getContext`: the document among the album's, in album order.
pub(super) fn docs_context(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    let doc = super::doc_id(request)?;
    let docs = album_docs(state, request, album);
    context_in(request, Container::Album(album.id), &docs, doc)
}

/// `album.getFaves`.
pub(super) fn faves(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    answer("faves", &FavesPage::of(state, request, &album.faves))
}

/// `album.getVisitors`: the owner's to see.
pub(super) fn visitors(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let album = own_album(state, request, album_id(request)?)?;
    answer("visits", &VisitsPage::of(state, request, &album.visits))
}

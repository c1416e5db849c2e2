//! `folder.*`: folders of a member's albums, in order, with a cover, and the order of a member's
//! folders.

use serde::Serialize;

use super::{answer, comma_list, id_param, method_error};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::media::{thumb_size, thumb_url};
use crate::server::records::Folder;
use crate::server::state::{ServiceState, USER_ID, unix_now};
use crate::value::Map;

/// The most albums one folder holds (error 3; the figure is the emulator's).
const MAX_FOLDER_ALBUMS: usize = 1000;
/// The most folders one member has (the figure is the emulator's).
const MAX_FOLDERS: usize = 1000;

#[derive(Serialize)]
struct Dates {
    created_at: u64,
    last_update_at: u64,
}

/// How many of the folder's albums each audience sees (an album counts when it shows at least
/// one document to it).
#[derive(Serialize)]
struct Count {
    albums: usize,
    public: usize,
    family: usize,
    friends: usize,
    ff: usize,
}

/// A folder's cover, as `folder.get` and `folder.edit` give it: the thumbnail's label, secret,
/// URL, where it is stored (farm, path, extension), the icon of its kind, size, document.
#[derive(Serialize)]
struct Cover {
    label: String,
    secret: String,
    url: String,
    farm: u8,
    path: String,
    ext: &'static str,
    icon: String,
    h: u32,
    w: u32,
    doc_id: u64,
}

#[derive(Serialize)]
struct Owner {
    user_id: u64,
    alias: String,
}

/// A folder as `folder.create`, `folder.get` and `folder.edit` answer it.
#[derive(Serialize)]
struct FolderAnswer<'a> {
    folder_id: u64,
    link: String,
    title: &'a str,
    description: &'a str,
    dates: Dates,
    count: Count,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<Cover>,
    owner: Owner,
}

fn count(state: &ServiceState, folder: &Folder) -> Count {
    let albums: Vec<Vec<&crate::server::state::Doc>> = folder
        .albums
        .iter()
        .filter_map(|id| state.albums.get(id))
        .map(|a| a.docs.iter().filter_map(|d| state.docs.get(d)).collect())
        .collect();
    let with = |keep: &dyn Fn(&crate::server::state::Doc) -> bool| {
        albums
            .iter()
            .filter(|docs| docs.iter().any(|d| keep(d)))
            .count()
    };
    Count {
        albums: albums.len(),
        public: with(&|d| d.is_public),
        family: with(&|d| d.is_public || d.is_family),
        friends: with(&|d| d.is_public || d.is_friend),
        ff: with(&|d| d.is_public || d.is_friend || d.is_family),
    }
}

/// The folder's cover: its own, else the cover of its first album.
fn cover(
    state: &ServiceState,
    request: &Request<'_>,
    folder: &Folder,
    label: &str,
) -> Option<Cover> {
    let doc_id = folder.cover.or_else(|| {
        folder
            .albums
            .iter()
            .filter_map(|a| state.albums.get(a))
            .find_map(|a| a.cover.or_else(|| a.docs.first().copied()))
    })?;
    let doc = state.docs.get(&doc_id)?;
    let (w, h) = thumb_size(label, doc.width, doc.height);
    Some(Cover {
        label: label.to_owned(),
        secret: doc.secret.clone(),
        url: thumb_url(request.origin, doc, label),
        farm: 1,
        path: "/media/".to_owned(),
        ext: "jpg",
        icon: format!("{}/media/icons/{}.{label}.png", request.origin, doc.media),
        h,
        w,
        doc_id,
    })
}

fn folder_answer<'a>(
    state: &ServiceState,
    request: &Request<'_>,
    folder: &'a Folder,
) -> FolderAnswer<'a> {
    let label = super::views::thumbsize(request);
    FolderAnswer {
        folder_id: folder.id,
        link: format!(
            "{}/doc/{}/album/{}",
            request.origin, folder.owner, folder.id
        ),
        title: &folder.title,
        description: &folder.description,
        dates: Dates {
            created_at: folder.created_at,
            last_update_at: folder.updated_at,
        },
        count: count(state, folder),
        cover: cover(state, request, folder, label),
        owner: Owner {
            user_id: folder.owner,
            alias: state
                .users
                .get(&folder.owner)
                .map(|u| u.alias())
                .unwrap_or_default(),
        },
    }
}

fn folder_id(request: &Request<'_>) -> Result<u64, ApiError> {
    id_param(request, "folder_id", "Folder")
}

fn folder<'a>(state: &'a ServiceState, request: &Request<'_>) -> Result<&'a Folder, ApiError> {
    state
        .folders
        .get(&folder_id(request)?)
        .ok_or_else(|| method_error(1, "Folder not found"))
}

fn own_folder(state: &ServiceState, request: &Request<'_>) -> Result<Folder, ApiError> {
    folder(state, request)
        .ok()
        .filter(|f| Some(f.owner) == request.user_id())
        .cloned()
        .ok_or_else(|| method_error(1, "Folder not found"))
}

/// Stores a changed folder and answers it.
fn keep_and_answer(state: &mut ServiceState, request: &Request<'_>, mut folder: Folder) -> Outcome {
    folder.updated_at = unix_now();
    let id = folder.id;
    state.folders.insert(id, folder);
    let folder = state
        .folders
        .get(&id)
        .ok_or_else(|| method_error(1, "Folder not found"))?;
    answer("folder", &folder_answer(state, request, folder))
}

/// `folder.create`.
pub(super) fn create(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let title = request
        .param("title")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| method_error(1, "Title missing"))?;
    let owner = request.user_id().unwrap_or(USER_ID);
    if state.folders.values().filter(|f| f.owner == owner).count() >= MAX_FOLDERS {
        return Err(method_error(2, "Folder limit reached"));
    }
    let id = state.ids.next();
    let now = unix_now();
    let folder = Folder {
        id,
        owner,
        title: title.to_owned(),
        description: request.param("description").unwrap_or_default().to_owned(),
        albums: Vec::new(),
        cover: None,
        created_at: now,
        updated_at: now,
        position: id,
    };
    keep_and_answer(state, request, folder)
}

/// `folder.get`: anyone's folder.
pub(super) fn get(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let folder = folder(state, request)?;
    answer("folder", &folder_answer(state, request, folder))
}

/// `folder.edit`: title, description, cover (one of the caller's documents).
pub(super) fn edit(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let mut folder = own_folder(state, request)?;
    if let Some(title) = request.params.get("title") {
        if title.trim().is_empty() {
            return Err(method_error(3, "Title sent empty"));
        }
        folder.title = title.to_owned();
    }
    if let Some(description) = request.params.get("description") {
        folder.description = description.to_owned();
    }
    if let Some(cover) = request.param("cover_id") {
        let cover = cover
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|c| {
                state
                    .docs
                    .get(c)
                    .is_some_and(|d| Some(d.owner) == request.user_id())
            })
            .ok_or_else(|| method_error(2, "Cover document not found"))?;
        folder.cover = Some(cover);
    }
    keep_and_answer(state, request, folder)
}

/// `folder.delete`: the folder, not its albums.
pub(super) fn delete(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let folder = own_folder(state, request)?;
    state.folders.remove(&folder.id);
    Ok(Map::default())
}

#[derive(Serialize)]
struct AddedLine {
    album_id: u64,
    added: bool,
}

#[derive(Serialize)]
struct AlbumsAdded {
    folder_id: u64,
    total: usize,
    added: usize,
    skipped: usize,
    album: Vec<AddedLine>,
}

/// The caller's albums an `album_id` parameter names, or error 2.
fn own_albums(state: &ServiceState, request: &Request<'_>) -> Result<Vec<u64>, ApiError> {
    let albums: Vec<u64> = comma_list(request, "album_id")
        .filter_map(|a| a.parse().ok())
        .collect();
    let all_owned = !albums.is_empty()
        && albums.iter().all(|a| {
            state
                .albums
                .get(a)
                .is_some_and(|a| Some(a.owner) == request.user_id())
        });
    match all_owned {
        true => Ok(albums),
        false => Err(method_error(2, "Album not found")),
    }
}

/// `folder.albums.add`: appended in the order given, each once.
pub(super) fn albums_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let mut folder = own_folder(state, request)?;
    let albums = own_albums(state, request)?;
    let mut album = Vec::with_capacity(albums.len());
    for id in albums {
        let added = !folder.albums.contains(&id);
        if added {
            if folder.albums.len() >= MAX_FOLDER_ALBUMS {
                return Err(method_error(3, "This folder cannot take more albums"));
            }
            folder.albums.push(id);
        }
        album.push(AddedLine {
            album_id: id,
            added,
        });
    }
    let added = album.iter().filter(|a| a.added).count();
    let answer_value = AlbumsAdded {
        folder_id: folder.id,
        total: folder.albums.len(),
        added,
        skipped: album.len() - added,
        album,
    };
    folder.updated_at = unix_now();
    state.folders.insert(folder.id, folder);
    answer("folder", &answer_value)
}

#[derive(Serialize)]
struct RemovedLine {
    album_id: u64,
    removed: bool,
}

#[derive(Serialize)]
struct AlbumsRemoved {
    folder_id: u64,
    total: usize,
    removed: usize,
    skipped: usize,
    album: Vec<RemovedLine>,
}

/// `folder.albums.remove`.
pub(super) fn albums_remove(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let mut folder = own_folder(state, request)?;
    let albums = own_albums(state, request)?;
    let album: Vec<RemovedLine> = albums
        .into_iter()
        .map(|id| {
            let removed = folder.albums.contains(&id);
            folder.albums.retain(|a| *a != id);
            RemovedLine {
                album_id: id,
                removed,
            }
        })
        .collect();
    let removed = album.iter().filter(|a| a.removed).count();
    let answer_value = AlbumsRemoved {
        folder_id: folder.id,
        total: folder.albums.len(),
        removed,
        skipped: album.len() - removed,
        album,
    };
    folder.updated_at = unix_now();
    state.folders.insert(folder.id, folder);
    answer("folder", &answer_value)
}

#[derive(Serialize)]
struct AlbumThumb<'a> {
    album_id: u64,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumb: Option<super::views::Thumb>,
}

#[derive(Serialize)]
struct AlbumPage<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    album: Vec<AlbumThumb<'a>>,
}

#[derive(Serialize)]
struct FolderCover {
    album_id: u64,
    w: u32,
    h: u32,
    url: String,
}

#[derive(Serialize)]
struct FolderAlbums<'a> {
    folder_id: u64,
    albums: AlbumPage<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<FolderCover>,
}

/// `folder.albums.getList`: the folder's albums in order, each with its cover's thumbnail.
pub(super) fn albums_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let folder = folder(state, request)?;
    let label = super::views::thumbsize(request);
    let albums: Vec<&crate::server::state::Album> = folder
        .albums
        .iter()
        .filter_map(|a| state.albums.get(a))
        .collect();
    let page = super::Page::of(request, albums.len());
    let cover_doc = |a: &crate::server::state::Album| {
        a.cover
            .or_else(|| a.docs.first().copied())
            .and_then(|d| state.docs.get(&d))
    };
    let album = page
        .slice(&albums)
        .iter()
        .map(|a| AlbumThumb {
            album_id: a.id,
            title: &a.title,
            thumb: cover_doc(a).map(|doc| super::views::Thumb::of(request.origin, doc, label)),
        })
        .collect();
    let cover = albums.first().and_then(|a| {
        let doc = cover_doc(a)?;
        let (w, h) = thumb_size(label, doc.width, doc.height);
        Some(FolderCover {
            album_id: a.id,
            w,
            h,
            url: thumb_url(request.origin, doc, label),
        })
    });
    answer(
        "folder",
        &FolderAlbums {
            folder_id: folder.id,
            albums: AlbumPage {
                total: albums.len(),
                per_page: page.per_page,
                page: page.page,
                pages: page.pages,
                album,
            },
            cover,
        },
    )
}

#[derive(Serialize)]
struct ListDates {
    created_at: u64,
}

#[derive(Serialize)]
struct ListCount {
    albums: usize,
    family: usize,
    friend: usize,
    ff: usize,
    public: usize,
}

#[derive(Serialize)]
struct ListCover {
    doc_id: u64,
    w: u32,
    h: u32,
    url: String,
}

#[derive(Serialize)]
struct FolderItem<'a> {
    folder_id: u64,
    link: String,
    title: &'a str,
    dates: ListDates,
    count: ListCount,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<ListCover>,
}

#[derive(Serialize)]
struct CanCreate {
    create: bool,
}

#[derive(Serialize)]
struct FolderList<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    count: usize,
    thumbsize: &'a str,
    can: CanCreate,
    folder: Vec<FolderItem<'a>>,
}

/// `folder.getList`: a member's folders in the member's order (`empty=0` leaves out empty ones).
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let owner = super::user_param(state, request, 1)?;
    let keep_empty = request.param("empty") != Some("0");
    let mut folders: Vec<&Folder> = state
        .folders
        .values()
        .filter(|f| f.owner == owner && (keep_empty || !f.albums.is_empty()))
        .collect();
    folders.sort_by_key(|f| (f.position, f.id));
    let page = super::Page::of(request, folders.len());
    let label = super::views::thumbsize(request);
    let folder = page
        .slice(&folders)
        .iter()
        .map(|f| {
            let count = count(state, f);
            FolderItem {
                folder_id: f.id,
                link: format!("{}/doc/{}/album/{}", request.origin, f.owner, f.id),
                title: &f.title,
                dates: ListDates {
                    created_at: f.created_at,
                },
                count: ListCount {
                    albums: count.albums,
                    family: count.family,
                    friend: count.friends,
                    ff: count.ff,
                    public: count.public,
                },
                cover: cover(state, request, f, label).map(|c| ListCover {
                    doc_id: c.doc_id,
                    w: c.w,
                    h: c.h,
                    url: c.url,
                }),
            }
        })
        .collect::<Vec<_>>();
    answer(
        "folders",
        &FolderList {
            total: folders.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            count: folder.len(),
            thumbsize: label,
            can: CanCreate {
                create: request.user_id() == Some(owner),
            },
            folder,
        },
    )
}

/// `folder.orderList`: the caller's folders in the order given; those not named after them.
pub(super) fn order_list(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let order: Vec<u64> = comma_list(request, "folder_ids")
        .filter_map(|f| f.parse().ok())
        .collect();
    let caller = request.user_id();
    if order.is_empty()
        || order.iter().any(|id| {
            state
                .folders
                .get(id)
                .is_none_or(|f| Some(f.owner) != caller)
        })
    {
        return Err(method_error(1, "Folder not found"));
    }
    state.folders.update_each(|id, folder| {
        let mine = Some(folder.owner) == caller;
        if mine {
            folder.position = super::new_position(&order, *id, folder.position);
        }
        mine
    });
    Ok(Map::default())
}

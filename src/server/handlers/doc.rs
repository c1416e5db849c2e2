//! `doc.*`: a document, its tags, lists and searches of documents, MD5 lookups.

use serde::Serialize;

use super::views::{
    Context, DocAnswer, DocPage, FavesPage, Original, Thumbs, VisitsPage, filter_safe_media,
    normalised, popularity,
};
use super::{
    answer, code_param, comma_list, doc_id, geo_params, members, method_error, owned, owned_doc,
    sees, visible,
};
use crate::server::call::{Outcome, Request};
use crate::server::media;
use crate::server::records::{Commented, record_visit, share_flags};
use crate::server::state::{Doc, ServiceState, doc_file, unix_now};
use crate::value::Map;

#[derive(Serialize)]
struct DocId {
    doc_id: u64,
}

/// `doc.get`, with the extras asked for. A visit by anyone but the owner is counted.
pub(super) fn get(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let owner = visible(state, request, id)?.owner;
    if request.user_id() != Some(owner)
        && let Some(doc) = state.docs.get_mut(&id)
    {
        record_visit(&mut doc.visits, request.user_id(), unix_now());
    }
    let doc = visible(state, request, id)?;
    answer("doc", &DocAnswer::of(state, request, doc))
}

/// One checksum asked about, and the caller's document with that original if there is one.
#[derive(Serialize)]
struct Md5Line<'a> {
    md5: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<u64>,
    found: bool,
}

/// `doc.checkMD5`'s answer: one line per checksum asked about.
#[derive(Serialize)]
struct Md5Lines<'a> {
    count: usize,
    found: usize,
    doc: Vec<Md5Line<'a>>,
}

/// `doc.checkMD5`: the caller's documents whose file has one of the given MD5s (comma-separated),
/// uploads still being processed included — their documents already have their ids.
pub(super) fn check_md5(state: &ServiceState, request: &Request<'_>) -> Outcome {
    if request.param("md5").is_none() {
        return Err(method_error(1, "MD5 missing"));
    }
    let wanted: Vec<String> = comma_list(request, "md5")
        .map(str::to_ascii_lowercase)
        .collect();
    let user = request.user_id();
    let pending = state.tickets.values().filter(|t| !t.done).map(|t| &t.doc);
    let mut owned_by_md5: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for doc in state.docs.values().chain(pending) {
        if Some(doc.owner) == user {
            owned_by_md5.entry(doc.md5.as_str()).or_insert(doc.id);
        }
    }
    let doc: Vec<Md5Line<'_>> = wanted
        .iter()
        .map(|md5| {
            let doc_id = owned_by_md5.get(md5.as_str()).copied();
            Md5Line {
                md5,
                doc_id,
                found: doc_id.is_some(),
            }
        })
        .collect();
    answer(
        "docs",
        &Md5Lines {
            count: doc.len(),
            found: doc.iter().filter(|line| line.found).count(),
            doc,
        },
    )
}

/// `doc.set`'s answer, as its page documents it: the document's id, title, sharing code and
/// description.
#[derive(Serialize)]
struct DocSet<'a> {
    doc_id: u64,
    title: &'a str,
    share: u8,
    description: &'a str,
}

/// `doc.set`: title and description.
pub(super) fn set(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    owned_doc(state, request, id)?;
    if request.params.get("title").is_none() && request.params.get("description").is_none() {
        return Err(method_error(2, "Neither title nor description sent"));
    }
    let doc = owned(state, request, id)?;
    doc.modified_at = unix_now();
    if let Some(title) = request.params.get("title") {
        doc.title = title.to_owned();
    }
    if let Some(description) = request.params.get("description") {
        doc.description = description.to_owned();
    }
    answer(
        "doc",
        &DocSet {
            doc_id: id,
            title: &doc.title,
            share: doc.share(),
            description: &doc.description,
        },
    )
}

/// Licence codes of doc.setLicense's table.
const LICENSES: &[u8] = &[0, 1, 3, 5, 7, 9, 11, 255];
/// Who may comment or tag (doc.setPerms): only you, friends and family, contacts, everyone.
const AUDIENCES: &[u8] = &[0, 3, 4, 5];

/// The documented answer of a status-only method: nothing beside `api`.
fn status_only() -> Outcome {
    Ok(Map::default())
}

/// `doc.setLicense`.
pub(super) fn set_license(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let license = code_param(request, "license", LICENSES, 2)?
        .ok_or_else(|| method_error(2, "license is missing"))?;
    let doc = owned(state, request, id)?;
    doc.license = license;
    doc.modified_at = unix_now();
    status_only()
}

/// `doc.setSafety`.
pub(super) fn set_safety(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let safety = code_param(request, "safety", &[1, 2, 3], 2)?
        .ok_or_else(|| method_error(2, "safety is missing"))?;
    let doc = owned(state, request, id)?;
    doc.safety = safety;
    doc.modified_at = unix_now();
    status_only()
}

/// `doc.setGeo`: a place, or none with -999 for both coordinates.
pub(super) fn set_geo(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let geo =
        geo_params(request).map_err(|()| method_error(2, "lat and lng are needed, in degrees"))?;
    let doc = owned(state, request, id)?;
    doc.geo = geo;
    doc.modified_at = unix_now();
    status_only()
}

/// `doc.setPerms`: `share` when sent, else the three flags (all three needed); the permissions.
pub(super) fn set_perms(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let share = code_param(request, "share", &[0, 1, 2, 3, 4], 2)?;
    let flags = ["is_public", "is_family", "is_friend"].map(|name| request.param(name));
    let visibility = match (share, flags) {
        (Some(share), _) => Some(share_flags(share)),
        (None, [Some(public), Some(family), Some(friend)]) => {
            Some((public == "1", family == "1", friend == "1"))
        }
        (None, [None, None, None]) => None,
        (None, _) => {
            return Err(method_error(
                2,
                "is_public, is_family and is_friend go together",
            ));
        }
    };
    let comment = code_param(request, "perm_comment", AUDIENCES, 2)?;
    let tag = code_param(request, "perm_tag", AUDIENCES, 2)?;
    let tagme = code_param(request, "perm_tagme", AUDIENCES, 2)?;
    if visibility.is_none() && comment.is_none() && tag.is_none() && tagme.is_none() {
        return Err(method_error(2, "nothing to set"));
    }
    let doc = owned(state, request, id)?;
    if let Some((public, family, friend)) = visibility {
        (doc.is_public, doc.is_family, doc.is_friend) = (public, family, friend);
    }
    doc.perms.comment = comment.unwrap_or(doc.perms.comment);
    doc.perms.tag = tag.unwrap_or(doc.perms.tag);
    doc.perms.tagme = tagme.unwrap_or(doc.perms.tagme);
    doc.modified_at = unix_now();
    status_only()
}

/// `doc.getPerms`'s answer: three elements, as its page shows them.
#[derive(Serialize)]
struct PermsAnswer {
    visibility: PermsVisibility,
    permissions: PermsCodes,
    usage: Usage,
}

#[derive(Serialize)]
struct PermsVisibility {
    ispublic: bool,
    isfriend: bool,
    isfamily: bool,
}

#[derive(Serialize)]
struct PermsCodes {
    permcomment: u8,
    permtag: u8,
    permtagme: u8,
}

/// What the caller may do; the owner may do everything but print (the emulator prints nothing).
#[derive(Serialize)]
struct Usage {
    canfave: bool,
    cancomment: bool,
    cantag: bool,
    cantagme: bool,
    canzoom: bool,
    candownload: bool,
    canprint: bool,
}

/// `doc.getPerms`.
pub(super) fn get_perms(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = owned_doc(state, request, doc_id(request)?)?;
    let answer = PermsAnswer {
        visibility: PermsVisibility {
            ispublic: doc.is_public,
            isfriend: doc.is_friend,
            isfamily: doc.is_family,
        },
        permissions: PermsCodes {
            permcomment: doc.perms.comment,
            permtag: doc.perms.tag,
            permtagme: doc.perms.tagme,
        },
        usage: Usage {
            canfave: false,
            cancomment: true,
            cantag: true,
            cantagme: true,
            canzoom: true,
            candownload: true,
            canprint: false,
        },
    };
    members(&answer)
}

/// `doc.delete`: the document, its file, and its place in every album.
pub(super) fn delete(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    if let Some(doc) = state
        .docs
        .remove(&id)
        .filter(|doc| Some(doc.owner) == request.user_id())
    {
        media::remove_thumbs(request.data_dir, &doc);
    } else {
        return Err(method_error(1, "Document not found"));
    }
    std::fs::remove_file(doc_file(request.data_dir, id)).ok();
    state.albums.update_each(|_, album| {
        let held = album.docs.contains(&id) || album.cover == Some(id);
        album.docs.retain(|d| *d != id);
        if album.cover == Some(id) {
            album.cover = album.docs.first().copied();
        }
        held
    });
    state.folders.update_each(|_, folder| {
        let held = folder.cover == Some(id);
        if held {
            folder.cover = None;
        }
        held
    });
    state.groups.update_each(|_, group| {
        let held = group.docs.iter().any(|d| d.doc_id == id);
        group.docs.retain(|d| d.doc_id != id);
        held
    });
    state
        .comments
        .retain(|_, comment| comment.on != Commented::Doc(id));
    state.notes.retain(|_, note| note.doc_id != id);
    answer("doc", &DocId { doc_id: id })
}

/// `doc.getList`: a member's documents (the caller's by default) that the caller sees, newest
/// first, filtered by `media`, `share` and `safesurf`.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let owner = super::user_param(state, request, 1)?;
    let share = request.param("share").and_then(|s| s.parse::<u8>().ok());
    let mut docs: Vec<&Doc> = state
        .docs
        .values()
        .rev()
        .filter(|doc| doc.owner == owner && sees(state, request.user_id(), doc))
        .filter(|doc| share.is_none_or(|share| share_matches(doc, share)))
        .collect();
    filter_safe_media(request, &mut docs);
    answer("docs", &DocPage::of(state, request, &docs, false))
}

/// Whether a document is shared as a `share` filter (0 private … 4 public) asks.
fn share_matches(doc: &Doc, share: u8) -> bool {
    match share {
        4 => doc.is_public,
        code => !doc.is_public && doc.share() == code,
    }
}

/// A parameter as a number, when sent.
fn number<T: std::str::FromStr>(request: &Request<'_>, name: &str) -> Option<T> {
    request.param(name).and_then(|v| v.trim().parse().ok())
}

/// The great-circle distance in metres.
fn distance_m((lat1, lng1): (f64, f64), (lat2, lng2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * a.sqrt().asin()
}

/// `doc.search`: the documents the caller sees that match every criterion sent — words in the
/// title, description or tags; every tag of `tags`; owner, album, group; licences; media, share,
/// safety; posted and created ranges; a distance around a place — in the order `sort` asks.
pub(super) fn search(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let owner = match request.param("user_id") {
        Some(_) => Some(super::user_param(state, request, 1)?),
        None => None,
    };
    let words: Vec<String> = request
        .param("text")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let tags: Vec<String> = comma_list(request, "tags").map(normalised).collect();
    let album = number::<u64>(request, "album_id").and_then(|id| state.albums.get(&id));
    let group = number::<u64>(request, "group_id").and_then(|id| state.groups.get(&id));
    if request.param("album_id").is_some() && album.is_none()
        || request.param("group_id").is_some() && group.is_none()
    {
        return answer("docs", &DocPage::of(state, request, &[], true));
    }
    let licenses: Vec<u8> = comma_list(request, "license")
        .filter_map(|l| l.parse().ok())
        .collect();
    let share = number::<u8>(request, "share");
    let posted = (
        number::<u64>(request, "posted_min").unwrap_or(0),
        number::<u64>(request, "posted_max").unwrap_or(u64::MAX),
    );
    let created_min = request.param("created_min").unwrap_or("");
    let created_max = request.param("created_max");
    let place = match (number::<f64>(request, "lat"), number::<f64>(request, "lng")) {
        (Some(lat), Some(lng)) => {
            Some(((lat, lng), number::<f64>(request, "dist").unwrap_or(5000.0)))
        }
        _ => None,
    };
    let mut docs: Vec<&Doc> = state
        .docs
        .values()
        .filter(|doc| sees(state, request.user_id(), doc))
        .filter(|doc| owner.is_none_or(|owner| doc.owner == owner))
        .filter(|doc| album.is_none_or(|album| album.docs.contains(&doc.id)))
        .filter(|doc| {
            group.is_none_or(|group| group.docs.iter().any(|d| d.doc_id == doc.id && !d.pending))
        })
        .filter(|doc| licenses.is_empty() || licenses.contains(&doc.license))
        .filter(|doc| share.is_none_or(|share| share_matches(doc, share)))
        .filter(|doc| (posted.0..=posted.1).contains(&doc.posted_at))
        .filter(|doc| {
            (created_min.is_empty() || doc.created.as_str() >= created_min)
                && created_max
                    .is_none_or(|max| !doc.created.is_empty() && doc.created.as_str() <= max)
        })
        .filter(|doc| {
            place.is_none_or(|(centre, radius)| {
                doc.geo.is_some_and(|geo| distance_m(centre, geo) <= radius)
            })
        })
        .filter(|doc| {
            let doc_tags: Vec<String> = doc.tags.iter().map(|(_, t)| normalised(t)).collect();
            tags.iter().all(|tag| doc_tags.contains(tag))
        })
        .filter(|doc| {
            words.iter().all(|word| {
                doc.title.to_lowercase().contains(word)
                    || doc.description.to_lowercase().contains(word)
                    || doc
                        .tags
                        .iter()
                        .any(|(_, t)| t.to_lowercase().contains(word))
            })
        })
        .collect();
    filter_safe_media(request, &mut docs);
    match request.param("sort").unwrap_or("relevance") {
        "popular" => docs.sort_by_key(|doc| std::cmp::Reverse(popularity(doc))),
        "posted-asc" => docs.sort_by_key(|doc| (doc.posted_at, doc.id)),
        "created-desc" => docs.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id))),
        "created-asc" => docs.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id))),
        // relevance and posted-desc: the newest first.
        _ => docs.sort_by_key(|doc| std::cmp::Reverse((doc.posted_at, doc.id))),
    }
    answer("docs", &DocPage::of(state, request, &docs, true))
}

/// `doc.getContext`: the document among its owner's, oldest first.
pub(super) fn context(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    let mut docs: Vec<&Doc> = state
        .docs
        .values()
        .filter(|d| d.owner == doc.owner && sees(state, request.user_id(), d))
        .collect();
    filter_safe_media(request, &mut docs);
    if !docs.iter().any(|d| d.id == doc.id) {
        docs.push(doc);
        docs.sort_by_key(|d| d.id);
    }
    let at = docs.iter().position(|d| d.id == doc.id).unwrap_or(0);
    let context =
        Context::of(request, &docs, at, "").ok_or_else(|| method_error(1, "Document not found"))?;
    members(&context)
}

#[derive(Serialize)]
struct ContainerAlbum<'a> {
    album_id: u64,
    title: &'a str,
    docs: usize,
    cover: String,
    link: String,
}

#[derive(Serialize)]
struct ContainerAlbums<'a> {
    total: usize,
    album: Vec<ContainerAlbum<'a>>,
}

#[derive(Serialize)]
struct ContainerGroup<'a> {
    group_id: u64,
    title: &'a str,
    docs: usize,
    pending: bool,
    invited: bool,
    cover: String,
    link: String,
}

#[derive(Serialize)]
struct ContainerGroups<'a> {
    total: usize,
    added: usize,
    pending: usize,
    invited: usize,
    group: Vec<ContainerGroup<'a>>,
}

#[derive(Serialize)]
struct Containers<'a> {
    albums: ContainerAlbums<'a>,
    groups: ContainerGroups<'a>,
}

/// `doc.getContainers`: the albums and groups the document is in.
pub(super) fn containers(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    let origin = request.origin;
    let cover_of = |id: Option<u64>| {
        id.and_then(|id| state.docs.get(&id))
            .map(|d| media::thumb_url(origin, d, "75x"))
            .unwrap_or_default()
    };
    let album: Vec<ContainerAlbum<'_>> = state
        .albums
        .values()
        .filter(|a| a.docs.contains(&doc.id))
        .map(|a| ContainerAlbum {
            album_id: a.id,
            title: &a.title,
            docs: a.docs.len(),
            cover: cover_of(a.cover.or(a.docs.first().copied())),
            link: format!("{origin}/doc/{}/album/{}", a.owner, a.id),
        })
        .collect();
    let group: Vec<ContainerGroup<'_>> = state
        .groups
        .values()
        .filter_map(|g| {
            let posted = g.docs.iter().find(|d| d.doc_id == doc.id)?;
            Some(ContainerGroup {
                group_id: g.id,
                title: &g.title,
                docs: g.docs.iter().filter(|d| !d.pending).count(),
                pending: posted.pending,
                invited: false,
                cover: format!("{origin}/group/{}/icon.jpg", g.id),
                link: format!("{origin}/group/{}", g.id),
            })
        })
        .collect();
    let pending = group.iter().filter(|g| g.pending).count();
    members(&Containers {
        albums: ContainerAlbums {
            total: album.len(),
            album,
        },
        groups: ContainerGroups {
            total: group.len(),
            added: group.len() - pending,
            pending,
            invited: 0,
            group,
        },
    })
}

/// `doc.getFaves`.
pub(super) fn faves(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    answer("faves", &FavesPage::of(state, request, &doc.faves))
}

/// `doc.getVisitors`: the owner's to see.
pub(super) fn visitors(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = owned_doc(state, request, doc_id(request)?)?;
    answer("visits", &VisitsPage::of(state, request, &doc.visits))
}

/// `doc.getMedias`' answer: the thumbnails and, to those who may download it, the original.
#[derive(Serialize)]
struct Medias<'a> {
    thumbs: Thumbs,
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<Original<'a>>,
}

/// `doc.getMedias`.
pub(super) fn medias(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    members(&Medias {
        thumbs: Thumbs::of(request.origin, doc),
        original: super::views::may_download(state, request, doc)
            .then(|| Original::of(request.origin, doc)),
    })
}

/// `doc.getExif`: every EXIF field of the original, as attributes of `<exif>`.
pub(super) fn exif(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    let fields = media::exif_fields(&doc_file(request.data_dir, doc.id));
    let exif: std::collections::BTreeMap<String, String> = fields.into_iter().collect();
    answer("exif", &exif)
}

#[derive(Serialize)]
struct AlbumLine {
    album_id: u64,
    added: bool,
    error: u8,
}

#[derive(Serialize)]
struct DocAlbumsAdded {
    doc_id: u64,
    total: usize,
    added: usize,
    skipped: usize,
    album: Vec<AlbumLine>,
}

/// `doc.albums.add`: the caller's document into several of the caller's albums.
pub(super) fn albums_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    owned_doc(state, request, id)?;
    let wanted: Vec<u64> = comma_list(request, "album_id")
        .filter_map(|a| a.parse().ok())
        .collect();
    if wanted.is_empty() {
        return Err(method_error(2, "Album not found"));
    }
    let caller = request.user_id();
    if wanted
        .iter()
        .any(|a| state.albums.get(a).is_none_or(|a| Some(a.owner) != caller))
    {
        return Err(method_error(2, "Album not found"));
    }
    let mut album = Vec::with_capacity(wanted.len());
    for album_id in wanted {
        let line = match state.albums.get(&album_id) {
            Some(a) if Some(a.owner) == caller && a.docs.contains(&id) => (false, 0),
            Some(a) if Some(a.owner) == caller && a.docs.len() >= super::MAX_ALBUM_DOCS => {
                (false, 1)
            }
            Some(a) if Some(a.owner) == caller => (true, 0),
            _ => (false, 1),
        };
        if line.0
            && let Some(a) = state.albums.get_mut(&album_id)
        {
            a.docs.push(id);
            a.updated_at = unix_now();
        }
        album.push(AlbumLine {
            album_id,
            added: line.0,
            error: line.1,
        });
    }
    let added = album.iter().filter(|a| a.added).count();
    answer(
        "doc",
        &DocAlbumsAdded {
            doc_id: id,
            total: state
                .albums
                .values()
                .filter(|a| a.docs.contains(&id))
                .count(),
            added,
            skipped: album.len() - added,
            album,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::MAX_TAGS_PER_DOC;
    use super::*;
    use crate::call::{Params, Secret};
    use crate::server::state::{Grant, Grants, USER_ID};

    fn request<'a>(params: &'a Params, grant: Grant) -> Request<'a> {
        Request {
            params,
            api_key: "key",
            token: Some("token"),
            grant: Some(grant),
            file: None,
            ticket_delay: std::time::Duration::ZERO,
            data_dir: std::path::Path::new("/nonexistent"),
            max_file_size: 1,
            upload_quota: 1,
            paging: None,
            origin: "http://127.0.0.1:1",
        }
    }

    #[test]
    fn a_refused_write_records_no_change_and_an_accepted_one_does() {
        let grants = Grants::new();
        let mut state = ServiceState::provisioned(
            "key",
            &Secret::new("secret"),
            &Secret::new("token"),
            &grants,
            std::time::Duration::from_secs(60),
        );
        let tags = (0..MAX_TAGS_PER_DOC as u64)
            .map(|i| (i, format!("t{i}")))
            .collect();
        state.docs.insert(
            7,
            Doc {
                tags,
                size: 1,
                ..Doc::new(7, USER_ID, String::new())
            },
        );
        state.mark_saved();
        let grant = Grant {
            api_key: "key".to_owned(),
            user_id: USER_ID,
            grants,
            oauth_secret: None,
        };
        let params: Params = [("doc_id", "7"), ("keywords", "one-too-many")]
            .into_iter()
            .collect();
        let refused =
            super::super::tags::add(&mut state, &request(&params, grant.clone())).unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::Method(3));
        assert!(state.unchanged(), "a refused call writes nothing");
        let params: Params = [("doc_id", "7"), ("title", "new")].into_iter().collect();
        set(&mut state, &request(&params, grant)).unwrap();
        assert!(state.docs.changes().contains(&7));
    }
}

//! `doc.*`: a document, its tags, lists and searches of documents, MD5 lookups.

use serde::Serialize;

use super::{
    Page, answer, comma_list, geo_params, id_param, members, method_error, owned, owned_doc,
    visible,
};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::state::{Doc, ServiceState, doc_file, unix_now};
use crate::value::Map;

/// The most tags one document holds (the service documents a limit, error 3 of
/// `doc.tags.add`, without its figure; this is the emulator's). Bounded, a call's work under the
/// state lock is too: at most this many tags are compared, each once, through a hash set.
pub(crate) const MAX_TAGS_PER_DOC: usize = 200;

#[derive(Serialize)]
struct Owner<'a> {
    user_id: u64,
    username: &'a str,
    realname: &'a str,
}

/// `doc.get`'s dates: Unix times, and `created` as the text the service gives.
#[derive(Serialize)]
struct Dates<'a> {
    posted_at: u64,
    created: &'a str,
    modified_at: u64,
}

/// Who sees a document, as answers spell it (no underscores; `share` 5 for public).
#[derive(Serialize)]
struct Visibility {
    ispublic: bool,
    isfriend: bool,
    isfamily: bool,
    share: u8,
}

impl Visibility {
    fn of(doc: &Doc) -> Visibility {
        Visibility {
            ispublic: doc.is_public,
            isfriend: doc.is_friend,
            isfamily: doc.is_family,
            share: doc.share(),
        }
    }
}

/// Who may comment, tag, tag themselves, as `doc.get` spells it.
#[derive(Serialize)]
struct Permissions {
    comment: u8,
    tag: u8,
    tagme: u8,
}

#[derive(Serialize)]
struct Geo {
    lat: f64,
    lng: f64,
}

/// A tag as `doc.tags.*` answer it (the form in use since June 2009).
#[derive(Serialize)]
struct Tag<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    user_id: u64,
    tag: &'a str,
}

#[derive(Serialize)]
struct Tags<'a> {
    total: usize,
    tag: Vec<Tag<'a>>,
}

impl<'a> Tags<'a> {
    fn of(doc: &'a Doc) -> Tags<'a> {
        Tags {
            total: doc.tags.len(),
            tag: doc
                .tags
                .iter()
                .map(|(tag_id, tag)| Tag {
                    kind: "keyword",
                    id: *tag_id,
                    user_id: doc.owner,
                    tag,
                })
                .collect(),
        }
    }
}

/// A document as lists show it, and with the `full` members as `doc.get` does (its page's
/// example: attributes, then owner, description, dates, visibility, permissions).
#[derive(Serialize)]
struct DocAnswer<'a> {
    doc_id: u64,
    media: &'static str,
    license: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation: Option<u16>,
    title: &'a str,
    safety: u8,
    owner: Owner<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dates: Option<Dates<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<Visibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Permissions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<Geo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
}

impl<'a> DocAnswer<'a> {
    fn of(state: &'a ServiceState, doc: &'a Doc, full: bool) -> DocAnswer<'a> {
        let owner = state.users.get(&doc.owner);
        DocAnswer {
            doc_id: doc.id,
            media: "photo",
            license: doc.license,
            rotation: full.then_some(doc.rotation),
            title: &doc.title,
            safety: doc.safety,
            owner: Owner {
                user_id: doc.owner,
                username: owner.map_or("", |u| u.username.as_str()),
                realname: "",
            },
            description: full.then_some(doc.description.as_str()),
            dates: full.then_some(Dates {
                posted_at: doc.posted_at,
                created: &doc.created,
                modified_at: doc.modified_at,
            }),
            visibility: full.then(|| Visibility::of(doc)),
            permissions: full.then_some(Permissions {
                comment: doc.perms.comment,
                tag: doc.perms.tag,
                tagme: doc.perms.tagme,
            }),
            geo: None,
            tags: full.then(|| Tags::of(doc)),
            md5: None,
        }
    }
}

/// A page of documents.
#[derive(Serialize)]
pub(super) struct DocPage<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    doc: Vec<DocAnswer<'a>>,
}

impl<'a> DocPage<'a> {
    /// The page the request asks for of `docs`.
    pub(super) fn of(state: &'a ServiceState, request: &Request<'_>, docs: &[&'a Doc]) -> Self {
        let page = Page::of(request, docs.len());
        DocPage {
            page: page.page,
            pages: page.pages,
            per_page: page.per_page,
            total: docs.len(),
            doc: page
                .slice(docs)
                .iter()
                .map(|doc| DocAnswer::of(state, doc, false))
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct DocId {
    doc_id: u64,
}

/// `doc.tags.add`'s answer: how many keywords were added and dropped (already there), and the
/// tags added.
#[derive(Serialize)]
struct TagsAdded<'a> {
    added: usize,
    dropped: usize,
    tag: Vec<Tag<'a>>,
}

fn doc_id(request: &Request<'_>) -> Result<u64, crate::error::ApiError> {
    id_param(request, "doc_id", "Document")
}

/// `doc.get`, with `md5` among the extras when asked.
pub(super) fn get(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    let mut value = DocAnswer::of(state, doc, true);
    for extra in comma_list(request, "extra") {
        match extra {
            "md5" => value.md5 = Some(&doc.md5),
            "geo" => value.geo = doc.geo.map(|(lat, lng)| Geo { lat, lng }),
            _ => {}
        }
    }
    answer("doc", &value)
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
    let doc = owned(state, request, id)?;
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

/// A code parameter within `allowed`, or the method's error 2 (missing or out of range).
fn code_param(request: &Request<'_>, name: &str, allowed: &[u8]) -> Result<Option<u8>, ApiError> {
    match request.param(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<u8>()
            .ok()
            .filter(|code| allowed.contains(code))
            .map(Some)
            .ok_or_else(|| method_error(2, &format!("{name} is out of range"))),
    }
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
    let license = code_param(request, "license", LICENSES)?
        .ok_or_else(|| method_error(2, "license is missing"))?;
    let doc = owned(state, request, id)?;
    doc.license = license;
    doc.modified_at = unix_now();
    status_only()
}

/// `doc.setSafety`.
pub(super) fn set_safety(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let safety = code_param(request, "safety", &[1, 2, 3])?
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
    let share = code_param(request, "share", &[0, 1, 2, 3, 4])?;
    let flags = ["is_public", "is_family", "is_friend"].map(|name| request.param(name));
    let visibility = match (share, flags) {
        (Some(share), _) => Some((
            share == 4,
            share == 1 || share == 3,
            share == 2 || share == 3,
        )),
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
    let comment = code_param(request, "perm_comment", AUDIENCES)?;
    let tag = code_param(request, "perm_tag", AUDIENCES)?;
    let tagme = code_param(request, "perm_tagme", AUDIENCES)?;
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
    owned_doc(state, request, id)?;
    state.docs.remove(&id);
    std::fs::remove_file(doc_file(request.data_dir, id)).ok();
    state.albums.update_each(|_, album| {
        let held = album.docs.contains(&id);
        album.docs.retain(|d| *d != id);
        held
    });
    answer("doc", &DocId { doc_id: id })
}

/// `doc.getList` (a user's documents) and `doc.search` (a text in titles, descriptions, tags).
pub(super) fn list(
    state: &ServiceState,
    request: &Request<'_>,
    text_filter: Option<&str>,
) -> Outcome {
    let owner = match request.param("user_id") {
        Some(id) => Some(
            id.parse::<u64>()
                .map_err(|_| method_error(1, "User not found"))?,
        ),
        None if text_filter.is_none() => request.user_id(),
        None => None,
    };
    if let Some(owner) = owner
        && !state.users.contains_key(&owner)
    {
        return Err(method_error(1, "User not found"));
    }
    let needle = text_filter.map(str::to_lowercase);
    let docs: Vec<&Doc> = state
        .docs
        .values()
        .filter(|doc| doc.is_public || Some(doc.owner) == request.user_id())
        .filter(|doc| owner.is_none_or(|o| doc.owner == o))
        .filter(|doc| {
            needle.as_deref().is_none_or(|needle| {
                doc.title.to_lowercase().contains(needle)
                    || doc.description.to_lowercase().contains(needle)
                    || doc
                        .tags
                        .iter()
                        .any(|(_, tag)| tag.to_lowercase().contains(needle))
            })
        })
        .collect();
    answer("docs", &DocPage::of(state, request, &docs))
}

/// `doc.tags.add`: keywords, each once; beyond [`MAX_TAGS_PER_DOC`] nothing is added.
pub(super) fn tags_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    if request.param("keywords").is_none() {
        return Err(method_error(2, "Keywords missing"));
    }
    let keywords: Vec<&str> = comma_list(request, "keywords").collect();
    // Read first: a call refused for the tag limit changes nothing and writes nothing.
    let doc = owned_doc(state, request, id)?;
    let mut present: std::collections::HashSet<&str> = doc
        .tags
        .iter()
        .map(|(_, keyword)| keyword.as_str())
        .collect();
    let mut new = Vec::new();
    for keyword in keywords {
        if present.insert(keyword) {
            new.push(keyword.to_owned());
            if present.len() > MAX_TAGS_PER_DOC {
                return Err(method_error(
                    3,
                    "Tag limit would be exceeded: nothing was added",
                ));
            }
        }
    }
    drop(present);
    let sent = comma_list(request, "keywords").count();
    let added: Vec<(u64, String)> = new
        .into_iter()
        .map(|keyword| (state.ids.next(), keyword))
        .collect();
    let doc = owned(state, request, id)?;
    let first_new = doc.tags.len();
    doc.tags.extend(added);
    let owner = doc.owner;
    let tag: Vec<Tag<'_>> = doc
        .tags
        .get(first_new..)
        .unwrap_or_default()
        .iter()
        .map(|(tag_id, tag)| Tag {
            kind: "keyword",
            id: *tag_id,
            user_id: owner,
            tag,
        })
        .collect();
    answer(
        "tags",
        &TagsAdded {
            added: tag.len(),
            dropped: sent - tag.len(),
            tag,
        },
    )
}

/// `doc.tags.getList`.
pub(super) fn tags_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    answer("tags", &Tags::of(doc))
}

#[cfg(test)]
mod tests {
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
        let refused = tags_add(&mut state, &request(&params, grant.clone())).unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::Method(3));
        assert!(state.unchanged(), "a refused call writes nothing");
        let params: Params = [("doc_id", "7"), ("title", "new")].into_iter().collect();
        set(&mut state, &request(&params, grant)).unwrap();
        assert!(state.docs.changes().contains(&7));
    }
}

//! `doc.*`: a document, its tags, lists and searches of documents, MD5 lookups.

use serde::Serialize;

use super::{Page, answer, comma_list, id_param, method_error, owned, owned_doc, visible};
use crate::server::call::{Outcome, Request};
use crate::server::state::{Doc, ServiceState, doc_file};

/// The most tags one document holds (the service documents a limit, error 3 of
/// `doc.tags.add`, without its figure; this is the emulator's). Bounded, a call's work under the
/// state lock is too: at most this many tags are compared, each once, through a hash set.
pub(crate) const MAX_TAGS_PER_DOC: usize = 200;

#[derive(Serialize)]
struct Owner<'a> {
    user_id: u64,
    username: &'a str,
}

#[derive(Serialize)]
struct Dates {
    posted_at: u64,
}

#[derive(Serialize)]
struct Visibility {
    share: u8,
    is_public: bool,
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

/// A document as lists show it, and with the `full` members as `doc.get` does.
#[derive(Serialize)]
struct DocAnswer<'a> {
    doc_id: u64,
    media: &'static str,
    title: &'a str,
    owner: Owner<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dates: Option<Dates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<Visibility>,
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
            title: &doc.title,
            owner: Owner {
                user_id: doc.owner,
                username: owner.map_or("", |u| u.username.as_str()),
            },
            description: full.then_some(doc.description.as_str()),
            dates: full.then_some(Dates {
                posted_at: doc.posted_at,
            }),
            visibility: full.then_some(Visibility {
                share: if doc.is_public { 4 } else { 0 },
                is_public: doc.is_public,
            }),
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
    if comma_list(request, "extra").any(|extra| extra == "md5") {
        value.md5 = Some(&doc.md5);
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
            // Answers say 5 for public (doc.get's legend), 0 for private.
            share: if doc.is_public { 5 } else { 0 },
            description: &doc.description,
        },
    )
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
                id: 7,
                owner: USER_ID,
                title: String::new(),
                description: String::new(),
                tags,
                is_public: false,
                posted_at: 0,
                size: 1,
                md5: String::new(),
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

//! How answers show the things every family lists: a document (whole, as `doc.get` gives it, or
//! as a list item with its thumbnail), a page of documents, faves, visits, the neighbours of a
//! `getContext`, a member in brief. Each follows its method page's example: attribute names,
//! which members are elements, the order they come in.

use serde::Serialize;

use super::{Page, comma_list, sees};
use crate::server::call::Request;
use crate::server::media::{THUMB_LABELS, original_url, thumb_size, thumb_url};
use crate::server::records::{Fave, Visit};
use crate::server::state::{Doc, ServiceState};

/// A document's page on the service, as `link` gives it.
pub(super) fn doc_link(origin: &str, doc: &Doc) -> String {
    format!("{origin}/doc/{}/{}", doc.owner, doc.id)
}

/// The thumbnail label a request asks for (`thumbsize`), `75x` when none or unknown.
pub(super) fn thumbsize<'a>(request: &'a Request<'_>) -> &'a str {
    request
        .param("thumbsize")
        .filter(|label| THUMB_LABELS.contains(label))
        .unwrap_or("75x")
}

/// One thumbnail.
#[derive(Serialize)]
pub(super) struct Thumb {
    label: String,
    ext: &'static str,
    w: u32,
    h: u32,
    url: String,
}

impl Thumb {
    pub(super) fn of(origin: &str, doc: &Doc, label: &str) -> Thumb {
        let (w, h) = thumb_size(label, doc.width, doc.height);
        Thumb {
            label: label.to_owned(),
            ext: "jpg",
            w,
            h,
            url: thumb_url(origin, doc, label),
        }
    }
}

#[derive(Serialize)]
pub(super) struct Thumbs {
    thumb: Vec<Thumb>,
}

impl Thumbs {
    /// Every label, smallest first.
    pub(super) fn of(origin: &str, doc: &Doc) -> Thumbs {
        Thumbs {
            thumb: THUMB_LABELS
                .iter()
                .map(|label| Thumb::of(origin, doc, label))
                .collect(),
        }
    }
}

/// The original file.
#[derive(Serialize)]
pub(super) struct Original<'a> {
    ext: &'a str,
    w: u32,
    h: u32,
    filename: &'a str,
    bytes: u64,
    url: String,
}

impl<'a> Original<'a> {
    pub(super) fn of(origin: &str, doc: &'a Doc) -> Original<'a> {
        Original {
            ext: crate::server::media::extension(&doc.filename),
            w: doc.width,
            h: doc.height,
            filename: &doc.filename,
            bytes: doc.size,
            url: original_url(origin, doc),
        }
    }
}

/// How popular a document is: its faves weigh more than its visits.
pub(super) fn popularity(doc: &Doc) -> u64 {
    let visits: u64 = doc.visits.iter().map(|v| v.visits).sum();
    (doc.faves.len() as u64)
        .saturating_mul(10)
        .saturating_add(visits)
}

/// Whether the caller may fetch the original: the owner always; others when it is public and
/// the owner does not block them.
pub(super) fn may_download(state: &ServiceState, request: &Request<'_>, doc: &Doc) -> bool {
    let caller = request.user_id();
    caller == Some(doc.owner)
        || doc.is_public
            && !caller.is_some_and(|caller| {
                state
                    .users
                    .get(&doc.owner)
                    .is_some_and(|owner| owner.blocked.contains(&caller))
            })
}

#[derive(Serialize)]
struct Owner<'a> {
    user_id: u64,
    username: &'a str,
    realname: &'a str,
}

/// `doc.get`'s dates.
#[derive(Serialize)]
struct Dates<'a> {
    posted_at: u64,
    replaced_at: u64,
    created: &'a str,
    modified_at: u64,
    comment_at: u64,
}

/// Who sees a document, as answers spell it (no underscores; `share` 5 for public).
#[derive(Serialize)]
struct Visibility {
    ispublic: bool,
    isfriend: bool,
    isfamily: bool,
    share: u8,
}

#[derive(Serialize)]
struct Permissions {
    comment: u8,
    tag: u8,
    tagme: u8,
}

#[derive(Serialize)]
struct Count {
    visits: u64,
    faves: usize,
    comments: usize,
    notes: usize,
    tags: usize,
    albums: usize,
    groups: usize,
    last_visit: u64,
}

#[derive(Serialize)]
struct Can {
    fave: bool,
    comment: bool,
    tag: bool,
    tagme: bool,
    zoom: bool,
    download: bool,
    print: bool,
}

#[derive(Serialize)]
struct You {
    isfave: bool,
    visits: u64,
    last_visit: u64,
}

#[derive(Serialize)]
pub(super) struct Geo {
    lat: f64,
    lng: f64,
}

impl Geo {
    pub(super) fn of(doc: &Doc) -> Option<Geo> {
        doc.geo.map(|(lat, lng)| Geo { lat, lng })
    }
}

/// A tag as `doc.get` lists it: keywords and machine tags with their text, member tags with the
/// member.
#[derive(Serialize)]
struct DocTag<'a> {
    tag_id: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyword: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<u64>,
    title: &'a str,
}

#[derive(Serialize)]
struct DocTags<'a> {
    total: usize,
    tag: Vec<DocTag<'a>>,
}

/// A machine tag reads `namespace:predicate=value`; any other text is a keyword.
pub(super) fn tag_kind(tag: &str) -> &'static str {
    let machine = tag.split_once(':').is_some_and(|(namespace, rest)| {
        !namespace.is_empty() && rest.split_once('=').is_some_and(|(p, _)| !p.is_empty())
    });
    match machine {
        true => "machine",
        false => "keyword",
    }
}

/// A keyword as the service normalises it: lowercase, punctuation left out.
pub(super) fn normalised(tag: &str) -> String {
    tag.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || matches!(c, ':' | '=' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn doc_tags<'a>(state: &'a ServiceState, doc: &'a Doc) -> DocTags<'a> {
    let mut tag: Vec<DocTag<'a>> = doc
        .tags
        .iter()
        .map(|(id, text)| DocTag {
            tag_id: *id,
            kind: tag_kind(text),
            user_id: doc.tagged_by.get(id).copied().unwrap_or(doc.owner),
            keyword: Some(normalised(text)),
            member_id: None,
            title: text,
        })
        .collect();
    tag.extend(doc.member_tags.iter().map(|member| {
        DocTag {
            tag_id: member.id,
            kind: "member",
            user_id: member.user_id,
            keyword: None,
            member_id: Some(member.member_id),
            title: state
                .users
                .get(&member.member_id)
                .map_or("", |user| user.username.as_str()),
        }
    }));
    DocTags {
        total: tag.len(),
        tag,
    }
}

#[derive(Serialize)]
struct NoteLine<'a> {
    note_id: u64,
    user_id: u64,
    username: &'a str,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    #[serde(rename = "_value")]
    content: &'a str,
}

#[derive(Serialize)]
struct Notes<'a> {
    total: usize,
    note: Vec<NoteLine<'a>>,
}

fn doc_notes<'a>(state: &'a ServiceState, doc: &Doc) -> Notes<'a> {
    let note: Vec<NoteLine<'a>> = state
        .notes
        .values()
        .filter(|note| note.doc_id == doc.id)
        .map(|note| NoteLine {
            note_id: note.id,
            user_id: note.user_id,
            username: super::username(state, note.user_id),
            x: note.x,
            y: note.y,
            w: note.w,
            h: note.h,
            content: &note.content,
        })
        .collect();
    Notes {
        total: note.len(),
        note,
    }
}

/// A document as `doc.get` answers it (its page's example: attributes, then owner, description,
/// dates, visibility, permissions, count, can, you, thumbs, original, and the extras asked for).
#[derive(Serialize)]
pub(super) struct DocAnswer<'a> {
    doc_id: u64,
    media: &'a str,
    license: u8,
    rotation: u16,
    title: &'a str,
    safety: u8,
    link: String,
    owner: Owner<'a>,
    description: &'a str,
    dates: Dates<'a>,
    visibility: Visibility,
    permissions: Permissions,
    count: Count,
    can: Can,
    you: You,
    thumbs: Thumbs,
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<Original<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<Geo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<DocTags<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<Notes<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
}

impl<'a> DocAnswer<'a> {
    /// The document with the extras the request asks for (`tags`, `notes`, `geo`, `md5`).
    pub(super) fn of(state: &'a ServiceState, request: &Request<'_>, doc: &'a Doc) -> Self {
        let caller = request.user_id();
        let owner = state.users.get(&doc.owner);
        let comments: Vec<u64> = state
            .comments
            .values()
            .filter(|c| c.on == crate::server::records::Commented::Doc(doc.id))
            .map(|c| c.posted_at)
            .collect();
        let mine = doc
            .visits
            .iter()
            .find(|v| v.user_id.is_some() && v.user_id == caller);
        let interact = |audience: u8| {
            super::in_audience(state, request, doc.owner, audience)
                && super::not_blocked(state, request, doc.owner).is_ok()
        };
        let mut answer = DocAnswer {
            doc_id: doc.id,
            media: &doc.media,
            license: doc.license,
            rotation: doc.rotation,
            title: &doc.title,
            safety: doc.safety,
            link: doc_link(request.origin, doc),
            owner: Owner {
                user_id: doc.owner,
                username: owner.map_or("", |u| u.username.as_str()),
                realname: owner.map_or("", |u| u.realname.as_str()),
            },
            description: &doc.description,
            dates: Dates {
                posted_at: doc.posted_at,
                replaced_at: doc.replaced_at,
                created: &doc.created,
                modified_at: doc.modified_at,
                comment_at: comments.iter().copied().max().unwrap_or(0),
            },
            visibility: Visibility {
                ispublic: doc.is_public,
                isfriend: doc.is_friend,
                isfamily: doc.is_family,
                share: doc.share(),
            },
            permissions: Permissions {
                comment: doc.perms.comment,
                tag: doc.perms.tag,
                tagme: doc.perms.tagme,
            },
            count: Count {
                visits: doc.visits.iter().map(|v| v.visits).sum(),
                faves: doc.faves.len(),
                comments: comments.len(),
                notes: state.notes.values().filter(|n| n.doc_id == doc.id).count(),
                tags: doc.tags.len() + doc.member_tags.len(),
                albums: state
                    .albums
                    .values()
                    .filter(|a| a.docs.contains(&doc.id))
                    .count(),
                groups: state
                    .groups
                    .values()
                    .filter(|g| g.docs.iter().any(|d| d.doc_id == doc.id && !d.pending))
                    .count(),
                last_visit: doc.visits.iter().map(|v| v.visited_at).max().unwrap_or(0),
            },
            can: Can {
                fave: caller.is_some_and(|c| c != doc.owner)
                    && super::not_blocked(state, request, doc.owner).is_ok(),
                comment: interact(doc.perms.comment),
                tag: interact(doc.perms.tag),
                tagme: interact(doc.perms.tagme),
                zoom: true,
                download: may_download(state, request, doc),
                print: false,
            },
            you: You {
                isfave: caller.is_some_and(|c| doc.faves.iter().any(|f| f.user_id == c)),
                visits: mine.map_or(0, |v| v.visits),
                last_visit: mine.map_or(0, |v| v.visited_at),
            },
            thumbs: Thumbs::of(request.origin, doc),
            original: may_download(state, request, doc).then(|| Original::of(request.origin, doc)),
            geo: None,
            tags: None,
            notes: None,
            md5: None,
        };
        for extra in comma_list(request, "extra") {
            match extra {
                "tags" => answer.tags = Some(doc_tags(state, doc)),
                "notes" => answer.notes = Some(doc_notes(state, doc)),
                "geo" => answer.geo = Geo::of(doc),
                "md5" => answer.md5 = Some(&doc.md5),
                _ => {}
            }
        }
        answer
    }
}

/// The owner of a document in a list (`extra=owner`, and always in explore and network lists).
#[derive(Serialize)]
pub(super) struct ItemOwner<'a> {
    user_id: u64,
    username: &'a str,
}

#[derive(Serialize)]
struct ItemDates<'a> {
    posted_at: u64,
    created: &'a str,
    last_update_at: u64,
}

#[derive(Serialize)]
struct ItemCount {
    visits: u64,
    faves: usize,
    comments: usize,
}

/// A document as lists give it: the list pages' attributes, its owner where the list says so,
/// the thumbnail asked for, and the extras asked for.
#[derive(Serialize)]
pub(super) struct DocItem<'a> {
    doc_id: u64,
    media: &'a str,
    license: u8,
    title: &'a str,
    safety: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<ItemOwner<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dates: Option<ItemDates<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<ItemCount>,
    thumb: Thumb,
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<Original<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<Geo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
}

impl<'a> DocItem<'a> {
    /// The item, with its owner when `with_owner` (lists of several members' documents).
    pub(super) fn of(
        state: &'a ServiceState,
        request: &Request<'_>,
        doc: &'a Doc,
        with_owner: bool,
    ) -> Self {
        let mut item = DocItem {
            doc_id: doc.id,
            media: &doc.media,
            license: doc.license,
            title: &doc.title,
            safety: doc.safety,
            owner: with_owner.then(|| ItemOwner {
                user_id: doc.owner,
                username: super::username(state, doc.owner),
            }),
            dates: None,
            count: None,
            thumb: Thumb::of(request.origin, doc, thumbsize(request)),
            original: None,
            geo: None,
            md5: None,
        };
        for extra in comma_list(request, "extra") {
            match extra {
                "owner" if item.owner.is_none() => {
                    item.owner = Some(ItemOwner {
                        user_id: doc.owner,
                        username: super::username(state, doc.owner),
                    });
                }
                "dates" => {
                    item.dates = Some(ItemDates {
                        posted_at: doc.posted_at,
                        created: &doc.created,
                        last_update_at: doc.modified_at.max(doc.posted_at),
                    });
                }
                "count" => {
                    item.count = Some(ItemCount {
                        visits: doc.visits.iter().map(|v| v.visits).sum(),
                        faves: doc.faves.len(),
                        comments: state
                            .comments
                            .values()
                            .filter(|c| c.on == crate::server::records::Commented::Doc(doc.id))
                            .count(),
                    });
                }
                "original" if may_download(state, request, doc) => {
                    item.original = Some(Original::of(request.origin, doc));
                }
                "geo" => item.geo = Geo::of(doc),
                "md5" => item.md5 = Some(&doc.md5),
                _ => {}
            }
        }
        item
    }
}

/// A page of documents: `total`, `per_page`, `page`, `pages`, and the items.
#[derive(Serialize)]
pub(super) struct DocPage<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    doc: Vec<DocItem<'a>>,
}

impl<'a> DocPage<'a> {
    /// The page the request asks for of `docs`; each with its owner when `with_owner`.
    pub(super) fn of(
        state: &'a ServiceState,
        request: &Request<'_>,
        docs: &[&'a Doc],
        with_owner: bool,
    ) -> Self {
        let page = Page::of(request, docs.len());
        DocPage {
            total: docs.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            doc: page
                .slice(docs)
                .iter()
                .map(|doc| DocItem::of(state, request, doc, with_owner))
                .collect(),
        }
    }
}

/// A list of documents without pages (`count` items): explore and network lists.
#[derive(Serialize)]
pub(super) struct DocCount<'a> {
    count: usize,
    doc: Vec<DocItem<'a>>,
}

impl<'a> DocCount<'a> {
    pub(super) fn of(state: &'a ServiceState, request: &Request<'_>, docs: &[&'a Doc]) -> Self {
        DocCount {
            count: docs.len(),
            doc: docs
                .iter()
                .map(|doc| DocItem::of(state, request, doc, true))
                .collect(),
        }
    }
}

/// The documents of `ids` the caller sees, in that order.
pub(super) fn visible_docs<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    ids: impl IntoIterator<Item = u64>,
) -> Vec<&'a Doc> {
    ids.into_iter()
        .filter_map(|id| state.docs.get(&id))
        .filter(|doc| sees(state, request.user_id(), doc))
        .collect()
}

/// Hides documents above the `safesurf` level asked for, and of another `media` than asked.
pub(super) fn filter_safe_media(request: &Request<'_>, docs: &mut Vec<&Doc>) {
    let safesurf = request.param("safesurf").and_then(|s| s.parse::<u8>().ok());
    let media = request.param("media");
    docs.retain(|doc| {
        safesurf.is_none_or(|level| doc.safety <= level)
            && media.is_none_or(|media| doc.media == media)
    });
}

#[derive(Serialize)]
struct FaveLine<'a> {
    user_id: u64,
    username: &'a str,
    faved_at: u64,
}

/// A page of faves, latest first.
#[derive(Serialize)]
pub(super) struct FavesPage<'a> {
    count: usize,
    per_page: usize,
    pages: usize,
    page: usize,
    total: usize,
    fave: Vec<FaveLine<'a>>,
}

impl<'a> FavesPage<'a> {
    pub(super) fn of(state: &'a ServiceState, request: &Request<'_>, faves: &[Fave]) -> Self {
        let mut sorted: Vec<&Fave> = faves.iter().collect();
        sorted.sort_by_key(|fave| std::cmp::Reverse(fave.faved_at));
        let page = Page::of(request, sorted.len());
        let fave: Vec<FaveLine<'a>> = page
            .slice(&sorted)
            .iter()
            .map(|fave| FaveLine {
                user_id: fave.user_id,
                username: super::username(state, fave.user_id),
                faved_at: fave.faved_at,
            })
            .collect();
        FavesPage {
            count: fave.len(),
            per_page: page.per_page,
            pages: page.pages,
            page: page.page,
            total: sorted.len(),
            fave,
        }
    }
}

#[derive(Serialize)]
struct Anonymous {
    visited_at: u64,
    visits: u64,
}

#[derive(Serialize)]
struct VisitLine<'a> {
    user_id: u64,
    username: &'a str,
    visited_at: u64,
    first_visit_at: u64,
    visits: u64,
}

/// A page of visitors, latest first, anonymous visits together ahead of them.
#[derive(Serialize)]
pub(super) struct VisitsPage<'a> {
    count: usize,
    per_page: usize,
    pages: usize,
    page: usize,
    total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous: Option<Anonymous>,
    visit: Vec<VisitLine<'a>>,
}

impl<'a> VisitsPage<'a> {
    pub(super) fn of(state: &'a ServiceState, request: &Request<'_>, visits: &[Visit]) -> Self {
        let mut members: Vec<&Visit> = visits.iter().filter(|v| v.user_id.is_some()).collect();
        members.sort_by_key(|visit| std::cmp::Reverse(visit.visited_at));
        let page = Page::of(request, members.len());
        let visit: Vec<VisitLine<'a>> = page
            .slice(&members)
            .iter()
            .filter_map(|visit| {
                let user_id = visit.user_id?;
                Some(VisitLine {
                    user_id,
                    username: super::username(state, user_id),
                    visited_at: visit.visited_at,
                    first_visit_at: visit.first_visit_at,
                    visits: visit.visits,
                })
            })
            .collect();
        VisitsPage {
            count: visit.len(),
            per_page: page.per_page,
            pages: page.pages,
            page: page.page,
            total: members.len(),
            anonymous: visits
                .iter()
                .find(|v| v.user_id.is_none())
                .map(|v| Anonymous {
                    visited_at: v.visited_at,
                    visits: v.visits,
                }),
            visit,
        }
    }
}

/// The neighbours of `items[at]` a `getContext` asks for: up to `prev` before it (nearest
/// first, indexes -1, -2, …) and `next` after it (1, 2, …; both 1 unless sent, at most 50), each
/// made by `entry`, with how many there are on each side.
pub(super) fn around<T: Copy, E>(
    request: &Request<'_>,
    items: &[T],
    at: usize,
    entry: impl Fn(i64, T) -> E,
) -> ((usize, Vec<E>), (usize, Vec<E>)) {
    let wanted = |name: &str| {
        request
            .param(name)
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1)
            .min(50)
    };
    let before = items.get(..at).unwrap_or_default();
    let after = items.get(at + 1..).unwrap_or_default();
    let prev = (1i64..)
        .zip(before.iter().rev().take(wanted("prev")))
        .map(|(n, item)| entry(-n, *item))
        .collect();
    let next = (1i64..)
        .zip(after.iter().take(wanted("next")))
        .map(|(n, item)| entry(n, *item))
        .collect();
    ((before.len(), prev), (after.len(), next))
}

/// A neighbour in a `getContext` answer.
#[derive(Serialize)]
pub(super) struct ContextDoc<'a> {
    index: i64,
    doc_id: u64,
    media: &'a str,
    title: &'a str,
    safety: u8,
    w: u32,
    h: u32,
    url: String,
    link: String,
    user_id: u64,
}

#[derive(Serialize)]
pub(super) struct Neighbours<'a> {
    count: usize,
    doc: Vec<ContextDoc<'a>>,
}

/// `prev`, `doc` and `next` of a `getContext` answer.
#[derive(Serialize)]
pub(super) struct Context<'a> {
    prev: Neighbours<'a>,
    doc: ContextDoc<'a>,
    next: Neighbours<'a>,
}

impl<'a> Context<'a> {
    /// The neighbours of `docs[at]` in `docs`: up to `prev` before it (nearest first, indexes
    /// -1, -2, …) and `next` after it (1, 2, …; both 1 unless the request says), counting every
    /// one there is. `in_link` is what document links add (`/in/album/5555`).
    pub(super) fn of(
        request: &Request<'_>,
        docs: &[&'a Doc],
        at: usize,
        in_link: &str,
    ) -> Option<Self> {
        let label = thumbsize(request);
        let entry = |index: i64, doc: &'a Doc| {
            let (w, h) = thumb_size(label, doc.width, doc.height);
            ContextDoc {
                index,
                doc_id: doc.id,
                media: &doc.media,
                title: &doc.title,
                safety: doc.safety,
                w,
                h,
                url: thumb_url(request.origin, doc, label),
                link: format!("{}{in_link}", doc_link(request.origin, doc)),
                user_id: doc.owner,
            }
        };
        let current = docs.get(at)?;
        let ((before, prev), (after, next)) = around(request, docs, at, entry);
        Some(Context {
            prev: Neighbours {
                count: before,
                doc: prev,
            },
            doc: entry(0, current),
            next: Neighbours {
                count: after,
                doc: next,
            },
        })
    }
}

/// The album or group whose documents a `getContext` walks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Container {
    Album(u64),
    Group(u64),
}

/// The element `album.docs.getContext` and `group.docs.getContext` open with: the container,
/// how many documents it shows, the thumbnail label.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum ContainerHead<'a> {
    Album {
        album_id: u64,
        total: usize,
        thumbsize: &'a str,
    },
    Group {
        group_id: u64,
        total: usize,
        thumbsize: &'a str,
    },
}

#[derive(Serialize)]
struct ContainerContext<'a> {
    #[serde(flatten)]
    head: ContainerHead<'a>,
    #[serde(flatten)]
    context: Context<'a>,
}

/// The answer of a container's `getContext`: document `doc` among the container's `docs` (in
/// its order), or error 2 when it is not among them.
pub(super) fn context_in(
    request: &Request<'_>,
    container: Container,
    docs: &[&Doc],
    doc: u64,
) -> crate::server::call::Outcome {
    let (kind, id) = match container {
        Container::Album(id) => ("album", id),
        Container::Group(id) => ("group", id),
    };
    let missing = || super::method_error(2, &format!("Document not in this {kind}"));
    let at = docs.iter().position(|d| d.id == doc).ok_or_else(missing)?;
    let context =
        Context::of(request, docs, at, &format!("/in/{kind}/{id}")).ok_or_else(missing)?;
    let (thumbsize, total) = (thumbsize(request), docs.len());
    let head = match container {
        Container::Album(album_id) => ContainerHead::Album {
            album_id,
            total,
            thumbsize,
        },
        Container::Group(group_id) => ContainerHead::Group {
            group_id,
            total,
            thumbsize,
        },
    };
    super::members(&ContainerContext { head, context })
}

//! `doc.tags.*` and `tags.*`: keyword, machine and member tags on documents, and a member's tags
//! across their documents.
//!
//! Keyword and machine tags carry the id they got when added; lists of a member's tags and
//! `tags.docs.getList` identify a keyword by the id of its first use and group documents by the
//! keyword's normalised text, as the service does. A member tag is identified by the member.

use std::collections::HashSet;

use serde::Serialize;

use super::views::{DocPage, filter_safe_media, normalised, tag_kind};
use super::{MAX_TAGS_PER_DOC, doc_id};
use super::{
    answer, comma_list, in_audience, method_error, not_blocked, owned, sees, user_param, visible,
};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::state::{Doc, MemberTag, ServiceState, unix_now};
use crate::value::Map;

/// A tag as `doc.tags.*` answer it (the form in use since June 2009).
#[derive(Serialize)]
struct Tag<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    user_id: u64,
    tag: &'a str,
    added_at: u64,
}

#[derive(Serialize)]
struct Tags<'a> {
    total: usize,
    tag: Vec<Tag<'a>>,
}

/// Every tag of a document: keywords and machine tags, then member tags.
fn tags_of<'a>(state: &'a ServiceState, doc: &'a Doc) -> Vec<Tag<'a>> {
    let mut tags: Vec<Tag<'a>> = doc
        .tags
        .iter()
        .map(|(id, text)| Tag {
            kind: tag_kind(text),
            id: *id,
            user_id: doc.tagged_by.get(id).copied().unwrap_or(doc.owner),
            tag: text,
            added_at: doc.tag_times.get(id).copied().unwrap_or(doc.posted_at),
        })
        .collect();
    tags.extend(doc.member_tags.iter().map(|member| {
        Tag {
            kind: "member",
            id: member.id,
            user_id: member.user_id,
            tag: super::username(state, member.member_id),
            added_at: doc
                .tag_times
                .get(&member.id)
                .copied()
                .unwrap_or(doc.posted_at),
        }
    }));
    tags
}

/// `doc.tags.getList`.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    let tag = tags_of(state, doc);
    answer(
        "tags",
        &Tags {
            total: tag.len(),
            tag,
        },
    )
}

/// The members a `members` parameter names, by id or alias; unknown ones are left out.
fn named_members(state: &ServiceState, request: &Request<'_>) -> Vec<u64> {
    let mut found = Vec::new();
    for name in comma_list(request, "members") {
        let id = name
            .parse::<u64>()
            .ok()
            .filter(|id| state.users.contains_key(id))
            .or_else(|| {
                state
                    .users
                    .values()
                    .find(|user| user.alias() == name.to_lowercase() || user.username == name)
                    .map(|user| user.id)
            });
        if let Some(id) = id.filter(|id| !found.contains(id)) {
            found.push(id);
        }
    }
    found
}

/// Whether the caller may add these tags: the owner always; others as the document's `tag`
/// permission says (`tagme` for tagging themselves), unless the owner blocks them.
fn may_tag(
    state: &ServiceState,
    request: &Request<'_>,
    doc: &Doc,
    keywords: bool,
    members: &[u64],
) -> Result<(), ApiError> {
    if request.user_id() == Some(doc.owner) {
        return Ok(());
    }
    not_blocked(state, request, doc.owner)?;
    let caller = request.user_id();
    let allowed = (!keywords || in_audience(state, request, doc.owner, doc.perms.tag))
        && members.iter().all(|member| {
            let audience = match Some(*member) == caller {
                true => doc.perms.tagme,
                false => doc.perms.tag,
            };
            in_audience(state, request, doc.owner, audience)
        });
    match allowed {
        true => Ok(()),
        false => Err(method_error(1, "You may not tag this document")),
    }
}

/// `doc.tags.add`'s answer: how many were added and dropped (already there), and those added.
#[derive(Serialize)]
struct TagsAdded<'a> {
    added: usize,
    dropped: usize,
    tag: Vec<Tag<'a>>,
}

/// `doc.tags.add`: keywords and members, each once; beyond [`MAX_TAGS_PER_DOC`] nothing is
/// added (read first: a refused call changes nothing and writes nothing).
pub(super) fn add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    if request.param("keywords").is_none() && request.param("members").is_none() {
        return Err(method_error(2, "Neither keywords nor members sent"));
    }
    let keywords: Vec<&str> = comma_list(request, "keywords").collect();
    let members = named_members(state, request);
    let doc = visible(state, request, id)?;
    may_tag(state, request, doc, !keywords.is_empty(), &members)?;
    let mut present: HashSet<String> = doc.tags.iter().map(|(_, k)| normalised(k)).collect();
    let mut new_keywords = Vec::new();
    for keyword in &keywords {
        if present.insert(normalised(keyword)) {
            new_keywords.push((*keyword).to_owned());
        }
    }
    let new_members: Vec<u64> = members
        .into_iter()
        .filter(|m| !doc.member_tags.iter().any(|t| t.member_id == *m))
        .collect();
    let total = doc.tags.len() + doc.member_tags.len() + new_keywords.len() + new_members.len();
    if total > MAX_TAGS_PER_DOC {
        return Err(method_error(
            3,
            "Tag limit would be exceeded: nothing was added",
        ));
    }
    let sent = keywords.len() + comma_list(request, "members").count();
    let caller = request.user_id().unwrap_or_default();
    let keyword_ids: Vec<(u64, String)> = new_keywords
        .into_iter()
        .map(|keyword| (state.ids.next(), keyword))
        .collect();
    let member_tags: Vec<MemberTag> = new_members
        .into_iter()
        .map(|member_id| MemberTag {
            id: state.ids.next(),
            member_id,
            user_id: caller,
        })
        .collect();
    let added_ids: Vec<u64> = keyword_ids
        .iter()
        .map(|(id, _)| *id)
        .chain(member_tags.iter().map(|t| t.id))
        .collect();
    let doc = state
        .docs
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Document not found"))?;
    if caller != doc.owner {
        doc.tagged_by
            .extend(keyword_ids.iter().map(|(tag, _)| (*tag, caller)));
    }
    let now = unix_now();
    doc.tag_times
        .extend(added_ids.iter().map(|tag| (*tag, now)));
    doc.tags.extend(keyword_ids);
    doc.member_tags.extend(member_tags);
    doc.modified_at = now;
    let doc = state
        .docs
        .get(&id)
        .ok_or_else(|| method_error(1, "Document not found"))?;
    let tag: Vec<Tag<'_>> = tags_of(state, doc)
        .into_iter()
        .filter(|t| added_ids.contains(&t.id))
        .collect();
    answer(
        "tags",
        &TagsAdded {
            added: tag.len(),
            dropped: sent.saturating_sub(tag.len()),
            tag,
        },
    )
}

/// `doc.tags.edit`: the owner's; the keywords and/or members sent become the document's (an
/// empty value clears them), tags kept where they stay the same.
pub(super) fn edit(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let keywords = request.params.get("keywords");
    let members_sent = request.params.get("members").is_some();
    if keywords.is_none() && !members_sent {
        return Err(method_error(2, "Neither keywords nor members sent"));
    }
    let members = named_members(state, request);
    let wanted: Vec<String> = comma_list(request, "keywords").map(str::to_owned).collect();
    let doc = super::owned_doc(state, request, id)?;
    let keyword_count = match keywords {
        Some(_) => wanted.len(),
        None => doc.tags.len(),
    };
    let member_count = match members_sent {
        true => members.len(),
        false => doc.member_tags.len(),
    };
    if keyword_count + member_count > MAX_TAGS_PER_DOC {
        return Err(method_error(3, "Tag limit reached"));
    }
    let old_keywords = doc.tags.clone();
    let old_members = doc.member_tags.clone();
    let owner = doc.owner;
    let mut added = Vec::new();
    let mut new_keywords: Vec<(u64, String)> = Vec::new();
    if keywords.is_some() {
        for keyword in wanted {
            let key = normalised(&keyword);
            if new_keywords.iter().any(|(_, k)| normalised(k) == key) {
                continue;
            }
            match old_keywords.iter().find(|(_, k)| normalised(k) == key) {
                Some(kept) => new_keywords.push(kept.clone()),
                None => {
                    let tag_id = state.ids.next();
                    added.push(tag_id);
                    new_keywords.push((tag_id, keyword));
                }
            }
        }
    }
    let mut new_members = Vec::new();
    if members_sent {
        for member_id in members {
            match old_members.iter().find(|t| t.member_id == member_id) {
                Some(kept) => new_members.push(*kept),
                None => {
                    let tag_id = state.ids.next();
                    added.push(tag_id);
                    new_members.push(MemberTag {
                        id: tag_id,
                        member_id,
                        user_id: owner,
                    });
                }
            }
        }
    }
    let doc = owned(state, request, id)?;
    if keywords.is_some() {
        doc.tags = new_keywords;
        let kept: HashSet<u64> = doc.tags.iter().map(|(tag, _)| *tag).collect();
        doc.tagged_by.retain(|tag, _| kept.contains(tag));
    }
    if members_sent {
        doc.member_tags = new_members;
    }
    let now = unix_now();
    doc.tag_times.extend(added.iter().map(|tag| (*tag, now)));
    let kept: HashSet<u64> = doc
        .tags
        .iter()
        .map(|(tag, _)| *tag)
        .chain(doc.member_tags.iter().map(|t| t.id))
        .collect();
    doc.tag_times.retain(|tag, _| kept.contains(tag));
    doc.modified_at = now;
    let doc = super::owned_doc(state, request, id)?;
    let removed = old_keywords.len() + old_members.len()
        - (doc.tags.len() + doc.member_tags.len() - added.len());
    let tag: Vec<Tag<'_>> = tags_of(state, doc)
        .into_iter()
        .filter(|t| added.contains(&t.id))
        .collect();
    answer(
        "tags",
        &TagsAdded {
            added: tag.len(),
            dropped: removed,
            tag,
        },
    )
}

/// `doc.tags.remove`: one tag, by the owner or by whoever added it.
pub(super) fn remove(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let tag_id = request
        .param("id")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| method_error(1, "Tag not found"))?;
    let member = request.param("type") == Some("member");
    let caller = request.user_id();
    let doc = visible(state, request, id)?;
    let author = match member {
        true => doc
            .member_tags
            .iter()
            .find(|t| t.id == tag_id)
            .map(|t| t.user_id),
        false => doc
            .tags
            .iter()
            .find(|(t, _)| *t == tag_id)
            .map(|(t, _)| doc.tagged_by.get(t).copied().unwrap_or(doc.owner)),
    }
    .ok_or_else(|| method_error(1, "Tag not found"))?;
    if caller != Some(doc.owner) && caller != Some(author) {
        return Err(method_error(1, "Tag not found"));
    }
    let doc = state
        .docs
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Document not found"))?;
    match member {
        true => doc.member_tags.retain(|t| t.id != tag_id),
        false => {
            doc.tags.retain(|(t, _)| *t != tag_id);
            doc.tagged_by.remove(&tag_id);
        }
    }
    doc.tag_times.remove(&tag_id);
    doc.modified_at = unix_now();
    Ok(Map::default())
}

/// One keyword across a member's documents: the id of its first use, its text, how many
/// documents carry it.
struct Keyword<'a> {
    id: u64,
    text: &'a str,
    docs: usize,
}

/// The keywords of `user`'s documents the caller sees, each once, by first use.
fn keywords_of<'a>(state: &'a ServiceState, request: &Request<'_>, user: u64) -> Vec<Keyword<'a>> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut keywords: Vec<Keyword<'a>> = Vec::new();
    for doc in state
        .docs
        .values()
        .filter(|d| d.owner == user && sees(state, request.user_id(), d))
    {
        for (id, text) in &doc.tags {
            match seen.get(&normalised(text)) {
                Some(at) => {
                    if let Some(keyword) = keywords.get_mut(*at) {
                        keyword.docs += 1;
                    }
                }
                None => {
                    seen.insert(normalised(text), keywords.len());
                    keywords.push(Keyword {
                        id: *id,
                        text,
                        docs: 1,
                    });
                }
            }
        }
    }
    keywords
}

/// A member named in member tags of `user`'s documents: the member, how many documents.
fn members_tagged(state: &ServiceState, request: &Request<'_>, user: u64) -> Vec<(u64, usize)> {
    let mut members: Vec<(u64, usize)> = Vec::new();
    for doc in state
        .docs
        .values()
        .filter(|d| d.owner == user && sees(state, request.user_id(), d))
    {
        for tag in &doc.member_tags {
            match members.iter_mut().find(|(m, _)| *m == tag.member_id) {
                Some((_, docs)) => *docs += 1,
                None => members.push((tag.member_id, 1)),
            }
        }
    }
    members
}

#[derive(Serialize)]
struct UserTag<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    tag: &'a str,
}

#[derive(Serialize)]
struct UserTags<'a> {
    count: usize,
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: u64,
    tag: Vec<UserTag<'a>>,
}

/// How many tags a request asks for (`count`), 1 to 1000, 100 unless sent.
fn count_param(request: &Request<'_>) -> usize {
    request
        .param("count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000)
}

/// `tags.user.getList`: a member's keywords (or members tagged), in the order first used.
pub(super) fn user_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = user_param(state, request, 1)?;
    let count = count_param(request);
    let member = request.param("type") == Some("member");
    let tag: Vec<UserTag<'_>> = match member {
        true => members_tagged(state, request, user)
            .into_iter()
            .take(count)
            .map(|(member, _)| UserTag {
                kind: "member",
                id: member,
                tag: super::username(state, member),
            })
            .collect(),
        false => keywords_of(state, request, user)
            .into_iter()
            .take(count)
            .map(|k| UserTag {
                kind: "keyword",
                id: k.id,
                tag: k.text,
            })
            .collect(),
    };
    answer(
        "tags",
        &UserTags {
            count: tag.len(),
            kind: if member { "members" } else { "keywords" },
            user_id: user,
            tag,
        },
    )
}

#[derive(Serialize)]
struct PopularTag<'a> {
    id: u64,
    tag: &'a str,
    docs: usize,
    posts: usize,
}

#[derive(Serialize)]
struct PopularTags<'a> {
    count: usize,
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: u64,
    tag: Vec<PopularTag<'a>>,
}

/// `tags.user.getPopular`: a member's most used keywords (or members tagged), most used first.
pub(super) fn user_popular(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = user_param(state, request, 1)?;
    let count = count_param(request);
    let member = request.param("type") == Some("member");
    let posts_with = |text: &str| {
        let key = normalised(text);
        state
            .posts
            .values()
            .filter(|p| p.owner == user && p.tags.iter().any(|(_, t)| normalised(t) == key))
            .count()
    };
    let mut tag: Vec<PopularTag<'_>> = match member {
        true => members_tagged(state, request, user)
            .into_iter()
            .map(|(member, docs)| PopularTag {
                id: member,
                tag: super::username(state, member),
                docs,
                posts: 0,
            })
            .collect(),
        false => keywords_of(state, request, user)
            .into_iter()
            .map(|k| PopularTag {
                id: k.id,
                tag: k.text,
                docs: k.docs,
                posts: posts_with(k.text),
            })
            .collect(),
    };
    tag.sort_by(|a, b| b.docs.cmp(&a.docs).then(a.id.cmp(&b.id)));
    tag.truncate(count);
    answer(
        "tags",
        &PopularTags {
            count: tag.len(),
            kind: if member { "member" } else { "keyword" },
            user_id: user,
            tag,
        },
    )
}

/// `tags.docs.getList`: the documents the caller sees that carry a keyword (named by the id of
/// any use of it) or name a member, optionally of one member only.
pub(super) fn docs_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let id = request
        .param("id")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| method_error(1, "Tag not found"))?;
    let owner = match request.param("user_id") {
        Some(_) => Some(user_param(state, request, 2)?),
        None => None,
    };
    let member = request.param("type") == Some("member");
    let keyword = match member {
        true => {
            if !state.users.contains_key(&id) {
                return Err(method_error(1, "Tag not found"));
            }
            None
        }
        false => Some(
            state
                .docs
                .values()
                .find_map(|d| d.tags.iter().find(|(t, _)| *t == id))
                .map(|(_, text)| normalised(text))
                .ok_or_else(|| method_error(1, "Tag not found"))?,
        ),
    };
    let mut docs: Vec<&Doc> = state
        .docs
        .values()
        .filter(|d| owner.is_none_or(|o| d.owner == o) && sees(state, request.user_id(), d))
        .filter(|d| match &keyword {
            Some(keyword) => d.tags.iter().any(|(_, t)| normalised(t) == *keyword),
            None => d.member_tags.iter().any(|t| t.member_id == id),
        })
        .collect();
    filter_safe_media(request, &mut docs);
    match request.param("sort").unwrap_or("posted-desc") {
        "popular" => docs.sort_by_key(|d| std::cmp::Reverse(super::views::popularity(d))),
        "posted-asc" => docs.sort_by_key(|d| (d.posted_at, d.id)),
        _ => docs.sort_by_key(|d| std::cmp::Reverse((d.posted_at, d.id))),
    }
    answer("docs", &DocPage::of(state, request, &docs, true))
}

//! `group.*` and `explore.groups.getRandom`: groups, their members and the documents posted to
//! them (added, or waiting for a moderator in a moderated group).
//!
//! A public group is seen by everyone, a private one by its members. Members post their own
//! documents; a document leaves a group by its poster, its owner or the group's owner.

use serde::Serialize;

use super::views::{Container, DocPage, context_in, filter_safe_media, visible_docs};
use super::{answer, comma_list, id_param, method_error, user_param};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::records::{Group, GroupDoc};
use crate::server::state::{Doc, ServiceState, unix_now};

fn group_id(request: &Request<'_>) -> Result<u64, ApiError> {
    id_param(request, "group_id", "Group")
}

/// Whether the caller sees the group.
fn sees_group(request: &Request<'_>, group: &Group) -> bool {
    group.is_public
        || request
            .user_id()
            .is_some_and(|c| group.members.contains_key(&c))
}

fn group<'a>(state: &'a ServiceState, request: &Request<'_>) -> Result<&'a Group, ApiError> {
    state
        .groups
        .get(&group_id(request)?)
        .filter(|g| sees_group(request, g))
        .ok_or_else(|| method_error(1, "Group not found"))
}

#[derive(Serialize)]
struct Quota {
    moderated: bool,
    max: u32,
    period: &'static str,
    left: u32,
}

#[derive(Serialize)]
struct Can {
    add_doc: bool,
    add_topic: bool,
    accept_photo: bool,
    accept_audio: bool,
    accept_video: bool,
    accept_other: bool,
}

#[derive(Serialize)]
struct Visibility {
    ispublic: bool,
    docs: bool,
    topics: bool,
}

#[derive(Serialize)]
struct Dates {
    created_at: u64,
    last_doc_at: u64,
    last_topic_at: u64,
}

#[derive(Serialize)]
struct Count {
    members: usize,
    docs: usize,
    topics: usize,
}

#[derive(Serialize)]
struct You {
    isadmin: bool,
    ismoderator: bool,
    ismember: bool,
    docs: usize,
    joined_at: u64,
    visited_at: u64,
}

fn visibility(group: &Group) -> Visibility {
    Visibility {
        ispublic: group.is_public,
        docs: true,
        topics: true,
    }
}

fn dates(group: &Group) -> Dates {
    Dates {
        created_at: group.created_at,
        last_doc_at: group.docs.iter().map(|d| d.added_at).max().unwrap_or(0),
        last_topic_at: 0,
    }
}

fn count(group: &Group) -> Count {
    Count {
        members: group.members.len(),
        docs: group.docs.iter().filter(|d| !d.pending).count(),
        topics: 0,
    }
}

fn you(request: &Request<'_>, group: &Group) -> You {
    let caller = request.user_id();
    let joined = caller.and_then(|c| group.members.get(&c).copied());
    You {
        isadmin: caller == Some(group.owner),
        ismoderator: caller == Some(group.owner),
        ismember: joined.is_some(),
        docs: group
            .docs
            .iter()
            .filter(|d| Some(d.user_id) == caller)
            .count(),
        joined_at: joined.unwrap_or(0),
        visited_at: 0,
    }
}

/// Documents the caller posted to the group this week.
fn posted_this_week(request: &Request<'_>, group: &Group) -> u32 {
    let since = unix_now().saturating_sub(7 * 24 * 3600);
    let count = group
        .docs
        .iter()
        .filter(|d| Some(d.user_id) == request.user_id() && d.added_at >= since)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// A group as `group.get` answers it.
#[derive(Serialize)]
struct GroupAnswer<'a> {
    id: u64,
    title: &'a str,
    lang: &'a str,
    link: String,
    icon: String,
    description: &'a str,
    quota: Quota,
    can: Can,
    visibility: Visibility,
    dates: Dates,
    count: Count,
    you: You,
}

fn link(request: &Request<'_>, group: &Group) -> (String, String) {
    (
        format!("{}/group/{}", request.origin, group.id),
        format!("{}/group/{}/icon.jpg", request.origin, group.id),
    )
}

/// `group.get`.
pub(super) fn get(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let group = group(state, request)?;
    let (link, icon) = link(request, group);
    let member = request
        .user_id()
        .is_some_and(|c| group.members.contains_key(&c));
    let used = posted_this_week(request, group);
    answer(
        "group",
        &GroupAnswer {
            id: group.id,
            title: &group.title,
            lang: &group.lang,
            link,
            icon,
            description: &group.description,
            quota: Quota {
                moderated: group.moderated,
                max: group.weekly_quota,
                period: "w",
                left: group.weekly_quota.saturating_sub(used),
            },
            can: Can {
                add_doc: member,
                add_topic: member,
                accept_photo: true,
                accept_audio: true,
                accept_video: true,
                accept_other: true,
            },
            visibility: visibility(group),
            dates: dates(group),
            count: count(group),
            you: you(request, group),
        },
    )
}

/// A group in `group.getList`.
#[derive(Serialize)]
struct GroupItem<'a> {
    group_id: u64,
    link: String,
    icon: String,
    title: &'a str,
    visibility: Visibility,
    dates: Dates,
    count: Count,
    #[serde(skip_serializing_if = "Option::is_none")]
    you: Option<You>,
}

fn item<'a>(request: &Request<'_>, group: &'a Group, with_you: bool) -> GroupItem<'a> {
    let (link, icon) = link(request, group);
    GroupItem {
        group_id: group.id,
        link,
        icon,
        title: &group.title,
        visibility: visibility(group),
        dates: dates(group),
        count: count(group),
        you: with_you.then(|| you(request, group)),
    }
}

#[derive(Serialize)]
struct GroupList<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    count: usize,
    thumbsize: &'a str,
    group: Vec<GroupItem<'a>>,
}

/// `group.getList`: the groups a member belongs to that the caller sees.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = user_param(state, request, 1)?;
    let groups: Vec<&Group> = state
        .groups
        .values()
        .filter(|g| g.members.contains_key(&user) && sees_group(request, g))
        .collect();
    let page = super::Page::of(request, groups.len());
    let group: Vec<GroupItem<'_>> = page
        .slice(&groups)
        .iter()
        .map(|g| item(request, g, true))
        .collect();
    answer(
        "groups",
        &GroupList {
            total: groups.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            count: group.len(),
            thumbsize: "75x",
            group,
        },
    )
}

#[derive(Serialize)]
struct GroupSearch<'a> {
    page: usize,
    total: usize,
    pages: usize,
    per_page: usize,
    group: Vec<GroupItem<'a>>,
}

/// `group.search`: public groups (and the caller's) whose title or description holds every word.
pub(super) fn search(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let words: Vec<String> = request
        .param("text")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return Err(method_error(1, "Search text empty"));
    }
    let mut groups: Vec<&Group> = state
        .groups
        .values()
        .filter(|g| sees_group(request, g))
        .filter(|g| {
            let text = format!("{} {}", g.title, g.description).to_lowercase();
            words.iter().all(|w| text.contains(w))
        })
        .collect();
    match request.param("sort") {
        Some("created-desc") => groups.sort_by_key(|g| std::cmp::Reverse((g.created_at, g.id))),
        Some("created-asc") => groups.sort_by_key(|g| (g.created_at, g.id)),
        _ => groups.sort_by_key(|g| std::cmp::Reverse(g.members.len())),
    }
    let page = super::Page::of(request, groups.len());
    let group = page
        .slice(&groups)
        .iter()
        .map(|g| item(request, g, false))
        .collect();
    answer(
        "groups",
        &GroupSearch {
            page: page.page,
            total: groups.len(),
            pages: page.pages,
            per_page: page.per_page,
            group,
        },
    )
}

#[derive(Serialize)]
struct RandomGroups<'a> {
    count: usize,
    group: Vec<GroupItem<'a>>,
}

/// `explore.groups.getRandom`: up to `count` public groups, in an order that changes from call
/// to call.
pub(super) fn random(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let count = request
        .param("count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 50);
    let mut groups: Vec<&Group> = state.groups.values().filter(|g| g.is_public).collect();
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).ok();
    let mut random = u64::from_le_bytes(seed) | 1;
    for i in (1..groups.len()).rev() {
        // xorshift: an unpredictable enough shuffle for an explore page.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let j = usize::try_from(random % (i as u64 + 1)).unwrap_or(0);
        groups.swap(i, j);
    }
    groups.truncate(count);
    let group: Vec<GroupItem<'_>> = groups.iter().map(|g| item(request, g, false)).collect();
    answer(
        "groups",
        &RandomGroups {
            count: group.len(),
            group,
        },
    )
}

/// The documents of a group the caller sees, in order of posting, pending ones only to those
/// who may moderate or posted them.
fn group_docs<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    group: &Group,
) -> Result<Vec<&'a Doc>, ApiError> {
    let user = match request.param("user_id") {
        Some(_) => Some(user_param(state, request, 2)?),
        None => None,
    };
    let ids = group
        .docs
        .iter()
        .filter(|d| !d.pending)
        .filter(|d| user.is_none_or(|u| d.user_id == u))
        .map(|d| d.doc_id);
    let mut docs = visible_docs(state, request, ids);
    filter_safe_media(request, &mut docs);
    Ok(docs)
}

#[derive(Serialize)]
struct GroupDocs<'a> {
    group_id: u64,
    docs: DocPage<'a>,
}

/// `group.docs.getList`.
pub(super) fn docs_list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let group = group(state, request)?;
    let docs = group_docs(state, request, group)?;
    let with_owner = super::comma_list(request, "extra").any(|e| e == "owner");
    answer(
        "group",
        &GroupDocs {
            group_id: group.id,
            docs: DocPage::of(state, request, &docs, with_owner),
        },
    )
}

/// `group.docs.getContext`: the document among the group's, in order of posting.
pub(super) fn docs_context(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let group = group(state, request)?;
    let doc = super::doc_id(request)?;
    let docs = group_docs(state, request, group)?;
    context_in(request, Container::Group(group.id), &docs, doc)
}

#[derive(Serialize)]
struct AddedLine {
    doc_id: u64,
    added: bool,
    pending: bool,
    error: u8,
}

#[derive(Serialize)]
struct DocsAdded {
    group_id: u64,
    total: usize,
    added: usize,
    skipped: usize,
    pending: usize,
    doc: Vec<AddedLine>,
}

/// `group.docs.add`: the caller's documents, by a member; in a moderated group they wait.
pub(super) fn docs_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = group_id(request)?;
    let group = state
        .groups
        .get(&id)
        .filter(|g| sees_group(request, g))
        .ok_or_else(|| method_error(1, "Group not found"))?;
    let caller = request.user_id().unwrap_or_default();
    if !group.members.contains_key(&caller) {
        return Err(method_error(4, "Only members post to this group"));
    }
    let docs: Vec<u64> = comma_list(request, "doc_id")
        .filter_map(|d| d.parse().ok())
        .collect();
    if docs.is_empty()
        || !docs
            .iter()
            .any(|d| state.docs.get(d).is_some_and(|d| d.owner == caller))
    {
        return Err(method_error(2, "Documents not found"));
    }
    let quota = group.weekly_quota;
    let mut used = posted_this_week(request, group);
    let moderated = group.moderated && group.owner != caller;
    let mut lines = Vec::with_capacity(docs.len());
    let mut posted = Vec::new();
    for doc_id in docs {
        let mine = state.docs.get(&doc_id).is_some_and(|d| d.owner == caller);
        let present = group.docs.iter().find(|d| d.doc_id == doc_id);
        let line = match (mine, present) {
            (false, _) => AddedLine {
                doc_id,
                added: false,
                pending: false,
                error: 1,
            },
            (true, Some(present)) => AddedLine {
                doc_id,
                added: false,
                pending: present.pending,
                error: 0,
            },
            (true, None) => {
                if quota > 0 && used >= quota {
                    return Err(method_error(3, "Group posting quota reached"));
                }
                used += 1;
                posted.push(GroupDoc {
                    doc_id,
                    user_id: caller,
                    added_at: unix_now(),
                    pending: moderated,
                });
                AddedLine {
                    doc_id,
                    added: !moderated,
                    pending: moderated,
                    error: 0,
                }
            }
        };
        lines.push(line);
    }
    let group = state
        .groups
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Group not found"))?;
    group.docs.extend(posted);
    let added = lines.iter().filter(|l| l.added).count();
    let pending = lines.iter().filter(|l| l.pending).count();
    answer(
        "group",
        &DocsAdded {
            group_id: id,
            total: group.docs.iter().filter(|d| !d.pending).count(),
            added,
            skipped: lines.len() - added - pending,
            pending,
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
    group_id: u64,
    total: usize,
    removed: usize,
    skipped: usize,
    doc: Vec<RemovedLine>,
}

/// `group.docs.remove`: by the poster, the document's owner or the group's owner.
pub(super) fn docs_remove(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = group_id(request)?;
    let group = group(state, request)?;
    let caller = request.user_id();
    let docs: Vec<u64> = comma_list(request, "doc_id")
        .filter_map(|d| d.parse().ok())
        .collect();
    if docs.is_empty() {
        return Err(method_error(2, "Documents not found"));
    }
    let may_remove = |posted: &GroupDoc| {
        caller == Some(group.owner)
            || caller == Some(posted.user_id)
            || state
                .docs
                .get(&posted.doc_id)
                .is_some_and(|d| Some(d.owner) == caller)
    };
    let removable: Vec<u64> = docs
        .iter()
        .copied()
        .filter(|d| group.docs.iter().any(|p| p.doc_id == *d && may_remove(p)))
        .collect();
    let group = state
        .groups
        .get_mut(&id)
        .ok_or_else(|| method_error(1, "Group not found"))?;
    group.docs.retain(|p| !removable.contains(&p.doc_id));
    let doc: Vec<RemovedLine> = docs
        .into_iter()
        .map(|doc_id| RemovedLine {
            doc_id,
            removed: removable.contains(&doc_id),
        })
        .collect();
    let removed = removable.len();
    answer(
        "group",
        &DocsRemoved {
            group_id: id,
            total: group.docs.iter().filter(|d| !d.pending).count(),
            removed,
            skipped: doc.len() - removed,
            doc,
        },
    )
}

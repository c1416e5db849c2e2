//! `network.*` and `user.get`: members, who lists whom (contacts, friends, family, and, for the
//! caller's own list, those blocked), and the recent documents of one's network.

use serde::Serialize;

use super::views::{DocItem, filter_safe_media};
use super::{answer, method_error, sees, user_param};
use crate::server::call::{Outcome, Request};
use crate::server::records::{Closeness, User};
use crate::server::state::{Doc, ServiceState, unix_now};

/// A member's icon on the emulator.
fn icon(request: &Request<'_>, user: u64) -> String {
    format!("{}/p/{user}/userphoto.jpg", request.origin)
}

/// How two members list each other.
#[derive(Serialize)]
struct Relation {
    isfamily: bool,
    isfriend: bool,
    iscontact: bool,
    revfamily: bool,
    revfriend: bool,
    revcontact: bool,
}

/// `viewer`'s view of `user`: how the viewer lists them (is…), how they list the viewer (rev…).
fn relation(state: &ServiceState, viewer: Option<u64>, user: &User) -> Relation {
    let mine = viewer
        .and_then(|v| state.users.get(&v))
        .map(|me| me.closeness(user.id))
        .unwrap_or_default();
    let theirs = viewer.map(|v| user.closeness(v)).unwrap_or_default();
    Relation {
        isfamily: mine.family,
        isfriend: mine.friend,
        iscontact: mine.contact,
        revfamily: theirs.family,
        revfriend: theirs.friend,
        revcontact: theirs.contact,
    }
}

#[derive(Serialize)]
struct Count {
    docs: usize,
    posts: usize,
    network: usize,
}

fn count(state: &ServiceState, request: &Request<'_>, user: &User) -> Count {
    Count {
        docs: state
            .docs
            .values()
            .filter(|d| d.owner == user.id && sees(state, request.user_id(), d))
            .count(),
        posts: state.posts.values().filter(|p| p.owner == user.id).count(),
        network: user.network.len(),
    }
}

#[derive(Serialize)]
struct Location<'a> {
    country: &'a str,
    town: &'a str,
    lat: f64,
    lng: f64,
}

#[derive(Serialize)]
struct UserAnswer<'a> {
    user_id: u64,
    is_pro: bool,
    is_online: bool,
    is_closed: bool,
    tmo: i64,
    username: &'a str,
    realname: &'a str,
    alias: String,
    icon: String,
    link: String,
    relation: Relation,
    location: Location<'a>,
    count: Count,
}

/// `user.get`: a member by id or alias.
pub(super) fn get(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let wanted = request
        .param("user_id")
        .ok_or_else(|| method_error(1, "User not found"))?;
    let user = wanted
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| state.users.get(&id))
        .or_else(|| {
            state
                .users
                .values()
                .find(|u| u.alias() == wanted.to_lowercase())
        })
        .ok_or_else(|| method_error(1, "User not found"))?;
    let alias = user.alias();
    answer(
        "user",
        &UserAnswer {
            user_id: user.id,
            is_pro: true,
            is_online: false,
            is_closed: false,
            tmo: 0,
            username: &user.username,
            realname: &user.realname,
            link: format!("{}/home/{alias}", request.origin),
            alias,
            icon: icon(request, user.id),
            relation: relation(state, request.user_id(), user),
            location: Location {
                country: &user.country,
                town: &user.town,
                lat: user.lat,
                lng: user.lng,
            },
            count: count(state, request, user),
        },
    )
}

/// A `relation` filter's code; 0 (everyone listed) when not sent.
fn relation_filter(request: &Request<'_>) -> u8 {
    request
        .param("relation")
        .and_then(|r| r.parse::<u8>().ok())
        .unwrap_or(0)
}

#[derive(Serialize)]
struct NetworkUser<'a> {
    user_id: u64,
    username: &'a str,
    icon: String,
    alias: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    realname: Option<&'a str>,
    relation: Relation,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<Count>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location<'a>>,
}

#[derive(Serialize)]
struct NetworkPage<'a> {
    count: usize,
    page: usize,
    pages: usize,
    total: usize,
    per_page: usize,
    user: Vec<NetworkUser<'a>>,
}

/// `network.getList`: the members a member lists, filtered by relation; `relation=8` (the
/// caller's own list only) gives those the caller blocks.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let owner_id = user_param(state, request, 1)?;
    let owner = state
        .users
        .get(&owner_id)
        .ok_or_else(|| method_error(1, "User not found"))?;
    let filter = relation_filter(request);
    let listed: Vec<&User> = match filter {
        8 if request.user_id() == Some(owner_id) => owner
            .blocked
            .iter()
            .filter_map(|id| state.users.get(id))
            .collect(),
        8 => Vec::new(),
        code => owner
            .network
            .iter()
            .filter(|(_, closeness)| closeness.matches(code))
            .filter_map(|(id, _)| state.users.get(id))
            .collect(),
    };
    let extras: Vec<&str> = super::comma_list(request, "extra").collect();
    let page = super::Page::of(request, listed.len());
    let user: Vec<NetworkUser<'_>> = page
        .slice(&listed)
        .iter()
        .map(|u| NetworkUser {
            user_id: u.id,
            username: &u.username,
            icon: icon(request, u.id),
            alias: u.alias(),
            realname: extras.contains(&"realname").then_some(u.realname.as_str()),
            relation: relation(state, Some(owner_id), u),
            count: extras.contains(&"count").then(|| count(state, request, u)),
            location: extras.contains(&"location").then_some(Location {
                country: &u.country,
                town: &u.town,
                lat: u.lat,
                lng: u.lng,
            }),
        })
        .collect();
    answer(
        "network",
        &NetworkPage {
            count: user.len(),
            page: page.page,
            pages: page.pages,
            total: listed.len(),
            per_page: page.per_page,
            user,
        },
    )
}

#[derive(Serialize)]
struct Suggestion<'a> {
    user_id: u64,
    username: &'a str,
    isfriend: bool,
    isfamily: bool,
    icon: String,
}

#[derive(Serialize)]
struct Suggestions<'a> {
    query: &'a str,
    network: u8,
    count: usize,
    complete: bool,
    user: Vec<Suggestion<'a>>,
}

/// The most suggestions one `network.autocomplete` answer gives.
const MAX_SUGGESTIONS: usize = 50;

/// `network.autocomplete`: members of the caller's network whose name begins with the query
/// (or holds it anywhere, with `anywhere=1`).
pub(super) fn autocomplete(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let query = request
        .param("query")
        .map(str::trim)
        .filter(|q| {
            !q.is_empty()
                && q.chars()
                    .all(|c| c.is_alphanumeric() || " .-_'".contains(c))
        })
        .ok_or_else(|| method_error(1, "Query empty or invalid"))?;
    let needle = query.to_lowercase();
    let anywhere = request.param("anywhere") == Some("1");
    let relation = relation_filter(request);
    let me = request.user_id().and_then(|c| state.users.get(&c));
    let network: Vec<(&User, Closeness)> = me
        .map(|me| {
            me.network
                .iter()
                .filter(|(_, c)| c.matches(relation))
                .filter_map(|(id, c)| Some((state.users.get(id)?, *c)))
                .collect()
        })
        .unwrap_or_default();
    let matching: Vec<&(&User, Closeness)> = network
        .iter()
        .filter(|(u, _)| {
            let name = u.username.to_lowercase();
            match anywhere {
                true => name.contains(&needle),
                false => name.starts_with(&needle),
            }
        })
        .collect();
    let user: Vec<Suggestion<'_>> = matching
        .iter()
        .take(MAX_SUGGESTIONS)
        .map(|(u, c)| Suggestion {
            user_id: u.id,
            username: &u.username,
            isfriend: c.friend,
            isfamily: c.family,
            icon: icon(request, u.id),
        })
        .collect();
    answer(
        "network",
        &Suggestions {
            query,
            network: relation,
            count: matching.len(),
            complete: matching.len() <= MAX_SUGGESTIONS,
            user,
        },
    )
}

#[derive(Serialize)]
struct RecentDocs<'a> {
    count: usize,
    show: usize,
    doc: Vec<DocItem<'a>>,
}

/// `network.docs.getRecent`: documents the caller's network posted in the last `hours` (24
/// unless sent, at most 744), at most `limit` per member (5, at most 10) and `count` in all (50,
/// at most 100), newest first.
pub(super) fn docs_recent(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let number = |name: &str, default: u64, max: u64| {
        request
            .param(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
            .clamp(1, max)
    };
    let hours = number("hours", 24, 744);
    let limit = usize::try_from(number("limit", 5, 10)).unwrap_or(5);
    let count = usize::try_from(number("count", 50, 100)).unwrap_or(50);
    let relation = relation_filter(request);
    let since = unix_now().saturating_sub(hours * 3600);
    let me = request.user_id().and_then(|c| state.users.get(&c));
    let mut docs: Vec<&Doc> = state
        .docs
        .values()
        .rev()
        .filter(|d| d.posted_at >= since)
        .filter(|d| {
            me.is_some_and(|me| {
                me.network
                    .get(&d.owner)
                    .is_some_and(|c| c.matches(relation))
            })
        })
        .filter(|d| sees(state, request.user_id(), d))
        .collect();
    filter_safe_media(request, &mut docs);
    let mut per_member: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    docs.retain(|d| {
        let seen = per_member.entry(d.owner).or_default();
        *seen += 1;
        *seen <= limit
    });
    let total = docs.len();
    docs.truncate(count);
    answer(
        "docs",
        &RecentDocs {
            count: total,
            show: docs.len(),
            doc: docs
                .iter()
                .map(|d| DocItem::of(state, request, d, true))
                .collect(),
        },
    )
}

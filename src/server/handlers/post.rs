//! `post.*` (without comments, which live with the documents' in `comments`): blog posts, seen
//! as their visibility says, edited by their owner, listed, searched, and their neighbours,
//! faves and visitors.

use serde::Serialize;

use super::views::{FavesPage, VisitsPage, normalised};
use super::{answer, comma_list, id_param, method_error, user_param};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::records::{Post, may_see, record_visit, share_code, share_flags};
use crate::server::state::{ServiceState, unix_now};

fn post_id(request: &Request<'_>) -> Result<u64, ApiError> {
    id_param(request, "post_id", "Article")
}

fn sees_post(state: &ServiceState, request: &Request<'_>, post: &Post) -> bool {
    may_see(
        state.users.get(&post.owner),
        post.owner,
        request.user_id(),
        (post.is_public, post.is_friend, post.is_family),
    )
}

fn visible_post<'a>(state: &'a ServiceState, request: &Request<'_>) -> Result<&'a Post, ApiError> {
    state
        .posts
        .get(&post_id(request)?)
        .filter(|p| sees_post(state, request, p))
        .ok_or_else(|| method_error(1, "Article not found"))
}

fn share(post: &Post) -> u8 {
    share_code(post.is_public, post.is_friend, post.is_family)
}

fn link(request: &Request<'_>, post: &Post) -> String {
    format!("{}/blog/{}/{}", request.origin, post.owner, post.id)
}

#[derive(Serialize)]
struct Visibility {
    ispublic: bool,
    isfamily: bool,
    isfriend: bool,
    share: u8,
}

#[derive(Serialize)]
struct Dates {
    posted_at: u64,
    created: u64,
    last_comment_at: u64,
    last_update_at: u64,
}

#[derive(Serialize)]
struct Owner<'a> {
    user_id: u64,
    username: &'a str,
    alias: String,
    is_pro: bool,
    icon: String,
}

#[derive(Serialize)]
struct Count {
    visits: u64,
    faves: usize,
    comments: usize,
    tags: usize,
}

#[derive(Serialize)]
struct Permissions {
    comment: u8,
    tag: u8,
    tagme: u8,
}

#[derive(Serialize)]
struct Share {
    url: String,
}

#[derive(Serialize)]
struct Can {
    fave: bool,
    comment: bool,
    tag: bool,
    tagme: bool,
    zoom: bool,
    share: bool,
    download: bool,
    print: bool,
    extra: bool,
}

#[derive(Serialize)]
struct You {
    isfave: bool,
    visits: u64,
    last_visit_at: u64,
}

#[derive(Serialize)]
struct PostTag<'a> {
    id: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: u64,
    tag: &'a str,
    /// Posts keep no time per tag: the post's own.
    added_at: u64,
}

#[derive(Serialize)]
struct PostTags<'a> {
    total: usize,
    tag: Vec<PostTag<'a>>,
}

/// A post as `post.get` and `post.set` answer it.
#[derive(Serialize)]
struct PostAnswer<'a> {
    post_id: u64,
    license: u8,
    link: String,
    title: &'a str,
    intro: &'a str,
    safety: u8,
    description: &'a str,
    visibility: Visibility,
    dates: Dates,
    owner: Owner<'a>,
    count: Count,
    permissions: Permissions,
    share: Share,
    can: Can,
    you: You,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<PostTags<'a>>,
}

fn post_answer<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    post: &'a Post,
) -> PostAnswer<'a> {
    let caller = request.user_id();
    let comments: Vec<u64> = state
        .comments
        .values()
        .filter(|c| c.on == crate::server::records::Commented::Post(post.id))
        .map(|c| c.posted_at)
        .collect();
    let mine = post
        .visits
        .iter()
        .find(|v| v.user_id.is_some() && v.user_id == caller);
    let unblocked = super::not_blocked(state, request, post.owner).is_ok();
    let allowed = |audience| super::in_audience(state, request, post.owner, audience) && unblocked;
    let owner = state.users.get(&post.owner);
    PostAnswer {
        post_id: post.id,
        license: post.license,
        link: link(request, post),
        title: &post.title,
        intro: &post.intro,
        safety: 1,
        description: &post.content,
        visibility: Visibility {
            ispublic: post.is_public,
            isfamily: post.is_family,
            isfriend: post.is_friend,
            share: share(post),
        },
        dates: Dates {
            posted_at: post.posted_at,
            created: post.posted_at,
            last_comment_at: comments.iter().copied().max().unwrap_or(0),
            last_update_at: post.modified_at.max(post.posted_at),
        },
        owner: Owner {
            user_id: post.owner,
            username: owner.map_or("", |u| u.username.as_str()),
            alias: owner.map(User::alias).unwrap_or_default(),
            is_pro: true,
            icon: format!("{}/p/{}/userphoto.jpg", request.origin, post.owner),
        },
        count: Count {
            visits: post.visits.iter().map(|v| v.visits).sum(),
            faves: post.faves.len(),
            comments: comments.len(),
            tags: post.tags.len(),
        },
        permissions: Permissions {
            comment: post.perm_comment,
            tag: post.perm_tag,
            tagme: post.perm_tagme,
        },
        share: Share {
            url: link(request, post),
        },
        can: Can {
            fave: caller.is_some() && unblocked,
            comment: allowed(post.perm_comment),
            tag: allowed(post.perm_tag),
            tagme: allowed(post.perm_tagme),
            zoom: false,
            share: post.is_public,
            download: false,
            print: false,
            extra: false,
        },
        you: You {
            isfave: caller.is_some_and(|c| post.faves.iter().any(|f| f.user_id == c)),
            visits: mine.map_or(0, |v| v.visits),
            last_visit_at: mine.map_or(0, |v| v.visited_at),
        },
        tags: comma_list(request, "extra")
            .any(|e| e == "tags")
            .then(|| PostTags {
                total: post.tags.len(),
                tag: post
                    .tags
                    .iter()
                    .map(|(id, tag)| PostTag {
                        id: *id,
                        kind: "keyword",
                        user_id: post.owner,
                        tag,
                        added_at: post.posted_at,
                    })
                    .collect(),
            }),
    }
}

use crate::server::records::User;

/// `post.get`: a visit by anyone but the owner is counted.
pub(super) fn get(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let post = visible_post(state, request)?;
    let (id, owner) = (post.id, post.owner);
    if request.user_id() != Some(owner)
        && let Some(post) = state.posts.get_mut(&id)
    {
        record_visit(&mut post.visits, request.user_id(), unix_now());
    }
    let post = visible_post(state, request)?;
    answer("post", &post_answer(state, request, post))
}

/// `post.set`: the owner's; title and/or content, and the optional settings.
pub(super) fn set(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let mut post = visible_post(state, request)?.clone();
    if request.user_id() != Some(post.owner) {
        return Err(method_error(1, "Article not found"));
    }
    let title = request.params.get("title");
    let content = request.params.get("content");
    if title.is_none() && content.is_none() {
        return Err(method_error(2, "Neither title nor content sent"));
    }
    let code = |name: &str, allowed: &[u8]| super::code_param(request, name, allowed, 3);
    let audiences = [0, 3, 4, 5];
    let com = code("com", &audiences)?;
    let tag = code("tag", &audiences)?;
    let tagme = code("tagme", &audiences)?;
    let shared = code("share", &[0, 1, 2, 3, 4])?;
    let license = code("license", &[0, 1, 3, 5, 7, 9, 11, 255])?;
    if let Some(title) = title {
        post.title = title.to_owned();
    }
    if let Some(content) = content {
        post.content = content.to_owned();
    }
    if let Some(intro) = request.params.get("intro") {
        post.intro = intro.to_owned();
    }
    post.perm_comment = com.unwrap_or(post.perm_comment);
    post.perm_tag = tag.unwrap_or(post.perm_tag);
    post.perm_tagme = tagme.unwrap_or(post.perm_tagme);
    post.license = license.unwrap_or(post.license);
    if let Some(share) = shared {
        (post.is_public, post.is_family, post.is_friend) = share_flags(share);
    }
    post.modified_at = unix_now();
    let id = post.id;
    state.posts.insert(id, post);
    let post = visible_post(state, request)?;
    answer("post", &post_answer(state, request, post))
}

#[derive(Serialize)]
struct ItemOwner<'a> {
    user_id: u64,
    username: &'a str,
}

#[derive(Serialize)]
struct ItemDates {
    posted_at: u64,
    last_update_at: u64,
}

#[derive(Serialize)]
struct PostItem<'a> {
    post_id: u64,
    title: &'a str,
    license: u8,
    safety: u8,
    link: String,
    owner: ItemOwner<'a>,
    dates: ItemDates,
}

#[derive(Serialize)]
struct PostPage<'a> {
    total: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    post: Vec<PostItem<'a>>,
}

fn page_of<'a>(state: &'a ServiceState, request: &Request<'_>, posts: &[&'a Post]) -> PostPage<'a> {
    let page = super::Page::of(request, posts.len());
    PostPage {
        total: posts.len(),
        per_page: page.per_page,
        page: page.page,
        pages: page.pages,
        post: page
            .slice(posts)
            .iter()
            .map(|p| PostItem {
                post_id: p.id,
                title: &p.title,
                license: p.license,
                safety: 1,
                link: link(request, p),
                owner: ItemOwner {
                    user_id: p.owner,
                    username: super::username(state, p.owner),
                },
                dates: ItemDates {
                    posted_at: p.posted_at,
                    last_update_at: p.modified_at.max(p.posted_at),
                },
            })
            .collect(),
    }
}

/// `post.getList`: a member's posts the caller sees, newest first.
pub(super) fn list(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = user_param(state, request, 1)?;
    let posts: Vec<&Post> = state
        .posts
        .values()
        .rev()
        .filter(|p| p.owner == user && sees_post(state, request, p))
        .collect();
    answer("posts", &page_of(state, request, &posts))
}

/// `post.search`: posts the caller sees matching every criterion sent.
pub(super) fn search(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = match request.param("user_id") {
        Some(_) => Some(user_param(state, request, 1)?),
        None => None,
    };
    let words: Vec<String> = request
        .param("text")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let tags: Vec<String> = comma_list(request, "tags").map(normalised).collect();
    let licenses: Vec<u8> = comma_list(request, "license")
        .filter_map(|l| l.parse().ok())
        .collect();
    let number = |name: &str| request.param(name).and_then(|v| v.parse::<u64>().ok());
    let posted = (
        number("posted_min").unwrap_or(0),
        number("posted_max").unwrap_or(u64::MAX),
    );
    let share_filter = request.param("share").and_then(|s| s.parse::<u8>().ok());
    let mut posts: Vec<&Post> = state
        .posts
        .values()
        .filter(|p| sees_post(state, request, p))
        .filter(|p| user.is_none_or(|u| p.owner == u))
        .filter(|p| licenses.is_empty() || licenses.contains(&p.license))
        .filter(|p| (posted.0..=posted.1).contains(&p.posted_at))
        .filter(|p| {
            share_filter.is_none_or(|s| match s {
                4 => p.is_public,
                code => !p.is_public && share(p) == code,
            })
        })
        .filter(|p| {
            let own: Vec<String> = p.tags.iter().map(|(_, t)| normalised(t)).collect();
            tags.iter().all(|t| own.contains(t))
        })
        .filter(|p| {
            let text = format!("{} {} {}", p.title, p.intro, p.content).to_lowercase();
            words.iter().all(|w| text.contains(w))
        })
        .collect();
    match request.param("sort").unwrap_or("relevance") {
        "posted-asc" | "created-asc" => posts.sort_by_key(|p| (p.posted_at, p.id)),
        "popular" => posts.sort_by_key(|p| std::cmp::Reverse((p.faves.len(), p.id))),
        _ => posts.sort_by_key(|p| std::cmp::Reverse((p.posted_at, p.id))),
    }
    let page = page_of(state, request, &posts);
    answer(
        "posts",
        &SearchPage {
            page: page.page,
            total: page.total,
            pages: page.pages,
            per_page: page.per_page,
            post: page.post,
        },
    )
}

#[derive(Serialize)]
struct SearchPage<'a> {
    page: usize,
    total: usize,
    pages: usize,
    per_page: usize,
    post: Vec<PostItem<'a>>,
}

#[derive(Serialize)]
struct ContextPost<'a> {
    index: i64,
    post_id: u64,
    title: &'a str,
    link: String,
    user_id: u64,
}

#[derive(Serialize)]
struct Neighbours<'a> {
    count: usize,
    post: Vec<ContextPost<'a>>,
}

#[derive(Serialize)]
struct PostContext<'a> {
    prev: Neighbours<'a>,
    post: ContextPost<'a>,
    next: Neighbours<'a>,
}

/// `post.getContext`: the post among its owner's, oldest first.
pub(super) fn context<'a>(state: &'a ServiceState, request: &Request<'_>) -> Outcome {
    let post = visible_post(state, request)?;
    let posts: Vec<&'a Post> = state
        .posts
        .values()
        .filter(|p| p.owner == post.owner && sees_post(state, request, p))
        .collect();
    let at = posts.iter().position(|p| p.id == post.id).unwrap_or(0);
    let entry = |index: i64, p: &'a Post| ContextPost {
        index,
        post_id: p.id,
        title: &p.title,
        link: link(request, p),
        user_id: p.owner,
    };
    let ((before, prev), (after, next)) = super::views::around(request, &posts, at, entry);
    let context = PostContext {
        prev: Neighbours {
            count: before,
            post: prev,
        },
        post: entry(0, post),
        next: Neighbours {
            count: after,
            post: next,
        },
    };
    super::members(&context)
}

/// `post.getFaves`.
pub(super) fn faves(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let post = visible_post(state, request)?;
    answer("faves", &FavesPage::of(state, request, &post.faves))
}

/// `post.getVisitors`: the owner's to see.
pub(super) fn visitors(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let post = visible_post(state, request)?;
    if request.user_id() != Some(post.owner) {
        return Err(method_error(1, "Article not found"));
    }
    answer("visits", &VisitsPage::of(state, request, &post.visits))
}

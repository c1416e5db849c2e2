//! `doc.comments.*` and `post.comments.*`: comments on documents and blog posts, replies,
//! edits and deletions, and `doc.notes.*`, the notes on a photo.
//!
//! Who may comment is the commented thing's `comment` permission (§9.1); a member the owner
//! blocks may not (109). A comment is edited by its author, deleted by its author or by the
//! owner of what it is on (a post's comment only within 7 days). `preview=1` checks and renders
//! without keeping anything.

use serde::Serialize;

use super::{answer, id_param, in_audience, method_error, not_blocked, sees, visible};
use crate::error::ApiError;
use crate::server::call::{Outcome, Request};
use crate::server::records::{Comment, Commented, Note, may_see};
use crate::server::state::{ServiceState, unix_now};
use crate::value::Map;

/// The most comments one document or post holds (error 4; the figure is the emulator's).
const MAX_COMMENTS: usize = 10_000;
/// The most notes one photo holds (error 5; the figure is the emulator's).
const MAX_NOTES: usize = 100;
/// The longest comment or note, in bytes (longer ones are cut, as the site's form does).
const MAX_TEXT: usize = 10_000;
/// How long a post's comment may still be deleted.
const DELETE_WINDOW: u64 = 7 * 24 * 3600;

/// Which family a handler serves: the error codes and ids differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum On {
    Doc,
    Post,
}

/// Where a commented thing lives, who owns it, and who may comment.
struct Thing {
    owner: u64,
    perm_comment: u8,
    link: String,
}

/// The document or post a request names, if the caller sees it.
fn thing(state: &ServiceState, request: &Request<'_>, on: Commented) -> Option<Thing> {
    match on {
        Commented::Doc(id) => {
            let doc = state
                .docs
                .get(&id)
                .filter(|d| sees(state, request.user_id(), d))?;
            Some(Thing {
                owner: doc.owner,
                perm_comment: doc.perms.comment,
                link: format!("{}/doc/{}/{}", request.origin, doc.owner, doc.id),
            })
        }
        Commented::Post(id) => {
            let post = state.posts.get(&id).filter(|p| {
                may_see(
                    state.users.get(&p.owner),
                    p.owner,
                    request.user_id(),
                    (p.is_public, p.is_friend, p.is_family),
                )
            })?;
            Some(Thing {
                owner: post.owner,
                perm_comment: post.perm_comment,
                link: format!("{}/blog/{}/{}", request.origin, post.owner, post.id),
            })
        }
    }
}

/// A comment as the methods answer it.
#[derive(Serialize)]
struct CommentAnswer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<u64>,
    comment_id: u64,
    user_id: u64,
    username: &'a str,
    posted_at: u64,
    #[serde(skip_serializing_if = "is_zero")]
    modified_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    canreply: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canedit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candelete: Option<bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    link: String,
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<Parent<'a>>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

#[derive(Serialize)]
struct Parent<'a> {
    comment_id: u64,
    user_id: u64,
    username: &'a str,
    content: &'a str,
}

impl<'a> CommentAnswer<'a> {
    fn of(state: &'a ServiceState, comment: &'a Comment, link: &str) -> Self {
        CommentAnswer {
            parent_id: comment.parent_id,
            comment_id: comment.id,
            user_id: comment.user_id,
            username: super::username(state, comment.user_id),
            posted_at: comment.posted_at,
            modified_at: comment.modified_at,
            canreply: None,
            canedit: None,
            candelete: None,
            link: format!("{link}/comment/{0}#comment{0}", comment.id),
            content: &comment.content,
            parent: None,
        }
    }
}

/// The text a comment or note is sent with: trimmed, cut to [`MAX_TEXT`] bytes on a character
/// boundary; `None` when empty or made of HTML tags only.
fn text_param(request: &Request<'_>) -> Option<String> {
    let text = request.param("content")?.trim();
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = text.get(..end)?;
    let mut inside_tag = false;
    let visible = text.chars().any(|c| match c {
        '<' => {
            inside_tag = true;
            false
        }
        '>' => {
            inside_tag = false;
            false
        }
        c => !inside_tag && !c.is_whitespace(),
    });
    visible.then(|| text.to_owned())
}

fn preview(request: &Request<'_>) -> bool {
    request.param("preview") == Some("1")
}

fn not_found(on: On) -> ApiError {
    match on {
        On::Doc => method_error(1, "Document not found"),
        On::Post => method_error(1, "Article not found"),
    }
}

/// `doc.comments.add` and `post.comments.add`.
pub(super) fn add(state: &mut ServiceState, request: &Request<'_>, on: On) -> Outcome {
    let target = match on {
        On::Doc => Commented::Doc(id_param(request, "doc_id", "Document")?),
        On::Post => Commented::Post(id_param(request, "post_id", "Article")?),
    };
    let thing = thing(state, request, target).ok_or_else(|| not_found(on))?;
    let content = text_param(request).ok_or_else(|| method_error(2, "Comment text empty"))?;
    not_blocked(state, request, thing.owner)?;
    if !in_audience(state, request, thing.owner, thing.perm_comment) {
        return Err(method_error(3, "You may not comment here"));
    }
    if on == On::Doc && state.comments.values().filter(|c| c.on == target).count() >= MAX_COMMENTS {
        return Err(method_error(4, "Comment limit reached"));
    }
    let comment = Comment {
        id: if preview(request) {
            0
        } else {
            state.ids.next()
        },
        on: target,
        user_id: request.user_id().unwrap_or_default(),
        content,
        posted_at: unix_now(),
        modified_at: 0,
        parent_id: None,
    };
    keep_and_answer(state, request, comment, &thing.link)
}

/// Keeps a comment (unless previewed) and answers it.
fn keep_and_answer(
    state: &mut ServiceState,
    request: &Request<'_>,
    comment: Comment,
    link: &str,
) -> Outcome {
    if preview(request) {
        return answer("comment", &CommentAnswer::of(state, &comment, link));
    }
    let id = comment.id;
    state.comments.insert(id, comment);
    let comment = state
        .comments
        .get(&id)
        .ok_or_else(|| method_error(1, "Comment not found"))?;
    answer("comment", &CommentAnswer::of(state, comment, link))
}

/// A comment of the family the caller sees, with what it is on.
fn comment<'a>(
    state: &'a ServiceState,
    request: &Request<'_>,
    on: On,
) -> Result<(&'a Comment, Thing), ApiError> {
    let id = id_param(request, "comment_id", "Comment")?;
    let comment = state
        .comments
        .get(&id)
        .filter(|c| {
            matches!(
                (c.on, on),
                (Commented::Doc(_), On::Doc) | (Commented::Post(_), On::Post)
            )
        })
        .ok_or_else(|| method_error(1, "Comment not found"))?;
    let thing =
        thing(state, request, comment.on).ok_or_else(|| method_error(1, "Comment not found"))?;
    Ok((comment, thing))
}

/// `doc.comments.get` and `post.comments.get`: with what the caller may do, and the comment it
/// answers.
pub(super) fn get(state: &ServiceState, request: &Request<'_>, on: On) -> Outcome {
    let (comment, thing) = comment(state, request, on)?;
    let caller = request.user_id();
    let mut value = CommentAnswer::of(state, comment, &thing.link);
    value.canreply = Some(
        in_audience(state, request, thing.owner, thing.perm_comment)
            && not_blocked(state, request, thing.owner).is_ok(),
    );
    value.canedit = Some(caller == Some(comment.user_id));
    value.candelete = Some(caller == Some(comment.user_id) || caller == Some(thing.owner));
    value.parent = comment
        .parent_id
        .and_then(|id| state.comments.get(&id))
        .map(|parent| Parent {
            comment_id: parent.id,
            user_id: parent.user_id,
            username: super::username(state, parent.user_id),
            content: &parent.content,
        });
    answer("comment", &value)
}

/// `doc.comments.edit` and `post.comments.edit`: the author's.
pub(super) fn edit(state: &mut ServiceState, request: &Request<'_>, on: On) -> Outcome {
    let (comment, thing) = comment(state, request, on)?;
    if request.user_id() != Some(comment.user_id) {
        return Err(method_error(1, "You may not edit this comment"));
    }
    let content = text_param(request).ok_or_else(|| method_error(2, "Comment text empty"))?;
    let mut edited = comment.clone();
    edited.content = content;
    edited.modified_at = unix_now();
    keep_and_answer(state, request, edited, &thing.link)
}

/// `doc.comments.reply` and `post.comments.reply`.
pub(super) fn reply(state: &mut ServiceState, request: &Request<'_>, on: On) -> Outcome {
    let (parent, thing) = comment(state, request, on)?;
    let (parent_id, parent_on) = (parent.id, parent.on);
    let content = text_param(request).ok_or_else(|| method_error(2, "Comment text empty"))?;
    not_blocked(state, request, thing.owner)?;
    if !in_audience(state, request, thing.owner, thing.perm_comment) {
        return Err(method_error(3, "You may not comment here"));
    }
    let reply = Comment {
        id: state.ids.next(),
        on: parent_on,
        user_id: request.user_id().unwrap_or_default(),
        content,
        posted_at: unix_now(),
        modified_at: 0,
        parent_id: Some(parent_id),
    };
    keep_and_answer(state, request, reply, &thing.link)
}

/// `doc.comments.delete` and `post.comments.delete`: the comment and its replies.
pub(super) fn delete(state: &mut ServiceState, request: &Request<'_>, on: On) -> Outcome {
    let (comment, thing) = comment(state, request, on)?;
    let caller = request.user_id();
    if caller != Some(comment.user_id) && caller != Some(thing.owner) {
        return Err(method_error(1, "You may not delete this comment"));
    }
    if on == On::Post && unix_now().saturating_sub(comment.posted_at) > DELETE_WINDOW {
        return Err(method_error(3, "Comment older than 7 days"));
    }
    let id = comment.id;
    state
        .comments
        .retain(|key, c| *key != id && c.parent_id != Some(id));
    Ok(Map::default())
}

#[derive(Serialize)]
struct CommentPage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_id: Option<u64>,
    total: usize,
    count: usize,
    per_page: usize,
    page: usize,
    pages: usize,
    comment: Vec<CommentAnswer<'a>>,
}

/// `doc.comments.getList` and `post.comments.getList`: oldest first.
pub(super) fn list(state: &ServiceState, request: &Request<'_>, on: On) -> Outcome {
    let target = match on {
        On::Doc => Commented::Doc(id_param(request, "doc_id", "Document")?),
        On::Post => Commented::Post(id_param(request, "post_id", "Article")?),
    };
    let thing = thing(state, request, target).ok_or_else(|| not_found(on))?;
    let comments: Vec<&Comment> = state.comments.values().filter(|c| c.on == target).collect();
    let page = super::Page::of(request, comments.len());
    let comment: Vec<CommentAnswer<'_>> = page
        .slice(&comments)
        .iter()
        .map(|c| CommentAnswer::of(state, c, &thing.link))
        .collect();
    let (doc_id, post_id) = match target {
        Commented::Doc(id) => (Some(id), None),
        Commented::Post(id) => (None, Some(id)),
    };
    answer(
        "comments",
        &CommentPage {
            doc_id,
            post_id,
            total: comments.len(),
            count: comment.len(),
            per_page: page.per_page,
            page: page.page,
            pages: page.pages,
            comment,
        },
    )
}

/// A note as `doc.notes.*` answer it: the rectangle, and its text as the element's content.
#[derive(Serialize)]
struct NoteAnswer<'a> {
    note_id: u64,
    user_id: u64,
    posted_at: u64,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<u64>,
    #[serde(rename = "_value")]
    content: &'a str,
}

impl<'a> NoteAnswer<'a> {
    fn of(note: &'a Note) -> Self {
        NoteAnswer {
            note_id: note.id,
            user_id: note.user_id,
            posted_at: note.posted_at,
            x: note.x,
            y: note.y,
            w: note.w,
            h: note.h,
            member_id: note.member_id,
            content: &note.content,
        }
    }
}

/// The rectangle a request sends, if it fits the photo's 500 thumbnail.
fn rectangle(
    request: &Request<'_>,
    (width, height): (u32, u32),
    current: Option<[u32; 4]>,
) -> Result<[u32; 4], ApiError> {
    let mut values = [0u32; 4];
    for (slot, name) in values.iter_mut().zip(["x", "y", "w", "h"]) {
        let sent = request.param(name).map(|v| v.trim().parse::<u32>());
        *slot = match (sent, current) {
            (Some(Ok(value)), _) => value,
            (None, Some(current)) => {
                let at = ["x", "y", "w", "h"]
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or(0);
                current.get(at).copied().unwrap_or(0)
            }
            _ => return Err(method_error(4, "Coordinates do not fit the photo")),
        };
    }
    let [x, y, w, h] = values;
    let fits = w > 0
        && h > 0
        && x.checked_add(w).is_some_and(|right| right <= width)
        && y.checked_add(h).is_some_and(|bottom| bottom <= height);
    match fits {
        true => Ok(values),
        false => Err(method_error(4, "Coordinates do not fit the photo")),
    }
}

/// `doc.notes.add`: on a photo the caller sees and may comment; naming a member the caller lists
/// (or themselves) and who does not block the caller.
pub(super) fn note_add(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let id = id_param(request, "doc_id", "Document")?;
    let doc = visible(state, request, id)?;
    let content = text_param(request).ok_or_else(|| method_error(2, "Note text empty"))?;
    not_blocked(state, request, doc.owner)?;
    if !in_audience(state, request, doc.owner, doc.perms.comment) {
        return Err(method_error(1, "You may not add notes here"));
    }
    let caller = request.user_id().unwrap_or_default();
    let member = match request.param("member_id") {
        None => None,
        Some(member) => {
            let member = member
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|m| {
                    let listed = *m == caller
                        || state
                            .users
                            .get(&caller)
                            .is_some_and(|me| me.network.contains_key(m));
                    let blocking = state
                        .users
                        .get(m)
                        .is_some_and(|them| them.blocked.contains(&caller));
                    listed && !blocking
                })
                .ok_or_else(|| method_error(3, "Member unknown or outside your network"))?;
            Some(member)
        }
    };
    let size = crate::server::media::thumb_size("500", doc.width, doc.height);
    let [x, y, w, h] = rectangle(request, size, None)?;
    if state.notes.values().filter(|n| n.doc_id == id).count() >= MAX_NOTES {
        return Err(method_error(5, "This photo has the most notes it may have"));
    }
    let note = Note {
        id: if preview(request) {
            0
        } else {
            state.ids.next()
        },
        doc_id: id,
        user_id: caller,
        member_id: member,
        content,
        x,
        y,
        w,
        h,
        posted_at: unix_now(),
    };
    if preview(request) {
        return answer("note", &NoteAnswer::of(&note));
    }
    let note_id = note.id;
    state.notes.insert(note_id, note);
    let note = state
        .notes
        .get(&note_id)
        .ok_or_else(|| method_error(1, "Note not found"))?;
    answer("note", &NoteAnswer::of(note))
}

/// A note the caller may change: its author's, or on the caller's photo.
fn own_note(state: &ServiceState, request: &Request<'_>) -> Result<Note, ApiError> {
    let id = id_param(request, "note_id", "Note")?;
    let caller = request.user_id();
    state
        .notes
        .get(&id)
        .filter(|note| {
            caller == Some(note.user_id)
                || state
                    .docs
                    .get(&note.doc_id)
                    .is_some_and(|doc| caller == Some(doc.owner))
        })
        .cloned()
        .ok_or_else(|| method_error(1, "Note not found"))
}

/// `doc.notes.edit`: text and rectangle.
pub(super) fn note_edit(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let mut note = own_note(state, request)?;
    if request.params.get("content").is_some() {
        note.content = text_param(request).ok_or_else(|| method_error(2, "Note text empty"))?;
    }
    let size = state
        .docs
        .get(&note.doc_id)
        .map(|doc| crate::server::media::thumb_size("500", doc.width, doc.height))
        .unwrap_or((500, 500));
    [note.x, note.y, note.w, note.h] =
        rectangle(request, size, Some([note.x, note.y, note.w, note.h]))?;
    if preview(request) {
        return answer("note", &NoteAnswer::of(&note));
    }
    let id = note.id;
    state.notes.insert(id, note);
    let note = state
        .notes
        .get(&id)
        .ok_or_else(|| method_error(1, "Note not found"))?;
    answer("note", &NoteAnswer::of(note))
}

/// `doc.notes.delete`.
pub(super) fn note_delete(state: &mut ServiceState, request: &Request<'_>) -> Outcome {
    let note = own_note(state, request)?;
    state.notes.remove(&note.id);
    Ok(Map::default())
}

//! The emulated methods. Each takes the checked request and the state, and returns the payload
//! (the members beside `api`) or the method's documented error.

use std::time::Instant;

use super::{
    Album, Doc, Frob, Grant, Grants, Outcome, ReceivedUpload, Request, StateData, Ticket, USER_ID,
    map, unix_now,
};
use crate::error::{ApiError, ErrorCode};
use crate::methods::{self, MethodInfo, Target};
use crate::protocol::FileContent;
use crate::value::{Map, Value};

/// The most tickets one `upload.checkTickets` call may ask about.
const MAX_TICKETS: usize = 50;

/// Parameters that identify the caller rather than ask anything of the method.
const CREDENTIAL_PARAMS: &[&str] = &["api_key", "api_sig", "auth_token"];

pub(super) fn dispatch(state: &mut StateData, info: &MethodInfo, request: &Request<'_>) -> Outcome {
    match info.name {
        "test.echo" => test_echo(request),
        "test.hello" => Ok(map([("hello", Value::from("hello world!"))])),
        "api.methods.getList" => Ok(methods_list()),
        "api.methods.get" => method_get(request),
        "auth.getFrob" => get_frob(state, request),
        "auth.getToken" => get_token(state, request),
        "auth.checkToken" => check_token(state, request),
        "account.getQuota" => quota(state, request),
        "upload.file" => upload(state, request, false),
        "upload.replace" => upload(state, request, true),
        "upload.checkTickets" => check_tickets(state, request),
        "doc.get" => doc_get(state, request),
        "doc.set" => doc_set(state, request),
        "doc.delete" => doc_delete(state, request),
        "doc.getList" => doc_list(state, request, None),
        "doc.search" => doc_list(state, request, request.param("text")),
        "doc.tags.add" => tags_add(state, request),
        "doc.checkMD5" => check_md5(state, request),
        "doc.tags.getList" => tags_list(state, request),
        "album.create" => album_create(state, request),
        "album.get" => album_get(state, request),
        "album.getList" => album_list(state, request),
        "album.docs.add" => album_docs_add(state, request),
        "album.docs.getList" => album_docs_list(state, request),
        other => Err(ApiError::new(
            ErrorCode::MethodNotFound,
            format!("Method not found: {other} is not emulated"),
        )),
    }
}

fn method_error(code: u32, message: &str) -> ApiError {
    ApiError::new(ErrorCode::Method(code), message)
}

fn text(value: impl ToString) -> Value {
    Value::from(value.to_string())
}

fn flag(value: bool) -> Value {
    Value::from(if value { "1" } else { "0" })
}

pub(super) use crate::auth::{parse_level, parse_target};

fn test_echo(request: &Request<'_>) -> Outcome {
    let echoed: Map = request
        .params
        .iter()
        .filter(|(name, _)| !CREDENTIAL_PARAMS.contains(name) && !name.starts_with("oauth_"))
        .map(|(name, value)| (name.into(), Value::from(value)))
        .collect();
    if echoed.is_empty() {
        return Err(method_error(1, "Nothing was sent"));
    }
    Ok(echoed)
}

fn method_entry(info: &MethodInfo) -> Value {
    let permissions = match info.permission {
        Some(permission) => Value::Map(map([(
            permission.target.as_str(),
            Value::from(permission.level.as_str()),
        )])),
        None => Value::from(""),
    };
    Value::Map(map([
        ("name", Value::from(info.name)),
        ("title", Value::from(info.title)),
        (
            "authentication",
            Value::Map(map([
                ("post", flag(info.post)),
                ("sign", flag(info.sign)),
                ("token", flag(info.token)),
            ])),
        ),
        ("permissions", permissions),
    ]))
}

fn methods_list() -> Map {
    let entries: Vec<Value> = methods::METHODS.iter().map(method_entry).collect();
    map([(
        "methods",
        Value::Map(map([
            ("total", text(entries.len())),
            ("method", Value::List(entries)),
        ])),
    )])
}

fn method_get(request: &Request<'_>) -> Outcome {
    let name = request
        .param("method")
        .ok_or_else(|| method_error(1, "Method not found"))?;
    let info = methods::lookup(name).ok_or_else(|| method_error(1, "Method not found"))?;
    Ok(map([("method", method_entry(info))]))
}

fn get_frob(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let frob = new_frob(state, request.api_key, None)?;
    Ok(map([(
        "auth",
        Value::Map(map([("frob", Value::from(frob))])),
    )]))
}

/// A fresh single-use frob for `api_key`, already approved with `grants` (web flow) or waiting
/// for the user (desktop flow).
pub(super) fn new_frob(
    state: &mut StateData,
    api_key: &str,
    grants: Option<Grants>,
) -> Result<String, ApiError> {
    let frob = fresh_credential()?;
    state.frobs.insert(
        frob.clone(),
        Frob {
            api_key: api_key.to_owned(),
            created: Instant::now(),
            approved: grants,
            used: false,
        },
    );
    Ok(frob)
}

/// A token, frob or secret no one can guess: 128 bits from the operating system's random
/// source (an emulator whose tokens follow a counter or the clock hands out accounts).
pub(super) fn fresh_credential() -> Result<String, ApiError> {
    crate::random::token().map_err(|e| {
        ApiError::new(
            ErrorCode::ServiceError,
            format!("Service error: the random source failed: {e}"),
        )
    })
}

fn auth_payload(state: &StateData, token: &str, grant: &Grant) -> Map {
    let permissions: Map = [
        Target::Doc,
        Target::Blog,
        Target::Post,
        Target::Network,
        Target::Profile,
    ]
    .into_iter()
    .filter_map(|target| {
        grant
            .grants
            .get(&target)
            .map(|level| (target.as_str().into(), Value::from(level.as_str())))
    })
    .collect();
    let user = state.users.get(&grant.user_id);
    map([(
        "auth",
        Value::Map(map([
            ("token", Value::from(token)),
            ("permissions", Value::Map(permissions)),
            (
                "user",
                Value::Map(map([
                    ("user_id", text(grant.user_id)),
                    (
                        "username",
                        Value::from(user.map_or("", |u| u.username.as_str())),
                    ),
                    (
                        "realname",
                        Value::from(user.map_or("", |u| u.realname.as_str())),
                    ),
                ])),
            ),
        ])),
    )])
}

fn get_token(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let frob_id = request
        .param("frob")
        .ok_or_else(|| method_error(1, "Frob missing"))?;
    let lifetime = state.auth_lifetime;
    let grants: Grants = match state.frobs.get_mut(frob_id) {
        Some(frob)
            if frob.api_key == request.api_key
                && !frob.used
                && frob.created.elapsed() < lifetime =>
        {
            let grants = frob
                .approved
                .clone()
                .ok_or_else(|| method_error(2, "Frob invalid (not authorized yet)"))?;
            frob.used = true;
            grants
        }
        _ => return Err(method_error(2, "Frob invalid or already used")),
    };
    let token = fresh_credential()?;
    let grant = Grant {
        api_key: request.api_key.to_owned(),
        user_id: USER_ID,
        grants,
        oauth_secret: None,
    };
    let payload = auth_payload(state, &token, &grant);
    state.dirty.tokens.insert(token.clone());
    state.tokens.insert(token, grant);
    Ok(payload)
}

fn check_token(state: &StateData, request: &Request<'_>) -> Outcome {
    let token = request.token.unwrap_or_default();
    let grant = request
        .grant
        .as_ref()
        .ok_or_else(|| ApiError::global(ErrorCode::TokenMissing))?;
    Ok(auth_payload(state, token, grant))
}

fn quota(state: &StateData, request: &Request<'_>) -> Outcome {
    const MAX: u64 = 10 * 1024 * 1024 * 1024;
    let user = request.user_id().unwrap_or(USER_ID);
    let used: u64 = state
        .docs
        .values()
        .filter(|d| d.owner == user)
        .map(|d| d.size)
        .sum();
    let amount = |bytes: u64| {
        Value::Map(map([
            ("bytes", text(bytes)),
            ("kb", text(bytes / 1024)),
            ("mb", text(bytes / 1024 / 1024)),
            ("percent", text(bytes.saturating_mul(100) / MAX)),
        ]))
    };
    let size = |bytes: u64| {
        Value::Map(map([
            ("bytes", text(bytes)),
            ("kb", text(bytes / 1024)),
            ("mb", text(bytes / 1024 / 1024)),
        ]))
    };
    Ok(map([(
        "quota",
        Value::Map(map([
            ("user_id", text(user)),
            ("is_pro", flag(true)),
            (
                "upload",
                Value::Map(map([
                    ("unlimited", flag(false)),
                    ("max", amount(MAX)),
                    ("used", amount(used)),
                    ("left", amount(MAX.saturating_sub(used))),
                ])),
            ),
            (
                "maxfilesize",
                Value::Map(map(["photo", "audio", "video", "other"]
                    .map(|kind| (kind, size(request.max_file_size))))),
            ),
        ])),
    )]))
}

fn check_tickets(state: &StateData, request: &Request<'_>) -> Outcome {
    let asked: Vec<&str> = request
        .param("tickets")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if asked.is_empty() {
        return Err(method_error(1, "Tickets not found"));
    }
    if asked.len() > MAX_TICKETS {
        return Err(method_error(2, "Too many tickets (at most 50 a call)"));
    }
    if asked.iter().all(|id| !state.tickets.contains_key(*id)) {
        return Err(method_error(1, "Tickets not found"));
    }
    let now = Instant::now();
    let (mut done, mut invalid, mut eta_max) = (0, 0, 0u64);
    let tickets: Vec<Value> = asked
        .iter()
        // A ticket that failed (its document deleted meanwhile) answers as an unknown one.
        .map(|id| match state.tickets.get(*id).filter(|t| !t.invalid) {
            Some(ticket) if ticket.done => {
                done += 1;
                Value::Map(map([
                    ("id", Value::from(*id)),
                    ("done", flag(true)),
                    ("invalid", flag(false)),
                    ("doc_id", text(ticket.doc.id)),
                    ("eta", text(0)),
                ]))
            }
            Some(ticket) => {
                let eta = ticket
                    .ready_at
                    .saturating_duration_since(now)
                    .as_secs_f64()
                    .ceil() as u64;
                eta_max = eta_max.max(eta);
                Value::Map(map([
                    ("id", Value::from(*id)),
                    ("done", flag(false)),
                    ("invalid", flag(false)),
                    ("eta", text(eta)),
                ]))
            }
            None => {
                invalid += 1;
                Value::Map(map([
                    ("id", Value::from(*id)),
                    ("done", flag(false)),
                    ("invalid", flag(true)),
                    ("eta", text(0)),
                ]))
            }
        })
        .collect();
    let count = tickets.len();
    Ok(map([(
        "tickets",
        Value::Map(map([
            ("count", text(count)),
            ("done", text(done)),
            ("invalid", text(invalid)),
            ("left", text(count - done - invalid)),
            ("eta", text(eta_max)),
            ("ticket", Value::List(tickets)),
        ])),
    )]))
}

/// `upload.file` and `upload.replace`: the file goes to the data directory under a name of the
/// emulator's choosing, and a ticket completes after the ticket delay.
fn upload(state: &mut StateData, request: &Request<'_>, replace: bool) -> Outcome {
    state.last_upload = Some(ReceivedUpload {
        params: request.params.clone(),
        filename: request.file.and_then(|f| f.filename.clone()),
        length: request.file.map_or(0, |f| f.len()),
    });
    let file = request
        .file
        .filter(|file| !file.is_empty())
        .ok_or_else(|| method_error(1, "File is missing or empty"))?;
    if file.len() > request.max_file_size {
        return Err(method_error(
            2,
            "File size exceeded limits (see account.getQuota)",
        ));
    }
    let mut doc = if replace {
        let id = doc_id(request).map_err(|_| method_error(4, "Document not found"))?;
        owned(state, request, id)
            .map_err(|_| method_error(4, "Document not found"))?
            .clone()
    } else {
        let title = request
            .param("title")
            .or(file.filename.as_deref())
            .unwrap_or_default()
            .to_owned();
        Doc {
            id: state.next_id(),
            owner: request.user_id().unwrap_or(USER_ID),
            title,
            description: request.param("description").unwrap_or_default().to_owned(),
            tags: request
                .param("keywords")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .take(MAX_TAGS_PER_DOC)
                .map(|k| (0, k.to_owned()))
                .collect(),
            is_public: request.param("is_public") == Some("1"),
            posted_at: unix_now(),
            size: 0,
            md5: String::new(),
        }
    };
    doc.size = file.len();
    doc.md5 = match &file.content {
        FileContent::Memory(data) => crate::sign::hex(&md5::Digest::finalize(
            md5::Digest::chain_update(md5::Md5::default(), data),
        )),
        FileContent::Spooled { md5, .. } => md5.clone(),
    };
    for index in 0..doc.tags.len() {
        let tag_id = state.next_id();
        if let Some(tag) = doc.tags.get_mut(index) {
            tag.0 = tag_id;
        }
    }
    let ticket = format!("{}-{}", state.next_id(), doc.id);
    // A replacement waits beside the document's file, which stays what it is until the ticket
    // completes.
    let path = if replace {
        super::pending_replacement(request.data_dir, &ticket)
    } else {
        request.data_dir.join(format!("doc-{}.bin", doc.id))
    };
    // A spooled upload is already on disk, in the same directory: it only changes its name.
    let stored = match &file.content {
        FileContent::Memory(data) => std::fs::write(&path, data),
        FileContent::Spooled { path: spool, .. } => std::fs::rename(spool, &path),
    };
    stored.map_err(|e| {
        ApiError::new(
            ErrorCode::ServiceError,
            format!("Service error: storing the file failed: {e}"),
        )
    })?;
    state.dirty.tickets.insert(ticket.clone());
    state.tickets.insert(
        ticket.clone(),
        Ticket {
            ready_at: Instant::now() + request.ticket_delay,
            doc,
            done: false,
            invalid: false,
            replaces: replace,
        },
    );
    Ok(map([("ticket", Value::from(ticket))]))
}

fn doc_id(request: &Request<'_>) -> Result<u64, ApiError> {
    request
        .param("doc_id")
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| method_error(1, "Document not found"))
}

/// A document the caller may see: public ones, and any of the caller's own.
fn visible<'a>(state: &'a StateData, request: &Request<'_>, id: u64) -> Result<&'a Doc, ApiError> {
    state
        .docs
        .get(&id)
        .filter(|doc| doc.is_public || Some(doc.owner) == request.user_id())
        .ok_or_else(|| method_error(1, "Document not found"))
}

/// A document the caller owns (for writes).
fn owned<'a>(
    state: &'a mut StateData,
    request: &Request<'_>,
    id: u64,
) -> Result<&'a mut Doc, ApiError> {
    let user = request.user_id();
    let doc = state
        .docs
        .get_mut(&id)
        .filter(|doc| Some(doc.owner) == user)
        .ok_or_else(|| method_error(1, "Document not found"))?;
    // Callers change what they borrow, so it is saved with the call.
    state.dirty.docs.insert(id);
    Ok(doc)
}

fn tags_value(doc: &Doc) -> Value {
    let tags: Vec<Value> = doc
        .tags
        .iter()
        .map(|(id, tag)| {
            Value::Map(map([
                ("tag_id", text(id)),
                ("tag", Value::from(tag.as_str())),
                ("type", Value::from("keyword")),
            ]))
        })
        .collect();
    Value::Map(map([
        ("total", text(tags.len())),
        ("tag", Value::List(tags)),
    ]))
}

fn doc_value(state: &StateData, doc: &Doc, full: bool) -> Value {
    let owner = state.users.get(&doc.owner);
    let mut members = map([
        ("doc_id", text(doc.id)),
        ("media", Value::from("photo")),
        ("title", Value::from(doc.title.as_str())),
        (
            "owner",
            Value::Map(map([
                ("user_id", text(doc.owner)),
                (
                    "username",
                    Value::from(owner.map_or("", |u| u.username.as_str())),
                ),
            ])),
        ),
    ]);
    if full {
        members.insert("description".into(), Value::from(doc.description.as_str()));
        members.insert(
            "dates".into(),
            Value::Map(map([("posted_at", text(doc.posted_at))])),
        );
        members.insert(
            "visibility".into(),
            Value::Map(map([
                ("share", text(if doc.is_public { 4 } else { 0 })),
                ("is_public", flag(doc.is_public)),
            ])),
        );
        members.insert("tags".into(), tags_value(doc));
    }
    Value::Map(members)
}

fn doc_get(state: &StateData, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    let mut value = doc_value(state, doc, true);
    let extras = request.param("extra").unwrap_or_default();
    if extras.split(',').any(|extra| extra.trim() == "md5")
        && let Value::Map(members) = &mut value
    {
        members.insert("md5".into(), Value::from(doc.md5.as_str()));
    }
    Ok(map([("doc", value)]))
}

/// `doc.checkMD5`: the caller's documents whose file has one of the given MD5s (comma-separated),
/// uploads still being processed included — their documents already have their ids.
fn check_md5(state: &StateData, request: &Request<'_>) -> Outcome {
    let wanted: Vec<String> = request
        .param("md5")
        .ok_or_else(|| method_error(1, "MD5 missing"))?
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty())
        .collect();
    let user = request.user_id();
    let pending = state.tickets.values().filter(|t| !t.done).map(|t| &t.doc);
    let found: Vec<Value> = state
        .docs
        .values()
        .chain(pending)
        .filter(|doc| Some(doc.owner) == user && wanted.contains(&doc.md5))
        .map(|doc| {
            Value::Map(map([
                ("doc_id", text(doc.id)),
                ("md5", Value::from(doc.md5.as_str())),
            ]))
        })
        .collect();
    Ok(map([(
        "docs",
        Value::Map(map([
            ("total", text(found.len())),
            ("doc", Value::List(found)),
        ])),
    )]))
}

fn doc_set(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let doc = owned(state, request, id)?;
    if let Some(title) = request.params.get("title") {
        doc.title = title.to_owned();
    }
    if let Some(description) = request.params.get("description") {
        doc.description = description.to_owned();
    }
    Ok(map([("doc", Value::Map(map([("doc_id", text(id))])))]))
}

fn doc_delete(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    owned(state, request, id)?;
    state.docs.remove(&id);
    std::fs::remove_file(request.data_dir.join(format!("doc-{id}.bin"))).ok();
    for album in state.albums.values_mut() {
        if album.docs.contains(&id) {
            album.docs.retain(|d| *d != id);
            state.dirty.albums.insert(album.id);
        }
    }
    Ok(map([("doc", Value::Map(map([("doc_id", text(id))])))]))
}

fn page_of(request: &Request<'_>, total: usize) -> (usize, usize, usize) {
    let per_page = request
        .param("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100usize)
        .clamp(1, 100);
    let pages = total.div_ceil(per_page).max(1);
    let page = request
        .param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1usize)
        .clamp(1, pages);
    (page, pages, per_page)
}

fn docs_value(state: &StateData, request: &Request<'_>, docs: &[&Doc]) -> Value {
    let (page, pages, per_page) = page_of(request, docs.len());
    let entries: Vec<Value> = docs
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|doc| doc_value(state, doc, false))
        .collect();
    Value::Map(map([
        ("page", text(page)),
        ("pages", text(pages)),
        ("perpage", text(per_page)),
        ("total", text(docs.len())),
        ("doc", Value::List(entries)),
    ]))
}

fn doc_list(state: &StateData, request: &Request<'_>, text_filter: Option<&str>) -> Outcome {
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
    Ok(map([("docs", docs_value(state, request, &docs))]))
}

/// The most tags one document holds (the service documents a limit, error 3 of
/// `doc.tags.add`, without its figure; this is the emulator's). Bounded, a call's work under the
/// state lock is too: at most this many tags are compared, each once, through a hash set.
pub(crate) const MAX_TAGS_PER_DOC: usize = 200;

fn tags_add(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let id = doc_id(request)?;
    let keywords = request
        .param("keywords")
        .ok_or_else(|| method_error(2, "Keywords missing"))?
        .to_owned();
    let doc = owned(state, request, id)?;
    let mut present: std::collections::HashSet<&str> = doc
        .tags
        .iter()
        .map(|(_, keyword)| keyword.as_str())
        .collect();
    let mut new = Vec::new();
    for keyword in keywords.split(',').map(str::trim).filter(|k| !k.is_empty()) {
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
    let mut added = Vec::with_capacity(new.len());
    for keyword in new {
        added.push((state.next_id(), keyword));
    }
    let doc = owned(state, request, id)?;
    doc.tags.extend(added);
    Ok(map([(
        "doc",
        Value::Map(map([("doc_id", text(id)), ("tags", tags_value(doc))])),
    )]))
}

fn tags_list(state: &StateData, request: &Request<'_>) -> Outcome {
    let doc = visible(state, request, doc_id(request)?)?;
    Ok(map([(
        "doc",
        Value::Map(map([("doc_id", text(doc.id)), ("tags", tags_value(doc))])),
    )]))
}

fn album_id(request: &Request<'_>) -> Result<u64, ApiError> {
    request
        .param("album_id")
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| method_error(1, "Album not found"))
}

fn album_value(album: &Album) -> Value {
    Value::Map(map([
        ("album_id", text(album.id)),
        ("title", Value::from(album.title.as_str())),
        ("description", Value::from(album.description.as_str())),
        ("owner", Value::Map(map([("user_id", text(album.owner))]))),
        ("count", Value::Map(map([("docs", text(album.docs.len()))]))),
    ]))
}

fn album_create(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let title = request
        .param("title")
        .ok_or_else(|| method_error(1, "Title missing"))?;
    let album = Album {
        id: state.next_id(),
        owner: request.user_id().unwrap_or(USER_ID),
        title: title.to_owned(),
        description: request.param("description").unwrap_or_default().to_owned(),
        docs: Vec::new(),
    };
    let payload = map([("album", Value::Map(map([("album_id", text(album.id))])))]);
    state.dirty.albums.insert(album.id);
    state.albums.insert(album.id, album);
    Ok(payload)
}

fn album_get(state: &StateData, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    Ok(map([("album", album_value(album))]))
}

fn album_list(state: &StateData, request: &Request<'_>) -> Outcome {
    let owner = match request.param("user_id") {
        Some(id) => id
            .parse::<u64>()
            .map_err(|_| method_error(1, "User not found"))?,
        None => request.user_id().unwrap_or(USER_ID),
    };
    if !state.users.contains_key(&owner) {
        return Err(method_error(1, "User not found"));
    }
    let albums: Vec<Value> = state
        .albums
        .values()
        .filter(|a| a.owner == owner)
        .map(album_value)
        .collect();
    Ok(map([(
        "albums",
        Value::Map(map([
            ("total", text(albums.len())),
            ("album", Value::List(albums)),
        ])),
    )]))
}

fn album_docs_add(state: &mut StateData, request: &Request<'_>) -> Outcome {
    let id = album_id(request)?;
    let user = request.user_id();
    let wanted: Vec<u64> = request
        .param("doc_id")
        .unwrap_or_default()
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    if wanted.is_empty()
        || wanted
            .iter()
            .any(|d| state.docs.get(d).is_none_or(|doc| Some(doc.owner) != user))
    {
        return Err(method_error(2, "Document not found"));
    }
    let album = state
        .albums
        .get_mut(&id)
        .filter(|a| Some(a.owner) == user)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    for doc in wanted {
        if !album.docs.contains(&doc) {
            album.docs.push(doc);
        }
    }
    state.dirty.albums.insert(id);
    Ok(map([(
        "album",
        Value::Map(map([
            ("album_id", text(id)),
            ("total", text(album.docs.len())),
        ])),
    )]))
}

fn album_docs_list(state: &StateData, request: &Request<'_>) -> Outcome {
    let album = state
        .albums
        .get(&album_id(request)?)
        .ok_or_else(|| method_error(1, "Album not found"))?;
    let docs: Vec<&Doc> = album
        .docs
        .iter()
        .filter_map(|id| state.docs.get(id))
        .filter(|doc| doc.is_public || Some(doc.owner) == request.user_id())
        .collect();
    Ok(map([("docs", docs_value(state, request, &docs))]))
}

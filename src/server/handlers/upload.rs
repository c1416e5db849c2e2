//! `upload.file`, `upload.replace`, `upload.checkTickets`, and `account.getQuota`, which says
//! what uploads may still take.

use std::time::Instant;

use serde::Serialize;

use super::{MAX_ALBUMS, MAX_TAGS_PER_DOC};
use super::{answer, comma_list, geo_params, id_param, method_error, owned_doc};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::FileContent;
use crate::server::call::{Outcome, Request};
use crate::server::media;
use crate::server::state::{
    Doc, MemberTag, ReceivedUpload, ServiceState, Ticket, USER_ID, doc_file, fresh_credential,
    pending_replacement, unix_now,
};

/// The most tickets one `upload.checkTickets` call may ask about.
const MAX_TICKETS: usize = 50;

/// Seconds of video a month (account.getQuota's example).
const VIDEO_SECONDS: u64 = 7200;

/// The smallest video or audio file accepted (error 3 below it).
const MIN_TIMED_MEDIA: u64 = 5 * 1024;

/// The start (Unix time, UTC) of the month `now` is in.
fn month_start(now: u64) -> u64 {
    // Civil-from-days (H. Hinnant): the day's year and month, then back to that month's first.
    let days = now / 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5; // 0-based
    (days - day_of_month) * 86_400
}

/// What `user` uploaded since the month began.
fn used_this_month(state: &ServiceState, user: u64) -> u64 {
    let since = month_start(unix_now());
    let pending = state.tickets.values().filter(|t| !t.done).map(|t| &t.doc);
    state
        .docs
        .values()
        .chain(pending)
        .filter(|doc| doc.owner == user && doc.posted_at.max(doc.replaced_at) >= since)
        .map(|doc| doc.size)
        .sum()
}

#[derive(Serialize)]
struct Amount {
    bytes: u64,
    kb: u64,
    mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    percent: Option<u64>,
    /// Seconds of video, for the upload allowance.
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<u64>,
}

impl Amount {
    /// An amount of the allowance `quota`, with its share of it.
    fn of_quota(bytes: u64, quota: u64) -> Amount {
        Amount {
            percent: Some(bytes.saturating_mul(100) / quota.max(1)),
            ..Amount::size(bytes)
        }
    }

    fn size(bytes: u64) -> Amount {
        Amount {
            bytes,
            kb: bytes / 1024,
            mb: bytes / 1024 / 1024,
            percent: None,
            seconds: None,
        }
    }
}

#[derive(Serialize)]
struct UploadAllowance {
    unlimited: bool,
    max: Amount,
    used: Amount,
    left: Amount,
}

#[derive(Serialize)]
struct MaxFileSize {
    photo: Amount,
    audio: Amount,
    video: Amount,
    other: Amount,
}

#[derive(Serialize)]
struct Quota {
    user_id: u64,
    is_pro: bool,
    upload: UploadAllowance,
    maxfilesize: MaxFileSize,
    albums: AlbumAllowance,
}

#[derive(Serialize)]
struct AlbumAllowance {
    max: usize,
    created: usize,
    left: usize,
}

/// `account.getQuota`: the month's allowance, what the caller uploaded this month, what is
/// left, the largest file, the albums made and left.
pub(super) fn quota(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = request.user_id().unwrap_or(USER_ID);
    let used = used_this_month(state, user);
    let quota = request.upload_quota;
    let largest = request.max_file_size;
    let albums = state.albums.values().filter(|a| a.owner == user).count();
    answer(
        "quota",
        &Quota {
            user_id: user,
            is_pro: true,
            upload: UploadAllowance {
                unlimited: false,
                // Video seconds: the emulator measures no durations, so none are used.
                max: Amount {
                    seconds: Some(VIDEO_SECONDS),
                    ..Amount::of_quota(quota, quota)
                },
                used: Amount {
                    seconds: Some(0),
                    ..Amount::of_quota(used, quota)
                },
                left: Amount {
                    seconds: Some(VIDEO_SECONDS),
                    ..Amount::of_quota(quota.saturating_sub(used), quota)
                },
            },
            maxfilesize: MaxFileSize {
                photo: Amount::size(largest),
                audio: Amount::size(largest),
                video: Amount::size(largest),
                other: Amount::size(largest),
            },
            albums: AlbumAllowance {
                max: MAX_ALBUMS,
                created: albums,
                left: MAX_ALBUMS.saturating_sub(albums),
            },
        },
    )
}

#[derive(Serialize)]
struct TicketState<'a> {
    id: &'a str,
    done: bool,
    invalid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<u64>,
    eta: u64,
}

#[derive(Serialize)]
struct Tickets<'a> {
    count: usize,
    done: usize,
    invalid: usize,
    left: usize,
    eta: u64,
    ticket: Vec<TicketState<'a>>,
}

/// `upload.checkTickets`: up to 50 tickets, each done (with its document), waiting (with its
/// `eta` in seconds) or invalid.
pub(super) fn check_tickets(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let asked: Vec<&str> = comma_list(request, "tickets").collect();
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
    let ticket: Vec<TicketState<'_>> = asked
        .iter()
        // A ticket that failed (its document deleted meanwhile) answers as an unknown one.
        .map(|id| match state.tickets.get(*id).filter(|t| !t.invalid) {
            Some(ticket) if ticket.done => TicketState {
                id,
                done: true,
                invalid: false,
                doc_id: Some(ticket.doc.id),
                eta: 0,
            },
            Some(ticket) => TicketState {
                id,
                done: false,
                invalid: false,
                doc_id: None,
                eta: ticket
                    .ready_at
                    .saturating_duration_since(now)
                    .as_secs_f64()
                    .ceil() as u64,
            },
            None => TicketState {
                id,
                done: false,
                invalid: true,
                doc_id: None,
                eta: 0,
            },
        })
        .collect();
    let count = ticket.len();
    let done = ticket.iter().filter(|t| t.done).count();
    let invalid = ticket.iter().filter(|t| t.invalid).count();
    answer(
        "tickets",
        &Tickets {
            count,
            done,
            invalid,
            left: count - done - invalid,
            eta: ticket.iter().map(|t| t.eta).max().unwrap_or(0),
            ticket,
        },
    )
}

/// What `upload.file`'s page says each of its parameters does to the new document: visibility,
/// licence, safety, permissions, location (`-999` for none), creation date, orientation.
fn apply_upload_params(doc: &mut Doc, request: &Request<'_>) {
    let flag = |name: &str| request.param(name) == Some("1");
    doc.is_public = flag("is_public");
    doc.is_family = flag("is_family");
    doc.is_friend = flag("is_friend");
    let code = |name: &str| request.param(name).and_then(|v| v.parse::<u8>().ok());
    if let Some(license) = code("license") {
        doc.license = license;
    }
    if let Some(safety) = code("safety").filter(|s| (1..=3).contains(s)) {
        doc.safety = safety;
    }
    for (name, slot) in [
        ("perm_comment", &mut doc.perms.comment),
        ("perm_tag", &mut doc.perms.tag),
        ("perm_tagme", &mut doc.perms.tagme),
    ] {
        if let Some(value) = code(name).filter(|v| *v <= 5) {
            *slot = value;
        }
    }
    // Sent, the location replaces the file's own (-999 for both: none); else the EXIF one stands.
    if let Ok(geo) = geo_params(request) {
        doc.geo = geo;
    }
    if let Some(created) = request.param("created_at") {
        doc.created = created.to_owned();
    }
    doc.rotation = match request.param("dir") {
        Some("3") => 180,
        Some("6") => 270,
        Some("8") => 90,
        _ => 0,
    };
}

/// `upload.file` and `upload.replace`: the file goes to the data directory under a name of the
/// emulator's choosing, and a ticket completes after the ticket delay (`async=0` is answered
/// once it has, with the `doc_id`: §14). Refused before anything is kept: no file (1), too large (2), a
/// video or audio file under 5 KB (3), the month's upload limit (4).
pub(super) fn upload(state: &mut ServiceState, request: &Request<'_>, replace: bool) -> Outcome {
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
    let owner = request.user_id().unwrap_or(USER_ID);
    // The month's allowance: upload.replace's error 3; upload.file's page lists no code for
    // it, and the emulator answers 4 (spec §14's quota rule).
    if used_this_month(state, owner).saturating_add(file.len()) > request.upload_quota {
        return Err(method_error(
            if replace { 3 } else { 4 },
            "Upload limit of the month reached (see account.getQuota)",
        ));
    }
    let mut doc = if replace {
        let id = id_param(request, "doc_id", "Document")
            .map_err(|_| method_error(4, "Document not found"))?;
        owned_doc(state, request, id)
            .map_err(|_| method_error(4, "Document not found"))?
            .clone()
    } else {
        let title = request
            .param("title")
            .or(file.filename.as_deref())
            .unwrap_or_default()
            .to_owned();
        let mut doc = Doc::new(state.ids.next(), owner, title);
        doc.description = request.param("description").unwrap_or_default().to_owned();
        doc.tags = comma_list(request, "keywords")
            .take(MAX_TAGS_PER_DOC)
            .map(|k| (0, k.to_owned()))
            .collect();
        doc
    };
    doc.size = file.len();
    doc.md5 = match &file.content {
        FileContent::Memory(data) => crate::sign::hex(&md5::Digest::finalize(
            md5::Digest::chain_update(md5::Md5::default(), data),
        )),
        FileContent::Spooled { md5, .. } => md5.clone(),
    };
    for tag in &mut doc.tags {
        tag.0 = state.ids.next();
    }
    let ticket = format!("{}-{}", state.ids.next(), doc.id);
    // A replacement waits beside the document's file, which stays what it is until the ticket
    // completes.
    let path = if replace {
        pending_replacement(request.data_dir, &ticket)
    } else {
        doc_file(request.data_dir, doc.id)
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
    // What the file is decides the rest; a refused file leaves nothing behind.
    let filename = file.filename.clone().unwrap_or_default();
    let facts = media::inspect(&path, &filename);
    if replace && facts.media != doc.media {
        std::fs::remove_file(&path).ok();
        return Err(method_error(
            5,
            "The new file is another kind of media than the document's",
        ));
    }
    if !replace && matches!(facts.media, "video" | "audio") && file.len() < MIN_TIMED_MEDIA {
        std::fs::remove_file(&path).ok();
        return Err(method_error(
            3,
            "File not accepted: a video or audio file of less than 5 KB",
        ));
    }
    let secrets = fresh_credential().and_then(|s| Ok((s, fresh_credential()?)));
    let Ok((secret, original_secret)) = secrets else {
        std::fs::remove_file(&path).ok();
        return Err(ApiError::new(
            ErrorCode::ServiceError,
            "Service error: the random source failed",
        ));
    };
    if replace {
        doc.replaced_at = unix_now();
    } else {
        // The file's EXIF date and place, unless the call says otherwise (below).
        doc.created = facts.created.clone().unwrap_or_default();
        doc.geo = facts.geo;
        apply_upload_params(&mut doc, request);
        for member in comma_list(request, "member_ids").filter_map(|m| m.parse::<u64>().ok()) {
            if state.users.contains_key(&member)
                && !doc.member_tags.iter().any(|t| t.member_id == member)
            {
                doc.member_tags.push(MemberTag {
                    id: state.ids.next(),
                    member_id: member,
                    user_id: owner,
                });
            }
        }
    }
    doc.media = facts.media.to_owned();
    (doc.width, doc.height) = (facts.width, facts.height);
    doc.filename = filename;
    doc.secret = secret;
    doc.original_secret = original_secret;
    let doc_id = doc.id;
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
    // `album_id`: one of the caller's albums receives the new document (its lists show it once
    // the ticket is done); someone else's album, or none, is ignored.
    let album = request
        .param("album_id")
        .and_then(|id| id.parse::<u64>().ok());
    if let Some(album) = album.filter(|_| !replace)
        && state
            .albums
            .get(&album)
            .is_some_and(|a| Some(a.owner) == request.user_id())
        && let Some(album) = state.albums.get_mut(&album)
        && !album.docs.contains(&doc_id)
    {
        album.docs.push(doc_id);
    }
    answer("ticket", &ticket)
}

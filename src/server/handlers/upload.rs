//! `upload.file`, `upload.replace`, `upload.checkTickets`, and `account.getQuota`, which says
//! what uploads may still take.

use std::time::Instant;

use serde::Serialize;

use super::doc::MAX_TAGS_PER_DOC;
use super::{answer, comma_list, geo_params, id_param, method_error, owned_doc};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::FileContent;
use crate::server::call::{Outcome, Request};
use crate::server::state::{
    Doc, ReceivedUpload, ServiceState, Ticket, USER_ID, doc_file, pending_replacement,
};

/// The most tickets one `upload.checkTickets` call may ask about.
const MAX_TICKETS: usize = 50;

/// Every account's upload allowance.
const QUOTA: u64 = 10 * 1024 * 1024 * 1024;

#[derive(Serialize)]
struct Amount {
    bytes: u64,
    kb: u64,
    mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    percent: Option<u64>,
}

impl Amount {
    /// An amount of the allowance, with its share of it.
    fn of_quota(bytes: u64) -> Amount {
        Amount {
            percent: Some(bytes.saturating_mul(100) / QUOTA),
            ..Amount::size(bytes)
        }
    }

    fn size(bytes: u64) -> Amount {
        Amount {
            bytes,
            kb: bytes / 1024,
            mb: bytes / 1024 / 1024,
            percent: None,
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
}

/// `account.getQuota`: the allowance, what the caller's documents use, the largest file.
pub(super) fn quota(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let user = request.user_id().unwrap_or(USER_ID);
    let used: u64 = state
        .docs
        .values()
        .filter(|d| d.owner == user)
        .map(|d| d.size)
        .sum();
    let largest = request.max_file_size;
    answer(
        "quota",
        &Quota {
            user_id: user,
            is_pro: true,
            upload: UploadAllowance {
                unlimited: false,
                max: Amount::of_quota(QUOTA),
                used: Amount::of_quota(used),
                left: Amount::of_quota(QUOTA.saturating_sub(used)),
            },
            maxfilesize: MaxFileSize {
                photo: Amount::size(largest),
                audio: Amount::size(largest),
                video: Amount::size(largest),
                other: Amount::size(largest),
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

/// `upload.file` and `upload.replace`: the file goes to the data directory under a name of the
/// emulator's choosing, and a ticket completes after the ticket delay.
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
    // Without a usable location the file's own (none in the emulator) stands.
    doc.geo = geo_params(request).unwrap_or(None);
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
        let mut doc = Doc::new(
            state.ids.next(),
            request.user_id().unwrap_or(USER_ID),
            title,
        );
        doc.description = request.param("description").unwrap_or_default().to_owned();
        doc.tags = comma_list(request, "keywords")
            .take(MAX_TAGS_PER_DOC)
            .map(|k| (0, k.to_owned()))
            .collect();
        apply_upload_params(&mut doc, request);
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
    let doc_id = doc.id;
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

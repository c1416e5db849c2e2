//! What a bulk upload tells: the events of a run as it goes, what became of each file, the
//! report at its end, and why a run could not run at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{JournalError, SkipReason};
use crate::client::Progress;
use crate::error::{ApiError, Error};

/// Why a bulk upload could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BulkError {
    /// The journal could not be opened, locked, read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A file could not be read to look up an interrupted upload by its MD5.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A file's parameters were refused before anything was sent, or looking up an interrupted
    /// upload by its MD5 failed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was refused.
        #[source]
        source: Error,
    },
}

/// Why one file did not become a document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileFailure {
    /// The upload failed (sent or not: see [`Error::Connection`]'s `may_have_been_sent`).
    #[error(transparent)]
    Upload(Error),
    /// The answer carried neither a ticket nor a document.
    #[error("the answer carries neither a ticket nor a document")]
    NoTicket,
    /// The service gave up on the ticket, or it was not done in time.
    #[error("ticket {ticket} did not become a document")]
    Ticket {
        /// The ticket.
        ticket: String,
    },
    /// The service stopped answering while the ticket was pending: a new run with the same
    /// journal finishes it.
    #[error("ticket {ticket} still pending; run again to finish it")]
    StillPending {
        /// The ticket.
        ticket: String,
    },
    /// The file's state could not be recorded.
    #[error(transparent)]
    Journal(JournalError),
}

/// What became of one file.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileOutcome {
    /// The document exists.
    Document {
        /// Its id.
        doc_id: u64,
    },
    /// The service took the file and answered with a ticket (runs that do not wait).
    Ticket {
        /// The ticket to poll.
        ticket: String,
    },
    /// The file did not become a document.
    Failed(FileFailure),
}

impl FileOutcome {
    /// Whether the file failed.
    pub fn is_failure(&self) -> bool {
        matches!(self, FileOutcome::Failed(_))
    }
}

impl std::fmt::Display for FileOutcome {
    /// `doc_id=ID`, `ticket=ID`, or why it failed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileOutcome::Document { doc_id } => write!(f, "doc_id={doc_id}"),
            FileOutcome::Ticket { ticket } => write!(f, "ticket={ticket}"),
            FileOutcome::Failed(failure) => failure.fmt(f),
        }
    }
}

/// What a bulk upload reports while it works, to [`BulkUpload::on_event`](super::BulkUpload::on_event).
#[derive(Debug)]
#[non_exhaustive]
pub enum BulkEvent<'a> {
    /// A path is left out.
    Skipped {
        /// The path.
        path: &'a Path,
        /// Why.
        reason: &'a SkipReason,
    },
    /// What is left to send once the journal is read.
    Planned {
        /// Files to send.
        files: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// The account's upload quota could not be read: files are not checked against it.
    QuotaUnknown {
        /// Why.
        error: &'a Error,
    },
    /// A file is about to be sent (again, after a refusal).
    Sending {
        /// The file.
        path: &'a Path,
        /// Its length in bytes.
        length: u64,
    },
    /// Progress of a file being sent.
    Progress {
        /// The file.
        path: &'a Path,
        /// How far it is.
        progress: &'a Progress,
    },
    /// An attempt to send a file ended.
    Attempted {
        /// The file.
        path: &'a Path,
        /// Whether the service took it.
        uploaded: bool,
    },
    /// The service refused a file for quota (112) or rate (113): every upload waits.
    Throttled {
        /// The file refused, which is sent again.
        path: &'a Path,
        /// The service's answer.
        error: &'a ApiError,
        /// How long every upload waits.
        pause: Duration,
    },
    /// One more file is through the sending stage.
    SendingProgress {
        /// Files through it.
        finished: u64,
        /// Files to send in all.
        total: u64,
    },
    /// Every file is sent; the run now waits for the documents.
    WaitingForDocuments,
    /// A round of ticket checks failed (after the client's own retries).
    PollFailed {
        /// Why.
        error: &'a Error,
    },
    /// What became of a file: reported once per file.
    Finished {
        /// The file.
        path: &'a Path,
        /// What became of it.
        outcome: &'a FileOutcome,
    },
}

/// What a bulk upload did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BulkReport {
    /// Every file sent or found done, with what became of it, in the order they finished.
    pub outcomes: Vec<(PathBuf, FileOutcome)>,
    /// Every path left out, and why.
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

impl BulkReport {
    /// How many files failed or were left out for a reason that counts ([`SkipReason::is_failure`]).
    pub fn failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_failure())
            .count()
            + self
                .skipped
                .iter()
                .filter(|(_, reason)| reason.is_failure())
                .count()
    }
}

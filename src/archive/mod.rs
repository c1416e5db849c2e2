//! Backup, verify and restore of a whole account, to and from a directory or an object store
//! (feature `archive`).
//!
//! ```no_run
//! # async fn run(client: ipernity::Client, target: ipernity::Client) -> Result<(), ipernity::archive::ArchiveError> {
//! use ipernity::archive::Archive;
//!
//! let archive = Archive::open("s3://my-bucket/ipernity/alice")?;
//! let report = client.backup(&archive).jobs(8).run().await?;
//! println!("{} documents, {} fetched", report.documents, report.fetched);
//!
//! let checked = archive.verify(8).await?;
//! assert!(checked.problems.is_empty());
//!
//! let restored = target.restore(&archive).journal("alice.journal").run().await?;
//! print!("{}", restored.survival);
//! # Ok(()) }
//! ```
//!
//! The layout (stable, readable without this crate):
//!
//! ```text
//! account.json              the user, the quota, the order of albums and folders, the documents
//!                           deleted on the service, a summary of the last run
//! index.json                a cache of the sidecars' bookkeeping (rebuilt from them when absent)
//! docs/<doc_id>.<ext>       the original, byte for byte, checked against the service's md5
//! docs/<doc_id>.json        {"doc": doc.get with every extra, "comments": [...], "albums": [...],
//!                           "groups": [...], "folders": [ids], "exif": {...}, "backup": {...}}
//! albums/<album_id>.json    {"album": album.getList's item with album.get's fields,
//!                           "docs": [doc_id, ...] in album order, ...}
//! folders/<folder_id>.json  {"folder": folder.getList's item with folder.get's fields,
//!                           "albums": [album_id, ...] in folder order}
//! ```
//!
//! What a backup guarantees:
//!
//! - **Nothing half-written under a final name.** An original is streamed into a staging file
//!   (renamed once complete) or a multipart upload (completed once complete), and completed only
//!   when its MD5 is the service's; its sidecar is written after it. A document is saved when its
//!   sidecar is there.
//! - **Incremental.** A document is fetched again only when the list says it changed
//!   (`last_update_at`, `md5`, its comment count), its original only when its `md5` did. A run
//!   with nothing changed makes one `doc.getList` call per 100 documents, one `album.getList`
//!   per 100 albums, `folder.getList`, one `folder.get` per folder, and three calls about the
//!   account.
//! - **Restartable.** Killed at any moment, the next run takes up what is missing: an original
//!   stored without its sidecar is checked against its MD5 in the archive, not fetched again.
//! - **Rebuilt from the archive.** `index.json` only saves reading every sidecar: without it,
//!   the sidecars are read. A sidecar that does not parse is fetched again, and reported.
//! - **Deletions recorded, not followed.** A document gone from the service (confirmed by
//!   `doc.get`) is listed in `account.json`; its files go only with [`Backup::mirror`].

use crate::client::journal::JournalError;

mod backup;
mod layout;
mod restore;
mod store;
mod verify;

pub use backup::{Backup, BackupEvent, BackupReport};
/// The object store library [`Archive::in_store`] takes a store of, re-exported so that an
/// application configures one (credentials, endpoints, retries) with the same version.
pub use object_store;
pub use restore::{FieldCount, Restore, RestoreEvent, RestoreReport, Survival};
pub use store::Archive;
pub use verify::{Problem, VerifyReport};

/// Why a backup, a verification or a restore stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A call to the API failed (after the client's retries).
    #[error(transparent)]
    Api(#[from] crate::Error),
    /// The archive's store refused a read or a write (disk full, bucket gone, credentials
    /// refused): the run stops, nothing written so far is lost.
    #[error("the archive at {key}: {source}")]
    Store {
        /// The object concerned, with the archive's place.
        key: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file of the archive that must be read does not parse.
    #[error("{key} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        key: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// The destination cannot be opened.
    #[error("the archive {destination:?} cannot be opened: {reason}")]
    Destination {
        /// The destination as given.
        destination: String,
        /// Why.
        reason: String,
    },
    /// A downloaded original is not what the service said it is (its MD5 or size differs):
    /// nothing was stored.
    #[error(
        "document {doc_id}: the original downloaded has md5 {found}, the service says {expected}"
    )]
    Mismatch {
        /// The document.
        doc_id: u64,
        /// The service's MD5.
        expected: String,
        /// The downloaded file's MD5.
        found: String,
    },
    /// A download stalled or was cut short.
    #[error("document {doc_id}: the download of its original failed: {reason}")]
    Download {
        /// The document.
        doc_id: u64,
        /// Why.
        reason: String,
    },
    /// One document of the archive cannot be restored (its sidecar does not parse, its original
    /// is missing or not the size recorded); the others can.
    #[error("{key}: {reason}")]
    Unusable {
        /// The file concerned.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The restore journal cannot be used.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl ArchiveError {
    /// Whether the failure is the archive's own (a store refusing, a file corrupt), which stops
    /// a run, rather than one document's.
    pub fn is_archive(&self) -> bool {
        matches!(
            self,
            ArchiveError::Store { .. }
                | ArchiveError::Corrupt { .. }
                | ArchiveError::Destination { .. }
                | ArchiveError::Journal(_)
        )
    }
}

/// Now, in Unix seconds.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The lower-case hex MD5 of what `hasher` saw.
fn hex_md5(hasher: md5::Md5) -> String {
    use md5::Digest;
    crate::sign::hex(&hasher.finalize())
}

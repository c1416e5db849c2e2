//! The archive's layout: where each file goes and what each JSON file holds. This is the
//! documented, stable format (README, "Backup"): it is read by people and other tools, so a
//! field is only ever added.
//!
//! ```text
//! account.json            the user, the quota, the order of albums and folders, documents
//!                         deleted on the service, a summary of the last run
//! index.json              a cache of what the sidecars say (rebuilt from them when absent)
//! docs/<doc_id>.<ext>     the original, byte for byte
//! docs/<doc_id>.json      everything the API tells about the document
//! albums/<album_id>.json  the album and its documents in album order
//! folders/<folder_id>.json  the folder and its albums in folder order
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// The account file.
pub(crate) const ACCOUNT: &str = "account.json";
/// The cache of the sidecars' bookkeeping.
pub(crate) const INDEX: &str = "index.json";
/// The version of [`Index`] this build writes and reads.
pub(crate) const INDEX_VERSION: u32 = 1;

/// `docs/<id>.json`.
pub(crate) fn doc_key(doc_id: u64) -> String {
    format!("docs/{doc_id}.json")
}

/// `docs/<id>.<ext>`.
pub(crate) fn original_key(doc_id: u64, ext: &str) -> String {
    format!("docs/{doc_id}.{ext}")
}

/// `albums/<id>.json`.
pub(crate) fn album_key(album_id: u64) -> String {
    format!("albums/{album_id}.json")
}

/// `folders/<id>.json`.
pub(crate) fn folder_key(folder_id: u64) -> String {
    format!("folders/{folder_id}.json")
}

/// What a name under `docs/` is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DocFile<'a> {
    /// `<id>.json`.
    Sidecar(u64),
    /// `<id>.<ext>`.
    Original(u64, &'a str),
}

/// Reads `docs/<id>.<ext>`; `None` for a name this layout does not make.
pub(crate) fn doc_file(key: &str) -> Option<DocFile<'_>> {
    let name = key.strip_prefix("docs/")?;
    let (id, ext) = name.split_once('.')?;
    let id = id.parse().ok()?;
    if ext == "json" {
        Some(DocFile::Sidecar(id))
    } else if is_clean_ext(ext) {
        Some(DocFile::Original(id, ext))
    } else {
        None
    }
}

/// The id of `<dir>/<id>.json`.
pub(crate) fn json_id(key: &str, dir: &str) -> Option<u64> {
    key.strip_prefix(dir)?
        .strip_prefix('/')?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

fn is_clean_ext(ext: &str) -> bool {
    (1..=8).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && ext != "json"
}

/// The extension an original is stored under: the service's, when it is a short plain one
/// (lower-cased), else `bin`. A name from the service never chooses a path.
pub(crate) fn clean_ext(ext: &str) -> String {
    let lower = ext.to_ascii_lowercase();
    if is_clean_ext(&lower) {
        lower
    } else {
        "bin".to_owned()
    }
}

/// `docs/<id>.json`: the document as `doc.get` tells it (with the `tags`, `notes`, `geo` and
/// `md5` extras), its comments and replies, the containers it is in, its EXIF, and what the
/// backup recorded.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DocSidecar {
    /// `doc.get`'s `doc`.
    pub(crate) doc: Value,
    /// Every comment of `doc.comments.getList`, replies included, oldest first.
    #[serde(default)]
    pub(crate) comments: Vec<Value>,
    /// `doc.getContainers`' albums.
    #[serde(default)]
    pub(crate) albums: Vec<Value>,
    /// `doc.getContainers`' groups.
    #[serde(default)]
    pub(crate) groups: Vec<Value>,
    /// The folders holding one of its albums, when it was saved.
    #[serde(default)]
    pub(crate) folders: Vec<u64>,
    /// `doc.getExif`'s `exif`, for a photo that has some.
    #[serde(default)]
    pub(crate) exif: Option<Value>,
    /// The backup's own record.
    pub(crate) backup: Saved,
}

/// What a backup recorded about a saved document: enough to tell, from one list call, whether
/// it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// The original's MD5, as the service gave it and as checked while it was stored.
    pub(crate) md5: String,
    /// The original's extension in the archive.
    pub(crate) ext: String,
    /// The original's size.
    pub(crate) bytes: u64,
    /// The list's `dates.last_update_at` when it was saved.
    pub(crate) last_update_at: u64,
    /// The list's `count.comments` when it was saved.
    pub(crate) comments: u64,
    /// When the listing that saved it began (Unix seconds).
    pub(crate) saved_at: u64,
}

/// `albums/<id>.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AlbumSidecar {
    /// The album as `album.getList` gives it, with what `album.get` adds (its description).
    pub(crate) album: Value,
    /// Its documents, in album order.
    pub(crate) docs: Vec<u64>,
    /// The list's `dates.last_update_at` when it was saved.
    pub(crate) last_update_at: u64,
    /// When the listing that saved it began.
    pub(crate) saved_at: u64,
}

/// `folders/<id>.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FolderSidecar {
    /// The folder as `folder.getList` gives it, with what `folder.get` adds (its description,
    /// `last_update_at`).
    pub(crate) folder: Value,
    /// Its albums, in folder order.
    pub(crate) albums: Vec<u64>,
}

/// `account.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Account {
    /// `user.get`'s `user`.
    pub(crate) user: Value,
    /// `account.getQuota`'s `quota`.
    pub(crate) quota: Value,
    /// The albums, in the account's order.
    pub(crate) albums: Vec<u64>,
    /// The folders, in the account's order.
    pub(crate) folders: Vec<u64>,
    /// Documents deleted on the service: id → when a backup first found them gone.
    #[serde(default)]
    pub(crate) deleted: BTreeMap<u64, u64>,
    /// Counts.
    pub(crate) summary: Summary,
}

/// `account.json`'s `summary`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// Documents in the archive.
    pub(crate) docs: u64,
    /// Bytes of originals in the archive.
    pub(crate) bytes: u64,
    /// Albums.
    pub(crate) albums: u64,
    /// Folders.
    pub(crate) folders: u64,
    /// Documents deleted on the service and still recorded.
    pub(crate) deleted: u64,
    /// When the last run began (Unix seconds).
    pub(crate) backed_up_at: u64,
    /// Documents the last run fetched.
    pub(crate) fetched: u64,
    /// Documents the last run could not save.
    pub(crate) failed: u64,
}

/// `index.json`: each sidecar's bookkeeping under the etag it was written with, so that a run
/// reads only the sidecars that changed behind its back.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Index {
    /// [`INDEX_VERSION`].
    pub(crate) version: u32,
    /// Documents.
    pub(crate) docs: BTreeMap<u64, Indexed>,
    /// Albums: the sidecar's `last_update_at` and `saved_at`.
    pub(crate) albums: BTreeMap<u64, IndexedAlbum>,
    /// Folders.
    pub(crate) folders: BTreeMap<u64, IndexedFolder>,
    /// Documents deleted on the service.
    pub(crate) deleted: BTreeMap<u64, u64>,
}

/// One document of [`Index`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Indexed {
    /// The sidecar's etag when it was written.
    pub(crate) e_tag: String,
    /// What it records.
    pub(crate) saved: Saved,
}

/// One album of [`Index`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexedAlbum {
    /// The sidecar's etag when it was written.
    pub(crate) e_tag: String,
    /// Its `last_update_at`.
    pub(crate) last_update_at: u64,
    /// Its `saved_at`.
    pub(crate) saved_at: u64,
}

/// One folder of [`Index`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexedFolder {
    /// The sidecar's etag when it was written.
    pub(crate) e_tag: String,
    /// Its `last_update_at` (`folder.get`).
    pub(crate) last_update_at: u64,
    /// When the listing that saved it began.
    pub(crate) saved_at: u64,
    /// Its albums, in order, as the sidecar lists them.
    pub(crate) albums: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_back_and_nothing_else() {
        assert_eq!(doc_file("docs/12.json"), Some(DocFile::Sidecar(12)));
        assert_eq!(doc_file("docs/12.jpg"), Some(DocFile::Original(12, "jpg")));
        assert_eq!(doc_file("docs/12.JPG"), None);
        assert_eq!(doc_file("docs/x.jpg"), None);
        assert_eq!(doc_file("albums/12.json"), None);
        assert_eq!(json_id("albums/7.json", "albums"), Some(7));
        assert_eq!(json_id("albums/7.jpg", "albums"), None);
        assert_eq!(clean_ext("JPG"), "jpg");
        assert_eq!(clean_ext("../x"), "bin");
        assert_eq!(clean_ext("json"), "bin");
        assert_eq!(clean_ext(""), "bin");
    }
}

//! Where an archive lives: a local directory or an object store, behind one small interface.
//!
//! Every write is whole or absent: a local file is written under a staging name
//! (`NAME#N`) and renamed, an object in a store is one `PUT` or a multipart upload that is
//! completed only once every part is in. A staging file left by a killed run is never listed
//! and is removed by the next run that opens the directory.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};

use super::ArchiveError;

/// The largest JSON file of an archive that is read: a sidecar is a few KiB (one of a document
/// with the emulator's 10,000 comments a few MiB).
pub(crate) const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;
/// The largest `index.json` read (one of a million documents is about 300 MB).
pub(crate) const MAX_INDEX_BYTES: u64 = 1024 * 1024 * 1024;
/// The part size of a large original's multipart upload (S3's smallest part is 5 MiB).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one file in flight at once: with [`PART_BYTES`], a large file holds at most this many
/// parts (plus the one being filled) in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// An archive's place: a directory, or a bucket and prefix of an object store.
#[derive(Clone)]
pub struct Archive {
    store: Arc<dyn ObjectStore>,
    root: Path,
    local: Option<PathBuf>,
    name: String,
}

impl fmt::Debug for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Archive").field("at", &self.name).finish()
    }
}

impl fmt::Display for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Archive {
    /// Opens `destination`: a directory (created when missing), `file:///path`, or an object
    /// store URL: `s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix`,
    /// `az://container/prefix` (also `abfs://`, `abfss://`, `azure://`). An object store's
    /// settings and credentials come from the environment, as its own tools read them
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` and
    /// `AWS_ALLOW_HTTP` for an S3-compatible server; `GOOGLE_SERVICE_ACCOUNT`;
    /// `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`).
    ///
    /// # Errors
    ///
    /// [`ArchiveError::Destination`] when the directory cannot be made or the URL is not one
    /// these stores take.
    pub fn open(destination: &str) -> Result<Archive, ArchiveError> {
        let refused = |reason: String| ArchiveError::Destination {
            destination: destination.to_owned(),
            reason,
        };
        let Some((scheme, rest)) = destination.split_once("://") else {
            return Archive::directory(destination);
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            return Archive::directory(rest);
        }
        let (_bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let store: Arc<dyn ObjectStore> = match scheme.as_str() {
            "s3" | "s3a" => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(destination)
                    .build()
                    .map_err(|e| refused(e.to_string()))?,
            ),
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(destination)
                    .build()
                    .map_err(|e| refused(e.to_string()))?,
            ),
            "az" | "abfs" | "abfss" | "azure" | "adl" => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(destination)
                    .build()
                    .map_err(|e| refused(e.to_string()))?,
            ),
            other => {
                return Err(refused(format!(
                    "`{other}://` is not a store this build opens (s3, gs, az, file, or a directory)"
                )));
            }
        };
        let root = Path::parse(prefix.trim_matches('/')).map_err(|e| refused(e.to_string()))?;
        Ok(Archive {
            store,
            root,
            local: None,
            name: destination.to_owned(),
        })
    }

    /// An archive in any object store the application configured itself, under `prefix`.
    ///
    /// # Errors
    ///
    /// [`ArchiveError::Destination`] when `prefix` is not a valid object path.
    pub fn in_store(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Archive, ArchiveError> {
        let root =
            Path::parse(prefix.trim_matches('/')).map_err(|e| ArchiveError::Destination {
                destination: prefix.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Archive {
            name: format!("{store}/{root}"),
            store,
            root,
            local: None,
        })
    }

    fn directory(dir: &str) -> Result<Archive, ArchiveError> {
        let refused = |reason: String| ArchiveError::Destination {
            destination: dir.to_owned(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| refused(e.to_string()))?;
        let absolute = std::fs::canonicalize(dir).map_err(|e| refused(e.to_string()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&absolute)
            .map_err(|e| refused(e.to_string()))?;
        Ok(Archive {
            store: Arc::new(store),
            root: Path::default(),
            local: Some(absolute),
            name: dir.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Path {
        key.split('/')
            .filter(|part| !part.is_empty())
            .fold(self.root.clone(), |path, part| path.join(part))
    }

    fn failed(&self, key: &str, source: object_store::Error) -> ArchiveError {
        ArchiveError::Store {
            key: format!("{}/{key}", self.name.trim_end_matches('/')),
            source: Box::new(StoreFailure::of(&source)),
        }
    }

    /// The object at `key` in memory, or `None` when there is none. Only the archive's JSON
    /// files are read this way: one larger than [`MAX_JSON_BYTES`] is refused unread.
    pub(crate) async fn read(&self, key: &str) -> Result<Option<Bytes>, ArchiveError> {
        self.read_at_most(key, MAX_JSON_BYTES).await
    }

    /// [`Archive::read`] with another bound.
    pub(crate) async fn read_at_most(
        &self,
        key: &str,
        limit: u64,
    ) -> Result<Option<Bytes>, ArchiveError> {
        match self.store.get(&self.path(key)).await {
            Ok(found) if found.meta.size > limit => Err(ArchiveError::Corrupt {
                key: key.to_owned(),
                reason: format!(
                    "{} bytes, more than a file of this kind holds ({limit})",
                    found.meta.size
                ),
            }),
            Ok(found) => found
                .bytes()
                .await
                .map(Some)
                .map_err(|e| self.failed(key, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed(key, e)),
        }
    }

    /// The object at `key` as a stream of pieces.
    pub(crate) async fn read_stream(
        &self,
        key: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, ArchiveError>>, ArchiveError>
    {
        let found = self
            .store
            .get(&self.path(key))
            .await
            .map_err(|e| self.failed(key, e))?;
        let name = format!("{}/{key}", self.name.trim_end_matches('/'));
        Ok(found
            .into_stream()
            .map_err(move |e| ArchiveError::Store {
                key: name.clone(),
                source: Box::new(StoreFailure::of(&e)),
            })
            .boxed())
    }

    /// Writes `bytes` at `key` in one piece; the object's etag when the store gives one.
    pub(crate) async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<String>, ArchiveError> {
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map(|done| done.e_tag)
            .map_err(|e| self.failed(key, e))
    }

    /// A writer of a large object at `key`: nothing is visible there until
    /// [`ObjectWriter::finish`]; [`ObjectWriter::abandon`] (or a kill) leaves nothing.
    pub(crate) fn writer(&self, key: &str) -> ObjectWriter {
        ObjectWriter {
            inner: BufWriter::with_capacity(Arc::clone(&self.store), self.path(key), PART_BYTES)
                .with_max_concurrency(PARTS_IN_FLIGHT),
            key: key.to_owned(),
        }
    }

    /// Removes `key` (an absent object is not an error).
    pub(crate) async fn remove(&self, key: &str) -> Result<(), ArchiveError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(key, e)),
        }
    }

    /// Every object under `dir` (`docs`, `albums`, …): its name below the archive's root, size
    /// and etag.
    pub(crate) async fn list(&self, dir: &str) -> Result<Vec<Listed>, ArchiveError> {
        let prefix = self.path(dir);
        let root_parts = self.root.parts().count();
        let mut listing = self.store.list(Some(&prefix));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta: ObjectMeta = meta.map_err(|e| self.failed(dir, e))?;
            let key = meta
                .location
                .parts()
                .skip(root_parts)
                .map(|part| part.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/");
            found.push(Listed {
                key,
                size: meta.size,
                e_tag: meta.e_tag,
            });
        }
        Ok(found)
    }

    /// Locks a local archive for one run (`.ipernity.lock`, released when the returned file is
    /// dropped or the process ends); an object store has no lock (one prefix per account).
    pub(crate) fn lock(&self) -> Result<Option<std::fs::File>, ArchiveError> {
        let Some(root) = &self.local else {
            return Ok(None);
        };
        let path = root.join(".ipernity.lock");
        let refused = |reason: String| ArchiveError::Destination {
            destination: self.name.clone(),
            reason,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| refused(format!("{}: {e}", path.display())))?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                refused("another run is writing this archive".to_owned())
            }
            std::fs::TryLockError::Error(e) => refused(format!("{}: {e}", path.display())),
        })?;
        Ok(Some(file))
    }

    /// Removes the staging files (`NAME#N`) a killed run left in a local archive; they are
    /// never listed nor read, only in the way of disk space.
    pub(crate) fn sweep_staging(&self) -> Result<usize, ArchiveError> {
        let Some(root) = &self.local else {
            return Ok(0);
        };
        let mut removed = 0;
        for dir in ["docs", "albums", "folders", ""] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let staging = name.rsplit_once('#').is_some_and(|(_, suffix)| {
                    !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit())
                });
                if staging && entry.file_type().is_ok_and(|t| t.is_file()) {
                    std::fs::remove_file(entry.path()).map_err(|e| ArchiveError::Destination {
                        destination: entry.path().display().to_string(),
                        reason: format!(
                            "a staging file left by a stopped run cannot be removed: {e}"
                        ),
                    })?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// One object of a listing.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    /// The name below the archive's root (`docs/12.jpg`).
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) e_tag: Option<String>,
}

/// A large object being written; see [`Archive::writer`].
pub(crate) struct ObjectWriter {
    inner: BufWriter,
    key: String,
}

impl ObjectWriter {
    /// Adds `piece` (waits while the parts in flight are full).
    pub(crate) async fn push(&mut self, piece: Bytes) -> Result<(), ArchiveError> {
        self.inner
            .put(piece)
            .await
            .map_err(|e| ArchiveError::Store {
                key: self.key.clone(),
                source: Box::new(StoreFailure::of(&e)),
            })
    }

    /// Completes the object: from now on it is visible under its name.
    pub(crate) async fn finish(mut self) -> Result<(), ArchiveError> {
        use tokio::io::AsyncWriteExt;
        self.inner
            .shutdown()
            .await
            .map_err(|e| ArchiveError::Store {
                key: self.key.clone(),
                source: Box::new(StoreFailure::of(&e)),
            })
    }

    /// Gives the object up: nothing appears under its name.
    pub(crate) async fn abandon(mut self) {
        if let Err(error) = self.inner.abort().await {
            let error = StoreFailure::of(&error);
            tracing::warn!(key = %self.key, error = %error, "an unfinished upload could not be aborted");
        }
    }
}

/// A store's failure in words, its cause chain flattened, every URL cut before its query: an
/// object store's errors print the request URL, and a signed URL (an Azure SAS token, a
/// presigned query) carries its credentials there.
#[derive(Debug)]
pub(crate) struct StoreFailure(String);

impl StoreFailure {
    pub(crate) fn of(error: &dyn std::error::Error) -> StoreFailure {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(error) = cause {
            let more = error.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = error.source();
        }
        StoreFailure(without_queries(&text))
    }
}

impl fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreFailure {}

/// `text` with the query of every `http://` or `https://` URL in it replaced by `?…`.
fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let is_url = from.starts_with("http://") || from.starts_with("https://");
        let end = from
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '>' || c == ')')
            .unwrap_or(from.len());
        let (url, after) = from.split_at(end);
        match url.split_once('?') {
            Some((bare, _)) if is_url => {
                out.push_str(bare);
                out.push_str("?…");
            }
            _ => out.push_str(url),
        }
        // Never empty: it starts with "http", which holds no terminator.
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_no_query() {
        assert_eq!(
            without_queries(
                "Error performing PUT https://acct.blob.core.windows.net/c/docs/1.jpg?sv=2022&sig=SECRET in 1s"
            ),
            "Error performing PUT https://acct.blob.core.windows.net/c/docs/1.jpg?… in 1s"
        );
        assert_eq!(without_queries("no url here"), "no url here");
        assert_eq!(
            without_queries("httpx and http://a/b"),
            "httpx and http://a/b"
        );
        assert_eq!(
            without_queries("\"http://a/?k=v\" done"),
            "\"http://a/?…\" done"
        );
    }
}

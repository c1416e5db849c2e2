//! `Client::backup`: the account copied into an [`Archive`], incrementally.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use md5::Digest;

use super::layout::{
    self, ACCOUNT, Account, AlbumSidecar, DocFile, DocSidecar, FolderSidecar, INDEX, INDEX_VERSION,
    Index, Indexed, IndexedAlbum, IndexedFolder, Saved, Summary,
};
use super::store::{Archive, MAX_INDEX_BYTES};
use super::{ArchiveError, hex_md5, unix_now};
use crate::client::Client;
use crate::error::Error;
use crate::value::Value;

/// How long a download may deliver nothing before it is given up.
const STALL: Duration = Duration::from_secs(120);
/// How often (in documents saved) the index is written during a run, so that a killed run
/// leaves one close to what the archive holds.
const INDEX_EVERY: u64 = 1000;
/// Sidecars read at once when the index does not know them.
const READS_AT_ONCE: usize = 16;

/// What a backup run is doing, for progress displays.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BackupEvent {
    /// The service lists this many documents (from the first page).
    Listed {
        /// Documents on the service.
        documents: u64,
    },
    /// A document is to be fetched; `bytes` of its original will be downloaded (0 when only
    /// its metadata changed).
    Queued {
        /// The document.
        doc_id: u64,
        /// Bytes of original to download.
        bytes: u64,
    },
    /// Bytes of an original arrived.
    Received {
        /// How many.
        bytes: u64,
    },
    /// A document is saved (sidecar written, original stored when it was fetched).
    Saved {
        /// The document.
        doc_id: u64,
        /// Whether its original was downloaded.
        original: bool,
    },
    /// A document had not changed.
    Unchanged {
        /// The document.
        doc_id: u64,
    },
    /// A document could not be saved; the run goes on and the next run tries again.
    Failed {
        /// The document.
        doc_id: u64,
        /// Why.
        error: String,
    },
    /// A sidecar of the archive did not parse: its document is fetched again.
    Repaired {
        /// The document.
        doc_id: u64,
        /// What was wrong.
        reason: String,
    },
    /// A document is gone from the service.
    Deleted {
        /// The document.
        doc_id: u64,
        /// Whether its files were removed (`mirror`).
        removed: bool,
    },
}

type Listener = Arc<dyn Fn(&BackupEvent) + Send + Sync>;

/// A backup of the client's account into an archive, set up by [`Client::backup`] and started
/// by [`Backup::run`].
#[must_use = "a backup does nothing until run"]
pub struct Backup {
    client: Client,
    archive: Archive,
    jobs: usize,
    mirror: bool,
    listener: Option<Listener>,
}

impl fmt::Debug for Backup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backup")
            .field("archive", &self.archive)
            .field("jobs", &self.jobs)
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}

/// What a backup run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupReport {
    /// Documents on the service (and so in the archive, unless some failed).
    pub documents: u64,
    /// Documents fetched by this run (metadata, and the original when it changed).
    pub fetched: u64,
    /// Originals downloaded by this run.
    pub originals: u64,
    /// Bytes of originals downloaded by this run.
    pub bytes: u64,
    /// Originals found stored without their sidecar (a run was stopped) and kept after their
    /// MD5 was checked in the archive.
    pub recovered: u64,
    /// Documents that had not changed.
    pub unchanged: u64,
    /// Documents found deleted on the service by this run.
    pub deleted: Vec<u64>,
    /// Of those, how many had their files removed (`mirror`).
    pub removed: u64,
    /// Documents that could not be saved, and why.
    pub failed: Vec<(u64, String)>,
    /// Albums in the account.
    pub albums: u64,
    /// Album sidecars written by this run.
    pub albums_saved: u64,
    /// Folders in the account.
    pub folders: u64,
}

impl Client {
    /// A backup of this client's account (the token's user) into `archive`.
    pub fn backup(&self, archive: &Archive) -> Backup {
        Backup {
            client: self.clone(),
            archive: archive.clone(),
            jobs: 4,
            mirror: false,
            listener: None,
        }
    }
}

/// One document of the service's list, as much as deciding needs.
#[derive(Debug, Clone)]
struct ListedDoc {
    doc_id: u64,
    media: String,
    md5: String,
    ext: String,
    bytes: u64,
    url: String,
    last_update_at: u64,
    comments: u64,
}

impl ListedDoc {
    /// The document an item of the list describes: `Ok(None)` for an item without an id (not
    /// a document), an error naming what an item with an id lacks.
    fn read(item: &Value) -> Result<Option<ListedDoc>, (u64, String)> {
        let text = |value: Option<&Value>| value.and_then(|v| v.to_text()).map(|t| t.into_owned());
        let Some(doc_id) = item.get("doc_id").and_then(Value::as_u64) else {
            return Ok(None);
        };
        let original = item.get("original");
        let lacking = |what: &str| (doc_id, format!("the list gives no {what} for it"));
        Ok(Some(ListedDoc {
            doc_id,
            media: text(item.get("media")).unwrap_or_default(),
            md5: text(item.get("md5"))
                .ok_or_else(|| lacking("md5"))?
                .to_ascii_lowercase(),
            ext: layout::clean_ext(&text(original.and_then(|o| o.get("ext"))).unwrap_or_default()),
            bytes: original
                .and_then(|o| o.get("bytes"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            url: text(original.and_then(|o| o.get("url")))
                .ok_or_else(|| lacking("original URL"))?,
            last_update_at: item
                .get("dates")
                .and_then(|d| d.get("last_update_at"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            comments: item
                .get("count")
                .and_then(|c| c.get("comments"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
        }))
    }
}

/// What the archive holds of one document when the run starts.
#[derive(Debug, Clone)]
struct Held {
    saved: Saved,
    /// Whether `docs/<id>.<saved.ext>` is listed with `saved.bytes` bytes.
    original: bool,
}

/// How a document's original is had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Original {
    /// Stored and current.
    Keep,
    /// Stored without a sidecar by a stopped run: kept if its MD5 in the archive is right.
    Recheck,
    /// To download.
    Download,
}

/// What the archive holds when a run starts.
#[derive(Debug, Default)]
struct Holdings {
    docs: HashMap<u64, Held>,
    /// Originals without a sidecar: id → (ext, size).
    orphans: HashMap<u64, (String, u64)>,
    /// Sidecars that did not parse: id → why.
    unreadable: HashMap<u64, String>,
    /// Every original stored: id → extensions.
    originals: HashMap<u64, Vec<String>>,
    albums: BTreeMap<u64, IndexedAlbum>,
    album_files: HashSet<u64>,
    folder_files: HashSet<u64>,
    folders: BTreeMap<u64, IndexedFolder>,
    deleted: BTreeMap<u64, u64>,
    /// e_tags of the sidecars as listed.
    e_tags: HashMap<u64, Option<String>>,
}

/// The run's state, shared by the document jobs.
struct Run {
    client: Client,
    archive: Archive,
    listener: Option<Listener>,
    started_at: u64,
    /// Album → the folders holding it.
    album_folders: HashMap<u64, Vec<u64>>,
}

impl Run {
    fn tell(&self, event: BackupEvent) {
        if let Some(listener) = &self.listener {
            listener(&event);
        }
    }
}

impl Backup {
    /// Documents fetched at once (at least 1; 4 unless set). Each document's metadata calls
    /// and its download go out together.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Removes the files of documents, albums and folders deleted on the service (off by
    /// default: they are only recorded).
    pub fn mirror(mut self, mirror: bool) -> Self {
        self.mirror = mirror;
        self
    }

    /// Calls `listener` with each [`BackupEvent`], from the run's tasks.
    pub fn on_event(mut self, listener: impl Fn(&BackupEvent) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Runs the backup.
    ///
    /// # Errors
    ///
    /// An [`ArchiveError`] when the account cannot be listed or the archive refuses a write;
    /// documents that fail alone are in [`BackupReport::failed`].
    pub async fn run(self) -> Result<BackupReport, ArchiveError> {
        let started_at = unix_now();
        let archive = self.archive.clone();
        let _lock = archive.lock()?;
        archive.sweep_staging()?;
        let client = self.client.clone();
        let checked = client.call("auth.checkToken").send().await?;
        let user_id = checked
            .get("auth")
            .and_then(|a| a.get("user"))
            .and_then(|u| u.get("user_id"))
            .and_then(Value::as_u64)
            .ok_or(Error::MissingField {
                field: "auth.user.user_id",
            })?;
        let user = client
            .call("user.get")
            .param("user_id", user_id)
            .send()
            .await?;
        let quota = client.call("account.getQuota").send().await?;
        let mut holdings = Holdings::load(&archive, self.listener.as_ref()).await?;
        let mut report = BackupReport::default();

        // Folders first: a document's sidecar names the folders of its albums.
        let folders = self.folders(&mut holdings, started_at, &mut report).await?;
        let mut album_folders: HashMap<u64, Vec<u64>> = HashMap::new();
        for (folder_id, albums) in &folders {
            for album in albums {
                album_folders.entry(*album).or_default().push(*folder_id);
            }
        }
        let albums = self.albums(&mut holdings, started_at, &mut report).await?;
        let run = Arc::new(Run {
            client: client.clone(),
            archive: archive.clone(),
            listener: self.listener.clone(),
            started_at,
            album_folders,
        });
        let mut index = Index {
            version: INDEX_VERSION,
            albums: holdings.albums.clone(),
            folders: holdings.folders.clone(),
            deleted: holdings.deleted.clone(),
            docs: holdings
                .docs
                .iter()
                .map(|(id, held)| {
                    // An unknown etag ("") makes the next run read the sidecar again.
                    let e_tag = holdings
                        .e_tags
                        .get(id)
                        .cloned()
                        .flatten()
                        .unwrap_or_default();
                    (
                        *id,
                        Indexed {
                            e_tag,
                            saved: held.saved.clone(),
                        },
                    )
                })
                .collect(),
        };
        let seen = self
            .documents(&run, user_id, &holdings, &mut index, &mut report)
            .await;
        let seen = match seen {
            Ok(seen) => seen,
            Err(error) => {
                // What was saved stays known to the next run without reading it back.
                let _ = write_json(&archive, INDEX, &index).await;
                return Err(error);
            }
        };
        self.deletions(&run, &seen, &mut holdings, &mut index, &mut report)
            .await?;
        write_json(&archive, INDEX, &index).await?;
        let summary = Summary {
            docs: index.docs.len() as u64,
            bytes: index.docs.values().map(|d| d.saved.bytes).sum(),
            albums: albums.len() as u64,
            folders: folders.len() as u64,
            deleted: index.deleted.len() as u64,
            backed_up_at: started_at,
            fetched: report.fetched,
            failed: report.failed.len() as u64,
        };
        let account = Account {
            user: user.get("user").cloned().unwrap_or(user),
            quota: quota.get("quota").cloned().unwrap_or(quota),
            albums,
            folders: folders.iter().map(|(id, _)| *id).collect(),
            deleted: index.deleted.clone(),
            summary,
        };
        write_json(&archive, ACCOUNT, &account).await?;
        Ok(report)
    }

    /// Every folder with its albums, in the account's order. A folder whose `last_update_at`
    /// (`folder.get`: the list gives none) has not moved keeps the albums the index knows;
    /// another is listed again and its sidecar written.
    async fn folders(
        &self,
        holdings: &mut Holdings,
        started_at: u64,
        report: &mut BackupReport,
    ) -> Result<Vec<(u64, Vec<u64>)>, ArchiveError> {
        let listed: Vec<Value> = self
            .client
            .call("folder.getList")
            .param("empty", 1)
            .items()?
            .try_collect()
            .await?;
        let mut order = Vec::with_capacity(listed.len());
        let known = &holdings.folders;
        let files = &holdings.folder_files;
        let mut fetched = futures_util::stream::iter(listed.into_iter().filter_map(|folder| {
            let id = folder.get("folder_id").and_then(Value::as_u64)?;
            let client = self.client.clone();
            let archive = self.archive.clone();
            Some(async move {
                let detail = client
                    .call("folder.get")
                    .param("folder_id", id)
                    .send()
                    .await?;
                let detail = detail.get("folder").cloned().unwrap_or(detail);
                let last_update_at = detail
                    .get("dates")
                    .and_then(|d| d.get("last_update_at"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                if let Some(known) = known.get(&id).filter(|known| {
                    known.last_update_at == last_update_at
                        && last_update_at < known.saved_at
                        && files.contains(&id)
                }) {
                    return Ok::<_, ArchiveError>((id, known.albums.clone(), None));
                }
                let albums: Vec<Value> = client
                    .call("folder.albums.getList")
                    .param("folder_id", id)
                    .items()?
                    .try_collect()
                    .await?;
                let albums: Vec<u64> = albums
                    .iter()
                    .filter_map(|a| a.get("album_id").and_then(Value::as_u64))
                    .collect();
                let sidecar = FolderSidecar {
                    folder: merged(folder, detail),
                    albums: albums.clone(),
                };
                let key = layout::folder_key(id);
                let e_tag = archive.write(&key, to_json(&sidecar, &key)?).await?;
                let indexed = IndexedFolder {
                    e_tag: e_tag.unwrap_or_default(),
                    last_update_at,
                    saved_at: started_at,
                    albums: albums.clone(),
                };
                Ok((id, albums, Some(indexed)))
            })
        }))
        .buffered(self.jobs);
        let mut present = HashSet::new();
        let mut saved = Vec::new();
        while let Some(found) = fetched.next().await {
            let (id, albums, written) = found?;
            saved.extend(written.map(|indexed| (id, indexed)));
            present.insert(id);
            order.push((id, albums));
        }
        drop(fetched);
        for (id, indexed) in saved {
            holdings.folders.insert(id, indexed);
            holdings.folder_files.insert(id);
        }
        let gone: Vec<u64> = holdings
            .folder_files
            .iter()
            .copied()
            .filter(|id| !present.contains(id))
            .collect();
        for id in gone {
            holdings.folders.remove(&id);
            if self.mirror {
                self.archive.remove(&layout::folder_key(id)).await?;
            }
        }
        report.folders = order.len() as u64;
        Ok(order)
    }

    /// Every album (in the account's order); the documents of each album that changed are
    /// listed again and its sidecar written.
    async fn albums(
        &self,
        holdings: &mut Holdings,
        started_at: u64,
        report: &mut BackupReport,
    ) -> Result<Vec<u64>, ArchiveError> {
        let listed: Vec<Value> = self
            .client
            .call("album.getList")
            .param("empty", 1)
            .items()?
            .try_collect()
            .await?;
        let mut order = Vec::with_capacity(listed.len());
        let mut work = Vec::new();
        for album in listed {
            let Some(id) = album.get("album_id").and_then(Value::as_u64) else {
                continue;
            };
            order.push(id);
            let last_update_at = album
                .get("dates")
                .and_then(|d| d.get("last_update_at"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let current = holdings.albums.get(&id).is_some_and(|known| {
                known.last_update_at == last_update_at && last_update_at < known.saved_at
            }) && holdings.album_files.contains(&id);
            if !current {
                work.push((id, album, last_update_at));
            }
        }
        let mut saving =
            futures_util::stream::iter(work.into_iter().map(|(id, album, last_update_at)| {
                let client = self.client.clone();
                let archive = self.archive.clone();
                async move {
                    // The list gives no description: `album.get` does.
                    let (detail, docs) = tokio::join!(
                        client.call("album.get").param("album_id", id).send(),
                        async {
                            client
                                .call("album.docs.getList")
                                .param("album_id", id)
                                .items()?
                                .try_collect::<Vec<Value>>()
                                .await
                        }
                    );
                    let detail = detail?;
                    let album = merged(album, detail.get("album").cloned().unwrap_or(detail));
                    let docs = docs?;
                    let docs = docs
                        .iter()
                        .filter_map(|d| d.get("doc_id").and_then(Value::as_u64))
                        .collect();
                    let sidecar = AlbumSidecar {
                        album,
                        docs,
                        last_update_at,
                        saved_at: started_at,
                    };
                    let key = layout::album_key(id);
                    let e_tag = archive.write(&key, to_json(&sidecar, &key)?).await?;
                    Ok::<_, ArchiveError>((id, e_tag, last_update_at))
                }
            }))
            .buffer_unordered(self.jobs);
        while let Some(saved) = saving.next().await {
            let (id, e_tag, last_update_at) = saved?;
            report.albums_saved += 1;
            holdings.albums.insert(
                id,
                IndexedAlbum {
                    e_tag: e_tag.unwrap_or_default(),
                    last_update_at,
                    saved_at: started_at,
                },
            );
            holdings.album_files.insert(id);
        }
        let present: HashSet<u64> = order.iter().copied().collect();
        let gone: Vec<u64> = holdings
            .album_files
            .iter()
            .copied()
            .filter(|id| !present.contains(id))
            .collect();
        for id in gone {
            holdings.albums.remove(&id);
            if self.mirror {
                self.archive.remove(&layout::album_key(id)).await?;
            }
        }
        report.albums = order.len() as u64;
        Ok(order)
    }

    /// Walks the document list, saving what changed `jobs` at a time; the ids listed.
    async fn documents(
        &self,
        run: &Arc<Run>,
        user_id: u64,
        holdings: &Holdings,
        index: &mut Index,
        report: &mut BackupReport,
    ) -> Result<HashSet<u64>, ArchiveError> {
        let mut pages = self
            .client
            .call("doc.getList")
            .param("user_id", user_id)
            .param("extra", "dates,count,original,md5")
            .pages()?
            .concurrency(self.jobs);
        let mut seen = HashSet::new();
        let mut listed_all = false;
        let mut announced = false;
        let mut queue = Vec::new();
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut since_index = 0u64;
        loop {
            // Keep `jobs` documents in flight; list further only when the queue runs dry.
            while running.len() < self.jobs {
                let Some((doc, plan)) = queue.pop() else {
                    break;
                };
                running.push(save_doc(Arc::clone(run), doc, plan));
            }
            if queue.is_empty() && running.len() < self.jobs && !listed_all {
                match pages.next().await {
                    Some(page) => {
                        let page = page?;
                        if !announced {
                            announced = true;
                            run.tell(BackupEvent::Listed {
                                documents: page.total.unwrap_or(page.items.len() as u64),
                            });
                        }
                        for item in page.items.iter().rev() {
                            let doc = match ListedDoc::read(item) {
                                Ok(Some(doc)) => doc,
                                Ok(None) => continue,
                                Err((doc_id, error)) => {
                                    // Listed, so not deleted; not saved, so a failure.
                                    if seen.insert(doc_id) {
                                        report.documents += 1;
                                        run.tell(BackupEvent::Failed {
                                            doc_id,
                                            error: error.clone(),
                                        });
                                        report.failed.push((doc_id, error));
                                    }
                                    continue;
                                }
                            };
                            if !seen.insert(doc.doc_id) {
                                continue;
                            }
                            report.documents += 1;
                            match plan(holdings, &doc) {
                                None => {
                                    report.unchanged += 1;
                                    run.tell(BackupEvent::Unchanged { doc_id: doc.doc_id });
                                }
                                Some(original) => {
                                    let bytes = if original == Original::Download {
                                        doc.bytes
                                    } else {
                                        0
                                    };
                                    run.tell(BackupEvent::Queued {
                                        doc_id: doc.doc_id,
                                        bytes,
                                    });
                                    queue.push((doc, original));
                                }
                            }
                        }
                        // Oldest first within a page, as listed.
                        continue;
                    }
                    None => listed_all = true,
                }
            }
            let Some((doc_id, outcome)) = running.next().await else {
                if listed_all && queue.is_empty() {
                    break;
                }
                continue;
            };
            match outcome {
                Ok(done) => {
                    report.fetched += 1;
                    if done.downloaded {
                        report.originals += 1;
                        report.bytes += done.saved.bytes;
                    }
                    if done.recovered {
                        report.recovered += 1;
                    }
                    run.tell(BackupEvent::Saved {
                        doc_id,
                        original: done.downloaded,
                    });
                    // An original stored under another extension before (the document was
                    // replaced by another kind of file) goes.
                    for ext in holdings.originals.get(&doc_id).into_iter().flatten() {
                        if *ext != done.saved.ext {
                            run.archive
                                .remove(&layout::original_key(doc_id, ext))
                                .await?;
                        }
                    }
                    index.docs.insert(
                        doc_id,
                        Indexed {
                            e_tag: done.e_tag.unwrap_or_default(),
                            saved: done.saved,
                        },
                    );
                    since_index += 1;
                    if since_index >= INDEX_EVERY {
                        since_index = 0;
                        write_json(&run.archive, INDEX, &*index).await?;
                    }
                }
                Err(error) if error.is_archive() => return Err(error),
                Err(error) => {
                    let text = error.to_string();
                    run.tell(BackupEvent::Failed {
                        doc_id,
                        error: text.clone(),
                    });
                    report.failed.push((doc_id, text));
                }
            }
        }
        Ok(seen)
    }

    /// Documents the archive holds that the list no longer gives: each confirmed gone with
    /// `doc.get` (a list can shift under a walk), then recorded, and removed with `mirror`.
    async fn deletions(
        &self,
        run: &Run,
        seen: &HashSet<u64>,
        holdings: &mut Holdings,
        index: &mut Index,
        report: &mut BackupReport,
    ) -> Result<(), ArchiveError> {
        let mut candidates: Vec<u64> = holdings
            .docs
            .keys()
            .chain(holdings.orphans.keys())
            .chain(holdings.unreadable.keys())
            .copied()
            .filter(|id| !seen.contains(id) && !holdings.deleted.contains_key(id))
            .collect();
        if self.mirror {
            // Documents recorded as deleted by an earlier run go now.
            candidates.extend(holdings.deleted.keys().copied().filter(|id| {
                holdings.originals.contains_key(id) || holdings.docs.contains_key(id)
            }));
        }
        candidates.sort_unstable();
        candidates.dedup();
        for doc_id in candidates {
            if !holdings.deleted.contains_key(&doc_id) {
                match run
                    .client
                    .call("doc.get")
                    .param("doc_id", doc_id)
                    .send()
                    .await
                {
                    Err(Error::Api(api)) if api.code.as_u32() == 1 => {}
                    // Still there (the list shifted), or not known: kept.
                    _ => continue,
                }
                let now = unix_now();
                index.deleted.insert(doc_id, now);
                report.deleted.push(doc_id);
            }
            let removed = if self.mirror {
                run.archive.remove(&layout::doc_key(doc_id)).await?;
                for ext in holdings.originals.get(&doc_id).into_iter().flatten() {
                    run.archive
                        .remove(&layout::original_key(doc_id, ext))
                        .await?;
                }
                index.docs.remove(&doc_id);
                report.removed += 1;
                true
            } else {
                false
            };
            run.tell(BackupEvent::Deleted { doc_id, removed });
        }
        holdings.deleted = index.deleted.clone();
        Ok(())
    }
}

/// Whether (and how) `doc` is to be fetched: `None` when the archive holds it as it is.
fn plan(holdings: &Holdings, doc: &ListedDoc) -> Option<Original> {
    if let Some(held) = holdings.docs.get(&doc.doc_id) {
        let saved = &held.saved;
        let original_current = held.original && saved.md5 == doc.md5 && saved.ext == doc.ext;
        // A change in the same second as the listing that saved it may not show in
        // `last_update_at`: such a document is looked at again once.
        let unchanged = original_current
            && saved.last_update_at == doc.last_update_at
            && saved.comments == doc.comments
            && doc.last_update_at < saved.saved_at;
        return if unchanged {
            None
        } else if original_current {
            Some(Original::Keep)
        } else {
            Some(Original::Download)
        };
    }
    match holdings.orphans.get(&doc.doc_id) {
        Some((ext, size)) if *ext == doc.ext && *size == doc.bytes => Some(Original::Recheck),
        _ => Some(Original::Download),
    }
}

/// One document saved.
struct Done {
    saved: Saved,
    e_tag: Option<String>,
    downloaded: bool,
    recovered: bool,
}

/// Fetches a document's metadata (and its original, as `plan` says) and writes its files:
/// the original first, the sidecar last.
async fn save_doc(
    run: Arc<Run>,
    doc: ListedDoc,
    plan: Original,
) -> (u64, Result<Done, ArchiveError>) {
    let doc_id = doc.doc_id;
    (doc_id, save_doc_inner(&run, &doc, plan).await)
}

async fn save_doc_inner(run: &Run, doc: &ListedDoc, plan: Original) -> Result<Done, ArchiveError> {
    let client = &run.client;
    let doc_id = doc.doc_id;
    let meta = client
        .call("doc.get")
        .param("doc_id", doc_id)
        .param("extra", "tags,notes,geo,md5")
        .send();
    let comments = async {
        if doc.comments == 0 {
            return Ok(Vec::new());
        }
        client
            .call("doc.comments.getList")
            .param("doc_id", doc_id)
            .items()?
            .try_collect::<Vec<Value>>()
            .await
    };
    let containers = client
        .call("doc.getContainers")
        .param("doc_id", doc_id)
        .send();
    let exif = async {
        if doc.media != "photo" {
            return Ok(None);
        }
        match client
            .call("doc.getExif")
            .param("doc_id", doc_id)
            .send()
            .await
        {
            Ok(answer) => Ok(answer.get("exif").cloned()),
            // A photo without EXIF, or one the service cannot read: nothing to keep.
            Err(Error::Api(_)) => Ok(None),
            Err(other) => Err(other),
        }
    };
    let original = async {
        match plan {
            Original::Keep => Ok((false, false)),
            Original::Recheck => {
                if stored_md5(&run.archive, doc).await? == doc.md5 {
                    Ok((false, true))
                } else {
                    download(run, doc).await.map(|()| (true, false))
                }
            }
            Original::Download => download(run, doc).await.map(|()| (true, false)),
        }
    };
    let (meta, comments, containers, exif, original) =
        tokio::join!(meta, comments, containers, exif, original);
    let (downloaded, recovered) = original?;
    let meta = meta?;
    let containers = containers?;
    let albums: Vec<Value> = containers
        .get("albums")
        .map(|a| a.list("album").to_vec())
        .unwrap_or_default();
    let mut folders: Vec<u64> = albums
        .iter()
        .filter_map(|a| a.get("album_id").and_then(Value::as_u64))
        .flat_map(|album| run.album_folders.get(&album).cloned().unwrap_or_default())
        .collect();
    folders.sort_unstable();
    folders.dedup();
    let saved = Saved {
        md5: doc.md5.clone(),
        ext: doc.ext.clone(),
        bytes: doc.bytes,
        last_update_at: doc.last_update_at,
        comments: doc.comments,
        saved_at: run.started_at,
    };
    let sidecar = DocSidecar {
        doc: meta.get("doc").cloned().unwrap_or(meta),
        comments: comments?,
        albums,
        groups: containers
            .get("groups")
            .map(|g| g.list("group").to_vec())
            .unwrap_or_default(),
        folders,
        exif: exif?,
        backup: saved.clone(),
    };
    let key = layout::doc_key(doc_id);
    let e_tag = run.archive.write(&key, to_json(&sidecar, &key)?).await?;
    Ok(Done {
        saved,
        e_tag,
        downloaded,
        recovered,
    })
}

/// Streams `doc`'s original into the archive; it appears under its name only if its MD5 is the
/// service's.
async fn download(run: &Run, doc: &ListedDoc) -> Result<(), ArchiveError> {
    let doc_id = doc.doc_id;
    let mut download = run.client.download(&doc.url).await?;
    let mut writer = run.archive.writer(&layout::original_key(doc_id, &doc.ext));
    let mut hasher = md5::Md5::new();
    let mut received = 0u64;
    let outcome = loop {
        let piece = match tokio::time::timeout(STALL, download.body.next()).await {
            Err(_) => {
                break Err(ArchiveError::Download {
                    doc_id,
                    reason: format!("nothing arrived for {} s", STALL.as_secs()),
                });
            }
            Ok(None) => break Ok(()),
            Ok(Some(Err(error))) => {
                break Err(ArchiveError::Download {
                    doc_id,
                    reason: error.to_string(),
                });
            }
            Ok(Some(Ok(piece))) => piece,
        };
        hasher.update(&piece);
        received += piece.len() as u64;
        run.tell(BackupEvent::Received {
            bytes: piece.len() as u64,
        });
        if let Err(error) = writer.push(piece).await {
            break Err(error);
        }
    };
    if let Err(error) = outcome {
        writer.abandon().await;
        return Err(error);
    }
    let found = hex_md5(hasher);
    if found != doc.md5 {
        writer.abandon().await;
        return Err(ArchiveError::Mismatch {
            doc_id,
            expected: doc.md5.clone(),
            found: format!("{found} ({received} bytes)"),
        });
    }
    writer.finish().await
}

/// The MD5 of `doc`'s original as the archive holds it.
async fn stored_md5(archive: &Archive, doc: &ListedDoc) -> Result<String, ArchiveError> {
    let mut stream = archive
        .read_stream(&layout::original_key(doc.doc_id, &doc.ext))
        .await?;
    let mut hasher = md5::Md5::new();
    while let Some(piece) = stream.next().await {
        hasher.update(&piece?);
    }
    Ok(hex_md5(hasher))
}

impl Holdings {
    /// What the archive holds: its listing, with the index where it still matches the
    /// sidecars and the sidecars themselves where it does not.
    async fn load(
        archive: &Archive,
        listener: Option<&Listener>,
    ) -> Result<Holdings, ArchiveError> {
        let index: Index = match archive.read_at_most(INDEX, MAX_INDEX_BYTES).await? {
            None => Index::default(),
            Some(bytes) => {
                let index: Index = serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt {
                    key: INDEX.to_owned(),
                    reason: format!(
                        "{e}; it is only a cache of the sidecars: remove it and the next run rebuilds it"
                    ),
                })?;
                if index.version != INDEX_VERSION {
                    return Err(ArchiveError::Corrupt {
                        key: INDEX.to_owned(),
                        reason: format!(
                            "version {} is not this build's {INDEX_VERSION}; remove it and the next run rebuilds it",
                            index.version
                        ),
                    });
                }
                index
            }
        };
        let mut holdings = Holdings {
            albums: index.albums,
            folders: index.folders,
            deleted: index.deleted,
            ..Holdings::default()
        };
        if let Some(bytes) = archive.read(ACCOUNT).await? {
            // Deletions recorded before an index was lost.
            let account: Account =
                serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt {
                    key: ACCOUNT.to_owned(),
                    reason: format!(
                        "{e}; repair it, or remove it and lose the record of documents deleted on the service"
                    ),
                })?;
            for (id, when) in account.deleted {
                holdings.deleted.entry(id).or_insert(when);
            }
        }
        let mut sidecars = HashMap::new();
        let mut sizes: HashMap<u64, Vec<(String, u64)>> = HashMap::new();
        for listed in archive.list("docs").await? {
            match layout::doc_file(&listed.key) {
                Some(DocFile::Sidecar(id)) => {
                    sidecars.insert(id, listed.e_tag);
                }
                Some(DocFile::Original(id, ext)) => {
                    sizes
                        .entry(id)
                        .or_default()
                        .push((ext.to_owned(), listed.size));
                }
                None => {}
            }
        }
        holdings.originals = sizes
            .iter()
            .map(|(id, files)| (*id, files.iter().map(|(ext, _)| ext.clone()).collect()))
            .collect();
        let mut known = index.docs;
        let mut to_read = Vec::new();
        for (id, e_tag) in &sidecars {
            match known.remove(id) {
                Some(indexed)
                    if e_tag.as_deref() == Some(indexed.e_tag.as_str())
                        && !indexed.e_tag.is_empty() =>
                {
                    holdings.docs.insert(
                        *id,
                        Held {
                            saved: indexed.saved,
                            original: false,
                        },
                    );
                }
                _ => to_read.push(*id),
            }
        }
        let mut reads = futures_util::stream::iter(to_read.into_iter().map(|id| async move {
            let key = layout::doc_key(id);
            let bytes = archive.read(&key).await?;
            Ok::<_, ArchiveError>((id, bytes))
        }))
        .buffer_unordered(READS_AT_ONCE);
        while let Some(read) = reads.next().await {
            let (id, bytes) = read?;
            let Some(bytes) = bytes else { continue };
            match serde_json::from_slice::<DocSidecar>(&bytes) {
                Ok(sidecar) => {
                    holdings.docs.insert(
                        id,
                        Held {
                            saved: sidecar.backup,
                            original: false,
                        },
                    );
                }
                Err(error) => {
                    let reason = error.to_string();
                    if let Some(listener) = listener {
                        listener(&BackupEvent::Repaired {
                            doc_id: id,
                            reason: reason.clone(),
                        });
                    }
                    holdings.unreadable.insert(id, reason);
                }
            }
        }
        for (id, held) in &mut holdings.docs {
            held.original = sizes.get(id).is_some_and(|files| {
                files
                    .iter()
                    .any(|(ext, size)| *ext == held.saved.ext && *size == held.saved.bytes)
            });
        }
        for (id, files) in &sizes {
            // An original whose sidecar is missing or unreadable is checked in the archive
            // before it is fetched again.
            if (!sidecars.contains_key(id) || holdings.unreadable.contains_key(id))
                && let Some((ext, size)) = files.first()
            {
                holdings.orphans.insert(*id, (ext.clone(), *size));
            }
        }
        holdings.e_tags = sidecars;
        for listed in archive.list("albums").await? {
            if let Some(id) = layout::json_id(&listed.key, "albums") {
                holdings.album_files.insert(id);
                // An album sidecar rewritten behind the index's back is listed again.
                if holdings
                    .albums
                    .get(&id)
                    .is_some_and(|known| listed.e_tag.as_deref() != Some(known.e_tag.as_str()))
                {
                    holdings.albums.remove(&id);
                }
            }
        }
        for listed in archive.list("folders").await? {
            if let Some(id) = layout::json_id(&listed.key, "folders") {
                holdings.folder_files.insert(id);
                // A folder sidecar rewritten behind the index's back is listed again.
                if holdings
                    .folders
                    .get(&id)
                    .is_some_and(|known| listed.e_tag.as_deref() != Some(known.e_tag.as_str()))
                {
                    holdings.folders.remove(&id);
                }
            }
        }
        Ok(holdings)
    }
}

/// A container as its list gives it, with what its own `*.get` adds or tells anew.
fn merged(listed: Value, detail: Value) -> Value {
    match (listed, detail) {
        (Value::Map(mut listed), Value::Map(detail)) => {
            for (name, value) in detail.iter() {
                listed.insert(name.clone(), value.clone());
            }
            Value::Map(listed)
        }
        (listed, Value::Null) => listed,
        (_, detail) => detail,
    }
}

/// `value` as pretty JSON.
fn to_json<T: serde::Serialize>(value: &T, key: &str) -> Result<Vec<u8>, ArchiveError> {
    serde_json::to_vec_pretty(value).map_err(|e| ArchiveError::Corrupt {
        key: key.to_owned(),
        reason: format!("cannot be written as JSON: {e}"),
    })
}

async fn write_json<T: serde::Serialize>(
    archive: &Archive,
    key: &str,
    value: &T,
) -> Result<(), ArchiveError> {
    archive.write(key, to_json(value, key)?).await.map(|_| ())
}

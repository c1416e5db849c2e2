//! `Client::restore`: an archive put back into an account, every field a client can set,
//! idempotent across kills through a journal of old → new ids.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::ArchiveError;
use super::layout::{self, ACCOUNT, Account, AlbumSidecar, DocFile, DocSidecar, FolderSidecar};
use super::store::Archive;
use crate::client::Client;
use crate::client::journal::{Journal, JournalEntry};
use crate::error::Error;
use crate::upload::{Audience, CreatedAt, Geo, License, Safety, UploadFile};
use crate::value::Value;

/// Most ids one `folder.albums.add` takes.
const ALBUMS_PER_CALL: usize = 20;

/// One line of the restore journal: what an archived document, album or folder became.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step {
    /// `doc:<old id>`, `album:<old id>`, `folder:<old id>`, `order`.
    item: String,
    state: StepState,
    /// The id in the target account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    new_id: Option<u64>,
    /// For a document done: the fields carried over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    carried: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StepState {
    /// Being created; whether the service got it is not known.
    Sending,
    /// Created (a document uploaded, a container made); its contents not yet all set.
    Created,
    /// Complete.
    Done,
}

impl Step {
    fn new(item: impl Into<String>, state: StepState, new_id: Option<u64>) -> Step {
        Step {
            item: item.into(),
            state,
            new_id,
            carried: Vec::new(),
        }
    }
}

impl JournalEntry for Step {
    fn key(&self) -> &str {
        &self.item
    }
}

/// What a restore run is doing, for progress displays.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RestoreEvent {
    /// The archive holds this many documents, of this many bytes.
    Planned {
        /// Documents.
        documents: u64,
        /// Bytes of originals.
        bytes: u64,
    },
    /// A document is in the target account.
    Restored {
        /// Its id in the archive.
        old_id: u64,
        /// Its id in the target account.
        new_id: u64,
        /// Bytes uploaded (0 when an earlier run had done it).
        bytes: u64,
    },
    /// A document could not be restored; the run goes on and the next run tries again.
    Failed {
        /// Its id in the archive.
        old_id: u64,
        /// Why.
        error: String,
    },
}

type Listener = Arc<dyn Fn(&RestoreEvent) + Send + Sync>;

/// A restore of an archive into the client's account, set up by [`Client::restore`].
#[must_use = "a restore does nothing until run"]
pub struct Restore {
    client: Client,
    archive: Archive,
    journal: Option<PathBuf>,
    jobs: usize,
    listener: Option<Listener>,
}

impl fmt::Debug for Restore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restore")
            .field("archive", &self.archive)
            .field("journal", &self.journal)
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

/// How many documents carried a field, and how many over.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldCount {
    /// The field, in words.
    pub field: &'static str,
    /// Documents (or albums, folders) of the archive that have it.
    pub had: u64,
    /// Of those, how many carry it in the target account.
    pub carried: u64,
}

/// The "what survived" report of a restore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Survival {
    /// Each field a client can set.
    pub fields: Vec<FieldCount>,
    /// What the API does not let a client restore, and how many documents had it.
    pub lost: Vec<FieldCount>,
}

impl fmt::Display for Survival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<28} {:>9} {:>9}", "field", "had", "restored")?;
        for field in &self.fields {
            writeln!(
                f,
                "{:<28} {:>9} {:>9}",
                field.field, field.had, field.carried
            )?;
        }
        writeln!(f, "not restorable through the API:")?;
        for field in &self.lost {
            writeln!(f, "{:<28} {:>9}", field.field, field.had)?;
        }
        Ok(())
    }
}

/// What a restore run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreReport {
    /// Documents in the archive.
    pub documents: u64,
    /// Documents uploaded by this run.
    pub uploaded: u64,
    /// Bytes uploaded by this run.
    pub bytes: u64,
    /// Documents an earlier run had restored.
    pub already: u64,
    /// Old → new document ids (every restored document, this run's and earlier runs').
    pub doc_ids: BTreeMap<u64, u64>,
    /// Old → new album ids.
    pub album_ids: BTreeMap<u64, u64>,
    /// Old → new folder ids.
    pub folder_ids: BTreeMap<u64, u64>,
    /// Documents that could not be restored, and why.
    pub failed: Vec<(u64, String)>,
    /// Each field, how many documents carried it over.
    pub survival: Survival,
}

impl Client {
    /// A restore of `archive` into this client's account (the token's user).
    pub fn restore(&self, archive: &Archive) -> Restore {
        Restore {
            client: self.clone(),
            archive: archive.clone(),
            journal: None,
            jobs: 4,
            listener: None,
        }
    }
}

/// The fields a restore counts, in the report's order.
const FIELDS: &[&str] = &[
    "title",
    "description",
    "keyword tags",
    "machine tags",
    "member tags",
    "visibility (share)",
    "permissions",
    "license",
    "safety",
    "geo",
    "created date",
    "own notes",
    "own comments",
];

/// What the API keeps from a client, in the report's order.
const LOST: &[&str] = &[
    "posted date",
    "others' comments",
    "others' notes",
    "faves",
    "visits",
    "groups",
];

impl Restore {
    /// The journal file (default: `ipernity-restore.journal` in the current directory). Keep
    /// one per archive and target account: it is what makes a second run go on where the
    /// first stopped.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Documents restored at once (at least 1; 4 unless set).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Calls `listener` with each [`RestoreEvent`].
    pub fn on_event(mut self, listener: impl Fn(&RestoreEvent) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Runs the restore: documents (oldest first), then albums in order with their cover,
    /// then folders in order, then the order of albums and folders. Documents, albums and
    /// folders the archive records as deleted on the service are left out.
    ///
    /// # Errors
    ///
    /// An [`ArchiveError`] when the archive or the journal cannot be read, or an album or
    /// folder cannot be made; documents that fail alone are in [`RestoreReport::failed`].
    pub async fn run(self) -> Result<RestoreReport, ArchiveError> {
        let path = self
            .journal
            .clone()
            .unwrap_or_else(|| PathBuf::from("ipernity-restore.journal"));
        // The target's token is checked before anything is read or made: a wrong one fails
        // here, not after the archive was walked.
        self.client.call("auth.checkToken").send().await?;
        let journal = Arc::new(Mutex::new(Journal::<Step>::open(&path)?));
        let archive = &self.archive;
        let account_bytes = archive.read(ACCOUNT).await?;
        // Without account.json (a first backup stopped before its end), every album and folder
        // the archive holds is restored; with it, those it lists, which the service still had.
        let listed_order = account_bytes.is_some();
        let account: Account = match account_bytes {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt {
                key: ACCOUNT.to_owned(),
                reason: e.to_string(),
            })?,
            None => Account::default(),
        };
        let owner = account
            .user
            .get("user_id")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let mut docs: Vec<(u64, u64)> = Vec::new();
        let mut sizes: HashMap<(u64, String), u64> = HashMap::new();
        let mut any_size: HashMap<u64, u64> = HashMap::new();
        let listed = archive.list("docs").await?;
        for item in &listed {
            if let Some(DocFile::Original(id, ext)) = layout::doc_file(&item.key) {
                sizes.insert((id, ext.to_owned()), item.size);
                any_size.insert(id, item.size);
            }
        }
        for item in &listed {
            if let Some(DocFile::Sidecar(id)) = layout::doc_file(&item.key)
                && !account.deleted.contains_key(&id)
            {
                docs.push((id, any_size.get(&id).copied().unwrap_or(0)));
            }
        }
        docs.sort_unstable();
        self.tell(RestoreEvent::Planned {
            documents: docs.len() as u64,
            bytes: docs.iter().map(|(_, size)| size).sum(),
        });
        let mut report = RestoreReport {
            documents: docs.len() as u64,
            ..RestoreReport::default()
        };
        let mut had: HashMap<&'static str, u64> = HashMap::new();
        let mut carried: HashMap<String, u64> = HashMap::new();
        let this = &self;
        let sizes = &sizes;
        let mut restoring = futures_util::stream::iter(docs.into_iter().map(|(old_id, _)| {
            let journal = Arc::clone(&journal);
            async move {
                let outcome = this.restore_doc(&journal, owner, old_id, sizes).await;
                (old_id, outcome)
            }
        }))
        .buffer_unordered(self.jobs);
        while let Some((old_id, outcome)) = restoring.next().await {
            match outcome {
                Ok(done) => {
                    for field in done.had {
                        *had.entry(field).or_default() += 1;
                    }
                    for field in &done.carried {
                        *carried.entry(field.clone()).or_default() += 1;
                    }
                    if done.bytes > 0 || !done.earlier {
                        report.uploaded += 1;
                        report.bytes += done.bytes;
                    } else {
                        report.already += 1;
                    }
                    report.doc_ids.insert(old_id, done.new_id);
                    self.tell(RestoreEvent::Restored {
                        old_id,
                        new_id: done.new_id,
                        bytes: done.bytes,
                    });
                }
                Err(error) if error.is_archive() => return Err(error),
                Err(error) => {
                    let text = error.to_string();
                    self.tell(RestoreEvent::Failed {
                        old_id,
                        error: text.clone(),
                    });
                    report.failed.push((old_id, text));
                }
            }
        }
        drop(restoring);
        let albums = self
            .albums(
                &journal,
                listed_order.then_some(&account.albums[..]),
                &report.doc_ids,
            )
            .await?;
        let folders = self
            .folders(
                &journal,
                listed_order.then_some(&account.folders[..]),
                &albums,
            )
            .await?;
        self.order(&journal, &account, &albums, &folders).await?;
        report.survival = Survival {
            fields: FIELDS
                .iter()
                .map(|field| FieldCount {
                    field,
                    had: had.get(field).copied().unwrap_or(0),
                    carried: carried.get(*field).copied().unwrap_or(0),
                })
                .chain([
                    FieldCount {
                        field: "albums",
                        had: account.albums.len() as u64,
                        carried: albums.len() as u64,
                    },
                    FieldCount {
                        field: "folders",
                        had: account.folders.len() as u64,
                        carried: folders.len() as u64,
                    },
                ])
                .collect(),
            lost: LOST
                .iter()
                .map(|field| FieldCount {
                    field,
                    had: had.get(field).copied().unwrap_or(0),
                    carried: 0,
                })
                .collect(),
        };
        report.album_ids = albums;
        report.folder_ids = folders;
        Ok(report)
    }

    fn tell(&self, event: RestoreEvent) {
        if let Some(listener) = &self.listener {
            listener(&event);
        }
    }

    fn record(&self, journal: &Mutex<Journal<Step>>, step: Step) -> Result<(), ArchiveError> {
        let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        journal.record(step).map_err(ArchiveError::from)
    }

    fn recorded(&self, journal: &Mutex<Journal<Step>>, item: &str) -> Option<Step> {
        let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        journal.get(item).cloned()
    }

    /// One document: uploaded with what `upload.file` takes, then member tags, notes and
    /// comments.
    async fn restore_doc(
        &self,
        journal: &Mutex<Journal<Step>>,
        owner: u64,
        old_id: u64,
        sizes: &HashMap<(u64, String), u64>,
    ) -> Result<DocDone, ArchiveError> {
        let key = layout::doc_key(old_id);
        let unusable = |key: &str, reason: String| ArchiveError::Unusable {
            key: key.to_owned(),
            reason,
        };
        let bytes = self
            .archive
            .read(&key)
            .await?
            .ok_or_else(|| unusable(&key, "listed, then gone".to_owned()))?;
        let sidecar: DocSidecar =
            serde_json::from_slice(&bytes).map_err(|e| unusable(&key, e.to_string()))?;
        let original = layout::original_key(old_id, &sidecar.backup.ext);
        let size = match sizes.get(&(old_id, sidecar.backup.ext.clone())) {
            Some(&size) if size == sidecar.backup.bytes => size,
            Some(&size) => {
                return Err(unusable(
                    &original,
                    format!("{size} bytes, the sidecar records {}", sidecar.backup.bytes),
                ));
            }
            None => return Err(unusable(&original, "missing from the archive".to_owned())),
        };
        let fields = DocFields::read(&sidecar, owner);
        let item = format!("doc:{old_id}");
        let known = self.recorded(journal, &item);
        if let Some(Step {
            state: StepState::Done,
            new_id: Some(new_id),
            carried,
            ..
        }) = &known
        {
            return Ok(DocDone {
                new_id: *new_id,
                bytes: 0,
                earlier: true,
                had: fields.had(),
                carried: carried.clone(),
            });
        }
        let mut uploaded = 0;
        let mut resumed = false;
        let new_id = match &known {
            Some(Step {
                state: StepState::Created,
                new_id: Some(new_id),
                ..
            }) => {
                resumed = true;
                *new_id
            }
            Some(Step {
                state: StepState::Sending,
                ..
            }) => {
                // The upload may have arrived before the run stopped: looked up by content.
                match self.find_by_md5(&sidecar.backup.md5).await? {
                    Some(found) => {
                        resumed = true;
                        found
                    }
                    None => {
                        uploaded = size;
                        self.upload(&sidecar, &fields, old_id, size).await?
                    }
                }
            }
            _ => {
                self.record(journal, Step::new(item.clone(), StepState::Sending, None))?;
                uploaded = size;
                self.upload(&sidecar, &fields, old_id, size).await?
            }
        };
        self.record(
            journal,
            Step::new(item.clone(), StepState::Created, Some(new_id)),
        )?;
        let carried = self.finish_doc(&fields, new_id, resumed).await?;
        self.record(
            journal,
            Step {
                item,
                state: StepState::Done,
                new_id: Some(new_id),
                carried: carried.clone(),
            },
        )?;
        Ok(DocDone {
            new_id,
            bytes: uploaded,
            earlier: resumed && uploaded == 0,
            had: fields.had(),
            carried,
        })
    }

    async fn find_by_md5(&self, md5: &str) -> Result<Option<u64>, ArchiveError> {
        let found = self
            .client
            .call("doc.checkMD5")
            .param("md5", md5)
            .send()
            .await?;
        Ok(found
            .get("docs")
            .map(|docs| docs.list("doc"))
            .and_then(|docs| docs.first())
            .and_then(|doc| doc.get("doc_id"))
            .and_then(Value::as_u64))
    }

    async fn upload(
        &self,
        sidecar: &DocSidecar,
        fields: &DocFields,
        old_id: u64,
        size: u64,
    ) -> Result<u64, ArchiveError> {
        let stream = self
            .archive
            .read_stream(&layout::original_key(old_id, &sidecar.backup.ext))
            .await?
            .map_err(std::io::Error::other);
        let reader = tokio_util::io::StreamReader::new(stream);
        let filename = fields
            .filename
            .clone()
            .unwrap_or_else(|| format!("{old_id}.{}", sidecar.backup.ext));
        let mut file = UploadFile::from_reader(filename, reader, size);
        if let Some(title) = &fields.title {
            file = file.title(title);
        }
        if let Some(description) = &fields.description {
            file = file.description(description);
        }
        if let Some(created) = &fields.created {
            file = file.created_at(CreatedAt::Text(created.clone()));
        }
        if let Some(license) = fields.license {
            file = file.license(license);
        }
        if let Some((public, family, friend)) = fields.visibility {
            file = file.is_public(public).is_family(family).is_friend(friend);
        }
        if let Some(safety) = fields.safety {
            file = file.safety(safety);
        }
        if !fields.keywords.is_empty() {
            file = file.keywords(&fields.keywords);
        }
        if let Some((comment, tag, tagme)) = fields.permissions {
            file = file.perm_comment(comment).perm_tag(tag).perm_tagme(tagme);
        }
        file = file
            .geo(fields.geo.unwrap_or(Geo::None))
            .asynchronous(false);
        let uploaded = self.client.upload(file).send().await?;
        uploaded
            .doc_id
            .ok_or_else(|| ArchiveError::Api(Error::MissingField { field: "doc_id" }))
    }

    /// What `upload.file` does not take: member tags, the owner's notes and comments. On a
    /// resumed document, what is already there is not added twice.
    async fn finish_doc(
        &self,
        fields: &DocFields,
        new_id: u64,
        resumed: bool,
    ) -> Result<Vec<String>, ArchiveError> {
        let client = &self.client;
        let mut carried: Vec<String> = fields
            .set_by_upload()
            .iter()
            .map(|f| (*f).to_owned())
            .collect();
        if !fields.members.is_empty() {
            let members = id_list(&fields.members);
            match client
                .call("doc.tags.add")
                .param("doc_id", new_id)
                .param("members", members)
                .send()
                .await
            {
                Ok(_) => carried.push("member tags".to_owned()),
                // Members of another service, or who refuse tags: the document goes on.
                Err(Error::Api(error)) => {
                    tracing::warn!(doc_id = new_id, error = %error, "member tags not restored")
                }
                Err(other) => return Err(other.into()),
            }
        }
        let (present_notes, present_comments) = if resumed {
            let doc = client
                .call("doc.get")
                .param("doc_id", new_id)
                .param("extra", "notes")
                .send()
                .await?;
            let notes: Vec<String> = doc
                .get("doc")
                .and_then(|d| d.get("notes"))
                .map(|n| n.list("note").iter().map(note_text).collect())
                .unwrap_or_default();
            let comments: Vec<Value> = client
                .call("doc.comments.getList")
                .param("doc_id", new_id)
                .items()?
                .try_collect()
                .await?;
            (notes, comments.iter().map(comment_text).collect::<Vec<_>>())
        } else {
            (Vec::new(), Vec::new())
        };
        for note in &fields.notes {
            if present_notes.contains(&note_text(note)) {
                continue;
            }
            let number = |name: &str| note.get(name).and_then(Value::as_u64).unwrap_or(0);
            client
                .call("doc.notes.add")
                .param("doc_id", new_id)
                .param("x", number("x"))
                .param("y", number("y"))
                .param("w", number("w"))
                .param("h", number("h"))
                .param("content", note_content(note))
                .send()
                .await?;
        }
        if !fields.notes.is_empty() {
            carried.push("own notes".to_owned());
        }
        for comment in &fields.comments {
            let content = comment_text(comment);
            if present_comments.contains(&content) {
                continue;
            }
            client
                .call("doc.comments.add")
                .param("doc_id", new_id)
                .param("content", content)
                .send()
                .await?;
        }
        if !fields.comments.is_empty() {
            carried.push("own comments".to_owned());
        }
        Ok(carried)
    }

    /// The sidecars of `dir` (`albums`, `folders`): those `order` names, in its order (the
    /// account's, from `account.json`; a sidecar of a container deleted on the service stays in
    /// an archive made without `--mirror`, and is not restored), or every one the archive holds,
    /// by id, when there is no order.
    async fn sidecars<T: serde::de::DeserializeOwned>(
        &self,
        dir: &str,
        order: Option<&[u64]>,
    ) -> Result<Vec<(u64, T)>, ArchiveError> {
        let ids: Vec<u64> = match order {
            Some(order) => order.to_vec(),
            None => {
                let mut all: Vec<u64> = self
                    .archive
                    .list(dir)
                    .await?
                    .iter()
                    .filter_map(|listed| layout::json_id(&listed.key, dir))
                    .collect();
                all.sort_unstable();
                all
            }
        };
        let mut sidecars = Vec::with_capacity(ids.len());
        for id in ids {
            let key = format!("{dir}/{id}.json");
            let Some(bytes) = self.archive.read(&key).await? else {
                continue;
            };
            let sidecar = serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt {
                key,
                reason: e.to_string(),
            })?;
            sidecars.push((id, sidecar));
        }
        Ok(sidecars)
    }

    /// Albums, each made with its title, description and cover, then filled in order.
    async fn albums(
        &self,
        journal: &Mutex<Journal<Step>>,
        order: Option<&[u64]>,
        docs: &BTreeMap<u64, u64>,
    ) -> Result<BTreeMap<u64, u64>, ArchiveError> {
        let mut made = BTreeMap::new();
        let sidecars: Vec<(u64, AlbumSidecar)> = self.sidecars("albums", order).await?;
        for (old_id, sidecar) in sidecars {
            let title = text(&sidecar.album, "title").unwrap_or_else(|| format!("Album {old_id}"));
            let new_docs: Vec<u64> = sidecar
                .docs
                .iter()
                .filter_map(|d| docs.get(d).copied())
                .collect();
            let cover = sidecar
                .album
                .get("cover")
                .and_then(|c| c.get("doc_id"))
                .and_then(Value::as_u64)
                .and_then(|d| docs.get(&d).copied())
                .filter(|d| new_docs.contains(d))
                .or_else(|| new_docs.first().copied());
            let item = format!("album:{old_id}");
            let new_id = self
                .container(journal, &item, "album", &title, || {
                    let mut call = self
                        .client
                        .call("album.create")
                        .param("title", title.clone());
                    if let Some(description) = text(&sidecar.album, "description") {
                        call = call.param("description", description);
                    }
                    if let Some(cover) = cover {
                        call = call.param("cover_id", cover);
                    }
                    let perm_comment = sidecar
                        .album
                        .get("permissions")
                        .and_then(|p| text(p, "comment"))
                        .filter(|p| ["0", "1", "2", "3", "4", "5"].contains(&p.as_str()));
                    if let Some(perm_comment) = perm_comment {
                        call = call.param("perm_comment", perm_comment);
                    }
                    call
                })
                .await?;
            if let Some(cover) = cover
                && !matches!(
                    self.recorded(journal, &item),
                    Some(Step {
                        state: StepState::Done,
                        ..
                    })
                )
            {
                self.client
                    .call("album.docs.setList")
                    .param("album_id", new_id)
                    .param("doc_ids", id_list(&new_docs))
                    .param("cover_id", cover)
                    .send()
                    .await?;
            }
            self.record(journal, Step::new(item, StepState::Done, Some(new_id)))?;
            made.insert(old_id, new_id);
        }
        Ok(made)
    }

    /// Folders, each made with its title and description, then given its albums in order.
    async fn folders(
        &self,
        journal: &Mutex<Journal<Step>>,
        order: Option<&[u64]>,
        albums: &BTreeMap<u64, u64>,
    ) -> Result<BTreeMap<u64, u64>, ArchiveError> {
        let mut made = BTreeMap::new();
        let sidecars: Vec<(u64, FolderSidecar)> = self.sidecars("folders", order).await?;
        for (old_id, sidecar) in sidecars {
            let title =
                text(&sidecar.folder, "title").unwrap_or_else(|| format!("Folder {old_id}"));
            let item = format!("folder:{old_id}");
            let done = matches!(
                self.recorded(journal, &item),
                Some(Step {
                    state: StepState::Done,
                    ..
                })
            );
            let new_id = self
                .container(journal, &item, "folder", &title, || {
                    let mut call = self
                        .client
                        .call("folder.create")
                        .param("title", title.clone());
                    if let Some(description) = text(&sidecar.folder, "description") {
                        call = call.param("description", description);
                    }
                    call
                })
                .await?;
            if !done {
                let present: Vec<Value> = self
                    .client
                    .call("folder.albums.getList")
                    .param("folder_id", new_id)
                    .items()?
                    .try_collect()
                    .await?;
                let present: Vec<u64> = present
                    .iter()
                    .filter_map(|a| a.get("album_id").and_then(Value::as_u64))
                    .collect();
                let wanted: Vec<u64> = sidecar
                    .albums
                    .iter()
                    .filter_map(|a| albums.get(a).copied())
                    .filter(|a| !present.contains(a))
                    .collect();
                for chunk in wanted.chunks(ALBUMS_PER_CALL) {
                    self.client
                        .call("folder.albums.add")
                        .param("folder_id", new_id)
                        .param("album_id", id_list(chunk))
                        .send()
                        .await?;
                }
            }
            self.record(journal, Step::new(item, StepState::Done, Some(new_id)))?;
            made.insert(old_id, new_id);
        }
        Ok(made)
    }

    /// A container made once: the journal's id, or one found by title after a run stopped
    /// between creating it and recording it, or a new one.
    async fn container(
        &self,
        journal: &Mutex<Journal<Step>>,
        item: &str,
        kind: &str,
        title: &str,
        create: impl FnOnce() -> crate::client::CallBuilder,
    ) -> Result<u64, ArchiveError> {
        match self.recorded(journal, item) {
            Some(Step {
                new_id: Some(new_id),
                ..
            }) => return Ok(new_id),
            Some(Step {
                state: StepState::Sending,
                ..
            }) => {
                let list = format!("{kind}.getList");
                let found: Vec<Value> = self
                    .client
                    .call(list)
                    .param("empty", 1)
                    .items()?
                    .try_collect()
                    .await?;
                let id_name = format!("{kind}_id");
                if let Some(id) = found
                    .iter()
                    .rev()
                    .filter(|c| text(c, "title").as_deref() == Some(title))
                    .find_map(|c| c.get(&id_name).and_then(Value::as_u64))
                {
                    self.record(
                        journal,
                        Step::new(item.to_owned(), StepState::Created, Some(id)),
                    )?;
                    return Ok(id);
                }
            }
            _ => {}
        }
        self.record(
            journal,
            Step::new(item.to_owned(), StepState::Sending, None),
        )?;
        let made = create().send().await?;
        let id = made
            .get(kind)
            .and_then(|c| c.get(&format!("{kind}_id")))
            .and_then(Value::as_u64)
            .ok_or(Error::MissingField {
                field: "album_id / folder_id",
            })?;
        self.record(
            journal,
            Step::new(item.to_owned(), StepState::Created, Some(id)),
        )?;
        Ok(id)
    }

    /// The order of the account's albums and folders.
    async fn order(
        &self,
        journal: &Mutex<Journal<Step>>,
        account: &Account,
        albums: &BTreeMap<u64, u64>,
        folders: &BTreeMap<u64, u64>,
    ) -> Result<(), ArchiveError> {
        if matches!(
            self.recorded(journal, "order"),
            Some(Step {
                state: StepState::Done,
                ..
            })
        ) {
            return Ok(());
        }
        let album_order: Vec<String> = account
            .albums
            .iter()
            .filter_map(|a| albums.get(a))
            .map(u64::to_string)
            .collect();
        if album_order.len() > 1 {
            self.client
                .call("album.orderList")
                .param("album_ids", album_order.join(","))
                .send()
                .await?;
        }
        let folder_order: Vec<String> = account
            .folders
            .iter()
            .filter_map(|f| folders.get(f))
            .map(u64::to_string)
            .collect();
        if folder_order.len() > 1 {
            self.client
                .call("folder.orderList")
                .param("folder_ids", folder_order.join(","))
                .send()
                .await?;
        }
        self.record(
            journal,
            Step::new("order".to_owned(), StepState::Done, None),
        )
    }
}

/// One document restored.
struct DocDone {
    new_id: u64,
    bytes: u64,
    earlier: bool,
    had: Vec<&'static str>,
    carried: Vec<String>,
}

/// What an archived document says that a client can set, and what it cannot.
#[derive(Debug, Default)]
struct DocFields {
    filename: Option<String>,
    title: Option<String>,
    description: Option<String>,
    created: Option<String>,
    license: Option<License>,
    visibility: Option<(bool, bool, bool)>,
    safety: Option<Safety>,
    keywords: Vec<String>,
    machine_tags: bool,
    keyword_tags: bool,
    members: Vec<u64>,
    permissions: Option<(Audience, Audience, Audience)>,
    geo: Option<Geo>,
    notes: Vec<Value>,
    comments: Vec<Value>,
    others_notes: bool,
    others_comments: bool,
    faves: bool,
    visits: bool,
    groups: bool,
    posted: bool,
}

impl DocFields {
    fn read(sidecar: &DocSidecar, owner: u64) -> DocFields {
        let doc = &sidecar.doc;
        let flag = |v: Option<&Value>| v.and_then(Value::as_u64).is_some_and(|n| n != 0);
        let mut fields = DocFields {
            filename: doc.get("original").and_then(|o| text(o, "filename")),
            title: text(doc, "title"),
            description: text(doc, "description"),
            created: doc
                .get("dates")
                .and_then(|d| text(d, "created"))
                .filter(|c| !c.is_empty() && !c.starts_with("0000")),
            license: doc
                .get("license")
                .and_then(Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .and_then(|c| License::from_code(c).ok()),
            safety: text(doc, "safety").and_then(|s| s.parse().ok()),
            posted: doc.get("dates").and_then(|d| d.get("posted_at")).is_some(),
            ..DocFields::default()
        };
        if let Some(visibility) = doc.get("visibility") {
            fields.visibility = Some((
                flag(visibility.get("ispublic")),
                flag(visibility.get("isfamily")),
                flag(visibility.get("isfriend")),
            ));
        }
        if let Some(perms) = doc.get("permissions") {
            let audience = |name: &str| text(perms, name).and_then(|a| a.parse::<Audience>().ok());
            if let (Some(comment), Some(tag), Some(tagme)) =
                (audience("comment"), audience("tag"), audience("tagme"))
            {
                fields.permissions = Some((comment, tag, tagme));
            }
        }
        if let Some(geo) = doc.get("geo") {
            let lat = geo.get("lat").and_then(Value::as_f64);
            let lng = geo.get("lng").and_then(Value::as_f64);
            if let (Some(lat), Some(lng)) = (lat, lng)
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lng)
            {
                fields.geo = Some(Geo::at(lat, lng));
            }
        }
        for tag in doc.get("tags").map(|t| t.list("tag")).unwrap_or_default() {
            match text(tag, "type").as_deref() {
                Some("member") => fields
                    .members
                    .extend(tag.get("member_id").and_then(Value::as_u64)),
                kind => {
                    if let Some(keyword) = text(tag, "keyword").filter(|k| !k.contains(',')) {
                        if kind == Some("machine") {
                            fields.machine_tags = true;
                        } else {
                            fields.keyword_tags = true;
                        }
                        fields.keywords.push(keyword);
                    }
                }
            }
        }
        for note in doc.get("notes").map(|n| n.list("note")).unwrap_or_default() {
            if note.get("user_id").and_then(Value::as_u64) == Some(owner) {
                fields.notes.push(note.clone());
            } else {
                fields.others_notes = true;
            }
        }
        for comment in &sidecar.comments {
            // A reply to someone else's comment cannot be put back where it was.
            let own = comment.get("user_id").and_then(Value::as_u64) == Some(owner);
            let under_other = comment
                .get("parent_id")
                .and_then(Value::as_u64)
                .is_some_and(|parent| {
                    !sidecar.comments.iter().any(|c| {
                        c.get("comment_id").and_then(Value::as_u64) == Some(parent)
                            && c.get("user_id").and_then(Value::as_u64) == Some(owner)
                    })
                });
            if own && !under_other {
                fields.comments.push(comment.clone());
            } else {
                fields.others_comments = true;
            }
        }
        let count = |name: &str| {
            doc.get("count")
                .and_then(|c| c.get(name))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        fields.faves = count("faves") > 0;
        fields.visits = count("visits") > 0;
        fields.groups = !sidecar.groups.is_empty();
        fields
    }

    /// The fields this document has.
    fn had(&self) -> Vec<&'static str> {
        let mut had = Vec::new();
        let mut has = |present: bool, field: &'static str| {
            if present {
                had.push(field);
            }
        };
        has(self.title.is_some(), "title");
        has(
            self.description.as_deref().is_some_and(|d| !d.is_empty()),
            "description",
        );
        has(self.keyword_tags, "keyword tags");
        has(self.machine_tags, "machine tags");
        has(!self.members.is_empty(), "member tags");
        has(self.visibility.is_some(), "visibility (share)");
        has(self.permissions.is_some(), "permissions");
        has(self.license.is_some(), "license");
        has(self.safety.is_some(), "safety");
        has(self.geo.is_some(), "geo");
        has(self.created.is_some(), "created date");
        has(!self.notes.is_empty(), "own notes");
        has(!self.comments.is_empty(), "own comments");
        has(self.posted, "posted date");
        has(self.others_comments, "others' comments");
        has(self.others_notes, "others' notes");
        has(self.faves, "faves");
        has(self.visits, "visits");
        has(self.groups, "groups");
        had
    }

    /// The fields `upload.file` carried.
    fn set_by_upload(&self) -> Vec<&'static str> {
        self.had()
            .into_iter()
            .filter(|field| {
                matches!(
                    *field,
                    "title"
                        | "description"
                        | "keyword tags"
                        | "machine tags"
                        | "visibility (share)"
                        | "permissions"
                        | "license"
                        | "safety"
                        | "geo"
                        | "created date"
                )
            })
            .collect()
    }
}

/// Ids as a parameter: comma-separated.
fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// A member's text, whatever its kind.
fn text(value: &Value, name: &str) -> Option<String> {
    value
        .get(name)
        .and_then(Value::to_text)
        .map(|t| t.into_owned())
}

/// A note's text: the `content` member, or the element's text as the json format names it.
fn note_content(note: &Value) -> String {
    text(note, "content")
        .or_else(|| text(note, "_value"))
        .unwrap_or_default()
}

/// What tells two notes apart for the resumption check.
fn note_text(note: &Value) -> String {
    let number = |name: &str| note.get(name).and_then(Value::as_u64).unwrap_or(0);
    format!(
        "{} {} {} {} {}",
        number("x"),
        number("y"),
        number("w"),
        number("h"),
        note_content(note)
    )
}

fn comment_text(comment: &Value) -> String {
    text(comment, "content").unwrap_or_default()
}

//! A resumable bulk uploader: many files (directories walked), a few at a time, their tickets
//! polled while the next files go, every file uploaded exactly once across interrupted runs.
//!
//! ```no_run
//! # async fn run(client: ipernity::Client) -> Result<(), ipernity::client::bulk::BulkError> {
//! use ipernity::client::bulk::BulkEvent;
//! use ipernity::upload::{UploadFile, Visibility};
//!
//! let report = client
//!     .bulk_upload(["photos/"])
//!     .describe(|path| UploadFile::from_path(path).keywords(["holiday"]).visibility(Visibility::Family))
//!     .jobs(4)
//!     .journal("photos.jsonl")
//!     .on_event(|event| {
//!         if let BulkEvent::Finished { path, outcome } = event {
//!             println!("{}: {outcome}", path.display());
//!         }
//!     })
//!     .run()
//!     .await?;
//! assert_eq!(report.failures(), 0);
//! # Ok(()) }
//! ```
//!
//! What it guarantees:
//!
//! - **Exactly once.** With a [journal](BulkUpload::journal), each file's state is written and
//!   synced before the run goes on: a file already done is only reported, a ticket already
//!   received is only polled, and a file whose upload was interrupted before its answer is
//!   first looked up by its MD5 (`doc.checkMD5`), so it is not sent twice.
//! - **Slowing down, not failing.** Quota (112) and rate-limit (113) answers pause every upload
//!   of the run, the pause doubling with each refusal (1 s up to 64 s), and the file is sent
//!   again (at most 8 refusals a file).
//! - **Nothing sent that cannot go.** Every file's parameters are checked before the first one
//!   goes, and each file against the account's upload quota before it is announced.
//! - **Nothing skipped silently.** Paths that cannot be uploaded (empty files, FIFOs, devices,
//!   unreadable entries) are reported as [`SkipReason`]s and count as failures; a link loop is
//!   walked once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;

use super::{Client, Quota, TicketOutcome, Uploaded};
use crate::answers::{List, Md5Match};
use crate::error::{Error, ErrorCode};
use crate::format::Format;
use crate::protocol::Protocol;
use crate::upload::UploadFile;
use crate::value::Value;

mod journal;
mod report;
mod walk;

pub use crate::client::journal::JournalError;
use journal::{Entry, Journal, State, journal_key};
pub use report::{BulkError, BulkEvent, BulkReport, FileFailure, FileOutcome};
pub use walk::SkipReason;
use walk::Walk;

/// How many ticket checks in a row may fail (each after the client's own retries) before the
/// run stops waiting for the service.
const MAX_FAILED_POLLS: u32 = 3;

/// How often one file may be refused for quota or rate before it counts as failed.
const MAX_REFUSALS: u32 = 8;

type Describe = Arc<dyn Fn(&Path) -> UploadFile + Send + Sync>;
type OnEvent = Arc<dyn Fn(&BulkEvent<'_>) + Send + Sync>;

/// A bulk upload being prepared: [`Client::bulk_upload`].
#[must_use = "a bulk upload does nothing until `.run().await`"]
pub struct BulkUpload {
    client: Client,
    paths: Vec<PathBuf>,
    describe: Describe,
    jobs: usize,
    wait: Option<Duration>,
    journal: Option<PathBuf>,
    protocol: Option<Protocol>,
    format: Option<Format>,
    on_event: OnEvent,
}

impl std::fmt::Debug for BulkUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkUpload")
            .field("paths", &self.paths)
            .field("jobs", &self.jobs)
            .field("wait", &self.wait)
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a bulk upload of `paths` (files, and directories walked in name order).
    pub fn bulk_upload(&self, paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> BulkUpload {
        BulkUpload {
            client: self.clone(),
            paths: paths.into_iter().map(Into::into).collect(),
            describe: Arc::new(|path: &Path| UploadFile::from_path(path)),
            jobs: 2,
            wait: Some(Duration::from_secs(600)),
            journal: None,
            protocol: None,
            format: None,
            on_event: Arc::new(|_: &BulkEvent<'_>| {}),
        }
    }
}

impl BulkUpload {
    /// How each file is described (title, keywords, visibility…); the default sends the file
    /// with no other parameter. Called for each file before the first is sent (to check every
    /// file's parameters) and again for each attempt.
    pub fn describe(
        mut self,
        describe: impl Fn(&Path) -> UploadFile + Send + Sync + 'static,
    ) -> Self {
        self.describe = Arc::new(describe);
        self
    }

    /// How many files are sent at once (default 2).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// How long to wait for the documents (default 10 minutes); `None` reports each file's
    /// ticket instead of waiting.
    pub fn wait_for_documents(mut self, wait: Option<Duration>) -> Self {
        self.wait = wait;
        self
    }

    /// Records each file's state in `path` (JSON lines, synced; see the module's
    /// documentation), so that a run started again after any interruption uploads every file
    /// exactly once. The journal is locked while the run uses it.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// The protocol of the uploads (default: the client's).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The response format of the uploads (default: the protocol's own).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Called with every [`BulkEvent`], from the tasks of the run: keep it short.
    pub fn on_event(mut self, on_event: impl Fn(&BulkEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_event = Arc::new(on_event);
        self
    }

    /// Runs the upload to its end.
    ///
    /// # Errors
    ///
    /// [`BulkError::File`] when a file's parameters are refused before anything is sent, or
    /// when an interrupted upload cannot be looked up; [`BulkError::Journal`] when the journal
    /// cannot be opened, locked, read or written. A file that fails is not an error of the run:
    /// it is in the report, as a [`FileOutcome::Failed`].
    pub async fn run(self) -> Result<BulkReport, BulkError> {
        let mut walk = Walk::default();
        for path in &self.paths {
            walk.visit(path);
        }
        let mut report = BulkReport {
            skipped: walk.skipped,
            outcomes: Vec::new(),
        };
        for (path, reason) in &report.skipped {
            (self.on_event)(&BulkEvent::Skipped { path, reason });
        }
        // Every file's parameters checked before the first file goes.
        for path in &walk.files {
            (self.describe)(path)
                .call()
                .map_err(|source| BulkError::File {
                    path: path.clone(),
                    source,
                })?;
        }
        let journal = match &self.journal {
            Some(path) => Some(Mutex::new(Journal::open(path)?)),
            None => None,
        };
        let run = Run {
            upload: &self,
            journal: journal.as_ref(),
            quota: None,
            outcomes: Mutex::new(Vec::new()),
        };
        let mut known_tickets = Vec::new();
        let mut to_send = Vec::new();
        for path in walk.files {
            let known = run.journal.and_then(|journal| {
                journal
                    .lock()
                    .ok()
                    .and_then(|journal| journal.get(&journal_key(&path)).cloned())
            });
            match known {
                Some(Entry {
                    state: State::Done,
                    doc_id: Some(doc_id),
                    ..
                }) => run.finish(path, FileOutcome::Document { doc_id }),
                Some(Entry {
                    state: State::Sent,
                    ticket: Some(ticket),
                    ..
                }) if self.wait.is_none() => run.finish(path, FileOutcome::Ticket { ticket }),
                Some(Entry {
                    state: State::Sent,
                    ticket: Some(ticket),
                    ..
                }) => known_tickets.push((ticket, path)),
                Some(Entry {
                    state: State::Sending,
                    ..
                }) => match run.already_uploaded(&path).await? {
                    Some(doc_id) => {
                        let recorded = run.record(&path, State::Done, None, Some(doc_id));
                        run.finish(path, outcome_of(recorded, FileOutcome::Document { doc_id }));
                    }
                    None => to_send.push(path),
                },
                _ => to_send.push(path),
            }
        }
        // Files the quota cannot take fail at once instead of after being sent.
        let quota = if to_send.is_empty() {
            None
        } else {
            match self.client.upload_quota().await {
                Ok(quota) => Some(quota),
                Err(error) => {
                    (self.on_event)(&BulkEvent::QuotaUnknown { error: &error });
                    None
                }
            }
        };
        let run = Run { quota, ..run };
        let bytes = to_send
            .iter()
            .map(|path| std::fs::metadata(path).map_or(0, |m| m.len()))
            .sum();
        (self.on_event)(&BulkEvent::Planned {
            files: to_send.len() as u64,
            bytes,
        });
        let (tickets, received) = tokio::sync::mpsc::unbounded_channel();
        for known in known_tickets {
            tickets.send(known).ok();
        }
        let ((), polled) =
            futures_util::future::join(run.send_all(to_send, tickets), run.poll_all(received))
                .await;
        polled?;
        report.outcomes = run.outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(report)
    }
}

/// `outcome`, or the failure to record it.
fn outcome_of(recorded: Result<(), JournalError>, outcome: FileOutcome) -> FileOutcome {
    match recorded {
        Ok(()) => outcome,
        Err(error) => FileOutcome::Failed(FileFailure::Journal(error)),
    }
}

/// What every part of one run shares.
struct Run<'a> {
    upload: &'a BulkUpload,
    journal: Option<&'a Mutex<Journal>>,
    quota: Option<Quota>,
    outcomes: Mutex<Vec<(PathBuf, FileOutcome)>>,
}

impl Run<'_> {
    fn event(&self, event: &BulkEvent<'_>) {
        (self.upload.on_event)(event);
    }

    /// Reports what became of `path` and keeps it for the report.
    fn finish(&self, path: PathBuf, outcome: FileOutcome) {
        self.event(&BulkEvent::Finished {
            path: &path,
            outcome: &outcome,
        });
        if let Ok(mut outcomes) = self.outcomes.lock() {
            outcomes.push((path, outcome));
        }
    }

    /// Records the state of `path` when there is a journal.
    fn record(
        &self,
        path: &Path,
        state: State,
        ticket: Option<String>,
        doc_id: Option<u64>,
    ) -> Result<(), JournalError> {
        let Some(journal) = self.journal else {
            return Ok(());
        };
        let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        journal.record(Entry {
            path: journal_key(path),
            state,
            ticket,
            doc_id,
        })
    }

    /// Whether the service already has a document with this file's content (an upload
    /// interrupted after the service took it): its id.
    async fn already_uploaded(&self, path: &Path) -> Result<Option<u64>, BulkError> {
        let md5 = file_md5(path).await.map_err(|source| BulkError::Read {
            path: path.to_owned(),
            source,
        })?;
        let failed = |source: Error| BulkError::File {
            path: path.to_owned(),
            source,
        };
        let found = self
            .upload
            .client
            .call("doc.checkMD5")
            .param("md5", &md5)
            .send()
            .await
            .map_err(failed)?;
        let found: List<Md5Match> = found
            .get("docs")
            .map(Value::deserialize_into)
            .transpose()
            .map_err(|e| failed(Error::Deserialize(e)))?
            .unwrap_or_default();
        Ok(found
            .items
            .iter()
            .filter(|line| line.found != Some(false))
            .find_map(|line| line.doc_id.map(crate::ids::DocId::get)))
    }

    /// Sends `files`, `jobs` at a time, reporting each result as it comes and handing each
    /// ticket to the poller.
    async fn send_all(
        &self,
        files: Vec<PathBuf>,
        tickets: tokio::sync::mpsc::UnboundedSender<(String, PathBuf)>,
    ) {
        let total = files.len() as u64;
        let mut outcomes = futures_util::stream::iter(files)
            .map(|path| self.send_one(path))
            .buffer_unordered(self.upload.jobs);
        let mut finished = 0;
        while let Some((path, outcome)) = outcomes.next().await {
            finished += 1;
            self.event(&BulkEvent::SendingProgress { finished, total });
            match outcome {
                Ok(uploaded) => match (uploaded.doc_id, uploaded.ticket) {
                    (Some(doc_id), _) => self.finish(path, FileOutcome::Document { doc_id }),
                    (None, Some(ticket)) if self.upload.wait.is_none() => {
                        self.finish(path, FileOutcome::Ticket { ticket });
                    }
                    (None, Some(ticket)) => {
                        tickets.send((ticket, path)).ok();
                    }
                    (None, None) => self.finish(path, FileOutcome::Failed(FileFailure::NoTicket)),
                },
                Err(failure) => self.finish(path, FileOutcome::Failed(failure)),
            }
        }
        self.event(&BulkEvent::WaitingForDocuments);
    }

    /// Sends one file; quota and rate-limit answers pause the client (every upload of the run
    /// and every other user of the client: [`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit))
    /// and the file is sent again.
    async fn send_one(&self, path: PathBuf) -> (PathBuf, Result<Uploaded, FileFailure>) {
        let length = std::fs::metadata(&path).map_or(0, |m| m.len());
        let mut refusals = 0u32;
        loop {
            // Built again for each attempt: a refused file is read again from its path.
            let file = (self.upload.describe)(&path);
            // Checked before it is announced: a file the quota cannot take is never sent.
            if let Err(error) = file.validate(self.quota.and_then(|q| q.max_upload())) {
                return (path, Err(FileFailure::Upload(error)));
            }
            if let Err(error) = self.record(&path, State::Sending, None, None) {
                return (path, Err(FileFailure::Journal(error)));
            }
            self.event(&BulkEvent::Sending {
                path: &path,
                length,
            });
            let on_event = Arc::clone(&self.upload.on_event);
            let progress_path = path.clone();
            let mut upload = self
                .upload
                .client
                .upload(file)
                .on_progress(move |progress| {
                    on_event(&BulkEvent::Progress {
                        path: &progress_path,
                        progress,
                    });
                });
            if let Some(protocol) = self.upload.protocol {
                upload = upload.protocol(protocol);
            }
            if let Some(format) = self.upload.format {
                upload = upload.format(format);
            }
            let outcome = upload.send().await;
            self.event(&BulkEvent::Attempted {
                path: &path,
                uploaded: outcome.is_ok(),
            });
            match outcome {
                Err(Error::Api(error))
                    if matches!(
                        error.code,
                        ErrorCode::ApplicationQuota | ErrorCode::ClientIpQuota
                    ) && refusals < MAX_REFUSALS =>
                {
                    refusals += 1;
                    // The client has paused itself for this answer; the next attempt waits.
                    let pause = self.upload.client.inner.pace.last_pause();
                    self.event(&BulkEvent::Throttled {
                        path: &path,
                        error: &error,
                        pause,
                    });
                }
                Ok(uploaded) => {
                    let state = if uploaded.doc_id.is_some() {
                        State::Done
                    } else {
                        State::Sent
                    };
                    let recorded =
                        self.record(&path, state, uploaded.ticket.clone(), uploaded.doc_id);
                    return (
                        path,
                        recorded.map(|()| uploaded).map_err(FileFailure::Journal),
                    );
                }
                Err(error) => {
                    return (path, Err(FileFailure::Upload(error)));
                }
            }
        }
    }

    /// Polls tickets as they arrive: each round takes every ticket received so far, and the
    /// next round the ones that came in meanwhile.
    async fn poll_all(
        &self,
        mut received: tokio::sync::mpsc::UnboundedReceiver<(String, PathBuf)>,
    ) -> Result<(), BulkError> {
        let timeout = self.upload.wait.unwrap_or_default();
        let mut paths: std::collections::HashMap<String, PathBuf> =
            std::collections::HashMap::new();
        while let Some((ticket, path)) = received.recv().await {
            let mut batch = vec![ticket.clone()];
            paths.insert(ticket, path);
            while let Ok((ticket, path)) = received.try_recv() {
                batch.push(ticket.clone());
                paths.insert(ticket, path);
            }
            let mut outcomes = self.upload.client.poll_tickets(batch.clone(), timeout);
            let mut failed_rounds = 0;
            while let Some(outcome) = outcomes.next().await {
                if outcome.is_ok() {
                    failed_rounds = 0;
                }
                match outcome {
                    Ok(TicketOutcome::Done { ticket, doc_id }) => {
                        let path = paths
                            .remove(&ticket)
                            .unwrap_or_else(|| PathBuf::from(&ticket));
                        self.record(&path, State::Done, Some(ticket), Some(doc_id))?;
                        self.finish(path, FileOutcome::Document { doc_id });
                    }
                    Ok(TicketOutcome::Invalid { ticket } | TicketOutcome::TimedOut { ticket }) => {
                        let path = paths
                            .remove(&ticket)
                            .unwrap_or_else(|| PathBuf::from(&ticket));
                        self.finish(path, FileOutcome::Failed(FileFailure::Ticket { ticket }));
                    }
                    Err(error) => {
                        self.event(&BulkEvent::PollFailed { error: &error });
                        failed_rounds += 1;
                        if failed_rounds >= MAX_FAILED_POLLS {
                            // The service is gone: the journal keeps the tickets for a new run.
                            for ticket in &batch {
                                if let Some(path) = paths.remove(ticket) {
                                    self.finish(
                                        path,
                                        FileOutcome::Failed(FileFailure::StillPending {
                                            ticket: ticket.clone(),
                                        }),
                                    );
                                }
                            }
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The MD5 of a file, read in chunks off the async runtime's threads.
async fn file_md5(path: &Path) -> std::io::Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use md5::Digest;
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let mut digest = md5::Md5::default();
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            digest.update(buffer.get(..n).unwrap_or_default());
        }
        Ok(crate::sign::hex(&digest.finalize()))
    })
    .await
    .unwrap_or_else(|joined| Err(std::io::Error::other(joined.to_string())))
}

//! `ipernity upload FILE_OR_DIR...`: uploads files (directories are walked), `--jobs` at a time,
//! then waits for their tickets and prints one line per file: `PATH doc_id=ID`, or
//! `PATH ticket=ID` with `--no-wait`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use ipernity::client::{Quota, TicketOutcome};
use ipernity::upload::{
    Audience, CreatedAt, Geo, License, Orientation, Safety, UploadFile, Visibility,
};
use ipernity::{Client, ErrorCode, Format, Protocol};

use super::progress::Display;

/// The parameters of `upload.file`, as flags.
#[derive(Debug, clap::Args)]
pub(crate) struct UploadArgs {
    /// Files or directories to upload (directories are walked, in name order).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The title (default: the file name).
    #[arg(long)]
    title: Option<String>,
    /// The description.
    #[arg(long)]
    description: Option<String>,
    /// Keywords, comma-separated.
    #[arg(long)]
    keywords: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` or a Unix timestamp.
    #[arg(long)]
    created_at: Option<String>,
    /// License code: 0, 1, 3, 5, 7, 9, 11 or 255.
    #[arg(long)]
    license: Option<u32>,
    /// private, family, friends, family-and-friends or public.
    #[arg(long)]
    visibility: Option<String>,
    /// 1 (all audiences), 2 (moderate) or 3 (adults only).
    #[arg(long)]
    safety: Option<u8>,
    /// Add the documents to this album.
    #[arg(long)]
    album_id: Option<u64>,
    /// Members to tag, comma-separated ids.
    #[arg(long)]
    member_ids: Option<String>,
    /// Who may comment: 0, 3, 4 or 5.
    #[arg(long)]
    perm_comment: Option<u8>,
    /// Who may tag: 0, 3, 4 or 5.
    #[arg(long)]
    perm_tag: Option<u8>,
    /// Who may add a member tag: 0, 3, 4 or 5.
    #[arg(long)]
    perm_tagme: Option<u8>,
    /// Latitude (with --lng).
    #[arg(long, requires = "lng", allow_negative_numbers = true)]
    lat: Option<f64>,
    /// Longitude (with --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    lng: Option<f64>,
    /// Drop the files' own location.
    #[arg(long, conflicts_with = "lat")]
    no_geo: bool,
    /// Orientation: 1, 3, 6 or 8.
    #[arg(long)]
    dir: Option<u32>,
    /// The request protocol: rest, soap or xmlrpc.
    #[arg(long, env = "IPERNITY_PROTOCOL", default_value = "rest")]
    protocol: Protocol,
    /// The response format (default: the protocol's own).
    #[arg(long, env = "IPERNITY_FORMAT")]
    format: Option<Format>,
    /// How many files are sent at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Print the tickets and do not wait for the documents.
    #[arg(long)]
    no_wait: bool,
    /// How long to wait for the tickets, in seconds.
    #[arg(long, default_value_t = 600)]
    wait_timeout: u64,
    /// Record each file's state here (JSON lines, synced), so that a run started again after
    /// any interruption uploads every file exactly once.
    #[arg(long)]
    journal: Option<PathBuf>,
}

fn audience(code: u8, name: &str) -> Result<Audience, String> {
    match code {
        0 => Ok(Audience::OnlyYou),
        3 => Ok(Audience::FriendsAndFamily),
        4 => Ok(Audience::Contacts),
        5 => Ok(Audience::Everybody),
        other => Err(format!("--{name} {other}: use 0, 3, 4 or 5")),
    }
}

impl UploadArgs {
    /// The files named on the command line, directories walked; and what was left out, with
    /// why (each named on standard error, and the run ends non-zero).
    fn files(&self) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
        let mut walk = Walk::default();
        for path in &self.paths {
            walk.visit(path);
        }
        (walk.files, walk.skipped)
    }

    /// The upload of one file with every parameter given as a flag.
    fn upload_of(&self, path: &Path) -> Result<UploadFile, String> {
        let mut file = UploadFile::from_path(path);
        if let Some(title) = &self.title {
            file = file.title(title);
        }
        if let Some(description) = &self.description {
            file = file.description(description);
        }
        if let Some(keywords) = &self.keywords {
            file = file.keywords(keywords.split(','));
        }
        if let Some(created) = &self.created_at {
            file = file.created_at(match created.parse::<u64>() {
                Ok(seconds) => CreatedAt::Timestamp(seconds),
                Err(_) => CreatedAt::Text(created.clone()),
            });
        }
        if let Some(code) = self.license {
            file = file.license(License::from_code(code).map_err(|e| e.to_string())?);
        }
        if let Some(visibility) = &self.visibility {
            file = file.visibility(match visibility.as_str() {
                "private" => Visibility::Private,
                "family" => Visibility::Family,
                "friends" => Visibility::Friends,
                "family-and-friends" => Visibility::FamilyAndFriends,
                "public" => Visibility::Public,
                other => return Err(format!("--visibility {other}: use private, family, friends, family-and-friends or public")),
            });
        }
        if let Some(safety) = self.safety {
            file = file.safety(match safety {
                1 => Safety::AllAudiences,
                2 => Safety::Moderate,
                3 => Safety::Restricted,
                other => return Err(format!("--safety {other}: use 1, 2 or 3")),
            });
        }
        if let Some(album) = self.album_id {
            file = file.album_id(album);
        }
        if let Some(ids) = &self.member_ids {
            let ids: Result<Vec<u64>, _> =
                ids.split(',').map(|id| id.trim().parse::<u64>()).collect();
            file = file.member_ids(
                ids.map_err(|_| "--member-ids takes comma-separated numbers".to_owned())?,
            );
        }
        if let Some(code) = self.perm_comment {
            file = file.perm_comment(audience(code, "perm-comment")?);
        }
        if let Some(code) = self.perm_tag {
            file = file.perm_tag(audience(code, "perm-tag")?);
        }
        if let Some(code) = self.perm_tagme {
            file = file.perm_tagme(audience(code, "perm-tagme")?);
        }
        if let (Some(lat), Some(lng)) = (self.lat, self.lng) {
            file = file.geo(Geo::at(lat, lng));
        }
        if self.no_geo {
            file = file.geo(Geo::None);
        }
        if let Some(code) = self.dir {
            file = file.orientation(Orientation::from_code(code).map_err(|e| e.to_string())?);
        }
        Ok(file)
    }
}

/// How many ticket checks in a row may fail (each after the client's own retries) before the
/// run stops waiting for the service.
const MAX_FAILED_POLLS: u32 = 3;

/// How often one file may be refused for quota or rate before it counts as failed.
const MAX_REFUSALS: u32 = 8;

/// Quota (112) and rate-limit (113) answers slow the whole run down: every upload waits until
/// the pause is over, and the pause doubles with each refusal (1 s up to 64 s) until an upload
/// goes through.
#[derive(Default)]
struct Throttle {
    state: std::sync::Mutex<(Option<tokio::time::Instant>, Duration)>,
}

impl Throttle {
    async fn wait(&self) {
        let until = self.state.lock().map(|s| s.0).unwrap_or(None);
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    fn slow_down(&self) -> Duration {
        let Ok(mut state) = self.state.lock() else {
            return Duration::from_secs(1);
        };
        let pause = (state.1 * 2).clamp(Duration::from_secs(1), Duration::from_secs(64));
        *state = (Some(tokio::time::Instant::now() + pause), pause);
        pause
    }

    fn relax(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.1 = Duration::ZERO;
        }
    }
}

/// A walk through the paths given: regular files in name order, symbolic links followed, each
/// directory entered once (a link back to a directory already walked would loop forever), and
/// anything that cannot be uploaded (an empty file, a FIFO, a device, a socket, an unreadable
/// entry) set aside with its reason instead of stopping the run.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    skipped: Vec<(PathBuf, String)>,
    /// The directories entered, by device and inode.
    entered: std::collections::HashSet<(u64, u64)>,
}

impl Walk {
    fn visit(&mut self, path: &Path) {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(error) => return self.skip(path, error.to_string()),
        };
        if meta.is_dir() {
            if !self.entered.insert(identity(&meta)) {
                // Not a failure: what it leads to is walked once already.
                eprintln!(
                    "{}: skipped, a directory already walked (a link loop)",
                    super::paths::shown(path)
                );
                return;
            }
            let entries: Result<Vec<PathBuf>, _> =
                std::fs::read_dir(path).and_then(|dir| dir.map(|e| e.map(|e| e.path())).collect());
            match entries {
                Ok(mut entries) => {
                    entries.sort();
                    for entry in entries {
                        self.visit(&entry);
                    }
                }
                Err(error) => self.skip(path, error.to_string()),
            }
        } else if !meta.is_file() {
            self.skip(
                path,
                "not a regular file (a FIFO, device or socket)".to_owned(),
            );
        } else if meta.len() == 0 {
            self.skip(path, "an empty file (the service refuses those)".to_owned());
        } else {
            self.files.push(path.to_owned());
        }
    }

    fn skip(&mut self, path: &Path, reason: String) {
        self.skipped.push((path.to_owned(), reason));
    }
}

/// A directory's identity: its device and inode (its path, where those do not exist).
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    // No inodes: every directory counts as new (links are rare there).
    let _ = meta;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    (0, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// One line of the journal: where a file stands.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Entry {
    /// The file, as [`super::paths::journal_key`] names it.
    path: String,
    state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    doc_id: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    /// The upload is starting; whether the service got it is not known yet.
    Sending,
    /// The service answered with a ticket.
    Sent,
    /// The document exists.
    Done,
}

/// An append-only journal of JSON lines, each written and synced before the run goes on, so a
/// run killed at any moment and started again knows what each file became. It is locked while a
/// run uses it (a second run on it is refused), and a line that cannot be read is an error that
/// names it, never a reason to start over: only the last line, cut short by a kill, is dropped.
struct Journal {
    file: std::fs::File,
    entries: HashMap<String, Entry>,
}

impl Journal {
    fn open(path: &Path) -> Result<Journal, String> {
        use std::io::Read;
        let named =
            |e: &dyn std::fmt::Display| format!("the journal {}: {e}", super::paths::shown(path));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| named(&e))?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => named(&"in use by another upload run"),
            std::fs::TryLockError::Error(e) => named(&e),
        })?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| named(&e))?;
        // A last line without its line break was cut short by a kill: its file is not recorded
        // yet. It goes, so that the next line appended does not run on from it.
        let complete = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        if complete < bytes.len() {
            file.set_len(complete as u64).map_err(|e| named(&e))?;
            bytes.truncate(complete);
        }
        let mut entries = HashMap::new();
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_slice(line).map_err(|e| {
                named(&format!(
                    "line {} cannot be read ({e}); repair or remove it, or the files it records would be uploaded again",
                    index + 1
                ))
            })?;
            entries.insert(entry.path.clone(), entry);
        }
        Ok(Journal { file, entries })
    }

    fn record(&mut self, entry: Entry) -> Result<(), String> {
        use std::io::Write;
        let mut line = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("writing the journal: {e}"))?;
        self.entries.insert(entry.path.clone(), entry);
        Ok(())
    }
}

/// Records `entry` when there is a journal.
fn note(
    journal: &Option<std::sync::Mutex<Journal>>,
    path: &Path,
    state: State,
    ticket: Option<String>,
    doc_id: Option<u64>,
) -> Result<(), String> {
    let Some(journal) = journal else {
        return Ok(());
    };
    let mut journal = journal
        .lock()
        .map_err(|_| "the journal is unusable".to_owned())?;
    journal.record(Entry {
        path: super::paths::journal_key(path),
        state,
        ticket,
        doc_id,
    })
}

/// The MD5 of a file, read in chunks.
fn file_md5(path: &Path) -> Result<String, String> {
    use md5::Digest;
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("{}: {e}", super::paths::shown(path)))?;
    let mut digest = md5::Md5::default();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| format!("{}: {e}", super::paths::shown(path)))?;
        if n == 0 {
            break;
        }
        digest.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Whether the service already has a document with this file's content (an upload interrupted
/// after the service took it): its id.
async fn already_uploaded(client: &Client, path: &Path) -> Result<Option<u64>, String> {
    let md5 = file_md5(path)?;
    let found = client
        .call("doc.checkMD5")
        .param("md5", &md5)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(found
        .get("docs")
        .map(|docs| docs.list("doc"))
        .unwrap_or_default()
        .iter()
        .find_map(|doc| doc.get("doc_id").and_then(ipernity::Value::as_u64)))
}

/// Uploads every file, `--jobs` at a time, while the tickets already received are polled
/// (unless `--no-wait`). With `--journal`, files already done are only reported, tickets already
/// received are only polled, and a file whose upload was interrupted is first looked up by its
/// MD5, so each file is uploaded once.
pub(crate) async fn run(args: &UploadArgs, client: &Client) -> Result<ExitCode, String> {
    let (files, skipped) = args.files();
    for (path, reason) in &skipped {
        eprintln!("{}: skipped, {reason}", super::paths::shown(path));
    }
    // Every flag checked before the first file goes.
    for path in &files {
        args.upload_of(path)?.call().map_err(|e| e.to_string())?;
    }
    let journal = match &args.journal {
        Some(path) => Some(std::sync::Mutex::new(Journal::open(path)?)),
        None => None,
    };
    let mut known_tickets = Vec::new();
    let mut to_send = Vec::new();
    for path in files {
        let known = journal.as_ref().and_then(|j| {
            j.lock()
                .ok()
                .and_then(|j| j.entries.get(&super::paths::journal_key(&path)).cloned())
        });
        match known {
            Some(Entry {
                state: State::Done,
                doc_id: Some(doc_id),
                ..
            }) => println!("{} doc_id={doc_id}", super::paths::shown(&path)),
            Some(Entry {
                state: State::Sent,
                ticket: Some(ticket),
                ..
            }) if args.no_wait => println!("{} ticket={ticket}", super::paths::shown(&path)),
            Some(Entry {
                state: State::Sent,
                ticket: Some(ticket),
                ..
            }) => known_tickets.push((ticket, path)),
            Some(Entry {
                state: State::Sending,
                ..
            }) => match already_uploaded(client, &path).await? {
                Some(doc_id) => {
                    note(&journal, &path, State::Done, None, Some(doc_id))?;
                    println!("{} doc_id={doc_id}", super::paths::shown(&path));
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
        match client.upload_quota().await {
            Ok(quota) => Some(quota),
            Err(error) => {
                eprintln!(
                    "the upload quota is unknown ({error}); files are not checked against it"
                );
                None
            }
        }
    };
    let bytes = to_send
        .iter()
        .map(|path| std::fs::metadata(path).map_or(0, |m| m.len()))
        .sum();
    let display = Display::new(bytes, to_send.len() as u64);
    let (tickets, received) = tokio::sync::mpsc::unbounded_channel();
    for known in known_tickets {
        tickets.send(known).ok();
    }
    let run = Run {
        args,
        client,
        journal: &journal,
        display: &display,
        quota,
    };
    let (sent, polled) =
        futures_util::future::join(run.send_all(to_send, tickets), run.poll_all(received)).await;
    display.finish();
    Ok(if sent? + polled? + skipped.len() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What every part of one run shares.
struct Run<'a> {
    args: &'a UploadArgs,
    client: &'a Client,
    journal: &'a Option<std::sync::Mutex<Journal>>,
    display: &'a Display,
    quota: Option<Quota>,
}

impl Run<'_> {
    /// Sends `files`, `--jobs` at a time, printing each result as it comes and handing each
    /// ticket to the poller. Returns how many files failed.
    async fn send_all(
        &self,
        files: Vec<PathBuf>,
        tickets: tokio::sync::mpsc::UnboundedSender<(String, PathBuf)>,
    ) -> Result<usize, String> {
        let throttle = Throttle::default();
        let count = files.len() as u64;
        let mut outcomes = futures_util::stream::iter(files)
            .map(|path| self.send_one(path, &throttle))
            .buffer_unordered(self.args.jobs.max(1));
        let (mut failures, mut finished) = (0, 0);
        while let Some((path, outcome)) = outcomes.next().await {
            finished += 1;
            self.display.file_finished(finished, count);
            match outcome {
                Ok(uploaded) => match (uploaded.doc_id, uploaded.ticket) {
                    (Some(doc_id), _) => self
                        .display
                        .result(&format!("{} doc_id={doc_id}", super::paths::shown(&path))),
                    (None, Some(ticket)) if self.args.no_wait => self
                        .display
                        .result(&format!("{} ticket={ticket}", super::paths::shown(&path))),
                    (None, Some(ticket)) => {
                        tickets.send((ticket, path)).ok();
                    }
                    (None, None) => {
                        failures += 1;
                        self.display.message(&format!(
                            "{}: the answer carries neither a ticket nor a document",
                            super::paths::shown(&path)
                        ));
                    }
                },
                Err(error) => {
                    failures += 1;
                    self.display
                        .message(&format!("{}: {error}", super::paths::shown(&path)));
                }
            }
        }
        self.display.waiting("waiting for the documents");
        Ok(failures)
    }

    /// Sends one file; quota and rate-limit answers pause the whole run and the file is sent
    /// again.
    async fn send_one(
        &self,
        path: PathBuf,
        throttle: &Throttle,
    ) -> (PathBuf, Result<ipernity::client::Uploaded, String>) {
        let length = std::fs::metadata(&path).map_or(0, |m| m.len());
        let mut refusals = 0u32;
        loop {
            throttle.wait().await;
            // Built again for each attempt: a refused file is read again from its path.
            let file = match self.args.upload_of(&path) {
                Ok(file) => file,
                Err(reason) => return (path, Err(reason)),
            };
            // Checked before it is announced: a file the quota cannot take is never sent.
            if let Err(error) = file.validate(self.quota.and_then(|q| q.max_upload())) {
                return (path, Err(error.to_string()));
            }
            if let Err(error) = note(self.journal, &path, State::Sending, None, None) {
                return (path, Err(error));
            }
            let progress = self.display.file(&path, length);
            let bar = progress.clone();
            let mut upload = self
                .client
                .upload(file)
                .protocol(self.args.protocol)
                .on_progress(move |event| bar.update(event));
            if let Some(format) = self.args.format {
                upload = upload.format(format);
            }

            let outcome = upload.send().await;
            progress.end(outcome.is_ok());
            match outcome {
                Err(ipernity::Error::Api(error))
                    if matches!(
                        error.code,
                        ErrorCode::ApplicationQuota | ErrorCode::ClientIpQuota
                    ) && refusals < MAX_REFUSALS =>
                {
                    refusals += 1;
                    let pause = throttle.slow_down();
                    self.display.message(&format!(
                        "{}: error {} ({}); every upload waits {} s",
                        super::paths::shown(&path),
                        error.code,
                        error.message,
                        pause.as_secs()
                    ));
                }
                Ok(uploaded) => {
                    throttle.relax();
                    let state = if uploaded.doc_id.is_some() {
                        State::Done
                    } else {
                        State::Sent
                    };
                    let recorded = note(
                        self.journal,
                        &path,
                        state,
                        uploaded.ticket.clone(),
                        uploaded.doc_id,
                    );
                    return (path, recorded.map(|()| uploaded));
                }
                Err(error) => {
                    throttle.relax();
                    return (path, Err(error.to_string()));
                }
            }
        }
    }

    /// Polls tickets as they arrive: each round takes every ticket received so far, and the
    /// next round the ones that came in meanwhile. Returns how many did not become documents.
    async fn poll_all(
        &self,
        mut received: tokio::sync::mpsc::UnboundedReceiver<(String, PathBuf)>,
    ) -> Result<usize, String> {
        let mut failures = 0;
        let mut paths: HashMap<String, PathBuf> = HashMap::new();
        while let Some((ticket, path)) = received.recv().await {
            let mut batch = vec![ticket.clone()];
            paths.insert(ticket, path);
            while let Ok((ticket, path)) = received.try_recv() {
                batch.push(ticket.clone());
                paths.insert(ticket, path);
            }
            let mut outcomes = self
                .client
                .poll_tickets(batch.clone(), Duration::from_secs(self.args.wait_timeout));
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
                        note(self.journal, &path, State::Done, Some(ticket), Some(doc_id))?;
                        self.display
                            .result(&format!("{} doc_id={doc_id}", super::paths::shown(&path)));
                    }
                    Ok(TicketOutcome::Invalid { ticket } | TicketOutcome::TimedOut { ticket }) => {
                        failures += 1;
                        let path = paths
                            .remove(&ticket)
                            .map_or_else(|| ticket.clone(), |p| super::paths::shown(&p));
                        self.display.message(&format!(
                            "{path}: ticket {ticket} did not become a document"
                        ));
                    }
                    Err(error) => {
                        self.display.message(&format!("checking tickets: {error}"));
                        failed_rounds += 1;
                        if failed_rounds >= MAX_FAILED_POLLS {
                            // The service is gone: the journal keeps the tickets for a new run.
                            for ticket in &batch {
                                if let Some(path) = paths.remove(ticket) {
                                    failures += 1;
                                    self.display.message(&format!(
                                        "{}: ticket {ticket} still pending; run again to finish it",
                                        super::paths::shown(&path)
                                    ));
                                }
                            }
                            break;
                        }
                    }
                }
            }
        }
        Ok(failures)
    }
}

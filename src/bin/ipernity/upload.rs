//! `ipernity upload FILE_OR_DIR...`: the library's bulk uploader
//! ([`ipernity::client::bulk`]) driven from flags, its events shown as bars or lines, one result
//! line per file on standard output: `PATH doc_id=ID`, or `PATH ticket=ID` with `--no-wait`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ipernity::client::bulk::{BulkEvent, FileOutcome};
use ipernity::upload::{
    Audience, CreatedAt, Geo, License, Orientation, Safety, UploadFile, Visibility,
};
use ipernity::{Client, Format, Protocol};

use super::error::CliError;
use super::paths::shown;
use super::progress::{Display, FileProgress};

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

/// `--perm-*`'s code as an audience.
fn audience(code: u8, name: &str) -> Result<Audience, CliError> {
    match code {
        0 => Ok(Audience::OnlyYou),
        3 => Ok(Audience::FriendsAndFamily),
        4 => Ok(Audience::Contacts),
        5 => Ok(Audience::Everybody),
        other => Err(CliError::usage(format!(
            "--{name} {other}: use 0, 3, 4 or 5"
        ))),
    }
}

/// What the flags say about every file, read and checked once.
#[derive(Debug, Clone, Default)]
struct Template {
    title: Option<String>,
    description: Option<String>,
    keywords: Option<String>,
    created_at: Option<CreatedAt>,
    license: Option<License>,
    visibility: Option<Visibility>,
    safety: Option<Safety>,
    album_id: Option<u64>,
    member_ids: Option<Vec<u64>>,
    perm_comment: Option<Audience>,
    perm_tag: Option<Audience>,
    perm_tagme: Option<Audience>,
    geo: Option<Geo>,
    orientation: Option<Orientation>,
}

impl Template {
    /// The upload of the file at `path`.
    fn describe(&self, path: &Path) -> UploadFile {
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
            file = file.created_at(created.clone());
        }
        if let Some(license) = self.license {
            file = file.license(license);
        }
        if let Some(visibility) = self.visibility {
            file = file.visibility(visibility);
        }
        if let Some(safety) = self.safety {
            file = file.safety(safety);
        }
        if let Some(album) = self.album_id {
            file = file.album_id(album);
        }
        if let Some(ids) = &self.member_ids {
            file = file.member_ids(ids.clone());
        }
        if let Some(audience) = self.perm_comment {
            file = file.perm_comment(audience);
        }
        if let Some(audience) = self.perm_tag {
            file = file.perm_tag(audience);
        }
        if let Some(audience) = self.perm_tagme {
            file = file.perm_tagme(audience);
        }
        if let Some(geo) = self.geo {
            file = file.geo(geo);
        }
        if let Some(orientation) = self.orientation {
            file = file.orientation(orientation);
        }
        file
    }
}

impl UploadArgs {
    /// The flags, read and checked.
    fn template(&self) -> Result<Template, CliError> {
        let visibility = match self.visibility.as_deref() {
            None => None,
            Some("private") => Some(Visibility::Private),
            Some("family") => Some(Visibility::Family),
            Some("friends") => Some(Visibility::Friends),
            Some("family-and-friends") => Some(Visibility::FamilyAndFriends),
            Some("public") => Some(Visibility::Public),
            Some(other) => {
                return Err(CliError::usage(format!(
                    "--visibility {other}: use private, family, friends, family-and-friends or public"
                )));
            }
        };
        let safety = match self.safety {
            None => None,
            Some(1) => Some(Safety::AllAudiences),
            Some(2) => Some(Safety::Moderate),
            Some(3) => Some(Safety::Restricted),
            Some(other) => return Err(CliError::usage(format!("--safety {other}: use 1, 2 or 3"))),
        };
        let member_ids = match &self.member_ids {
            None => None,
            Some(ids) => Some(
                ids.split(',')
                    .map(|id| id.trim().parse::<u64>())
                    .collect::<Result<Vec<u64>, _>>()
                    .map_err(|_| CliError::usage("--member-ids takes comma-separated numbers"))?,
            ),
        };
        let geo = match (self.lat, self.lng, self.no_geo) {
            (Some(lat), Some(lng), _) => Some(Geo::at(lat, lng)),
            (_, _, true) => Some(Geo::None),
            _ => None,
        };
        Ok(Template {
            title: self.title.clone(),
            description: self.description.clone(),
            keywords: self.keywords.clone(),
            created_at: self
                .created_at
                .as_ref()
                .map(|created| match created.parse::<u64>() {
                    Ok(seconds) => CreatedAt::Timestamp(seconds),
                    Err(_) => CreatedAt::Text(created.clone()),
                }),
            license: self.license.map(License::from_code).transpose()?,
            visibility,
            safety,
            album_id: self.album_id,
            member_ids,
            perm_comment: self
                .perm_comment
                .map(|c| audience(c, "perm-comment"))
                .transpose()?,
            perm_tag: self.perm_tag.map(|c| audience(c, "perm-tag")).transpose()?,
            perm_tagme: self
                .perm_tagme
                .map(|c| audience(c, "perm-tagme"))
                .transpose()?,
            geo,
            orientation: self.dir.map(Orientation::from_code).transpose()?,
        })
    }
}

/// What the terminal shows of a run: created when the run knows what it has to send (result
/// lines before that print directly), and a bar per file being sent.
#[derive(Default)]
struct Screen {
    display: OnceLock<Display>,
    bars: Mutex<HashMap<PathBuf, FileProgress>>,
}

impl Screen {
    fn result(&self, line: &str) {
        match self.display.get() {
            Some(display) => display.result(line),
            None => println!("{line}"),
        }
    }

    fn message(&self, line: &str) {
        match self.display.get() {
            Some(display) => display.message(line),
            None => eprintln!("{line}"),
        }
    }

    fn bars(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, FileProgress>> {
        self.bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Shows one event of the run.
    fn show(&self, event: &BulkEvent<'_>) {
        match event {
            BulkEvent::Skipped { path, reason } => {
                self.message(&format!("{}: skipped, {reason}", shown(path)));
            }
            BulkEvent::Planned { files, bytes } => {
                self.display.get_or_init(|| Display::new(*bytes, *files));
            }
            BulkEvent::QuotaUnknown { error } => self.message(&format!(
                "the upload quota is unknown ({error}); files are not checked against it"
            )),
            BulkEvent::Sending { path, length } => {
                if let Some(display) = self.display.get() {
                    self.bars()
                        .insert(path.to_path_buf(), display.file(path, *length));
                }
            }
            BulkEvent::Progress { path, progress } => {
                if let Some(bar) = self.bars().get(*path) {
                    bar.update(progress);
                }
            }
            BulkEvent::Attempted { path, uploaded } => {
                if let Some(bar) = self.bars().remove(*path) {
                    bar.end(*uploaded);
                }
            }
            BulkEvent::Throttled { path, error, pause } => self.message(&format!(
                "{}: error {} ({}); every upload waits {} s",
                shown(path),
                error.code,
                error.message,
                pause.as_secs()
            )),
            BulkEvent::SendingProgress { finished, total } => {
                if let Some(display) = self.display.get() {
                    display.file_finished(*finished, *total);
                }
            }
            BulkEvent::WaitingForDocuments => {
                if let Some(display) = self.display.get() {
                    display.waiting("waiting for the documents");
                }
            }
            BulkEvent::PollFailed { error } => self.message(&format!("checking tickets: {error}")),
            BulkEvent::Finished { path, outcome } => match outcome {
                FileOutcome::Failed(failure) => {
                    self.message(&format!("{}: {failure}", shown(path)));
                }
                done => self.result(&format!("{} {done}", shown(path))),
            },
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some(display) = self.display.get() {
            display.finish();
        }
    }
}

/// Uploads every file named, as the flags say; exit status 1 when any file failed or was left
/// out.
pub(crate) async fn run(args: &UploadArgs, client: &Client) -> Result<ExitCode, CliError> {
    let template = args.template()?;
    let screen = Arc::new(Screen::default());
    let shown_events = Arc::clone(&screen);
    let mut upload = client
        .bulk_upload(args.paths.iter())
        .describe(move |path| template.describe(path))
        .jobs(args.jobs)
        .protocol(args.protocol)
        .wait_for_documents((!args.no_wait).then(|| Duration::from_secs(args.wait_timeout)))
        .on_event(move |event| shown_events.show(event));
    if let Some(format) = args.format {
        upload = upload.format(format);
    }
    if let Some(journal) = &args.journal {
        upload = upload.journal(journal);
    }
    let report = upload.run().await;
    screen.finish();
    Ok(if report?.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

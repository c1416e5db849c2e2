//! `ipernity backup` and `ipernity restore`: the library's archive runs, with bars on a
//! terminal (documents, bytes, ETA) and plain lines otherwise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ipernity::archive::{Archive, ArchiveError, BackupEvent, RestoreEvent};

use ipernity::Client;
use ipernity::client::RateLimit;

use crate::connection::Connection;
use crate::error::CliError;

/// What `backup` takes besides the connection.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// Where the archive is: a directory, or an object store URL (s3://bucket/prefix,
    /// gs://bucket/prefix, az://container/prefix; credentials from the store's usual
    /// environment variables).
    dest: String,
    /// Check the archive instead of backing up: every original against its recorded md5, every
    /// sidecar parses, every album's documents are there. Exit status 1 if anything is missing
    /// or corrupt.
    #[arg(long)]
    pub(crate) verify: bool,
    /// Remove the files of documents, albums and folders deleted on the service (by default
    /// they are kept and listed in account.json).
    #[arg(long)]
    mirror: bool,
    /// Documents fetched (or verified) at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// At most this many API calls a second (the client-wide rate limit; downloads are not
    /// counted). Quota answers (112/113) slow the run down whether it is set or not.
    #[arg(long, value_name = "CALLS")]
    rate: Option<u32>,
}

/// What `restore` takes besides the connection.
#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    /// The archive to restore from: a directory or an object store URL, as for backup.
    src: String,
    /// The journal of old → new ids that makes a stopped restore go on where it stopped (one
    /// per archive and target account).
    #[arg(long, default_value = "ipernity-restore.journal")]
    journal: PathBuf,
    /// Documents uploaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// At most this many API calls a second (uploads included).
    #[arg(long, value_name = "CALLS")]
    rate: Option<u32>,
}

/// The connection's client, with the rate limit `rate` asks for.
fn client_of(connection: &Connection, rate: Option<u32>) -> Result<Client, CliError> {
    let mut builder = connection.builder();
    if let Some(rate) = rate {
        builder = builder.rate_limit(RateLimit::per_second(rate)?);
    }
    Ok(builder.build()?)
}

fn open(place: &str) -> Result<Archive, CliError> {
    Archive::open(place).map_err(archive_error)
}

/// An archive failure as the CLI reports it (an API answer keeps exit status 2).
pub(crate) fn archive_error(error: ArchiveError) -> CliError {
    match error {
        ArchiveError::Api(error) => CliError::from(error),
        other => CliError::Usage(other.to_string()),
    }
}

/// `ipernity backup --verify DEST`.
pub(crate) async fn verify(args: &BackupArgs) -> Result<ExitCode, CliError> {
    let archive = open(&args.dest)?;
    let report = archive
        .verify(usize::from(args.jobs))
        .await
        .map_err(archive_error)?;
    for problem in &report.problems {
        println!("{problem}");
    }
    eprintln!(
        "verified {} documents ({} bytes), {} albums, {} folders; {} unfinished; {} problems",
        report.documents,
        report.bytes,
        report.albums,
        report.folders,
        report.unfinished,
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `ipernity backup DEST`.
pub(crate) async fn backup(
    args: &BackupArgs,
    connection: &Connection,
) -> Result<ExitCode, CliError> {
    let archive = open(&args.dest)?;
    let client = client_of(connection, args.rate)?;
    let display = Arc::new(Bars::new("documents"));
    let shown = Arc::clone(&display);
    let report = client
        .backup(&archive)
        .jobs(usize::from(args.jobs))
        .mirror(args.mirror)
        .on_event(move |event| shown.backup(event))
        .run()
        .await;
    display.finish();
    let report = report.map_err(archive_error)?;
    for (doc_id, error) in &report.failed {
        eprintln!("failed {doc_id}: {error}");
    }
    println!(
        "{} documents: {} fetched ({} originals, {} bytes), {} unchanged, {} recovered, {} deleted on the service ({} removed), {} failed; {} albums ({} saved), {} folders",
        report.documents,
        report.fetched,
        report.originals,
        report.bytes,
        report.unchanged,
        report.recovered,
        report.deleted.len(),
        report.removed,
        report.failed.len(),
        report.albums,
        report.albums_saved,
        report.folders
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `ipernity restore SRC`.
pub(crate) async fn restore(
    args: &RestoreArgs,
    connection: &Connection,
) -> Result<ExitCode, CliError> {
    let archive = open(&args.src)?;
    let client = client_of(connection, args.rate)?;
    let display = Arc::new(Bars::new("restored"));
    let shown = Arc::clone(&display);
    let report = client
        .restore(&archive)
        .journal(&args.journal)
        .jobs(usize::from(args.jobs))
        .on_event(move |event| shown.restore(event))
        .run()
        .await;
    display.finish();
    let report = report.map_err(archive_error)?;
    for (doc_id, error) in &report.failed {
        eprintln!("failed {doc_id}: {error}");
    }
    println!(
        "{} documents: {} uploaded ({} bytes), {} already restored by an earlier run, {} failed; {} albums, {} folders",
        report.documents,
        report.uploaded,
        report.bytes,
        report.already,
        report.failed.len(),
        report.album_ids.len(),
        report.folder_ids.len()
    );
    print!("{}", report.survival);
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Two bars (items and bytes, each with an ETA) on a terminal; lines on standard error
/// otherwise.
struct Bars {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
}

impl Bars {
    fn new(items: &str) -> Bars {
        let terminal = std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|term| term != "dumb");
        if !terminal {
            return Bars { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let count = multi.add(
            ProgressBar::new(0)
                .with_style(style("{prefix:>10} [{bar:30}] {pos}/{len} eta {eta} {msg}"))
                .with_prefix(items.to_owned()),
        );
        let bytes = multi.add(
            ProgressBar::new(0)
                .with_style(style(
                    "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                ))
                .with_prefix("bytes"),
        );
        count.enable_steady_tick(Duration::from_millis(250));
        Bars {
            bars: Some((multi, count, bytes)),
        }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some((multi, _, _)) => multi.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn backup(&self, event: &BackupEvent) {
        match (event, &self.bars) {
            (BackupEvent::Listed { documents }, Some((_, count, _))) => {
                count.set_length(*documents)
            }
            (BackupEvent::Listed { documents }, None) => {
                self.line(&format!("listed {documents} documents"))
            }
            (BackupEvent::Queued { bytes, .. }, Some((_, _, total))) => total.inc_length(*bytes),
            (BackupEvent::Received { bytes }, Some((_, _, total))) => total.inc(*bytes),
            (BackupEvent::Saved { doc_id, original }, None) => {
                self.line(&format!(
                    "saved {doc_id}{}",
                    if *original { " (original)" } else { "" }
                ));
            }
            (BackupEvent::Saved { .. } | BackupEvent::Unchanged { .. }, Some((_, count, _))) => {
                count.inc(1)
            }
            (BackupEvent::Failed { doc_id, error }, bars) => {
                if let Some((_, count, _)) = bars {
                    count.inc(1);
                }
                self.line(&format!("failed {doc_id}: {error}"));
            }
            (BackupEvent::Repaired { doc_id, reason }, _) => {
                self.line(&format!(
                    "sidecar of {doc_id} unreadable ({reason}): fetching it again"
                ));
            }
            (BackupEvent::Deleted { doc_id, removed }, _) => self.line(&format!(
                "deleted on the service: {doc_id}{}",
                if *removed { " (files removed)" } else { "" }
            )),
            _ => {}
        }
    }

    fn restore(&self, event: &RestoreEvent) {
        match (event, &self.bars) {
            (RestoreEvent::Planned { documents, bytes }, Some((_, count, total))) => {
                count.set_length(*documents);
                total.set_length(*bytes);
            }
            (RestoreEvent::Planned { documents, .. }, None) => {
                self.line(&format!("restoring {documents} documents"));
            }
            (RestoreEvent::Restored { bytes, .. }, Some((_, count, total))) => {
                count.inc(1);
                total.inc(*bytes);
            }
            (RestoreEvent::Restored { old_id, new_id, .. }, None) => {
                self.line(&format!("restored {old_id} as {new_id}"));
            }
            (RestoreEvent::Failed { old_id, error }, bars) => {
                if let Some((_, count, _)) = bars {
                    count.inc(1);
                }
                self.line(&format!("failed {old_id}: {error}"));
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some((multi, count, bytes)) = &self.bars {
            count.finish_and_clear();
            bytes.finish_and_clear();
            multi.clear().ok();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

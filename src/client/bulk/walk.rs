//! Which files a bulk upload sends: the paths given, directories walked.

use std::path::{Path, PathBuf};

/// Why a path given to a bulk upload, or found while walking a directory, is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A directory reached again through a symbolic link: what it holds is walked once
    /// already. Not a failure.
    LinkLoop,
    /// A FIFO, a device or a socket.
    NotRegularFile,
    /// An empty file (the service refuses those).
    Empty,
    /// The path could not be read.
    Unreadable(String),
}

impl SkipReason {
    /// Whether leaving the path out makes the run a failure (everything but a link loop).
    pub fn is_failure(&self) -> bool {
        !matches!(self, SkipReason::LinkLoop)
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::LinkLoop => f.write_str("a directory already walked (a link loop)"),
            SkipReason::NotRegularFile => {
                f.write_str("not a regular file (a FIFO, device or socket)")
            }
            SkipReason::Empty => f.write_str("an empty file (the service refuses those)"),
            SkipReason::Unreadable(error) => f.write_str(error),
        }
    }
}

/// A walk through the paths given: regular files in name order, symbolic links followed, each
/// directory entered once (a link back to a directory already walked would loop forever), and
/// anything that cannot be uploaded set aside with its reason instead of stopping the run.
#[derive(Default)]
pub(super) struct Walk {
    pub(super) files: Vec<PathBuf>,
    pub(super) skipped: Vec<(PathBuf, SkipReason)>,
    /// The directories entered, by device and inode.
    entered: std::collections::HashSet<(u64, u64)>,
}

impl Walk {
    pub(super) fn visit(&mut self, path: &Path) {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(error) => return self.skip(path, SkipReason::Unreadable(error.to_string())),
        };
        if meta.is_dir() {
            if !self.entered.insert(identity(&meta)) {
                return self.skip(path, SkipReason::LinkLoop);
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
                Err(error) => self.skip(path, SkipReason::Unreadable(error.to_string())),
            }
        } else if !meta.is_file() {
            self.skip(path, SkipReason::NotRegularFile);
        } else if meta.len() == 0 {
            self.skip(path, SkipReason::Empty);
        } else {
            self.files.push(path.to_owned());
        }
    }

    fn skip(&mut self, path: &Path, reason: SkipReason) {
        self.skipped.push((path.to_owned(), reason));
    }
}

/// A directory's identity: its device and inode.
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

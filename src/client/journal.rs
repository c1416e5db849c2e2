//! An append-only journal of JSON lines, one per change of an item's state, written and synced
//! before a run goes on, so that a run killed at any moment and started again knows where each
//! item stood. The last line for a key wins. The bulk uploader keeps one per run (a file's
//! state), and so does a restore (what each archived document, album and folder became).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a journal could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the journal {}: {reason}", path.display())]
pub struct JournalError {
    /// The journal file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// One line of a journal: an item's state, told from other items' by its key.
pub(crate) trait JournalEntry: Serialize + DeserializeOwned {
    /// The item this line is about.
    fn key(&self) -> &str;
}

/// An append-only journal, locked while a run uses it (a second run on it is refused). A line
/// that cannot be read is an error that names it, never a reason to start over: only the last
/// line, cut short by a kill, is dropped.
pub(crate) struct Journal<E> {
    path: PathBuf,
    file: std::fs::File,
    entries: HashMap<String, E>,
}

impl<E> std::fmt::Debug for Journal<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl<E: JournalEntry> Journal<E> {
    pub(crate) fn open(path: &Path) -> Result<Journal<E>, JournalError> {
        use std::io::Read;
        let named = |reason: &dyn std::fmt::Display| JournalError {
            path: path.to_owned(),
            reason: reason.to_string(),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| named(&e))?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => named(&"in use by another run"),
            std::fs::TryLockError::Error(e) => named(&e),
        })?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| named(&e))?;
        // A last line without its line break was cut short by a kill: its item is not recorded
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
            let entry: E = serde_json::from_slice(line).map_err(|e| {
                named(&format!(
                    "line {} cannot be read ({e}); repair or remove it, or what it records would be sent again",
                    index + 1
                ))
            })?;
            entries.insert(entry.key().to_owned(), entry);
        }
        Ok(Journal {
            path: path.to_owned(),
            file,
            entries,
        })
    }

    /// The last state recorded for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&E> {
        self.entries.get(key)
    }

    /// Appends and syncs `entry`.
    pub(crate) fn record(&mut self, entry: E) -> Result<(), JournalError> {
        use std::io::Write;
        let failed = |reason: &dyn std::fmt::Display| JournalError {
            path: self.path.clone(),
            reason: format!("writing it failed: {reason}"),
        };
        let mut line = serde_json::to_string(&entry).map_err(|e| failed(&e))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| failed(&e))?;
        self.entries.insert(entry.key().to_owned(), entry);
        Ok(())
    }
}

//! The journal of a bulk upload: one JSON line per change of a file's state
//! (`{"path":"a.jpg","state":"sending"}`, `{"path":"a.jpg","state":"sent","ticket":"…"}`,
//! `{"path":"a.jpg","state":"done","doc_id":1234}`), written and synced before the run goes on,
//! so a run killed at any moment and started again knows what each file became. The last line
//! for a path wins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a journal could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the journal {}: {reason}", path.display())]
pub struct JournalError {
    /// The journal file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// One line of the journal: where a file stands.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Entry {
    /// The file, as [`journal_key`] names it.
    pub(super) path: String,
    pub(super) state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) doc_id: Option<u64>,
}

/// Where one file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum State {
    /// The upload is starting; whether the service got it is not known yet.
    Sending,
    /// The service answered with a ticket.
    Sent,
    /// The document exists.
    Done,
}

/// The journal's key for `path`: the name itself when it is UTF-8, otherwise its bytes in hex
/// behind a NUL (which no UTF-8 name can hold), so that distinct files never share a key.
pub(super) fn journal_key(path: &Path) -> String {
    match path.to_str() {
        Some(text) => text.to_owned(),
        None => {
            let bytes = path.as_os_str().as_encoded_bytes();
            let mut key = String::from("\0hex:");
            for byte in bytes {
                key.push_str(&format!("{byte:02x}"));
            }
            key
        }
    }
}

/// An append-only journal, locked while a run uses it (a second run on it is refused). A line
/// that cannot be read is an error that names it, never a reason to start over: only the last
/// line, cut short by a kill, is dropped.
pub(super) struct Journal {
    path: PathBuf,
    file: std::fs::File,
    entries: HashMap<String, Entry>,
}

impl Journal {
    pub(super) fn open(path: &Path) -> Result<Journal, JournalError> {
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
        Ok(Journal {
            path: path.to_owned(),
            file,
            entries,
        })
    }

    /// What the journal says about `path`.
    pub(super) fn get(&self, path: &Path) -> Option<&Entry> {
        self.entries.get(&journal_key(path))
    }

    /// Appends and syncs the state of `path`.
    pub(super) fn record(
        &mut self,
        path: &Path,
        state: State,
        ticket: Option<String>,
        doc_id: Option<u64>,
    ) -> Result<(), JournalError> {
        use std::io::Write;
        let entry = Entry {
            path: journal_key(path),
            state,
            ticket,
            doc_id,
        };
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
        self.entries.insert(entry.path.clone(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_names_never_share_a_key() {
        assert_eq!(journal_key(Path::new("a b.jpg")), "a b.jpg");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let one = Path::new(std::ffi::OsStr::from_bytes(b"p\xff.jpg"));
            let two = Path::new(std::ffi::OsStr::from_bytes(b"p\xfe.jpg"));
            assert_ne!(journal_key(one), journal_key(two));
            assert_ne!(journal_key(one), journal_key(Path::new("p\u{fffd}.jpg")));
        }
    }
}

//! The journal of a bulk upload: one JSON line per change of a file's state
//! (`{"path":"a.jpg","state":"sending"}`, `{"path":"a.jpg","state":"sent","ticket":"…"}`,
//! `{"path":"a.jpg","state":"done","doc_id":1234}`), written and synced before the run goes on,
//! so a run killed at any moment and started again knows what each file became. The last line
//! for a path wins.

use std::path::Path;

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

/// The bulk uploader's journal: one [`Entry`] per change of a file's state.
pub(super) type Journal = crate::client::journal::Journal<Entry>;

impl crate::client::journal::JournalEntry for Entry {
    fn key(&self) -> &str {
        &self.path
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

//! Durable state for an emulator started with a data directory: an embedded redb database
//! (`emulator.redb`), written in one transaction before a call is answered, so an emulator
//! restarted on the same directory still has every document, album, ticket and token it
//! confirmed.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableTable, TableDefinition};

use super::records::{Comment, Folder, Group, Note, Post, User};
use super::state::{Album, Doc, Grant, ServiceState, Ticket, Tracked};
use crate::call::Secret;

const DOCS: TableDefinition<u64, &[u8]> = TableDefinition::new("docs");
const ALBUMS: TableDefinition<u64, &[u8]> = TableDefinition::new("albums");
const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");
const COMMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("comments");
const NOTES: TableDefinition<u64, &[u8]> = TableDefinition::new("notes");
const FOLDERS: TableDefinition<u64, &[u8]> = TableDefinition::new("folders");
const GROUPS: TableDefinition<u64, &[u8]> = TableDefinition::new("groups");
const POSTS: TableDefinition<u64, &[u8]> = TableDefinition::new("posts");
const TICKETS: TableDefinition<&str, &[u8]> = TableDefinition::new("tickets");
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
const APPS: TableDefinition<&str, &str> = TableDefinition::new("apps");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// OAuth nonces inside the clock window, under [`nonce_key`], with their timestamps: a request
/// captured before a restart is still refused (133) after it.
const NONCES: TableDefinition<&str, u64> = TableDefinition::new("nonces");

/// One table key for a consumer and its nonce (the consumer's length first, so no pair of
/// strings can stand for another).
fn nonce_key(consumer: &str, nonce: &str) -> String {
    format!("{}:{consumer}{nonce}", consumer.len())
}

/// The consumer and nonce a [`nonce_key`] holds.
fn split_nonce_key(key: &str) -> Option<(String, String)> {
    let (length, rest) = key.split_once(':')?;
    let length: usize = length.parse().ok()?;
    let consumer = rest.get(..length)?;
    let nonce = rest.get(length..)?;
    Some((consumer.to_owned(), nonce.to_owned()))
}

/// A ticket as stored: its deadline in wall-clock milliseconds.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTicket {
    ready_at_ms: u64,
    doc: Doc,
    done: bool,
    #[serde(default)]
    invalid: bool,
    #[serde(default)]
    replaces: bool,
}

/// Puts the records a table holds (JSON, under their id) into `into`; a table never written
/// holds none. A record that does not read is an error naming its table and key.
fn load_records<T: serde::de::DeserializeOwned>(
    read: &redb::ReadTransaction,
    table: TableDefinition<u64, &[u8]>,
    into: &mut Tracked<u64, T>,
    id_of: impl Fn(&T) -> u64,
) -> std::io::Result<()> {
    let Ok(opened) = read.open_table(table) else {
        return Ok(());
    };
    for entry in opened.iter().map_err(io_error)? {
        let (key, bytes) = entry.map_err(io_error)?;
        let record: T = serde_json::from_slice(bytes.value()).map_err(|error| {
            io_error(format!(
                "record {} of table {} does not read: {error}",
                key.value(),
                redb::TableHandle::name(&table)
            ))
        })?;
        into.load(id_of(&record), record);
    }
    Ok(())
}

/// Writes the records of `from` that changed, and deletes those removed.
fn save_records<T: serde::Serialize>(
    write: &redb::WriteTransaction,
    table: TableDefinition<u64, &[u8]>,
    from: &Tracked<u64, T>,
) -> std::io::Result<()> {
    let mut opened = write.open_table(table).map_err(io_error)?;
    for id in from.changes() {
        match from.get(id) {
            Some(record) => {
                let bytes = serde_json::to_vec(record).map_err(io_error)?;
                opened.insert(*id, bytes.as_slice()).map_err(io_error)?;
            }
            None => {
                opened.remove(*id).map_err(io_error)?;
            }
        }
    }
    Ok(())
}

/// The database's file name in the data directory.
const DATABASE: &str = "emulator.redb";

/// A damaged database, named with what was wrong.
fn damaged(path: &Path, reason: &dyn std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "{} is damaged (truncated or corrupt: {reason}); move it away, or start fresh to replace it",
            path.display()
        ),
    )
}

/// Removes the database and the files of the documents and pending replacements it knew.
fn remove_state_files(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name == DATABASE
            || (name.starts_with("doc-") || name.starts_with("replace-")) && name.ends_with(".bin")
            || name.starts_with("thumb-") && name.ends_with(".jpg");
        if ours {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The emulator's database.
#[derive(Debug)]
pub(crate) struct Store {
    db: Database,
}

fn io_error(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(error.to_string())
}

fn unix_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Store {
    /// Opens `emulator.redb` in `dir`, or creates it where there is none. An empty or damaged
    /// file is an error that says so, never a new database in its place: `fresh` is the
    /// explicit way to begin again (it removes the database and the files of its documents).
    /// The file is locked while open: a second emulator on `dir` fails here, before it touches
    /// anything else in the directory.
    pub(crate) fn open(dir: &Path, fresh: bool) -> std::io::Result<Store> {
        let path = dir.join(DATABASE);
        if fresh {
            remove_state_files(dir)?;
        }
        let db = match std::fs::metadata(&path) {
            Ok(meta) if meta.len() == 0 => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} is empty: it is not the database of an emulator (start fresh to replace it)",
                        path.display()
                    ),
                ));
            }
            // redb asserts on some truncated files instead of returning an error: the panic is
            // caught here and becomes one.
            Ok(_) => match std::panic::catch_unwind(|| Database::open(&path)) {
                Ok(Ok(db)) => db,
                Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ResourceBusy,
                        format!("{} is in use by another emulator", path.display()),
                    ));
                }
                Ok(Err(error)) => return Err(damaged(&path, &error)),
                Err(panic) => {
                    let reason = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "the database engine gave up on it".to_owned());
                    return Err(damaged(&path, &reason));
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Database::create(&path).map_err(io_error)?
            }
            Err(error) => return Err(error),
        };
        Ok(Store { db })
    }

    /// Adds what the database holds to `state`. An application or token of this start is
    /// kept as it is (the provisioned token's rights are what this start says, not what an
    /// earlier start with other flags kept) and written back, with everything else unchanged.
    pub(crate) fn load_into(&self, state: &mut ServiceState) -> std::io::Result<()> {
        let read = self.db.begin_read().map_err(io_error)?;
        let now = Instant::now();
        let now_ms = unix_ms(SystemTime::now());
        // A table that was never written does not exist yet: nothing to load from it.
        if let Ok(table) = read.open_table(APPS) {
            for entry in table.iter().map_err(io_error)? {
                let (key, secret) = entry.map_err(io_error)?;
                if !state.apps.contains_key(key.value()) {
                    state
                        .apps
                        .load(key.value().to_owned(), Secret::new(secret.value()));
                }
            }
        }
        if let Ok(table) = read.open_table(TOKENS) {
            for entry in table.iter().map_err(io_error)? {
                let (token, grant) = entry.map_err(io_error)?;
                if !state.tokens.contains_key(token.value()) {
                    let grant: Grant = serde_json::from_slice(grant.value()).map_err(io_error)?;
                    state.tokens.load(token.value().to_owned(), grant);
                }
            }
        }
        load_records(&read, DOCS, &mut state.docs, |doc: &Doc| doc.id)?;
        load_records(&read, ALBUMS, &mut state.albums, |album: &Album| album.id)?;
        load_records(&read, USERS, &mut state.users, |user: &User| user.id)?;
        load_records(&read, COMMENTS, &mut state.comments, |c: &Comment| c.id)?;
        load_records(&read, NOTES, &mut state.notes, |note: &Note| note.id)?;
        load_records(&read, FOLDERS, &mut state.folders, |f: &Folder| f.id)?;
        load_records(&read, GROUPS, &mut state.groups, |group: &Group| group.id)?;
        load_records(&read, POSTS, &mut state.posts, |post: &Post| post.id)?;
        if let Ok(table) = read.open_table(TICKETS) {
            for entry in table.iter().map_err(io_error)? {
                let (id, stored) = entry.map_err(io_error)?;
                let stored: StoredTicket =
                    serde_json::from_slice(stored.value()).map_err(io_error)?;
                let remaining = Duration::from_millis(stored.ready_at_ms.saturating_sub(now_ms));
                state.tickets.load(
                    id.value().to_owned(),
                    Ticket {
                        ready_at: now + remaining,
                        doc: stored.doc,
                        done: stored.done,
                        invalid: stored.invalid,
                        replaces: stored.replaces,
                    },
                );
            }
        }
        if let Ok(table) = read.open_table(NONCES) {
            for entry in table.iter().map_err(io_error)? {
                let (key, timestamp) = entry.map_err(io_error)?;
                let pair = split_nonce_key(key.value())
                    .ok_or_else(|| io_error(format!("a damaged nonce entry: {:?}", key.value())))?;
                state.nonces.load(pair, timestamp.value());
            }
        }
        if let Ok(table) = read.open_table(META)
            && let Some(next_id) = table.get("next_id").map_err(io_error)?
        {
            state.ids.load(next_id.value());
        }
        state.apps.touch_all();
        state.tokens.touch_all();
        Ok(())
    }

    /// Writes what changed, in one committed transaction, then forgets the changes. When it
    /// fails the changes stay recorded and the next save writes them.
    pub(crate) fn save(&self, state: &mut ServiceState) -> std::io::Result<()> {
        let nothing_changed = state.unchanged();
        if nothing_changed {
            return Ok(());
        }
        let write = self.db.begin_write().map_err(io_error)?;
        {
            let now = Instant::now();
            let now_ms = unix_ms(SystemTime::now());
            save_records(&write, DOCS, &state.docs)?;
            save_records(&write, ALBUMS, &state.albums)?;
            save_records(&write, USERS, &state.users)?;
            save_records(&write, COMMENTS, &state.comments)?;
            save_records(&write, NOTES, &state.notes)?;
            save_records(&write, FOLDERS, &state.folders)?;
            save_records(&write, GROUPS, &state.groups)?;
            save_records(&write, POSTS, &state.posts)?;
            let mut tickets = write.open_table(TICKETS).map_err(io_error)?;
            for id in state.tickets.changes() {
                match state.tickets.get(id) {
                    Some(ticket) => {
                        let remaining = ticket.ready_at.saturating_duration_since(now);
                        let stored = StoredTicket {
                            ready_at_ms: now_ms.saturating_add(
                                u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX),
                            ),
                            doc: ticket.doc.clone(),
                            done: ticket.done,
                            invalid: ticket.invalid,
                            replaces: ticket.replaces,
                        };
                        tickets
                            .insert(
                                id.as_str(),
                                serde_json::to_vec(&stored).map_err(io_error)?.as_slice(),
                            )
                            .map_err(io_error)?;
                    }
                    None => {
                        tickets.remove(id.as_str()).map_err(io_error)?;
                    }
                }
            }
            let mut tokens = write.open_table(TOKENS).map_err(io_error)?;
            for token in state.tokens.changes() {
                match state.tokens.get(token) {
                    Some(grant) => {
                        tokens
                            .insert(
                                token.as_str(),
                                serde_json::to_vec(grant).map_err(io_error)?.as_slice(),
                            )
                            .map_err(io_error)?;
                    }
                    None => {
                        tokens.remove(token.as_str()).map_err(io_error)?;
                    }
                }
            }
            let mut apps = write.open_table(APPS).map_err(io_error)?;
            for key in state.apps.changes() {
                match state.apps.get(key) {
                    Some(secret) => {
                        apps.insert(key.as_str(), secret.expose())
                            .map_err(io_error)?;
                    }
                    None => {
                        apps.remove(key.as_str()).map_err(io_error)?;
                    }
                }
            }
            let mut nonces = write.open_table(NONCES).map_err(io_error)?;
            for pair in state.nonces.changes() {
                let key = nonce_key(&pair.0, &pair.1);
                match state.nonces.get(pair) {
                    Some(timestamp) => {
                        nonces.insert(key.as_str(), *timestamp).map_err(io_error)?;
                    }
                    None => {
                        nonces.remove(key.as_str()).map_err(io_error)?;
                    }
                }
            }
            let mut meta = write.open_table(META).map_err(io_error)?;
            meta.insert("next_id", state.ids.last()).map_err(io_error)?;
        }
        write.commit().map_err(io_error)?;
        state.mark_saved();
        Ok(())
    }
}

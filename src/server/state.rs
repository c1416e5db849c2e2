//! What the emulator knows: applications, users, tokens, documents, albums, tickets, OAuth
//! nonces.
//!
//! Everything that outlives a restart is held in a [`Tracked`] table, whose every mutating method
//! records the key it touched; the store writes exactly those keys before the call is answered.
//! A handler cannot change a document and forget to have it saved: there is no way to reach a
//! stored value mutably without the change being recorded. What lives only in memory (frobs and
//! OAuth request tokens, which expire within minutes, and the last upload seen) is plain.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::call::{Params, Secret};
use crate::methods::{Level, Target};

use super::records::{Comment, Fave, Folder, Group, Note, Post, User, Visit};
use crate::error::{ApiError, ErrorCode};

/// The permissions a token holds, by target.
pub type Grants = BTreeMap<Target, Level>;

/// The provisioned user's id.
pub(crate) const USER_ID: u64 = 1;

/// A table of stored values that records which keys changed since the store last wrote it.
#[derive(Debug, Clone)]
pub(crate) struct Tracked<K, V> {
    items: BTreeMap<K, V>,
    changed: BTreeSet<K>,
}

impl<K: Ord + Clone, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked {
            items: BTreeMap::new(),
            changed: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    /// The value under `key`.
    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.items.get(key)
    }

    /// Whether `key` has a value.
    pub(crate) fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.items.contains_key(key)
    }

    /// The values, in key order (either way).
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.items.values()
    }

    /// The keys and values, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter()
    }

    /// The value under `key`, to change: the key is recorded as changed.
    pub(crate) fn get_mut<Q: Ord + ?Sized + ToOwned<Owned = K>>(
        &mut self,
        key: &Q,
    ) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let value = self.items.get_mut(key)?;
        self.changed.insert(key.to_owned());
        Some(value)
    }

    /// Stores `value` under `key`.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.changed.insert(key.clone());
        self.items.insert(key, value)
    }

    /// Removes the value under `key` (the store deletes it).
    pub(crate) fn remove<Q: Ord + ?Sized + ToOwned<Owned = K>>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let removed = self.items.remove(key)?;
        self.changed.insert(key.to_owned());
        Some(removed)
    }

    /// Calls `change` on every value; the keys of those for which it returns `true` (it changed
    /// them) are recorded.
    pub(crate) fn update_each(&mut self, mut change: impl FnMut(&K, &mut V) -> bool) {
        for (key, value) in &mut self.items {
            if change(key, value) {
                self.changed.insert(key.clone());
            }
        }
    }

    /// Keeps only the values `keep` accepts; the others are removed and recorded.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let changed = &mut self.changed;
        self.items.retain(|key, value| {
            let kept = keep(key, value);
            if !kept {
                changed.insert(key.clone());
            }
            kept
        });
    }

    /// Puts a value read from the store: nothing to write back.
    pub(super) fn load(&mut self, key: K, value: V) {
        self.items.insert(key, value);
    }

    /// Records every key as changed, so the next save writes the whole table.
    pub(super) fn touch_all(&mut self) {
        self.changed.extend(self.items.keys().cloned());
    }

    /// The keys changed since the last [`Tracked::saved`].
    pub(super) fn changes(&self) -> &BTreeSet<K> {
        &self.changed
    }

    /// Forgets the recorded changes: they are on disk.
    pub(super) fn saved(&mut self) {
        self.changed.clear();
    }
}

/// The counter every new id comes from, recording when it moved.
#[derive(Debug, Clone)]
pub(crate) struct IdCounter {
    last: u64,
    changed: bool,
}

impl IdCounter {
    /// The next id.
    pub(crate) fn next(&mut self) -> u64 {
        self.last += 1;
        self.changed = true;
        self.last
    }

    /// The last id handed out.
    pub(super) fn last(&self) -> u64 {
        self.last
    }

    /// Moves on to at least `stored`, the last id a previous run handed out.
    pub(super) fn load(&mut self, stored: u64) {
        self.last = self.last.max(stored);
    }

    /// Whether the counter moved since the last save.
    pub(super) fn changed(&self) -> bool {
        self.changed
    }

    /// Forgets that it moved: it is on disk.
    pub(super) fn saved(&mut self) {
        self.changed = false;
    }
}

/// What a token allows.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Grant {
    pub(crate) api_key: String,
    pub(crate) user_id: u64,
    pub(crate) grants: Grants,
    /// The token secret of an OAuth access token (such a token signs with OAuth only).
    #[serde(default)]
    pub(crate) oauth_secret: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("api_key", &self.api_key)
            .field("user_id", &self.user_id)
            .field("grants", &self.grants)
            .field("oauth", &self.oauth_secret.is_some())
            .finish()
    }
}

/// A frob of the desktop or web flow, waiting for its user or for `auth.getToken`.
#[derive(Debug)]
pub(crate) struct Frob {
    pub(crate) api_key: String,
    pub(crate) created: Instant,
    pub(crate) approved: Option<Grants>,
    pub(crate) used: bool,
}

/// A request token waiting for the user and the exchange.
#[derive(Debug)]
pub(crate) struct RequestToken {
    pub(crate) consumer_key: String,
    pub(crate) secret: String,
    pub(crate) created: Instant,
    pub(crate) approved: Option<Grants>,
    pub(crate) used: bool,
}

/// A document. Members added after the first stores were written default when read from one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Doc {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) tags: Vec<(u64, String)>,
    pub(crate) is_public: bool,
    pub(crate) posted_at: u64,
    pub(crate) size: u64,
    /// The lowercase hex MD5 of the file.
    #[serde(default)]
    pub(crate) md5: String,
    /// Friends see it.
    #[serde(default)]
    pub(crate) is_friend: bool,
    /// Family sees it.
    #[serde(default)]
    pub(crate) is_family: bool,
    /// The licence code (doc.setLicense's table).
    #[serde(default)]
    pub(crate) license: u8,
    /// The safety level, 1 to 3.
    #[serde(default = "all_audiences")]
    pub(crate) safety: u8,
    /// Who may comment, tag, tag themselves.
    #[serde(default)]
    pub(crate) perms: DocPerms,
    /// Latitude and longitude, when placed.
    #[serde(default)]
    pub(crate) geo: Option<(f64, f64)>,
    /// When it was taken, as the service writes it (`YYYY-MM-DD HH:MM:SS`); empty when unknown.
    #[serde(default)]
    pub(crate) created: String,
    /// How it is turned, in degrees (0, 90, 180, 270).
    #[serde(default)]
    pub(crate) rotation: u16,
    /// When it last changed (Unix time); 0 until it does.
    #[serde(default)]
    pub(crate) modified_at: u64,
    /// When its file was last replaced (Unix time); 0 until it is.
    #[serde(default)]
    pub(crate) replaced_at: u64,
    /// `photo`, `video`, `audio` or `other`, from what the file is.
    #[serde(default = "photo")]
    pub(crate) media: String,
    /// The file name the upload carried.
    #[serde(default)]
    pub(crate) filename: String,
    /// The picture's size in pixels (0 when not a picture the emulator can read).
    #[serde(default)]
    pub(crate) width: u32,
    #[serde(default)]
    pub(crate) height: u32,
    /// Member tags: the tag's id, the member named, who tagged.
    #[serde(default)]
    pub(crate) member_tags: Vec<MemberTag>,
    /// Who added a keyword tag other than the owner, by tag id.
    #[serde(default)]
    pub(crate) tagged_by: BTreeMap<u64, u64>,
    /// When each tag was added (Unix time), by tag id; a tag missing here came with the upload.
    #[serde(default)]
    pub(crate) tag_times: BTreeMap<u64, u64>,
    #[serde(default)]
    pub(crate) faves: Vec<Fave>,
    #[serde(default)]
    pub(crate) visits: Vec<Visit>,
    /// The secret in its thumbnails' URLs, and the one in its original's.
    #[serde(default)]
    pub(crate) secret: String,
    #[serde(default)]
    pub(crate) original_secret: String,
}

/// A member tag on a document: the member it names, and who tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MemberTag {
    pub(crate) id: u64,
    pub(crate) member_id: u64,
    pub(crate) user_id: u64,
}

fn photo() -> String {
    "photo".to_owned()
}

fn all_audiences() -> u8 {
    1
}

impl Doc {
    /// A new document of `owner`, private, with the service's defaults.
    pub(crate) fn new(id: u64, owner: u64, title: String) -> Doc {
        Doc {
            id,
            owner,
            title,
            description: String::new(),
            tags: Vec::new(),
            is_public: false,
            posted_at: unix_now(),
            size: 0,
            md5: String::new(),
            is_friend: false,
            is_family: false,
            license: 0,
            safety: all_audiences(),
            perms: DocPerms::default(),
            geo: None,
            created: String::new(),
            rotation: 0,
            modified_at: 0,
            replaced_at: 0,
            media: photo(),
            filename: String::new(),
            width: 0,
            height: 0,
            member_tags: Vec::new(),
            tagged_by: BTreeMap::new(),
            tag_times: BTreeMap::new(),
            faves: Vec::new(),
            visits: Vec::new(),
            secret: String::new(),
            original_secret: String::new(),
        }
    }

    /// The sharing code answers give: 0 private, 1 family, 2 friends, 3 both, 5 public.
    pub(crate) fn share(&self) -> u8 {
        super::records::share_code(self.is_public, self.is_friend, self.is_family)
    }
}

/// Who may comment, tag and tag themselves on a document (codes 0, 3, 4, 5 of doc.setPerms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DocPerms {
    pub(crate) comment: u8,
    pub(crate) tag: u8,
    pub(crate) tagme: u8,
}

impl Default for DocPerms {
    /// Every member may comment, contacts may tag (the site's own defaults for a new upload).
    fn default() -> Self {
        DocPerms {
            comment: 5,
            tag: 4,
            tagme: 4,
        }
    }
}

/// An album and its documents, in order.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Album {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) docs: Vec<u64>,
    /// The document whose thumbnail stands for the album.
    #[serde(default)]
    pub(crate) cover: Option<u64>,
    /// Who may comment (album.setPerms: 0, 3, 4, 5).
    #[serde(default = "every_member")]
    pub(crate) perm_comment: u8,
    #[serde(default)]
    pub(crate) created_at: u64,
    #[serde(default)]
    pub(crate) updated_at: u64,
    /// Its place among its owner's albums (`album.orderList`); ties by id.
    #[serde(default)]
    pub(crate) position: u64,
    #[serde(default)]
    pub(crate) faves: Vec<Fave>,
    #[serde(default)]
    pub(crate) visits: Vec<Visit>,
}

fn every_member() -> u8 {
    5
}

impl Album {
    /// A new empty album of `owner`.
    pub(crate) fn new(id: u64, owner: u64, title: String, description: String) -> Album {
        let now = unix_now();
        Album {
            id,
            owner,
            title,
            description,
            docs: Vec::new(),
            cover: None,
            perm_comment: every_member(),
            created_at: now,
            updated_at: now,
            position: 0,
            faves: Vec::new(),
            visits: Vec::new(),
        }
    }
}

/// An upload being processed.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub(crate) ready_at: Instant,
    pub(crate) doc: Doc,
    pub(crate) done: bool,
    /// The ticket failed: the document it replaces was deleted while it waited.
    pub(crate) invalid: bool,
    /// A replacement waits in its own file ([`pending_replacement`]) until it completes; the
    /// document keeps its current file until then.
    pub(crate) replaces: bool,
}

/// What the emulator received with the last `upload.file` or `upload.replace` call, for tests
/// that check each parameter travels intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedUpload {
    /// Every parameter, `api_key`, `auth_token` and `api_sig` included; never the file.
    pub params: Params,
    /// The file name the client sent, if any.
    pub filename: Option<String>,
    /// How many bytes the file had.
    pub length: u64,
}

/// Where the file of a document lives in the data directory.
pub(crate) fn doc_file(data_dir: &Path, doc_id: u64) -> PathBuf {
    data_dir.join(format!("doc-{doc_id}.bin"))
}

/// Where the file of a pending `upload.replace` waits for its ticket.
pub(crate) fn pending_replacement(data_dir: &Path, ticket: &str) -> PathBuf {
    data_dir.join(format!("replace-{ticket}.bin"))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Everything the emulator knows.
#[derive(Debug)]
pub(crate) struct ServiceState {
    pub(crate) apps: Tracked<String, Secret>,
    pub(crate) tokens: Tracked<String, Grant>,
    pub(crate) docs: Tracked<u64, Doc>,
    pub(crate) albums: Tracked<u64, Album>,
    pub(crate) tickets: Tracked<String, Ticket>,
    /// OAuth nonces inside the clock window, by consumer, with their timestamps.
    pub(crate) nonces: Tracked<(String, String), u64>,
    pub(crate) users: Tracked<u64, User>,
    pub(crate) comments: Tracked<u64, Comment>,
    pub(crate) notes: Tracked<u64, Note>,
    pub(crate) folders: Tracked<u64, Folder>,
    pub(crate) groups: Tracked<u64, Group>,
    pub(crate) posts: Tracked<u64, Post>,
    pub(crate) ids: IdCounter,
    pub(crate) frobs: HashMap<String, Frob>,
    pub(crate) oauth_requests: HashMap<String, RequestToken>,
    /// How long frobs and request tokens stay usable.
    pub(crate) auth_lifetime: Duration,
    pub(crate) last_upload: Option<ReceivedUpload>,
}

impl ServiceState {
    /// The state of a new emulator: one application, one user and its token.
    pub(crate) fn provisioned(
        api_key: &str,
        secret: &Secret,
        token: &Secret,
        grants: &Grants,
        auth_lifetime: Duration,
    ) -> ServiceState {
        let mut state = ServiceState {
            apps: Tracked::default(),
            tokens: Tracked::default(),
            docs: Tracked::default(),
            albums: Tracked::default(),
            tickets: Tracked::default(),
            nonces: Tracked::default(),
            ids: IdCounter {
                last: 1000,
                changed: false,
            },
            users: Tracked::default(),
            comments: Tracked::default(),
            notes: Tracked::default(),
            folders: Tracked::default(),
            groups: Tracked::default(),
            posts: Tracked::default(),
            frobs: HashMap::new(),
            oauth_requests: HashMap::new(),
            auth_lifetime,
            last_upload: None,
        };
        state
            .users
            .insert(USER_ID, User::new(USER_ID, "emulated", "Emulated User"));
        state.apps.insert(api_key.to_owned(), secret.clone());
        state.tokens.insert(
            token.expose().to_owned(),
            Grant {
                api_key: api_key.to_owned(),
                user_id: USER_ID,
                grants: grants.clone(),
                oauth_secret: None,
            },
        );
        state
    }

    /// Forgets every recorded change: the store wrote them, or there is no store (an emulator
    /// without a data directory keeps nothing).
    pub(crate) fn mark_saved(&mut self) {
        self.docs.saved();
        self.albums.saved();
        self.tickets.saved();
        self.tokens.saved();
        self.apps.saved();
        self.nonces.saved();
        self.users.saved();
        self.comments.saved();
        self.notes.saved();
        self.folders.saved();
        self.groups.saved();
        self.posts.saved();
        self.ids.saved();
    }

    /// Whether nothing changed since the last save (a read: nothing to write or sync).
    pub(super) fn unchanged(&self) -> bool {
        self.docs.changes().is_empty()
            && self.albums.changes().is_empty()
            && self.tickets.changes().is_empty()
            && self.tokens.changes().is_empty()
            && self.apps.changes().is_empty()
            && self.nonces.changes().is_empty()
            && self.users.changes().is_empty()
            && self.comments.changes().is_empty()
            && self.notes.changes().is_empty()
            && self.folders.changes().is_empty()
            && self.groups.changes().is_empty()
            && self.posts.changes().is_empty()
            && !self.ids.changed()
    }

    /// A fresh single-use frob for `api_key`, already approved with `grants` (web flow) or waiting
    /// for the user (desktop flow).
    pub(crate) fn new_frob(
        &mut self,
        api_key: &str,
        grants: Option<Grants>,
    ) -> Result<String, ApiError> {
        let frob = fresh_credential()?;
        self.frobs.insert(
            frob.clone(),
            Frob {
                api_key: api_key.to_owned(),
                created: Instant::now(),
                approved: grants,
                used: false,
            },
        );
        Ok(frob)
    }

    /// Completes the tickets whose time has come. A replacement takes the place of its
    /// document's file only now, and only if the document still exists: one deleted meanwhile
    /// stays deleted, and its ticket becomes invalid.
    pub(crate) fn process_tickets(&mut self, now: Instant, data_dir: &Path) {
        let ready: Vec<String> = self
            .tickets
            .iter()
            .filter(|(_, ticket)| !ticket.done && !ticket.invalid && ticket.ready_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            let Some(ticket) = self.tickets.get_mut(id.as_str()) else {
                continue;
            };
            let doc = ticket.doc.clone();
            if ticket.replaces {
                let pending = pending_replacement(data_dir, &id);
                if !self.docs.contains_key(&doc.id)
                    || std::fs::rename(&pending, doc_file(data_dir, doc.id)).is_err()
                {
                    std::fs::remove_file(&pending).ok();
                    ticket.invalid = true;
                    continue;
                }
            }
            ticket.done = true;
            match self.docs.get_mut(&doc.id) {
                // A replacement changes the file, not what was set on the document meanwhile.
                Some(current) if ticket.replaces => {
                    current.size = doc.size;
                    current.md5 = doc.md5;
                }
                _ => {
                    self.docs.insert(doc.id, doc);
                }
            }
        }
    }
}

/// A token, frob or secret no one can guess: 128 bits from the operating system's random
/// source (an emulator whose tokens follow a counter or the clock hands out accounts).
pub(crate) fn fresh_credential() -> Result<String, ApiError> {
    crate::random::token().map_err(|e| {
        ApiError::new(
            ErrorCode::ServiceError,
            format!("Service error: the random source failed: {e}"),
        )
    })
}

/// The `perm_*` parameters of an authorization link, or why one is refused.
pub(crate) fn requested_grants<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Grants, String> {
    crate::auth::Permissions::from_link_params(params)
        .map(|permissions| permissions.iter().collect())
        .map_err(|refused| refused.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_stored_before_its_newer_members_reads_with_their_defaults() {
        let stored = r#"{"id":7,"owner":1,"title":"t","description":"","tags":[],"is_public":true,"posted_at":5,"size":3,"md5":"ab"}"#;
        let doc: Doc = serde_json::from_str(stored).unwrap();
        assert_eq!((doc.safety, doc.license, doc.rotation), (1, 0, 0));
        assert_eq!(doc.perms, DocPerms::default());
        assert_eq!((doc.geo, doc.share()), (None, 5));
    }

    #[test]
    fn every_way_to_change_a_table_is_recorded() {
        let mut table: Tracked<u64, &str> = Tracked::default();
        table.load(1, "loaded");
        table.load(2, "loaded");
        table.load(3, "loaded");
        assert!(table.changes().is_empty(), "loading is not a change");
        table.insert(4, "new");
        if let Some(value) = table.get_mut(&1) {
            *value = "changed";
        }
        table.remove(&2);
        assert_eq!(table.get_mut(&9), None);
        assert_eq!(table.changes(), &BTreeSet::from([1, 2, 4]));
        table.saved();
        table.update_each(|key, value| {
            *value = "updated";
            *key == 3
        });
        table.retain(|key, _| *key != 4);
        assert_eq!(table.changes(), &BTreeSet::from([3, 4]));
        assert_eq!(table.get(&4), None);
        assert_eq!(table.values().count(), 2);
    }

    #[test]
    fn the_id_counter_records_that_it_moved_and_never_goes_back() {
        let mut ids = IdCounter {
            last: 1000,
            changed: false,
        };
        ids.load(1500);
        ids.load(1200);
        assert!(!ids.changed());
        assert_eq!(ids.next(), 1501);
        assert!(ids.changed());
        ids.saved();
        assert_eq!(ids.last(), 1501);
    }
}

//! Keeping tokens: the [`TokenStore`] trait and [`FileTokenStore`], one file per application key
//! and account (mode 0600, written atomically), so several accounts can be used side by side.
//!
//! ```no_run
//! use ipernity::tokens::{FileTokenStore, TokenStore};
//!
//! let store = FileTokenStore::at_default_location()?;
//! for account in store.accounts("my-api-key")? {
//!     let stored = store.load("my-api-key", &account)?;
//!     println!("{account}: {:?}", stored.map(|s| s.token.permissions.to_string()));
//! }
//! # Ok::<(), ipernity::Error>(())
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::auth::{Permissions, Token, User};
use crate::call::Secret;
use crate::error::Error;
use crate::oauth::OAuthToken;

/// A token kept for one account of one application.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The account's name in the store (the user name unless chosen otherwise).
    pub account: String,
    /// The token, what it allows and whose it is.
    pub token: Token,
    /// For an OAuth access token, its secret; `None` for an `auth_token`.
    pub oauth_secret: Option<Secret>,
}

impl StoredToken {
    /// The OAuth access token, when this is one.
    pub fn oauth_token(&self) -> Option<OAuthToken> {
        self.oauth_secret
            .as_ref()
            .map(|secret| OAuthToken::new(self.token.token.expose(), secret.clone()))
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("account", &self.account)
            .field("token", &self.token)
            .field("oauth_secret", &self.oauth_secret)
            .finish()
    }
}

/// Where tokens are kept, by application key and account.
pub trait TokenStore: Send + Sync {
    /// The token of `account` for the application `api_key`, if one is kept.
    fn load(&self, api_key: &str, account: &str) -> Result<Option<StoredToken>, Error>;
    /// Keeps `token` (replacing the account's earlier one).
    fn save(&self, api_key: &str, token: &StoredToken) -> Result<(), Error>;
    /// Forgets the account's token; whether there was one.
    fn remove(&self, api_key: &str, account: &str) -> Result<bool, Error>;
    /// The accounts with a token for `api_key`, in name order.
    fn accounts(&self, api_key: &str) -> Result<Vec<String>, Error>;
}

/// Tokens in files: `DIR/KEY/ACCOUNT.json`, names encoded so that neither can leave the
/// directory; the directories are created with mode 0700 and the files with mode 0600, each
/// written to a temporary file, synced and renamed over the old one.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
}

/// The file's content.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    account: String,
    token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oauth_secret: Option<String>,
    permissions: String,
    user: User,
}

impl FileTokenStore {
    /// A store in `dir` (created when the first token is saved).
    pub fn new(dir: impl Into<PathBuf>) -> FileTokenStore {
        FileTokenStore { dir: dir.into() }
    }

    /// The store at `$IPERNITY_TOKEN_DIR`, else `$XDG_CONFIG_HOME/ipernity/tokens`, else
    /// `$HOME/.config/ipernity/tokens`.
    pub fn at_default_location() -> Result<FileTokenStore, Error> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = var("IPERNITY_TOKEN_DIR")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("ipernity/tokens")))
            .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".config/ipernity/tokens")))
            .ok_or_else(|| {
                Error::invalid_param(
                    "token store",
                    "no IPERNITY_TOKEN_DIR, XDG_CONFIG_HOME or HOME to keep tokens in",
                )
            })?;
        Ok(FileTokenStore::new(dir))
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `account` for `api_key`. Any name fits: one whose encoding would pass the
    /// file system's 255-byte limit is shortened and given its MD5 (the file holds the name
    /// itself).
    pub fn path_of(&self, api_key: &str, account: &str) -> PathBuf {
        self.dir
            .join(file_name(api_key))
            .join(format!("{}.json", file_name(account)))
    }

    /// Checks that the store can be trusted with tokens, before any is asked for: its
    /// directories, where they exist, must not be writable by others (anyone who can write
    /// there can plant a token and make commands run as another account). `ssh` refuses a
    /// `~/.ssh` like that for the same reason.
    pub fn check(&self, api_key: &str) -> Result<(), Error> {
        for dir in [self.dir.clone(), self.dir.join(file_name(api_key))] {
            check_private(&dir)?;
        }
        Ok(())
    }
}

/// The longest encoded name kept whole; longer ones are cut and given their MD5 (file names
/// may take 255 bytes, with `.json` and a temporary file's decorations around them).
const LONGEST_NAME: usize = 180;

/// [`encode_name`], cut short with its MD5 when it is longer than [`LONGEST_NAME`].
fn file_name(name: &str) -> String {
    let encoded = encode_name(name);
    if encoded.len() <= LONGEST_NAME {
        return encoded;
    }
    let digest = crate::sign::hex(&md5::Digest::finalize(md5::Digest::chain_update(
        md5::Md5::default(),
        name.as_bytes(),
    )));
    // The encoding is ASCII: any byte is a boundary.
    format!(
        "{}~{digest}",
        encoded.get(..LONGEST_NAME - 33).unwrap_or_default()
    )
}

/// Refuses a directory that others may write to (group or world write bits), if it exists.
fn check_private(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(dir) {
            Ok(meta) if meta.permissions().mode() & 0o022 != 0 => {
                return Err(storage_error(
                    dir,
                    format!(
                        "writable by others (mode {:o}): tokens are not kept or read there; run `chmod go-w {}`",
                        meta.permissions().mode() & 0o777,
                        dir.display()
                    ),
                ));
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(storage_error(dir, error)),
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A name as a file name: letters, digits, `-` and `_` as they are, every other byte as `%XX`
/// (so `..` or `/` can never name another directory).
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

fn storage_error(path: &Path, error: impl fmt::Display) -> Error {
    Error::invalid_param("token store", format!("{}: {error}", path.display()))
}

/// Creates `dir` and its parents, the new ones readable by the owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` atomically: a new file (mode 0600) beside it, synced, renamed over
/// it, and the directory synced so the rename survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        crate::random::io_token()?
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        std::fs::remove_file(&temporary).ok();
        return Err(error);
    }
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

impl TokenStore for FileTokenStore {
    fn load(&self, api_key: &str, account: &str) -> Result<Option<StoredToken>, Error> {
        self.check(api_key)?;
        let path = self.path_of(api_key, account);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(storage_error(&path, error)),
        };
        let record: Record = serde_json::from_slice(&bytes).map_err(|e| storage_error(&path, e))?;
        let permissions: Permissions = record
            .permissions
            .parse()
            .map_err(|e| storage_error(&path, e))?;
        Ok(Some(StoredToken {
            account: record.account,
            token: Token {
                token: Secret::new(record.token),
                permissions,
                user: record.user,
            },
            oauth_secret: record.oauth_secret.map(Secret::new),
        }))
    }

    fn save(&self, api_key: &str, token: &StoredToken) -> Result<(), Error> {
        let path = self.path_of(api_key, &token.account);
        let record = Record {
            account: token.account.clone(),
            token: token.token.token.expose().to_owned(),
            oauth_secret: token.oauth_secret.as_ref().map(|s| s.expose().to_owned()),
            permissions: if token.token.permissions.is_empty() {
                String::new()
            } else {
                token.token.permissions.to_string()
            },
            user: token.token.user.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&record).map_err(|e| storage_error(&path, e))?;
        self.check(api_key)?;
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(|e| storage_error(dir, e))?;
        }
        write_atomically(&path, &bytes).map_err(|e| storage_error(&path, e))
    }

    fn remove(&self, api_key: &str, account: &str) -> Result<bool, Error> {
        let path = self.path_of(api_key, account);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(storage_error(&path, error)),
        }
    }

    fn accounts(&self, api_key: &str) -> Result<Vec<String>, Error> {
        self.check(api_key)?;
        let dir = self.dir.join(file_name(api_key));
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(storage_error(&dir, error)),
        };
        let mut accounts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| storage_error(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            // The account's own name is in the file.
            accounts.push(self.load_file(&entry.path())?);
        }
        accounts.sort();
        Ok(accounts)
    }
}

impl FileTokenStore {
    /// The account a token file is for. A file that cannot be read is an error that names it:
    /// skipped, it would make another kept account the only one, and commands would run as it.
    fn load_file(&self, path: &Path) -> Result<String, Error> {
        let bytes = std::fs::read(path).map_err(|e| storage_error(path, e))?;
        serde_json::from_slice::<Record>(&bytes)
            .map(|record| record.account)
            .map_err(|e| {
                storage_error(
                    path,
                    format!("a damaged token file ({e}); remove it or log in again"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(account: &str, oauth: bool) -> StoredToken {
        StoredToken {
            account: account.to_owned(),
            token: Token {
                token: Secret::new(format!("1-secret-token-of-{account}")),
                permissions: "doc=write,network=read".parse().unwrap_or_default(),
                user: User {
                    user_id: 7,
                    username: account.to_owned(),
                    realname: "R".to_owned(),
                },
            },
            oauth_secret: oauth.then(|| Secret::new("oauth-token-secret")),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ipernity-tokens-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn accounts_side_by_side_round_trip_and_are_removed() -> Result<(), Error> {
        let dir = scratch("roundtrip");
        let store = FileTokenStore::new(&dir);
        assert_eq!(store.load("key", "alice")?, None);
        let alice = token("alice", false);
        let bob = token("bob", true);
        store.save("key", &alice)?;
        store.save("key", &bob)?;
        store.save("other-key", &token("carol", false))?;
        assert_eq!(store.load("key", "alice")?, Some(alice.clone()));
        let loaded = store.load("key", "bob")?;
        assert_eq!(loaded.as_ref(), Some(&bob));
        assert_eq!(
            loaded.and_then(|b| b.oauth_token()).map(|t| t.token),
            Some("1-secret-token-of-bob".to_owned())
        );
        assert_eq!(store.accounts("key")?, ["alice", "bob"]);
        assert_eq!(store.accounts("nobody")?, Vec::<String>::new());
        // Saving again replaces, leaving no temporary file behind.
        let mut changed = alice.clone();
        changed.token.permissions = Permissions::new();
        store.save("key", &changed)?;
        assert_eq!(store.load("key", "alice")?, Some(changed));
        let names: Vec<String> = std::fs::read_dir(dir.join("key"))
            .map_err(|e| storage_error(&dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(store.remove("key", "alice")?);
        assert!(!store.remove("key", "alice")?);
        assert_eq!(store.accounts("key")?, ["bob"]);
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let store = FileTokenStore::new(&dir);
        store.save("key", &token("alice", false))?;
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        assert_eq!(mode(&store.path_of("key", "alice")), 0o600);
        assert_eq!(mode(&dir.join("key")), 0o700);
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    #[test]
    fn names_cannot_leave_the_directory() {
        let store = FileTokenStore::new("/store");
        assert_eq!(
            store.path_of("../../etc", "../passwd"),
            PathBuf::from("/store/%2E%2E%2F%2E%2E%2Fetc/%2E%2E%2Fpasswd.json")
        );
        assert_eq!(store.path_of("", ""), PathBuf::from("/store/%/%.json"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", token("alice", true));
        assert!(
            !text.contains("secret-token") && !text.contains("oauth-token-secret"),
            "{text}"
        );
    }
}

//! Where a command sends its requests and as whom: the `--endpoint`/`--api-key`/`--secret`/
//! `--token`/`--account` flags, the kept token of the token store, and the embedded emulator
//! (its state kept between runs in a private data directory) when no endpoint is given.

use std::path::PathBuf;

use ipernity::server::{Emulator, EmulatorHandle};
use ipernity::tokens::{FileTokenStore, StoredToken, TokenStore};
use ipernity::{Client, ClientBuilder, Credentials, Secret};

use crate::error::CliError;

/// Where a command sends its requests, and as whom; no endpoint means an embedded emulator.
#[derive(Debug, clap::Args)]
pub(crate) struct Remote {
    /// The API base URL; none means the embedded emulator.
    #[arg(long, env = "IPERNITY_ENDPOINT")]
    pub(crate) endpoint: Option<String>,
    /// The API key.
    #[arg(long, env = "IPERNITY_API_KEY")]
    pub(crate) api_key: Option<String>,
    /// The API secret.
    #[arg(long, env = "IPERNITY_SECRET", hide_env_values = true)]
    pub(crate) secret: Option<String>,
    /// A user's auth token (default: the one `ipernity login` kept for the API key).
    #[arg(long, env = "IPERNITY_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Which kept token to use when `ipernity login` kept several for the API key.
    #[arg(long, env = "IPERNITY_ACCOUNT")]
    pub(crate) account: Option<String>,
    /// Without an endpoint: start the embedded emulator empty, forgetting what earlier runs
    /// kept in its data directory.
    #[arg(long)]
    pub(crate) fresh: bool,
}

/// Where the embedded emulator keeps its state between runs: `$IPERNITY_DATA_DIR`, else
/// `$XDG_DATA_HOME/ipernity/emulator`, else `$HOME/.local/share/ipernity/emulator`.
fn embedded_data_dir() -> Result<PathBuf, CliError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    var("IPERNITY_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| var("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("ipernity/emulator")))
        .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".local/share/ipernity/emulator")))
        .ok_or_else(|| {
            CliError::usage(
                "no IPERNITY_DATA_DIR, XDG_DATA_HOME or HOME to keep the embedded emulator's data in",
            )
        })
}

/// Creates `dir` and its parents, the new ones readable by the owner only (the emulator's
/// database holds its tokens).
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// An endpoint and credentials, and the embedded emulator behind them when none was given.
pub(crate) struct Connection {
    pub(crate) endpoint: String,
    pub(crate) credentials: Credentials,
    pub(crate) embedded: Option<EmulatorHandle>,
    /// The token from the token store, when no token was given.
    pub(crate) stored: Option<StoredToken>,
}

/// The token kept for `api_key`: `account`'s, or the only one kept.
fn stored_token(api_key: &str, account: Option<&str>) -> Result<Option<StoredToken>, CliError> {
    let Ok(store) = FileTokenStore::at_default_location() else {
        return Ok(None);
    };
    match account {
        Some(account) => match store.load(api_key, account)? {
            Some(stored) => Ok(Some(stored)),
            None => Err(CliError::usage(format!(
                "no token kept for account {account:?} in {}: run `ipernity login`",
                store.dir().display()
            ))),
        },
        None => {
            let accounts = store.accounts(api_key)?;
            match accounts.as_slice() {
                [] => Ok(None),
                [only] => Ok(store.load(api_key, only)?),
                several => {
                    eprintln!(
                        "tokens are kept for several accounts ({}); choose one with --account",
                        several.join(", ")
                    );
                    Ok(None)
                }
            }
        }
    }
}

impl Remote {
    /// Connects: to the given endpoint with the given credentials, or to an embedded emulator.
    pub(crate) async fn connect(self) -> Result<Connection, CliError> {
        match self.endpoint {
            Some(endpoint) => {
                let api_key = self
                    .api_key
                    .ok_or("--api-key (or IPERNITY_API_KEY) is required with an endpoint")?;
                let secret = self
                    .secret
                    .ok_or("--secret (or IPERNITY_SECRET) is required with an endpoint")?;
                let stored = match &self.token {
                    Some(_) => None,
                    None => stored_token(&api_key, self.account.as_deref())?,
                };
                let mut credentials = Credentials::new(api_key, secret);
                credentials.token = self.token.map(Secret::new);
                Ok(Connection {
                    endpoint,
                    credentials,
                    embedded: None,
                    stored,
                })
            }
            None => {
                // Its state stays between runs, so that one command sees what the one before
                // did (an upload, then a `call doc.get`).
                let dir = embedded_data_dir()?;
                create_private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                // A fixed key: what `login` keeps for the embedded emulator replaces, not piles up.
                // A group and a blog post, which no method can make: every method then has
                // something to act on (`ipernity conformance` runs them all).
                let emulator = Emulator::builder()
                    .api_key("ipernity-embedded-emulator")
                    .group("Emulated group", true, false)
                    .post(1, "Emulated post", "The embedded emulator's blog post.", true)
                    .data_dir(&dir)
                    .fresh(self.fresh)
                    .start()
                    .await
                    .map_err(|e| {
                        if e.kind() == std::io::ErrorKind::ResourceBusy {
                            format!(
                                "starting the embedded emulator: its data in {} is in use by another ipernity command; wait for it, or set IPERNITY_DATA_DIR",
                                dir.display()
                            )
                        } else {
                            format!("starting the embedded emulator: {e}")
                        }
                    })?;
                eprintln!(
                    "no endpoint given: using the embedded emulator at {}, its data in {}{}",
                    emulator.base_url(),
                    dir.display(),
                    if self.fresh {
                        " (started fresh)"
                    } else {
                        " (--fresh starts it empty)"
                    }
                );
                Ok(Connection {
                    endpoint: emulator.base_url(),
                    credentials: emulator.credentials(),
                    embedded: Some(emulator),
                    stored: None,
                })
            }
        }
    }
}

impl Connection {
    /// A client builder for the endpoint as the application, with no user token.
    pub(crate) fn app_builder(&self) -> ClientBuilder {
        Client::builder()
            .endpoint(self.endpoint.clone())
            .credentials(
                self.credentials.api_key.clone(),
                self.credentials.secret.clone(),
            )
    }

    /// A client builder with the user's token: the one given, else the kept one (an
    /// `auth_token` or an OAuth access token, with what it allows).
    pub(crate) fn builder(&self) -> ClientBuilder {
        let builder = self.app_builder();
        match (&self.credentials.token, &self.stored) {
            (Some(token), _) => builder.token(token.clone()),
            (None, Some(stored)) => match stored.oauth_token() {
                Some(oauth) => builder
                    .oauth_token(oauth)
                    .permissions(stored.token.permissions.clone()),
                None => builder.user_token(&stored.token),
            },
            (None, None) => builder,
        }
    }

    /// A client of the endpoint with the connection's credentials.
    pub(crate) fn client(&self) -> Result<Client, CliError> {
        Ok(self.builder().build()?)
    }

    pub(crate) async fn close(self) {
        if let Some(emulator) = self.embedded {
            emulator.shutdown().await;
        }
    }
}
